#!/usr/bin/env bash
# Builds (once) a Debian `sid` minbase root holding Oracle MySQL's server and client
# (`mysql-server-core`, `mysql-client-core`), for running the MySQL test suites on a
# machine whose own libc is too old for them. No container registry needed.
#
#   .ci/provision/mysql-sid.sh            # prints the root's path on stdout
#
# The root lives at ${ROUTEMQ_CACHE:-$HOME/.cache/routemq}/mysql-sid. It is built in a
# sibling `.tmp` directory and renamed into place only once mysqld runs from it, so an
# interrupted build is redone from scratch and a complete one is reused (a second run
# costs well under a second). Runs as root, never reads stdin. The Debian mirror is the
# one the machine's apt sources already name (deb.debian.org when none does).
# Start a server from the root with .ci/provision/mysql-sid-start.sh.
set -euo pipefail

log() { echo "mysql-sid: $*" >&2; }

CACHE=${ROUTEMQ_CACHE:-$HOME/.cache/routemq}
ROOT=$CACHE/mysql-sid
STAMP=$ROOT/.routemq-complete
PACKAGES=(mysql-server-core mysql-client-core)

if [ -f "$STAMP" ]; then
  echo "$ROOT"
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap, chroot)"; exit 1; }

mirror() { # the first Debian mirror named by the apt sources, else deb.debian.org
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' |
    grep -oE 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' | head -n1 | tr -d '[:space:]' || true)
  echo "${m:-http://deb.debian.org/debian}"
}

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null 2>&1 ||
    { apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null; }
fi

TMP=$ROOT.tmp
unmount_under() { # lazily unmount whatever an interrupted run left mounted below $1
  local m
  for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}
cleanup() { unmount_under "$TMP"; }
trap cleanup EXIT

unmount_under "$TMP"
rm -rf "$TMP"
[ -d "$ROOT" ] && { unmount_under "$ROOT"; rm -rf "$ROOT"; } # incomplete (no stamp)
mkdir -p "$CACHE"

MIRROR=$(mirror)
log "debootstrap sid (minbase) from $MIRROR into $TMP"
if ! debootstrap --variant=minbase sid "$TMP" "$MIRROR" </dev/null >"$CACHE/mysql-sid.debootstrap.log" 2>&1; then
  log "debootstrap failed; last lines of $CACHE/mysql-sid.debootstrap.log:"
  tail -n 20 "$CACHE/mysql-sid.debootstrap.log" >&2
  exit 1
fi

cp -L /etc/resolv.conf "$TMP/etc/resolv.conf" 2>/dev/null || true
# No service may start inside the root while packages are installed.
printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"
chmod +x "$TMP/usr/sbin/policy-rc.d"
log "installing ${PACKAGES[*]} into the root"
if ! chroot "$TMP" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c "apt-get install -y --no-install-recommends ${PACKAGES[*]}" </dev/null >"$CACHE/mysql-sid.apt.log" 2>&1; then
  log "apt-get install failed; last lines of $CACHE/mysql-sid.apt.log:"
  tail -n 20 "$CACHE/mysql-sid.apt.log" >&2
  exit 1
fi
chroot "$TMP" apt-get clean </dev/null >/dev/null 2>&1 || true

# The server must run from the root through the root's own loader (see mysql-sid-start.sh).
if ! "$TMP/lib64/ld-linux-x86-64.so.2" --library-path "$TMP/usr/lib/x86_64-linux-gnu:$TMP/lib/x86_64-linux-gnu" \
  "$TMP/usr/sbin/mysqld" --version >"$TMP/.routemq-mysqld-version" 2>&1; then
  log "mysqld from the new root does not run:"
  cat "$TMP/.routemq-mysqld-version" >&2
  exit 1
fi

unmount_under "$TMP"
touch "$TMP/.routemq-complete"
mv "$TMP" "$ROOT"
log "ready: $(cat "$ROOT/.routemq-mysqld-version")"
echo "$ROOT"
