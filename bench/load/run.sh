#!/usr/bin/env bash
# Load benchmark of the service with wrk, on loopback: GET /healthz (the baseline), signed
# Twilio webhooks over distinct phones (durable writes), and GET /v1/consent over 100,000
# phones (mostly seen for the first time) and over 10,000 recurring ones. Prints one line
# per run: requests/s and latency percentiles. Usage:
#   bench/load/run.sh [DURATION_S=10] [CONNECTIONS=32] [SERVER_THREADS=8]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-10}"; conns="${2:-32}"; sthreads="${3:-8}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
phones=100000
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db="$work/load.db"
key=$("$bin" --db "$db" --json account create --name Load --addons marketing_sms_access |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
"$bin" --db "$db" number add --account 1 --number +15551234567 >/dev/null
"$bin" --db "$db" provider set --account 1 --provider twilio --auth-token loadtoken >/dev/null

"$bin" --db "$db" serve --listen 127.0.0.1:0 --threads "$sthreads" --log-level warn \
  --no-dispatch > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
base=$(sed -n 's/^smsconsent listening on //p' "$work/serve.out")
echo "server: $base (threads $sthreads); wrk: 2 threads, $conns connections, ${duration}s"

python3 "$root/bench/load/gen_twilio_requests.py" "$base/webhooks/twilio" loadtoken +15551234567 \
  "$phones" "$work/requests.tsv"

run() {  # name, wrk args…
  local name="$1"; shift
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$@" > "$work/wrk.txt" 2>&1
  local rps p50 p90 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  p90=$(awk '$1=="90%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  errs=$(grep -E "Non-2xx|Socket errors" "$work/wrk.txt" | tr '\n' ' ' || true)
  printf '%-22s %10s req/s   p50 %8s   p90 %8s   p99 %8s   %s\n' "$name" "$rps" "$p50" "$p90" "$p99" "$errs"
}

run "GET /healthz" "$base/healthz"
REQUESTS_FILE="$work/requests.tsv" WRK_THREADS=2 run "POST /webhooks/twilio" \
  -s "$root/bench/load/twilio_webhooks.lua" "$base"
API_KEY="$key" SENDER=%2B15551234567 PHONES="$phones" run "GET /v1/consent" \
  -s "$root/bench/load/consent_check.lua" "$base"
# A business checking its recipient list again (phones seen before: no libphonenumber parse).
API_KEY="$key" SENDER=%2B15551234567 PHONES=10000 run "GET /v1/consent 10k" \
  -s "$root/bench/load/consent_check.lua" "$base"
events=$("$bin" --db "$db" --json ledger verify --account 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["events"], "events, ledger ok" if d["ok"] else "LEDGER BROKEN")')
echo "after the run: $events"
