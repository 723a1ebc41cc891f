#!/usr/bin/env bash
# Two builds of smsconsent on the same load, interleaved, so that a shared and noisy machine
# weighs on both alike: A, B, A, B, … (run.sh on a fresh SQLite file each time, or on
# SMSCONSENT_BENCH_DB as run.sh takes it), then per route the median requests/s of each build
# and B ÷ A.
# Usage: bench/load/ab.sh [--runs N=3] [--routes KEYS] BINARY_A BINARY_B [DURATION_S=8]
#                         [CONNECTIONS=64]
#   --routes  run.sh's route keys (default webhooks-new,webhooks-contacts,consent-contacts)
# Needs what run.sh needs (wrk, python3).
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs=3; routes="webhooks-new,webhooks-contacts,consent-contacts"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --routes) routes="$2"; shift 2 ;;
    -*) echo "$0: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
a="$1"; b="$2"; duration="${3:-8}"; conns="${4:-64}"
for bin in "$a" "$b"; do [ -x "$bin" ] || { echo "$0: $bin is not executable" >&2; exit 1; }; done
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(nproc) cores; A $a; B $b; $runs runs each, ${duration} s, $conns connections"
for ((r = 1; r <= runs; r++)); do
  for side in A B; do
    bin="$a"; [ "$side" = B ] && bin="$b"
    SMSCONSENT_BINARY="$bin" SMSCONSENT_BENCH_ROUTES="$routes" \
      "$root/bench/load/run.sh" --tsv "$duration" "$conns" |
      awk -v s="$side" -v r="$r" -F'\t' '$1 == "route" || $1 == "commit" { print s "\t" r "\t" $0 }' \
      | tee -a "$out"
  done
done
echo
python3 - "$out" <<'PY'
import collections, statistics, sys
rps = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if f[2] == "route":
        rps[(f[3], f[0])].append(float(f[4]))
print(f"{'route':<22} {'A median':>10} {'B median':>10} {'B / A':>7}   runs A | B")
for key in dict.fromkeys(k for k, _ in rps):
    a, b = rps.get((key, "A"), []), rps.get((key, "B"), [])
    if not a or not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{key:<22} {ma:>10.0f} {mb:>10.0f} {mb / ma:>6.2f}x   "
          + " ".join(f"{x:.0f}" for x in a) + " | " + " ".join(f"{x:.0f}" for x in b))
PY
