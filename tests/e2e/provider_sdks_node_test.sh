#!/usr/bin/env bash
# smsconsent's Vonage, Plivo and Telnyx reply senders against those providers' OFFICIAL Node
# SDKs (@vonage/sms, plivo and telnyx, versions pinned in tests/node/package.json and
# package-lock.json). The test itself is tests/node/provider_sdks.test.mjs (node's built-in test
# runner): the SDK and smsconsent send the same message to one local stand-in for the three
# REST APIs, and their requests must agree (method, path, authorization, content type, body
# fields and values).
#
# Run by CTest (CMakeLists.txt registers tests/e2e/*_test.sh) with SMSCONSENT_BINARY and
# SMSCONSENT_SOURCE_DIR; by hand:
#   SMSCONSENT_BINARY=build/release/smsconsent bash tests/e2e/provider_sdks_node_test.sh
# Exit 0 = pass, 1 = fail, 77 = skipped (no node >= 18; see scripts/install-deps.sh).
# `npm ci` runs only when tests/node/node_modules does not match package-lock.json (it needs
# the npm registry once; afterwards the test runs offline).
set -uo pipefail

NAME=provider_sdks_node
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
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d node_modules/twilio && -d node_modules/@vonage/sms && -d node_modules/plivo && -d node_modules/telnyx ]]; then
  say "node_modules is up to date with package-lock.json"
else
  if ! command -v npm >/dev/null 2>&1; then
    say "SKIP: npm not found and tests/node/node_modules is not installed"
    exit 77
  fi
  say "npm ci ($(node -p 'Object.entries(require("./package.json").dependencies).map(([k, v]) => k + " " + v).join(", ")'))"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    say "FAIL: npm ci failed (the npm registry must be reachable for the first run)"
    exit 1
  fi
  echo "$want" > "$stamp"
fi

say "node $(node --version), @vonage/sms $(node -p 'JSON.parse(require("fs").readFileSync("node_modules/@vonage/sms/package.json")).version'), plivo $(node -p 'JSON.parse(require("fs").readFileSync("node_modules/plivo/package.json")).version'), telnyx $(node -p 'JSON.parse(require("fs").readFileSync("node_modules/telnyx/package.json")).version'), binary $SMSCONSENT_BINARY"
start_ms=$(date +%s%3N)
node --test --test-reporter=tap provider_sdks.test.mjs
rc=$?
say "node --test exited $rc after $(( $(date +%s%3N) - start_ms )) ms"
if (( rc != 0 )); then
  say "FAIL"
  exit 1
fi
say "PASS"
exit 0
