#!/usr/bin/env bash
# Fuzzes by hand, longer than CI's fuzz.NAME tests: scripts/fuzz.sh [SECONDS] [TARGET…]
# Builds the libFuzzer targets of tests/fuzz (build/fuzz, clang; the SMSCONSENT_FUZZ
# configuration scripts/test.sh uses) and runs each TARGET (default: all) for SECONDS (default
# 600), one after the other, on a corpus kept outside the repository that grows from run to
# run: $SMSCONSENT_FUZZ_CORPUS (default ~/.cache/smsconsent-fuzz)/NAME, seeded from
# tests/fuzz/corpus/NAME. Crashing inputs land in $SMSCONSENT_FUZZ_CORPUS/artifacts/; add one
# to tests/fuzz/corpus/NAME/ with the fix. Prints each target's executions per second and
# coverage (libFuzzer's cov: edges, ft: features) and exits non-zero if any target failed.
# FUZZ_JOBS=N runs N targets at a time (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
mapfile -t all < <(cd tests/fuzz && ls -- *_fuzz.cc | sed "s/_fuzz\.cc$//")
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
store=${SMSCONSENT_FUZZ_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/smsconsent-fuzz}
jobs=${FUZZ_JOBS:-1}

if [ ! -f build/fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSMSCONSENT_FUZZ=ON -DSMSCONSENT_BENCH=OFF >/dev/null
fi
cmake --build build/fuzz --target "${targets[@]/%/_fuzz}"

mkdir -p "$store/artifacts" "$store/logs"
run() {
  local name=$1
  mkdir -p "$store/$name"
  cp -R "tests/fuzz/corpus/$name/." "$store/$name/"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$store/artifacts/$name-")
  [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
  local rc=0
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "build/fuzz/tests/fuzz/${name}_fuzz" "${args[@]}" "$store/$name" \
    >"$store/logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$store/logs/$name.rc"
}

pids=()
for name in "${targets[@]}"; do
  run "$name" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
wait

failed=0
printf '%-16s %10s %8s %8s %8s  %s\n' target "exec/s" cov ft corpus result
for name in "${targets[@]}"; do
  log=$store/logs/$name.log
  rc=$(cat "$store/logs/$name.rc")
  # The last status line: "#N DONE cov: C ft: F corp: K/SIZE lim: L exec/s: E rss: R".
  line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)
  field() { sed -nE "s/.* $1: ([^ ]+).*/\1/p" <<<"$line"; }
  corpus=$(find "$store/$name" -type f | wc -l)
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc, $log)"
    failed=1
  fi
  printf '%-16s %10s %8s %8s %8s  %s\n' "$name" "$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' \
    "$log" | grep -oE '[0-9]+$' || field exec/s)" "$(field cov)" "$(field ft)" "$corpus" "$result"
done
exit "$failed"
