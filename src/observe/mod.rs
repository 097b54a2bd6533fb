//! What the gateway tells about itself: live figures per window, Prometheus metrics, the JSON
//! log line, and the OpenTelemetry trace export.

pub mod jsonlog;
pub mod live;
pub mod metrics;
pub mod telemetry;

pub use live::{LiveStats, StatsReport};

use crate::{ledger::RequestRecord, money::Usd};

/// The request's log line: `request` at info, or `request failed` at warn for a 4xx or 5xx,
/// with the seed's fields (no prompt or answer text: they may hold personal data).
pub fn log_request(row: &RequestRecord, cost: Usd) {
    let error = row.error.as_deref().unwrap_or("");
    if row.status >= 400 {
        tracing::warn!(
            request_id = row.request_id.as_str(),
            user_id = row.user_id.as_str(),
            key = row.key_name.as_str(),
            route = row.route.as_str(),
            template = row.template.as_str(),
            version = row.version.as_str(),
            model = row.model.as_str(),
            status = row.status,
            latency_ms = row.latency_ms,
            guardrail_input_pass = row.guardrail_input_pass,
            error,
            "request failed"
        );
    } else {
        tracing::info!(
            request_id = row.request_id.as_str(),
            user_id = row.user_id.as_str(),
            key = row.key_name.as_str(),
            route = row.route.as_str(),
            template = row.template.as_str(),
            version = row.version.as_str(),
            model = row.model.as_str(),
            provider = row.provider.as_str(),
            input_tokens = row.input_tokens,
            cached_input_tokens = row.cached_input_tokens,
            output_tokens = row.output_tokens,
            estimated_usage = row.estimated,
            latency_ms = row.latency_ms,
            ttft_ms = row.ttft_ms,
            cache = row.cache.as_str(),
            cache_hit = row.cache_hit(),
            guardrail_input_pass = row.guardrail_input_pass,
            guardrail_output_pass = row.guardrail_output_pass,
            cost_usd = %cost,
            downgraded = row.downgraded,
            error,
            "request"
        );
    }
}
