#!/usr/bin/env bash
# The Debian package on a clean Debian 12: builds smsconsent_VERSION_ARCH.deb with CPack from
# the binary's build directory, makes a minimal Debian 12 root with debootstrap, installs
# systemd and then the package with apt (which fetches its Depends from the Debian mirror),
# and checks what an operator relies on: the files and the conffile, the system user, the
# state directory, the unit enabled and accepted by `systemd-analyze verify`, the installed
# binary creating an account as the service's user and serving /healthz with the packaged
# config file, an upgrade keeping the database and an edited config file, and remove and
# purge.
#
# Needs root (debootstrap, chroot, mounts) and the Debian mirror (SMSCONSENT_DEBIAN_MIRROR,
# default http://deb.debian.org/debian): skipped (77) otherwise, failing instead with CI=true.
# Caches nothing: each run bootstraps a fresh root, its time mostly downloads.
# The root shares the host's network (the server is reached on 127.0.0.1) but not its /run:
# no systemd runs in it, so the maintainer scripts enable the unit without starting it.
#
# Run by CTest with SMSCONSENT_BINARY; by hand, as root:
#   SMSCONSENT_BINARY=build/release/smsconsent bash tests/e2e/deb_package_test.sh
set -uo pipefail

NAME=deb_package
say() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() {
  say "FAIL: $*"
  exit 1
}
skip() {
  [ "${CI:-}" = true ] && fail "$* (CI=true: not skipping)"
  say "SKIP: $*"
  exit 77
}

BIN=${SMSCONSENT_BINARY:?set SMSCONSENT_BINARY}
BUILD_DIR=$(cd "$(dirname "$BIN")" && pwd)
MIRROR=${SMSCONSENT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mount)"
for tool in debootstrap cpack dpkg-deb dpkg-shlibdeps chroot mount curl; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh --test)"
done
[ -f "$BUILD_DIR/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $BUILD_DIR"

started=$(date +%s)
phase_start=$started
phase() {
  local now
  now=$(date +%s)
  say "$1 ($((now - phase_start)) s)"
  phase_start=$now
}

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/smsconsent-deb-XXXXXX")
ROOT="$WORK/root"
serve_pid=""

# Mount points at or below the root, deepest first.
mounts_below_root() {
  awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r
}
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
  # Anything else still running inside the root (started by this test) would keep its mounts
  # busy.
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  local m
  for m in $(mounts_below_root); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  # --one-file-system: never descend into a mount (the host's /dev) should one remain.
  if [ -n "$(mounts_below_root)" ]; then
    say "still mounted below $ROOT; not removing $WORK"
  else
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT

# Runs a command in the root with a clean environment (the proxy settings kept, if any).
ROOT_ENV=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
  ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy}
  ${no_proxy:+no_proxy=$no_proxy})
in_root() { chroot "$ROOT" "${ROOT_ENV[@]}" "$@"; }

# --- the package --------------------------------------------------------------------------
cpack --config "$BUILD_DIR/CPackConfig.cmake" -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 ||
  { cat "$WORK/cpack.log"; fail "cpack"; }
DEB=$(find "$WORK/pkg" -maxdepth 1 -name 'smsconsent_*.deb' | head -1)
[ -n "$DEB" ] || { cat "$WORK/cpack.log"; fail "cpack made no smsconsent_*.deb"; }
VERSION=$(dpkg-deb -f "$DEB" Version)
ARCH=$(dpkg --print-architecture)
[ "$(basename "$DEB")" = "smsconsent_${VERSION}_${ARCH}.deb" ] || fail "package named $(basename "$DEB")"
say "$(basename "$DEB"): $(stat -c %s "$DEB") bytes"
say "Depends: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -f "$DEB" Depends | grep -q 'libc6' || fail "Depends lacks the shared libraries"
host_version=$("$BIN" --version) || fail "$BIN --version"
phase "package built"

# --- a minimal Debian 12 root with systemd -------------------------------------------------
# ca-certificates: for a host that reaches the mirror through a TLS-inspecting proxy, whose
# CA the root must trust as the host does.
debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" \
  >"$WORK/debootstrap.log" 2>&1 || { tail -40 "$WORK/debootstrap.log"; skip "debootstrap failed (no mirror?)"; }
phase "debootstrap"
mount -t proc proc "$ROOT/proc" || fail "mount proc"
mount --bind /sys "$ROOT/sys" || fail "mount sys"
mount --bind /dev "$ROOT/dev" || fail "mount dev"
# apt logs dpkg's output through a pseudo-terminal.
mount --bind /dev/pts "$ROOT/dev/pts" || fail "mount dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp" || fail "mount tmp"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  in_root update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates"
fi
in_root apt-get update -q >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log"; fail "apt-get update"; }
in_root apt-get install -y -q --no-install-recommends systemd >>"$WORK/apt.log" 2>&1 ||
  { tail -20 "$WORK/apt.log"; fail "apt-get install systemd"; }
phase "systemd installed"

# --- install ------------------------------------------------------------------------------
cp "$DEB" "$ROOT/tmp/"
PKG="/tmp/$(basename "$DEB")"
in_root apt-get install -y -q "$PKG" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log"; fail "apt-get install $PKG"; }
grep -i -E '^(E:|W:)' "$WORK/install.log" | grep -v -i 'unsandboxed' && fail "apt warned or failed"
phase "package installed"

for f in /usr/bin/smsconsent /lib/systemd/system/smsconsent.service \
  /etc/smsconsent/smsconsent.conf /usr/share/doc/smsconsent/copyright \
  /usr/share/doc/smsconsent/README.md /usr/share/doc/smsconsent/operations.md; do
  [ -f "$ROOT$f" ] || fail "$f is not installed"
done
# shellcheck disable=SC2016 # dpkg-query's ${field}, not the shell's
in_root dpkg-query -W -f='${Conffiles}\n' smsconsent | grep -q '^ /etc/smsconsent/smsconsent.conf ' ||
  fail "the config file is not a conffile"
IFS=: read -r _ _ uid _ _ home shell <<<"$(in_root getent passwd smsconsent)"
[ -n "$uid" ] || fail "no user smsconsent"
[ "$uid" -lt 1000 ] || fail "smsconsent is not a system user (uid $uid)"
[ "$shell" = /usr/sbin/nologin ] || fail "smsconsent's shell is '$shell'"
[ "$home" = /var/lib/smsconsent ] || fail "smsconsent's home is '$home'"
in_root getent group smsconsent >/dev/null || fail "no group smsconsent"
state=$(in_root stat -c '%U:%G %a' /var/lib/smsconsent) || fail "no /var/lib/smsconsent"
[ "$state" = "smsconsent:smsconsent 750" ] || fail "/var/lib/smsconsent is $state"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/smsconsent.service" ] ||
  fail "the unit is not enabled"

root_version=$(in_root smsconsent --version) || fail "smsconsent --version in the root"
[ "$root_version" = "$host_version" ] || fail "--version in the root: '$root_version', not '$host_version'"
case "$root_version" in
  "smsconsent $VERSION (git "*")") ;;
  *) fail "--version prints '$root_version', not version $VERSION and a revision" ;;
esac
say "$root_version"

# systemd-analyze verify also checks the units the unit refers to (targets) and the binary;
# anything it says about smsconsent is a fault of the package.
in_root systemd-analyze verify /lib/systemd/system/smsconsent.service >"$WORK/verify.log" 2>&1
verify_rc=$?
[ -s "$WORK/verify.log" ] && { say "systemd-analyze verify says:"; cat "$WORK/verify.log"; }
if [ "$verify_rc" -ne 0 ] || grep -q -i smsconsent "$WORK/verify.log"; then
  cat "$WORK/verify.log"
  fail "systemd-analyze verify (exit $verify_rc)"
fi
phase "files, user, unit checked"

# --- the installed binary, as the service's user ------------------------------------------
DB=/var/lib/smsconsent/smsconsent.db
as_service() { in_root runuser -u smsconsent -- smsconsent --db "$DB" --json "$@"; }
account=$(as_service account create --name "Package test" --addons marketing_sms_access) ||
  fail "account create as smsconsent"
api_key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' <<<"$account") ||
  fail "account create printed $account"
as_service user add --account 1 --email admin@example.com --role editor >/dev/null ||
  fail "user add as smsconsent"
[ "$(in_root stat -c %U "$DB")" = smsconsent ] || fail "$DB is not owned by smsconsent"

# The packaged config file with the port overridden (a flag wins over the file): port 0 picks
# a free one, which serve prints. Started without in_root (a function would run in a subshell)
# and through setpriv rather than runuser: chroot, env and setpriv each exec the next, so
# $! is the server itself, which gets the SIGTERM below and whose exit status wait returns.
chroot "$ROOT" "${ROOT_ENV[@]}" \
  setpriv --reuid=smsconsent --regid=smsconsent --init-groups smsconsent --db "$DB" serve \
  --config /etc/smsconsent/smsconsent.conf --listen 127.0.0.1:0 \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's|^smsconsent listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$WORK/serve.out")
  [ -n "$port" ] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat "$WORK/serve.out" "$WORK/serve.err"; fail "serve did not start"; }
health=$(curl -sf "http://127.0.0.1:$port/healthz") || fail "GET /healthz"
[ "$health" = '{"status":"ok"}' ] || fail "/healthz answered $health"
me=$(curl -sf -H "Authorization: Bearer $api_key" "http://127.0.0.1:$port/v1/account") ||
  fail "GET /v1/account with the new account's key"
grep -q '"Package test"' <<<"$me" || fail "/v1/account answered $me"
grep -q -F "${root_version#smsconsent } starting" "$WORK/serve.err" ||
  { cat "$WORK/serve.err"; fail "serve did not log its version at start"; }
kill -TERM "$serve_pid"
wait "$serve_pid"
serve_rc=$?
serve_pid=""
[ "$serve_rc" -eq 0 ] || { cat "$WORK/serve.err"; fail "serve exited $serve_rc on SIGTERM"; }
phase "account created, served /healthz"

# --- upgrade (the same version again), remove, purge --------------------------------------
echo "# edited by the operator" >>"$ROOT/etc/smsconsent/smsconsent.conf"
in_root dpkg -i "$PKG" >"$WORK/upgrade.log" 2>&1 || { cat "$WORK/upgrade.log"; fail "dpkg -i again"; }
grep -q '^# edited by the operator$' "$ROOT/etc/smsconsent/smsconsent.conf" ||
  fail "an upgrade replaced the edited config file"
as_service account list | grep -q '"Package test"' || fail "the account is gone after an upgrade"
[ "$(in_root stat -c '%U:%G %a' /var/lib/smsconsent)" = "smsconsent:smsconsent 750" ] ||
  fail "an upgrade changed /var/lib/smsconsent"

in_root apt-get remove -y -q smsconsent >"$WORK/remove.log" 2>&1 ||
  { cat "$WORK/remove.log"; fail "apt-get remove"; }
[ ! -e "$ROOT/usr/bin/smsconsent" ] || fail "remove left /usr/bin/smsconsent"
[ -f "$ROOT$DB" ] || fail "remove deleted the database"
[ -f "$ROOT/etc/smsconsent/smsconsent.conf" ] || fail "remove deleted the config file"

in_root apt-get purge -y -q smsconsent >"$WORK/purge.log" 2>&1 ||
  { cat "$WORK/purge.log"; fail "apt-get purge"; }
# shellcheck disable=SC2016 # dpkg-query's ${field}, not the shell's
status=$(in_root dpkg-query -W -f='${db:Status-Status}' smsconsent 2>/dev/null)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "smsconsent is '$status' after purge"
for f in /usr/bin/smsconsent /lib/systemd/system/smsconsent.service /etc/smsconsent \
  /var/lib/smsconsent /etc/systemd/system/multi-user.target.wants/smsconsent.service \
  /etc/systemd/system/smsconsent.service /usr/share/doc/smsconsent; do
  if [ -e "$ROOT$f" ] || [ -L "$ROOT$f" ]; then fail "purge left $f"; fi
done
phase "upgraded, removed, purged"

say "PASS in $(($(date +%s) - started)) s"
