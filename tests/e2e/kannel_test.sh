#!/usr/bin/env bash
# End-to-end through a real Kannel (docs/webhooks.md#kannel).
#
# A phone, played by Kannel's fakesmsc, texts a Danish long code; bearerbox takes each SMS
# from its fake SMSC, smsbox forwards it to smsconsent's /webhooks/kannel through the
# sms-service that docs/webhooks.md recommends (tests/e2e/kannel/kannel.conf.in), and sends
# smsconsent's answer back to the phone. The phone sends, in order and each after the
# previous answer:
#   START (GSM text)            -> opted_in, confirmation in the webhook answer
#   HJÆLP (UCS-2)               -> the HELP text in the webhook answer
#   STOP (GSM text)             -> opted_out, confirmation in the webhook answer
#   AFMELD (UCS-2)              -> already opted out: empty answer, and no SMS (omit-empty)
# then a staff member opts the phone in (attested, PUT /v1/contacts/…/subscriptions/…) on a
# second number whose business name needs UCS-2 ("Łódź Café") and that confirms manual
# opt-ins: that confirmation has no webhook to ride in, so smsconsent's outbox sends it
# through Kannel's sendsms (2 concatenated UCS-2 parts), and then
#   HELP to the second number   -> the UCS-2 HELP text (X-Kannel-Coding: 2 in the answer)
#   START to the second number  -> already opted in: the confirmation again, UCS-2, 2 parts
#   STOP to an unknown number   -> refused by smsconsent, retried by smsbox, no SMS
#
# Checks: smsconsent got each message once, with Kannel's message id (%I), decoded right
# (the UCS-2 ones included); the phone ends opted_out on the first number and opted_in on
# the second; the phone received exactly the 6 expected SMS, each once and intact, and
# nothing for the repeated opt-out or the unknown number; exactly one SMS went through
# sendsms; the outbox records the 6 replies as sent.
#
# The whole scenario runs twice: with the recommended get-url, and with post-url (the text
# as the body, X-Kannel-* headers, send-sender = true), as docs/webhooks.md describes both.
#
# Run by CTest (CMakeLists.txt registers tests/e2e/*_test.sh with SMSCONSENT_BINARY and
# SMSCONSENT_SOURCE_DIR); by hand:
#   SMSCONSENT_BINARY=build/lead/smsconsent bash tests/e2e/kannel_test.sh
# Exit 0 = pass, 1 = fail, 77 = skipped (Kannel not installed: the Debian packages kannel and
# kannel-extras, see scripts/install-deps.sh). Optional: KANNEL_E2E_MODES="get post" (which
# variants), KANNEL_E2E_DEADLINE_S=30 (per wait), KEEP_E2E_TMP=1 (keep the temp directory).
# Everything listens on 127.0.0.1 on ports chosen at run time; every process it starts is
# stopped and the temporary directory removed on exit, pass or fail.
# shellcheck disable=SC2317,SC2016  # helpers run indirectly (wait_for, check); eval strings on purpose
set -uo pipefail

NAME=kannel_e2e
say() { printf '[%s +%ss] %s\n' "$NAME" "$(( SECONDS - ${STARTED_AT:-0} ))" "$*"; }

SRC_DIR=${SMSCONSENT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${SMSCONSENT_BINARY:-}
BEARERBOX=${KANNEL_BEARERBOX:-$(command -v bearerbox 2>/dev/null || echo /usr/sbin/bearerbox)}
SMSBOX=${KANNEL_SMSBOX:-$(command -v smsbox 2>/dev/null || echo /usr/sbin/smsbox)}
FAKESMSC=${KANNEL_FAKESMSC:-/usr/lib/kannel/test/fakesmsc}
CONF_TEMPLATE=$SRC_DIR/tests/e2e/kannel/kannel.conf.in
MODES=${KANNEL_E2E_MODES:-get post}
DEADLINE_S=${KANNEL_E2E_DEADLINE_S:-30}

for b in "$BEARERBOX" "$SMSBOX" "$FAKESMSC"; do
  if [[ ! -x "$b" ]]; then
    say "SKIP: $b not found (install the Debian packages kannel and kannel-extras)"
    exit 77
  fi
done
for tool in curl iconv mkfifo; do
  command -v "$tool" >/dev/null 2>&1 || { say "FAIL: $tool is required"; exit 1; }
done
if [[ -z "$BIN" || ! -x "$BIN" ]]; then
  say "FAIL: set SMSCONSENT_BINARY to the smsconsent binary (got '$BIN')"; exit 1
fi
[[ -r "$CONF_TEMPLATE" ]] || { say "FAIL: missing $CONF_TEMPLATE"; exit 1; }

PHONE=+4530123456
NUMBER=+4520123456
BUSINESS="Kannel E2E"
NUMBER2=+4520123457
BUSINESS2="Łódź Café"
UNKNOWN_NUMBER=+4520999999
SECRET=e2eKannelSecret$RANDOM$RANDOM
SENDSMS_USER=smsconsent
SENDSMS_PASSWORD=e2ePw$RANDOM$RANDOM
ADMIN_PASSWORD=e2eAdmin$RANDOM$RANDOM
STARTED_AT=$SECONDS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smsconsent-kannel.XXXXXX") || { say "FAIL: mktemp"; exit 1; }
RUN=$TMP  # the current scenario's directory
PIDS=()
PHONE_PID=""
PHONE_FD_OPEN=0

# ---- helpers ----------------------------------------------------------------------------
stop_all() { # stops what the current scenario started, last started first
  local pid i
  # fakesmsc has nothing to save, and its own exit paths (SIGINT, end of input) crash in
  # interactive mode: it is killed outright (and was disowned, so the shell does not report it).
  if [[ -n "$PHONE_PID" ]]; then
    kill -KILL "$PHONE_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$PHONE_PID" 2>/dev/null || break; sleep 0.1; done
    PHONE_PID=""
  fi
  if (( PHONE_FD_OPEN )); then exec 3>&-; PHONE_FD_OPEN=0; fi
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do kill -TERM "${PIDS[i]}" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
}

dump_logs() {
  local f
  for f in smsconsent.out smsconsent.err bearerbox.log smsbox.log smsbox-access.log phone.log; do
    [[ -s "$RUN/$f" ]] || continue
    echo "----- $RUN/$f (last 40 lines, without hex dumps) -----"
    grep -v 'DEBUG:   ' "$RUN/$f" | tail -n 40
  done
}

FAIL_MSG=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_all
  if [[ -n "$FAIL_MSG" ]]; then
    dump_logs
    say "$FAIL_MSG"  # again, after the logs, where a CI log is read first
  fi
  if [[ -n "${KEEP_E2E_TMP:-}" ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'FAIL_MSG="FAIL [${MODE:-setup}]: interrupted"; exit 1' INT TERM HUP

fail() {
  FAIL_MSG="FAIL [${MODE:-setup}] after $(( SECONDS - STARTED_AT ))s: $*"
  say "$FAIL_MSG"
  exit 1
}

# wait_for DESCRIPTION COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails the test
# when it has not within the deadline.
wait_for() {
  local what=$1; shift
  local end=$(( SECONDS + DEADLINE_S ))
  until "$@"; do
    (( SECONDS < end )) || fail "timed out after ${DEADLINE_S}s waiting for $what"
    sleep 0.1
  done
}

alive() { kill -0 "$1" 2>/dev/null; }

# free_port VAR: sets VAR to a TCP port on 127.0.0.1 that nothing listens on, below the
# kernel's ephemeral range (so outgoing connections do not take it meanwhile) and not handed
# out before.
TAKEN_PORTS=" "
free_port() {
  local port
  for _ in $(seq 500); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
    [[ "$TAKEN_PORTS" == *" $port "* ]] && continue
    if ! (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      TAKEN_PORTS+="$port "
      printf -v "$1" '%s' "$port"
      return 0
    fi
  done
  fail "no free port found"
}

json_field() { # json_field FILE KEY: a top-level scalar of smsconsent's pretty --json output
  sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$1" | head -n 1
}

sc() { "$BIN" --db "$RUN/smsconsent.db" "$@"; }

# What the phone sends: "ucs2" messages are URL-encoded UTF-16BE, as a phone sends text with
# characters outside GSM-7.
ucs2() { # ASCII text -> %00X%00Y…
  local s=$1 out="" i c
  for (( i=0; i<${#s}; i++ )); do
    printf -v c '%02X' "'${s:i:1}"
    out+="%00%$c"
  done
  printf '%s' "$out"
}

# What the phone receives: the fake SMSC writes "FROM TO text TEXT", "FROM TO ucs-2 URLENC"
# (UTF-16BE), "FROM TO data URLENC" (8-bit) or, per part of a concatenated SMS,
# "FROM TO udh URLENC-UDH data URLENC"; fakesmsc logs each line as "Got message N: <…>".
urldecode() { # URL-encoded text -> its raw bytes on stdout
  local s=${1//+/ }
  s=${s//\\/\\\\}
  printf '%b' "${s//%/\\x}"
}
# phone_inbox: one line "FROM TO TEXT" (UTF-8) per SMS the phone received, with the parts of
# a concatenated SMS joined. A part is read as UTF-16BE when it has NUL bytes (the fake SMSC
# does not say a part's coding; Latin text in UCS-2 always has them, GSM text never does).
phone_inbox() {
  local line from to type rest udh data part buf="" seq total
  while IFS= read -r line; do
    from=${line%% *}; rest=${line#* }
    to=${rest%% *}; rest=${rest#* }
    type=${rest%% *}; rest=${rest#"$type"}; rest=${rest# }
    case "$type" in
      text) printf '%s %s %s\n' "$from" "$to" "$rest" ;;
      ucs-2) printf '%s %s %s\n' "$from" "$to" "$(urldecode "$rest" | iconv -f UTF-16BE -t UTF-8)" ;;
      data) printf '%s %s %s\n' "$from" "$to" "$(urldecode "$rest" | iconv -f ISO-8859-1 -t UTF-8)" ;;
      udh)
        udh=${rest%% *}; data=${rest#* }; data=${data#data }
        if [[ "$data" == *%00* ]]; then
          part=$(urldecode "$data" | iconv -f UTF-16BE -t UTF-8)
        else
          part=$(urldecode "$data")
        fi
        buf+=$part
        # Concatenation UDH 05 00 03 REF TOTAL SEQ: complete when SEQ = TOTAL.
        seq=$(( 16#${udh: -2} )); total=$(( 16#${udh: -5:2} ))
        if (( seq >= total )); then
          printf '%s %s %s\n' "$from" "$to" "$buf"
          buf=""
        fi ;;
      *) printf '%s %s ?%s %s\n' "$from" "$to" "$type" "$rest" ;;
    esac
  done < <(sed -n 's/.*Got message [0-9]*: <\(.*\)>$/\1/p' "$RUN/phone.log" 2>/dev/null)
}
inbox_count() { phone_inbox | wc -l; }
sendsms_count() { grep -c 'send-SMS request' "$RUN/smsbox-access.log" 2>/dev/null; }
webhook_count() { grep -c ' /webhooks/kannel' "$RUN/smsconsent.err" 2>/dev/null; }
smsbox_answers() { grep -c 'SMS HTTP-request' "$RUN/smsbox-access.log" 2>/dev/null; }

# send LABEL TO TYPE DATA EXPECTED_NEW_SMS: the phone texts DATA to TO; returns once
# smsconsent has received it, smsbox has finished with it (after any retries) and the phone
# has the expected number of new SMS.
send() {
  local label=$1 to=$2 type=$3 data=$4 want=$5
  local before_inbox before_hooks before_answers
  before_inbox=$(inbox_count)
  before_hooks=$(webhook_count)
  before_answers=$(smsbox_answers)
  say "[$MODE] phone $PHONE -> $to: $label ($type)"
  printf '%s %s %s %s\n' "$PHONE" "$to" "$type" "$data" >&3 || fail "writing to fakesmsc"
  hook_seen() { (( $(webhook_count) > before_hooks )); }
  wait_for "smsconsent to receive $label from Kannel" hook_seen
  smsbox_done() { (( $(smsbox_answers) > before_answers )); }
  wait_for "smsbox to finish with $label" smsbox_done
  if (( want > 0 )); then
    got_reply() { (( $(inbox_count) >= before_inbox + want )); }
    wait_for "the reply to $label to reach the phone" got_reply
  fi
}

problems=()
check() { # check DESCRIPTION COMMAND...
  local what="[$MODE] $1"; shift
  if "$@"; then say "ok: $what"; else problems+=("$what"); say "NOT OK: $what"; fi
}
has() { [[ "$1" == *"$2"* ]]; }

# ---- the scenario -----------------------------------------------------------------------
run_scenario() { # run_scenario get|post
  MODE=$1
  RUN="$TMP/$MODE"
  mkdir -p "$RUN" || fail "mkdir"
  local mode_started=$SECONDS problems_before=${#problems[@]}
  local ADMIN_PORT SMSBOX_PORT FAKESMSC_PORT SENDSMS_PORT
  free_port ADMIN_PORT; free_port SMSBOX_PORT; free_port FAKESMSC_PORT; free_port SENDSMS_PORT

  # 1. smsconsent's database: account, numbers, contact, Kannel settings.
  sc --json account create --name "$BUSINESS" --addons marketing_sms_access --region DK \
    >"$RUN/account.json" || fail "account create"
  ACCOUNT=$(json_field "$RUN/account.json" id)
  API_KEY=$(json_field "$RUN/account.json" api_key)
  [[ -n "$ACCOUNT" && -n "$API_KEY" ]] || fail "no account id/api key in: $(cat "$RUN/account.json")"
  sc --json number add --account "$ACCOUNT" --number "$NUMBER" --kind long_code --country DK \
    >"$RUN/number.json" || fail "number add"
  sc --json number add --account "$ACCOUNT" --number "$NUMBER2" --kind long_code --country DK \
    --business-name "$BUSINESS2" --opt-in-confirmation >"$RUN/number2.json" || fail "number add (2)"
  NUMBER2_ID=$(json_field "$RUN/number2.json" id)
  sc --json contact add --account "$ACCOUNT" --phone "$PHONE" --name "E2E phone" \
    >"$RUN/contact.json" || fail "contact add"
  CONTACT_ID=$(json_field "$RUN/contact.json" id)
  [[ -n "$NUMBER2_ID" && -n "$CONTACT_ID" ]] || fail "no number/contact id"
  sc --json provider set --account "$ACCOUNT" --provider kannel --secret "$SECRET" \
    --sendsms-url "http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms" \
    --username "$SENDSMS_USER" --password "$SENDSMS_PASSWORD" --sender kannel \
    >"$RUN/provider.json" || fail "provider set"

  # 2. smsconsent serve on a free port; the first stdout line tells which.
  "$BIN" --db "$RUN/smsconsent.db" serve --listen 127.0.0.1:0 --outbox-poll-ms 100 \
    >"$RUN/smsconsent.out" 2>"$RUN/smsconsent.err" &
  local smsconsent_pid=$!
  PIDS+=("$smsconsent_pid")
  serve_ready() {
    alive "$smsconsent_pid" || fail "smsconsent serve exited: $(cat "$RUN/smsconsent.err")"
    grep -qs '^smsconsent listening on http://' "$RUN/smsconsent.out"
  }
  wait_for "smsconsent serve to listen" serve_ready
  SMSCONSENT_URL=$(head -n 1 "$RUN/smsconsent.out" |
    sed -n 's|^smsconsent listening on \(http://[^ ]*\).*|\1|p')
  local smsconsent_port=${SMSCONSENT_URL##*:}
  [[ "$smsconsent_port" =~ ^[0-9]+$ ]] ||
    fail "no port in: $(head -n 1 "$RUN/smsconsent.out")"

  # 3. Kannel. get: the template as is (docs/webhooks.md's recommendation); post: its
  # get-url line replaced by the post-url setup docs/webhooks.md describes.
  local post_url="post-url = \"http://127.0.0.1:@SMSCONSENT_PORT@/webhooks/kannel?secret=@SECRET@\&id=%I\""
  local service_edit='s|^\(get-url = .*\)$|\1|'
  [[ "$MODE" == post ]] && service_edit="s|^get-url = .*\$|$post_url\\nsend-sender = true|"
  sed -e "$service_edit" \
    -e "s|@TMP@|$RUN|g" -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" -e "s|@SMSBOX_PORT@|$SMSBOX_PORT|g" \
    -e "s|@FAKESMSC_PORT@|$FAKESMSC_PORT|g" -e "s|@SENDSMS_PORT@|$SENDSMS_PORT|g" \
    -e "s|@SMSCONSENT_PORT@|$smsconsent_port|g" -e "s|@SECRET@|$SECRET|g" \
    -e "s|@SENDSMS_USER@|$SENDSMS_USER|g" -e "s|@SENDSMS_PASSWORD@|$SENDSMS_PASSWORD|g" \
    -e "s|@ADMIN_PASSWORD@|$ADMIN_PASSWORD|g" \
    "$CONF_TEMPLATE" >"$RUN/kannel.conf" || fail "writing kannel.conf"
  if grep -q '@[A-Z_]*@' "$RUN/kannel.conf"; then
    fail "unfilled placeholder in kannel.conf: $(grep '@[A-Z_]*@' "$RUN/kannel.conf")"
  fi
  grep -q "^${MODE}-url = " "$RUN/kannel.conf" || fail "kannel.conf has no ${MODE}-url"

  local status_url="http://127.0.0.1:$ADMIN_PORT/status.txt?password=$ADMIN_PASSWORD"
  kannel_status() { curl -s --max-time 2 "$status_url" 2>/dev/null; }

  # Foreground processes in the background; their log files (log-level 0) are in $RUN,
  # their consoles only show warnings.
  "$BEARERBOX" -v 2 "$RUN/kannel.conf" >"$RUN/bearerbox.console" 2>&1 &
  local bearerbox_pid=$!
  PIDS+=("$bearerbox_pid")
  bearerbox_ready() {
    alive "$bearerbox_pid" || fail "bearerbox exited: $(tail -n 5 "$RUN/bearerbox.console")"
    kannel_status | grep -q 'Status: running'
  }
  wait_for "bearerbox to run" bearerbox_ready

  "$SMSBOX" -v 2 "$RUN/kannel.conf" >"$RUN/smsbox.console" 2>&1 &
  local smsbox_pid=$!
  PIDS+=("$smsbox_pid")
  smsbox_ready() {
    alive "$smsbox_pid" || fail "smsbox exited: $(tail -n 5 "$RUN/smsbox.console")"
    kannel_status | grep -q 'smsbox:' &&
      curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$SENDSMS_PORT/" 2>/dev/null
  }
  wait_for "smsbox to connect and open its sendsms port" smsbox_ready

  # fakesmsc in interactive mode reads the phone's messages from stdin (a FIFO held open on
  # fd 3), so they go out one at a time, in order (given as arguments, it would pick them at
  # random); it logs what it receives.
  mkfifo "$RUN/phone.in" || fail "mkfifo"
  "$FAKESMSC" -H 127.0.0.1 -r "$FAKESMSC_PORT" -i 0.1 <"$RUN/phone.in" >"$RUN/phone.log" 2>&1 &
  local fakesmsc_pid=$!
  PHONE_PID=$fakesmsc_pid
  disown "$fakesmsc_pid"
  exec 3>"$RUN/phone.in"
  PHONE_FD_OPEN=1
  phone_connected() {
    alive "$fakesmsc_pid" || fail "fakesmsc exited: $(tail -n 5 "$RUN/phone.log")"
    kannel_status | grep -q 'FAKE.*online'
  }
  wait_for "the fake SMSC to be online" phone_connected
  say "[$MODE] smsconsent $SMSCONSENT_URL; Kannel: admin :$ADMIN_PORT, smsbox :$SMSBOX_PORT, sendsms :$SENDSMS_PORT, fake SMSC :$FAKESMSC_PORT"

  # 4. The phone texts; a staff opt-in in the middle.
  send "START" "$NUMBER" text "START" 1
  send "HJÆLP" "$NUMBER" ucs2 "$(ucs2 HJ)%00%C6$(ucs2 LP)" 1  # Æ is U+00C6
  send "STOP" "$NUMBER" text "STOP" 1
  send "AFMELD (already opted out: no reply)" "$NUMBER" ucs2 "$(ucs2 AFMELD)" 0

  say "[$MODE] staff: PUT /v1/contacts/$CONTACT_ID/subscriptions/$NUMBER2_ID opted_in (attested)"
  local before_inbox put_result
  before_inbox=$(inbox_count)
  put_result=$(curl -s --max-time 5 -X PUT -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' -w '\n%{http_code}' \
    --data '{"status":"opted_in","attest":true,"legal_basis":"consent","explanation":"signed the paper form at the counter (e2e test)","actor":"e2e"}' \
    "$SMSCONSENT_URL/v1/contacts/$CONTACT_ID/subscriptions/$NUMBER2_ID")
  [[ "$put_result" == *$'\n200' ]] || fail "PUT subscription answered: $put_result"
  got_sendsms_reply() { (( $(inbox_count) > before_inbox )); }
  wait_for "the staff opt-in confirmation to reach the phone through sendsms" got_sendsms_reply

  send "HELP (its answer needs UCS-2)" "$NUMBER2" text "HELP" 1
  send "START (already opted in; a 2-part UCS-2 answer)" "$NUMBER2" text "START" 1
  send "STOP to a number nobody registered" "$UNKNOWN_NUMBER" text "STOP" 0

  # Each expected SMS arrived before the next message was sent. A duplicate (the same reply
  # again through the outbox's sendsms path) or an "<Empty reply from service provider>" SMS
  # would follow within a few 100 ms outbox polls: watch for one for 2 s.
  local end=$(( SECONDS + 2 ))
  while (( SECONDS <= end )); do
    (( $(inbox_count) > 6 || $(sendsms_count) > 1 )) && break
    sleep 0.2
  done

  # 5. What smsconsent recorded and what the phone received.
  sc --json history --account "$ACCOUNT" --phone "$PHONE" >"$RUN/history.json" 2>&1 ||
    fail "history: $(cat "$RUN/history.json")"
  sc --json outbox list --account "$ACCOUNT" >"$RUN/outbox.json" 2>&1 ||
    fail "outbox list: $(cat "$RUN/outbox.json")"
  consent() { # consent NUMBER: GET /v1/consent for the phone on NUMBER
    curl -s --max-time 5 -H "Authorization: Bearer $API_KEY" \
      "$SMSCONSENT_URL/v1/consent?phone=%2B${PHONE#+}&number=%2B${1#+}"
  }
  local consent1 consent2 bodies ids
  consent1=$(consent "$NUMBER")
  consent2=$(consent "$NUMBER2")
  phone_inbox >"$RUN/inbox.txt"
  local -a inbox
  mapfile -t inbox <"$RUN/inbox.txt"

  bodies=$(sed -n 's/^      "body": "\(.*\)",\{0,1\}$/\1/p' "$RUN/history.json" | tr '\n' ' ')
  ids=$(sed -n 's/^      "message_id": "\(.*\)",\{0,1\}$/\1/p' "$RUN/history.json" | tr '\n' ' ')
  check "the ledger has START, STOP, AFMELD, START as received through Kannel, in order (got: $bodies)" \
    test "$bodies" = "START STOP AFMELD START "
  ids_are_kannel_uuids() {
    local n=0 id re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    for id in $ids; do [[ "$id" =~ $re ]] || return 1; n=$((n + 1)); done
    (( n == 4 ))
  }
  check "those events carry Kannel's message ids (%I) (got: $ids)" ids_are_kannel_uuids
  check "those events name provider kannel" \
    test "$(grep -c '"provider": "kannel"' "$RUN/history.json")" -eq 4
  check "GET /v1/consent on $NUMBER: not allowed, opted_out (got: $consent1)" \
    eval 'has "$consent1" "\"allowed\":false" && has "$consent1" "\"status\":\"opted_out\""'
  check "GET /v1/consent on $NUMBER2: allowed, opted_in (got: $consent2)" \
    eval 'has "$consent2" "\"allowed\":true" && has "$consent2" "\"status\":\"opted_in\""'
  local ok200 refused
  ok200=$(grep -c ' /webhooks/kannel 200 ' "$RUN/smsconsent.err")
  refused=$(grep -c ' /webhooks/kannel 403 ' "$RUN/smsconsent.err")
  check "smsconsent answered 200 to the 6 messages to registered numbers, once each (got $ok200)" \
    test "$ok200" -eq 6
  check "smsconsent refused the unknown number (not verified: 403), 1 + 3 smsbox retries (got $refused of $(webhook_count) requests)" \
    test "$refused" -eq 4 -a "$(webhook_count)" -eq 10

  local -a expected=(
    "$NUMBER $PHONE $BUSINESS: Du er nu tilmeldt SMS. Svar STOP for at afmelde, HJÆLP for hjælp."
    "$NUMBER $PHONE $BUSINESS: Svar STOP for at afmelde, START for at tilmelde."
    "$NUMBER $PHONE $BUSINESS: Du er afmeldt og modtager ikke flere SMS. Svar START for at tilmelde igen."
    "$NUMBER2 $PHONE $BUSINESS2: Du er nu tilmeldt SMS. Svar STOP for at afmelde, HJÆLP for hjælp."
    "$NUMBER2 $PHONE $BUSINESS2: Svar STOP for at afmelde, START for at tilmelde."
    "$NUMBER2 $PHONE $BUSINESS2: Du er nu tilmeldt SMS. Svar STOP for at afmelde, HJÆLP for hjælp."
  )
  local -a what=(
    "the START confirmation (webhook answer)"
    "the answer to HJÆLP (webhook answer)"
    "the STOP confirmation (webhook answer)"
    "the staff opt-in confirmation (outbox -> sendsms, UCS-2 in 2 parts)"
    "the answer to HELP, in UCS-2 (webhook answer with X-Kannel-Coding: 2)"
    "the START confirmation, in UCS-2 (webhook answer, 2 parts)"
  )
  check "the phone received exactly ${#expected[@]} SMS: none for AFMELD or the unknown number (got ${#inbox[@]})" \
    test "${#inbox[@]}" -eq "${#expected[@]}"
  local i
  for i in "${!expected[@]}"; do
    check "SMS $((i + 1)) is ${what[i]}: <${inbox[i]:-}>" test "${inbox[i]:-}" = "${expected[i]}"
  done
  check "the UCS-2 answer went out as UCS-2, not squeezed into GSM '?'" \
    grep -q "Got message [0-9]*: <$NUMBER2 $PHONE ucs-2 " "$RUN/phone.log"
  check "exactly one SMS went through sendsms, the staff opt-in's (got $(sendsms_count))" \
    test "$(sendsms_count)" -eq 1
  check "the outbox holds the ${#expected[@]} replies, all sent" \
    eval '(( $(grep -c "\"state\": \"sent\"" "$RUN/outbox.json") == ${#expected[@]} &&
             $(grep -c "\"state\":" "$RUN/outbox.json") == ${#expected[@]} ))'

  if (( ${#problems[@]} > problems_before )); then
    echo "----- [$MODE] the phone's inbox -----"; cat "$RUN/inbox.txt"
    echo "----- [$MODE] outbox -----"; cat "$RUN/outbox.json"
    dump_logs
  fi
  stop_all
  say "[$MODE] done in $(( SECONDS - mode_started ))s"
}

say "smsconsent: $BIN; Kannel: $BEARERBOX, $SMSBOX, $FAKESMSC; temp dir $TMP"
for mode in $MODES; do
  case "$mode" in get | post) run_scenario "$mode" ;; *) fail "unknown mode '$mode'" ;; esac
done

elapsed=$(( SECONDS - STARTED_AT ))
if (( ${#problems[@]} > 0 )); then
  say "FAIL (${elapsed}s): ${#problems[@]} check(s) failed:"
  printf '  - %s\n' "${problems[@]}"
  exit 1
fi
say "PASS (${elapsed}s; ${MODES// /-url, }-url): through bearerbox+smsbox, START, HJÆLP (UCS-2), STOP, AFMELD (UCS-2) reached smsconsent once each with Kannel's ids; $NUMBER ends opted_out; the phone got each of the 6 replies exactly once and intact (GSM and UCS-2, webhook answer and sendsms) and nothing for the repeated opt-out or the unknown number"
exit 0
