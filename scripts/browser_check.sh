#!/usr/bin/env bash
# Real-browser check of the admin dashboard against a running Sluice.
#
#   SLUICE_URL=http://127.0.0.1:8080 SLUICE_ADMIN_KEY=... scripts/browser_check.sh [OUT.png]
#
# Installs Debian's chromium when /usr/bin/chromium is missing (needs root) and playwright-core
# (pinned) into scripts/browser/node_modules when it is not there yet, then runs
# scripts/browser_check.mjs: 401 without the key, the page renders a live snapshot without console
# errors, the five tiles agree with /admin/stats, the actor and recent tables have rows, and a
# full-page screenshot is written to OUT.png (default target/dashboard.png).
# The server must already be running and have seen some traffic.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PLAYWRIGHT_VERSION="1.65.1"
BROWSER_DIR="$ROOT/scripts/browser"
CHROMIUM="/usr/bin/chromium"

log() { printf '[browser-check] %s\n' "$*" >&2; }
die() { printf 'browser-check: %s\n' "$*" >&2; exit 1; }

[[ -n "${SLUICE_URL:-}" ]] || die "set SLUICE_URL to the gateway base URL (e.g. http://127.0.0.1:8080)"
[[ -n "${SLUICE_ADMIN_KEY:-}" ]] || die "set SLUICE_ADMIN_KEY to the admin key"
OUT="${1:-target/dashboard.png}"

command -v node >/dev/null 2>&1 || die "node is required"
command -v npm >/dev/null 2>&1 || die "npm is required"

if [[ ! -x "$CHROMIUM" ]]; then
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends chromium
fi
[[ -x "$CHROMIUM" ]] || die "chromium is still missing at $CHROMIUM"

installed="$(node -p "require('$BROWSER_DIR/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$PLAYWRIGHT_VERSION" ]]; then
    log "installing playwright-core@$PLAYWRIGHT_VERSION into $BROWSER_DIR"
    mkdir -p "$BROWSER_DIR"
    # Keep npm from walking up into some parent package.json.
    [[ -f "$BROWSER_DIR/package.json" ]] || echo '{"private": true}' >"$BROWSER_DIR/package.json"
    npm install --prefix "$BROWSER_DIR" --no-audit --no-fund --no-save --loglevel=error \
        "playwright-core@$PLAYWRIGHT_VERSION"
fi

mkdir -p "$(dirname "$OUT")"
export BROWSER_CHECK_OUT="$OUT"
export BROWSER_CHECK_MODULES="$BROWSER_DIR/node_modules"
exec node "$ROOT/scripts/browser_check.mjs"
