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

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
LOG="$(mktemp "${TMPDIR:-/tmp}/sluice-sdk-check.XXXXXX")"
SERVER_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
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

ready=0
for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "sdk-check: sluice exited during start-up" >&2
        exit 1
    fi
    if curl -fsS -o /dev/null --max-time 1 "$URL/health" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
if (( ready == 0 )); then
    echo "sdk-check: sluice not ready at $URL/health after 30 s" >&2
    exit 1
fi
log "sluice ready"

# Its exit status is the script's (set -e, then the EXIT trap stops the server).
"$VENV/bin/python" scripts/sdk_check.py --base-url "$URL/v1"
