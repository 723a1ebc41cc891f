#!/usr/bin/env bash
# Bulk opt-in benchmark: `smsconsent bulk apply` of an N-row CSV (default 1,000,000 new
# contacts) on SQLite, wall time and peak memory (GNU time's maximum RSS), next to the time
# SQLite itself takes to insert the same number of rows in one transaction on the same
# machine in the same run (bench/bulk_bench.cc, best of 3), and next to the floor: SQLite
# writing just the rows a bulk opt-in must write (contact, event, status) on the store's own
# schema, committing the same chunks, with none of our parsing, planning or hashing
# (BM_SqliteSchemaInsert, one run). Usage:
#   bench/bulk/run.sh [--tsv] [ROWS=1000000] [CHUNK_ROWS=10000]
# Then the verifiable ledger over the result (docs/ledger.md): integrating the million events
# into the account's Merkle tree and signing a head (`ledger head`, what serve's sequencer
# does in the background), one contact's proof from that tree and its offline check, and the
# database's bytes per opted-in contact.
# --tsv: tab-separated lines for scripts (bench/report.sh) instead, times in seconds:
#   bulk  ROWS CHUNK_ROWS WALL_S PEAK_RSS_MB CONTACTS_OPTED_IN LEDGER_OK(1|0)
#   tree  EVENTS INTEGRATE_S PEAK_RSS_MB
#   proof PROOF_BYTES INCLUSION_HASHES BUILD_S VERIFY_S
#   size  ROWS DATABASE_BYTES IN_USE_BYTES  (file and WAL; pages not on SQLite's free list)
#   raw   ROWS SECONDS                 (best of 3; scaled from 1,000,000 rows if not registered)
#   floor ROWS CHUNK_ROWS SECONDS      (only for the registered sizes)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tsv=""
if [ "${1:-}" = --tsv ]; then tsv=1; shift; fi
rows="${1:-1000000}"
chunk="${2:-10000}"
bin="${SMSCONSENT_BINARY:-$root/build/release/smsconsent}"
bench="${SMSCONSENT_BENCH_BINARY:-$root/build/release/smsconsent_bench}"
work="$(mktemp -d "${SMSCONSENT_BENCH_DIR:-/tmp}/smsconsent-bulk-XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 - "$work/contacts.csv" "$rows" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone,name,email\n")
    for i in range(n):
        f.write(f"+1415{i // 10000:03d}{i % 10000:04d},Person {i},p{i}@example.com\n")
PY
[ -n "$tsv" ] || echo "input: $rows rows, $(du -h "$work/contacts.csv" | cut -f1)"

db="$work/bulk.db"
"$bin" --db "$db" account create --name Bench --addons marketing_sms_access >/dev/null
"$bin" --db "$db" number add --account 1 --number +15551234567 >/dev/null
/usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" --db "$db" --json bulk apply --account 1 \
  --number +15551234567 --status opted_in --csv "$work/contacts.csv" --attest \
  --legal-basis consent --explanation "Bulk benchmark" --chunk-rows "$chunk" > "$work/result.json"
read -r wall rss_kb < "$work/time.txt"
changed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["change"])' "$work/result.json")
# The ledger: integration, a proof of the contact in the middle, its check, the file's size.
key="$work/ledger-key.pem"
/usr/bin/time -f "%e %M" -o "$work/tree.txt" "$bin" --db "$db" --ledger-key "$key" --json \
  ledger head --account 1 > "$work/head.json"
read -r tree_s tree_kb < "$work/tree.txt"
tree_size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$work/head.json")
start=$(date +%s.%N)
"$bin" --db "$db" --ledger-key "$key" --json proof --account 1 --contact $((rows / 2)) \
  --format json --output "$work/proof.json" > /dev/null
proof_s=$(python3 -c "import time; print(time.time() - $start)")
"$bin" --db "$db" --ledger-key "$key" --json ledger public-key |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["pem"], end="")' > "$work/key.pub"
start=$(date +%s.%N)
"$bin" --json proof verify "$work/proof.json" --public-key "$work/key.pub" > /dev/null
verify_s=$(python3 -c "import time; print(time.time() - $start)")
proof_hashes=$(python3 -c 'import json,sys; print(sum(len(e["inclusion"]) for e in json.load(open(sys.argv[1]))["events"]))' "$work/proof.json")
# Members a third party needs (format, account, contact, tree_head, events: seq, format,
# encoding, inclusion; batches), compact: the size of the proof itself.
proof_bytes=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
core={"format":d["format"],"account":d["account"],"contact":{"id":d["contact"]["id"],"phone":d["contact"]["phone"]},
      "tree_head":d["tree_head"],"batches":d["batches"],
      "events":[{k:e[k] for k in ("seq","format","encoding","inclusion")} for e in d["events"]]}
print(len(json.dumps(core,separators=(",",":"))))' "$work/proof.json")
db_bytes=$(( $(stat -c %s "$db") + $( [ -f "$db-wal" ] && stat -c %s "$db-wal" || echo 0) ))
# Pages in use: the job's input, deleted when it finished, left free pages that later writes
# reuse (the file does not shrink without VACUUM).
used_bytes=$(python3 -c 'import sqlite3,sys
c=sqlite3.connect(sys.argv[1])
q=lambda p: c.execute("PRAGMA "+p).fetchone()[0]
print((q("page_count")-q("freelist_count"))*q("page_size"))' "$db")
if [ -n "$tsv" ]; then
  printf 'tree\t%s\t%s\t%d\n' "$tree_size" "$tree_s" $((tree_kb / 1024))
  printf 'proof\t%s\t%s\t%s\t%s\n' "$proof_bytes" "$proof_hashes" "$proof_s" "$verify_s"
  printf 'size\t%s\t%s\t%s\n' "$rows" "$db_bytes" "$used_bytes"
else
  printf 'ledger head:             %8.2f s to integrate %s events and sign a head, peak RSS %d MB\n' \
    "$tree_s" "$tree_size" $((tree_kb / 1024))
  printf 'a contact'"'"'s proof:      %8.3f s to build, %s bytes (%s inclusion hashes), %.3f s to verify offline\n' \
    "$proof_s" "$proof_bytes" "$proof_hashes" "$verify_s"
  printf 'database:                %8d bytes per opted-in contact (file and WAL), %d in use\n' \
    $((db_bytes / rows)) $((used_bytes / rows))
fi

if [ -n "$tsv" ]; then
  ok=$("$bin" --db "$db" --json ledger verify --account 1 |
       python3 -c 'import json,sys; print(1 if json.load(sys.stdin)["ok"] else 0)')
  printf 'bulk\t%s\t%s\t%s\t%d\t%s\t%s\n' "$rows" "$chunk" "$wall" $((rss_kb / 1024)) "$changed" "$ok"
else
  printf 'smsconsent bulk apply:  %8.2f s wall (chunks of '"$chunk"' rows), peak RSS %d MB, %s contacts opted in (%.0f rows/s)\n' \
    "$wall" $((rss_kb / 1024)) "$changed" "$(python3 -c "print($rows / $wall)")"
  "$bin" --db "$db" ledger verify --account 1; echo
fi

# The baseline, best of 3 (the store's durability settings, one transaction).
base_ms=$(SMSCONSENT_BENCH_DIR="$work" "$bench" --benchmark_filter="SqliteRawInsert/$rows/" \
            --benchmark_repetitions=3 --benchmark_format=json 2>/dev/null |
          python3 -c 'import json,sys
runs=[b["real_time"] for b in json.load(sys.stdin)["benchmarks"] if b.get("run_type")=="iteration"]
print(min(runs) if runs else "")')
if [ -z "$base_ms" ]; then
  # Only 100000 and 1000000 are registered; other sizes are scaled from 1000000.
  base_ms=$(SMSCONSENT_BENCH_DIR="$work" "$bench" --benchmark_filter="SqliteRawInsert/1000000/" \
              --benchmark_repetitions=3 --benchmark_format=json 2>/dev/null |
            python3 -c "import json,sys
runs=[b['real_time'] for b in json.load(sys.stdin)['benchmarks'] if b.get('run_type')=='iteration']
print(min(runs) * $rows / 1e6)")
fi
if [ -n "$tsv" ]; then
  printf 'raw\t%s\t%s\n' "$rows" "$(python3 -c "print($base_ms / 1000)")"
else
  printf 'SQLite raw insert:       %8.2f s (same rows, one transaction)\n' "$(python3 -c "print($base_ms / 1000)")"
  printf 'ratio:                   %8.1f x\n' "$(python3 -c "print($wall * 1000 / $base_ms)")"
fi

# The floor: only registered for 100000 and 1000000 rows and chunks of 1000 and 10000.
floor_ms=$(SMSCONSENT_BENCH_DIR="$work" "$bench" \
             --benchmark_filter="SqliteSchemaInsert/rows:$rows/chunk:$chunk/" \
             --benchmark_format=json 2>/dev/null |
           python3 -c 'import json,sys
runs=[b["real_time"] for b in json.load(sys.stdin)["benchmarks"] if b.get("run_type")=="iteration"]
print(min(runs) if runs else "")')
if [ -n "$floor_ms" ] && [ -n "$tsv" ]; then
  printf 'floor\t%s\t%s\t%s\n' "$rows" "$chunk" "$(python3 -c "print($floor_ms / 1000)")"
elif [ -n "$floor_ms" ]; then
  printf 'SQLite, our rows only:   %8.2f s (contact + event + status per row, same chunks)\n' \
    "$(python3 -c "print($floor_ms / 1000)")"
  printf 'ratio to that floor:     %8.1f x\n' "$(python3 -c "print($wall * 1000 / $floor_ms)")"
fi
