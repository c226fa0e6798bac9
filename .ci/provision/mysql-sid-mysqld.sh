#!/bin/sh
# Runs Oracle MySQL's mysqld from the Debian sid root of provision/mysql-sid.sh
# (${ROUTEMQ_CACHE:-$HOME/.cache/routemq}/mysql-sid) through the root's own dynamic
# loader, so it can be used as a host binary: `cargo xtask itest` gives it to the
# testkit as ROUTEMQ_TEST_MYSQLD, which starts it like any mysqld
# (`--no-defaults --initialize-insecure ...`, then `--no-defaults --port=... ...`).
# After a leading --no-defaults it adds the options that point mysqld at the root's
# files (messages, character sets, plugins) and an empty --secure-file-priv.
set -eu
root=${ROUTEMQ_CACHE:-$HOME/.cache/routemq}/mysql-sid
[ -f "$root/.routemq-complete" ] || {
  echo "mysql-sid-mysqld: no MySQL root at $root (run .ci/provision/mysql-sid.sh)" >&2
  exit 1
}
if [ "${1:-}" = --no-defaults ]; then
  shift
  set -- --no-defaults \
    --basedir="$root/usr" \
    --lc-messages-dir="$root/usr/share/mysql" \
    --character-sets-dir="$root/usr/share/mysql/charsets" \
    --plugin-dir="$root/usr/lib/mysql/plugin" \
    --secure-file-priv= \
    "$@"
fi
exec "$root/lib64/ld-linux-x86-64.so.2" \
  --library-path "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
  "$root/usr/sbin/mysqld" "$@"
