-- The request log: one row per request. It is also the cost ledger (tokens by kind and the
-- cost in picodollars, 10^-12 USD) and the eval record (latency, time to first token, output
-- length, guardrail verdicts, tools used). The same text runs on SQLite and on PostgreSQL.
CREATE TABLE IF NOT EXISTS request_log (
    request_id TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key_name TEXT NOT NULL,
    route TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    template TEXT NOT NULL,
    version TEXT NOT NULL,
    status INTEGER NOT NULL,
    error TEXT,
    cache TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    estimated INTEGER NOT NULL,
    cost_pico BIGINT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    ttft_ms DOUBLE PRECISION,
    output_chars BIGINT NOT NULL,
    guardrail_input_pass INTEGER NOT NULL,
    guardrail_output_pass INTEGER NOT NULL,
    guardrail_flags TEXT NOT NULL,
    tools_used TEXT NOT NULL,
    downgraded INTEGER NOT NULL,
    -- The ledger's own key: time-ordered, so inserts append instead of landing on random
    -- pages, and unique per row, so a client reusing an x-request-id never loses a row while a
    -- replayed row (the overflow file) is still recognised.
    row_key TEXT PRIMARY KEY
);
-- Every query selects a range of days (and maybe a user); no other index is kept, since each
-- one costs the writer on every row.
CREATE INDEX IF NOT EXISTS request_log_day_user ON request_log (day, user_id);

-- User ratings (POST /v1/feedback); a later rating of the same request replaces the earlier.
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT PRIMARY KEY,
    ts_ms BIGINT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT
);
