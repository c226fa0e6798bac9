#!/bin/sh
# Entrypoint of the routemq-local/mysql image (a Debian sid root with
# mysql-server-core, imported by provision/docker.sh). Like the official image with
# MYSQL_ALLOW_EMPTY_PASSWORD: when the command is mysqld and the data directory is
# empty, it is initialised first (root@localhost without a password), then the
# command runs. Options naming --datadir/--user are taken from the command line.
set -eu
if [ "${1:-}" = mysqld ]; then
  datadir=/var/lib/mysql
  user=root
  for arg in "$@"; do
    case "$arg" in
      --datadir=*) datadir=${arg#--datadir=} ;;
      --user=*) user=${arg#--user=} ;;
    esac
  done
  # /var/lib/mysql-files: the default --secure-file-priv, which must exist.
  mkdir -p "$datadir" /var/run/mysqld /var/lib/mysql-files /tmp
  if [ -z "$(ls -A "$datadir" 2>/dev/null)" ]; then
    echo "routemq-mysql-entrypoint: initialising $datadir" >&2
    mysqld --no-defaults --initialize-insecure --user="$user" --datadir="$datadir" \
      --log-error-verbosity=1
  fi
  shift
  exec mysqld --no-defaults --user="$user" --datadir="$datadir" "$@"
fi
exec "$@"
