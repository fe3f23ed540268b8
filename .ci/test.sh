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

step "benchmarks: build, and a smoke pass (a few thousand calls, unoptimised)"
cargo test --locked --bench latency --bench throughput -- --quick

step "tests (unit, integration, doc, CLI)"
cargo test --workspace --locked

step "all tests passed"
