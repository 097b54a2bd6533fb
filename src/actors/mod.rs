//! The actors and their messages.
//!
//! - [`supervisor::Supervisor`]: starts and restarts the others, resolves routes.
//! - [`provider::ProviderActor`]: one per model; pool, retry policy, circuit breaker.
//! - [`guardrail::GuardrailActor`]: input and output checks on a sync pool.
//! - [`cache::CacheActor`]: exact-match response cache.
//! - [`cost::CostActor`]: token and cost accounting.
//! - [`eval::EvalActor`]: per-request quality records.
//! - [`pace::UpstreamPace`]: a provider's own limiter toward its upstream (owned by its gate).
//! - [`messages`]: every message type; [`stats`]: counters shared with the Supervisor;
//!   [`inbox`]: the batched inbox of the per-request records.

pub mod cache;
pub mod cost;
pub mod eval;
pub mod guardrail;
pub mod inbox;
pub mod messages;
pub mod pace;
pub mod provider;
pub mod stats;
pub mod supervisor;

/// How often the cost and eval actors drain their inboxes.
pub const DRAIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
