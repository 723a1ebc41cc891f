#!/usr/bin/env bash
# Instructions per request of one route, counted by callgrind in the server (repeatable on a
# loaded machine, unlike requests/s): 10,000 contacts are opted in, `serve` runs under
# valgrind --tool=callgrind, its counters are zeroed after 2 s of warm-up load, wrk (2 threads, 16
# connections) loads the route for SECONDS, and the total is divided by the requests served.
# Usage: bench/load/instructions.sh BINARY MODE SECONDS [PROFILE_OUT]
#   PROFILE_OUT: where to keep the callgrind profile (for callgrind_annotate); default: dropped.
#   MODE: healthz | webhook-new | webhook-known | consent-known | consent-unknown
set -euo pipefail
bin=$1; mode=$2; secs=$3; keep=${4:-}
root="$(cd "$(dirname "$0")/../.." && pwd)"; work=$(mktemp -d); db=$work/load.db
$bin --db $db --json account create --name Load --addons marketing_sms_access > $work/acct.json
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' $work/acct.json)
$bin --db $db number add --account 1 --number +15551234567 >/dev/null
$bin --db $db provider set --account 1 --provider twilio --auth-token loadtoken >/dev/null
python3 -c 'import sys
print("phone")
for i in range(10000): print("+1416%07d" % i)' > $work/contacts.csv
$bin --db $db --json bulk apply --account 1 --number +15551234567 --status opted_in --csv $work/contacts.csv --attest --legal-basis consent --explanation bench >/dev/null
valgrind --tool=callgrind --callgrind-out-file=$work/cg.out $bin --db $db serve --listen 127.0.0.1:0 --threads 4 --log-level warn --no-dispatch > $work/serve.out 2>$work/serve.err &
pid=$!
for _ in $(seq 600); do grep -q listening $work/serve.out 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^smsconsent listening on //p' $work/serve.out)
python3 $root/bench/load/gen_twilio_requests.py "$base/webhooks/twilio" loadtoken +15551234567 10000 $work/new.tsv +1415 SMnew
python3 $root/bench/load/gen_twilio_requests.py "$base/webhooks/twilio" loadtoken +15551234567 10000 $work/known.tsv +1416 SMknown
python3 $root/bench/load/gen_twilio_requests.py "$base/webhooks/twilio" loadtoken +15551234567 10000 $work/warm.tsv +1418 SMwarm
# load RUN_SECONDS [warm]: the mode's load for RUN_SECONDS; with "warm", webhooks from other
# phones and message ids than the measured ones.
load() {
  local new=$work/new.tsv known=$work/known.tsv
  [ "${2:-}" = warm ] && new=$work/warm.tsv && known=$work/warm.tsv
  case $mode in
    healthz) wrk -t2 -c16 -d${1}s $base/healthz ;;
    webhook-new) REQUESTS_FILE=$new WRK_THREADS=2 wrk -t2 -c16 -d${1}s -s $root/bench/load/twilio_webhooks.lua $base ;;
    webhook-known) REQUESTS_FILE=$known WRK_THREADS=2 wrk -t2 -c16 -d${1}s -s $root/bench/load/twilio_webhooks.lua $base ;;
    consent-known) API_KEY="$key" SENDER=%2B15551234567 PHONES=10000 PREFIX=%2B1416 wrk -t2 -c16 -d${1}s -s $root/bench/load/consent_check.lua $base ;;
    consent-unknown) API_KEY="$key" SENDER=%2B15551234567 PHONES=10000 PREFIX=%2B1417 wrk -t2 -c16 -d${1}s -s $root/bench/load/consent_check.lua $base ;;
  esac
}
# Warm up first (one-time set-up: the phone tables, the keyword matcher, caches), so that the
# counted requests are steady-state ones.
load 2 warm > /dev/null
sleep 1
callgrind_control -z $pid >/dev/null
load $secs > $work/wrk.txt
callgrind_control -d $pid >/dev/null
sleep 1
reqs=$(awk '/requests in/ {print $1}' $work/wrk.txt)
non2xx=$(awk '/Non-2xx/ {print $NF}' $work/wrk.txt)
out=$(ls -t $work/cg.out* | head -1)
total=$(callgrind_annotate $out 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
[ -n "$keep" ] && cp "$out" "$keep"
echo "$mode requests=$reqs non2xx=${non2xx:-0} instr/request=$((total / reqs))"
kill -TERM $pid; wait $pid 2>/dev/null || true
rm -rf $work
