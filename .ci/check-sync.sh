#!/usr/bin/env bash
# Keeps every atomic and thread of the library behind `src/sync/`, where `--cfg loom` swaps in
# loom's types (a std atomic or thread anywhere else would be invisible to the loom models).
#
# A clippy `disallowed-types` list cannot do this: it matches the resolved type, so it would also
# refuse the std atomics that `sync` re-exports. This checks the paths instead. A line may opt
# out with a `sync-lint: allow (<reason>)` comment on it or on the line above; `#[cfg(test)]`
# modules (at the end of a file) are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for f in $(find src -name "*.rs" | sort); do
  case "$f" in src/sync/*) continue ;; esac
  awk -v file="$f" '
    /^#\[cfg\(test\)\]/ { exit }
    {
      hit = ($0 ~ /(std|core)::sync::atomic|std::thread|thread_local!|std::sync::(Condvar|Barrier|mpsc)/)
      if (hit && $0 !~ /sync-lint: allow/ && prev !~ /sync-lint: allow/ && $0 !~ /^ *\/\//) {
        printf "%s:%d: use crate::sync instead: %s\n", file, NR, $0; bad = 1
      }
      prev = $0
    }
    END { exit bad }
  ' "$f" || status=1
done
if [ "$status" -ne 0 ]; then
  echo "check-sync: atomics and threads must go through src/sync/ (see docs/CONCURRENCY.md)" >&2
fi
exit "$status"
