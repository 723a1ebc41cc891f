#!/usr/bin/env bash
# Installs everything smsconsent needs to build on Debian 12 (with --test, also what the tests
# need). Idempotent; skips apt when every package is already present.
set -euo pipefail
# build-essential brings dpkg-dev, whose dpkg-shlibdeps computes the Debian package's Depends
# (`cmake --build build/release --target package`, cmake/packaging.cmake); CPack's DEB
# generator also needs `file`, which a minimal Debian 12 lacks.
packages=(
  build-essential cmake ninja-build pkg-config git
  libphonenumber-dev libprotobuf-dev libicu-dev libsqlite3-dev sqlite3 libpq-dev libssl-dev libargon2-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libboost-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  kannel kannel-extras wrk curl openssl file
)
# --test: also what only the tests need: Debian's chromium for the browser tests (driven by
# playwright-core from npm, which scripts/test.sh installs), the PostgreSQL 15 server the
# store tests start a throwaway cluster of (scripts/pg-test-cluster.sh), clang-format 14, which
# the `format` test checks the code with, debootstrap, which makes the clean Debian 12 root
# the package is installed into (tests/e2e/deb_package_test.sh), clang 14 with its runtime
# libraries (libFuzzer and the sanitizers) for the fuzz targets (tests/fuzz), and Python 3
# with its cryptography package for the independent ledger proof verifier
# (tests/ledger/verify_proof.py, run by tests/core/proof_verify_test.cc).
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium postgresql clang-format debootstrap clang libclang-rt-14-dev
    python3 python3-cryptography)
fi
# Node.js runs the tests that use providers' official npm packages; the machine image may
# already have a newer one than Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
