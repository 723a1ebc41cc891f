#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, as the CTest test fuzz.NAME:
#   run_fuzzer.sh BINARY FUZZ_DIR NAME WORK_DIR SECONDS
# The seeds (FUZZ_DIR/corpus/NAME) are copied into WORK_DIR/corpus, which the run then grows;
# FUZZ_DIR/NAME.dict is used when it exists. Exits non-zero on any crash, leak, timeout,
# out-of-memory or sanitizer report, leaving the input in WORK_DIR/artifacts/.
set -euo pipefail
binary=$1 fuzz_dir=$2 name=$3 work=$4 seconds=$5
mkdir -p "$work/corpus" "$work/artifacts"
cp -R "$fuzz_dir/corpus/$name/." "$work/corpus/"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
  -artifact_prefix="$work/artifacts/")
[ -f "$fuzz_dir/$name.dict" ] && args+=(-dict="$fuzz_dir/$name.dict")
# UBSan aborts on its first report (-fno-sanitize-recover=all); the stack says where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
exec "$binary" "${args[@]}" "$work/corpus"
