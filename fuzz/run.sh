#!/usr/bin/env bash
# Builds the fuzz targets and runs one, without cargo-fuzz: what `cargo fuzz run` does, by hand.
#
# Usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   TARGET    decode_raw, decode_framed or decode_dir; `all`: each of them in turn
#   SECONDS   how long to fuzz each target (libFuzzer's -max_total_time)
# The corpus is fuzz/corpus/TARGET (created if missing), crashes land in fuzz/artifacts/TARGET/.
# Extra options go to libFuzzer: `-jobs=3 -workers=3` runs three processes (each logs to
# fuzz-N.log), `-runs=0` only replays the corpus. To replay one input after a build:
# fuzz/target/x86_64-unknown-linux-gnu/release/TARGET FILE (the host's triple).
#
# Environment: TACHYLOG_FUZZ_ASAN=0 builds without AddressSanitizer (faster, finds less);
# CARGO_FLAGS adds flags to cargo (`--offline` where crates.io cannot be reached).
# Needs the nightly toolchain (`rustup toolchain install nightly`) and a C++ compiler
# (libfuzzer-sys builds libFuzzer).
set -euo pipefail
if [ $# -lt 2 ]; then
    sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
cd "$(dirname "$0")"
target=$1 seconds=$2
shift 2
if [ "$target" = all ]; then
    for t in decode_raw decode_framed decode_dir; do
        "./run.sh" "$t" "$seconds" "$@"
    done
    exit
fi

flags=(
    --cfg fuzzing
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cdebug-assertions
    -Coverflow-checks
    -Cforce-frame-pointers
)
if [ "${TACHYLOG_FUZZ_ASAN:-1}" != 0 ]; then
    flags+=(-Zsanitizer=address)
fi
export RUSTFLAGS="${flags[*]}"
# An explicit target, as cargo-fuzz passes: RUSTFLAGS then apply to the fuzzed code only, not
# to build scripts and procedural macros (which would not link against the sanitizers).
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
# shellcheck disable=SC2086 # CARGO_FLAGS is a list of flags
cargo +nightly build --release --target "$triple" --bins ${CARGO_FLAGS:-}

defaults=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10)
if [ "$target" = decode_dir ]; then
    # Its input is a recipe for a directory: inputs of full length from the start, as a few
    # bytes build next to nothing.
    defaults+=(-max_len=16384 -len_control=0)
fi
seeds=()
if [ "$target" = decode_raw ]; then
    # The compatibility corpus's segments as seeds: libFuzzer reads every directory given and
    # writes what it finds to the first one only.
    mkdir -p target/seeds/decode_raw
    cp ../tests/corpus/*/*.tlog target/seeds/decode_raw/
    seeds=(target/seeds/decode_raw)
fi
mkdir -p "corpus/$target" "artifacts/$target"
# Options given on the command line come last and win.
exec "target/$triple/release/$target" "${defaults[@]}" \
    -artifact_prefix="artifacts/$target/" "$@" "corpus/$target" "${seeds[@]}"
