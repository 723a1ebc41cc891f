#!/usr/bin/env bash
# Load benchmark of the service with wrk, on loopback. Before the server starts, 100,000
# contacts (+1416 0000000…) are opted in with `bulk apply`: a business's recipient list.
# Then, each run against the same server:
#   GET /healthz                        the baseline
#   POST /webhooks/twilio, new phones   signed Twilio webhooks from distinct phones never seen
#                                       before (+1415…): a contact is created with each message
#   POST /webhooks/twilio, contacts     signed Twilio webhooks from the 100,000 contacts
#   GET /v1/consent, contacts           consent checks over the 100,000 contacts
#   GET /v1/consent, unknown            consent checks over 100,000 phones that are no
#                                       contact (+1417…): each is parsed and validated
# Every webhook is a durable write. Prints one line per run: requests/s and latency
# percentiles; and the server's group-commit batch sizes. Usage:
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
python3 -c 'import sys
print("phone")
for i in range(int(sys.argv[1])): print("+1416%07d" % i)' "$phones" > "$work/contacts.csv"
"$bin" --db "$db" --json bulk apply --account 1 --number +15551234567 --status opted_in \
  --csv "$work/contacts.csv" --attest --legal-basis consent \
  --explanation "load benchmark recipients" > /dev/null

"$bin" --db "$db" serve --listen 127.0.0.1:0 --threads "$sthreads" --log-level warn \
  --no-dispatch > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
base=$(sed -n 's/^smsconsent listening on //p' "$work/serve.out")
echo "server: $base (threads $sthreads); wrk: 2 threads, $conns connections, ${duration}s"

python3 "$root/bench/load/gen_twilio_requests.py" "$base/webhooks/twilio" loadtoken +15551234567 \
  "$phones" "$work/requests.tsv" +1415 SMnew
python3 "$root/bench/load/gen_twilio_requests.py" "$base/webhooks/twilio" loadtoken +15551234567 \
  "$phones" "$work/requests-known.tsv" +1416 SMknown

run() {  # name, wrk args…
  local name="$1"; shift
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$@" > "$work/wrk.txt" 2>&1
  local rps p50 p90 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  p90=$(awk '$1=="90%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  errs=$(grep -E "Non-2xx|Socket errors" "$work/wrk.txt" | tr '\n' ' ' || true)
  printf '%-24s %10s req/s   p50 %8s   p90 %8s   p99 %8s   %s\n' "$name" "$rps" "$p50" "$p90" "$p99" "$errs"
}

batches() {  # group commits so far: batches and change sets
  curl -s "$base/metrics" | awk '/^smsconsent_group_commit_batches_total/ {b=$2} /^smsconsent_group_commit_items_total/ {i=$2} END {print b+0, i+0}'
}
run "GET /healthz" "$base/healthz"
read -r b0 i0 < <(batches)
REQUESTS_FILE="$work/requests.tsv" WRK_THREADS=2 run "webhooks, new phones" \
  -s "$root/bench/load/twilio_webhooks.lua" "$base"
read -r b1 i1 < <(batches)
REQUESTS_FILE="$work/requests-known.tsv" WRK_THREADS=2 run "webhooks, contacts" \
  -s "$root/bench/load/twilio_webhooks.lua" "$base"
read -r b2 i2 < <(batches)
echo "group commit: new phones $(( (i1-i0) / (b1-b0 > 0 ? b1-b0 : 1) )) messages per batch," \
     "contacts $(( (i2-i1) / (b2-b1 > 0 ? b2-b1 : 1) ))"
API_KEY="$key" SENDER=%2B15551234567 PHONES="$phones" PREFIX=%2B1416 run "consent, contacts" \
  -s "$root/bench/load/consent_check.lua" "$base"
API_KEY="$key" SENDER=%2B15551234567 PHONES="$phones" PREFIX=%2B1417 run "consent, unknown" \
  -s "$root/bench/load/consent_check.lua" "$base"
events=$("$bin" --db "$db" --json ledger verify --account 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["events"], "events, ledger ok" if d["ok"] else "LEDGER BROKEN")')
echo "after the run: $events"
