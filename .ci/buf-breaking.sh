#!/usr/bin/env bash
# buf breaking: proto/ as it is now against proto/ at an earlier commit, by default HEAD~1
# (the commit before this one; on main after a merge commit, main before the merge).
#
#   .ci/buf-breaking.sh [REF]          BUF="path/to/buf" to use another buf than `npx buf`
#
# Nothing to compare, and says so: HEAD is the first commit, or REF has no proto/ or no
# buf.yaml (the contract's layout was not there yet). A shallow clone that lacks REF
# fails: skipping would let a breaking change through, so fetch the history instead.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
ref="${1:-HEAD~1}"
buf="${BUF:-npx buf}"

if ! commit=$(git rev-parse --verify --quiet "$ref^{commit}"); then
  if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    echo "buf breaking: $ref is not in this shallow clone; fetch it first (git fetch --deepen=1)" >&2
    exit 1
  fi
  if [ "$ref" = HEAD~1 ] && [ "$(git rev-list --parents -n 1 HEAD | wc -w)" -eq 1 ]; then
    echo "buf breaking: HEAD is the first commit, nothing to compare against"
    exit 0
  fi
  echo "buf breaking: no commit '$ref'" >&2
  exit 1
fi
for path in proto buf.yaml; do
  if ! git cat-file -e "$commit:$path" 2>/dev/null; then
    echo "buf breaking: $ref has no $path, nothing to compare against"
    exit 0
  fi
done

$buf breaking --against ".git#ref=$commit"
echo "buf breaking: proto/ is compatible with $ref ($(git rev-parse --short "$commit"))"
