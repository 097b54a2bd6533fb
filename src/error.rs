//! Error types per boundary: [`ProviderError`] for upstream calls, [`GatewayError`] for HTTP.
//!
//! `GatewayError` is mapped to a status and the OpenAI error body in exactly one place,
//! its `ResponseError` impl.

use std::time::Duration;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

/// An error with its causes, "outer: inner: ...", a cause that repeats the text before it
/// left out. Some crates' own Display is only the kind (postgres: "db error"; hyper: "client
/// error (Connect)"); the useful message is in the sources.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.ends_with(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

/// Why a call to one upstream failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// TCP/TLS connection failed or was reset.
    #[error("cannot reach the upstream: {0}")]
    Connect(String),
    /// The call took longer than the named timeout.
    #[error("upstream timed out waiting for {0}")]
    Timeout(&'static str),
    /// The upstream answered with an HTTP error.
    #[error("upstream answered HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The upstream's own message.
        message: String,
        /// Parsed `Retry-After`, if sent.
        retry_after: Option<Duration>,
    },
    /// An error event arrived inside a stream (e.g. Anthropic `overloaded_error`).
    #[error("upstream stream reported {kind}: {message}")]
    StreamFailed {
        /// The provider's error type.
        kind: String,
        /// The provider's message.
        message: String,
    },
    /// The stream ended without its end marker (connection cut).
    #[error("upstream stream ended early: {0}")]
    Truncated(String),
    /// The upstream sent something we could not parse.
    #[error("upstream sent a malformed response: {0}")]
    Protocol(String),
    /// The circuit breaker is open: the provider is skipped without a call.
    #[error("circuit open for model {0}")]
    CircuitOpen(String),
    /// The provider is not configured to serve (e.g. no API key).
    #[error("model {model} is disabled: {reason}")]
    Disabled {
        /// Model name.
        model: String,
        /// Why.
        reason: String,
    },
    /// The upstream call panicked (or its task was aborted); the provider actor restarts.
    #[error("provider task crashed: {0}")]
    Crashed(String),
    /// The provider actor could not be reached (restarting or stopped).
    #[error("provider actor unavailable")]
    Unavailable,
    /// Our own pace toward this model is full (see `UpstreamPace`); the chain moves on.
    #[error("model is at its configured rate limit: {why}")]
    Saturated {
        /// What is full.
        why: String,
        /// When room is expected; `None` when the call can never fit.
        retry_after: Option<Duration>,
    },
    /// The mock provider simulated an upstream 500.
    #[error("mock provider simulated an upstream failure")]
    Simulated,
}

impl ProviderError {
    /// Whether another attempt on the same provider may succeed (429, 5xx, timeouts, resets).
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Connect(_)
            | ProviderError::Timeout(_)
            | ProviderError::Truncated(_)
            | ProviderError::Simulated => true,
            ProviderError::Status { status, .. } => {
                *status == 429 || *status == 408 || *status >= 500
            }
            ProviderError::StreamFailed { kind, .. } => matches!(
                kind.as_str(),
                "overloaded_error" | "api_error" | "rate_limit_error" | "server_error"
            ),
            ProviderError::Protocol(_)
            | ProviderError::CircuitOpen(_)
            | ProviderError::Disabled { .. }
            | ProviderError::Crashed(_)
            | ProviderError::Saturated { .. }
            | ProviderError::Unavailable => false,
        }
    }

    /// Whether the upstream refused the request itself (bad parameters, too long, unknown model
    /// name upstream): not retried on this model; the next model of the chain may accept it, and
    /// if none does the client gets this error instead of a 503.
    pub fn is_client_error(&self) -> bool {
        matches!(self, ProviderError::Status { status, .. } if matches!(status, 400 | 404 | 413 | 422))
    }

    /// Whether the failure counts against the provider's circuit.
    pub fn counts_against_circuit(&self) -> bool {
        !self.is_client_error()
            && !matches!(
                self,
                ProviderError::CircuitOpen(_)
                    | ProviderError::Disabled { .. }
                    | ProviderError::Saturated { .. }
                    | ProviderError::Unavailable
            )
    }

    /// The upstream's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Status { retry_after, .. }
            | ProviderError::Saturated { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short, stable label for logs and stats.
    pub fn label(&self) -> &'static str {
        match self {
            ProviderError::Connect(_) => "connect",
            ProviderError::Timeout(_) => "timeout",
            ProviderError::Status { .. } => "status",
            ProviderError::StreamFailed { .. } => "stream_error",
            ProviderError::Truncated(_) => "truncated",
            ProviderError::Protocol(_) => "protocol",
            ProviderError::CircuitOpen(_) => "circuit_open",
            ProviderError::Disabled { .. } => "disabled",
            ProviderError::Crashed(_) => "crashed",
            ProviderError::Unavailable => "unavailable",
            ProviderError::Saturated { .. } => "saturated",
            ProviderError::Simulated => "simulated",
        }
    }
}

/// An error returned to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is malformed or has a bad field.
    #[error("{message}")]
    InvalidRequest {
        /// Human-readable explanation.
        message: String,
        /// The offending parameter, if known.
        param: Option<String>,
    },
    /// The `model` names neither a model nor a route.
    #[error(
        "The model `{0}` does not exist; use a configured model or route name (see GET /v1/models)"
    )]
    ModelNotFound(String),
    /// The body is larger than `server.max_body_bytes`.
    #[error("Request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// An input guardrail refused the request.
    #[error("Request blocked by input guardrails: {0}")]
    Blocked(String),
    /// A template could not be rendered (unknown template, missing variable).
    #[error("{0}")]
    Template(String),
    /// The upstream refused the request as invalid; passed through.
    #[error("Upstream rejected the request: {0}")]
    UpstreamRejected(ProviderError),
    /// The answer broke an output guardrail rule (streams end with this).
    #[error("{0}")]
    OutputBlocked(String),
    /// A stream failed after tokens were sent and could not be continued.
    #[error("The stream was interrupted: {0}")]
    StreamInterrupted(String),
    /// No model of the chain could answer and no cached answer exists.
    #[error("Service temporarily unavailable: {0}")]
    Unavailable(String),
    /// No such path.
    #[error("No route for {0}")]
    NotFound(String),
    /// No such resource (document, template, experiment).
    #[error("{0}")]
    Missing(String),
    /// The resource exists already and is never overwritten.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but there is nothing to compute it from yet.
    #[error("{0}")]
    Unprocessable(String),
    /// The path exists, not with this method.
    #[error("Method {0} is not allowed on {1}")]
    MethodNotAllowed(String, String),
    /// No key, or a key the gateway does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid key without access to what it asked for.
    #[error("{0}")]
    Forbidden(String),
    /// A rate limit or budget refused the request.
    #[error("{message}")]
    RateLimited {
        /// What was exceeded, with the figures.
        message: String,
        /// OpenAI `type`: `requests`, `tokens`, `budget` or `upstream`.
        kind: &'static str,
        /// When a retry can succeed; `None` when it never can as it is.
        retry_after: Option<Duration>,
    },
    /// The input does not fit the model's context window.
    #[error("{0}")]
    ContextLengthExceeded(String),
    /// A guardrail failed and its policy is to fail closed.
    #[error("Guardrails unavailable, request refused for safety: {0}")]
    GuardrailUnavailable(String),
    /// An internal component failed (an actor mailbox closed); not the client's fault.
    #[error("Internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

/// The inner object of the OpenAI error shape.
#[derive(Serialize)]
pub struct ErrorDetail<'a> {
    /// Human-readable text.
    pub message: String,
    /// OpenAI error type.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Parameter at fault, if any.
    pub param: Option<String>,
    /// Machine-readable code.
    pub code: &'a str,
}

impl GatewayError {
    /// Shorthand for an invalid request with a parameter name.
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        GatewayError::InvalidRequest {
            message: message.into(),
            param: param.map(str::to_string),
        }
    }

    /// The OpenAI `type` and `code` of this error.
    fn kind_and_code(&self) -> (&'static str, &'static str) {
        match self {
            GatewayError::InvalidRequest { .. } => ("invalid_request_error", "invalid_request"),
            GatewayError::ModelNotFound(_) => ("invalid_request_error", "model_not_found"),
            GatewayError::PayloadTooLarge(_) => ("invalid_request_error", "payload_too_large"),
            GatewayError::Blocked(_) => ("invalid_request_error", "guardrail_blocked"),
            GatewayError::Template(_) => ("invalid_request_error", "template_error"),
            GatewayError::UpstreamRejected(_) => ("invalid_request_error", "upstream_rejected"),
            GatewayError::OutputBlocked(_) => ("content_filter_error", "content_filter"),
            GatewayError::StreamInterrupted(_) => ("server_error", "stream_interrupted"),
            GatewayError::Unavailable(_) => ("server_error", "service_unavailable"),
            GatewayError::NotFound(_) | GatewayError::Missing(_) => {
                ("invalid_request_error", "not_found")
            }
            GatewayError::Conflict(_) => ("invalid_request_error", "conflict"),
            GatewayError::Unprocessable(_) => ("invalid_request_error", "nothing_measured"),
            GatewayError::MethodNotAllowed(..) => ("invalid_request_error", "method_not_allowed"),
            GatewayError::Unauthorized(_) => ("invalid_request_error", "invalid_api_key"),
            GatewayError::Forbidden(_) => ("permission_error", "model_not_allowed"),
            GatewayError::RateLimited { kind, .. } => (kind, "rate_limit_exceeded"),
            GatewayError::ContextLengthExceeded(_) => {
                ("invalid_request_error", "context_length_exceeded")
            }
            GatewayError::GuardrailUnavailable(_) => ("server_error", "guardrail_unavailable"),
            GatewayError::Internal(_) => ("server_error", "internal_error"),
        }
    }

    /// The body detail, also used for SSE error events.
    pub fn detail(&self) -> ErrorDetail<'static> {
        let (kind, code) = self.kind_and_code();
        let param = match self {
            GatewayError::InvalidRequest { param, .. } => param.clone(),
            GatewayError::ModelNotFound(_) | GatewayError::Forbidden(_) => Some("model".into()),
            GatewayError::ContextLengthExceeded(_) => Some("messages".into()),
            _ => None,
        };
        ErrorDetail {
            message: self.to_string(),
            kind,
            param,
            code,
        }
    }

    /// The JSON text `{"error": {...}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&ErrorBody {
            error: self.detail(),
        })
        .unwrap_or_else(|_| {
            r#"{"error":{"message":"error","type":"server_error","code":"internal_error"}}"#.into()
        })
    }
}

impl ResponseError for GatewayError {
    fn status_code(&self) -> StatusCode {
        match self {
            GatewayError::InvalidRequest { .. }
            | GatewayError::ModelNotFound(_)
            | GatewayError::Blocked(_)
            | GatewayError::Template(_)
            | GatewayError::OutputBlocked(_) => StatusCode::BAD_REQUEST,
            GatewayError::StreamInterrupted(_) => StatusCode::BAD_GATEWAY,
            GatewayError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::UpstreamRejected(e) => match e {
                ProviderError::Status { status, .. } => {
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
                }
                _ => StatusCode::BAD_REQUEST,
            },
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::NotFound(_) | GatewayError::Missing(_) => StatusCode::NOT_FOUND,
            GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::ContextLengthExceeded(_) => StatusCode::BAD_REQUEST,
            GatewayError::GuardrailUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status_code());
        b.content_type("application/json");
        match self {
            GatewayError::RateLimited {
                retry_after: Some(wait),
                ..
            } => {
                // Whole seconds, rounded up: a client retrying at once would be refused again.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                b.insert_header(("retry-after", secs.max(1).to_string()));
            }
            GatewayError::Unauthorized(_) => {
                b.insert_header(("www-authenticate", "Bearer"));
            }
            _ => {}
        }
        b.body(self.to_json())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_classification_follows_status() {
        let s = |status| ProviderError::Status {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(s(429).is_retryable());
        assert!(s(503).is_retryable());
        assert!(!s(400).is_retryable());
        assert!(s(400).is_client_error());
        assert!(!s(401).is_retryable());
        assert!(!s(401).is_client_error());
        assert!(s(401).counts_against_circuit());
    }

    #[test]
    fn error_body_has_openai_shape() {
        let e = GatewayError::ModelNotFound("nope".into());
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().unwrap().contains("nope"));
    }
}
