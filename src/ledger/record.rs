//! Rows the gateway writes to the ledger and the shapes of cost queries.

use serde::{Deserialize, Serialize};

/// One row of `request_log`, one per request. Field order follows the columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    pub request_id: String,
    pub ts_ms: i64,
    /// UTC day of `ts_ms`, 'YYYY-MM-DD'.
    pub day: String,
    pub user_id: String,
    pub key_name: String,
    pub route: String,
    pub model: String,
    pub provider: String,
    pub template: String,
    pub version: String,
    pub status: i32,
    pub error: Option<String>,
    /// 'miss', 'hit', 'stale', 'shared', ...
    pub cache: String,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    /// Token counts were estimated rather than reported by the provider.
    pub estimated: bool,
    /// Cost in picodollars (1e-12 USD).
    pub cost_pico: i64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub output_chars: i64,
    pub guardrail_input_pass: bool,
    pub guardrail_output_pass: bool,
    pub guardrail_flags: String,
    pub tools_used: String,
    pub downgraded: bool,
}

/// One row of `feedback`; a later rating for the same request replaces it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedbackRecord {
    pub request_id: String,
    pub ts_ms: i64,
    pub rating: i32,
    pub comment: Option<String>,
}

/// What the writer thread receives (and what the overflow file holds, one JSON line each).
// Nearly every entry is a request, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Entry {
    Request(RequestRecord),
    Feedback(FeedbackRecord),
}

/// What a cost query groups by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// A single group keyed 'total'; always exactly one row, zeros when nothing matched.
    Total,
    User,
    Key,
    Model,
    /// template || '@' || version
    Template,
    Route,
    Day,
}

impl Dimension {
    /// Every grouping but the total, in the order reports list them.
    pub const ALL: [Dimension; 6] = [
        Dimension::User,
        Dimension::Key,
        Dimension::Model,
        Dimension::Template,
        Dimension::Route,
        Dimension::Day,
    ];

    /// The name a report gives the grouping.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Total => "total",
            Dimension::User => "by_user",
            Dimension::Key => "by_key",
            Dimension::Model => "by_model",
            Dimension::Template => "by_template",
            Dimension::Route => "by_route",
            Dimension::Day => "by_day",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostQuery {
    /// First day included, 'YYYY-MM-DD'.
    pub from_day: String,
    /// Last day included, 'YYYY-MM-DD'.
    pub to_day: String,
    /// Only this user's requests when set.
    pub user: Option<String>,
    pub by: Dimension,
}

/// One line of a cost report. Ordered by cost descending, then key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    pub key: String,
    pub requests: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub cost_pico: i64,
    /// Requests answered from cache: cache in ('hit', 'stale', 'shared').
    pub cache_hits: i64,
    /// Requests whose token counts were estimated.
    pub estimated: i64,
    /// Requests with status >= 400.
    pub errors: i64,
}
