#!/usr/bin/env bash
# Checks the README's promise on a bare Debian 12: makes a fresh debootstrap root, clones this
# repository into it and runs the README's two commands there, as a new user would:
#   1. ./scripts/run.sh          until the service answers /healthz, then the README's
#                                "first ten minutes" against it (scripts/readme-tour.sh)
#   2. CI=true ./scripts/test.sh the whole test suite (release and ASan+UBSan)
# Nothing from this machine is used inside the root but the clone of the committed HEAD and,
# where the host reaches the package registries through a TLS-inspecting proxy, the host's extra
# CA certificates (/usr/local/share/ca-certificates). Needs root (debootstrap, chroot, mounts)
# and Debian's `debootstrap` package, which it installs when missing.
#
#   scripts/fresh-debian-check.sh [--root DIR] [--keep] [--run-only] [--mirror URL]
#     --root DIR   where to build the root (default: a new directory under /var/tmp)
#     --keep       leave the root in place afterwards (it is removed by default)
#     --run-only   step 1 only
# Prints one line per step with its time and result, and exits non-zero if any step failed.
# Logs: ROOT.log/*.log (kept with the summary, also without --keep).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
root=""
keep=0
run_only=0
mirror="http://deb.debian.org/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --run-only) run_only=1; shift ;;
    --mirror) mirror="$2"; shift 2 ;;
    *) echo "usage: $0 [--root DIR] [--keep] [--run-only] [--mirror URL]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: needs root (debootstrap, chroot and mounts)" >&2
  exit 2
fi
if ! git -C "$repo" diff --quiet HEAD; then
  echo "$0: note: uncommitted changes are not checked, only the committed HEAD" >&2
fi
command -v debootstrap >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

[ -n "$root" ] || root=$(mktemp -d /var/tmp/smsconsent-fresh-XXXXXX)
mkdir -p "$root"
root=$(cd "$root" && pwd)
logs="$root.log"
mkdir -p "$logs"
summary="$logs/summary.txt"
: >"$summary"
# A booted machine's root directory is 755; mktemp's 700 would keep the `postgres` user out.
chmod 755 "$root"

mounted=()
cleanup() {
  set +e
  # Anything still running inside the root (the service, a PostgreSQL cluster, chromium).
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  sleep 1
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}"; done
  if [ "$keep" -eq 0 ]; then rm -rf --one-file-system "$root"; fi
  echo "logs: $logs"
  cat "$summary"
}
trap cleanup EXIT

failed=0
step() {  # step NAME COMMAND...: runs COMMAND, logs it, records its time and result
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name (log: $logs/$name.log)"
  if "$@" >"$logs/$name.log" 2>&1; then
    printf '%-14s PASS %5d s\n' "$name" $((SECONDS - start)) | tee -a "$summary"
  else
    printf '%-14s FAIL %5d s (exit %d)\n' "$name" $((SECONDS - start)) $? | tee -a "$summary"
    tail -n 40 "$logs/$name.log" >&2
    failed=1
    return 1
  fi
}

in_root() {  # runs a bash command inside the root as root, with a login's bare environment
  local extra=()
  # Node.js does not read the system CA store; where the host needs extra CAs, so does npm.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    extra+=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  fi
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${extra[@]}" "$@"
}

make_root() {
  debootstrap --include=ca-certificates,git bookworm "$root" "$mirror"
  # debootstrap's sources.list has bookworm only; a fresh install also has the updates and
  # security suites.
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root update-ca-certificates
  fi
}

mount_root() {
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount -t sysfs sys "$root/sys" && mounted+=("$root/sys")
  mount --bind /dev "$root/dev" && mounted+=("$root/dev")
  mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 && mounted+=("$root/dev/pts")
  mount -t tmpfs shm "$root/dev/shm" -o mode=1777 && mounted+=("$root/dev/shm")
  mount -t tmpfs tmp "$root/tmp" -o mode=1777 && mounted+=("$root/tmp")
}

clone() {
  git clone --quiet --no-local "$repo" "$root/root/smsconsent"
  git -C "$root/root/smsconsent" log --oneline -1
}

# Step 1: the run command, until it serves; then the README's first ten minutes against it.
port=$((20000 + RANDOM % 20000))
run_and_tour() {
  in_root bash -c "cd /root/smsconsent && SMSCONSENT_LISTEN=127.0.0.1:$port \
    exec ./scripts/run.sh" >"$logs/run-server.log" 2>&1 &
  local server=$!
  local waited=0
  # The root shares this machine's network; the host's curl asks.
  until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null; then
      echo "run.sh exited before serving:"
      tail -n 40 "$logs/run-server.log"
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
    if [ "$waited" -gt 3600 ]; then echo "not serving after an hour"; return 1; fi
  done
  echo "serving after ${waited} s (log: $logs/run-server.log)"
  local status=0
  in_root bash -c "cd /root/smsconsent && ./scripts/readme-tour.sh \
    --listen 127.0.0.1:$port --first-run-log /dev/stdin" <"$logs/run-server.log" || status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  return $status
}

step debootstrap make_root || exit 1
step mount mount_root || exit 1
step clone clone || exit 1
step run run_and_tour || true
if [ "$run_only" -eq 0 ]; then
  step test in_root bash -c 'cd /root/smsconsent && CI=true ./scripts/test.sh' || true
  grep -E "tests passed|tests failed" "$logs/test.log" | tee -a "$summary" || true
fi
exit $failed
