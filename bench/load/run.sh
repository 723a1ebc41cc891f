#!/usr/bin/env bash
# Load benchmark of the service with wrk, on loopback. Before the server starts, 100,000
# contacts (+1416 0000000…) are opted in with `bulk apply`: a business's recipient list.
# Then, each run against the same server:
#   GET /healthz                        the baseline
#   GET /healthz, script                the same through a wrk Lua request() function, as the
#                                       webhook and consent runs send theirs
#   POST /webhooks/twilio, new phones   signed Twilio webhooks from distinct phones never seen
#                                       before (+1415…): a contact is created with each message
#   POST /webhooks/twilio, contacts     signed Twilio webhooks from the 100,000 contacts
#   GET /v1/consent, contacts           consent checks over the 100,000 contacts
#   GET /v1/consent, contacts, again    the same phones once more: the first run read each
#                                       of them after the webhooks' last commit; SQLite's
#                                       consent cache (docs/storage.md) answers them now
#   GET /v1/consent, unknown            consent checks over 100,000 phones that are no
#                                       contact (+1417…): each is parsed and validated
# Every webhook is a durable write. Prints one line per run: requests/s and latency
# percentiles; and the servers' group commits: messages per batch, time per batch, and how
# much of the run the writer thread spent committing. Usage:
#   bench/load/run.sh [DURATION_S=10] [CONNECTIONS=32] [SERVER_THREADS=0]
# SERVER_THREADS 0: serve's own default (two per core on SQLite, 16 on PostgreSQL).
# Environment:
#   SMSCONSENT_BINARY     the binary (default build/release/smsconsent)
#   SMSCONSENT_BENCH_DB   a PostgreSQL location (postgresql://…[?pool=N]) instead of a new
#                         SQLite file. The database (or `schema=`) must be empty: it is seeded
#                         as above (slow: about 3 minutes for 100,000 contacts on the 2-core
#                         machine) — unless SMSCONSENT_BENCH_API_KEY is set too, which says it
#                         was seeded already (bench_seed in common.sh; compare_stores.sh does
#                         that once and clones the database for each run).
#   SMSCONSENT_BENCH_PHONES  contacts seeded and phones per route (default 100000)
#   SMSCONSENT_BENCH_INSTANCES  `serve` processes on the same database (default 1), each on
#                         its own port with SERVER_THREADS threads. wrk cannot spread one run
#                         over several servers, so each route runs one wrk per instance at
#                         once, each with CONNECTIONS / instances connections and 2 / instances
#                         threads; the line shows the summed requests/s and each instance's
#                         percentiles, separated by "/". Each instance gets its own slice of
#                         the phones, so no two instances send the same message.
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-10}"; conns="${2:-32}"; sthreads="${3:-0}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
instances="${SMSCONSENT_BENCH_INSTANCES:-1}"
phones="${SMSCONSENT_BENCH_PHONES:-100000}"
work="$(mktemp -d)"
source "$root/bench/load/common.sh"
cleanup() { bench_stop_servers; rm -rf "$work"; }
trap cleanup EXIT

db="${SMSCONSENT_BENCH_DB:-$work/load.db}"
key="${SMSCONSENT_BENCH_API_KEY:-}"
[ -n "$key" ] || key=$(bench_seed "$db" "$work" "$phones")

bench_start_servers "$db" "$instances" "$sthreads" "$work"
echo "server: ${bench_bases[*]} (threads $sthreads); wrk: 2 threads, $conns connections, ${duration}s"

bench_gen_webhooks requests +1415 SMnew "$phones" "$work"
bench_gen_webhooks requests-known +1416 SMknown "$phones" "$work"

bench_run "GET /healthz" healthz
bench_run "GET /healthz, script" healthz-script
read -r b0 i0 s0 < <(bench_batches)
bench_run "webhooks, new phones" webhooks requests
read -r b1 i1 s1 < <(bench_batches)
bench_run "webhooks, contacts" webhooks requests-known
read -r b2 i2 s2 < <(bench_batches)
echo "group commit, new phones: $(bench_batch_stats "$b0" "$i0" "$s0" "$b1" "$i1" "$s1")"
echo "group commit, contacts:   $(bench_batch_stats "$b1" "$i1" "$s1" "$b2" "$i2" "$s2")"
bench_run "consent, contacts" consent %2B1416
bench_run "consent, contacts, again" consent %2B1416
bench_run "consent, unknown" consent %2B1417
events=$("$bin" --db "$db" --json ledger verify --account 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["events"], "events, ledger ok" if d["ok"] else "LEDGER BROKEN")')
echo "after the run: $events"
