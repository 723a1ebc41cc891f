#!/usr/bin/env bash
# A bulk opt-in killed mid-job (SIGKILL, no chance to clean up) and run again: the second run
# resumes the same job at its cursor and the result is exactly one run's worth of changes —
# every contact opted in once, one event each, one confirmation each (short code), a valid
# ledger — and the job's counts say so. Also: the job reports, while interrupted, exactly the
# events that are in the ledger. The two runs use different chunk sizes (--chunk-rows 100,
# then 5000): the cursor does not depend on them.
#
# Run by CTest with SMSCONSENT_BINARY; by hand:
#   SMSCONSENT_BINARY=build/release/smsconsent bash tests/e2e/bulk_resume_test.sh
set -uo pipefail

NAME=bulk_resume
say() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

BIN=${SMSCONSENT_BINARY:?set SMSCONSENT_BINARY}
WORK=$(mktemp -d)
trap 'kill -9 "$pid" 2>/dev/null; rm -rf "$WORK"' EXIT
pid=""
DB="$WORK/bulk.db"
ROWS=100000
export SMSCONSENT_JOB_LEASE_MS=1000  # a killed run's lease expires quickly

"$BIN" --db "$DB" account create --name Acme --addons marketing_sms_access,sms_short_code \
  >/dev/null || fail "account create"
"$BIN" --db "$DB" number add --account 1 --number 12345 --kind short_code --country US \
  >/dev/null || fail "number add"
python3 - "$WORK/contacts.csv" "$ROWS" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone,name\n")
    for i in range(n):
        f.write(f"+1415{i // 10000:03d}{i % 10000:04d},Person {i}\n")
EOF

APPLY=("$BIN" --db "$DB" --json bulk apply --account 1 --number 12345 --status opted_in
       --csv "$WORK/contacts.csv" --attest --legal-basis consent
       --explanation "Signed up in store, paper form kept")

# Started directly (not through a function, whose subshell would be what gets killed).
# Small chunks (a commit every 100 rows) keep the first run going long enough for the poller
# below to catch it mid-job on a fast machine.
"${APPLY[@]}" --chunk-rows 100 > "$WORK/first.json" 2> "$WORK/first.err" &
pid=$!
# Kill it once it has committed some chunks but not all. One poller reads the job's row
# straight from the database (a WAL reader: it never waits for the writer) every 10 ms; a
# `job show` per poll started a process and opened the store each time, and on a loaded
# machine lagged so far behind that the run could finish first.
killed=$(python3 - "$DB" "$pid" <<'EOF'
import os, signal, sqlite3, sys, time
db, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 120
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    try:
        c = sqlite3.connect(db, timeout=1)
        row = c.execute("SELECT done FROM jobs WHERE id = 1").fetchone()
        c.close()
    except sqlite3.Error:
        row = None
    if row is not None and row[0] >= 3000:
        os.kill(pid, signal.SIGKILL)
        print(1)
        sys.exit(0)
    time.sleep(0.01)
print(0)
EOF
)
wait "$pid" 2>/dev/null
pid=""
[ "$killed" = 1 ] || fail "the first run finished before it could be killed (make ROWS larger)"

mid=$("$BIN" --db "$DB" --json job show --account 1 --job 1) || fail "job show"
state=$(echo "$mid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
done_mid=$(echo "$mid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])')
events_mid=$("$BIN" --db "$DB" --json ledger verify --account 1 |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
say "killed at: state $state, done $done_mid, events $events_mid"
[ "$state" = running ] || fail "the interrupted job should still be running, is $state"
[ "$done_mid" -lt "$ROWS" ] || fail "the job had already finished"
[ "$done_mid" = "$events_mid" ] || fail "job says $done_mid rows done but the ledger has $events_mid events"
[ $((done_mid % 100)) = 0 ] || fail "the job committed $done_mid rows, not whole chunks of 100"

"${APPLY[@]}" --chunk-rows 5000 > "$WORK/second.json" 2> "$WORK/second.err" || { cat "$WORK/second.err"; fail "second run"; }
python3 - "$WORK/second.json" "$ROWS" <<'EOF' || fail "second run's result"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert r["job"] == 1, r
assert r["state"] == "done", r
assert r["change"] == n and r["created"] == n, r
assert r["confirmations"] == n and r["segments"] == n, r
assert r["skipped"] == {}, r
EOF
verify=$("$BIN" --db "$DB" --json ledger verify --account 1) || fail "ledger verify"
echo "$verify" | python3 -c "
import json,sys
v = json.load(sys.stdin)
assert v['ok'] and v['events'] == $ROWS, v
" || fail "ledger after resume: $verify"
outbox=$(python3 -c "
import sqlite3; c = sqlite3.connect('$DB')
print(c.execute('select count(*), count(distinct contact_id) from outbox').fetchone())")
[ "$outbox" = "($ROWS, $ROWS)" ] || fail "confirmations queued: $outbox, want $ROWS for $ROWS contacts"
# A third run of the same command changes nothing and reports the same job.
"${APPLY[@]}" > "$WORK/third.json" || fail "third run"
python3 -c "import json; r = json.load(open('$WORK/third.json')); assert r['job'] == 1 and r['change'] == $ROWS, r" ||
  fail "third run should report job 1"
say "PASS: killed after $done_mid of $ROWS rows, resumed to $ROWS events, one confirmation each"
