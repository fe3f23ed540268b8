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

step "tests (unit, integration, doc, CLI)"
cargo test --workspace --locked

step "sync door (atomics and threads only through src/sync.rs)"
bash .ci/check-sync.sh

step "loom models (docs/CONCURRENCY.md)"
# A separate target directory: `--cfg loom` changes every crate's flags, and sharing the normal
# one would rebuild everything twice per run. TACHYLOG_SKIP_LOOM=1 skips this step locally.
if [ "${TACHYLOG_SKIP_LOOM:-0}" != 1 ]; then
  RUSTFLAGS="--cfg loom -C debug_assertions" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
    cargo test --release --locked -p tachylog-loom-tests -- --nocapture
fi

step "all tests passed"
