#!/usr/bin/env bash
# The main job: installs dependencies, builds smsconsent and runs `smsconsent serve` on the
# SQLite file ./smsconsent.db (or $SMSCONSENT_DB), listening on $SMSCONSENT_LISTEN
# (default 127.0.0.1:8080). On first run it creates an account with both add-ons and prints
# its API key, so the API works at once, and an editor admin@example.com for the web page,
# printing its generated password (docs/auth.md).
#   ./scripts/run.sh             serve (creating the first account if there is none)
#   ./scripts/run.sh demo        a CLI walkthrough on a fresh ./smsconsent-demo.db
#   ./scripts/run.sh ARGS…       any other smsconsent command, e.g. `account create --name X`
# With SMSCONSENT_BINARY set (the tests do), that binary runs and nothing is installed or built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${SMSCONSENT_BINARY:-}"
if [ -z "$bin" ]; then
  "$root/scripts/install-deps.sh"
  cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build/release" -j"$(nproc)" --target smsconsent
  bin="$root/build/release/smsconsent"
fi

if [ "${1:-}" = "demo" ]; then
  export SMSCONSENT_DB="$PWD/smsconsent-demo.db"
  rm -f "$SMSCONSENT_DB" "$SMSCONSENT_DB-wal" "$SMSCONSENT_DB-shm"
  echo "== demo database: $SMSCONSENT_DB"
  "$bin" account create --name "Demo Shop" --addons marketing_sms_access,sms_short_code --region US
  set -x
  "$bin" number add --account 1 --number 12345 --kind short_code --country US
  "$bin" sms receive --from "+14155552671" --to 12345 --body "START"
  "$bin" sms receive --from "+14155552671" --to 12345 --body "HELP"
  "$bin" sms receive --from "+14155552671" --to 12345 --body "please stop texting me!"
  "$bin" status show --account 1 --phone "+14155552671"
  "$bin" history --account 1 --phone "+14155552671"
  "$bin" ledger verify --account 1
  exit 0
fi
if [ $# -gt 0 ]; then exec "$bin" "$@"; fi

export SMSCONSENT_DB="${SMSCONSENT_DB:-$PWD/smsconsent.db}"
listen="${SMSCONSENT_LISTEN:-127.0.0.1:8080}"
if [ "$("$bin" --json account list)" = "[]" ]; then
  echo "== first run: creating an account in $SMSCONSENT_DB"
  "$bin" account create --name "My Business" --addons marketing_sms_access,sms_short_code
  # The first account's id, and a staff user who signs in to the web page.
  account_id="$("$bin" --json account list | sed -n 's/^ *"id": *\([0-9][0-9]*\).*/\1/p' | head -n 1)"
  password="$("$bin" --json user add --account "$account_id" --email admin@example.com \
    --name Admin --role editor | sed -n 's/^ *"password": *"\([^"]*\)".*/\1/p')"
  echo "web page: http://$listen/  sign in as admin@example.com / $password"
fi
exec "$bin" serve --listen "$listen"
