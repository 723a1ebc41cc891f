# Sourced by the e2e scripts that run a node test in tests/node against the smsconsent binary
# (twilio_node_test.sh, provider_sdks_node_test.sh). Not a test itself: CTest registers only
# tests/e2e/*_test.sh. The sourcing script sets NAME first.
#
#   node_test_prepare MODULE...  node >= 18, the binary (SMSCONSENT_BINARY, else a build in the
#                                source tree), cd tests/node, and `npm ci` unless node_modules was
#                                installed from this very package-lock.json and holds MODULE...;
#                                exits 77 (skip) without node or npm, 1 on failure
#   node_test_run FILE           node --test FILE; exits 0 on pass, 1 on failure
say() { printf '[%s] %s\n' "$NAME" "$*"; }

SRC_DIR=${SMSCONSENT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NODE_DIR="$SRC_DIR/tests/node"

node_test_prepare() {
  if ! command -v node >/dev/null 2>&1; then
    say "SKIP: node not found (install nodejs and npm, see scripts/install-deps.sh)"
    exit 77
  fi
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if (( node_major < 18 )); then
    say "SKIP: node $(node --version) is too old for node --test (need 18 or newer)"
    exit 77
  fi
  if [[ -z "${SMSCONSENT_BINARY:-}" ]]; then
    local candidate
    for candidate in "$SRC_DIR/build/lead/smsconsent" "$SRC_DIR/build/release/smsconsent"; do
      if [[ -x "$candidate" ]]; then SMSCONSENT_BINARY=$candidate; break; fi
    done
  fi
  if [[ ! -x "${SMSCONSENT_BINARY:-}" ]]; then
    say "FAIL: smsconsent binary not found (set SMSCONSENT_BINARY)"
    exit 1
  fi
  # Absolute: the test runs from tests/node.
  SMSCONSENT_BINARY=$(cd "$(dirname "$SMSCONSENT_BINARY")" && pwd)/$(basename "$SMSCONSENT_BINARY")
  export SMSCONSENT_BINARY SMSCONSENT_SOURCE_DIR="$SRC_DIR"

  cd "$NODE_DIR" || { say "FAIL: $NODE_DIR missing"; exit 1; }
  # node_modules is up to date when it was installed from this very package-lock.json.
  local stamp=node_modules/.smsconsent-package-lock.sha256 want module installed=1
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || installed=0
  for module in "$@"; do [[ -d "node_modules/$module" ]] || installed=0; done
  if (( installed )); then
    say "node_modules is up to date with package-lock.json"
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "SKIP: npm not found and tests/node/node_modules is not installed"
    exit 77
  fi
  say "npm ci ($(node -p 'Object.entries(require("./package.json").dependencies).map(([k, v]) => k + " " + v).join(", ")'))"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    say "FAIL: npm ci failed (the npm registry must be reachable for the first run)"
    exit 1
  fi
  echo "$want" > "$stamp"
}

# The installed version of a module in tests/node.
node_module_version() {
  node -p "JSON.parse(require('fs').readFileSync('node_modules/$1/package.json')).version"
}

node_test_run() {
  local start_ms rc
  start_ms=$(date +%s%3N)
  node --test --test-reporter=tap "$1"
  rc=$?
  say "node --test exited $rc after $(( $(date +%s%3N) - start_ms )) ms"
  if (( rc != 0 )); then
    say "FAIL"
    exit 1
  fi
  say "PASS"
  exit 0
}
