#!/usr/bin/env bash
# Every check the project has, in the order a failure is cheapest to see.
# Usage: .ci/test.sh            (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs: rustdoc without warnings, with and without the bridges; links inside the repository"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked --features tachylog/log,tachylog/tracing
bash .ci/check-links.sh

step "benchmarks: build, and a smoke pass (a few thousand calls, unoptimised)"
cargo test --locked --bench latency --bench throughput -- --quick

step "tests (unit, integration, doc, CLI)"
cargo test --workspace --locked

step "reliability figures (short forms; TACHYLOG_LONG=1 runs the long ones)"
log=target/reliability.log
mkdir -p target
if cargo test --workspace --locked --test load --test kill9 --test hostile --test output_safety --test ship_rsyslog \
  --test ship_otlp --test ship_rotel --test ship_journald --test reader_memory --test reader_time \
  -- --nocapture --test-threads=1 >"$log" 2>&1 \
  && cargo test -p tachylog --locked --features fault-injection --test faults \
  -- --nocapture --test-threads=1 >>"$log" 2>&1 \
  && cargo test -p tachylog-cli --locked --test ship \
  -- --nocapture --test-threads=1 reads_a_little does_not_resolve >>"$log" 2>&1; then
  grep -E '^(test |load |kill -9|drain panic|injected|tmpfs|vanished|flush_timeout|oversized|10 KB|symlinks|unprivileged|SKIPPED|rsyslog|JSON|text:|callsite|thread name|records count|record length|frame length|reset receiver|unresolvable host|otlp |rotel|journald|reader memory|reader time)' "$log"
else
  tail -n 200 "$log"
  exit 1
fi

step "bridges (cargo features log, tracing): lints, their tests and doc tests"
cargo clippy -p tachylog --all-targets --features log,tracing,fault-injection --locked -- -D warnings
cargo test -p tachylog --locked --features log,tracing \
    --test bridge_log --test bridge_tracing --test bridge_no_alloc
cargo test -p tachylog --locked --features log,tracing --doc

step "sync door (atomics and threads only through src/sync/)"
bash .ci/check-sync.sh

step "layers (no import cycle among the library's modules, nor the CLI's; docs/ARCHITECTURE.md)"
bash .ci/check_layers_selftest.sh
bash .ci/check-layers.sh src
bash .ci/check-layers.sh --cfg loom src
bash .ci/check-layers.sh tools/src

step "loom models (docs/CONCURRENCY.md)"
# A separate target directory: `--cfg loom` changes every crate's flags, and sharing the normal
# one would rebuild everything twice per run. TACHYLOG_SKIP_LOOM=1 skips this step locally.
if [ "${TACHYLOG_SKIP_LOOM:-0}" != 1 ]; then
  # Models need optimisation for speed, not the whole-program optimisation release builds use.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  RUSTFLAGS="--cfg loom -C debug_assertions" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
    cargo test --release --locked -p tachylog-loom-tests -- --nocapture
fi

step "all tests passed"
