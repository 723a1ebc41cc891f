#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (Debian's postgresql-15 binaries).
#
#   scripts/pg-test-cluster.sh start DIR   creates a cluster in DIR (an empty or missing
#                                          directory), starts it on 127.0.0.1 on a free port
#                                          and prints its connection URL on stdout
#   scripts/pg-test-cluster.sh stop DIR    stops it (the caller removes DIR)
#   scripts/pg-test-cluster.sh restart DIR restarts it on the same port (reconnect tests)
#
# PostgreSQL refuses to run as root, so when this runs as root (CI) the server runs as the
# `postgres` system user that Debian's package creates, and DIR is given to it. Durability
# settings (fsync, synchronous_commit, full_page_writes) stay at their defaults: on. The
# database is UTF-8 with the C.UTF-8 locale, so ordering is by code point and lower() folds
# non-ASCII letters ("SØREN" finds "Søren"). Only loopback TCP and a socket inside DIR are
# used; authentication is `trust` for the cluster's own superuser, `postgres`.
set -euo pipefail

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|restart DIR" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The server user may not be allowed into the caller's directory (a clone under /root).
cd "$dir"

case "$cmd" in
  start)
    if [ "$(id -u)" -eq 0 ]; then
      getent passwd postgres >/dev/null || {
        echo "$0: no 'postgres' user (install Debian's postgresql package)" >&2
        exit 1
      }
      chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    # Tests run in parallel, each with a pool and a few stores of its own.
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
log_min_messages = warning
EOF
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 20000))
      # Something already listening there: try another port.
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
      echo "port = $port" >>"$dir/data/postgresql.conf"
      if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        >/dev/null 2>&1; then
        as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres smsconsent_test
        echo "$port" >"$dir/port"
        echo "postgresql://postgres@127.0.0.1:$port/smsconsent_test"
        exit 0
      fi
      # Lost the port to someone else between the check and the start.
      sed -i '/^port = /d' "$dir/data/postgresql.conf"
      echo "$0: start on port $port failed (attempt $attempt)" >&2
    done
    cat "$dir/server.log" >&2 || true
    exit 1
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  restart)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w restart >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|restart DIR" >&2
    exit 2
    ;;
esac
