#!/usr/bin/env bash
# The test command: fetches the embedding model when missing (the semantic cache, retrieval
# and embeddings tests use the real model), runs the unit and integration tests, then the
# official OpenAI Python SDK against a running Sluice (installed into .venv by
# scripts/sdk_check.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/fetch_model.sh
cargo test
scripts/sdk_check.sh
