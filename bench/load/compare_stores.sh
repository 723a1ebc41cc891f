#!/usr/bin/env bash
# The load benchmark (run.sh) on SQLite and on PostgreSQL with one and with two `serve`
# instances, next to pgbench's rate for an equivalent single-row insert + update transaction,
# all in one invocation on one throwaway PostgreSQL cluster, so that every figure comes from
# the same machine state:
#   1. a PostgreSQL 15 cluster (scripts/pg-test-cluster.sh, durability settings at their
#      defaults, pg_stat_statements loaded), and database bench_seed seeded once as run.sh
#      seeds (100,000 contacts opted in with `bulk apply`, about 2 minutes), then analyzed;
#   2. pgbench, CONNECTIONS clients (as many as wrk's connections), 2 threads, DURATION
#      seconds, prepared statements, of this transaction: insert one row into an event table
#      (bigserial id, ~380-byte text payload, so a row about as large as a consent event,
#      434 bytes; and a second index) and update one of 100,000 status rows (chosen at random;
#      its status column is indexed, as the store's is, so the update is not HOT);
#   3. run.sh against a copy of bench_seed (CREATE DATABASE … TEMPLATE, then read into shared
#      buffers with pg_prewarm, as pgbench's copy is) with 1 instance, then a fresh copy with 2
#      instances, each with ?pool=POOL; after each, the statements
#      PostgreSQL executed for that run (pg_stat_statements: calls, total and mean time);
#   4. run.sh on SQLite;
#   5. a summary table of requests/s.
# While each PostgreSQL run goes on, the backends waiting for a lock are sampled ten times a
# second (a `lock waits` line; in TSV: RUN STORE locks SAMPLES WAITING MEAN_WAITING MEAN_BUSY
# KINDS).
# Usage: bench/load/compare_stores.sh [--tsv] [--runs N] [--stores LIST]
#                                     [DURATION_S=8] [CONNECTIONS=64] [SERVER_THREADS=16] [POOL=16]
#   --runs N      steps 2 to 5 N times (default 1) on the one seeded database, each time on a
#                 fresh copy of it and of pgbench's tables
#   --stores LIST which of pg1, pg2 and sqlite step 3 and 4 run (comma-separated; default all)
#   --tsv         tab-separated lines for scripts (bench/report.sh) instead of the tables and
#                 the statement lists (comments start with "#"):
#                   RUN pgbench TPS LATENCY_MS
#                   RUN STORE LINE…   each of run.sh --tsv's lines, STORE pg1, pg2 or sqlite
# SERVER_THREADS 0 and POOL 0 leave serve's and the PostgreSQL store's defaults (16 threads on
# PostgreSQL, pool 8). SMSCONSENT_BINARY picks the binary; SMSCONSENT_BENCH_PHONES and
# SMSCONSENT_BENCH_ROUTES are passed on to run.sh. Needs the PostgreSQL 15 server, pgbench,
# psql and wrk.
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
tsv=""; runs=1; stores="pg1,pg2,sqlite"
while [ $# -gt 0 ]; do
  case "$1" in
    --tsv) tsv=1; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --stores) stores="$2"; shift 2 ;;
    -*) echo "$0: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
duration="${1:-8}"; conns="${2:-64}"; sthreads="${3:-16}"; pool="${4:-16}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
export SMSCONSENT_BINARY="$bin"
phones="${SMSCONSENT_BENCH_PHONES:-100000}"
stores=",$stores,"
for s in ${stores//,/ }; do
  case "$s" in pg1|pg2|sqlite) ;; *) echo "$0: unknown store $s (pg1, pg2, sqlite)" >&2; exit 2 ;; esac
done
want() { [[ "$stores" == *",$1,"* ]]; }
# In TSV mode what is for people goes to stderr.
if [ -n "$tsv" ]; then exec 3>&1 1>&2; else exec 3>&1; fi
for tool in wrk pgbench psql; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 1; }
done
work="$(mktemp -d)"
chmod 711 "$work"  # the cluster runs as `postgres` when this runs as root
source "$root/bench/load/common.sh"
cleanup() {
  "$root/scripts/pg-test-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(nproc) cores; binary $bin ($(date -u -r "$bin" '+%Y-%m-%d %H:%M'))"
url=$("$root/scripts/pg-test-cluster.sh" start "$work/pg")
server="${url%/*}"  # postgresql://postgres@127.0.0.1:PORT
echo "shared_preload_libraries = 'pg_stat_statements'" >> "$work/pg/data/postgresql.conf"
"$root/scripts/pg-test-cluster.sh" restart "$work/pg"
sql() {  # DATABASE COMMAND…: each COMMAND in a transaction of its own
  local db="$1" args=() c; shift
  for c in "$@"; do args+=(-c "$c"); done
  psql -X -q -v ON_ERROR_STOP=1 "$server/$db" "${args[@]}"
}
sql postgres "CREATE EXTENSION pg_stat_statements" "CREATE DATABASE bench_seed"

if want pg1 || want pg2; then
  t0=$SECONDS
  key=$(bench_seed "$server/bench_seed" "$work" "$phones")
  # Statistics for the tables the seeding filled, as pgbench's get below (autovacuum would
  # gather them within a minute or so; the runs start at once): without them the planner
  # plans scans of 100,000 status rows where an index lookup is wanted. The tables still
  # empty are left unanalyzed: statistics saying "empty" would keep plans (the foreign-key
  # checks' among them) on scans while a run fills them, which autovacuum corrects in a
  # running installation but not within a run's seconds.
  sql bench_seed "
DO \$\$
DECLARE t regclass; filled boolean;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', t) INTO filled;
    IF filled THEN EXECUTE format('ANALYZE %s', t); END IF;
  END LOOP;
END
\$\$"
  echo "seeded bench_seed with $phones opted-in contacts in $((SECONDS - t0)) s"
fi

# pgbench in a database of its own on the same cluster, copied for each run.
sql postgres "CREATE DATABASE pgbench_seed"
sql pgbench_seed "
CREATE TABLE bench_events (id bigserial PRIMARY KEY, account_id bigint NOT NULL,
  contact_id bigint NOT NULL, at_ms bigint NOT NULL, payload text NOT NULL);
CREATE INDEX bench_events_by_contact ON bench_events (account_id, contact_id, id);
CREATE TABLE bench_statuses (account_id bigint NOT NULL, contact_id bigint NOT NULL,
  status text NOT NULL, updated_at_ms bigint NOT NULL, PRIMARY KEY (account_id, contact_id));
CREATE INDEX bench_statuses_by_status ON bench_statuses (account_id, status, contact_id);
INSERT INTO bench_statuses SELECT 1, g, 'opted_in', 0 FROM generate_series(1, $phones) g;" \
  "VACUUM ANALYZE"
cat > "$work/pgbench.sql" <<SQL
\set c random(1, $phones)
BEGIN;
INSERT INTO bench_events (account_id, contact_id, at_ms, payload) VALUES (1, :c, :c, repeat('x', 380));
UPDATE bench_statuses SET status = CASE status WHEN 'opted_in' THEN 'opted_out' ELSE 'opted_in' END, updated_at_ms = :c WHERE account_id = 1 AND contact_id = :c;
END;
SQL

# Each run's database is a fresh copy (CREATE DATABASE … TEMPLATE), whose pages no cache holds
# yet: its tables and indexes are read into shared buffers first (pg_prewarm), as a running
# installation's would be, so that a run does not measure first reads from the disk.
prewarm() {  # DATABASE
  sql "$1" "CREATE EXTENSION IF NOT EXISTS pg_prewarm" "
SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" >/dev/null
}
statements() {  # DATABASE: what PostgreSQL executed for it, most frequent first
  sql postgres "
SELECT sum(calls) AS statements, round(sum(total_exec_time)) AS total_exec_ms
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')" "
SELECT calls, round(total_exec_time) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
       left(regexp_replace(query, '\s+', ' ', 'g'), 72) AS statement
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')
  ORDER BY calls DESC LIMIT 16"
}
# Lock waits while a run goes on: ten times a second, how many of the run's backends wait for a
# lock (pg_stat_activity.wait_event_type = 'Lock') and on what kind (tuple, transactionid,
# relation, advisory, …), and how many are busy. `locks` line: samples, samples in which some
# backend waited, the mean number waiting, the mean number busy, and the kinds waited on with
# their counts.
locks_start() {  # DATABASE
  printf '%s\n' "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active'), coalesce(string_agg(wait_event, ',') FILTER (WHERE wait_event_type = 'Lock'), '-') FROM pg_stat_activity WHERE datname = '$1'" '\watch 0.1' |
    psql -X -q -A -t -F ' ' "$server/postgres" > "$work/locks.txt" 2>/dev/null &
  locks_pid=$!
}
locks_stop() {  # STORE RUN
  kill "$locks_pid" 2>/dev/null || true
  wait "$locks_pid" 2>/dev/null || true
  local line
  line=$(awk 'NF == 3 && $1 ~ /^[0-9]+$/ {
      n++; if ($1 > 0) w++; waiting += $1; busy += $2
      if ($3 != "-") { k = split($3, kinds, ","); for (i = 1; i <= k; i++) kind[kinds[i]]++ }
    }
    END { s = ""; for (x in kind) s = s (s == "" ? "" : ",") x "=" kind[x]
          printf "%d\t%d\t%.2f\t%.2f\t%s", n, w, n ? waiting / n : 0, n ? busy / n : 0, s == "" ? "-" : s }' \
    "$work/locks.txt")
  if [ -n "$tsv" ]; then
    printf '%s\t%s\tlocks\t%s\n' "$2" "$1" "$line" >&3
  else
    echo "$line" | awk -F'\t' '{ printf "lock waits: %d samples, %d with a backend waiting for a lock (%.2f waiting, %.2f busy on average); kinds: %s\n", $1, $2, $3, $4, $5 }'
  fi
}
run_sh_args=("$duration" "$conns" "$sthreads")
[ -n "$tsv" ] && run_sh_args=(--tsv "${run_sh_args[@]}")
pool_arg=""; pool_label="the default"
[ "$pool" != 0 ] && pool_arg="?pool=$pool" && pool_label="$pool"
# load STORE RUN: run.sh (with the environment given) into $work/out.STORE; as text also on
# the terminal as it runs, as TSV on fd 3 with RUN and STORE in front of each line.
load() {
  if [ -n "$tsv" ]; then
    "$root/bench/load/run.sh" "${run_sh_args[@]}" > "$work/out.$1"
    grep -v '^#' "$work/out.$1" | sed "s/^/$2\t$1\t/" >&3
  else
    "$root/bench/load/run.sh" "${run_sh_args[@]}" | tee "$work/out.$1"
  fi
}

for ((r = 1; r <= runs; r++)); do
  [ "$runs" -gt 1 ] && echo && echo "=== run $r of $runs"
  echo
  echo "== pgbench: one insert + one update per transaction, $conns clients, 2 threads, ${duration}s"
  sql postgres "CREATE DATABASE pgbench_run TEMPLATE pgbench_seed"
  prewarm pgbench_run
  pgbench -n -M prepared -c "$conns" -j 2 -T "$duration" -f "$work/pgbench.sql" \
    "$server/pgbench_run" > "$work/pgbench.txt" 2>&1 || { cat "$work/pgbench.txt"; exit 1; }
  sql postgres "DROP DATABASE pgbench_run WITH (FORCE)"
  grep -E "latency average|^tps" "$work/pgbench.txt"
  pgbench_tps=$(awk '/^tps/ {printf "%.0f", $3}' "$work/pgbench.txt")
  [ -n "$tsv" ] && awk -v r="$r" '/^tps/ {t = $3} /latency average/ {l = $4}
    END {printf "%d\tpgbench\t%s\t%s\n", r, t, l}' "$work/pgbench.txt" >&3

  for n in 1 2; do
    want "pg$n" || continue
    echo
    echo "== PostgreSQL, $n instance(s), pool ${pool_label}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    sql postgres "CREATE DATABASE run_$n TEMPLATE bench_seed" "SELECT pg_stat_statements_reset()" >/dev/null
    prewarm "run_$n"
    locks_start "run_$n"
    SMSCONSENT_BENCH_DB="$server/run_$n$pool_arg" SMSCONSENT_BENCH_API_KEY="$key" \
      SMSCONSENT_BENCH_INSTANCES=$n load "pg$n" "$r"
    locks_stop "pg$n" "$r"
    [ -n "$tsv" ] || statements "run_$n"
    sql postgres "DROP DATABASE run_$n WITH (FORCE)"
  done

  if want sqlite; then
    echo
    echo "== SQLite; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    load sqlite "$r"
  fi

  [ -n "$tsv" ] && continue
  echo
  echo "== requests/s ($conns connections, server threads $sthreads, PostgreSQL pool $pool;" \
       "load average $(cut -d' ' -f1-3 /proc/loadavg))"
  rate() {  # STORE ROUTE: the route's requests/s in run.sh's output (its name padded to 24)
    [ -f "$work/out.$1" ] && awk -v r="$2" '{ name = substr($0, 1, 24); sub(/ +$/, "", name) }
      name == r { for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i - 1) }' "$work/out.$1"
  }
  printf '%-24s %10s %10s %10s\n' route SQLite "PG 1" "PG 2"
  for route in "GET /healthz" "webhooks, new phones" "webhooks, contacts" "consent, contacts" "consent, unknown"; do
    printf '%-24s %10s %10s %10s\n' "$route" "$(rate sqlite "$route" || true)" \
      "$(rate pg1 "$route" || true)" "$(rate pg2 "$route" || true)"
  done
  printf '%-24s %10s\n' "pgbench insert+update" "$pgbench_tps"
  rm -f "$work"/out.*
done
