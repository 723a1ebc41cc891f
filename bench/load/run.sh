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
#   POST /v1/messages, contacts         a marketing message to each of the contacts in turn:
#                                       checked (consent, quiet hours) and queued, a durable
#                                       write each (docs/sending.md); the dispatcher sends them
# Every webhook is a durable write. Prints one line per run: requests/s and latency
# percentiles; and the servers' group commits: messages per batch, time per batch, and how
# much of the run the writer thread spent committing. Usage:
#   bench/load/run.sh [--tsv] [DURATION_S=10] [CONNECTIONS=32] [SERVER_THREADS=0]
# SERVER_THREADS 0: serve's own default (two per core on SQLite, 16 on PostgreSQL).
# --tsv: tab-separated lines for scripts (bench/report.sh) instead; comments start with "#":
#   route   KEY REQUESTS_PER_S P50_MS P90_MS P99_MS REQUESTS ERRORS  (bench_run in common.sh)
#   commit  KEY MESSAGES_PER_BATCH MS_PER_BATCH WRITER_BUSY_PERCENT BATCHES  (webhook routes)
#   ledger  EVENTS OK(1|0)
# KEY, in the order they run: healthz, healthz-script, webhooks-new, webhooks-contacts,
# consent-contacts, consent-again, consent-unknown, messages.
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
#   SMSCONSENT_BENCH_ROUTES  the KEYs to run (space- or comma-separated; default all), in
#                         the order above whatever the order given.
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench_tsv=""
if [ "${1:-}" = --tsv ]; then bench_tsv=1; shift; fi
duration="${1:-10}"; conns="${2:-32}"; sthreads="${3:-0}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
instances="${SMSCONSENT_BENCH_INSTANCES:-1}"
phones="${SMSCONSENT_BENCH_PHONES:-100000}"
all_routes="healthz healthz-script webhooks-new webhooks-contacts consent-contacts consent-again consent-unknown messages"
routes=" ${SMSCONSENT_BENCH_ROUTES:-$all_routes} "
routes="${routes//,/ }"
for r in $routes; do
  case " $all_routes " in *" $r "*) ;; *) echo "$0: unknown route $r (routes: $all_routes)" >&2; exit 2 ;; esac
done
want() { [[ "$routes" == *" $1 "* ]]; }
say() { if [ -n "$bench_tsv" ]; then echo "# $*"; else echo "$*"; fi; }
work="$(mktemp -d)"
source "$root/bench/load/common.sh"
cleanup() { bench_stop_servers; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

db="${SMSCONSENT_BENCH_DB:-$work/load.db}"
key="${SMSCONSENT_BENCH_API_KEY:-}"
[ -n "$key" ] || key=$(bench_seed "$db" "$work" "$phones")

bench_start_servers "$db" "$instances" "$sthreads" "$work"
say "server: ${bench_bases[*]} (threads $sthreads); wrk: 2 threads, $conns connections, ${duration}s"

want webhooks-new && bench_gen_webhooks requests +1415 SMnew "$phones" "$work"
want webhooks-contacts && bench_gen_webhooks requests-known +1416 SMknown "$phones" "$work"

# webhooks KEY NAME STEM: the webhook route, and its group commits.
webhooks() {
  local b0 i0 s0 b1 i1 s1
  read -r b0 i0 s0 < <(bench_batches)
  bench_run "$1" "$2" webhooks "$3"
  read -r b1 i1 s1 < <(bench_batches)
  if [ -n "$bench_tsv" ]; then
    printf 'commit\t%s\t%s\n' "$1" "$(bench_batch_stats "$b0" "$i0" "$s0" "$b1" "$i1" "$s1")"
  else
    commits+=("$(printf 'group commit, %-11s %s' "${2#webhooks, }:" \
      "$(bench_batch_stats "$b0" "$i0" "$s0" "$b1" "$i1" "$s1")")")
  fi
}
commits=()
want healthz && bench_run healthz "GET /healthz" healthz
want healthz-script && bench_run healthz-script "GET /healthz, script" healthz-script
want webhooks-new && webhooks webhooks-new "webhooks, new phones" requests
want webhooks-contacts && webhooks webhooks-contacts "webhooks, contacts" requests-known
for c in "${commits[@]}"; do echo "$c"; done
want consent-contacts && bench_run consent-contacts "consent, contacts" consent %2B1416
want consent-again && bench_run consent-again "consent, contacts, again" consent %2B1416
want consent-unknown && bench_run consent-unknown "consent, unknown" consent %2B1417
want messages && bench_run messages "messages, contacts" messages +1416
"$bin" --db "$db" --json ledger verify --account 1 > "$work/verify.json"
python3 - "$work/verify.json" "$bench_tsv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[2]:
    print("ledger\t%d\t%d" % (d["events"], 1 if d["ok"] else 0))
else:
    print("after the run:", d["events"], "events, ledger ok" if d["ok"] else "events, LEDGER BROKEN")
PY
