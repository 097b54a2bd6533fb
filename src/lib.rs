//! Sluice: an actor-based LLM gateway.
//!
//! # Layout
//! - [`config`]: `config.toml` → validated [`config::Config`].
//! - [`error`]: [`error::ProviderError`] (upstream calls) and [`error::GatewayError`] (HTTP).
//! - [`wire`]: the OpenAI-compatible request, response and chunk types served to clients.
//! - [`providers`]: OpenAI, Anthropic and mock wire formats and the HTTP calls, with no actor state.
//! - [`backoff`], [`circuit`]: retry delays and the circuit breaker, as pure code.
//! - [`tokens`]: token counting with tiktoken.

pub mod backoff;
pub mod circuit;
pub mod config;
pub mod error;
pub mod providers;
pub mod tokens;
pub mod wire;
