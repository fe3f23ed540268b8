#!/usr/bin/env bash
# Holds the library's layering: fails on an import cycle between modules of a crate.
#
# Usage: .ci/check-layers.sh [--graph | --floors] [--cfg NAME]... [DIR]
#   .ci/check-layers.sh                   what CI runs: one line, or each cycle and exit 1
#   .ci/check-layers.sh --graph           every edge `a -> b`, then the cycles
#   .ci/check-layers.sh --floors          modules by floor (1 = imports nothing of the crate)
#   .ci/check-layers.sh --graph tools/src the CLI crate instead of the library (default src/)
#
# An edge is a `crate::` or `super::` path, in a `use` or in code; comments, strings,
# `$crate::`, the crate root's re-exports and `#[cfg(test)]`/`#[cfg(loom)]` code do not count.
# The rules in full are at the top of .ci/check_layers.py; .ci/check_layers_selftest.sh tests it.
set -euo pipefail
exec python3 "$(dirname "$0")/check_layers.py" "$@"
