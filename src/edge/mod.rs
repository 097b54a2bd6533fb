//! The protective edge in front of the pipeline: virtual keys and the admin key, per-key request
//! and token paces with OpenAI's `x-ratelimit-*` headers, CORS, and context-window limits.
//!
//! - [`keys`]: key lookup by hash, per-key limits, allow-lists and daily spend.
//! - [`rate`]: governor-backed paces and the header formats.
//! - [`context`]: token counting against a model's window, refusal or middle truncation.

pub mod context;
pub mod keys;
pub mod rate;

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    web,
};

use crate::{config::CorsConfig, error::GatewayError, http::AppState};
use keys::KeyState;
use rate::{Window, format_reset};

/// The key a request authenticated with, left in the request's extensions by [`guard`].
#[derive(Clone)]
pub struct Caller(pub Arc<KeyState>);

/// The request budget after this request, for the response headers.
#[derive(Clone, Copy)]
struct RequestWindow(Window);

/// The token budget after this request, left by the handler that counted the input.
#[derive(Clone, Copy)]
pub struct TokenWindow(pub Window);

/// Middleware: the admin key for `/admin/*`; a virtual key and one request of its pace for
/// `/v1/*`; the rate-limit headers on every such response, refusals included. Health, metrics
/// and docs stay open.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let keys = &state.gateway.keys;
    let auth_span = tracing::info_span!("auth").entered();
    let path = req.path();
    let admitted = if path.starts_with("/admin") {
        keys.authorize_admin(req.headers()).map(|_| None)
    } else if path.starts_with("/v1/") {
        match keys.authenticate(req.headers()) {
            Ok(Some(key)) => match key.take_request() {
                Ok(window) => {
                    req.extensions_mut().insert(RequestWindow(window));
                    req.extensions_mut().insert(Caller(key.clone()));
                    Ok(Some(key))
                }
                Err(e) => {
                    let mut res = e.error_response();
                    set_window(
                        res.headers_mut(),
                        Limited::Requests,
                        key.requests_exhausted(),
                    );
                    return Ok(req.into_response(res).map_into_right_body());
                }
            },
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        Ok(None)
    };
    drop(auth_span);
    if let Err(e) = admitted {
        tracing::warn!(path = %req.path(), error = %e, "request refused at the edge");
        let mut res = e.error_response();
        if req.path().starts_with("/admin/dashboard") && res.status() == 401 {
            // A browser asks for credentials on a Basic challenge (any user, the admin key as
            // the password) and then sends them with every request of the page.
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Basic realm=\"sluice admin\""),
            );
        }
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let (requests, tokens) = {
        let ext = res.request().extensions();
        (
            ext.get::<RequestWindow>().copied(),
            ext.get::<TokenWindow>().copied(),
        )
    };
    if let Some(RequestWindow(w)) = requests {
        set_window(res.headers_mut(), Limited::Requests, w);
    }
    if let Some(TokenWindow(w)) = tokens {
        set_window(res.headers_mut(), Limited::Tokens, w);
    }
    Ok(res.map_into_left_body())
}

/// `x-ratelimit-limit-{what}`, `x-ratelimit-remaining-{what}`, `x-ratelimit-reset-{what}`.
fn set_window(h: &mut HeaderMap, what: Limited, w: Window) {
    let [limit, remaining, reset] = match what {
        Limited::Requests => [
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ],
        Limited::Tokens => [
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ],
    };
    h.insert(HeaderName::from_static(limit), HeaderValue::from(w.limit));
    h.insert(
        HeaderName::from_static(remaining),
        HeaderValue::from(w.remaining),
    );
    if let Ok(v) = HeaderValue::try_from(format_reset(w.reset)) {
        h.insert(HeaderName::from_static(reset), v);
    }
}

/// What a rate-limit window counts.
#[derive(Clone, Copy)]
enum Limited {
    Requests,
    Tokens,
}

/// The CORS layer from `[cors]`: exact origins only; a disallowed origin gets a normal answer
/// without CORS headers (the browser then withholds it), and preflights are answered here.
pub fn cors(cfg: &CorsConfig) -> Cors {
    let mut c = Cors::default()
        .allowed_methods(cfg.allowed_methods.iter().map(String::as_str))
        .allowed_headers(cfg.allowed_headers.iter().map(String::as_str))
        .expose_headers([
            "x-request-id",
            "x-sluice-model",
            "x-sluice-provider",
            "x-sluice-cache",
            "x-sluice-cost-usd",
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
            "retry-after",
        ])
        .max_age(cfg.max_age_secs)
        .block_on_origin_mismatch(false);
    for o in &cfg.allowed_origins {
        c = c.allowed_origin(o);
    }
    c
}

/// Refuses a key that may not use `model` (a model or route name).
pub fn check_model_access(key: &KeyState, model: &str) -> Result<(), GatewayError> {
    if key.may_use(model) {
        return Ok(());
    }
    Err(GatewayError::Forbidden(format!(
        "The key {} does not have access to model `{model}`",
        key.config.name
    )))
}
