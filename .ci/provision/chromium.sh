#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver)
# for the dashboard's browser tests (crates/routemq-dashboard/tests/browser.rs, driven
# through routemq-testkit's `browser` module). Idempotent: does nothing when both are
# there. Runs as root without stdin (CI=true).
set -euo pipefail
log() { echo "provision/chromium: $*" >&2; }

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  log "present: $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
  exit 0
fi
log "installing chromium chromium-driver"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
log "installed: $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
