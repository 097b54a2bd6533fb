//! HTTP handlers: extract, hand to the pipeline or an actor, map errors. No business logic.
//!
//! - [`completions`]: `POST /v1/chat/completions` (OpenAI-compatible) and `GET /v1/models`.
//! - [`seed_chat`]: `POST /v1/chat`, the template-driven API.
//! - [`health`]: liveness and readiness.
//! - [`admin`]: actor stats, restarts, costs, cache and eval summaries.
//! - [`prompts`]: prompt versions and experiments (admin), and `POST /v1/feedback`.
//! - [`embeddings`]: `POST /v1/embeddings`.
//! - [`documents`]: `/v1/documents`, the retrieval store.
//! - [`docs`]: the OpenAPI spec and the vendored Swagger UI.

pub mod accounting;
pub mod admin;
pub mod completions;
pub mod docs;
pub mod documents;
pub mod embeddings;
pub mod health;
pub mod observe;
pub mod prompts;
pub mod seed_chat;

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, Responder, ResponseError,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use std::convert::Infallible;

use actix_web_lab::sse::{self, Sse};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::{
    budget::Mode,
    edge::{Caller, TokenWindow, rate::Window},
    error::GatewayError,
    pipeline::{
        Answer, CachePolicy, Gateway, Intake, Origin, Prepared, RelayEvent, StreamRelay,
        new_request_id,
    },
};

/// Everything the handlers share.
pub struct AppState {
    /// The request flow.
    pub gateway: Gateway,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Query strings that do not parse get the OpenAI error shape like everything else.
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _| {
        GatewayError::invalid(format!("Invalid query string: {err}"), None).into()
    }));
    cfg.service(resource(
        "/v1/chat/completions",
        web::post().to(completions::chat_completions),
    ))
    .service(resource(
        "/v1/models",
        web::get().to(completions::list_models),
    ))
    .service(resource("/v1/chat", web::post().to(seed_chat::chat)))
    .service(resource(
        "/v1/embeddings",
        web::post().to(embeddings::embeddings),
    ))
    .service(
        web::resource("/v1/documents")
            .route(web::post().to(documents::create))
            .route(web::get().to(documents::list))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v1/documents/{id}")
            .route(web::get().to(documents::get))
            .route(web::delete().to(documents::delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(resource("/v1/feedback", web::post().to(prompts::feedback)))
    .service(resource("/admin/prompts", web::get().to(prompts::list)))
    .service(resource(
        "/admin/prompts/{template}/metrics",
        web::get().to(prompts::metrics),
    ))
    .service(resource(
        "/admin/prompts/{template}/versions",
        web::post().to(prompts::create_version),
    ))
    .service(resource(
        "/admin/prompts/{template}/activate",
        web::post().to(prompts::activate),
    ))
    .service(resource(
        "/admin/prompts/{template}/rollback",
        web::post().to(prompts::rollback),
    ))
    .service(
        web::resource("/admin/experiments")
            .route(web::get().to(prompts::experiments))
            .route(web::post().to(prompts::start_experiment))
            .default_service(web::to(method_not_allowed)),
    )
    .service(resource(
        "/admin/experiments/{name}/rollout",
        web::post().to(prompts::rollout),
    ))
    .service(resource(
        "/admin/experiments/{name}/rollback",
        web::post().to(prompts::rollback_experiment),
    ))
    .service(resource("/health", web::get().to(health::live)))
    .service(resource("/health/ready", web::get().to(health::ready)))
    .service(resource("/admin/actors", web::get().to(admin::actors)))
    .service(resource(
        "/admin/actors/{model}/restart",
        web::post().to(admin::restart_provider),
    ))
    .service(resource("/admin/eval", web::get().to(admin::eval)))
    .service(resource("/v1/costs", web::get().to(accounting::costs)))
    .service(resource(
        "/v1/costs/users/{id}",
        web::get().to(accounting::user_costs),
    ))
    .service(resource(
        "/admin/costs",
        web::get().to(accounting::admin_costs),
    ))
    .service(resource(
        "/admin/cost/projection",
        web::get().to(accounting::projection),
    ))
    .service(resource(
        "/admin/budgets",
        web::get().to(accounting::budgets),
    ))
    .service(resource("/admin/alerts", web::get().to(accounting::alerts)))
    .service(resource(
        "/admin/emergency",
        web::post().to(accounting::emergency),
    ))
    .service(resource("/admin/stats", web::get().to(observe::stats)))
    .service(resource("/metrics", web::get().to(observe::metrics)))
    .service(resource(
        "/admin/dashboard",
        web::get().to(observe::dashboard),
    ))
    .service(resource(
        "/admin/dashboard/events",
        web::get().to(observe::events),
    ))
    .service(resource(
        "/admin/dashboard/assets/{path:.*}",
        web::get().to(observe::asset),
    ))
    .service(resource(
        "/v1/cache/stats",
        web::get().to(admin::cache_stats),
    ))
    .service(docs::service());
}

fn resource(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, GatewayError> {
    Err(GatewayError::MethodNotAllowed(
        req.method().to_string(),
        req.path().to_string(),
    ))
}

/// The JSON 404 for unknown paths.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, GatewayError> {
    Err(GatewayError::NotFound(format!(
        "{} {}",
        req.method(),
        req.path()
    )))
}

/// Reads a JSON body of type `T` (within the configured size); `what` names its schema in the
/// 400 when it does not parse.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    gw: &Gateway,
    what: &str,
) -> Result<T, GatewayError> {
    let body = read_body(req, payload, gw.config.server.max_body_bytes).await?;
    serde_json::from_slice(&body).map_err(|e| {
        GatewayError::invalid(
            format!("Request body does not match the {what} schema: {e}"),
            None,
        )
    })
}

/// Reads the body up to `limit` bytes; larger bodies are refused with 413 before being read whole.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, GatewayError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::PayloadTooLarge(limit));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| GatewayError::invalid(format!("Cannot read request body: {e}"), None))?;
        if body.len() + chunk.len() > limit {
            return Err(GatewayError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The id of a request, as assigned by [`tag_request_id`].
#[derive(Clone)]
struct RequestId(String);

/// The client's `x-request-id` when it is sane, else a new one; the same for the whole request.
pub fn request_id(req: &HttpRequest) -> String {
    if let Some(RequestId(id)) = req.extensions().get::<RequestId>() {
        return id.clone();
    }
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_request_id)
}

/// Middleware: gives every request an id before any handler runs, and makes sure every response,
/// errors included, carries it in `x-request-id`.
pub async fn tag_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(req.request());
    req.extensions_mut().insert(RequestId(id.clone()));
    // The root of the request's trace: every component's span below hangs off it.
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let mut res = next.call(req).instrument(span).await?;
    let name = HeaderName::from_static("x-request-id");
    if !res.headers().contains_key(&name) {
        res.headers_mut().insert(name, header_value(&id));
    }
    Ok(res)
}

/// The request's facts besides its body: id, origin, preferred model, cache policy and the key
/// the edge admitted it with.
pub fn intake(
    req: &HttpRequest,
    request_id: String,
    origin: Origin,
    prefer: Option<String>,
) -> Intake {
    Intake {
        request_id,
        origin,
        prefer,
        cache_policy: cache_policy(req),
        caller: req.extensions().get::<Caller>().map(|c| c.0.clone()),
        question: None,
        context: serde_json::Value::Null,
        shadow: false,
    }
}

/// Leaves the key's token window for the edge's response headers.
pub fn keep_token_window(req: &HttpRequest, window: Option<Window>) {
    if let Some(w) = window {
        req.extensions_mut().insert(TokenWindow(w));
    }
}

/// `Cache-Control: no-store` bypasses the cache; `no-cache` refreshes it.
pub fn cache_policy(req: &HttpRequest) -> CachePolicy {
    let cc = req
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if cc.contains("no-store") {
        CachePolicy::Bypass
    } else if cc.contains("no-cache") {
        CachePolicy::Refresh
    } else {
        CachePolicy::Normal
    }
}

fn header_value(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// The budget's headers: `x-sluice-budget` (`downgraded` when the user passed their daily
/// budget, `emergency` in emergency mode) and `x-sluice-downgraded-from` (the model asked for).
pub fn budget_headers(p: &Prepared) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let word = match p.budget_mode {
        Some(Mode::Downgrade) => "downgraded",
        Some(Mode::Emergency) => "emergency",
        _ => return out,
    };
    out.push((
        HeaderName::from_static("x-sluice-budget"),
        HeaderValue::from_static(word),
    ));
    if let Some(from) = &p.downgraded_from {
        out.push((
            HeaderName::from_static("x-sluice-downgraded-from"),
            header_value(from),
        ));
    }
    out
}

/// Sets the gateway's response headers for a finished answer.
pub fn answer_headers(b: &mut HttpResponseBuilder, a: &Answer) {
    b.insert_header((
        HeaderName::from_static("x-request-id"),
        header_value(&a.request_id),
    ))
    .insert_header((
        HeaderName::from_static("x-sluice-model"),
        header_value(&a.model),
    ))
    .insert_header((
        HeaderName::from_static("x-sluice-cache"),
        header_value(a.cache.as_str()),
    ))
    .insert_header((
        HeaderName::from_static("x-sluice-cost-usd"),
        header_value(&format!("{:.8}", a.cost_usd)),
    ))
    .insert_header((
        HeaderName::from_static("x-sluice-guardrail-output"),
        HeaderValue::from_static(if a.guardrail_output_pass {
            "pass"
        } else {
            "fail"
        }),
    ));
    if let Some(sim) = a.similarity {
        b.insert_header((
            HeaderName::from_static("x-sluice-cache-similarity"),
            header_value(&format!("{sim:.4}")),
        ));
    }
    if let Some(p) = &a.provider {
        b.insert_header((
            HeaderName::from_static("x-sluice-provider"),
            header_value(p),
        ));
    }
    if let Some(valid) = a.format_valid {
        b.insert_header((
            HeaderName::from_static("x-sluice-format"),
            HeaderValue::from_static(if valid { "valid" } else { "invalid" }),
        ));
    }
    if !a.pii_detected.is_empty() {
        b.insert_header((
            HeaderName::from_static("x-sluice-pii"),
            header_value(&a.pii_detected.join(",")),
        ));
    }
}

/// How long a stream's response headers wait for the first event: a request that fails before
/// any token within this time still gets its HTTP status (400, 503) instead of an error event.
const STATUS_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Streams a prepared request to the client as SSE, each relay event encoded by `encode`
/// (OpenAI chunks or the template API's token events), with keep-alive comments while waiting.
pub async fn stream_relay(
    gw: &Gateway,
    prepared: Prepared,
    req: &HttpRequest,
    mut encode: impl FnMut(RelayEvent) -> Vec<sse::Event> + 'static,
) -> HttpResponse {
    let id = prepared.request_id.clone();
    let similarity = prepared
        .cached
        .as_ref()
        .map(|h| format!("{:.4}", h.similarity));
    let budget = budget_headers(&prepared);
    let mut relay = StreamRelay::new(gw.clone(), prepared);
    let first = match tokio::time::timeout(STATUS_WAIT, relay.next()).await {
        // The request-id middleware adds `x-request-id` to this response too.
        Ok(Some(RelayEvent::Failed(err))) => return err.error_response(),
        Ok(first) => first,
        // Still waiting for the first token: send the headers, keep-alives flow from here.
        Err(_) => None,
    };
    let cache = relay.cache_status().as_str();
    // One pause after the first event: the server writes the head and the first token out
    // before it encodes the rest of a burst that arrived with it.
    let flush =
        futures_util::stream::once(tokio::task::yield_now()).filter_map(|()| async { None });
    let events = futures_util::stream::iter(first)
        .chain(flush)
        .chain(relay.into_stream())
        .flat_map(move |ev| futures_util::stream::iter(encode(ev)))
        .map(Ok::<_, Infallible>);
    let mut res = Sse::from_stream(events)
        .with_keep_alive(gw.config.server.keep_alive)
        .customize()
        .insert_header(("x-request-id", id))
        .insert_header(("x-sluice-cache", cache))
        .insert_header(("x-accel-buffering", "no"));
    if let Some(sim) = similarity {
        res = res.insert_header(("x-sluice-cache-similarity", sim));
    }
    for h in budget {
        res = res.insert_header(h);
    }
    res.respond_to(req).map_into_boxed_body()
}
