//! `POST /v1/chat`: the template-driven API: `{query, user_id, template?, version?, stream?, variables?}`.

use std::{collections::BTreeMap, sync::Arc};
use tracing::Instrument;

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use actix_web_lab::sse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{
    AppState, answer_headers, budget_headers, intake, json_body, keep_token_window, request_id,
    stream_relay,
};
use crate::{
    error::GatewayError,
    pipeline::{Answer, CachePolicy, Gateway, Intake, Origin, RelayEvent},
    prompts::PromptVersion,
    retrieval::Source,
    wire::{ChatMessage, ChatRequest, Role},
};

/// The request body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedChatRequest {
    /// The user's question.
    pub query: String,
    /// End-user id.
    pub user_id: String,
    /// Template name (default `general_chat`).
    #[serde(default)]
    pub template: Option<String>,
    /// Template version (default `v1`).
    #[serde(default)]
    pub version: Option<String>,
    /// Stream `{"token": ...}` events.
    #[serde(default)]
    pub stream: bool,
    /// Template variables besides `query` (e.g. `context`, `code`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, Value>,
}

/// The result of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedChatResponse {
    /// Request id.
    pub request_id: String,
    /// The answer.
    pub response: String,
    /// The model that answered.
    pub model: String,
    /// Served from cache.
    pub cache_hit: bool,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Milliseconds.
    pub latency_ms: f64,
    /// USD.
    pub cost_usd: f64,
    /// PII kinds redacted from the input.
    pub pii_detected: Vec<String>,
    /// Output guardrail verdict.
    pub guardrail_output_pass: bool,
    /// Template used.
    pub template: String,
    /// Version used.
    pub version: String,
    /// The experiment that chose the version, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// Retrieval, for templates that declare it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<RetrievalFacts>,
}

/// What retrieval contributed to an answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetrievalFacts {
    /// `ok`, or `unavailable` when the answer was made without context.
    pub status: &'static str,
    /// Milliseconds spent retrieving (apart from the model's latency).
    pub latency_ms: f64,
    /// The chunks given to the model as context.
    pub sources: Vec<Source>,
    /// Why retrieval was unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Shown to the model in place of context when retrieval failed.
const NO_CONTEXT: &str = "(No documents could be searched for this question.)";

/// The other facts of the request the response reports.
#[derive(Clone)]
struct Facts {
    origin: Origin,
    experiment: Option<String>,
    retrieval: Option<RetrievalFacts>,
}

impl SeedChatResponse {
    fn from_answer(a: &Answer, facts: &Facts) -> Self {
        let origin = &facts.origin;
        SeedChatResponse {
            request_id: a.request_id.clone(),
            response: a.text.clone(),
            model: a.model.clone(),
            cache_hit: matches!(
                a.cache,
                crate::pipeline::CacheStatus::Hit | crate::pipeline::CacheStatus::Stale
            ),
            input_tokens: a.usage.prompt_tokens,
            output_tokens: a.usage.completion_tokens,
            latency_ms: a.latency_ms,
            cost_usd: crate::money::to_f64(a.cost_usd),
            pii_detected: a.pii_detected.clone(),
            guardrail_output_pass: a.guardrail_output_pass,
            template: origin.template.clone(),
            version: origin.version.clone(),
            experiment: facts.experiment.clone(),
            retrieval: facts.retrieval.clone(),
        }
    }
}

/// Answers a question through a prompt template.
#[utoipa::path(
    post,
    path = "/v1/chat",
    tag = "chat",
    request_body = SeedChatRequest,
    responses(
        (status = 200, description = "The result, or with `stream: true` SSE `{\"token\": ...}` events then a summary and `[DONE]`", body = SeedChatResponse),
        (status = 400, description = "Bad request, unknown template or missing variable; a blocked input carries `blocked: true` and `reason`"),
        (status = 503, description = "Every model failed and nothing is cached"),
    )
)]
pub async fn chat(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let input: SeedChatRequest = json_body(&req, payload, &state.gateway, "/v1/chat").await?;
    if input.query.trim().is_empty() {
        return Err(GatewayError::invalid(
            "`query` must not be empty",
            Some("query"),
        ));
    }
    let gw = &state.gateway;
    let id = request_id(&req);
    let started = std::time::Instant::now();
    let template = input.template.as_deref().unwrap_or("general_chat");
    let resolved = gw
        .prompts
        .resolve(template, input.version.as_deref(), &input.user_id, &id)?;
    let version = resolved.version.clone();
    let mut vars = input.variables;
    vars.insert("query".into(), Value::from(input.query.clone()));
    let retrieval = if version.retrieval && !vars.contains_key("context") {
        Some(
            retrieve(gw, &id, &input.query, &mut vars)
                .instrument(tracing::info_span!("retrieval"))
                .await,
        )
    } else {
        None
    };
    let prompt =
        tracing::info_span!("prompt_render").in_scope(|| gw.prompts.render(&version, &vars))?;
    let origin = Origin {
        template: version.template.clone(),
        version: version.version.clone(),
    };
    let chat = template_request(gw, &version, prompt, &input.user_id, input.stream);
    // The cache compares the question; the other variables name its namespace.
    vars.remove("query");
    let context = serde_json::to_value(&vars).unwrap_or(Value::Null);
    let mut intake = intake(&req, id.clone(), origin.clone(), prefer(gw, &version));
    intake.question = Some(input.query.clone());
    intake.context = context.clone();
    if let Some(shadow) = &resolved.shadow {
        spawn_shadow(
            gw.clone(),
            shadow.clone(),
            vars.clone(),
            input.query.clone(),
            input.user_id.clone(),
            &id,
        );
    }
    let mut tokens = None;
    let prepared = gw.prepare(chat, intake, &mut tokens).await;
    keep_token_window(&req, tokens);
    let prepared = match prepared {
        Ok(p) => p,
        Err(GatewayError::Blocked(reason)) => return Ok(blocked(&id, reason, started)),
        Err(e) => return Err(e),
    };
    let facts = Facts {
        origin,
        experiment: resolved.experiment.clone(),
        retrieval,
    };
    if !input.stream {
        let answer = gw.complete(&prepared).await?;
        let mut b = HttpResponse::Ok();
        answer_headers(&mut b, &answer);
        for h in budget_headers(&prepared) {
            b.insert_header(h);
        }
        return Ok(b.json(SeedChatResponse::from_answer(&answer, &facts)));
    }
    Ok(stream_relay(gw, prepared, &req, move |ev| encode(ev, &facts)).await)
}

/// Puts the chunks nearest to `query` into `vars["context"]`; when the store is down or slow,
/// the answer is made without context, flagged in the response and the log.
async fn retrieve(
    gw: &Gateway,
    request_id: &str,
    query: &str,
    vars: &mut BTreeMap<String, Value>,
) -> RetrievalFacts {
    let started = std::time::Instant::now();
    match gw.retriever.retrieve(query).await {
        Ok(r) => {
            tracing::info!(
                request_id,
                retrieval_ms = r.latency_ms,
                chunks = r.sources.len(),
                "retrieval"
            );
            let context = if r.sources.is_empty() {
                NO_CONTEXT.to_string()
            } else {
                r.context
            };
            vars.insert("context".into(), Value::from(context));
            RetrievalFacts {
                status: "ok",
                latency_ms: r.latency_ms,
                sources: r.sources,
                error: None,
            }
        }
        Err(e) => {
            let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
            tracing::warn!(request_id, retrieval_ms = latency_ms, error = %e, "retrieval unavailable; answering without context");
            vars.insert("context".into(), Value::from(NO_CONTEXT));
            RetrievalFacts {
                status: "unavailable",
                latency_ms,
                sources: Vec::new(),
                error: Some(e.to_string()),
            }
        }
    }
}

/// The chat request a rendered template becomes.
fn template_request(
    gw: &Gateway,
    version: &PromptVersion,
    prompt: String,
    user: &str,
    stream: bool,
) -> ChatRequest {
    // A version naming a route answers on that route; one naming a model goes first in the
    // default route's chain.
    let model = if gw.config.routes.contains_key(&version.model) {
        version.model.clone()
    } else {
        gw.config.server.default_route.clone()
    };
    let mut extra = serde_json::Map::new();
    if version.response_format["type"] != "text" {
        extra.insert("response_format".into(), version.response_format.clone());
    }
    ChatRequest {
        model,
        messages: vec![ChatMessage::text(Role::User, prompt)],
        stream,
        stream_options: None,
        user: Some(user.to_string()),
        max_tokens: Some(version.max_output_tokens),
        max_completion_tokens: None,
        temperature: None,
        top_p: None,
        stop: None,
        extra,
    }
}

fn prefer(gw: &Gateway, version: &PromptVersion) -> Option<String> {
    (!gw.config.routes.contains_key(&version.model)).then(|| version.model.clone())
}

/// Runs an experiment's variant on the same question in the background: logged, evaluated and
/// costed apart (user `shadow`), never shown and never charged to the caller.
fn spawn_shadow(
    gw: Gateway,
    version: Arc<PromptVersion>,
    mut vars: BTreeMap<String, Value>,
    query: String,
    user: String,
    request_id: &str,
) {
    let shadow_id = format!("{request_id}-shadow");
    actix_web::rt::spawn(async move {
        vars.insert("query".into(), Value::from(query));
        let prompt = match gw.prompts.render(&version, &vars) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(request_id = %shadow_id, error = %e, "shadow run skipped");
                return;
            }
        };
        let chat = template_request(&gw, &version, prompt, &user, false);
        let intake = Intake {
            request_id: shadow_id.clone(),
            origin: Origin {
                template: version.template.clone(),
                version: version.version.clone(),
            },
            prefer: prefer(&gw, &version),
            cache_policy: CachePolicy::Bypass,
            caller: None,
            question: None,
            context: Value::Null,
            shadow: true,
        };
        let mut window = None;
        match gw.prepare(chat, intake, &mut window).await {
            Ok(p) => {
                if let Err(e) = gw.complete(&p).await {
                    tracing::info!(request_id = %shadow_id, error = %e, "shadow run failed");
                }
            }
            Err(e) => tracing::info!(request_id = %shadow_id, error = %e, "shadow run refused"),
        }
    });
}

/// A blocked request: the error shape plus the seed's `blocked` and `reason`.
fn blocked(request_id: &str, reason: String, started: std::time::Instant) -> HttpResponse {
    let err = GatewayError::Blocked(reason.clone());
    let detail = err.detail();
    tracing::warn!(request_id, %reason, "input guardrail blocked a request");
    HttpResponse::build(err.status_code())
        .insert_header(("x-request-id", request_id.to_string()))
        .json(json!({
            "request_id": request_id,
            "blocked": true,
            "reason": reason,
            "latency_ms": started.elapsed().as_secs_f64() * 1e3,
            "cost_usd": 0.0,
            "error": {"message": detail.message, "type": detail.kind, "code": detail.code},
        }))
}

fn encode(ev: RelayEvent, facts: &Facts) -> Vec<sse::Event> {
    match ev {
        RelayEvent::Delta { text, .. } => {
            vec![sse::Data::new(json!({ "token": text }).to_string()).into()]
        }
        RelayEvent::Done(answer) => {
            let mut summary = serde_json::to_value(SeedChatResponse::from_answer(&answer, facts))
                .unwrap_or_default();
            if let Some(obj) = summary.as_object_mut() {
                obj.remove("response");
                obj.insert("done".into(), true.into());
            }
            vec![
                sse::Data::new(summary.to_string()).into(),
                sse::Data::new("[DONE]").into(),
            ]
        }
        RelayEvent::Failed(err) => vec![sse::Data::new(err.to_json()).into()],
        // Templates declare no tools; nothing to relay.
        RelayEvent::ToolCalls { .. } => Vec::new(),
    }
}
