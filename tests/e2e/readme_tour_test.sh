#!/usr/bin/env bash
# The README's front door as a reader follows it: `./scripts/run.sh` (first run: an account, its
# API key and a staff user), then every command of "The first ten minutes" exactly as written
# (scripts/readme-tour.sh), against the built binary on its own database and a free port.
# Run by CTest with SMSCONSENT_BINARY and SMSCONSENT_SOURCE_DIR. Exit 0 = pass, 1 = fail.
set -uo pipefail
SRC_DIR=${SMSCONSENT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
: "${SMSCONSENT_BINARY:?set SMSCONSENT_BINARY}"
export SMSCONSENT_BINARY
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SMSCONSENT_DB="$work/smsconsent.db"

# run.sh listens where SMSCONSENT_LISTEN says; a free port is found by trying.
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
  SMSCONSENT_LISTEN="127.0.0.1:$port" "$SRC_DIR/scripts/run.sh" >"$work/run.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$work/run.log" && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "listening on" "$work/run.log" && break
  wait "$server" 2>/dev/null
  server=""
done
if [ -z "$server" ]; then
  echo "FAIL: ./scripts/run.sh did not start serving"
  cat "$work/run.log"
  exit 1
fi
cat "$work/run.log"
"$SRC_DIR/scripts/readme-tour.sh" --listen "127.0.0.1:$port" --first-run-log "$work/run.log" \
  --workdir "$work"
