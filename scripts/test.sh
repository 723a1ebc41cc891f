#!/usr/bin/env bash
# The test command: installs dependencies, builds a release and an ASan+UBSan configuration
# (both -Wall -Wextra -Werror) and runs every test through CTest in each.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
# The browser tests' npm package (playwright-core, pinned by tests/web/package-lock.json).
(cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
jobs=$(nproc)

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

# -g1: line tables only (sanitizer reports still name file:line), which compiles and links
# faster than full -g debug info.
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSMSCONSENT_SANITIZE=ON \
  -DSMSCONSENT_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG=-g1
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j"$jobs"
