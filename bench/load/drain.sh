#!/usr/bin/env bash
# Drain benchmark: how fast the outbox dispatcher sends a queue of messages, and what the
# queue's draining costs the webhooks. On a new SQLite file, account 1's long code
# +15551234567 sends through its Twilio sender, pointed (api_base_url) at a stand-in for
# Twilio's API on loopback (twilio_standin.py: 201 at once), so the figures are the service's.
#   1. webhook latency, idle: signed Twilio webhooks from new phones for DURATION_S, with an
#      empty outbox and no dispatcher running
#   2. MESSAGES transactional messages queued with POST /v1/messages (drain_queue.lua), the
#      number's rate set high (1000 per second, the most a number may have)
#   3. the drain: a server with its dispatcher starts; the same webhooks (from other new
#      phones) run for DURATION_S while it sends, and the time until every message is sent is
#      taken (the webhooks' replies go in their TwiML responses, not through the outbox)
#   4. the rate honoured: the rate set low (LOW_RATE per second), LOW_MESSAGES more queued and
#      drained; the measured rate is (messages - 1) / (last sent_at - first sent_at)
# Usage: bench/load/drain.sh [--tsv] [DURATION_S=10] [CONNECTIONS=32]
# Environment:
#   SMSCONSENT_BINARY                 the binary (default build/release/smsconsent)
#   SMSCONSENT_BENCH_DRAIN_MESSAGES   messages in the queue (default 100000; fewer for a quick run)
#   SMSCONSENT_BENCH_LOW_RATE         the low rate, messages per second (default 20)
#   SMSCONSENT_BENCH_LOW_MESSAGES     messages drained at the low rate (default 20 s worth)
#   SMSCONSENT_BENCH_DRAIN_UNSPACED   set: the number is not spaced at all during the drain (a
#                                     store-only setting, not offered by the API), to compare
# --tsv prints tab-separated lines (comments start with "#"):
#   route  KEY REQUESTS_PER_S P50_MS P90_MS P99_MS REQUESTS ERRORS  (bench_run in common.sh;
#          KEY webhooks-idle, webhooks-draining)
#   drain  KEY MESSAGES SECONDS MESSAGES_PER_S RATE_SET_PER_S  (KEY high, low; SECONDS from
#          the first to the last message sent)
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench_tsv=""
if [ "${1:-}" = --tsv ]; then bench_tsv=1; shift; fi
duration="${1:-10}"; conns="${2:-32}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
messages="${SMSCONSENT_BENCH_DRAIN_MESSAGES:-100000}"
low_rate="${SMSCONSENT_BENCH_LOW_RATE:-20}"
low_messages="${SMSCONSENT_BENCH_LOW_MESSAGES:-$(python3 -c "print(max(2, int(20 * $low_rate)))")}"
phones=$((duration * 4000 + 1000))  # more new phones than the webhook runs can send
say() { if [ -n "$bench_tsv" ]; then echo "# $*"; else echo "$*"; fi; }
work="$(mktemp -d)"
source "$root/bench/load/common.sh"
standin_pid=""
cleanup() {
  bench_stop_servers
  if [ -n "$standin_pid" ]; then
    kill "$standin_pid" 2>/dev/null && { wait "$standin_pid" 2>/dev/null || true; }
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

db="$work/drain.db"
python3 "$root/bench/load/twilio_standin.py" > "$work/standin.out" 2>&1 &
standin_pid=$!
for _ in $(seq 100); do grep -q listening "$work/standin.out" 2>/dev/null && break; sleep 0.05; done
standin="http://127.0.0.1:$(awk '/listening/ {print $2}' "$work/standin.out")"

key=$("$bin" --db "$db" --json account create --name Drain --addons marketing_sms_access |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
"$bin" --db "$db" number add --account 1 --number +15551234567 >/dev/null
"$bin" --db "$db" provider set --account 1 --provider twilio --auth-token loadtoken \
  --account-sid AC00000000000000000000000000000000 --api-base-url "$standin" \
  --sender twilio >/dev/null

# set_rate RATE: the number's rate_per_second, through the API of the running server.
set_rate() {
  curl -sf -X PATCH -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"rate_per_second\": $1}" "${bench_bases[0]}/v1/numbers/1" >/dev/null
}
# queue COUNT PREFIX: COUNT transactional messages through the running server.
queue() {
  local t=2
  API_KEY="$key" SENDER=+15551234567 COUNT="$1" THREADS="$t" PREFIX="$2" \
    wrk -t"$t" -c"$conns" -d"$((1 + $1 / 1000 + 30))s" -s "$root/bench/load/drain_queue.lua" \
    "${bench_bases[0]}" > "$work/queue.txt" 2>&1 &
  bench_wrk_pids=($!)
  # wrk runs for a fixed time; stop it once every message is queued.
  while kill -0 "${bench_wrk_pids[0]}" 2>/dev/null; do
    [ "$(sql "SELECT COUNT(*) FROM outbox WHERE kind = 'message' AND to_phone LIKE '$2%'")" -ge "$1" ] && break
    sleep 0.5
  done
  kill "${bench_wrk_pids[0]}" 2>/dev/null || true
  wait "${bench_wrk_pids[0]}" 2>/dev/null || true
  bench_wrk_pids=()
}
sql() { sqlite3 -cmd ".timeout 10000" "$db" "$1"; }
# start_server [--no-dispatch]: one `serve` (bench_start_servers starts them without a
# dispatcher), with a dispatcher unless told otherwise.
start_server() {
  local flags=(--outbox-poll-ms 100)
  [ "${1:-}" = --no-dispatch ] && flags=(--no-dispatch)
  "$bin" --db "$db" serve --listen 127.0.0.1:0 --log-level warn "${flags[@]}" \
    > "$work/serve.out" 2> "$work/serve.err" &
  bench_pids=($!)
  for _ in $(seq 1200); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
  bench_bases=("$(sed -n 's/^smsconsent listening on //p' "$work/serve.out")")
  [ -n "${bench_bases[0]}" ] || { echo "server did not start:" >&2; cat "$work/serve.err" >&2; return 1; }
}
# drained KEY FIRST_ID RATE: waits until no message above FIRST_ID is pending or sending, then
# prints the drain line from their sent_at times.
drained() {
  local key="$1" first="$2" rate="$3"
  while [ "$(sql "SELECT COUNT(*) FROM outbox WHERE id > $first AND kind = 'message' AND state IN ('pending', 'sending')")" -gt 0 ]; do
    sleep 0.2
  done
  local line
  line=$(sql "SELECT COUNT(*), (MAX(sent_at_ms) - MIN(sent_at_ms)) / 1000.0 FROM outbox WHERE id > $first AND kind = 'message' AND state = 'sent'")
  local n="${line%%|*}" s="${line##*|}"
  local per
  per=$(python3 -c "print('%.1f' % (($n - 1) / $s if $s > 0 else 0))")
  if [ -n "$bench_tsv" ]; then
    printf 'drain\t%s\t%s\t%s\t%s\t%s\n' "$key" "$n" "$s" "$per" "$rate"
  else
    printf 'drain, rate %-6s %8s messages in %8s s: %8s messages/s\n' "$rate/s:" "$n" "$s" "$per"
  fi
  local failed
  failed=$(sql "SELECT COUNT(*) FROM outbox WHERE id > $first AND kind = 'message' AND state <> 'sent'")
  [ "$failed" = 0 ] || say "$failed messages not sent: $(sql "SELECT state, last_error FROM outbox WHERE id > $first AND state <> 'sent' LIMIT 3")"
}

say "drain: $messages messages, the low rate $low_rate/s for $low_messages; webhooks: wrk 2 threads, $conns connections, ${duration}s; stand-in $standin"

# 1. Idle webhooks, then the queue.
start_server --no-dispatch
bench_gen_webhooks requests +1415 SMidle "$phones" "$work"
bench_run webhooks-idle "webhooks, idle" webhooks requests
if [ -n "${SMSCONSENT_BENCH_DRAIN_UNSPACED:-}" ]; then
  sql "UPDATE sender_numbers SET rate_mmps = -1"  # not spaced at all: the dispatcher alone
else
  set_rate 1000
fi
queue "$messages" +1416
bench_stop_servers

# 2. The drain, with webhooks from other new phones meanwhile.
first=$(sql "SELECT COALESCE(MIN(id), 1) - 1 FROM outbox WHERE kind = 'message'")
start_server
bench_gen_webhooks requests +1417 SMdrain "$phones" "$work"
bench_run webhooks-draining "webhooks, draining" webhooks requests
drained high "$first" 1000

# 3. The rate honoured.
set_rate "$low_rate"
bench_stop_servers
first=$(sql "SELECT COALESCE(MAX(id), 0) FROM outbox")
start_server --no-dispatch
queue "$low_messages" +1418
bench_stop_servers
start_server
drained low "$first" "$low_rate"
bench_stop_servers
