//! Query texts shared by the SQLite and PostgreSQL backends.
//!
//! Rules that keep one text valid on both: placeholders are `$1..$n`, numbered in
//! order of first appearance (rusqlite binds positional values to them in that
//! order, and a repeated `$n` is the same parameter); booleans are INTEGER 0/1
//! (bind `i32`, PostgreSQL rejects an `i64` or `bool` for an INTEGER column); sums are
//! `CAST(SUM(..) AS BIGINT)` because PostgreSQL's SUM(bigint) is NUMERIC.

use super::record::Dimension;

/// The DDL, applied at open. Every statement is `IF NOT EXISTS`.
pub const SCHEMA: &str = include_str!("schema.sql");

/// Columns of `request_log` in the order of `RequestRecord`'s fields.
pub const REQUEST_COLUMNS: &str = "request_id, ts_ms, day, user_id, key_name, route, model, \
provider, template, version, status, error, cache, input_tokens, cached_input_tokens, \
cache_write_tokens, output_tokens, estimated, cost_pico, latency_ms, ttft_ms, output_chars, \
guardrail_input_pass, guardrail_output_pass, guardrail_flags, tools_used, downgraded, row_key";

/// Parameters per request row.
pub const REQUEST_PARAMS: usize = 28;

/// One request row; a replayed row (same `row_key`) is ignored.
pub const INSERT_REQUEST: &str = "INSERT INTO request_log (request_id, ts_ms, day, user_id, \
key_name, route, model, provider, template, version, status, error, cache, input_tokens, \
cached_input_tokens, cache_write_tokens, output_tokens, estimated, cost_pico, latency_ms, \
ttft_ms, output_chars, guardrail_input_pass, guardrail_output_pass, guardrail_flags, \
tools_used, downgraded, row_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28) \
ON CONFLICT (row_key) DO NOTHING";

/// `rows` request rows in one statement (`rows * 28` parameters, row after row).
/// Same semantics as `INSERT_REQUEST`, which equals `insert_requests(1)`; duplicate
/// ids inside one statement are fine because the conflict action is DO NOTHING.
/// Keep `rows * 28` under SQLite's 32766 and PostgreSQL's 65535 parameter limits.
pub fn insert_requests(rows: usize) -> String {
    let mut s = String::with_capacity(512 + rows * REQUEST_PARAMS * 6);
    s.push_str("INSERT INTO request_log (");
    s.push_str(REQUEST_COLUMNS);
    s.push_str(") VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..REQUEST_PARAMS {
            if c > 0 {
                s.push_str(", ");
            }
            n += 1;
            s.push('$');
            s.push_str(&n.to_string());
        }
        s.push(')');
    }
    s.push_str(" ON CONFLICT (row_key) DO NOTHING");
    s
}

/// A rating for a request; a later one replaces it. The WHERE keeps an older entry
/// (say, one replayed from the overflow file) from overwriting a newer rating.
pub const UPSERT_FEEDBACK: &str = "INSERT INTO feedback (request_id, ts_ms, rating, comment) \
VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO UPDATE SET ts_ms = excluded.ts_ms, \
rating = excluded.rating, comment = excluded.comment WHERE excluded.ts_ms >= feedback.ts_ms";

pub const SELECT_FEEDBACK: &str =
    "SELECT request_id, ts_ms, rating, comment FROM feedback WHERE request_id = $1";

/// One request row by id, columns in `REQUEST_COLUMNS` order.
pub const SELECT_REQUEST: &str = "SELECT request_id, ts_ms, day, user_id, key_name, route, \
model, provider, template, version, status, error, cache, input_tokens, cached_input_tokens, \
cache_write_tokens, output_tokens, estimated, cost_pico, latency_ms, ttft_ms, output_chars, \
guardrail_input_pass, guardrail_output_pass, guardrail_flags, tools_used, downgraded, row_key \
FROM request_log WHERE request_id = $1 ORDER BY ts_ms LIMIT 1";

pub const COUNT_REQUESTS: &str = "SELECT COUNT(*) FROM request_log";

/// The key expression of a dimension.
pub fn dimension_expr(by: Dimension) -> &'static str {
    match by {
        Dimension::Total => "'total'",
        Dimension::User => "user_id",
        Dimension::Key => "key_name",
        Dimension::Model => "model",
        Dimension::Template => "template || '@' || version",
        Dimension::Route => "route",
        Dimension::Day => "day",
    }
}

/// Cost report grouped by `by`. Parameters: $1 first day, $2 last day (both inclusive,
/// 'YYYY-MM-DD'), $3 user id or '' for all users. Columns: k, requests, input_tokens,
/// cached_input_tokens, cache_write_tokens, output_tokens, cost, cache_hits, estimated,
/// errors, all but k BIGINT. `Total` has no GROUP BY so it always yields one row
/// (hence the COALESCEs: SUM over no rows is NULL).
pub fn aggregate(by: Dimension) -> String {
    let group = if by == Dimension::Total {
        ""
    } else {
        " GROUP BY 1"
    };
    format!(
        "SELECT {k} AS k, COUNT(*) AS requests, \
COALESCE(CAST(SUM(input_tokens) AS BIGINT), 0) AS input_tokens, \
COALESCE(CAST(SUM(cached_input_tokens) AS BIGINT), 0) AS cached_input_tokens, \
COALESCE(CAST(SUM(cache_write_tokens) AS BIGINT), 0) AS cache_write_tokens, \
COALESCE(CAST(SUM(output_tokens) AS BIGINT), 0) AS output_tokens, \
COALESCE(CAST(SUM(cost_pico) AS BIGINT), 0) AS cost, \
COALESCE(CAST(SUM(CASE WHEN cache IN ('hit', 'stale', 'shared') THEN 1 ELSE 0 END) AS BIGINT), 0) AS cache_hits, \
COALESCE(CAST(SUM(estimated) AS BIGINT), 0) AS estimated, \
COALESCE(CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT), 0) AS errors \
FROM request_log WHERE day >= $1 AND day <= $2 AND ($3 = '' OR user_id = $3){group} \
ORDER BY cost DESC, k",
        k = dimension_expr(by),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_row_insert_matches_generator() {
        assert_eq!(insert_requests(1), INSERT_REQUEST);
        assert_eq!(REQUEST_COLUMNS.split(", ").count(), REQUEST_PARAMS);
        assert!(
            insert_requests(3).contains("($57, $58,")
                && insert_requests(3).ends_with("$84) ON CONFLICT (row_key) DO NOTHING")
        );
    }
}
