#!/usr/bin/env bash
# The load benchmark (run.sh) on SQLite and on PostgreSQL with one and with two `serve`
# instances, next to pgbench's rate for an equivalent single-row insert + update transaction,
# all in one invocation on one throwaway PostgreSQL cluster, so that every figure comes from
# the same machine state:
#   1. a PostgreSQL 15 cluster (scripts/pg-test-cluster.sh, durability settings at their
#      defaults, pg_stat_statements loaded), and database bench_seed seeded once as run.sh
#      seeds (100,000 contacts opted in with `bulk apply`, about 3 minutes);
#   2. pgbench, CONNECTIONS clients (as many as wrk's connections), 2 threads, DURATION
#      seconds, prepared statements, of this transaction: insert one row into an event table
#      (bigserial id, ~380-byte text payload, so a row about as large as a consent event,
#      434 bytes; and a second index) and update one of 100,000 status rows (chosen at random;
#      its status column is indexed, as the store's is, so the update is not HOT);
#   3. run.sh against a copy of bench_seed (CREATE DATABASE … TEMPLATE) with 1 instance, then a
#      fresh copy with 2 instances, each with ?pool=POOL; after each, the statements
#      PostgreSQL executed for that run (pg_stat_statements: calls, total and mean time);
#   4. run.sh on SQLite;
#   5. a summary table of requests/s.
# Usage: bench/load/compare_stores.sh [DURATION_S=8] [CONNECTIONS=64] [SERVER_THREADS=16] [POOL=16]
# SMSCONSENT_BINARY picks the binary. Needs the PostgreSQL 15 server, pgbench, psql and wrk.
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-8}"; conns="${2:-64}"; sthreads="${3:-16}"; pool="${4:-16}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
export SMSCONSENT_BINARY="$bin"
phones="${SMSCONSENT_BENCH_PHONES:-100000}"
work="$(mktemp -d)"
chmod 711 "$work"  # the cluster runs as `postgres` when this runs as root
source "$root/bench/load/common.sh"
cleanup() {
  "$root/scripts/pg-test-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

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

t0=$SECONDS
key=$(bench_seed "$server/bench_seed" "$work" "$phones")
echo "seeded bench_seed with $phones opted-in contacts in $((SECONDS - t0)) s"

# pgbench in a database of its own on the same cluster.
sql postgres "CREATE DATABASE pgbench_db"
sql pgbench_db "
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
echo
echo "== pgbench: one insert + one update per transaction, $conns clients, 2 threads, ${duration}s"
pgbench -n -M prepared -c "$conns" -j 2 -T "$duration" -f "$work/pgbench.sql" \
  "$server/pgbench_db" > "$work/pgbench.txt" 2>&1 || { cat "$work/pgbench.txt"; exit 1; }
grep -E "latency average|^tps" "$work/pgbench.txt"
pgbench_tps=$(awk '/^tps/ {printf "%.0f", $3}' "$work/pgbench.txt")

statements() {  # DATABASE: what PostgreSQL executed for it, most frequent first
  sql postgres "
SELECT sum(calls) AS statements, round(sum(total_exec_time)) AS total_exec_ms
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')" "
SELECT calls, round(total_exec_time) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
       left(regexp_replace(query, '\s+', ' ', 'g'), 72) AS statement
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')
  ORDER BY calls DESC LIMIT 16"
}

for n in 1 2; do
  echo
  echo "== PostgreSQL, $n instance(s), pool $pool; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  sql postgres "CREATE DATABASE run_$n TEMPLATE bench_seed" "SELECT pg_stat_statements_reset()" >/dev/null
  SMSCONSENT_BENCH_DB="$server/run_$n?pool=$pool" SMSCONSENT_BENCH_API_KEY="$key" \
    SMSCONSENT_BENCH_INSTANCES=$n "$root/bench/load/run.sh" "$duration" "$conns" "$sthreads" |
    tee "$work/out.pg$n"
  statements "run_$n"
done

echo
echo "== SQLite; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$root/bench/load/run.sh" "$duration" "$conns" "$sthreads" | tee "$work/out.sqlite"

echo
echo "== requests/s ($conns connections, server threads $sthreads, PostgreSQL pool $pool;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg))"
rate() { awk -v r="$2" 'index($0, r) == 1 { for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i - 1) }' "$work/out.$1"; }
printf '%-24s %10s %10s %10s\n' route SQLite "PG 1" "PG 2"
for route in "GET /healthz" "webhooks, new phones" "webhooks, contacts" "consent, contacts" "consent, unknown"; do
  printf '%-24s %10s %10s %10s\n' "$route" "$(rate sqlite "$route")" "$(rate pg1 "$route")" "$(rate pg2 "$route")"
done
printf '%-24s %10s\n' "pgbench insert+update" "$pgbench_tps"
