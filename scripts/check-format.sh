#!/usr/bin/env bash
# Checks that every C++ file in git is formatted as .clang-format says, with Debian 12's
# clang-format 14 (other versions format some constructs differently). Prints the files that
# are not, with clang-format's first complaints, and exits 1; `--fix` formats them in place.
# CTest runs it as the `format` test.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[ "${1:-}" = "--fix" ] && fix=1
clang_format=""
for candidate in clang-format-14 clang-format; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" --version | grep -q 'version 14\.'; then
    clang_format=$candidate
    break
  fi
done
if [ -z "$clang_format" ]; then
  echo "check-format: clang-format 14 not found (Debian 12's clang-format package)" >&2
  exit 1
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-format: not a git checkout; nothing to check" >&2
  exit 77
fi
mapfile -t files < <(git ls-files -- '*.cc' '*.h')
if [ "$fix" -eq 1 ]; then
  "$clang_format" -i "${files[@]}"
  exit 0
fi
# One clang-format for every file: it names each file that differs, with the lines, and
# exits non-zero if any does.
if out=$("$clang_format" --dry-run --Werror "${files[@]}" 2>&1); then
  echo "check-format: ${#files[@]} files formatted"
  exit 0
fi
echo "$out" | head -n 60
bad=$(echo "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' |
  sort -u)
echo "check-format: not formatted (scripts/check-format.sh --fix):"
echo "$bad" | sed 's/^/  /'
exit 1
