#!/usr/bin/env bash
# The documentation names only files that are in the repository: every relative markdown link
# (`[text](path)`, resolved from the linking file's directory) and every path in backticks that
# ends in .md or .svg and names a directory (`docs/FORMAT.md`, resolved from the repository
# root) in README.md, CHANGELOG.md and docs/*.md must exist.
# Usage: .ci/check-links.sh     (prints each missing target and exits 1, or one line)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd -P)"
status=0
checked=0
# Whether $1 is a file or directory inside the repository.
inside() {
  local p
  p="$(realpath -m "$1")"
  [ -e "$p" ] && case "$p/" in "$root"/*) true ;; *) false ;; esac
}
for doc in README.md CHANGELOG.md docs/*.md; do
  base="$(dirname "$doc")"
  while IFS= read -r target; do
    target="${target%%#*}"
    [ -z "$target" ] && continue
    checked=$((checked + 1))
    if ! inside "$base/$target"; then
      echo "$doc: links to $target, which is not in the repository"; status=1
    fi
  done < <(grep -o '](\([^)]*\))' "$doc" | sed 's/^](//; s/)$//' | grep -v -E '^(https?:|mailto:|#)' || true)
  while IFS= read -r target; do
    checked=$((checked + 1))
    if ! inside "$target"; then
      echo "$doc: names $target, which is not in the repository"; status=1
    fi
  done < <(grep -o '`[^` ]*/[^` ]*\.\(md\|svg\)`' "$doc" | tr -d '`' | grep -v '^target/' || true)
done
if [ "$status" -eq 0 ]; then
  echo "check-links: $checked links and paths, all in the repository"
fi
exit "$status"
