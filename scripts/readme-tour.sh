#!/usr/bin/env bash
# Runs the README's "The first ten minutes" against a running `smsconsent serve`, exactly as
# written there, so the README cannot drift from the product. Every ```sh block of that section
# runs in order in one bash (`set -euo pipefail`) from the repository's root; `curl` fails on an
# HTTP error; a line ending in `# → TEXT` requires TEXT in its block's output. Afterwards the
# web page is checked the way the README says to open it: `/` leads to the page, and the
# printed staff password signs in.
#
#   scripts/readme-tour.sh [--listen HOST:PORT] [--first-run-log FILE] [--workdir DIR]
#     --listen         where the service listens (default 127.0.0.1:8080); the README's
#                      127.0.0.1:8080 is replaced by it
#     --first-run-log  the output of `./scripts/run.sh`'s first run ("-" or /dev/stdin for
#                      standard input), for the API key and the staff password it printed;
#                      without it they come from SMSCONSENT_KEY and SMSCONSENT_PASSWORD
#     --workdir        where the blocks run (default: the repository's root, as in the README)
# The database is the one the README's commands use: $SMSCONSENT_DB or ./smsconsent.db. With
# SMSCONSENT_BINARY set, the README's build/release/smsconsent is replaced by that binary.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
listen=127.0.0.1:8080
first_run_log=""
workdir="$root"
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen="$2"; shift 2 ;;
    --first-run-log) first_run_log="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    *) echo "usage: $0 [--listen HOST:PORT] [--first-run-log FILE] [--workdir DIR]" >&2; exit 2 ;;
  esac
done
if [ -n "$first_run_log" ]; then
  [ "$first_run_log" = "-" ] && first_run_log=/dev/stdin
  log=$(cat "$first_run_log")
  SMSCONSENT_KEY=$(sed -n 's/.*API key: *\(sk_[A-Za-z0-9_]*\).*/\1/p' <<<"$log" | head -n 1)
  SMSCONSENT_PASSWORD=$(sed -n 's/.*sign in as admin@example.com \/ *\([^ ]*\).*/\1/p' <<<"$log" |
    head -n 1)
fi
: "${SMSCONSENT_KEY:?no API key: give --first-run-log or set SMSCONSENT_KEY}"
export SMSCONSENT_KEY

# The section's ```sh blocks, one file each, with the README's address replaced.
blocks=$(mktemp -d)
trap 'rm -rf "$blocks"' EXIT
awk -v dir="$blocks" '
  /^## / { in_section = ($0 ~ /^## The first ten minutes/) }
  in_section && /^```sh$/ { n++; file = sprintf("%s/%02d.sh", dir, n); inside = 1; next }
  inside && /^```$/ { inside = 0; close(file); next }
  inside { print > file }
' "$root/README.md"
count=$(find "$blocks" -name '[0-9]*.sh' | wc -l)
if [ "$count" -eq 0 ]; then
  echo "readme-tour: no \`\`\`sh blocks under '## The first ten minutes' in README.md" >&2
  exit 1
fi
sed -i "s/127\.0\.0\.1:8080/$listen/g" "$blocks"/[0-9]*.sh
# The tests name the binary under test; the README's is the one run.sh builds.
if [ -n "${SMSCONSENT_BINARY:-}" ]; then
  bindir=$(cd "$(dirname "$SMSCONSENT_BINARY")" && pwd)
  sed -i "s|\$PWD/build/release|$bindir|g" "$blocks"/[0-9]*.sh
fi

# One shell for the whole section, as a reader pasting the blocks into one terminal has: what
# a block exports or defines is there for the next. A marker line before each block's output
# lets each block's `# → TEXT` be checked against its own output.
tour="$blocks/tour.sh"
{
  echo 'curl() { command curl --fail-with-body --silent --show-error "$@"; }'
  for block in "$blocks"/[0-9]*.sh; do
    echo "printf '\n@@block %s\n' '$(basename "$block" .sh)'"
    cat "$block"
  done
} >"$tour"
cd "$workdir"
for block in "$blocks"/[0-9]*.sh; do
  echo "== README block $(basename "$block" .sh) of $count"
  sed 's/^/   $ /' "$block"
done
echo "== running them"
status=0
out=$(bash -euo pipefail "$tour" 2>&1) || status=$?
echo "$out" | sed 's/^/   /'
if [ "$status" -ne 0 ]; then
  echo "readme-tour: FAIL: exited $status in block $(grep -o '^@@block [0-9]*' <<<"$out" |
    tail -n 1 | cut -d' ' -f2)" >&2
  exit 1
fi
failed=0
for block in "$blocks"/[0-9]*.sh; do
  n=$(basename "$block" .sh)
  block_out=$(awk -v n="$n" '/^@@block / { on = ($2 == n); next } on' <<<"$out")
  while IFS= read -r want; do
    if [[ "$block_out" != *"$want"* ]]; then
      echo "readme-tour: FAIL: block $n did not print: $want" >&2
      failed=1
    fi
  done < <(sed -n 's/.*# → \(.*[^ ]\) *$/\1/p' "$block")
done

# The web page: / leads to it, and the first run's password signs in.
echo "== the web page at http://$listen/"
page=$(curl -fsSL "http://$listen/")
if [[ "$page" != *"<html"* && "$page" != *"<!doctype html"* && "$page" != *"<!DOCTYPE html"* ]]; then
  echo "readme-tour: FAIL: http://$listen/ did not lead to the web page" >&2
  failed=1
fi
if [ -n "${SMSCONSENT_PASSWORD:-}" ]; then
  body=$(printf '{"email":"admin@example.com","password":"%s"}' "$SMSCONSENT_PASSWORD")
  if curl -fsS -o /dev/null -H 'Content-Type: application/json' --data "$body" \
    "http://$listen/v1/session"; then
    echo "   admin@example.com signs in with the printed password"
  else
    echo "readme-tour: FAIL: admin@example.com cannot sign in with the printed password" >&2
    failed=1
  fi
fi
[ "$failed" -eq 0 ] && echo "readme-tour: PASS ($count blocks)"
exit $failed
