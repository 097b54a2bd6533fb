#!/usr/bin/env bash
# Run scripts/sdk_check.py (the official openai Python SDK) against a local Sluice.
#
#   scripts/sdk_check.sh
#
# Creates or reuses the venv .venv in the repository root with `openai>=1.40`, builds
# the debug `sluice`, starts it with config.toml on a free loopback port and with
# OPENAI_API_KEY and ANTHROPIC_API_KEY unset (so the built-in mock provider answers),
# waits for /health, runs the check, stops the server and exits with the check's status.
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

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$SERVER_PID"
    if (( rc != 0 )) && [[ -s "$LOG" ]]; then
        echo "---- last lines of the server log ----" >&2
        tail -n 40 "$LOG" >&2 || true
    fi
    rm -f "$LOG"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting $SLUICE_BIN on $URL"
env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY \
    "$SLUICE_BIN" serve --config config.toml --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!

wait_http_ready "sluice" "$URL" "$SERVER_PID"
log "sluice ready"

# Its exit status is the script's (set -e, then the EXIT trap stops the server).
"$VENV/bin/python" scripts/sdk_check.py --base-url "$URL/v1"
