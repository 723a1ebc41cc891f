#!/usr/bin/env bash
# Installs dependencies, builds smsconsent and runs it on its SQLite file (--db, $SMSCONSENT_DB
# or ./smsconsent.db). With arguments it runs `smsconsent ARGS…`; without, it builds a fresh
# demo database ./smsconsent-demo.db: an account (its API key is printed) with a short-code
# number, and one contact walked through START, HELP and a free-text STOP.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j"$(nproc)" --target smsconsent
bin="$root/build/release/smsconsent"
if [ $# -gt 0 ]; then exec "$bin" "$@"; fi

export SMSCONSENT_DB="$PWD/smsconsent-demo.db"
rm -f "$SMSCONSENT_DB" "$SMSCONSENT_DB-wal" "$SMSCONSENT_DB-shm"
echo "== demo database: $SMSCONSENT_DB"
"$bin" account create --name "Demo Shop" --addons marketing_sms_access,sms_short_code --region US
acct=1
set -x
"$bin" number add --account "$acct" --number 12345 --kind short_code --country US
"$bin" sms receive --from "+14155552671" --to 12345 --body "START"
"$bin" sms receive --from "+14155552671" --to 12345 --body "HELP"
"$bin" sms receive --from "+14155552671" --to 12345 --body "please stop texting me!"
"$bin" status show --account "$acct" --phone "+14155552671"
"$bin" history --account "$acct" --phone "+14155552671"
"$bin" ledger verify --account "$acct"
