//! Sluice: an actor-based LLM gateway.
//!
//! # Layout
//! - [`config`]: `config.toml` → validated [`config::Config`].
//! - [`error`]: [`error::ProviderError`] (upstream calls) and [`error::GatewayError`] (HTTP).
//! - [`wire`]: the OpenAI-compatible request, response and chunk types served to clients.
//! - [`providers`]: OpenAI, Anthropic and mock wire formats and the HTTP calls, with no actor state.
//! - [`backoff`], [`circuit`]: retry delays and the circuit breaker, as pure code.
//! - [`actors`]: the Supervisor and its children, and their typed messages.
//! - [`guardrails`]: injection, PII and unsafe-output rules as pure code.
//! - [`http`]: the handlers, OpenAPI spec and docs page.
//! - [`logbuf`]: the batched writer of the JSON log lines.
//! - [`pipeline`]: the request flow through the actors, non-streaming and streaming.
//! - [`server`]: starts the actors and the HTTP server on a bound listener.
//! - [`templates`]: versioned prompt templates (minijinja).
//! - [`tokens`]: token counting with tiktoken.

pub mod actors;
pub mod backoff;
pub mod circuit;
pub mod config;
pub mod edge;
pub mod error;
pub mod guardrails;
pub mod http;
pub mod logbuf;
pub mod pipeline;
pub mod providers;
pub mod server;
pub mod templates;
pub mod tokens;
pub mod wire;
