//! Rows the gateway writes to the ledger and the shapes of cost queries.

use serde::{Deserialize, Serialize};

/// One row of `request_log`, one per request: its log line, ledger entry and eval record.
/// Field order follows the columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    /// Request id.
    pub request_id: String,
    /// When it finished, Unix milliseconds.
    pub ts_ms: i64,
    /// UTC day of `ts_ms`, 'YYYY-MM-DD' (budgets and sums are per day).
    pub day: String,
    /// User id.
    pub user_id: String,
    /// Virtual key name (empty without auth).
    pub key_name: String,
    /// What the client asked for: a route or a model.
    pub route: String,
    /// The model that answered (`cache` for cache hits, `none` when none did).
    pub model: String,
    /// Its provider (empty when none).
    pub provider: String,
    /// Prompt template (`none` for raw chat).
    pub template: String,
    /// Template version.
    pub version: String,
    /// HTTP status given to the client (499: the client left first).
    pub status: i32,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Cache participation: 'off', 'miss', 'hit', 'stale', 'shared'.
    pub cache: String,
    /// Input tokens, cached and cache-write ones included.
    pub input_tokens: i64,
    /// Of which read from the provider's prompt cache.
    pub cached_input_tokens: i64,
    /// Of which written to the provider's prompt cache.
    pub cache_write_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Token counts were estimated rather than reported by the provider.
    pub estimated: bool,
    /// Cost in picodollars (1e-12 USD).
    pub cost_pico: i64,
    /// Arrival to end, ms.
    pub latency_ms: f64,
    /// Arrival to the first token, ms (streams).
    pub ttft_ms: Option<f64>,
    /// Characters of the answer.
    pub output_chars: i64,
    /// Whether the input guardrails let it through.
    pub guardrail_input_pass: bool,
    /// Whether the output guardrails let the answer through.
    pub guardrail_output_pass: bool,
    /// Guardrail findings, comma-separated (`pii:email`, `input_blocked`, `format_invalid` …).
    pub guardrail_flags: String,
    /// Gateway tools run, comma-separated.
    pub tools_used: String,
    /// Whether the budget sent it to a cheaper model.
    pub downgraded: bool,
    /// The ledger's unique, time-ordered key; [`crate::ledger::Ledger::record`] fills it in
    /// when empty.
    #[serde(default)]
    pub row_key: String,
}

impl RequestRecord {
    /// Whether the answer came from the cache (a hit, a stale answer, or a shared flight);
    /// the SQL sums count the same three.
    pub fn cache_hit(&self) -> bool {
        matches!(self.cache.as_str(), "hit" | "stale" | "shared")
    }

    /// The 0/1 columns (both databases store booleans as integers): estimated,
    /// guardrail_input_pass, guardrail_output_pass, downgraded.
    pub fn bool_columns(&self) -> [i32; 4] {
        [
            i32::from(self.estimated),
            i32::from(self.guardrail_input_pass),
            i32::from(self.guardrail_output_pass),
            i32::from(self.downgraded),
        ]
    }
}

/// One row of `feedback`; a later rating for the same request replaces it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedbackRecord {
    /// The rated request.
    pub request_id: String,
    /// When, Unix milliseconds.
    pub ts_ms: i64,
    /// 1 to 5.
    pub rating: i32,
    /// Free text, PII redacted.
    pub comment: Option<String>,
}

/// What the writer thread receives (and what the overflow file holds, one JSON line each).
// Nearly every entry is a request, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Entry {
    /// A finished request.
    Request(RequestRecord),
    /// A rating.
    Feedback(FeedbackRecord),
}

/// What a cost query groups by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// A single group keyed 'total'; always exactly one row, zeros when nothing matched.
    Total,
    /// User id.
    User,
    /// Virtual key.
    Key,
    /// Answering model.
    Model,
    /// template || '@' || version
    Template,
    /// Requested route.
    Route,
    /// UTC day.
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

/// Sums over a range of days.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostQuery {
    /// First day included, 'YYYY-MM-DD'.
    pub from_day: String,
    /// Last day included, 'YYYY-MM-DD'.
    pub to_day: String,
    /// Only this user's requests when set.
    pub user: Option<String>,
    /// Grouping.
    pub by: Dimension,
}

/// One line of a cost report. Ordered by cost descending, then key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    /// The group's value ('total' for [`Dimension::Total`]).
    pub key: String,
    /// Requests.
    pub requests: i64,
    /// Input tokens, cached ones included.
    pub input_tokens: i64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input_tokens: i64,
    /// Input tokens written to it.
    pub cache_write_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Picodollars.
    pub cost_pico: i64,
    /// Requests answered from cache: cache in ('hit', 'stale', 'shared').
    pub cache_hits: i64,
    /// Requests whose token counts were estimated.
    pub estimated: i64,
    /// Requests with status >= 400.
    pub errors: i64,
}
