//! Upstream providers: wire-format translation and the HTTP calls themselves, with no actor state.
//!
//! [`Upstream`] is what a `ProviderActor` lends to a request: the request's own task drives the
//! call, so no actor mailbox ever waits on network I/O.

pub mod anthropic;
pub mod client;
pub mod mock;
pub mod openai;
pub mod sse;

use std::{sync::Arc, time::Duration};

use client::HttpClient;
use hyper::body::Incoming;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::{
    config::{ModelConfig, ProviderConfig, ProviderKind, Secret, Timeouts},
    error::ProviderError,
    wire::{ChatMessage, Usage},
};

/// The largest non-streaming answer body read from an upstream.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What the gateway asks of an upstream, after guardrails and templating.
#[derive(Debug, Clone, Default)]
pub struct UpstreamRequest {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Output cap asked by the client (already clamped), if any.
    pub max_tokens: Option<u32>,
    /// Whether the client named the cap `max_completion_tokens`.
    pub uses_max_completion_tokens: bool,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Vec<String>>,
    /// End-user id.
    pub user: Option<String>,
    /// Other OpenAI parameters, passed to OpenAI-compatible upstreams.
    pub extra: Map<String, Value>,
    /// Propagated as `x-request-id`.
    pub request_id: String,
    /// Our estimate of the input's tokens, charged to the model's pace.
    pub input_tokens: u64,
}

impl UpstreamRequest {
    /// Tokens a call may consume, for pacing: the input and the requested output cap.
    pub fn paced_tokens(&self) -> u32 {
        let n = self.input_tokens + u64::from(self.max_tokens.unwrap_or(0));
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// One event of an upstream stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    /// New answer text.
    Delta(String),
    /// A `delta.tool_calls` fragment in OpenAI's shape: passed through from OpenAI-format
    /// streams, translated from Anthropic `tool_use` blocks.
    ToolCalls(Value),
}

/// A finished non-streaming answer.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Answer text.
    pub text: String,
    /// OpenAI finish reason (`stop`, `length` ...).
    pub finish_reason: String,
    /// Usage as reported by the upstream, if it did.
    pub usage: Option<Usage>,
    /// Tool calls in OpenAI's `message.tool_calls` shape (passed through from OpenAI-format
    /// answers, translated from Anthropic `tool_use` blocks).
    pub tool_calls: Option<Value>,
}

/// How a stream ended.
#[derive(Debug, Clone, Default)]
pub struct StreamEnd {
    /// OpenAI finish reason.
    pub finish_reason: String,
    /// Usage as reported by the upstream, if it did.
    pub usage: Option<Usage>,
    /// The consumer went away before the end; the upstream call was dropped.
    pub cancelled: bool,
}

/// A ready-to-call upstream for one model: its own connection pool and settings.
pub struct Upstream {
    /// Public model name.
    pub model: String,
    /// Name sent upstream.
    pub upstream_model: String,
    /// Provider name.
    pub provider: String,
    kind: ProviderKind,
    /// The full URL of the chat endpoint, parsed once.
    endpoint: Option<hyper::Uri>,
    /// Headers every call carries: credentials (marked sensitive) and the API version.
    fixed_headers: hyper::header::HeaderMap,
    /// Timeouts of this model.
    pub timeouts: Timeouts,
    /// Output token cap of this model.
    pub max_output_tokens: u32,
    /// One pool per runtime thread: a pooled connection is driven by a task on the runtime that
    /// opened it, so sharing one pool across worker threads would add two thread hops per call.
    pools: parking_lot::Mutex<Vec<(std::thread::ThreadId, HttpClient)>>,
    /// TLS settings every pool shares.
    tls: Arc<rustls::ClientConfig>,
    /// The proxy the environment sets for the endpoint.
    proxy: Option<client::Proxy>,
    mock: Option<mock::Simulator>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Upstream {
    /// Builds the upstream with a fresh connection pool.
    pub fn new(model: &ModelConfig, provider: &ProviderConfig) -> Result<Upstream, ProviderError> {
        let tls = client::tls_config(&provider.ca_roots)?;
        let path = match provider.kind {
            ProviderKind::OpenAi => Some("/chat/completions"),
            ProviderKind::Anthropic => Some("/messages"),
            ProviderKind::Mock => None,
        };
        let endpoint = path
            .map(|p| {
                format!("{}{p}", provider.base_url)
                    .parse::<hyper::Uri>()
                    .map_err(|e| {
                        ProviderError::Connect(format!(
                            "invalid base_url {:?}: {e}",
                            provider.base_url
                        ))
                    })
            })
            .transpose()?;
        let proxy = match &endpoint {
            Some(uri) => client::Proxy::from_env(uri)?,
            None => None,
        };
        let client = HttpClient::new(&tls, model.timeouts.connect, proxy.as_ref());
        Ok(Upstream {
            endpoint,
            fixed_headers: fixed_headers(provider.kind, provider.api_key.as_ref())?,
            model: model.name.clone(),
            upstream_model: model.upstream_model.clone(),
            provider: provider.name.clone(),
            kind: provider.kind,
            timeouts: model.timeouts.clone(),
            max_output_tokens: model.max_output_tokens,
            pools: parking_lot::Mutex::new(vec![(std::thread::current().id(), client)]),
            tls,
            proxy,
            mock: provider
                .mock
                .as_ref()
                .map(|s| mock::Simulator::new(s.clone(), &model.name, model.max_output_tokens)),
        })
    }

    /// This thread's pool, created on first use.
    fn client(&self) -> HttpClient {
        let me = std::thread::current().id();
        let mut pools = self.pools.lock();
        if let Some((_, c)) = pools.iter().find(|(t, _)| *t == me) {
            return c.clone();
        }
        let c = HttpClient::new(&self.tls, self.timeouts.connect, self.proxy.as_ref());
        pools.push((me, c.clone()));
        c
    }

    /// POSTs `body` to the chat endpoint; a non-2xx answer becomes [`ProviderError::Status`].
    /// The caller bounds the whole call with its own timeout (see the pipeline).
    async fn send(&self, body: Vec<u8>, request_id: &str) -> Result<Incoming, ProviderError> {
        let uri = self
            .endpoint
            .clone()
            .ok_or_else(|| ProviderError::Protocol("provider has no HTTP endpoint".into()))?;
        let resp = self
            .client()
            .post(uri, &self.fixed_headers, request_id, body)
            .await?;
        if resp.status().is_success() {
            return Ok(resp.into_body());
        }
        Err(status_error(resp).await)
    }

    /// A whole answer in one response.
    pub async fn complete(&self, req: &UpstreamRequest) -> Result<Completion, ProviderError> {
        match self.kind {
            ProviderKind::Mock => match &self.mock {
                Some(sim) => sim.complete(req).await,
                None => Err(ProviderError::Protocol(
                    "mock provider without settings".into(),
                )),
            },
            ProviderKind::OpenAi => {
                let body =
                    openai::request_body(req, &self.upstream_model, self.max_output_tokens, false)?;
                let resp = self.send(body, &req.request_id).await?;
                openai::parse_completion(&client::read_body(resp, MAX_ANSWER_BYTES).await?)
            }
            ProviderKind::Anthropic => {
                let body = anthropic::request_body(
                    req,
                    &self.upstream_model,
                    self.max_output_tokens,
                    false,
                )?;
                let resp = self.send(body, &req.request_id).await?;
                anthropic::parse_completion(&client::read_body(resp, MAX_ANSWER_BYTES).await?)
            }
        }
    }

    /// Streams an answer into `tx`; returns how it ended. A closed `tx` (the client went away)
    /// drops the upstream connection at once and ends with `cancelled`.
    pub async fn stream(
        &self,
        req: &UpstreamRequest,
        tx: &mpsc::Sender<ProviderEvent>,
    ) -> Result<StreamEnd, ProviderError> {
        let body = match self.kind {
            ProviderKind::Mock => {
                return match &self.mock {
                    Some(sim) => sim.stream(req, tx).await,
                    None => Err(ProviderError::Protocol(
                        "mock provider without settings".into(),
                    )),
                };
            }
            ProviderKind::OpenAi => {
                openai::request_body(req, &self.upstream_model, self.max_output_tokens, true)?
            }
            ProviderKind::Anthropic => {
                anthropic::request_body(req, &self.upstream_model, self.max_output_tokens, true)?
            }
        };
        let mut resp = tokio::select! {
            r = self.send(body, &req.request_id) => r?,
            _ = tx.closed() => return Ok(StreamEnd { cancelled: true, ..StreamEnd::default() }),
        };
        let mut parser = sse::SseParser::default();
        let mut decoder = StreamDecoder::new(self.kind);
        let mut first_sent = false;
        loop {
            let next = tokio::select! {
                n = client::next_chunk(&mut resp) => n,
                _ = tx.closed() => return Ok(decoder.cancelled()),
            };
            let chunk = match next {
                Some(Ok(c)) => c,
                Some(Err(e)) => return Err(e),
                None => return decoder.finish(),
            };
            for event in parser.push(&chunk) {
                for ev in decoder.decode(&event)? {
                    if tx.send(ev).await.is_err() {
                        return Ok(decoder.cancelled());
                    }
                    if !first_sent {
                        // Let the relay forward the first token before the rest of a burst
                        // read with it is decoded.
                        first_sent = true;
                        tokio::task::yield_now().await;
                    }
                }
                if decoder.done {
                    return decoder.finish();
                }
            }
        }
    }
}

/// Per-stream decoding state shared by both wire formats.
struct StreamDecoder {
    kind: ProviderKind,
    finish_reason: Option<String>,
    /// Anthropic's input usage from `message_start`, completed by `message_delta`.
    input_usage: Option<anthropic::RawUsage>,
    usage: Option<Usage>,
    done: bool,
    /// Anthropic block index of each `tool_use` block so far, in order: the position is the
    /// OpenAI tool-call index.
    tool_blocks: Vec<u64>,
}

impl StreamDecoder {
    fn new(kind: ProviderKind) -> Self {
        StreamDecoder {
            kind,
            finish_reason: None,
            input_usage: None,
            usage: None,
            done: false,
            tool_blocks: Vec::new(),
        }
    }

    fn decode(&mut self, event: &sse::SseEvent) -> Result<Vec<ProviderEvent>, ProviderError> {
        match self.kind {
            ProviderKind::Anthropic => anthropic::decode_event(self, event),
            _ => openai::decode_event(self, event),
        }
    }

    fn cancelled(&self) -> StreamEnd {
        StreamEnd {
            finish_reason: "cancelled".into(),
            usage: self.usage,
            cancelled: true,
        }
    }

    fn finish(&self) -> Result<StreamEnd, ProviderError> {
        match (&self.finish_reason, self.done) {
            (Some(reason), _) => Ok(StreamEnd {
                finish_reason: reason.clone(),
                usage: self.usage,
                cancelled: false,
            }),
            (None, _) => Err(ProviderError::Truncated(
                "the stream closed before its end marker".into(),
            )),
        }
    }
}

fn fixed_headers(
    kind: ProviderKind,
    key: Option<&Secret>,
) -> Result<hyper::header::HeaderMap, ProviderError> {
    use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
    let bad = |_| ProviderError::Protocol("the API key is not a valid header value".into());
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match (kind, key) {
        (ProviderKind::Anthropic, key) => {
            h.insert(
                "anthropic-version",
                HeaderValue::from_static(anthropic::API_VERSION),
            );
            if let Some(k) = key {
                let mut v = HeaderValue::from_str(k.expose()).map_err(bad)?;
                v.set_sensitive(true);
                h.insert("x-api-key", v);
            }
        }
        (_, Some(k)) => {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", k.expose())).map_err(bad)?;
            v.set_sensitive(true);
            h.insert(AUTHORIZATION, v);
        }
        (_, None) => {}
    }
    Ok(h)
}

/// Reads an error response: status, the provider's message and `Retry-After`.
async fn status_error(resp: hyper::Response<Incoming>) -> ProviderError {
    let status = resp.status().as_u16();
    let retry_after = parse_retry_after(resp.headers());
    // An error body past the limit (or cut short) is read as empty: the status still says it.
    let body = client::read_body(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
    ProviderError::Status {
        status,
        message,
        retry_after,
    }
}

fn parse_retry_after(headers: &hyper::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    // Absurd values are clamped to a day here; the retry policy caps them further.
    let clamp = |secs: f64| Duration::from_secs_f64(secs.clamp(0.0, 86_400.0));
    if let Some(ms) = number("retry-after-ms") {
        return Some(clamp(ms / 1000.0));
    }
    if let Some(secs) = number("retry-after") {
        return Some(clamp(secs));
    }
    // The HTTP-date form: wait until then (a date in the past means now).
    let date = headers.get("retry-after")?.to_str().ok()?;
    let at = httpdate::parse_http_date(date.trim()).ok()?;
    let wait = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(wait.min(Duration::from_secs(86_400)))
}

/// An error event inside a stream: `{"type": ..., "message": ...}` of either format.
fn stream_error(err: Option<&Value>, default_kind: &str) -> ProviderError {
    let field = |name: &str| err.and_then(|e| e.get(name)).and_then(Value::as_str);
    ProviderError::StreamFailed {
        kind: field("type").unwrap_or(default_kind).to_string(),
        message: field("message").unwrap_or("stream error").to_string(),
    }
}

/// Maps a provider's stop reason to OpenAI's finish reason.
pub fn finish_reason_from(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" | "stop" => "stop",
        "max_tokens" | "length" => "length",
        "tool_use" | "tool_calls" => "tool_calls",
        "refusal" | "content_filter" => "content_filter",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_seconds_and_ms() {
        let mut h = hyper::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = hyper::header::HeaderMap::new();
        h.insert("retry-after", "1e30".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(86_400)));
        h.insert("retry-after", "inf".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
        let soon = std::time::SystemTime::now() + Duration::from_secs(120);
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(soon).parse().unwrap(),
        );
        let wait = parse_retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
    }
}
