//! Configuration: `config.toml` parsed into raw serde types, then validated into [`Config`].
//!
//! Validation collects every problem before failing, and each message names the key and the fix.
//! Secrets never live in the file: a value written `${NAME}` is read from the environment.

use std::{collections::BTreeMap, fmt, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use rustls::pki_types::{CertificateDer, pem::PemObject};
use serde::Deserialize;

use crate::money::{self, Prices, Usd};

mod accounting;
mod edge;
mod knowledge;

pub use crate::observe::telemetry::TelemetryConfig;
pub use accounting::{BudgetConfig, LedgerBackend, LedgerConfig};
pub use edge::{
    AuthConfig, CorsConfig, GuardrailConfig, KeyConfig, KeyHash, Limits, check_exposure, hash_key,
    hex,
};
pub use knowledge::{
    CacheScope, DEFAULT_SIMILARITY, EmbeddingBackend, EmbeddingsConfig, ExperimentConfig,
    PromptConfig, RetrievalConfig, SemanticConfig, StoreConfig, ToolsConfig,
};

/// The copy of `config.toml` compiled into the binary, used when no file is found.
pub const EMBEDDED_CONFIG: &str = include_str!("../../config.toml");

/// A failure to load or validate the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path that was tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML did not parse or did not fit the schema (unknown key, wrong type).
    #[error("config is not valid: {0}")]
    Parse(String),
    /// One or more semantic problems, each naming its key.
    #[error("config has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
    Invalid(Vec<String>),
}

// === raw (file) shape ===

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    models: BTreeMap<String, RawModel>,
    #[serde(default)]
    routes: BTreeMap<String, RawRoute>,
    #[serde(default)]
    cache: RawCache,
    #[serde(default)]
    auth: edge::RawAuth,
    #[serde(default)]
    cors: edge::RawCors,
    #[serde(default)]
    guardrails: edge::RawGuardrails,
    #[serde(default)]
    store: knowledge::RawStore,
    #[serde(default)]
    embeddings: knowledge::RawEmbeddings,
    #[serde(default)]
    retrieval: knowledge::RawRetrieval,
    #[serde(default)]
    tools: knowledge::RawTools,
    #[serde(default)]
    prompts: Vec<knowledge::RawPrompt>,
    #[serde(default)]
    experiments: Vec<knowledge::RawExperiment>,
    #[serde(default)]
    ledger: accounting::RawLedger,
    #[serde(default)]
    budgets: accounting::RawBudgets,
    #[serde(default)]
    telemetry: accounting::RawTelemetry,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    workers: Option<usize>,
    max_body_bytes: Option<usize>,
    shutdown_grace_secs: Option<u64>,
    keep_alive_secs: Option<u64>,
    mid_stream_failure: Option<String>,
    default_route: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: String,
    base_url: Option<String>,
    api_key: Option<String>,
    ca_file: Option<String>,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    circuit: RawCircuit,
    latency_ms: Option<u64>,
    token_delay_ms: Option<u64>,
    failure_rate: Option<f64>,
    crash_rate: Option<f64>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    max_retries: Option<u32>,
    base_ms: Option<u64>,
    factor: Option<f64>,
    jitter: Option<f64>,
    max_retry_after_secs: Option<f64>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    connect_secs: Option<f64>,
    first_token_secs: Option<f64>,
    request_secs: Option<f64>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawCircuit {
    failure_threshold: Option<u32>,
    open_secs: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    provider: String,
    standby_provider: Option<String>,
    upstream_model: Option<String>,
    input_per_mtok: f64,
    output_per_mtok: f64,
    /// Input tokens read from the provider's prompt cache; default: the input price.
    cached_input_per_mtok: Option<f64>,
    /// Input tokens written to the provider's prompt cache; default: the input price.
    cache_write_per_mtok: Option<f64>,
    max_output_tokens: Option<u32>,
    context_window: Option<u32>,
    requests_per_minute: Option<u32>,
    tokens_per_minute: Option<u32>,
    queue_wait_ms: Option<u64>,
    max_queue: Option<usize>,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    circuit: RawCircuit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    fallback: Vec<String>,
    context_overflow: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCache {
    enabled: Option<bool>,
    ttl_secs: Option<u64>,
    max_entries: Option<usize>,
    semantic: Option<bool>,
    similarity_threshold: Option<f32>,
    scope: Option<String>,
    cache_nonzero_temperature: Option<bool>,
    cache_tool_calls: Option<bool>,
    lookup_timeout_ms: Option<u64>,
}

// === validated shape ===

/// The validated configuration, shared read-only as `Arc<Config>`.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Providers by name, enabled or not.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Models by public name.
    pub models: BTreeMap<String, ModelConfig>,
    /// Routes (fallback chains) by name.
    pub routes: BTreeMap<String, RouteConfig>,
    /// Response cache settings.
    pub cache: CacheConfig,
    /// Virtual keys, admin key and per-key limits.
    pub auth: AuthConfig,
    /// Browser origins allowed to call the API.
    pub cors: CorsConfig,
    /// Guardrail thresholds, policies and extra rules.
    pub guardrails: GuardrailConfig,
    /// The embedded database.
    pub store: StoreConfig,
    /// The embedding backend.
    pub embeddings: EmbeddingsConfig,
    /// Retrieval-augmented answers.
    pub retrieval: RetrievalConfig,
    /// Gateway-run tools.
    pub tools: ToolsConfig,
    /// Prompt versions defined in the file.
    pub prompts: Vec<PromptConfig>,
    /// Prompt experiments defined in the file.
    pub experiments: Vec<ExperimentConfig>,
    /// Where request records are written.
    pub ledger: LedgerConfig,
    /// Daily spending limits and alerts.
    pub budgets: BudgetConfig,
    /// Trace export.
    pub telemetry: TelemetryConfig,
}

/// What a route does with an input longer than its first model's context allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextOverflow {
    /// 400 `context_length_exceeded`.
    Reject,
    /// Cut the middle of the longest message, leaving a marker.
    TruncateMiddle,
}

/// One route.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// Models tried in order.
    pub fallback: Vec<String>,
    /// Over-long input handling.
    pub context_overflow: ContextOverflow,
}

/// Our own pace for one upstream model, below the provider's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamLimits {
    /// Requests per minute, if limited.
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute (input plus requested output), if limited.
    pub tokens_per_minute: Option<u32>,
    /// Longest a request waits for room before it is refused with 429.
    pub queue_wait: Duration,
    /// Most requests waiting at once; more are refused at once.
    pub max_queue: usize,
}

/// What a stream does when its upstream fails after tokens were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidStreamFailure {
    /// The next model of the chain continues from the partial text.
    Continue,
    /// The stream ends with an SSE error event.
    Error,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Grace period for in-flight work on shutdown.
    pub shutdown_grace: Duration,
    /// SSE keep-alive comment interval.
    pub keep_alive: Duration,
    /// Mid-stream failure policy.
    pub mid_stream_failure: MidStreamFailure,
    /// Route used for `model: "default"` and the seed API.
    pub default_route: String,
}

/// The kind of upstream a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI Chat Completions (and any compatible server).
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// The built-in simulator.
    Mock,
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Mock => "mock",
        })
    }
}

/// Settings of the mock provider.
#[derive(Debug, Clone)]
pub struct MockSettings {
    /// Delay before the first token.
    pub latency: Duration,
    /// Delay between tokens.
    pub token_delay: Duration,
    /// Probability of a simulated 500.
    pub failure_rate: f64,
    /// Probability that a simulated call panics (chaos testing of supervision).
    pub crash_rate: f64,
    /// Seed of the simulator's random numbers (reproducible runs).
    pub seed: Option<u64>,
}

/// Retry policy of one provider or model.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay.
    pub base: Duration,
    /// Growth factor per retry.
    pub factor: f64,
    /// Jitter as a fraction of the delay, drawn uniformly from [0, jitter × delay].
    pub jitter: f64,
    /// Upper bound on an honoured `Retry-After`.
    pub max_retry_after: Duration,
}

/// Timeouts of one provider or model.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeouts {
    /// TCP connect timeout.
    pub connect: Duration,
    /// Time allowed until the first token of a stream (or the whole answer when not streaming).
    pub first_token: Duration,
    /// Time allowed for a whole non-streaming call; for a stream, the longest silence allowed
    /// between chunks once tokens flow (a long answer may stream for minutes).
    pub request: Duration,
}

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitSettings {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a probe.
    pub open_for: Duration,
}

/// A provider: where and how to reach an upstream.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Provider name (the table key).
    pub name: String,
    /// Wire format.
    pub kind: ProviderKind,
    /// Base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// API key from the environment; `None` for the mock and for keyless servers.
    pub api_key: Option<Secret>,
    /// Why the provider is disabled, if it is.
    pub disabled_reason: Option<String>,
    /// Mock settings (mock providers only).
    pub mock: Option<MockSettings>,
    /// CA certificates trusted for this provider beside the platform's store (`ca_file`).
    pub ca_roots: Vec<CertificateDer<'static>>,
    raw_retry: RawRetry,
    raw_timeouts: RawTimeouts,
    raw_circuit: RawCircuit,
}

/// A model served by the gateway.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Public model name.
    pub name: String,
    /// Provider that serves it now (its own, or the standby while its own is disabled).
    pub provider: String,
    /// The provider named in `provider` when the standby is serving instead.
    pub standing_in_for: Option<String>,
    /// Model name sent upstream.
    pub upstream_model: String,
    /// USD per million tokens: input, cached input, cache writes, output.
    pub prices: Prices,
    /// Clamp for `max_tokens`.
    pub max_output_tokens: u32,
    /// Tokens of input plus output the model accepts.
    pub context_window: u32,
    /// Our pace toward the upstream, when configured.
    pub upstream_limits: Option<UpstreamLimits>,
    /// Retry policy (model over provider over defaults).
    pub retry: RetryPolicy,
    /// Timeouts (model over provider over defaults).
    pub timeouts: Timeouts,
    /// Circuit settings (model over provider over defaults).
    pub circuit: CircuitSettings,
    /// Why the model cannot be served, if so.
    pub disabled_reason: Option<String>,
}

/// `[cache]`.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Whether responses are cached and served from cache.
    pub enabled: bool,
    /// Time to live of an entry.
    pub ttl: Duration,
    /// Entries kept before least-recently-used eviction.
    pub max_entries: usize,
    /// Near-duplicate matching, namespaces and what is cacheable.
    pub semantic: SemanticConfig,
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for building an upstream request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Looks up environment variables; a trait so tests can supply their own.
pub trait Env {
    /// The value of `name`, if set and non-empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl Config {
    /// Loads `path`, or the embedded defaults when `path` is `None` and `./config.toml` is absent.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => match std::fs::read_to_string("config.toml") {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => EMBEDDED_CONFIG.to_string(),
                Err(source) => {
                    return Err(ConfigError::Read {
                        path: "config.toml".into(),
                        source,
                    });
                }
            },
        };
        Config::from_toml(&text, env)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        validate(raw, env)
    }

    /// The model called `name`, if configured.
    pub fn model(&self, name: &str) -> Option<&ModelConfig> {
        self.models.get(name)
    }

    /// Shares the configuration.
    pub fn shared(self) -> Arc<Config> {
        Arc::new(self)
    }
}

/// Longest duration any setting may take: a day.
const MAX_SECS: f64 = 86_400.0;

/// Seconds as a duration; out-of-range values (reported by validation) are clamped, never a panic.
fn secs(v: f64) -> Duration {
    if v.is_finite() {
        Duration::from_secs_f64(v.clamp(0.0, MAX_SECS))
    } else {
        Duration::from_secs_f64(MAX_SECS)
    }
}

/// Reports each given seconds value outside `[0, MAX_SECS]`, by key.
fn check_secs(key: &str, values: &[(&str, Option<f64>)], errs: &mut Vec<String>) {
    for (field, v) in values {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=MAX_SECS).contains(v))
        {
            errs.push(format!(
                "{key}: {field} = {v} must be between 0 and {MAX_SECS} seconds"
            ));
        }
    }
}

fn validate(raw: RawConfig, env: &dyn Env) -> Result<Config, ConfigError> {
    let mut errs = Vec::new();

    let listen_text = raw.server.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        errs.push(format!(
            "server.listen = {listen_text:?} is not an address; write it as \"127.0.0.1:8080\""
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let mid_stream_failure = match raw.server.mid_stream_failure.as_deref() {
        None | Some("continue") => MidStreamFailure::Continue,
        Some("error") => MidStreamFailure::Error,
        Some(other) => {
            errs.push(format!(
                "server.mid_stream_failure = {other:?}; use \"continue\" or \"error\""
            ));
            MidStreamFailure::Continue
        }
    };
    let max_body_bytes = raw.server.max_body_bytes.unwrap_or(1 << 20);
    if max_body_bytes < 1024 {
        errs.push("server.max_body_bytes must be at least 1024".into());
    }
    let server = ServerConfig {
        listen,
        workers: raw.server.workers.unwrap_or(0),
        max_body_bytes,
        shutdown_grace: Duration::from_secs(raw.server.shutdown_grace_secs.unwrap_or(30)),
        keep_alive: Duration::from_secs(raw.server.keep_alive_secs.unwrap_or(15).max(1)),
        mid_stream_failure,
        default_route: raw.server.default_route.unwrap_or_else(|| "default".into()),
    };

    let mut providers = BTreeMap::new();
    for (name, p) in raw.providers {
        if let Some(provider) = validate_provider(&name, p, env, &mut errs) {
            providers.insert(name, provider);
        }
    }

    let mut models = BTreeMap::new();
    for (name, m) in raw.models {
        let key = format!("models.\"{name}\"");
        let prices = model_prices(&m, &key, &mut errs);
        let Some(own) = providers.get(&m.provider) else {
            errs.push(format!(
                "{key}.provider = {:?} names no [providers.{}] table; add it or fix the name",
                m.provider, m.provider
            ));
            continue;
        };
        let mut serving = own;
        let mut standing_in_for = None;
        if let Some(standby) = &m.standby_provider {
            match providers.get(standby) {
                None => errs.push(format!(
                    "{key}.standby_provider = {standby:?} names no [providers.{standby}] table"
                )),
                Some(sp) if own.disabled_reason.is_some() => {
                    standing_in_for = Some(own.name.clone());
                    serving = sp;
                }
                Some(_) => {}
            }
        }
        let retry = merge_retry(&m.retry, &serving.raw_retry, &key, &mut errs);
        let timeouts = merge_timeouts(&m.timeouts, &serving.raw_timeouts, &key, &mut errs);
        let circuit = merge_circuit(&m.circuit, &serving.raw_circuit, &key, &mut errs);
        let max_output_tokens = m.max_output_tokens.unwrap_or(4096);
        let context_window = m.context_window.unwrap_or(128_000);
        if context_window <= max_output_tokens {
            errs.push(format!(
                "{key}: context_window ({context_window}) must exceed max_output_tokens ({max_output_tokens}), which is reserved for the answer"
            ));
        }
        let upstream_limits = upstream_limits(&m, &key, &mut errs);
        models.insert(
            name.clone(),
            ModelConfig {
                upstream_model: m.upstream_model.unwrap_or_else(|| name.clone()),
                name,
                provider: serving.name.clone(),
                standing_in_for,
                prices,
                max_output_tokens,
                context_window,
                upstream_limits,
                retry,
                timeouts,
                circuit,
                disabled_reason: serving.disabled_reason.clone(),
            },
        );
    }

    let mut routes = BTreeMap::new();
    for (name, r) in raw.routes {
        if models.contains_key(&name) {
            errs.push(format!(
                "routes.{name} has the name of a model; give the route another name"
            ));
        }
        if r.fallback.is_empty() {
            errs.push(format!(
                "routes.{name}.fallback is empty; list at least one model"
            ));
        }
        for m in &r.fallback {
            if !models.contains_key(m) {
                errs.push(format!(
                    "routes.{name}.fallback names {m:?}, which is not a [models] entry"
                ));
            }
        }
        let context_overflow = match r.context_overflow.as_deref() {
            None | Some("reject") => ContextOverflow::Reject,
            Some("truncate_middle") => ContextOverflow::TruncateMiddle,
            Some(other) => {
                errs.push(format!(
                    "routes.{name}.context_overflow = {other:?}; use \"reject\" or \"truncate_middle\""
                ));
                ContextOverflow::Reject
            }
        };
        routes.insert(
            name,
            RouteConfig {
                fallback: r.fallback,
                context_overflow,
            },
        );
    }
    if !routes.contains_key(&server.default_route) {
        errs.push(format!(
            "server.default_route = {:?} names no [routes] table; add [routes.{}]",
            server.default_route, server.default_route
        ));
    }

    let cache = CacheConfig {
        enabled: raw.cache.enabled.unwrap_or(true),
        ttl: Duration::from_secs(raw.cache.ttl_secs.unwrap_or(3600)),
        max_entries: raw.cache.max_entries.unwrap_or(10_000),
        semantic: knowledge::validate_semantic(
            knowledge::RawSemantic {
                semantic: raw.cache.semantic,
                similarity_threshold: raw.cache.similarity_threshold,
                scope: raw.cache.scope,
                cache_nonzero_temperature: raw.cache.cache_nonzero_temperature,
                cache_tool_calls: raw.cache.cache_tool_calls,
                lookup_timeout_ms: raw.cache.lookup_timeout_ms,
            },
            &mut errs,
        ),
    };
    if cache.max_entries == 0 {
        errs.push(
            "cache.max_entries must be at least 1 (use cache.enabled = false to turn it off)"
                .into(),
        );
    }

    let auth = edge::validate_auth(raw.auth, env, &mut errs);
    let cors = edge::validate_cors(raw.cors, &mut errs);
    let guardrails = edge::validate_guardrails(raw.guardrails, &mut errs);
    let store = knowledge::validate_store(raw.store);
    let embeddings = knowledge::validate_embeddings(raw.embeddings, env, &mut errs);
    let retrieval = knowledge::validate_retrieval(raw.retrieval, &mut errs);
    let tools = knowledge::validate_tools(raw.tools, &mut errs);
    let prompts = knowledge::validate_prompts(raw.prompts, &mut errs);
    let experiments = knowledge::validate_experiments(raw.experiments, &mut errs);
    let ledger = accounting::validate_ledger(raw.ledger, env, &mut errs);
    let budgets = accounting::validate_budgets(raw.budgets, &mut errs);
    let telemetry = accounting::validate_telemetry(raw.telemetry, &mut errs);
    for k in &auth.keys {
        for m in k.models.iter().flatten() {
            if !models.contains_key(m) && !routes.contains_key(m) && m != "default" {
                errs.push(format!(
                    "auth.keys ({}).models names {m:?}, which is neither a model nor a route",
                    k.name
                ));
            }
        }
    }

    if errs.is_empty() {
        Ok(Config {
            server,
            providers,
            models,
            routes,
            cache,
            auth,
            cors,
            guardrails,
            store,
            embeddings,
            retrieval,
            tools,
            prompts,
            experiments,
            ledger,
            budgets,
            telemetry,
        })
    } else {
        Err(ConfigError::Invalid(errs))
    }
}

/// A model's four prices as exact decimals: zero or positive, cached rates defaulting to the
/// input price.
fn model_prices(m: &RawModel, key: &str, errs: &mut Vec<String>) -> Prices {
    let mut one = |field: &str, v: f64| match money::from_config(v) {
        Some(d) if !d.is_sign_negative() => d,
        _ => {
            errs.push(format!(
                "{key}.{field} = {v}: a price must be a number, zero or positive (USD per million tokens)"
            ));
            Usd::ZERO
        }
    };
    let input = one("input_per_mtok", m.input_per_mtok);
    Prices {
        input,
        output: one("output_per_mtok", m.output_per_mtok),
        cached_input: m
            .cached_input_per_mtok
            .map_or(input, |v| one("cached_input_per_mtok", v)),
        cache_write: m
            .cache_write_per_mtok
            .map_or(input, |v| one("cache_write_per_mtok", v)),
    }
}

fn upstream_limits(m: &RawModel, key: &str, errs: &mut Vec<String>) -> Option<UpstreamLimits> {
    if m.requests_per_minute.is_none() && m.tokens_per_minute.is_none() {
        for (field, set) in [
            ("queue_wait_ms", m.queue_wait_ms.is_some()),
            ("max_queue", m.max_queue.is_some()),
        ] {
            if set {
                errs.push(format!(
                    "{key}.{field} needs requests_per_minute or tokens_per_minute to be set"
                ));
            }
        }
        return None;
    }
    for (field, v) in [
        ("requests_per_minute", m.requests_per_minute),
        ("tokens_per_minute", m.tokens_per_minute),
    ] {
        if v == Some(0) {
            errs.push(format!(
                "{key}.{field} must be at least 1; remove it for no limit"
            ));
        }
    }
    let queue_wait_ms = m.queue_wait_ms.unwrap_or(10_000);
    if queue_wait_ms > 600_000 {
        errs.push(format!(
            "{key}.queue_wait_ms = {queue_wait_ms} is over 10 minutes; clients would time out first"
        ));
    }
    Some(UpstreamLimits {
        requests_per_minute: m.requests_per_minute,
        tokens_per_minute: m.tokens_per_minute,
        queue_wait: Duration::from_millis(queue_wait_ms.min(600_000)),
        max_queue: m.max_queue.unwrap_or(256),
    })
}

/// Resolves a `${NAME}` reference; other strings are returned as they are.
fn resolve_env(value: &str, env: &dyn Env) -> Result<Option<String>, String> {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(name) if !name.is_empty() => Ok(env.var(name)),
        Some(_) => Err("an empty ${} reference".into()),
        None => Ok(Some(value.to_string())),
    }
}

/// The certificates of a PEM file, each checked to be usable as a trust anchor.
fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!("cannot read it ({e}); give the path of a PEM file of CA certificates")
    })?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM file of certificates ({e})"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store
            .add(cert.clone())
            .map_err(|e| format!("certificate {} cannot be a trust anchor: {e}", i + 1))?;
    }
    Ok(certs)
}

fn validate_provider(
    name: &str,
    p: RawProvider,
    env: &dyn Env,
    errs: &mut Vec<String>,
) -> Option<ProviderConfig> {
    let key = format!("providers.{name}");
    let kind = match p.kind.as_str() {
        "openai" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        "mock" => ProviderKind::Mock,
        other => {
            errs.push(format!(
                "{key}.kind = {other:?}; use \"openai\", \"anthropic\" or \"mock\""
            ));
            return None;
        }
    };
    let mock_only = [
        ("latency_ms", p.latency_ms.is_some()),
        ("token_delay_ms", p.token_delay_ms.is_some()),
        ("failure_rate", p.failure_rate.is_some()),
        ("crash_rate", p.crash_rate.is_some()),
        ("seed", p.seed.is_some()),
    ];
    let mut disabled_reason = None;
    let mut api_key = None;
    let mut base_url = String::new();
    let mut mock = None;
    let mut ca_roots = Vec::new();
    if kind == ProviderKind::Mock {
        if p.ca_file.is_some() {
            errs.push(format!(
                "{key}.ca_file only applies to kind = \"openai\" or \"anthropic\"; remove it"
            ));
        }
        for (field, rate) in [
            ("failure_rate", p.failure_rate),
            ("crash_rate", p.crash_rate),
        ] {
            if let Some(r) = rate
                && !(0.0..=1.0).contains(&r)
            {
                errs.push(format!("{key}.{field} = {r} must be between 0.0 and 1.0"));
            }
        }
        mock = Some(MockSettings {
            latency: Duration::from_millis(p.latency_ms.unwrap_or(0)),
            token_delay: Duration::from_millis(p.token_delay_ms.unwrap_or(0)),
            failure_rate: p.failure_rate.unwrap_or(0.0),
            crash_rate: p.crash_rate.unwrap_or(0.0),
            seed: p.seed,
        });
    } else {
        for (field, set) in mock_only {
            if set {
                errs.push(format!(
                    "{key}.{field} only applies to kind = \"mock\"; remove it"
                ));
            }
        }
        match p.base_url.as_deref() {
            None => errs.push(format!(
                "{key}.base_url is missing; e.g. \"https://api.openai.com/v1\""
            )),
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => errs.push(
                format!("{key}.base_url = {u:?} must start with http:// or https://"),
            ),
            Some(u) => base_url = u.trim_end_matches('/').to_string(),
        }
        if let Some(path) = &p.ca_file {
            match read_ca_file(path) {
                Ok(roots) => ca_roots = roots,
                Err(e) => errs.push(format!("{key}.ca_file = {path:?}: {e}")),
            }
        }
        match p.api_key.as_deref() {
            // A local OpenAI-compatible server (vLLM, Ollama, llama.cpp) needs no key.
            None => {}
            Some(v) => match resolve_env(v, env) {
                Err(e) => errs.push(format!("{key}.api_key: {e}")),
                Ok(None) => {
                    disabled_reason = Some(format!(
                        "environment variable behind {key}.api_key ({v}) is unset"
                    ))
                }
                Ok(Some(k)) => {
                    if !v.starts_with("${") {
                        errs.push(format!(
                            "{key}.api_key holds a literal key; secrets come from the environment: write api_key = \"${{{}_API_KEY}}\"",
                            name.to_uppercase()
                        ));
                    }
                    api_key = Some(Secret(k));
                }
            },
        }
    }
    Some(ProviderConfig {
        name: name.to_string(),
        kind,
        base_url,
        api_key,
        disabled_reason,
        mock,
        ca_roots,
        raw_retry: p.retry,
        raw_timeouts: p.timeouts,
        raw_circuit: p.circuit,
    })
}

fn merge_retry(m: &RawRetry, p: &RawRetry, key: &str, errs: &mut Vec<String>) -> RetryPolicy {
    check_secs(
        key,
        &[(
            "retry.max_retry_after_secs",
            m.max_retry_after_secs.or(p.max_retry_after_secs),
        )],
        errs,
    );
    let policy = RetryPolicy {
        max_retries: m.max_retries.or(p.max_retries).unwrap_or(3),
        base: Duration::from_millis(m.base_ms.or(p.base_ms).unwrap_or(1000)),
        factor: m.factor.or(p.factor).unwrap_or(2.0),
        jitter: m.jitter.or(p.jitter).unwrap_or(0.5),
        max_retry_after: secs(
            m.max_retry_after_secs
                .or(p.max_retry_after_secs)
                .unwrap_or(30.0),
        ),
    };
    if policy.max_retries > 10 {
        errs.push(format!("{key}: retry.max_retries must be 10 or less"));
    }
    if !(1.0..=10.0).contains(&policy.factor) {
        errs.push(format!("{key}: retry.factor must be between 1.0 and 10.0"));
    }
    if !(0.0..=1.0).contains(&policy.jitter) {
        errs.push(format!("{key}: retry.jitter must be between 0.0 and 1.0"));
    }
    policy
}

fn merge_timeouts(m: &RawTimeouts, p: &RawTimeouts, key: &str, errs: &mut Vec<String>) -> Timeouts {
    check_secs(
        key,
        &[
            ("timeouts.connect_secs", m.connect_secs.or(p.connect_secs)),
            (
                "timeouts.first_token_secs",
                m.first_token_secs.or(p.first_token_secs),
            ),
            ("timeouts.request_secs", m.request_secs.or(p.request_secs)),
        ],
        errs,
    );
    let t = Timeouts {
        connect: secs(m.connect_secs.or(p.connect_secs).unwrap_or(5.0)),
        first_token: secs(m.first_token_secs.or(p.first_token_secs).unwrap_or(15.0)),
        request: secs(m.request_secs.or(p.request_secs).unwrap_or(30.0)),
    };
    if t.connect.is_zero() || t.first_token.is_zero() || t.request.is_zero() {
        errs.push(format!("{key}: every timeout must be greater than zero"));
    }
    if t.first_token > t.request {
        errs.push(format!(
            "{key}: timeouts.first_token_secs must not exceed timeouts.request_secs"
        ));
    }
    t
}

fn merge_circuit(
    m: &RawCircuit,
    p: &RawCircuit,
    key: &str,
    errs: &mut Vec<String>,
) -> CircuitSettings {
    check_secs(
        key,
        &[("circuit.open_secs", m.open_secs.or(p.open_secs))],
        errs,
    );
    let c = CircuitSettings {
        failure_threshold: m.failure_threshold.or(p.failure_threshold).unwrap_or(5),
        open_for: secs(m.open_secs.or(p.open_secs).unwrap_or(30.0)),
    };
    if c.failure_threshold == 0 {
        errs.push(format!(
            "{key}: circuit.failure_threshold must be at least 1"
        ));
    }
    c
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const NO_ENV: [(&str, &str); 0] = [];

    #[test]
    fn embedded_config_is_valid_and_uses_mock_without_keys() {
        let cfg = Config::from_toml(EMBEDDED_CONFIG, &NO_ENV).unwrap();
        let m = cfg.model("gpt-4o").unwrap();
        assert_eq!(m.provider, "mock");
        assert_eq!(m.standing_in_for.as_deref(), Some("openai"));
        assert!(cfg.providers["openai"].disabled_reason.is_some());
        assert_eq!(cfg.routes["default"].fallback.len(), 3);
    }

    #[test]
    fn keys_from_environment_enable_real_providers() {
        let env = [("OPENAI_API_KEY", "sk-test"), ("ANTHROPIC_API_KEY", "ak")];
        let cfg = Config::from_toml(EMBEDDED_CONFIG, &env).unwrap();
        assert_eq!(cfg.model("gpt-4o").unwrap().provider, "openai");
        assert_eq!(
            cfg.model("claude-sonnet-4-20250514")
                .unwrap()
                .retry
                .max_retries,
            3
        );
        let key = cfg.providers["openai"].api_key.as_ref().unwrap();
        assert_eq!(key.expose(), "sk-test");
        assert_eq!(format!("{key:?}"), "Secret(***)");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::from_toml("[server]\nlisten_on = \"x\"\n", &NO_ENV).unwrap_err();
        assert!(err.to_string().contains("listen_on"), "{err}");
    }

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = std::env::temp_dir().join(format!("sluice-ca-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let config = |kind: &str, path: &std::path::Path| {
            format!(
                "[providers.p]\nkind = \"{kind}\"\nbase_url = \"https://llm.internal/v1\"\nca_file = {:?}\n",
                path.display().to_string()
            )
        };
        let missing = dir.join("missing.pem");
        for (text, needle) in [
            (config("openai", &missing), "cannot read it"),
            (config("openai", &garbage), "holds no PEM certificate"),
            (config("mock", &garbage), "only applies to kind"),
        ] {
            let err = Config::from_toml(&text, &NO_ENV).unwrap_err().to_string();
            assert!(err.contains("providers.p.ca_file"), "{err}");
            assert!(err.contains(needle), "missing {needle} in {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
[server]
listen = "nowhere"
mid_stream_failure = "maybe"
[providers.p]
kind = "openai"
base_url = "ftp://x"
api_key = "sk-literal"
[models.m]
provider = "q"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.default]
fallback = ["m", "zz"]
"#;
        let err = Config::from_toml(text, &NO_ENV).unwrap_err().to_string();
        for needle in [
            "server.listen",
            "mid_stream_failure",
            "base_url",
            "literal key",
            "models.\"m\".provider",
            "\"zz\"",
        ] {
            assert!(err.contains(needle), "missing {needle} in {err}");
        }
    }

    #[test]
    fn keyless_provider_is_enabled_and_bad_durations_are_named() {
        let text = r#"
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:11434/v1"
[providers.local.circuit]
open_secs = 1e30
[models.llama]
provider = "local"
input_per_mtok = 0.0
output_per_mtok = 0.0
[routes.default]
fallback = ["llama"]
"#;
        let err = Config::from_toml(text, &NO_ENV).unwrap_err().to_string();
        assert!(err.contains("circuit.open_secs"), "{err}");
        let cfg =
            Config::from_toml(&text.replace("open_secs = 1e30", "open_secs = 5"), &NO_ENV).unwrap();
        assert!(cfg.providers["local"].disabled_reason.is_none());
        assert!(cfg.providers["local"].api_key.is_none());
    }

    #[test]
    fn model_overrides_provider_retry_settings() {
        let text = r#"
[providers.mock]
kind = "mock"
[providers.mock.retry]
max_retries = 2
base_ms = 10
[models.a]
provider = "mock"
input_per_mtok = 1.0
output_per_mtok = 2.0
[models.a.retry]
max_retries = 0
[routes.default]
fallback = ["a"]
"#;
        let cfg = Config::from_toml(text, &NO_ENV).unwrap();
        let r = &cfg.model("a").unwrap().retry;
        assert_eq!(r.max_retries, 0);
        assert_eq!(r.base, Duration::from_millis(10));
    }
}
