//! Every typed message exchanged between the HTTP layer and the actors.

use std::{sync::Arc, time::SystemTime};

use actix::prelude::*;
use serde::Serialize;

use super::{
    cache::CacheStatsReport,
    cost::CostSummary,
    eval::EvalSummary,
    pace::UpstreamPace,
    provider::{ProviderActor, ProviderGate},
    stats::ActorSnapshot,
};
use crate::{
    cache::CacheKeys,
    config::RetryPolicy,
    error::GatewayError,
    error::ProviderError,
    providers::Upstream,
    tokens::Calibration,
    wire::{ChatMessage, Usage},
};

// === Supervisor ===

/// A model of a chain, with what a request needs to call and price it.
#[derive(Clone)]
pub struct ProviderHandle {
    /// Public model name.
    pub model: Arc<str>,
    /// Provider name serving it.
    pub provider: Arc<str>,
    /// The model's actor.
    pub addr: Addr<ProviderActor>,
    /// Its gate, for leases without a mailbox trip.
    pub gate: Arc<ProviderGate>,
    /// USD per million input tokens.
    pub prices: crate::money::Prices,
    /// Input tokens it accepts: its context window less its output allowance.
    pub max_input_tokens: u64,
    /// How our token counts relate to the provider's.
    pub calibration: Arc<Calibration>,
    /// Our pace toward the upstream, when configured.
    pub pace: Option<Arc<UpstreamPace>>,
}

/// Reported by a restarted child.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChildRestarted {
    /// The child's name.
    pub name: String,
    /// Why it stopped.
    pub reason: String,
}

/// Snapshots of every supervised actor.
#[derive(Message)]
#[rtype(result = "Vec<ActorSnapshot>")]
pub struct ListActors;

/// Asks the Supervisor to restart one provider actor.
#[derive(Message)]
#[rtype(result = "Result<(), GatewayError>")]
pub struct RestartProvider {
    /// Model name of the provider actor.
    pub model: String,
    /// Recorded as the restart reason.
    pub reason: String,
}

// === ProviderActor ===

/// Permission to call an upstream: its pool and policy, lent to the request's own task.
pub struct Lease {
    /// The upstream to call.
    pub upstream: Arc<Upstream>,
    /// Retry policy of the model.
    pub retry: RetryPolicy,
    /// The actor's generation, so reports from before a restart are ignored.
    pub generation: u64,
    /// Keeps the call counted as in flight until dropped.
    pub in_flight: super::stats::InFlight,
}

/// The outcome of one upstream attempt, for the circuit breaker.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReportOutcome {
    /// Generation of the lease used.
    pub generation: u64,
    /// `None` on success.
    pub error: Option<ProviderError>,
    /// Whether a retry follows this failure.
    pub retrying: bool,
}

/// A call was refused by the model's own pace: the actor republishes its state (queue and
/// refusal counters) for `/admin/actors`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PaceRefused;

/// The task running an upstream call panicked or its pool broke: the actor stops and the
/// Supervisor restarts it with a fresh pool.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ProviderFailed {
    /// Generation of the lease used; `None` restarts whatever generation runs (admin request).
    pub generation: Option<u64>,
    /// What happened.
    pub reason: String,
}

// === GuardrailActor ===

/// Checks and redacts the input before any upstream sees it.
#[derive(Message)]
#[rtype(result = "Result<InputVerdict, GatewayError>")]
pub struct CheckInput {
    /// For the logs.
    pub request_id: String,
    /// The conversation; returned redacted.
    pub messages: Vec<ChatMessage>,
}

/// A passed input check.
#[derive(Debug)]
pub struct InputVerdict {
    /// Messages with PII replaced by placeholders.
    pub messages: Vec<ChatMessage>,
    /// Kinds of PII found (`email`, `ssn` ...), without duplicates.
    pub pii_detected: Vec<String>,
}

/// Checks a whole answer.
#[derive(Message)]
#[rtype(result = "OutputVerdict")]
pub struct CheckOutput {
    /// For the logs.
    pub request_id: String,
    /// The answer text.
    pub text: String,
}

/// The outcome of an output check.
#[derive(Debug, Clone)]
pub struct OutputVerdict {
    /// Whether the text may be shown.
    pub passed: bool,
    /// The rule that matched, when not.
    pub reason: Option<String>,
}

// === CacheActor ===

/// A cached answer.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// Answer text.
    pub text: String,
    /// Model that produced it.
    pub model: String,
    /// Its finish reason.
    pub finish_reason: String,
    /// Usage of the original call.
    pub usage: Usage,
    /// What the original call cost, saved again by every hit.
    pub cost_usd: crate::money::Usd,
    /// When it was stored.
    pub stored_at: SystemTime,
    /// Served past its TTL (the last resort of the fallback chain).
    pub stale: bool,
}

/// A cache hit: the answer and how close the cached question was (1.0 for exact hits).
#[derive(Debug, Clone)]
pub struct CacheHit {
    /// The answer.
    pub answer: CachedAnswer,
    /// Cosine similarity of the questions; 1.0 for the exact path.
    pub similarity: f32,
}

/// Looks a request up by its exact (normalised) key.
#[derive(Message)]
#[rtype(result = "Option<CacheHit>")]
pub struct CacheLookup {
    /// The request's cache keys.
    pub keys: Arc<CacheKeys>,
    /// Accept an expired entry (fallback of last resort).
    pub allow_stale: bool,
    /// Count a miss when nothing is found (no semantic lookup follows).
    pub last: bool,
}

/// Looks a request up by the meaning of its question, within its namespace.
#[derive(Message)]
#[rtype(result = "Option<CacheHit>")]
pub struct SemanticLookup {
    /// The request's cache keys.
    pub keys: Arc<CacheKeys>,
    /// The question's normalised embedding.
    pub vector: Arc<Vec<f32>>,
}

/// Stores an answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CacheStore {
    /// The request's cache keys.
    pub keys: Arc<CacheKeys>,
    /// The question's embedding, when one was made.
    pub vector: Option<Arc<Vec<f32>>>,
    /// The answer.
    pub answer: CachedAnswer,
}

/// Cache statistics.
#[derive(Message)]
#[rtype(result = "CacheStatsReport")]
pub struct GetCacheStats;

// === CostActor ===

/// One finished request: its ledger row (usage, cost, outcome) for the CostActor to account
/// and hand to the ledger.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RecordUsage {
    /// The row, as written to the ledger.
    pub row: Box<crate::ledger::RequestRecord>,
    /// Its cost, exact.
    pub cost_usd: crate::money::Usd,
}

/// The cost summary.
#[derive(Message)]
#[rtype(result = "CostSummary")]
pub struct GetCosts;

// === EvalActor ===

/// One request's quality record.
#[derive(Message, Debug, Clone, Serialize, utoipa::ToSchema)]
#[rtype(result = "()")]
pub struct RecordEval {
    /// Request id.
    pub request_id: String,
    /// Prompt template (`none` for raw chat completions).
    pub template: String,
    /// Template version.
    pub version: String,
    /// Model that answered (`cache`, `none`).
    pub model: String,
    /// Total latency.
    pub latency_ms: f64,
    /// Time to first token (streams).
    pub ttft_ms: Option<f64>,
    /// Characters of output.
    pub output_chars: usize,
    /// Error, if the request failed.
    pub error: Option<String>,
    /// Served from cache.
    pub cache_hit: bool,
    /// Output guardrail verdict.
    pub guardrail_output_pass: bool,
    /// USD spent.
    #[schema(value_type = f64)]
    pub cost_usd: crate::money::Usd,
    /// Guardrail findings (`pii:email`, `output_blocked`, `format_invalid` …).
    pub guardrail_flags: Vec<String>,
    /// Gateway tools run for the answer.
    pub tools_used: Vec<String>,
}

impl RecordEval {
    /// The quality record of a finished request's ledger row.
    pub fn of(
        row: &crate::ledger::RequestRecord,
        cost_usd: crate::money::Usd,
        guardrail_flags: Vec<String>,
        tools_used: Vec<String>,
    ) -> Self {
        RecordEval {
            request_id: row.request_id.clone(),
            template: row.template.clone(),
            version: row.version.clone(),
            model: row.model.clone(),
            latency_ms: row.latency_ms,
            ttft_ms: row.ttft_ms,
            output_chars: usize::try_from(row.output_chars).unwrap_or(0),
            error: row.error.clone(),
            cache_hit: row.cache_hit(),
            guardrail_output_pass: row.guardrail_output_pass,
            cost_usd,
            guardrail_flags,
            tools_used,
        }
    }
}

/// Per prompt version figures.
#[derive(Message)]
#[rtype(result = "Vec<super::eval::VersionMetrics>")]
pub struct GetVersionMetrics;

/// A user's rating of an answer; answers the (template, version) it was for.
#[derive(Message)]
#[rtype(result = "Result<(String, String), String>")]
pub struct RecordFeedback {
    /// The answer's request id.
    pub request_id: String,
    /// 1 (bad) to 5 (good).
    pub rating: u8,
    /// Free text.
    pub comment: Option<String>,
}

/// The evaluation summary.
#[derive(Message)]
#[rtype(result = "EvalSummary")]
pub struct GetEvalSummary;
