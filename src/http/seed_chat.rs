//! `POST /v1/chat`: the template-driven API: `{query, user_id, template?, version?, stream?, variables?}`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use actix_web_lab::sse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{
    AppState, answer_headers, intake, keep_token_window, read_body, request_id, stream_relay,
};
use crate::{
    error::GatewayError,
    pipeline::{Answer, Origin, RelayEvent},
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
}

impl SeedChatResponse {
    fn from_answer(a: &Answer, origin: &Origin) -> Self {
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
            cost_usd: a.cost_usd,
            pii_detected: a.pii_detected.clone(),
            guardrail_output_pass: a.guardrail_output_pass,
            template: origin.template.clone(),
            version: origin.version.clone(),
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
    let gw = &state.gateway;
    let body = read_body(&req, payload, gw.config.server.max_body_bytes).await?;
    let input: SeedChatRequest = serde_json::from_slice(&body).map_err(|e| {
        GatewayError::invalid(
            format!("Request body does not match the /v1/chat schema: {e}"),
            None,
        )
    })?;
    if input.query.trim().is_empty() {
        return Err(GatewayError::invalid(
            "`query` must not be empty",
            Some("query"),
        ));
    }
    let template = state.templates.get(
        input.template.as_deref().unwrap_or("general_chat"),
        input.version.as_deref(),
    )?;
    let mut vars = input.variables;
    vars.insert("query".into(), Value::from(input.query.clone()));
    let prompt = state.templates.render(template, &vars)?;
    let origin = Origin {
        template: template.name.to_string(),
        version: template.version.to_string(),
    };
    let chat = ChatRequest {
        model: gw.config.server.default_route.clone(),
        messages: vec![ChatMessage::text(Role::User, prompt)],
        stream: input.stream,
        stream_options: None,
        user: Some(input.user_id),
        max_tokens: Some(template.max_output_tokens),
        max_completion_tokens: None,
        temperature: None,
        top_p: None,
        stop: None,
        extra: Default::default(),
    };
    let id = request_id(&req);
    let started = std::time::Instant::now();
    let intake = intake(
        &req,
        id.clone(),
        origin.clone(),
        Some(template.model.to_string()),
    );
    let mut tokens = None;
    let prepared = gw.prepare(chat, intake, &mut tokens).await;
    keep_token_window(&req, tokens);
    let prepared = match prepared {
        Ok(p) => p,
        Err(GatewayError::Blocked(reason)) => return Ok(blocked(&id, reason, started)),
        Err(e) => return Err(e),
    };
    if !input.stream {
        let answer = gw.complete(&prepared).await?;
        let mut b = HttpResponse::Ok();
        answer_headers(&mut b, &answer);
        return Ok(b.json(SeedChatResponse::from_answer(&answer, &origin)));
    }
    Ok(stream_relay(gw, prepared, &req, move |ev| encode(ev, &origin)).await)
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

fn encode(ev: RelayEvent, origin: &Origin) -> Vec<sse::Event> {
    match ev {
        RelayEvent::Delta { text, .. } => {
            vec![sse::Data::new(json!({ "token": text }).to_string()).into()]
        }
        RelayEvent::Done(answer) => {
            let mut summary = serde_json::to_value(SeedChatResponse::from_answer(&answer, origin))
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
