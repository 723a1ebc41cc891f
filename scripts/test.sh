#!/usr/bin/env bash
# The test command: installs dependencies, builds a release and an ASan+UBSan configuration
# (both -Wall -Wextra -Werror) and runs every test through CTest in each, the store tests
# against SQLite and against a throwaway PostgreSQL cluster; then fuzzes every parser of
# outside bytes for a bounded time (tests/fuzz, built with clang).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
# The browser tests' npm package (playwright-core, pinned by tests/web/package-lock.json).
(cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
jobs=$(nproc)
# A throwaway PostgreSQL cluster for the PostgreSQL store's tests (both configurations); the
# tests fail rather than skip without it when CI=true.
pg_dir=$(mktemp -d /tmp/smsconsent-pg-XXXXXX)
trap './scripts/pg-test-cluster.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
SMSCONSENT_TEST_POSTGRES_URL=$(./scripts/pg-test-cluster.sh start "$pg_dir")
export SMSCONSENT_TEST_POSTGRES_URL

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

# Fuzzing: the libFuzzer targets of tests/fuzz under ASan+UBSan, built with clang (libFuzzer
# is clang's) and nothing else of the project. Each fuzz.NAME test fuzzes for
# SMSCONSENT_FUZZ_SECONDS (tests/fuzz/CMakeLists.txt) and fails on any crash, leak or
# sanitizer report; scripts/fuzz.sh fuzzes longer by hand.
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSMSCONSENT_FUZZ=ON -DSMSCONSENT_BENCH=OFF
cmake --build build/fuzz -j"$jobs"
ctest --test-dir build/fuzz --output-on-failure -j"$jobs"
