#!/usr/bin/env bash
# The test command:
# - fetches the embedding model when missing (the semantic cache, retrieval and embeddings
#   tests use the real model);
# - starts a throwaway PostgreSQL (installed from Debian's packages when missing) for the
#   ledger's PostgreSQL tests, and stops it at the end;
# - runs the unit and integration tests;
# - runs the official OpenAI Python SDK against a running Sluice (scripts/sdk_check.sh);
# - loads the admin dashboard in headless Chromium against a running Sluice with traffic
#   (scripts/dashboard_check.sh), saving a screenshot to target/dashboard.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/fetch_model.sh

pg_out="$(scripts/postgres.sh start)"
pg_dir="$(sed -n 's/^dir=//p' <<<"$pg_out")"
trap 'scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
SLUICE_TEST_POSTGRES_URL="$(tail -n 1 <<<"$pg_out")"
export SLUICE_TEST_POSTGRES_URL

cargo test
scripts/sdk_check.sh
scripts/dashboard_check.sh "${CARGO_TARGET_DIR:-target}/dashboard.png"
