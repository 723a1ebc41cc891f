# shellcheck shell=bash
# Shared by bench/load/run.sh and bench/load/compare_stores.sh (sourced, not run): seeding a
# database with the benchmark's account and opted-in contacts, starting `serve` instances on
# one database, and running wrk against all of them at once. Expects $bin (the smsconsent
# binary) and $root (the repository) to be set.

# bench_seed DB WORK PHONES: creates account 1 (Marketing SMS Access), its number
# +15551234567, a Twilio auth token `loadtoken`, and PHONES contacts +1416 0000000… opted in
# with `bulk apply` (a business's recipient list). DB must be empty. Prints the API key.
bench_seed() {
  local db="$1" work="$2" phones="$3" key
  key=$("$bin" --db "$db" --json account create --name Load --addons marketing_sms_access |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  "$bin" --db "$db" number add --account 1 --number +15551234567 >/dev/null
  "$bin" --db "$db" provider set --account 1 --provider twilio --auth-token loadtoken >/dev/null
  python3 -c 'import sys
print("phone")
for i in range(int(sys.argv[1])): print("+1416%07d" % i)' "$phones" > "$work/contacts.csv"
  "$bin" --db "$db" --json bulk apply --account 1 --number +15551234567 --status opted_in \
    --csv "$work/contacts.csv" --attest --legal-basis consent \
    --explanation "load benchmark recipients" > /dev/null
  echo "$key"
}

# bench_start_servers DB INSTANCES THREADS WORK: starts INSTANCES `serve` processes on DB, each
# on its own free port with THREADS threads and no reply dispatcher, and waits until each
# listens. Sets the arrays bench_pids and bench_bases (http://127.0.0.1:PORT).
bench_pids=()
bench_bases=()
bench_wrk_pids=()
bench_start_servers() {
  local db="$1" n="$2" threads="$3" work="$4" i
  for ((i = 0; i < n; i++)); do
    "$bin" --db "$db" serve --listen 127.0.0.1:0 --threads "$threads" --log-level warn \
      --no-dispatch > "$work/serve.$i.out" 2> "$work/serve.$i.err" &
    bench_pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    for _ in $(seq 200); do grep -q listening "$work/serve.$i.out" 2>/dev/null && break; sleep 0.05; done
    local base
    base=$(sed -n 's/^smsconsent listening on //p' "$work/serve.$i.out")
    if [ -z "$base" ]; then
      echo "server $i did not start:" >&2; cat "$work/serve.$i.err" >&2; return 1
    fi
    bench_bases+=("$base")
  done
}

# bench_stop_servers: stops the servers, and a wrk still running (the script was stopped).
bench_stop_servers() {
  local pid
  for pid in "${bench_wrk_pids[@]}" "${bench_pids[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  bench_pids=()
  bench_wrk_pids=()
}

# bench_gen_webhooks STEM PREFIX ID_PREFIX PHONES WORK: one request list per instance,
# WORK/STEM.I.tsv, signed for that instance's URL. The instances' lists take disjoint slices of
# the PHONES phones PREFIX0000000…, so no wrk replays another's messages (which would be
# provider retries, answered from the stored decision) and no two instances write one contact.
bench_gen_webhooks() {
  local stem="$1" prefix="$2" id_prefix="$3" phones="$4" work="$5" i
  local n=${#bench_bases[@]}
  local per=$((phones / n))
  for i in "${!bench_bases[@]}"; do
    python3 "$root/bench/load/gen_twilio_requests.py" "${bench_bases[$i]}/webhooks/twilio" \
      loadtoken +15551234567 "$per" "$work/$stem.$i.tsv" "$prefix" "$id_prefix" $((i * per))
  done
}

# bench_run KEY NAME KIND [ARG]: loads every instance at once for $duration s, one wrk per
# instance with $conns / instances connections and 2 / instances threads (at least 1), and
# prints one line. As text ($bench_tsv empty): NAME, the summed requests/s, each instance's
# latency percentiles (separated by "/") and wrk's error lines. As TSV ($bench_tsv set):
#   route KEY REQUESTS_PER_S P50_MS P90_MS P99_MS REQUESTS ERRORS
# with requests/s, requests and errors (non-2xx responses plus socket errors) summed over the
# instances, and each percentile the largest of the instances'.
#   KIND healthz           GET /healthz
#   KIND healthz-script    GET /healthz through healthz.lua's request(), as the other kinds
#                          send theirs (wrk then does the same work per request)
#   KIND webhooks STEM     POST /webhooks/twilio from WORK/STEM.I.tsv (bench_gen_webhooks)
#   KIND consent PREFIX    GET /v1/consent over $phones phones PREFIX0000000… ($key)
# Needs $duration, $conns, $work, and for consent $key and $phones.
bench_run() {
  local id="$1" name="$2" kind="$3" arg="${4:-}" i
  local n=${#bench_bases[@]}
  local t=$((2 / n)) c=$((conns / n))
  ((t < 1)) && t=1
  bench_wrk_pids=()
  for i in "${!bench_bases[@]}"; do
    local base="${bench_bases[$i]}"
    case "$kind" in
      healthz) wrk -t"$t" -c"$c" -d"${duration}s" --latency "$base/healthz" ;;
      healthz-script) wrk -t"$t" -c"$c" -d"${duration}s" --latency \
          -s "$root/bench/load/healthz.lua" "$base" ;;
      webhooks) REQUESTS_FILE="$work/$arg.$i.tsv" WRK_THREADS="$t" \
          wrk -t"$t" -c"$c" -d"${duration}s" --latency -s "$root/bench/load/twilio_webhooks.lua" "$base" ;;
      consent) API_KEY="$key" SENDER=%2B15551234567 PHONES="$phones" PREFIX="$arg" \
          wrk -t"$t" -c"$c" -d"${duration}s" --latency -s "$root/bench/load/consent_check.lua" "$base" ;;
      messages) API_KEY="$key" SENDER=+15551234567 PHONES="$phones" PREFIX="$arg" \
          wrk -t"$t" -c"$c" -d"${duration}s" --latency -s "$root/bench/load/messages.lua" "$base" ;;
    esac > "$work/wrk.$i.txt" 2>&1 &
    bench_wrk_pids+=($!)
  done
  wait "${bench_wrk_pids[@]}"
  bench_wrk_pids=()
  for i in "${!bench_bases[@]}"; do
    if ! grep -q "Requests/sec" "$work/wrk.$i.txt"; then
      echo "wrk failed ($name, instance $i):" >&2; cat "$work/wrk.$i.txt" >&2; return 1
    fi
  done
  if [ -n "${bench_tsv:-}" ]; then
    local files=()
    for i in "${!bench_bases[@]}"; do files+=("$work/wrk.$i.txt"); done
    # wrk writes latencies as 850.00us, 1.23ms, 1.02s or 1.50m.
    awk -v id="$id" '
      function ms(v) {
        if (v ~ /us$/) return v / 1000
        if (v ~ /ms$/) return v + 0
        if (v ~ /m$/) return v * 60000
        if (v ~ /s$/) return v * 1000
        return v + 0
      }
      function top(k, v) { v = ms(v); if (!(k in p) || v > p[k]) p[k] = v }
      /Requests\/sec/ { rps += $2 }
      $1 == "50%" { top(50, $2) }
      $1 == "90%" { top(90, $2) }
      $1 == "99%" { top(99, $2) }
      / requests in / { reqs += $1 }
      /Non-2xx or 3xx responses:/ { errs += $NF }
      /Socket errors:/ { for (j = 3; j <= NF; j++) { v = $j; gsub(",", "", v); if (v ~ /^[0-9]+$/) errs += v } }
      END { printf "route\t%s\t%.2f\t%.3f\t%.3f\t%.3f\t%d\t%d\n", id, rps, p[50], p[90], p[99], reqs, errs }
    ' "${files[@]}"
    return
  fi
  local rps="" p50="" p90="" p99="" errs=""
  for i in "${!bench_bases[@]}"; do
    local f="$work/wrk.$i.txt"
    rps="$rps $(awk '/Requests\/sec/ {print $2}' "$f")"
    p50="$p50/$(awk '$1=="50%" {print $2}' "$f")"
    p90="$p90/$(awk '$1=="90%" {print $2}' "$f")"
    p99="$p99/$(awk '$1=="99%" {print $2}' "$f")"
    errs="$errs$(grep -E "Non-2xx|Socket errors" "$f" | tr '\n' ' ' || true)"
  done
  rps=$(echo "$rps" | awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.2f", s}')
  printf '%-24s %10s req/s   p50 %8s   p90 %8s   p99 %8s   %s\n' "$name" "$rps" \
    "${p50#/}" "${p90#/}" "${p99#/}" "$errs"
}

# bench_batches: group commits so far, summed over the instances: "BATCHES CHANGE_SETS SECONDS"
# (SECONDS: time spent in the store's CommitBatch, i.e. the writer threads' busy time).
bench_batches() {
  local base
  for base in "${bench_bases[@]}"; do curl -s "$base/metrics"; done |
    awk '/^smsconsent_group_commit_batches_total/ {b += $2}
         /^smsconsent_group_commit_items_total/ {i += $2}
         /^smsconsent_store_operation_duration_seconds_sum\{operation="commit_batch"\}/ {s += $2}
         END {printf "%d %d %.6f\n", b, i, s}'
}

# bench_batch_stats B0 I0 S0 B1 I1 S1: between two bench_batches readings, "N messages per
# batch, T ms per batch, writer busy P %" (P: CommitBatch time over $duration s per instance);
# with $bench_tsv set, "N<TAB>T<TAB>P<TAB>BATCHES" unrounded.
bench_batch_stats() {
  awk -v b="$(($4 - $1))" -v i="$(($5 - $2))" -v s="$(awk -v a="$3" -v z="$6" 'BEGIN {print z - a}')" \
      -v d="$duration" -v n="${#bench_bases[@]}" -v tsv="${bench_tsv:-}" 'BEGIN {
    batches = b
    if (b < 1) b = 1
    if (tsv != "") printf "%.2f\t%.3f\t%.1f\t%d", i / b, 1000 * s / b, 100 * s / (d * n), batches
    else printf "%d messages per batch, %.1f ms per batch, writer busy %d %%", i / b, 1000 * s / b, 100 * s / (d * n)
  }'
}
