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
. "$(dirname "${BASH_SOURCE[0]}")/node_common.sh"

node_test_prepare twilio
say "node $(node --version), twilio $(node_module_version twilio), binary $SMSCONSENT_BINARY"
node_test_run twilio_official.test.mjs
