#!/usr/bin/env bash
# smsconsent's Twilio webhook and Twilio reply sender against Twilio's OFFICIAL Node library
# (the `twilio` npm package, version pinned in tests/node/package.json and package-lock.json).
# The test itself is tests/node/twilio_official.test.mjs (node's built-in test runner): webhooks
# signed with twilio.getExpectedTwilioSignature (START -> TwiML confirmation, tampered/missing
# signature -> 403, a retried MessageSid -> same answer and no second event), a local stand-in
# for Twilio's REST API proven with the official client, and smsconsent's own sender sending
# outbox replies through that stand-in (success, retry after a 500, no retry after a 400).
#
# Run by CTest (CMakeLists.txt registers tests/e2e/*_test.sh) with SMSCONSENT_BINARY and
# SMSCONSENT_SOURCE_DIR; by hand:
#   SMSCONSENT_BINARY=build/lead/smsconsent bash tests/e2e/twilio_node_test.sh
# Exit 0 = pass, 1 = fail, 77 = skipped (no node >= 18; see scripts/install-deps.sh).
# `npm ci` runs only when tests/node/node_modules does not match package-lock.json (it needs
# the npm registry once; afterwards the test runs offline).
set -uo pipefail

NAME=twilio_node
say() { printf '[%s] %s\n' "$NAME" "$*"; }

SRC_DIR=${SMSCONSENT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NODE_DIR="$SRC_DIR/tests/node"

if ! command -v node >/dev/null 2>&1; then
  say "SKIP: node not found (install nodejs and npm, see scripts/install-deps.sh)"
  exit 77
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 18 )); then
  say "SKIP: node $(node --version) is too old for node --test (need 18 or newer)"
  exit 77
fi
if [[ -z "${SMSCONSENT_BINARY:-}" ]]; then
  for candidate in "$SRC_DIR/build/lead/smsconsent" "$SRC_DIR/build/release/smsconsent"; do
    if [[ -x "$candidate" ]]; then SMSCONSENT_BINARY=$candidate; break; fi
  done
fi
if [[ ! -x "${SMSCONSENT_BINARY:-}" ]]; then
  say "FAIL: smsconsent binary not found (set SMSCONSENT_BINARY)"
  exit 1
fi
# Absolute: the test runs from tests/node.
SMSCONSENT_BINARY=$(cd "$(dirname "$SMSCONSENT_BINARY")" && pwd)/$(basename "$SMSCONSENT_BINARY")
export SMSCONSENT_BINARY SMSCONSENT_SOURCE_DIR="$SRC_DIR"

cd "$NODE_DIR" || { say "FAIL: $NODE_DIR missing"; exit 1; }

# node_modules is up to date when it was installed from this very package-lock.json.
stamp=node_modules/.smsconsent-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d node_modules/twilio ]]; then
  say "node_modules is up to date with package-lock.json"
else
  if ! command -v npm >/dev/null 2>&1; then
    say "SKIP: npm not found and tests/node/node_modules is not installed"
    exit 77
  fi
  say "npm ci (twilio $(node -p 'require("./package.json").dependencies.twilio'))"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    say "FAIL: npm ci failed (the npm registry must be reachable for the first run)"
    exit 1
  fi
  echo "$want" > "$stamp"
fi

say "node $(node --version), twilio $(node -p 'require("twilio/package.json").version'), binary $SMSCONSENT_BINARY"
start_ms=$(date +%s%3N)
node --test --test-reporter=tap twilio_official.test.mjs
rc=$?
say "node --test exited $rc after $(( $(date +%s%3N) - start_ms )) ms"
if (( rc != 0 )); then
  say "FAIL"
  exit 1
fi
say "PASS"
exit 0
