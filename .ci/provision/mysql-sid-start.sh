#!/usr/bin/env bash
# Initialises (first time) and starts Oracle MySQL from the root built by
# mysql-sid.sh (built here first when missing), in the background:
#
#   .ci/provision/mysql-sid-start.sh PORT DIR
#
# DIR holds everything of this server: DIR/data (datadir, initialised with
# --initialize-insecure: root@localhost without a password), DIR/mysqld.sock,
# DIR/mysqld.pid, DIR/mysqld.err. Listens on 127.0.0.1:PORT only (no X protocol,
# --secure-file-priv empty). The server runs from the root through the root's
# own dynamic loader, so DIR can be any host path. Once it answers, makes sure of
# a database `test` and a user routemq@'%' and routemq@'127.0.0.1' with the
# password ${ROUTEMQ_MYSQL_PASSWORD:-routemq-pass} (caching_sha2_password, every
# privilege: the test kit creates a schema per test).
#
# Idempotent: a server of DIR already answering on PORT is left running. Prints
# nothing on success; on failure prints diagnostics (the error log's tail) to
# stderr and exits non-zero. Stop the server with:
#   kill "$(cat DIR/mysqld.pid)"
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 PORT DIR" >&2
  exit 2
fi
PORT=$1
DIR=$2
PASSWORD=${ROUTEMQ_MYSQL_PASSWORD:-routemq-pass}
HERE=$(cd "$(dirname "$0")" && pwd)

build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
ROOT=$("$HERE/mysql-sid.sh" 2>"$build_log") || {
  cat "$build_log" >&2
  exit 1
}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

LIBS="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
run() { # BINARY ARGS...: a program of the root, through the root's loader
  local bin=$1
  shift
  "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$LIBS" "$ROOT$bin" "$@"
}
client() { # the root's mysql client, as root over the socket
  run /usr/bin/mysql --no-defaults --user=root --socket="$DIR/mysqld.sock" \
    --character-sets-dir="$ROOT/usr/share/mysql/charsets" --batch --skip-column-names "$@"
}
fail() {
  echo "mysql-sid-start: $*" >&2
  [ -f "$DIR/mysqld.err" ] && tail -n 30 "$DIR/mysqld.err" >&2
  exit 1
}

COMMON=(
  --no-defaults
  --user=root
  --basedir="$ROOT/usr"
  --lc-messages-dir="$ROOT/usr/share/mysql"
  --character-sets-dir="$ROOT/usr/share/mysql/charsets"
  --plugin-dir="$ROOT/usr/lib/mysql/plugin"
  --datadir="$DIR/data"
  --tmpdir="$DIR"
  --log-error="$DIR/mysqld.err"
)

if client -e 'SELECT 1' >/dev/null 2>&1; then
  live_port=$(client -e 'SELECT @@port' 2>/dev/null || true)
  [ "$live_port" = "$PORT" ] || fail "a server of $DIR already runs, on port $live_port"
else
  if [ ! -d "$DIR/data/mysql" ]; then
    rm -rf "$DIR/data"
    run /usr/sbin/mysqld "${COMMON[@]}" --initialize-insecure >/dev/null 2>&1 ||
      fail "mysqld --initialize-insecure failed"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    fail "port $PORT on 127.0.0.1 is already taken"
  fi
  setsid "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$LIBS" "$ROOT/usr/sbin/mysqld" "${COMMON[@]}" \
    --bind-address=127.0.0.1 --port="$PORT" --socket="$DIR/mysqld.sock" \
    --pid-file="$DIR/mysqld.pid" --mysqlx=OFF --secure-file-priv= \
    </dev/null >>"$DIR/mysqld.err" 2>&1 &
  disown
  up=
  for _ in $(seq 1 600); do
    if client -e 'SELECT 1' >/dev/null 2>&1; then
      up=1
      break
    fi
    sleep 0.1
  done
  [ -n "$up" ] || fail "mysqld did not answer on 127.0.0.1:$PORT within 60 s"
fi

client >/dev/null 2>"$DIR/setup.err" <<SQL || { cat "$DIR/setup.err" >&2; fail "creating user routemq / database test failed"; }
CREATE DATABASE IF NOT EXISTS test;
CREATE USER IF NOT EXISTS 'routemq'@'%' IDENTIFIED WITH caching_sha2_password BY '$PASSWORD';
CREATE USER IF NOT EXISTS 'routemq'@'127.0.0.1' IDENTIFIED WITH caching_sha2_password BY '$PASSWORD';
ALTER USER 'routemq'@'%' IDENTIFIED WITH caching_sha2_password BY '$PASSWORD';
ALTER USER 'routemq'@'127.0.0.1' IDENTIFIED WITH caching_sha2_password BY '$PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'routemq'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'routemq'@'127.0.0.1';
SQL
rm -f "$DIR/setup.err"
