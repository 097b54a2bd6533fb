//! The request flow between the HTTP handlers and the actors:
//! route resolution (Supervisor) → input guardrails → cache → provider chain with retries and
//! fallback → output guardrails → eval and cost records.
//!
//! Upstream calls run as the request's own futures (spawned tasks whose panics surface as
//! errors); actors are asked only for short decisions: a lease, a cache entry, a verdict.

mod accounting;
mod call;
mod lookup;
mod relay;
mod tooling;

use std::{sync::Arc, time::Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use tracing::Instrument;

pub use relay::{RelayEvent, StreamRelay};
pub use tooling::ToolUse;

use crate::{
    actors::{
        messages::{CacheHit, InputVerdict, ProviderHandle},
        supervisor::Services,
    },
    budget::{Budgets, Mode, Reservation},
    cache::{
        CacheKeys, Scope, cache_keys,
        flight::{Flights, Joined},
    },
    config::{CacheScope, Config, ContextOverflow},
    edge::{
        self,
        context::{Fit, fit},
        keys::{KeyState, KeyStore},
        rate::Window,
    },
    embed::Embeddings,
    error::{GatewayError, ProviderError},
    guardrails::format::OutputFormat,
    ledger::Ledger,
    money::Usd,
    observe::LiveStats,
    prompts::PromptRouter,
    providers::{Completion, UpstreamRequest},
    retrieval::Retriever,
    store::Store,
    tokens,
    tools::ToolRegistry,
    wire::{ChatMessage, ChatRequest, Role, Usage},
};

/// Sent with the validation error when an answer broke the requested JSON format.
const FORMAT_RETRY_PROMPT: &str = "Your previous answer was not valid for the requested format. Reply again with only the corrected JSON, nothing else.";

/// Shown instead of an answer that failed the output guardrails.
pub const SAFE_MESSAGE: &str =
    "The answer was withheld because it contained content our safety rules do not allow.";

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct Gateway {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Actor addresses.
    pub services: Services,
    /// Virtual keys and their live limits.
    pub keys: Arc<KeyStore>,
    /// The embedded database.
    pub store: Arc<Store>,
    /// Prompt versions and experiments.
    pub prompts: Arc<PromptRouter>,
    /// The embedding backend.
    pub embeddings: Arc<Embeddings>,
    /// Identical requests in flight, sharing one upstream call.
    pub flights: Arc<Flights<Answer>>,
    /// Documents for retrieval-augmented answers.
    pub retriever: Arc<Retriever>,
    /// Tools the gateway runs itself.
    pub tools: Arc<ToolRegistry>,
    /// Where every request's row is written.
    pub ledger: Arc<Ledger>,
    /// Daily spending limits.
    pub budgets: Arc<Budgets>,
    /// Live figures for `/admin/stats`, the dashboard and `/metrics`.
    pub live: Arc<LiveStats>,
}

/// How the cache took part in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Not consulted (disabled or `Cache-Control: no-store`).
    Off,
    /// Looked up, not found.
    Miss,
    /// Served from cache.
    Hit,
    /// Served an expired entry because every model failed.
    Stale,
    /// Answered by an identical request in flight (single flight).
    Shared,
}

impl CacheStatus {
    /// The `x-sluice-cache` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Off => "off",
            CacheStatus::Miss => "miss",
            CacheStatus::Hit => "hit",
            CacheStatus::Stale => "stale",
            CacheStatus::Shared => "shared",
        }
    }
}

/// What the client asked of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Look up and store.
    Normal,
    /// `Cache-Control: no-cache`: do not serve from cache, but store the fresh answer.
    Refresh,
    /// `Cache-Control: no-store`: neither.
    Bypass,
}

/// Where a request came from: a prompt template or a raw chat completion.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Template name (`none` for raw chat completions).
    pub template: String,
    /// Template version.
    pub version: String,
}

/// A request that passed the edge's checks.
struct Screened {
    /// The fallback chain, without models too small for the input.
    chain: Vec<ProviderHandle>,
    /// The redacted messages.
    verdict: InputVerdict,
    /// The input's size.
    fit: Fit,
    /// The answer format asked for.
    format: OutputFormat,
    /// The rest of the request (its messages moved into the verdict).
    req: ChatRequest,
    /// The budget's say.
    budget: Budgeted,
}

/// What the budget decided for a request.
#[derive(Debug, Default)]
struct Budgeted {
    mode: Option<Mode>,
    reservation: Option<Reservation>,
    downgraded_from: Option<String>,
}

/// What the HTTP layer knows of a request besides its body.
pub struct Intake {
    /// Request id.
    pub request_id: String,
    /// Template and version.
    pub origin: Origin,
    /// A model to put first in the chain (templates name one).
    pub prefer: Option<String>,
    /// `Cache-Control` of the request.
    pub cache_policy: CachePolicy,
    /// The virtual key it came with, when auth is on.
    pub caller: Option<Arc<KeyState>>,
    /// The question the cache compares (a template's `query`); default: the last user message.
    pub question: Option<String>,
    /// What else besides the messages names the cache namespace (a template's other variables).
    pub context: Value,
    /// A background run of an experiment's variant: never shown, not charged to the caller.
    pub shadow: bool,
}

/// A request after routing, guardrails and cache lookup.
pub struct Prepared {
    /// Request id.
    pub request_id: String,
    /// User id: the key's user, else the request's `user`, else `anonymous`.
    pub user: String,
    /// The virtual key, when auth is on.
    pub caller: Option<Arc<KeyState>>,
    /// Our own count of the input tokens (before any estimate factor); 0 when not counted.
    pub counted_input: u64,
    /// The input tokens charged to the key's and the models' paces.
    pub input_tokens: u64,
    /// Fallback chain.
    pub chain: Vec<ProviderHandle>,
    /// The redacted request sent upstream.
    pub upstream: Arc<UpstreamRequest>,
    /// Cache keys, when the cache takes part.
    pub cache_keys: Option<Arc<CacheKeys>>,
    /// `Cache-Control` of the request.
    pub cache_policy: CachePolicy,
    /// The question's embedding, when the lookup made one.
    pub vector: Option<Arc<Vec<f32>>>,
    /// The cache status so far.
    pub cache: CacheStatus,
    /// A fresh cached answer, when one was found.
    pub cached: Option<CacheHit>,
    /// This request's part in single flight: leading an upstream call or following one.
    pub flight: Mutex<Option<Joined<Answer>>>,
    /// A background run of an experiment's variant.
    pub shadow: bool,
    /// The gateway's own tools offered to the model (`sluice_tools`).
    pub gateway_tools: Vec<String>,
    /// Kinds of PII redacted from the input.
    pub pii_detected: Vec<String>,
    /// Template and version.
    pub origin: Origin,
    /// The answer format asked for (`response_format`).
    pub format: OutputFormat,
    /// When the request arrived.
    pub started: Instant,
    /// What the client asked for: a route or a model.
    pub route: String,
    /// The budget's mode for this request (`None` when budgets did not apply: shadow runs).
    pub budget_mode: Option<Mode>,
    /// The spending held for this request until it settles.
    pub reservation: Mutex<Option<Reservation>>,
    /// The model the budget moved this request away from.
    pub downgraded_from: Option<String>,
    /// The request's trace span, parent of work that outlives the handler (streams).
    pub span: tracing::Span,
}

/// A finished answer with its accounting.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Request id.
    pub request_id: String,
    /// Answer text (the safe message when the output guardrail failed).
    pub text: String,
    /// The model that answered (`cache` only for hits without a recorded model).
    pub model: String,
    /// Provider of that model, when one answered.
    pub provider: Option<String>,
    /// OpenAI finish reason.
    pub finish_reason: String,
    /// Tokens.
    pub usage: Usage,
    /// Tokens counted by our tokenizer because the provider reported none.
    pub estimated: bool,
    /// USD, exact.
    pub cost_usd: Usd,
    /// Cache participation.
    pub cache: CacheStatus,
    /// Similarity of the cached question that answered (1.0 exact), for hits.
    pub similarity: Option<f32>,
    /// Output guardrail verdict.
    pub guardrail_output_pass: bool,
    /// The model whose stream failed, when the next model continued the answer.
    pub continued_from: Option<String>,
    /// Tool calls of a non-streaming answer (streams relay them as they come).
    pub tool_calls: Option<Value>,
    /// The gateway's own tools run for this answer.
    pub tools_used: Vec<ToolUse>,
    /// PII kinds redacted from the input.
    pub pii_detected: Vec<String>,
    /// Whether the answer matches the requested format; `None` when none was requested.
    pub format_valid: Option<bool>,
    /// Milliseconds from arrival to the end.
    pub latency_ms: f64,
    /// Milliseconds to the first token (streams).
    pub ttft_ms: Option<f64>,
}

impl Answer {
    /// Gateway facts attached to the last stream chunk.
    pub fn facts(&self) -> Value {
        json!({
            "request_id": self.request_id,
            "model": self.model,
            "provider": self.provider,
            "cost_usd": self.cost_usd,
            "cache": self.cache.as_str(),
            "cache_similarity": self.similarity,
            "estimated_usage": self.estimated,
            "guardrail_output_pass": self.guardrail_output_pass,
            "continued_from": self.continued_from,
            "pii_detected": self.pii_detected,
            "format_valid": self.format_valid,
            "tools_used": self.tools_used,
        })
    }
}

/// A new request id: `req_` and 24 hex digits.
pub fn new_request_id() -> String {
    format!("req_{:024x}", rand::random::<u128>() >> 32)
}

impl Gateway {
    /// Admits, routes, checks and looks up a request; nothing is sent upstream yet. The token
    /// window of the caller's key is left in `tokens_out` (refusals included), for the headers.
    pub async fn prepare(
        &self,
        req: ChatRequest,
        intake: Intake,
        tokens_out: &mut Option<Window>,
    ) -> Result<Prepared, GatewayError> {
        let started = Instant::now();
        let Intake {
            request_id,
            origin,
            prefer,
            cache_policy,
            caller,
            question,
            context,
            shadow,
        } = intake;
        let mut req = req;
        let gateway_tools = tooling::offer(&self.tools, &mut req.extra)?;
        let user = caller
            .as_ref()
            .map(|k| k.config.user.clone())
            .or_else(|| req.user.clone())
            .unwrap_or_else(|| "anonymous".into());
        let model = req.model.clone();
        let budget_user = (!shadow).then_some(user.as_str());
        let Screened {
            chain,
            verdict,
            fit,
            format,
            req,
            budget,
        } = match self
            .screen(
                req,
                prefer.as_deref(),
                caller.as_deref(),
                budget_user,
                &request_id,
                tokens_out,
            )
            .await
        {
            Ok(s) => s,
            Err(err) => {
                // Refused before any model: still one ledger row, eval record and log line.
                self.record_refusal(
                    &request_id,
                    &user,
                    caller.as_deref(),
                    &model,
                    &origin,
                    started,
                    &err,
                );
                return Err(err);
            }
        };
        let upstream = UpstreamRequest {
            messages: verdict.messages,
            max_tokens: req.max_completion_tokens.or(req.max_tokens),
            uses_max_completion_tokens: req.max_completion_tokens.is_some(),
            temperature: req.temperature,
            top_p: req.top_p,
            stop: req.stop.as_ref().map(|s| s.to_vec()),
            user: req.user.clone(),
            extra: req.extra,
            request_id: request_id.clone(),
            input_tokens: fit.tokens,
        };
        let cache_cfg = &self.config.cache;
        let hot = upstream.temperature.is_some_and(|t| t > 0.0);
        let use_cache = cache_cfg.enabled
            && cache_policy != CachePolicy::Bypass
            && !shadow
            && (!hot || cache_cfg.semantic.cache_nonzero_temperature);
        let tenant = match (cache_cfg.semantic.scope, &caller) {
            (CacheScope::PerKey, Some(k)) => k.config.name.as_str(),
            (CacheScope::PerKey, None) => "anonymous",
            (CacheScope::Shared, _) => "shared",
        };
        let scope = Scope {
            tenant,
            template: &origin.template,
            version: &origin.version,
            model: &req.model,
        };
        let cache_keys = use_cache
            .then(|| cache_keys(scope, &upstream, question.as_deref(), &context))
            .flatten()
            .map(Arc::new);
        let mut cache = if cache_keys.is_some() {
            CacheStatus::Miss
        } else {
            CacheStatus::Off
        };
        let mut cached = None;
        let mut vector = None;
        let mut flight = None;
        if let Some(keys) = &cache_keys {
            let found = self
                .lookup(&request_id, keys, cache_policy)
                .instrument(tracing::info_span!("cache_lookup"))
                .await;
            vector = found.vector;
            match found.hit {
                Some(hit) => {
                    cache = CacheStatus::Hit;
                    cached = Some(hit);
                }
                None => flight = Some(self.flights.join(&keys.exact)),
            }
        }
        Ok(Prepared {
            request_id,
            user,
            caller,
            counted_input: fit.counted,
            input_tokens: fit.tokens,
            chain,
            upstream: Arc::new(upstream),
            cache_keys,
            cache_policy,
            vector,
            cache,
            cached,
            flight: Mutex::new(flight),
            shadow,
            gateway_tools,
            pii_detected: verdict.pii_detected,
            origin,
            format,
            started,
            route: model,
            budget_mode: budget.mode,
            reservation: Mutex::new(budget.reservation),
            downgraded_from: budget.downgraded_from,
            span: tracing::Span::current(),
        })
    }

    /// The checks before a request may go anywhere: the key's model access and budget, the
    /// route, the context window (count, refuse or truncate), the key's token pace, and the
    /// input guardrails; first of all, the requested answer format.
    async fn screen(
        &self,
        mut req: ChatRequest,
        prefer: Option<&str>,
        caller: Option<&KeyState>,
        budget_user: Option<&str>,
        request_id: &str,
        tokens_out: &mut Option<Window>,
    ) -> Result<Screened, GatewayError> {
        let format = match req.extra.get("response_format") {
            Some(v) => OutputFormat::from_response_format(v).map_err(|e| {
                GatewayError::invalid(
                    format!("Invalid response_format: {e}"),
                    Some("response_format"),
                )
            })?,
            None => OutputFormat::Text,
        };
        if let Some(key) = caller {
            edge::check_model_access(key, &req.model)?;
            key.check_budget()?;
        }
        let mut chain = self.services.routes.resolve(&req.model, prefer)?;
        let messages = std::mem::take(&mut req.messages);
        let (messages, fit) = match chain.first() {
            Some(primary) => {
                let overflow = self
                    .config
                    .routes
                    .get(&req.model)
                    .map_or(ContextOverflow::Reject, |r| r.context_overflow);
                fit_input(primary, overflow, messages).await?
            }
            None => (messages, Fit::default()),
        };
        // Fallbacks with a smaller window than the input needs are left out of the chain.
        let first = chain.first().map(|h| h.model.clone());
        chain.retain(|h| Some(&h.model) == first.as_ref() || h.max_input_tokens >= fit.tokens);
        let budget = match budget_user {
            Some(user) => self.budget(user, &mut chain, fit.tokens, req.requested_max_tokens())?,
            None => Budgeted::default(),
        };
        if let Some(key) = caller {
            let n = u32::try_from(fit.tokens).unwrap_or(u32::MAX);
            match key.take_tokens(n) {
                Ok(w) => *tokens_out = Some(w),
                Err(e) => {
                    *tokens_out = Some(key.tokens_exhausted());
                    return Err(e);
                }
            }
        }
        let verdict = self
            .services
            .guardrails
            .check_input(request_id, messages)
            .instrument(tracing::info_span!("guardrail_input"))
            .await?;
        Ok(Screened {
            chain,
            verdict,
            fit,
            format,
            req,
            budget,
        })
    }

    /// Answers a prepared request without streaming: cache, then the chain, then a stale
    /// cached answer, then 503.
    pub async fn complete(&self, p: &Prepared) -> Result<Answer, GatewayError> {
        let chain = self.complete_chain(p);
        // Declared after `chain`, so on cancellation it is dropped first: the record is pushed
        // before the upstream call is dropped and its connection closed.
        let mut pending = Pending {
            gw: self,
            p,
            done: false,
        };
        let result = chain.await;
        pending.done = true;
        result
    }

    async fn complete_chain(&self, p: &Prepared) -> Result<Answer, GatewayError> {
        if let Some(hit) = &p.cached {
            let answer = self.answer_from_cache(p, hit, CacheStatus::Hit);
            self.record(p, &answer, None);
            return Ok(answer);
        }
        if let Some(answer) = self.follow(p).await {
            self.record(p, &answer, None);
            return Ok(answer);
        }
        let mut last_error: Option<ProviderError> = None;
        let mut client_error: Option<ProviderError> = None;
        let mut all_saturated = true;
        for handle in &p.chain {
            let mut tools_used = Vec::new();
            match self.call_with_tools(p, handle, &mut tools_used).await {
                Ok(c) => {
                    let (c, format_valid) = self.conform(p, handle, c).await;
                    let verdict = self
                        .services
                        .guardrails
                        .check_output(&p.request_id, &c.text)
                        .instrument(tracing::info_span!("guardrail_output"))
                        .await;
                    let (usage, estimated) = match c.usage {
                        Some(u) => (u, false),
                        None => (
                            estimate_usage(&handle.model, &p.upstream.messages, &c.text),
                            true,
                        ),
                    };
                    let mut answer = Answer {
                        request_id: p.request_id.clone(),
                        text: c.text,
                        model: handle.model.to_string(),
                        provider: Some(handle.provider.to_string()),
                        finish_reason: c.finish_reason,
                        cost_usd: handle.prices.cost(&usage),
                        usage,
                        estimated,
                        cache: p.cache,
                        similarity: None,
                        guardrail_output_pass: verdict.passed,
                        continued_from: None,
                        tool_calls: c.tool_calls,
                        tools_used,
                        pii_detected: p.pii_detected.clone(),
                        format_valid,
                        latency_ms: ms_since(p.started),
                        ttft_ms: None,
                    };
                    if !verdict.passed {
                        tracing::warn!(request_id = %p.request_id, reason = ?verdict.reason, "output guardrail replaced an answer");
                        answer.text = SAFE_MESSAGE.into();
                        answer.finish_reason = "content_filter".into();
                    }
                    self.store(p, &answer);
                    self.record(p, &answer, None);
                    return Ok(answer);
                }
                Err(e) if e.is_client_error() => {
                    // Another model may accept it (a larger context, another deployment); if
                    // none does, the client gets this rejection rather than a 503.
                    tracing::warn!(request_id = %p.request_id, model = %handle.model, error = %e, "model rejected the request; trying the next in the chain");
                    client_error.get_or_insert(e);
                }
                Err(e) => {
                    tracing::warn!(request_id = %p.request_id, model = %handle.model, error = %e, "model failed; trying the next in the chain");
                    all_saturated &= matches!(e, ProviderError::Saturated { .. });
                    last_error = Some(e);
                }
            }
        }
        if let Some(e) = client_error {
            let err = GatewayError::UpstreamRejected(e);
            self.record_failure(p, &err);
            return Err(err);
        }
        if let Some(stale) = self.stale_answer(p).await {
            let hit = CacheHit {
                answer: stale,
                similarity: 1.0,
            };
            let answer = self.answer_from_cache(p, &hit, CacheStatus::Stale);
            self.record(p, &answer, last_error.as_ref().map(ToString::to_string));
            return Ok(answer);
        }
        let err = unavailable(last_error.as_ref(), p.chain.is_empty(), all_saturated);
        self.record_failure(p, &err);
        Err(err)
    }

    /// Checks an answer against the requested format; on failure asks the same model once more
    /// with the validation error (`guardrails.format_retry`), then gives up and flags the answer.
    async fn conform(
        &self,
        p: &Prepared,
        handle: &ProviderHandle,
        c: Completion,
    ) -> (Completion, Option<bool>) {
        if !p.format.expects_json() || c.tool_calls.is_some() {
            return (c, None);
        }
        let Err(reason) = p.format.validate(&c.text) else {
            return (c, Some(true));
        };
        tracing::warn!(request_id = %p.request_id, model = %handle.model, %reason, retry = self.config.guardrails.format_retry, "answer does not match the requested format");
        if !self.config.guardrails.format_retry {
            return (c, Some(false));
        }
        let mut again = (*p.upstream).clone();
        again
            .messages
            .push(ChatMessage::text(Role::Assistant, c.text.clone()));
        again.messages.push(ChatMessage::text(
            Role::User,
            format!("{FORMAT_RETRY_PROMPT} The problem: {reason}"),
        ));
        match call::complete_with_retries(handle, &Arc::new(again)).await {
            Ok(second) => {
                let valid = p.format.validate(&second.text);
                if let Err(e) = &valid {
                    tracing::warn!(request_id = %p.request_id, model = %handle.model, reason = %e, "the retried answer does not match either; returning it flagged");
                }
                let usage = match (c.usage, second.usage) {
                    (Some(a), Some(b)) => Some(a.plus(&b)),
                    _ => None,
                };
                (Completion { usage, ..second }, Some(valid.is_ok()))
            }
            Err(e) => {
                tracing::warn!(request_id = %p.request_id, model = %handle.model, error = %e, "format retry failed; returning the first answer flagged");
                (c, Some(false))
            }
        }
    }

    fn answer_from_cache(&self, p: &Prepared, hit: &CacheHit, cache: CacheStatus) -> Answer {
        let similarity = Some(hit.similarity);
        let hit = &hit.answer;
        Answer {
            request_id: p.request_id.clone(),
            text: hit.text.clone(),
            model: hit.model.clone(),
            provider: None,
            finish_reason: hit.finish_reason.clone(),
            usage: hit.usage,
            estimated: false,
            cost_usd: Usd::ZERO,
            cache,
            similarity,
            guardrail_output_pass: true,
            continued_from: None,
            tool_calls: None,
            tools_used: Vec::new(),
            pii_detected: p.pii_detected.clone(),
            format_valid: p
                .format
                .expects_json()
                .then(|| p.format.validate(&hit.text).is_ok()),
            latency_ms: ms_since(p.started),
            ttft_ms: None,
        }
    }
}

/// Records a non-streaming request whose client went away before the answer: dropping the
/// request's future cancels the upstream call, and this guard leaves the eval record behind.
struct Pending<'a> {
    gw: &'a Gateway,
    p: &'a Prepared,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.gw
                .record_abandoned(self.p, "client disconnected before the answer");
        }
    }
}

/// Texts up to this many bytes are counted inline; longer ones on the blocking pool.
const INLINE_COUNT_BYTES: usize = 4096;

/// Fits the input to the primary model's window, counting on the blocking pool when it is long.
async fn fit_input(
    primary: &ProviderHandle,
    overflow: ContextOverflow,
    mut messages: Vec<ChatMessage>,
) -> Result<(Vec<ChatMessage>, Fit), GatewayError> {
    let model = primary.model.clone();
    let factor = primary.calibration.factor();
    let limit = primary.max_input_tokens;
    let bytes: usize = messages.iter().map(ChatMessage::text_len).sum();
    if bytes <= INLINE_COUNT_BYTES {
        let f = fit(&model, factor, limit, overflow, &mut messages)?;
        return Ok((messages, f));
    }
    actix_web::web::block(move || {
        let f = fit(&model, factor, limit, overflow, &mut messages);
        f.map(|f| (messages, f))
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("token counting pool unavailable: {e}")))?
}

/// The 503 when the chain is exhausted, or a 429 when every model was at its own pace.
pub fn unavailable(
    last: Option<&ProviderError>,
    empty_chain: bool,
    all_saturated: bool,
) -> GatewayError {
    match (last, empty_chain) {
        (_, true) => GatewayError::Unavailable("the route has no models".into()),
        (Some(e @ ProviderError::Saturated { retry_after, .. }), _) if all_saturated => {
            GatewayError::RateLimited {
                message: format!(
                    "Every model of the chain is at its configured rate limit ({e}); retry later"
                ),
                kind: "upstream",
                retry_after: *retry_after,
            }
        }
        (Some(e), _) => GatewayError::Unavailable(format!(
            "every model of the fallback chain failed (last: {e}) and no cached answer exists"
        )),
        (None, _) => GatewayError::Unavailable("no model could be called".into()),
    }
}

/// Usage counted with our tokenizer, when the provider reported none.
pub fn estimate_usage(model: &str, messages: &[ChatMessage], text: &str) -> Usage {
    Usage::new(
        tokens::count_messages(model, messages),
        tokens::count_text(model, text),
    )
}

pub(crate) fn ms_since(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}
