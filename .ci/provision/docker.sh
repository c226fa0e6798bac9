#!/usr/bin/env bash
# A Docker engine for the testcontainers runs, and the local images they use.
#
# Idempotent: installs Debian's docker.io when dockerd is missing, starts the engine
# (`dockerd --bridge=none --iptables=false`, host networking only) when `docker info`
# does not answer, waits for it, then imports the local images (no container
# registry is reachable here, so they are built from root filesystems with
# `docker import`):
#   routemq-local/redis:5.0  redis-server 5.0.6 from provision/redis5.sh plus its libs
#   routemq-local/mysql:9.7  the Debian sid root of provision/mysql-sid.sh, with
#                            provision/mysql-entrypoint.sh (skipped,
#                            saying so, when that root is absent)
# An image that exists already is kept (ROUTEMQ_REIMPORT=1 imports it again).
# Runs as root without stdin (CI=true).
set -euo pipefail

cache="${ROUTEMQ_CACHE:-$HOME/.cache/routemq}"
redis_bin="$cache/redis-5.0.6/redis-server"
mysql_root="$cache/mysql-sid"
redis_tag="routemq-local/redis:5.0"
mysql_tag="routemq-local/mysql:9.7"
here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "provision/docker: $*" >&2; }
now() { date +%s; }

t0=$(now)
if ! command -v dockerd >/dev/null; then
  log "installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  log "docker.io installed in $(($(now) - t0)) s"
fi

t1=$(now)
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (--bridge=none --iptables=false)"
  mkdir -p /var/log
  # Detached from this shell: the engine outlives the provisioning script.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    >/var/log/routemq-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || {
    tail -n 30 /var/log/routemq-dockerd.log >&2
    log "the Docker engine did not answer within 60 s"
    exit 1
  }
  log "engine answers after $(($(now) - t1)) s (storage driver: $(docker info -f '{{.Driver}}'))"
else
  log "engine answers already"
fi

have_image() { [ -z "${ROUTEMQ_REIMPORT:-}" ] && docker image inspect "$1" >/dev/null 2>&1; }

# routemq-local/redis:5.0: the binary and the shared libraries ldd lists, nothing
# else. `redis-server` is on PATH as in the official image, so the testkit's
# command `redis-server --port P --bind 127.0.0.1 ...` works with both.
if have_image "$redis_tag"; then
  log "$redis_tag present"
elif [ ! -x "$redis_bin" ]; then
  log "skipping $redis_tag: $redis_bin is missing (run provision/redis5.sh)"
else
  t2=$(now)
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/data" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp "$redis_bin" "$rootfs/usr/local/bin/redis-server"
  [ -x "$(dirname "$redis_bin")/redis-cli" ] && cp "$(dirname "$redis_bin")/redis-cli" "$rootfs/usr/local/bin/"
  for lib in $(ldd "$redis_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  # The dynamic loader is found through /lib64 (or /lib) as on the host.
  [ -e /lib64 ] && [ -L /lib64 ] && ln -sfn "$(readlink /lib64)" "$rootfs/lib64" 2>/dev/null || true
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'WORKDIR /data' \
    --change 'CMD ["redis-server"]' \
    - "$redis_tag" >/dev/null
  rm -rf "$rootfs"
  docker run --rm --network host "$redis_tag" redis-server --version >&2
  log "$redis_tag imported in $(($(now) - t2)) s"
fi

# routemq-local/mysql:9.7: the sid root with an entrypoint that initialises an
# empty data directory (root without a password, like the official image's
# MYSQL_ALLOW_EMPTY_PASSWORD) and then runs the command.
if have_image "$mysql_tag"; then
  log "$mysql_tag present"
elif [ ! -f "$mysql_root/.routemq-complete" ]; then
  log "skipping $mysql_tag: no complete MySQL root at $mysql_root (provision/mysql-sid.sh builds it)"
else
  t3=$(now)
  # The entrypoint is added to the image, not to the root (which is shared).
  extra=$(mktemp -d)
  install -D -m 0755 "$here/mysql-entrypoint.sh" "$extra/usr/local/bin/routemq-mysql-entrypoint"
  tar -c -C "$mysql_root" . -C "$extra" ./usr/local/bin/routemq-mysql-entrypoint | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["/usr/local/bin/routemq-mysql-entrypoint"]' \
    --change 'CMD ["mysqld"]' \
    - "$mysql_tag" >/dev/null
  rm -rf "$extra"
  docker run --rm --network host --entrypoint mysqld "$mysql_tag" --version >&2
  log "$mysql_tag imported in $(($(now) - t3)) s"
fi
log "done in $(($(now) - t0)) s"
