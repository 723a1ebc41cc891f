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
. "$(dirname "${BASH_SOURCE[0]}")/node_common.sh"

node_test_prepare twilio @vonage/sms plivo telnyx
say "node $(node --version), @vonage/sms $(node_module_version @vonage/sms), plivo $(node_module_version plivo), telnyx $(node_module_version telnyx), binary $SMSCONSENT_BINARY"
node_test_run provider_sdks.test.mjs
