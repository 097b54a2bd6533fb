#!/usr/bin/env bash
# The run command: fetches the embedding model when it is missing, then serves with
# ./config.toml (or the embedded copy). Arguments go to `sluice serve`'s command line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Without the model Sluice still runs, with the semantic cache and retrieval off.
scripts/fetch_model.sh || echo "run: the embedding model could not be fetched; starting without it" >&2
exec cargo run --release -- "$@"
