#!/usr/bin/env bash
# Benchmark: the gateway against a direct call to the same mock upstream, side by side.
#
#   scripts/bench.sh
#
# Builds the release binaries, starts `mock_upstream` (1 worker, no chunk delay),
# `sluice serve` (default workers) in front of it, and `bare_forward` (the floor: actix-web
# forwarding the bytes through hyper, no other work) on free loopback ports, then measures
# with wrk, for each concurrency in BENCH_CONCURRENCY (default "1 10 100"):
#   non-streaming POST /v1/chat/completions, direct-to-mock vs through-gateway vs the floor:
#   requests/s, p50, p99, non-2xx responses and socket errors.
# Then: the latency the gateway adds at c=1 (p50, p99), streaming time to first body
# byte (sequential requests on one keep-alive connection, median and p99) direct vs
# gateway, and the gateway's peak RSS (VmHWM) after the load. Ends with a markdown table, then
# the edge's own figures from `edge_bench`: the input guardrails on a 50,000-token document and
# the whole edge (keys, paces, context window, guardrails) on a short request; then
# `ledger_bench`: what cost accounting, the live stats, metrics and the log line add to a request,
# and the records per second the ledger stores (SQLite, and a throwaway PostgreSQL); then the
# semantic cache.
#
# Environment:
#   BENCH_SECS         seconds per wrk run (default 5)
#   BENCH_ROUNDS       rounds per concurrency (default 3): each round runs direct, gateway and
#                      floor back to back, so a slow spell of the VM hits all three; the report
#                      gives medians over the rounds, and added latency as the median of the
#                      rounds' own differences
#   BENCH_WARMUP_SECS  seconds of warm-up per target before measuring (default 2; 0 = none)
#   BENCH_CONCURRENCY  space-separated connection counts (default "1 10 100")
#   BENCH_TTFB_N       streaming requests per target for the TTFB figures (default 200)
#   BENCH_KEEP         1 = keep the temporary directory (configs, logs, raw wrk output)
#   SLUICE_API_KEY     client key sent to both targets (default sk-local)
#   BENCH_SLUICE_BIN   gateway binary to measure (default target/release/sluice)
#
# All traffic goes to 127.0.0.1; every loop is bounded; everything started is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

BENCH_SECS="${BENCH_SECS:-5}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_WARMUP_SECS="${BENCH_WARMUP_SECS:-2}"
BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-1 10 100}"
BENCH_TTFB_N="${BENCH_TTFB_N:-200}"
BENCH_KEEP="${BENCH_KEEP:-0}"
CLIENT_KEY="${SLUICE_API_KEY:-sk-local}"

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
for v in BENCH_SECS BENCH_ROUNDS BENCH_WARMUP_SECS BENCH_TTFB_N; do
    if ! is_uint "${!v}"; then
        echo "bench: $v must be a whole number, got '${!v}'" >&2
        exit 2
    fi
done
if (( BENCH_SECS < 1 || BENCH_ROUNDS < 1 || BENCH_TTFB_N < 1 )); then
    echo "bench: BENCH_SECS, BENCH_ROUNDS and BENCH_TTFB_N must be at least 1" >&2
    exit 2
fi
read -r -a CONCURRENCIES <<< "$BENCH_CONCURRENCY"
if (( ${#CONCURRENCIES[@]} == 0 )); then
    echo "bench: BENCH_CONCURRENCY is empty" >&2
    exit 2
fi
for c in "${CONCURRENCIES[@]}"; do
    if ! is_uint "$c" || (( c < 1 )); then
        echo "bench: bad concurrency '$c' in BENCH_CONCURRENCY" >&2
        exit 2
    fi
done

log() { printf '[bench] %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if (( ${#missing[@]} > 0 )); then
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is required" >&2; exit 1; }

# --- build --------------------------------------------------------------------------
log "building release binaries"
cargo build --release --bins
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MOCK_BIN="$TARGET_DIR/release/mock_upstream"
FLOOR_BIN="$TARGET_DIR/release/bare_forward"
SLUICE_BIN="${BENCH_SLUICE_BIN:-$TARGET_DIR/release/sluice}"
for b in "$MOCK_BIN" "$FLOOR_BIN" "$SLUICE_BIN"; do
    [[ -x "$b" ]] || { echo "bench: missing binary $b" >&2; exit 1; }
done

# --- processes and clean-up ---------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")"
MOCK_PID=""
GW_PID=""
CONC_PID=""
FLOOR_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$GW_PID"
    stop_pid "$CONC_PID"
    stop_pid "$FLOOR_PID"
    stop_pid "$MOCK_PID"
    if [[ "$BENCH_KEEP" == "1" ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dump_logs() {
    local f
    for f in "$WORK"/mock.log "$WORK"/gateway.log "$WORK"/floor.log; do
        if [[ -f "$f" ]]; then
            echo "---- last lines of $(basename "$f") ----" >&2
            tail -n 30 "$f" >&2 || true
        fi
    done
}

# Three distinct free loopback ports, chosen while all sockets are held.
read -r MOCK_PORT GW_PORT FLOOR_PORT < <(python3 - <<'PY'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
MOCK_URL="http://127.0.0.1:$MOCK_PORT"
GW_URL="http://127.0.0.1:$GW_PORT"
FLOOR_URL="http://127.0.0.1:$FLOOR_PORT"

# Wait until URL/health answers while PID lives (bounded); show the logs if it never does.
wait_ready() {
    if wait_http_ready "$1" "$2" "$3"; then
        log "$1 ready at $2"
    else
        dump_logs
        return 1
    fi
}

log "starting mock upstream on $MOCK_URL"
"$MOCK_BIN" --listen "127.0.0.1:$MOCK_PORT" --workers 1 --chunks 20 --chunk-delay-ms 0 \
    >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_ready "mock upstream" "$MOCK_URL" "$MOCK_PID"

cat >"$WORK/bench.toml" <<EOF
[server]
listen = "127.0.0.1:$GW_PORT"

[providers.bench]
kind = "openai"
base_url = "$MOCK_URL/v1"
api_key = "\${SLUICE_BENCH_KEY}"

[providers.bench.retry]
max_retries = 0

[models."gpt-4o-mini"]
provider = "bench"
input_per_mtok = 0.15
output_per_mtok = 0.60

[routes.default]
fallback = ["gpt-4o-mini"]

[cache]
enabled = false

# The proxy path is measured without the embedding model (loaded, it adds ~100 MB of RSS).
[embeddings]
backend = "off"
[store]
data_dir = "$WORK/data-main"

# The whole edge runs on every request: key lookup, request and token paces (high enough never
# to refuse), context window, guardrails.
[auth]
enabled = true
[[auth.keys]]
name = "bench"
key = "\${SLUICE_CLIENT_KEY}"
requests_per_minute = 1000000000
tokens_per_minute = 1000000000
EOF

log "starting gateway on $GW_URL"
SLUICE_CLIENT_KEY="$CLIENT_KEY" SLUICE_BENCH_KEY="sk-bench-local" "$SLUICE_BIN" serve --config "$WORK/bench.toml" \
    --listen "127.0.0.1:$GW_PORT" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
wait_ready "gateway" "$GW_URL" "$GW_PID"

log "starting the bare forwarder (the floor) on $FLOOR_URL"
"$FLOOR_BIN" --listen "127.0.0.1:$FLOOR_PORT" --upstream "$MOCK_URL" >"$WORK/floor.log" 2>&1 &
FLOOR_PID=$!
wait_ready "bare forwarder" "$FLOOR_URL" "$FLOOR_PID"

BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'

# One request through each target first: a benchmark of error responses is worthless.
for target in "$MOCK_URL" "$GW_URL" "$FLOOR_URL"; do
    status="$(curl -sS -o "$WORK/probe.json" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $CLIENT_KEY" \
        -d "$BODY" "$target/v1/chat/completions" || true)"
    if [[ "$status" != "200" ]] || ! grep -q '"content"' "$WORK/probe.json"; then
        echo "bench: probe of $target/v1/chat/completions answered HTTP $status:" >&2
        cat "$WORK/probe.json" >&2 || true
        echo >&2
        dump_logs
        exit 1
    fi
done
log "probe requests OK"

# --- wrk ----------------------------------------------------------------------------
LUA="$WORK/chat.lua"
cat >"$LUA" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $CLIENT_KEY"

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("SLUICE_RESULT %.1f %d %d %d %d %d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end
EOF

RESULTS="$WORK/results.tsv"
: >"$RESULTS"

run_wrk() {
    local label="$1" url="$2" conns="$3" secs="$4" threads=2 out line
    if (( conns == 1 )); then
        threads=1
    fi
    out="$WORK/wrk-$label-c$conns.txt"
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 5s --latency -s "$LUA" \
        "$url/v1/chat/completions" >"$out" 2>&1 || {
        echo "bench: wrk failed against $url" >&2
        cat "$out" >&2
        return 1
    }
    line="$(grep '^SLUICE_RESULT ' "$out" | tail -n 1 || true)"
    if [[ -z "$line" ]]; then
        echo "bench: no result line from wrk:" >&2
        cat "$out" >&2
        return 1
    fi
    # label conns rps p50_us p99_us non2xx sockerr requests
    printf '%s\t%s\t%s\n' "$label" "$conns" "$(cut -d' ' -f2- <<<"$line" | tr ' ' '\t')"
}

TARGETS=("direct $MOCK_URL" "gateway $GW_URL" "floor $FLOOR_URL")
for c in "${CONCURRENCIES[@]}"; do
    if (( BENCH_WARMUP_SECS > 0 )); then
        for pair in "${TARGETS[@]}"; do
            run_wrk "warmup-${pair%% *}" "${pair#* }" "$c" "$BENCH_WARMUP_SECS" >/dev/null
        done
    fi
    for round in $(seq 1 "$BENCH_ROUNDS"); do
        for pair in "${TARGETS[@]}"; do
            label="${pair%% *}"
            url="${pair#* }"
            log "wrk: $label c=$c round $round/$BENCH_ROUNDS for ${BENCH_SECS}s"
            row="$(run_wrk "$label" "$url" "$c" "$BENCH_SECS")"
            printf '%s\t%s\n' "$row" "$round" >>"$RESULTS"
            IFS=$'\t' read -r _ _ rps p50 p99 non2xx sockerr reqs <<<"$row"
            log "    $reqs requests, $rps req/s, p50 ${p50}us, p99 ${p99}us, non-2xx $non2xx, socket errors $sockerr"
        done
    done
done

# --- streaming time to first byte ---------------------------------------------------
TTFB_PY="$WORK/ttfb.py"
cat >"$TTFB_PY" <<'PY'
"""Time to the first body byte of streaming chat completions, sequential, one keep-alive connection."""
import http.client
import json
import sys
import time

host, port, n, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = json.dumps({
    "model": "gpt-4o-mini",
    "stream": True,
    "stream_options": {"include_usage": True},
    "messages": [{"role": "user", "content": "Say hello"}],
})
headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}",
           "Accept": "text/event-stream"}
conn = http.client.HTTPConnection(host, port, timeout=10)


def one():
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
    resp = conn.getresponse()
    first = resp.read(1)
    t1 = time.perf_counter()
    rest = resp.read()
    if resp.status != 200 or not first:
        raise SystemExit(f"ttfb: HTTP {resp.status}: {(first + rest)[:300]!r}")
    if b"[DONE]" not in rest:
        raise SystemExit(f"ttfb: stream did not end with [DONE]: {(first + rest)[-300:]!r}")
    return t1 - t0


for _ in range(min(10, n)):  # warm-up, not measured
    one()
samples = sorted(one() for _ in range(n))
median = samples[len(samples) // 2] if len(samples) % 2 else \
    (samples[len(samples) // 2 - 1] + samples[len(samples) // 2]) / 2
p99 = samples[max(0, -(-99 * len(samples) // 100) - 1)]  # nearest rank
print(f"{median * 1000:.3f} {p99 * 1000:.3f}")
PY

stop_pid "$FLOOR_PID"
FLOOR_PID=""

log "streaming TTFB: $BENCH_TTFB_N sequential requests per target"
ttfb() {
    local name="$1" port="$2" out
    if ! out="$(python3 "$TTFB_PY" 127.0.0.1 "$port" "$BENCH_TTFB_N" "$CLIENT_KEY")" || [[ -z "$out" ]]; then
        echo "bench: TTFB measurement against the $name failed" >&2
        dump_logs
        return 1
    fi
    printf '%s\n' "$out"
}
TTFB_DIRECT="$(ttfb "mock upstream" "$MOCK_PORT")"
TTFB_GW="$(ttfb gateway "$GW_PORT")"
read -r TTFB_DIRECT_MED TTFB_DIRECT_P99 <<<"$TTFB_DIRECT"
read -r TTFB_GW_MED TTFB_GW_P99 <<<"$TTFB_GW"
log "    direct median ${TTFB_DIRECT_MED} ms, p99 ${TTFB_DIRECT_P99} ms; gateway median ${TTFB_GW_MED} ms, p99 ${TTFB_GW_P99} ms"

# --- no serialisation: 100 concurrent calls to one slow model vs one ----------------
# A second gateway whose one model is the mock provider with 200 ms of latency: if any actor
# mailbox serialised the calls, 100 concurrent requests would take ~100 × 200 ms.
CONC_PORT="$(free_port)"
cat >"$WORK/concurrency.toml" <<EOF
[server]
listen = "127.0.0.1:$CONC_PORT"
[providers.sim]
kind = "mock"
latency_ms = 200
[models."slow-model"]
provider = "sim"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.default]
fallback = ["slow-model"]
[cache]
enabled = false
[embeddings]
backend = "off"
[store]
data_dir = "$WORK/data-conc"
[auth]
enabled = false
EOF
RUST_LOG=warn "$SLUICE_BIN" serve --config "$WORK/concurrency.toml" >"$WORK/concurrency.log" 2>&1 &
CONC_PID=$!
wait_ready "concurrency gateway" "http://127.0.0.1:$CONC_PORT" "$CONC_PID"
CONC_PY="$WORK/concurrency.py"
cat >"$CONC_PY" <<'PY'
"""Wall time of 1 request, then of N concurrent requests (one connection each), to one model."""
import http.client
import json
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])


def call(i, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"model": "slow-model", "messages": [{"role": "user", "content": f"q{i}"}]})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    out[i] = resp.status


def timed(k):
    out = [0] * k
    threads = [threading.Thread(target=call, args=(i, out)) for i in range(k)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if any(s != 200 for s in out):
        raise SystemExit(f"concurrency: non-200 answers: {sorted(set(out))}")
    return elapsed


timed(1)  # warm-up
one = timed(1)
many = timed(n)
print(f"{one * 1000:.1f} {many * 1000:.1f}")
PY
read -r CONC_ONE_MS CONC_MANY_MS < <(python3 "$CONC_PY" "$CONC_PORT" 100)
stop_pid "$CONC_PID"
log "    1 request ${CONC_ONE_MS} ms; 100 concurrent ${CONC_MANY_MS} ms (mock model, 200 ms latency)"

# --- peak memory --------------------------------------------------------------------
if ! kill -0 "$GW_PID" 2>/dev/null; then
    echo "bench: the gateway died during the run" >&2
    dump_logs
    exit 1
fi
HWM_KB="$(awk '/^VmHWM:/ {print $2}' "/proc/$GW_PID/status")"
RSS_KB="$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status")"

# --- report -------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain 2>/dev/null || true)" ]]; then
    COMMIT="$COMMIT (dirty)"
fi

python3 - "$RESULTS" "$BENCH_SECS" "$BENCH_ROUNDS" "$BENCH_TTFB_N" "$TTFB_DIRECT_MED" "$TTFB_DIRECT_P99" \
    "$TTFB_GW_MED" "$TTFB_GW_P99" "$HWM_KB" "$RSS_KB" "$COMMIT" "$(nproc)" \
    "$CONC_ONE_MS" "$CONC_MANY_MS" <<'PY'
import statistics
import sys

(results, secs, rounds, ttfb_n, td_med, td_p99, tg_med, tg_p99, hwm_kb, rss_kb, commit,
 cores, conc_one, conc_many) = sys.argv[1:]
runs = {}  # (label, conns) -> {round: figures}
order = []
with open(results) as f:
    for line in f:
        label, conns, rps, p50, p99, non2xx, sockerr, reqs, rnd = line.rstrip("\n").split("\t")
        conns = int(conns)
        if conns not in order:
            order.append(conns)
        runs.setdefault((label, conns), {})[int(rnd)] = dict(
            rps=float(rps), p50=int(p50) / 1000, p99=int(p99) / 1000,
            non2xx=int(non2xx), sockerr=int(sockerr), reqs=int(reqs))


def med(label, conns, key):
    return statistics.median(r[key] for r in runs[(label, conns)].values())


def errs(label, conns):
    rs = runs[(label, conns)].values()
    return f"{sum(r['non2xx'] for r in rs)} / {sum(r['sockerr'] for r in rs)}"


def added(label, conns, key):
    """Median over the rounds of (label - direct) within each round."""
    a, d = runs.get((label, conns), {}), runs.get(("direct", conns), {})
    diffs = [a[r][key] - d[r][key] for r in a if r in d]
    return statistics.median(diffs) if diffs else float("nan")


def has(label, conns):
    return (label, conns) in runs


print()
print(f"## Sluice benchmark ({commit}, {cores} cores, wrk {secs}s per run, {rounds} rounds, "
      "mock upstream 1 worker, gateway default workers, same machine)")
print()
print(f"Non-streaming `POST /v1/chat/completions`, medians of {rounds} rounds (each round runs "
      "direct, gateway and floor back to back); errors summed:")
print()
print("| conns | direct req/s | gateway req/s | gateway/direct | direct p50 ms | gateway p50 ms "
      "| direct p99 ms | gateway p99 ms | direct non-2xx / sock err | gateway non-2xx / sock err |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in order:
    if not (has("direct", c) and has("gateway", c)):
        continue
    d_rps, g_rps = med("direct", c, "rps"), med("gateway", c, "rps")
    ratio = g_rps / d_rps if d_rps else 0.0
    print(f"| {c} | {d_rps:.0f} | {g_rps:.0f} | {ratio:.0%} | {med('direct', c, 'p50'):.3f} "
          f"| {med('gateway', c, 'p50'):.3f} | {med('direct', c, 'p99'):.3f} "
          f"| {med('gateway', c, 'p99'):.3f} | {errs('direct', c)} | {errs('gateway', c)} |")
print()
print("| measure | direct | gateway | added by gateway |")
print("|---|---:|---:|---:|")
if has("direct", 1) and has("gateway", 1):
    for key in ("p50", "p99"):
        print(f"| latency {key}, c=1 (ms) | {med('direct', 1, key):.3f} | {med('gateway', 1, key):.3f} "
              f"| {added('gateway', 1, key):+.3f} |")
td_med, td_p99, tg_med, tg_p99 = map(float, (td_med, td_p99, tg_med, tg_p99))
print(f"| streaming TTFB median, {ttfb_n} seq. req. (ms) | {td_med:.3f} | {tg_med:.3f} | {tg_med - td_med:+.3f} |")
print(f"| streaming TTFB p99, {ttfb_n} seq. req. (ms) | {td_p99:.3f} | {tg_p99:.3f} | {tg_p99 - td_p99:+.3f} |")
print(f"| gateway peak RSS, VmHWM (MB) | | {int(hwm_kb) / 1024:.1f} | (VmRSS now {int(rss_kb) / 1024:.1f}) |")
if has("direct", 1) and has("floor", 1):
    for key in ("p50", "p99"):
        print(f"| floor: bare forwarder, latency {key}, c=1 (ms) | {med('direct', 1, key):.3f} "
              f"| {med('floor', 1, key):.3f} | {added('floor', 1, key):+.3f} |")
floors = [c for c in order if has("floor", c)]
if floors:
    print()
    print("The floor (`bare_forward`: actix-web forwarding the bytes through hyper, no parsing, auth, "
          "guardrails, accounting or logging), medians: "
          + "; ".join(f"c={c} {med('floor', c, 'rps'):.0f} req/s, p50 {med('floor', c, 'p50'):.3f} ms, "
                      f"p99 {med('floor', c, 'p99'):.3f} ms" for c in floors) + ".")
print()
print("Every round (req/s; p50 ms):")
print()
for c in order:
    cells = []
    for label in ("direct", "gateway", "floor"):
        if has(label, c):
            cells.append(f"{label} " + ", ".join(
                f"{r['rps']:.0f}; {r['p50']:.3f}" for _, r in sorted(runs[(label, c)].items())))
    print(f"    c={c}: " + " | ".join(cells))
print()
print(f"One model with 200 ms of simulated latency: 1 request {float(conc_one):.0f} ms, "
      f"100 concurrent requests {float(conc_many):.0f} ms (no mailbox serialises upstream calls).")
print()
errors = sum(r["non2xx"] + r["sockerr"] for rs in runs.values() for r in rs.values())
if errors:
    print(f"WARNING: {errors} non-2xx responses or socket errors in total: the figures above are suspect.")
PY

# --- the edge, in-process -----------------------------------------------------------
echo
echo "The edge in-process (release edge_bench: the gateway's own code and default rules):"
echo
"$TARGET_DIR/release/edge_bench" | sed 's/^/    /'

# --- the accounting path and the ledger ------------------------------------------------
echo
echo "Cost, logging, metrics and the ledger (release ledger_bench, in-process; PostgreSQL from scripts/postgres.sh):"
echo
PG_DIR=""
if PG_OUT="$(scripts/postgres.sh start 2>/dev/null)"; then
    PG_DIR="$(sed -n 's/^dir=//p' <<<"$PG_OUT")"
    SLUICE_BENCH_POSTGRES_URL="$(tail -n 1 <<<"$PG_OUT")" "$TARGET_DIR/release/ledger_bench" | sed 's/^/    /'
    scripts/postgres.sh stop "$PG_DIR" >/dev/null 2>&1 || true
else
    echo "    (no PostgreSQL: SQLite only)"
    "$TARGET_DIR/release/ledger_bench" | sed 's/^/    /'
fi

# --- the semantic cache --------------------------------------------------------------
echo
echo "The semantic cache (release cache_bench in-process, then a gateway with the real model):"
echo
"$TARGET_DIR/release/cache_bench" | sed 's/^/    /'
scripts/fetch_model.sh >/dev/null
SEM_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$WORK/semantic.toml" <<EOF
[server]
listen = "127.0.0.1:$SEM_PORT"
[providers.sim]
kind = "mock"
latency_ms = 0
token_delay_ms = 0
[models."gpt-4o"]
provider = "sim"
input_per_mtok = 2.50
output_per_mtok = 10.00
[routes.default]
fallback = ["gpt-4o"]
[cache]
enabled = true
[embeddings]
backend = "local"
model_dir = "$ROOT/models/all-MiniLM-L6-v2"
[store]
data_dir = "$WORK/data-semantic"
[auth]
enabled = false
EOF
RUST_LOG=warn "$SLUICE_BIN" serve --config "$WORK/semantic.toml" >"$WORK/semantic.log" 2>&1 &
CONC_PID=$!
wait_ready "semantic gateway" "http://127.0.0.1:$SEM_PORT" "$CONC_PID"
python3 - "$SEM_PORT" "$ROOT/tests/data/paraphrase_pairs.tsv" <<'PY' | sed 's/^/    /'
"""Replays 1,000 questions drawn with repeats and paraphrases, then times exact-path hits."""
import http.client
import json
import random
import statistics
import sys
import time

port, pairs_path = int(sys.argv[1]), sys.argv[2]
intents = []  # each intent: the wordings that share one answer
for line in open(pairs_path, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    label, a, b = line.rstrip("\n").split("\t")
    intents.append([a, b] if label == "para" else [a])
    if label == "near":
        intents.append([b])
rng = random.Random(42)
weights = [1.0 / (i + 1) ** 0.8 for i in range(len(intents))]  # a few popular questions
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def ask(q):
    body = json.dumps({"model": "default", "messages": [{"role": "user", "content": q}]})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"replay: HTTP {r.status}")
    return r.getheader("x-sluice-cache"), float(r.getheader("x-sluice-cost-usd") or 0)


hits = paid = 0
spent = 0.0
for _ in range(1000):
    intent = rng.choices(intents, weights)[0]
    q = rng.choice(intent)
    if rng.random() < 0.3:
        q = q.lower() + "?"
    status, cost = ask(q)
    hits += status == "hit"
    spent += cost
conn.request("GET", "/v1/cache/stats")
stats = json.loads(conn.getresponse().read())["stats"]
saved = stats["saved_usd"]
print(f"replayed 1,000 questions ({len(intents)} intents, Zipf-like repeats, wordings mixed): "
      f"cached share {hits / 10:.1f}% ({stats['semantic_hits']} semantic hits), "
      f"spent ${spent:.4f}, saved ${saved:.4f} ({100 * saved / max(spent + saved, 1e-12):.1f}% of the bill)")
times = []
for _ in range(300):
    t = time.perf_counter()
    status, _ = ask("What is the capital of France?")
    times.append((time.perf_counter() - t) * 1000)
    assert status in ("hit", "miss")
times = sorted(times[20:])
print(f"cache hit end to end, exact path (HTTP on one keep-alive connection, client-side): "
      f"p50 {statistics.median(times):.3f} ms, p99 {times[int(len(times) * 0.99) - 1]:.3f} ms")
PY
stop_pid "$CONC_PID"
