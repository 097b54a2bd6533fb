//! Sluice: an actor-based LLM gateway.
//!
//! # Layout
//! - [`config`]: `config.toml` → validated [`config::Config`].
//! - [`embed`]: sentence embeddings (local model on a thread pool, or an OpenAI-compatible upstream).
//! - [`error`]: [`error::ProviderError`] (upstream calls) and [`error::GatewayError`] (HTTP).
//! - [`wire`]: the OpenAI-compatible request, response and chunk types served to clients.
//! - [`providers`]: OpenAI, Anthropic and mock wire formats and the HTTP calls, with no actor state.
//! - [`backoff`], [`circuit`]: retry delays and the circuit breaker, as pure code.
//! - [`cache`]: cache keys, namespaces, the near-miss check, vector search and single flight.
//! - [`actors`]: the Supervisor and its children, and their typed messages.
//! - [`guardrails`]: injection, PII and unsafe-output rules as pure code.
//! - [`http`]: the handlers, OpenAPI spec and docs page.
//! - [`logbuf`]: the batched writer of the JSON log lines.
//! - [`pipeline`]: the request flow through the actors, non-streaming and streaming.
//! - [`retrieval`]: documents, chunking, their vector index and retrieved context.
//! - [`server`]: starts the actors and the HTTP server on a bound listener.
//! - [`prompts`]: the prompt router: versioned templates (minijinja), activation, experiments.
//! - [`tokens`]: token counting with tiktoken.
//! - [`tools`]: the function-calling tool registry and the built-in tools (calculator, time, documents).

pub mod actors;
pub mod backoff;
pub mod budget;
pub mod cache;
pub mod circuit;
pub mod config;
pub mod edge;
pub mod embed;
pub mod error;
pub mod guardrails;
pub mod http;
pub mod ledger;
pub mod logbuf;
pub mod money;
pub mod observe;
pub mod pipeline;
pub mod prompts;
pub mod providers;
pub mod retrieval;
pub mod server;
pub mod store;
pub mod tokens;
pub mod tools;
pub mod wire;
