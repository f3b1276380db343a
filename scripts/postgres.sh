#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks.
#
#   scripts/postgres.sh [start [DIR]]  install if needed, start a cluster on 127.0.0.1 on a free port;
#                                      DIR (default: a new temp dir) records it; prints the URL
#                                      postgresql+psycopg://postgres@127.0.0.1:PORT/frontdoor on stdout
#   scripts/postgres.sh stop DIR       stop that cluster and delete it and DIR
#
# Trust authentication on 127.0.0.1 only: this is a test cluster, never a deployment. As root, the
# cluster runs as the `postgres` user (PostgreSQL refuses to run as root), and its data and socket
# live in a fresh folder under /tmp that `postgres` owns (DIR may sit where that user cannot go: a
# clone in a private temp folder); DIR/cluster names that folder. Otherwise the cluster is in DIR.
# Progress goes to stderr, so `URL=$(scripts/postgres.sh)` captures only the URL.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
DB_NAME=${PG_DB_NAME:-frontdoor}

say() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] error: %s\n' "$*" >&2; exit 1; }

find_bindir() {
  local dir
  for dir in "/usr/lib/postgresql/$PG_MAJOR/bin" /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"; return 0
  fi
  return 1
}

install_postgres() {
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available; install PostgreSQL $PG_MAJOR"
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; run as root or: sudo apt-get install postgresql-$PG_MAJOR"
  say "installing postgresql-$PG_MAJOR"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2   # reached only when the server binaries are missing
  apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR" >&2 \
    || apt-get install -y --no-install-recommends postgresql >&2
}

# Run a command as the cluster owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local py
  for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
      return 0
    fi
  done
  echo $((20000 + RANDOM % 20000))
}

start() {
  local dir=${1:-}
  local bindir cluster
  bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir) || die "initdb/pg_ctl not found after install"; }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/frontdoor-pg.XXXXXX")
  else
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd)
  [ -e "$dir/cluster" ] && die "$dir already records a cluster; stop it first or pick another DIR"
  if [ "$(id -u)" = 0 ]; then
    cluster=$(mktemp -d /tmp/frontdoor-pg-cluster.XXXXXX)
    chown postgres: "$cluster"
  else
    cluster=$dir
  fi
  chmod 700 "$cluster"
  echo "$cluster" >"$dir/cluster"   # first, so that `stop DIR` finds it whatever fails next

  say "initdb in $cluster/data"
  as_owner "$bindir/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 \
    || as_owner "$bindir/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --locale=C >"$cluster/initdb.log" 2>&1 \
    || { cat "$cluster/initdb.log" >&2; die "initdb failed"; }

  local attempt port=""
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$cluster -c max_connections=100" >&2; then
      break
    fi
    say "start on port $port failed (attempt $attempt); retrying"
    port=""
  done
  [ -n "$port" ] || { tail -n 30 "$cluster/server.log" >&2 || true; die "could not start PostgreSQL"; }
  echo "$port" >"$dir/port"

  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME" \
    || die "createdb $DB_NAME failed"
  local url="postgresql+psycopg://postgres@127.0.0.1:$port/$DB_NAME"
  echo "$url" >"$dir/url"
  say "running on 127.0.0.1:$port (data in $cluster); stop with: $0 stop $dir"
  echo "$url"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  [ -d "$dir" ] || { say "$dir does not exist: nothing to stop"; return 0; }
  local cluster=$dir
  [ -f "$dir/cluster" ] && cluster=$(cat "$dir/cluster")
  if [ -f "$cluster/data/postmaster.pid" ]; then
    local bindir
    bindir=$(find_bindir) || die "pg_ctl not found"
    as_owner "$bindir/pg_ctl" -D "$cluster/data" -m fast -w stop >&2 || say "pg_ctl stop failed (already stopped?)"
  fi
  # Only delete what this script created: a folder with our cluster files, and DIR once it records one.
  if [ -f "$cluster/data/PG_VERSION" ] || [ -f "$cluster/initdb.log" ]; then
    rm -rf "$cluster"
  elif [ "$cluster" != "$dir" ]; then
    rmdir "$cluster" 2>/dev/null || true   # made, but initdb never ran
  fi
  [ -f "$dir/cluster" ] && rm -rf "$dir"
  if [ -e "$dir" ]; then
    say "$dir does not look like a cluster made by this script: left in place"
  else
    say "stopped and removed $cluster"
  fi
}

case "${1:-start}" in
  start) shift || true; start "${1:-}" ;;
  stop) shift; stop "${1:-}" ;;
  url) shift; cat "${1:?usage: $0 url DIR}/url" ;;
  -h|--help|help) sed -n '2,14p' "$0" ;;
  *) die "unknown command '$1' (start [DIR] | stop DIR | url DIR)" ;;
esac
