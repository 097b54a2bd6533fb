//! `POST /v1/chat/completions` (OpenAI-compatible, streaming and not) and `GET /v1/models`.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_lab::sse;
use serde_json::json;

use super::{
    AppState, answer_headers, budget_headers, intake, keep_token_window, read_body, request_id,
    stream_relay,
};
use crate::{
    error::GatewayError,
    pipeline::{Origin, RelayEvent},
    wire::{
        AssistantMessage, ChatCompletion, ChatRequest, Choice, Chunk, ChunkChoice, Delta, Role,
        unix_now,
    },
};

/// Creates a chat completion through the fallback chain of `model`.
#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    tag = "chat",
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The completion (JSON), or with `stream: true` OpenAI chat.completion.chunk events ending `data: [DONE]`", body = ChatCompletion),
        (status = 400, description = "Malformed request, unknown model, blocked input"),
        (status = 413, description = "Body over the size limit"),
        (status = 503, description = "Every model of the chain failed and nothing is cached"),
    )
)]
pub async fn chat_completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let body = read_body(&req, payload, gw.config.server.max_body_bytes).await?;
    let chat = ChatRequest::parse(&body)?;
    let stream = chat.stream;
    let include_usage = chat
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    let origin = Origin {
        template: "none".into(),
        version: "none".into(),
    };
    let intake = intake(&req, request_id(&req), origin, None);
    let mut tokens = None;
    let prepared = gw.prepare(chat, intake, &mut tokens).await;
    keep_token_window(&req, tokens);
    let prepared = prepared?;
    if !stream {
        let answer = gw.complete(&prepared).await?;
        let mut b = HttpResponse::Ok();
        answer_headers(&mut b, &answer);
        for h in budget_headers(&prepared) {
            b.insert_header(h);
        }
        let content =
            (!answer.text.is_empty() || answer.tool_calls.is_none()).then_some(answer.text);
        let tools_used = answer.tools_used;
        let body = ChatCompletion {
            id: format!("chatcmpl-{}", answer.request_id),
            object: "chat.completion".into(),
            created: unix_now(),
            model: answer.model,
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: Role::Assistant,
                    content,
                    tool_calls: answer.tool_calls,
                },
                finish_reason: answer.finish_reason,
                logprobs: None,
            }],
            usage: answer.usage,
        };
        if tools_used.is_empty() {
            // Sized once for the answer plus the envelope, instead of regrown while written.
            let text = body
                .choices
                .first()
                .and_then(|c| c.message.content.as_ref());
            let mut out = Vec::with_capacity(512 + text.map_or(0, |t| t.len() + t.len() / 8));
            if serde_json::to_writer(&mut out, &body).is_ok() {
                return Ok(b
                    .content_type(actix_web::http::header::ContentType::json())
                    .body(out));
            }
            return Ok(b.json(body));
        }
        // The gateway's own tool runs are listed beside the standard fields.
        let mut v = serde_json::to_value(&body).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "tools_used".into(),
                serde_json::to_value(&tools_used).unwrap_or_default(),
            );
        }
        return Ok(b.json(v));
    }
    let mut encoder = ChunkEncoder {
        id: format!("chatcmpl-{}", prepared.request_id),
        created: unix_now(),
        role_sent: false,
        include_usage,
    };
    Ok(stream_relay(gw, prepared, &req, move |ev| encoder.encode(ev)).await)
}

/// Turns relay events into OpenAI `chat.completion.chunk` events.
struct ChunkEncoder {
    id: String,
    created: u64,
    role_sent: bool,
    include_usage: bool,
}

impl ChunkEncoder {
    fn chunk(&self, model: &str, delta: Delta, finish: Option<String>) -> String {
        let c = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model,
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
                logprobs: None,
            }],
            usage: None,
            sluice: None,
        };
        serde_json::to_string(&c).unwrap_or_default()
    }

    fn role(&mut self, model: &str, out: &mut Vec<sse::Event>) {
        if !self.role_sent {
            self.role_sent = true;
            let delta = Delta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                tool_calls: None,
            };
            out.push(sse::Data::new(self.chunk(model, delta, None)).into());
        }
    }

    fn encode(&mut self, ev: RelayEvent) -> Vec<sse::Event> {
        let mut out = Vec::with_capacity(2);
        match ev {
            RelayEvent::Delta { model, text } => {
                self.role(&model, &mut out);
                let delta = Delta {
                    role: None,
                    content: Some(text),
                    tool_calls: None,
                };
                out.push(sse::Data::new(self.chunk(&model, delta, None)).into());
            }
            RelayEvent::ToolCalls { model, calls } => {
                self.role(&model, &mut out);
                let delta = Delta {
                    role: None,
                    content: None,
                    tool_calls: Some(calls),
                };
                out.push(sse::Data::new(self.chunk(&model, delta, None)).into());
            }
            RelayEvent::Done(answer) => {
                self.role(&answer.model, &mut out);
                let facts = answer.facts();
                let last_has_usage = self.include_usage;
                let finish = Chunk {
                    id: &self.id,
                    object: "chat.completion.chunk",
                    created: self.created,
                    model: &answer.model,
                    choices: vec![ChunkChoice {
                        index: 0,
                        delta: Delta::default(),
                        finish_reason: Some(answer.finish_reason.clone()),
                        logprobs: None,
                    }],
                    usage: None,
                    sluice: (!last_has_usage).then(|| facts.clone()),
                };
                out.push(sse::Data::new(serde_json::to_string(&finish).unwrap_or_default()).into());
                if last_has_usage {
                    let usage = Chunk {
                        id: &self.id,
                        object: "chat.completion.chunk",
                        created: self.created,
                        model: &answer.model,
                        choices: Vec::new(),
                        usage: Some(answer.usage),
                        sluice: Some(facts),
                    };
                    out.push(
                        sse::Data::new(serde_json::to_string(&usage).unwrap_or_default()).into(),
                    );
                }
                out.push(sse::Data::new("[DONE]").into());
            }
            RelayEvent::Failed(err) => {
                out.push(sse::Data::new(err.to_json()).into());
            }
        }
        out
    }
}

/// Lists the models and routes the gateway serves.
#[utoipa::path(get, path = "/v1/models", tag = "chat", responses((status = 200, description = "OpenAI model list")))]
pub async fn list_models(state: web::Data<AppState>) -> HttpResponse {
    let cfg = &state.gateway.config;
    let created = unix_now();
    let models = cfg.models.values().map(|m| {
        json!({"id": m.name, "object": "model", "created": created, "owned_by": m.provider,
               "sluice": {"kind": "model", "available": m.disabled_reason.is_none(), "standing_in_for": m.standing_in_for}})
    });
    let routes = cfg.routes.iter().map(|(name, r)| {
        json!({"id": name, "object": "model", "created": created, "owned_by": "sluice",
               "sluice": {"kind": "route", "fallback": r.fallback}})
    });
    HttpResponse::Ok()
        .json(json!({"object": "list", "data": models.chain(routes).collect::<Vec<_>>()}))
}
