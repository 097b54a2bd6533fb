#!/usr/bin/env bash
# Run scripts/sdk_check.py (the official openai Python SDK) against a local Sluice.
#
#   scripts/sdk_check.sh
#
# Creates or reuses the venv .venv in the repository root with `openai>=1.40`, builds
# the debug `sluice`, starts it with config.toml on a free loopback port and with
# OPENAI_API_KEY and ANTHROPIC_API_KEY unset (so the built-in mock provider answers),
# and a second one with auth on (one key, 2 requests per minute, from a generated config),
# waits for /health, runs the check, stops the servers and exits with the check's status.
#
# Environment: SLUICE_API_KEY is passed through to the check (default sk-local).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

log() { printf '[sdk-check] %s\n' "$*" >&2; }

command -v python3 >/dev/null 2>&1 || { echo "sdk-check: python3 is required" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "sdk-check: curl is required" >&2; exit 1; }

VENV="$ROOT/.venv"
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import openai' >/dev/null 2>&1; then
    log "installing the openai SDK into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'openai>=1.40'
fi

log "building target/debug/sluice"
cargo build --bin sluice
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SLUICE_BIN="$TARGET_DIR/debug/sluice"
[[ -x "$SLUICE_BIN" ]] || { echo "sdk-check: missing binary $SLUICE_BIN" >&2; exit 1; }

PORT="$(free_port)"
URL="http://127.0.0.1:$PORT"
LOG="$(mktemp "${TMPDIR:-/tmp}/sluice-sdk-check.XXXXXX")"
SERVER_PID=""
AUTH_PORT="$(free_port)"
AUTH_URL="http://127.0.0.1:$AUTH_PORT"
AUTH_LOG="$(mktemp "${TMPDIR:-/tmp}/sluice-sdk-check-auth.XXXXXX")"
AUTH_CONFIG="$(mktemp "${TMPDIR:-/tmp}/sluice-sdk-check-auth.XXXXXX.toml")"
AUTH_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$SERVER_PID"
    stop_pid "$AUTH_PID"
    if (( rc != 0 )); then
        for f in "$LOG" "$AUTH_LOG"; do
            if [[ -s "$f" ]]; then
                echo "---- last lines of $(basename "$f") ----" >&2
                tail -n 40 "$f" >&2 || true
            fi
        done
    fi
    rm -f "$LOG" "$AUTH_LOG" "$AUTH_CONFIG"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting $SLUICE_BIN on $URL"
env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY \
    "$SLUICE_BIN" serve --config config.toml --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!

# A second gateway with auth on: one key, two requests per minute, so the SDK meets a 401 and a
# 429 as OpenAI would send them.
cat >"$AUTH_CONFIG" <<'EOF'
[providers.mock]
kind = "mock"
[models."gpt-4o-mini"]
provider = "mock"
input_per_mtok = 0.15
output_per_mtok = 0.60
[routes.default]
fallback = ["gpt-4o-mini"]
[cache]
enabled = false
[auth]
enabled = true
[[auth.keys]]
name = "sdk-check"
key = "${SDK_CHECK_KEY}"
requests_per_minute = 2
EOF
AUTH_KEY="sk-sdk-check-$RANDOM$RANDOM"
SDK_CHECK_KEY="$AUTH_KEY" "$SLUICE_BIN" serve --config "$AUTH_CONFIG" \
    --listen "127.0.0.1:$AUTH_PORT" >"$AUTH_LOG" 2>&1 &
AUTH_PID=$!

wait_http_ready "sluice" "$URL" "$SERVER_PID"
wait_http_ready "sluice with auth" "$AUTH_URL" "$AUTH_PID"
log "both gateways ready"

# Its exit status is the script's (set -e, then the EXIT trap stops the servers).
SDK_CHECK_KEY="$AUTH_KEY" "$VENV/bin/python" scripts/sdk_check.py --base-url "$URL/v1" \
    --auth-base-url "$AUTH_URL/v1"
