#!/usr/bin/env bash
# Fuzzes the guardrail engine and the request parser with cargo-fuzz (libFuzzer), each for a
# bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s; guardrails request_parser)
#
# Installs what it needs on first use: the nightly toolchain (cargo-fuzz builds with sanitizers)
# and cargo-fuzz. The targets live in scripts/fuzz (passed as --fuzz-dir); the guardrails target
# is seeded with the labelled injection corpus. A crash leaves its input in
# scripts/fuzz/artifacts/TARGET/ and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(guardrails request_parser)
fi

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-fuzz-target}"

seed_dir=scripts/fuzz/corpus/guardrails
if [ ! -d "$seed_dir" ]; then
    mkdir -p "$seed_dir"
    n=0
    while IFS=$'\t' read -r _label text; do
        n=$((n + 1))
        # The first byte picks the chunk size; the rest is the text.
        printf '\003%s' "$text" > "$seed_dir/corpus-$n"
    done < tests/data/injection_corpus.tsv
fi
mkdir -p scripts/fuzz/corpus/request_parser
printf '%s' '{"model":"default","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","required":["a"]}}}}' \
    > scripts/fuzz/corpus/request_parser/seed-1

for t in "${targets[@]}"; do
    echo "fuzz: $t for ${secs}s"
    log="$CARGO_TARGET_DIR/fuzz-$t.log"
    mkdir -p "$CARGO_TARGET_DIR"
    status=0
    cargo +nightly fuzz run --fuzz-dir scripts/fuzz "$t" -- -max_total_time="$secs" -max_len=4096 \
        >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|==[0-9]+== ERROR|SUMMARY|thread .* panicked|Test unit written|error(\[|:))' "$log" || tail -20 "$log"
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $t FAILED (see scripts/fuzz/artifacts/$t/)"
        exit "$status"
    fi
done
echo "fuzz: all targets ran ${secs}s without a failure"
