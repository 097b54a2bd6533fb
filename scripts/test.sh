#!/usr/bin/env bash
# The test command: unit and integration tests, then the official OpenAI Python SDK against a
# running Sluice (installed into .venv by scripts/sdk_check.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo test
scripts/sdk_check.sh
