#!/usr/bin/env bash
# Helpers shared by the scripts that start servers: free ports, readiness, clean stops.
# Source it; it defines functions only.

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits (bounded, ~30 s) until URL/health answers while PID lives; returns 1 otherwise.
wait_http_ready() {
    local name="$1" url="$2" pid="$3" _
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited during start-up" >&2
            return 1
        fi
        if curl -fsS -o /dev/null --max-time 1 "$url/health" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "$name not ready at $url after 30 s" >&2
    return 1
}

# Stops PID with SIGTERM, then SIGKILL after ~5 s; quiet if it is already gone.
stop_pid() {
    local pid="$1" _
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
