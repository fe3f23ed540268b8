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

step "reliability figures (short forms; TACHYLOG_LONG=1 runs the long ones)"
log=target/reliability.log
mkdir -p target
if cargo test --workspace --locked --test faults --test load --test kill9 --test hostile --test output_safety --test ship_rsyslog \
  -- --nocapture --test-threads=1 >"$log" 2>&1; then
  grep -E '^(test |load |kill -9|drain panic|injected|tmpfs|vanished|flush_timeout|oversized|10 KB|symlinks|unprivileged|SKIPPED|rsyslog|JSON|text:|callsite|thread name|records count|record length|frame length)' "$log"
else
  tail -n 200 "$log"
  exit 1
fi

step "all tests passed"
