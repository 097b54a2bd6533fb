//! Scriptable mock LLM upstream for integration tests.
//!
//! [`MockUpstream::start`] runs an actix-web server on an ephemeral port in its
//! own OS thread. It serves the real wire formats of OpenAI Chat Completions
//! (`POST /v1/chat/completions`) and Anthropic Messages (`POST /v1/messages`),
//! both streaming (SSE) and non-streaming. Each request consumes the next
//! [`Step`] of the script; once the script is exhausted every request gets
//! `Step::reply(DEFAULT_TEXT)`.
//!
//! Every request is recorded (count, JSON body, headers) before any delay is
//! applied. Streaming bodies are produced incrementally, so cuts and hangs are
//! real at the TCP level, and a body dropped by the client before its natural
//! end is reported through [`MockUpstream::wait_client_disconnect`].
//!
//! Token usage is deterministic: prompt tokens = number of whitespace-separated
//! words in all message texts (plus the Anthropic `system` prompt) + 3, and
//! completion tokens = number of words of the reply text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use tokio::sync::Notify;

/// Text used for requests arriving after the script is used up.
pub const DEFAULT_TEXT: &str = "Hello from the mock upstream";

/// How long a cut stream waits for buffered events to be flushed.
const CUT_FLUSH_PAUSE: Duration = Duration::from_millis(20);

/// One scripted upstream behaviour; each request consumes one step.
#[derive(Clone, Debug)]
pub enum Step {
    /// Success. Non-stream: a full completion JSON. Stream: the text split
    /// into word chunks, each preceded by `chunk_delay_ms`, then the end of
    /// stream.
    Reply { text: String, chunk_delay_ms: u64 },
    /// An HTTP error with a provider-shaped error body; `retry_after` sets the
    /// `Retry-After` header (seconds).
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Wait `ms` before answering with the inner step (before the response
    /// headers, also for streams).
    Delay { ms: u64, then: Box<Step> },
    /// Hold the request until the test opens `gate` (the gate notes the arrival), then answer
    /// with the inner step.
    Gated { gate: Gate, then: Box<Step> },
    /// Stream: send these words, then drop the connection abruptly with no
    /// end-of-stream marker. Non-stream: send half of the JSON body, then drop
    /// the connection.
    CutAfter { text: String },
    /// Stream: send these words, then a provider-shaped in-stream error event,
    /// then end cleanly. Non-stream: behaves like an overloaded status (529
    /// for Anthropic, 503 for OpenAI).
    StreamError { text: String },
    /// Stream: send the first word, then stay pending until the client goes
    /// away. Non-stream: never answer (the handler stays pending).
    Hang { text: String },
    /// OpenAI only: the model calls the function `name` with JSON `arguments`
    /// (`finish_reason: "tool_calls"`); streamed as OpenAI does, the arguments
    /// in two fragments.
    ToolCall { name: String, arguments: String },
    /// Anthropic only: the model says `text` (no text block when empty), then
    /// calls each of `calls` (`stop_reason: "tool_use"`). Streamed as Anthropic
    /// does: a text block, then per call a `tool_use` block whose input arrives
    /// as an empty and then three `input_json_delta` fragments. Output tokens =
    /// words of `text` + 5 per call.
    ToolUse { text: String, calls: Vec<ToolUse> },
}

/// One `tool_use` block of a [`Step::ToolUse`] answer.
#[derive(Clone, Debug)]
pub struct ToolUse {
    /// The block id (`toolu_...`).
    pub id: String,
    /// The tool called.
    pub name: String,
    /// The input object as JSON text; streamed in fragments of this exact text.
    pub input: String,
}

impl Step {
    /// A plain successful reply without chunk delays.
    pub fn reply(text: &str) -> Step {
        Step::Reply {
            text: text.into(),
            chunk_delay_ms: 0,
        }
    }

    /// An Anthropic answer calling one tool, with optional leading text.
    pub fn tool_use(text: &str, id: &str, name: &str, input: &str) -> Step {
        Step::ToolUse {
            text: text.into(),
            calls: vec![ToolUse {
                id: id.into(),
                name: name.into(),
                input: input.into(),
            }],
        }
    }
}

/// A gate a test opens to let held requests through, and that tells the test when one
/// arrived.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    arrivals: std::sync::atomic::AtomicUsize,
    arrived: Notify,
    opened: Notify,
    open: AtomicBool,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Waits until a request reached the gate.
    pub async fn wait_arrived(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.inner.arrived.notified())
            .await
            .expect("no request reached the gate");
    }

    /// Waits until `n` requests in all reached the gate.
    pub async fn wait_arrivals(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let arrived = self.inner.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                if self.inner.arrivals.load(Ordering::SeqCst) >= n {
                    return;
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} requests reached the gate"));
    }

    /// Lets every held and future request through.
    pub fn open(&self) {
        self.inner.open.store(true, Ordering::SeqCst);
        self.inner.opened.notify_waiters();
    }

    async fn arrive_and_wait(&self) {
        let opened = self.inner.opened.notified();
        tokio::pin!(opened);
        opened.as_mut().enable();
        self.inner.arrivals.fetch_add(1, Ordering::SeqCst);
        self.inner.arrived.notify_one();
        if !self.inner.open.load(Ordering::SeqCst) {
            opened.await;
        }
    }
}

/// A running mock upstream server; stopped (without blocking) on drop.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
}

impl MockUpstream {
    /// Starts a server that plays `script` in order, one step per request;
    /// afterwards every request gets `Step::reply(DEFAULT_TEXT)`.
    pub fn start(script: Vec<Step>) -> MockUpstream {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                script: script.into(),
                calls: 0,
                bodies: Vec::new(),
                headers: Vec::new(),
                versions: Vec::new(),
            }),
            disconnected: AtomicBool::new(false),
            notify: Notify::new(),
            next_id: AtomicU64::new(1),
            cache_read: AtomicU64::new(0),
            cache_write: AtomicU64::new(0),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let server_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("mock-upstream".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let data = web::Data::from(server_shared);
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                            .route("/v1/chat/completions", web::post().to(openai_handler))
                            .route("/v1/messages", web::post().to(anthropic_handler))
                    })
                    .workers(1)
                    .disable_signals()
                    // Without this a client that goes away is only noticed on
                    // the next write, so a hanging response would never end.
                    .h1_allow_half_closed(false)
                    .shutdown_timeout(0)
                    // HTTP/1.1, or HTTP/2 by prior knowledge (what the TLS front passes on
                    // after negotiating h2).
                    .bind_auto_h2c(("127.0.0.1", 0))
                    .expect("mock upstream: bind 127.0.0.1:0");
                    let addr = server.addrs()[0];
                    let server = server.run();
                    tx.send((addr, server.handle()))
                        .expect("mock upstream: hand back address");
                    let _ = server.await;
                });
            })
            .expect("mock upstream: spawn thread");
        let (addr, handle) = rx.recv().expect("mock upstream: server failed to start");
        MockUpstream {
            addr,
            shared,
            handle,
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// From now on, every answer reports `read` input tokens as read from the provider's prompt
    /// cache and `written` as written to it (OpenAI `prompt_tokens_details.cached_tokens`;
    /// Anthropic `cache_read_input_tokens` / `cache_creation_input_tokens`, its
    /// `input_tokens` then counting the rest only, as Anthropic does).
    pub fn prompt_cache(&self, read: u64, written: u64) {
        self.shared.cache_read.store(read, Ordering::SeqCst);
        self.shared.cache_write.store(written, Ordering::SeqCst);
    }

    /// Number of requests received so far (both routes).
    pub fn calls(&self) -> usize {
        self.shared.state.lock().unwrap().calls
    }

    /// JSON bodies received, in order (`Value::String` of the raw body if it
    /// was not valid JSON).
    pub fn bodies(&self) -> Vec<Value> {
        self.shared.state.lock().unwrap().bodies.clone()
    }

    /// Request headers of each call (lower-cased names), in order.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.shared.state.lock().unwrap().headers.clone()
    }

    /// The HTTP version of each call, in order (`HTTP/1.1`, `HTTP/2.0`).
    pub fn versions(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().versions.clone()
    }

    /// Waits up to `timeout` until a client went away before its response
    /// finished (a streaming body dropped early, or a request abandoned
    /// during a `Delay` or a non-stream `Hang`); returns whether that
    /// happened. The flag is sticky for the lifetime of the server.
    pub async fn wait_client_disconnect(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            // Register interest before checking the flag so no wakeup is lost.
            notified.as_mut().enable();
            if self.shared.disconnected.load(Ordering::SeqCst) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.shared.disconnected.load(Ordering::SeqCst);
            }
        }
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        // `stop` sends the command eagerly; the returned future only waits for
        // completion, which we deliberately do not block on.
        drop(self.handle.stop(false));
    }
}

/// State shared between the test and the server thread.
struct Shared {
    state: Mutex<State>,
    disconnected: AtomicBool,
    notify: Notify,
    next_id: AtomicU64,
    /// Input tokens every answer reports as read from / written to the provider's prompt
    /// cache (set by `prompt_cache`).
    cache_read: AtomicU64,
    cache_write: AtomicU64,
}

impl Shared {
    /// Records the client going away before a response finished.
    fn mark_disconnect(&self) {
        self.disconnected.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }
}

struct State {
    script: VecDeque<Step>,
    calls: usize,
    bodies: Vec<Value>,
    headers: Vec<Vec<(String, String)>>,
    versions: Vec<String>,
}

/// Which provider wire format a route speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Provider {
    OpenAi,
    Anthropic,
}

/// Fires `mark_disconnect` on drop unless disarmed (natural end reached).
struct DisconnectGuard {
    shared: Arc<Shared>,
    armed: bool,
}

impl DisconnectGuard {
    fn new(shared: Arc<Shared>) -> Self {
        DisconnectGuard {
            shared,
            armed: true,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if self.armed {
            self.shared.mark_disconnect();
        }
    }
}

async fn openai_handler(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    handle(Provider::OpenAi, req, body, shared.into_inner()).await
}

async fn anthropic_handler(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    handle(Provider::Anthropic, req, body, shared.into_inner()).await
}

/// Records the request, picks the next step and plays it.
async fn handle(
    provider: Provider,
    req: HttpRequest,
    body: web::Bytes,
    shared: Arc<Shared>,
) -> HttpResponse {
    let json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();

    let authorized = provider == Provider::OpenAi
        || (headers.iter().any(|(k, _)| k == "x-api-key")
            && headers.iter().any(|(k, _)| k == "anthropic-version"));

    let step = {
        let mut state = shared.state.lock().unwrap();
        state.calls += 1;
        state.bodies.push(json.clone());
        state.headers.push(headers);
        state.versions.push(format!("{:?}", req.version()));
        // An auth failure does not consume a scripted step.
        if authorized {
            state.script.pop_front()
        } else {
            None
        }
    };
    if !authorized {
        return error_response(
            provider,
            401,
            None,
            "authentication_error",
            "missing x-api-key or anthropic-version header",
        );
    }
    let step = step.unwrap_or_else(|| Step::reply(DEFAULT_TEXT));

    let ctx = RequestCtx {
        provider,
        model: json
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        stream: json.get("stream").and_then(Value::as_bool) == Some(true),
        include_usage: json
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true),
        prompt_tokens: prompt_words(provider, &json) + 3,
        cache_read: shared.cache_read.load(Ordering::SeqCst),
        cache_write: shared.cache_write.load(Ordering::SeqCst),
        id: match provider {
            Provider::OpenAi => format!("chatcmpl-mock{}", shared.next_id()),
            Provider::Anthropic => format!("msg_mock{}", shared.next_id()),
        },
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    play(step, &ctx, shared).await
}

/// Per-request facts needed to render responses.
struct RequestCtx {
    provider: Provider,
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: u64,
    cache_read: u64,
    cache_write: u64,
    id: String,
    created: u64,
}

/// Plays one step (unwrapping any `Delay`s first).
async fn play(mut step: Step, ctx: &RequestCtx, shared: Arc<Shared>) -> HttpResponse {
    loop {
        match step {
            Step::Delay { ms, then } => {
                // If the client gives up during the delay, the handler future is
                // dropped and so is this guard.
                let mut guard = DisconnectGuard::new(Arc::clone(&shared));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                guard.disarm();
                step = *then;
            }
            Step::Gated { gate, then } => {
                gate.arrive_and_wait().await;
                step = *then;
            }
            other => {
                step = other;
                break;
            }
        }
    }
    match step {
        Step::Delay { .. } | Step::Gated { .. } => unreachable!("unwrapped above"),
        Step::Status {
            status,
            retry_after,
        } => {
            let kind = error_type(ctx.provider, status);
            error_response(
                ctx.provider,
                status,
                retry_after,
                kind,
                &error_message(status),
            )
        }
        Step::Reply {
            text,
            chunk_delay_ms,
        } => {
            if ctx.stream {
                stream_response(ctx, &text, chunk_delay_ms, Ending::Done, shared)
            } else {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(full_completion(ctx, &text))
            }
        }
        Step::CutAfter { text } => {
            if ctx.stream {
                stream_response(ctx, &text, 0, Ending::Cut, shared)
            } else {
                let full = full_completion(ctx, &text);
                let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
                let events = vec![(0, half)];
                streaming(
                    "application/json",
                    EventStream::new(events, Ending::Cut, shared),
                )
            }
        }
        Step::StreamError { text } => {
            if ctx.stream {
                stream_response(ctx, &text, 0, Ending::Error, shared)
            } else {
                let status = match ctx.provider {
                    Provider::OpenAi => 503,
                    Provider::Anthropic => 529,
                };
                let kind = error_type(ctx.provider, status);
                error_response(ctx.provider, status, None, kind, "Overloaded")
            }
        }
        Step::ToolCall { name, arguments } => tool_call_response(ctx, &name, &arguments),
        Step::ToolUse { text, calls } => tool_use_response(ctx, &text, &calls, shared),
        Step::Hang { text } => {
            if ctx.stream {
                let first = text.split_whitespace().next().unwrap_or("").to_owned();
                stream_response(ctx, &first, 0, Ending::Hang, shared)
            } else {
                let _guard = DisconnectGuard::new(shared);
                std::future::pending::<HttpResponse>().await
            }
        }
    }
}

/// An OpenAI answer that is one tool call, streamed or not.
fn tool_call_response(ctx: &RequestCtx, name: &str, arguments: &str) -> HttpResponse {
    let call = |args: &str| {
        serde_json::json!([{"index": 0, "id": "call_mock1", "type": "function",
                            "function": {"name": name, "arguments": args}}])
    };
    let usage = serde_json::json!({"prompt_tokens": ctx.prompt_tokens, "completion_tokens": 5,
                                   "total_tokens": ctx.prompt_tokens + 5});
    if !ctx.stream {
        let body = serde_json::json!({
            "id": ctx.id, "object": "chat.completion", "created": ctx.created, "model": ctx.model,
            "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
                         "message": {"role": "assistant", "content": null, "tool_calls": call(arguments)}}],
            "usage": usage,
        });
        return HttpResponse::Ok().json(body);
    }
    let chunk = |delta: Value, finish: Value| {
        serde_json::json!({"id": ctx.id, "object": "chat.completion.chunk", "created": ctx.created,
                           "model": ctx.model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let (head, tail) = arguments.split_at(arguments.len() / 2);
    let mut body = String::new();
    for data in [
        chunk(
            serde_json::json!({"role": "assistant", "content": null, "tool_calls": call(head)}),
            Value::Null,
        ),
        chunk(
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}),
            Value::Null,
        ),
        chunk(serde_json::json!({}), Value::from("tool_calls")),
        serde_json::json!({"id": ctx.id, "object": "chat.completion.chunk", "created": ctx.created,
                           "model": ctx.model, "choices": [], "usage": usage})
        .to_string(),
        "[DONE]".to_string(),
    ] {
        body.push_str(&format!("data: {data}\n\n"));
    }
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .body(body)
}

/// An Anthropic answer of optional text and `tool_use` blocks, streamed or not.
fn tool_use_response(
    ctx: &RequestCtx,
    text: &str,
    calls: &[ToolUse],
    shared: Arc<Shared>,
) -> HttpResponse {
    if ctx.provider != Provider::Anthropic {
        return error_response(
            ctx.provider,
            400,
            None,
            "invalid_request_error",
            "Step::ToolUse is Anthropic-only; use Step::ToolCall for OpenAI",
        );
    }
    let output_tokens = word_count(text) + 5 * calls.len() as u64;
    if !ctx.stream {
        let mut content = Vec::new();
        if !text.is_empty() {
            content.push(serde_json::json!({"type": "text", "text": text}));
        }
        for c in calls {
            let input: Value = serde_json::from_str(&c.input).expect("ToolUse input is JSON");
            content.push(
                serde_json::json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
            );
        }
        let body = serde_json::json!({
            "id": ctx.id, "type": "message", "role": "assistant", "model": ctx.model,
            "content": content, "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": ctx.prompt_tokens, "output_tokens": output_tokens},
        });
        return HttpResponse::Ok().json(body);
    }
    let event = |name: &str, data: Value| (0, named_event(name, &data.to_string()));
    let mut events = vec![event(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {
            "id": ctx.id, "type": "message", "role": "assistant", "model": ctx.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": ctx.prompt_tokens, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    if !text.is_empty() {
        events.push(event(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": index,
                               "content_block": {"type": "text", "text": ""}}),
        ));
        for w in word_chunks(text) {
            events.push(event(
                "content_block_delta",
                serde_json::json!({"type": "content_block_delta", "index": index,
                                   "delta": {"type": "text_delta", "text": w}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for c in calls {
        events.push(event(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": index,
                               "content_block": {"type": "tool_use", "id": c.id, "name": c.name, "input": {}}}),
        ));
        events.push(event("ping", serde_json::json!({"type": "ping"})));
        let mut fragments = vec![String::new()];
        fragments.extend(thirds(&c.input));
        for partial in fragments {
            events.push(event(
                "content_block_delta",
                serde_json::json!({"type": "content_block_delta", "index": index,
                                   "delta": {"type": "input_json_delta", "partial_json": partial}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push(event(
        "message_delta",
        serde_json::json!({"type": "message_delta",
                           "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                           "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(event(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
    ));
    streaming(
        "text/event-stream",
        EventStream::new(events, Ending::Done, shared),
    )
}

/// `s` in three pieces split at char boundaries (some empty when `s` is very short).
fn thirds(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len().div_ceil(3).max(1);
    let mut pieces: Vec<String> = chars.chunks(n).map(|c| c.iter().collect()).collect();
    pieces.resize(3, String::new());
    pieces
}

/// Counts whitespace-separated words in all prompt texts of a request.
fn prompt_words(provider: Provider, body: &Value) -> u64 {
    let mut words = 0;
    if provider == Provider::Anthropic
        && let Some(system) = body.get("system")
    {
        words += content_words(system);
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for m in messages {
            if let Some(content) = m.get("content") {
                words += content_words(content);
            }
        }
    }
    words
}

/// Words of a string content or of the text parts of an array content.
fn content_words(content: &Value) -> u64 {
    match content {
        Value::String(s) => word_count(s),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(word_count)
            .sum(),
        _ => 0,
    }
}

fn word_count(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// Splits text into stream chunks: first word, then `" word"` for the rest.
fn word_chunks(text: &str) -> Vec<String> {
    text.split_whitespace()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

/// Renders a JSON object keeping the given field order (serde_json's own map
/// is sorted, but real providers put `id`/`type` first). Values are JSON text.
fn obj(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A JSON string literal.
fn js(s: &str) -> String {
    Value::from(s).to_string()
}

/// JSON `null`.
fn null() -> String {
    "null".to_owned()
}

/// OpenAI `usage` object (prompt tokens include the cached ones).
fn openai_usage(ctx: &RequestCtx, completion: u64) -> String {
    let prompt = ctx.prompt_tokens + ctx.cache_read + ctx.cache_write;
    let mut fields = vec![
        ("prompt_tokens", prompt.to_string()),
        ("completion_tokens", completion.to_string()),
        ("total_tokens", (prompt + completion).to_string()),
    ];
    if ctx.cache_read > 0 {
        fields.push((
            "prompt_tokens_details",
            obj(&[("cached_tokens", ctx.cache_read.to_string())]),
        ));
    }
    obj(&fields)
}

/// Anthropic's input fields of `usage`: `input_tokens` excludes the cache reads and writes.
fn anthropic_input(ctx: &RequestCtx) -> Vec<(&'static str, String)> {
    vec![
        ("input_tokens", ctx.prompt_tokens.to_string()),
        ("cache_read_input_tokens", ctx.cache_read.to_string()),
        ("cache_creation_input_tokens", ctx.cache_write.to_string()),
    ]
}

/// Full non-streaming completion body.
fn full_completion(ctx: &RequestCtx, text: &str) -> String {
    let completion = word_count(text);
    match ctx.provider {
        Provider::OpenAi => obj(&[
            ("id", js(&ctx.id)),
            ("object", js("chat.completion")),
            ("created", ctx.created.to_string()),
            ("model", js(&ctx.model)),
            (
                "choices",
                format!(
                    "[{}]",
                    obj(&[
                        ("index", "0".into()),
                        (
                            "message",
                            obj(&[("role", js("assistant")), ("content", js(text))])
                        ),
                        ("finish_reason", js("stop")),
                        ("logprobs", null()),
                    ])
                ),
            ),
            ("usage", openai_usage(ctx, completion)),
        ]),
        Provider::Anthropic => obj(&[
            ("id", js(&ctx.id)),
            ("type", js("message")),
            ("role", js("assistant")),
            ("model", js(&ctx.model)),
            (
                "content",
                format!("[{}]", obj(&[("type", js("text")), ("text", js(text))])),
            ),
            ("stop_reason", js("end_turn")),
            ("stop_sequence", null()),
            ("usage", {
                let mut u = anthropic_input(ctx);
                u.push(("output_tokens", completion.to_string()));
                obj(&u)
            }),
        ]),
    }
}

/// Provider error `type` for an HTTP status.
fn error_type(provider: Provider, status: u16) -> &'static str {
    match (provider, status) {
        (_, 429) => "rate_limit_error",
        (Provider::OpenAi, 401) => "authentication_error",
        (Provider::OpenAi, 400..=499) => "invalid_request_error",
        (Provider::OpenAi, _) => "server_error",
        (Provider::Anthropic, 400) => "invalid_request_error",
        (Provider::Anthropic, 401) => "authentication_error",
        (Provider::Anthropic, 403) => "permission_error",
        (Provider::Anthropic, 404) => "not_found_error",
        (Provider::Anthropic, 413) => "request_too_large",
        (Provider::Anthropic, 529) => "overloaded_error",
        (Provider::Anthropic, 400..=499) => "invalid_request_error",
        (Provider::Anthropic, _) => "api_error",
    }
}

fn error_message(status: u16) -> String {
    match status {
        429 => "Rate limit exceeded".to_owned(),
        529 => "Overloaded".to_owned(),
        _ => format!("mock upstream error {status}"),
    }
}

/// Provider-shaped error body as JSON text.
fn error_body(provider: Provider, kind: &str, message: &str) -> String {
    match provider {
        Provider::OpenAi => obj(&[(
            "error",
            obj(&[
                ("message", js(message)),
                ("type", js(kind)),
                ("code", null()),
            ]),
        )]),
        Provider::Anthropic => obj(&[
            ("type", js("error")),
            (
                "error",
                obj(&[("type", js(kind)), ("message", js(message))]),
            ),
        ]),
    }
}

fn error_response(
    provider: Provider,
    status: u16,
    retry_after: Option<u64>,
    kind: &str,
    message: &str,
) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(code);
    builder.content_type("application/json");
    if let Some(secs) = retry_after {
        builder.insert_header(("retry-after", secs.to_string()));
    }
    builder.body(error_body(provider, kind, message))
}

/// How a streamed body ends after its events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// Events include the proper end-of-stream markers; end cleanly.
    Done,
    /// Fail the body (abrupt connection drop, no terminating chunk).
    Cut,
    /// Events include an in-stream error; end cleanly.
    Error,
    /// Stay pending forever.
    Hang,
}

/// Builds the SSE events for a stream and wraps them in a response.
fn stream_response(
    ctx: &RequestCtx,
    text: &str,
    chunk_delay_ms: u64,
    ending: Ending,
    shared: Arc<Shared>,
) -> HttpResponse {
    let words = word_chunks(text);
    let completion = words.len() as u64;
    let mut events: Vec<(u64, Bytes)> = Vec::new();
    match ctx.provider {
        Provider::OpenAi => {
            let chunk = |choice: Option<String>, usage: Option<String>| {
                let mut fields = vec![
                    ("id", js(&ctx.id)),
                    ("object", js("chat.completion.chunk")),
                    ("created", ctx.created.to_string()),
                    ("model", js(&ctx.model)),
                    ("choices", format!("[{}]", choice.unwrap_or_default())),
                ];
                if let Some(usage) = usage {
                    fields.push(("usage", usage));
                }
                data_event(&obj(&fields))
            };
            let choice = |delta: String, finish: String| {
                Some(obj(&[
                    ("index", "0".into()),
                    ("delta", delta),
                    ("finish_reason", finish),
                ]))
            };
            let role = obj(&[("role", js("assistant")), ("content", js(""))]);
            events.push((0, chunk(choice(role, null()), None)));
            for w in &words {
                let delta = obj(&[("content", js(w))]);
                events.push((chunk_delay_ms, chunk(choice(delta, null()), None)));
            }
            match ending {
                Ending::Done => {
                    events.push((0, chunk(choice("{}".into(), js("stop")), None)));
                    if ctx.include_usage {
                        let usage = openai_usage(ctx, completion);
                        events.push((0, chunk(None, Some(usage))));
                    }
                    events.push((0, Bytes::from_static(b"data: [DONE]\n\n")));
                }
                Ending::Error => {
                    let err = error_body(Provider::OpenAi, "server_error", "upstream overloaded");
                    events.push((0, data_event(&err)));
                }
                Ending::Cut | Ending::Hang => {}
            }
        }
        Provider::Anthropic => {
            let message = obj(&[
                ("id", js(&ctx.id)),
                ("type", js("message")),
                ("role", js("assistant")),
                ("model", js(&ctx.model)),
                ("content", "[]".into()),
                ("stop_reason", null()),
                ("stop_sequence", null()),
                ("usage", {
                    let mut u = anthropic_input(ctx);
                    u.push(("output_tokens", "1".into()));
                    obj(&u)
                }),
            ]);
            let start = obj(&[("type", js("message_start")), ("message", message)]);
            events.push((0, named_event("message_start", &start)));
            let block = obj(&[
                ("type", js("content_block_start")),
                ("index", "0".into()),
                (
                    "content_block",
                    obj(&[("type", js("text")), ("text", js(""))]),
                ),
            ]);
            events.push((0, named_event("content_block_start", &block)));
            events.push((0, named_event("ping", &obj(&[("type", js("ping"))]))));
            for w in &words {
                let delta = obj(&[
                    ("type", js("content_block_delta")),
                    ("index", "0".into()),
                    ("delta", obj(&[("type", js("text_delta")), ("text", js(w))])),
                ]);
                events.push((chunk_delay_ms, named_event("content_block_delta", &delta)));
            }
            match ending {
                Ending::Done => {
                    let stop = obj(&[("type", js("content_block_stop")), ("index", "0".into())]);
                    events.push((0, named_event("content_block_stop", &stop)));
                    let delta = obj(&[
                        ("type", js("message_delta")),
                        (
                            "delta",
                            obj(&[("stop_reason", js("end_turn")), ("stop_sequence", null())]),
                        ),
                        ("usage", obj(&[("output_tokens", completion.to_string())])),
                    ]);
                    events.push((0, named_event("message_delta", &delta)));
                    let stop = obj(&[("type", js("message_stop"))]);
                    events.push((0, named_event("message_stop", &stop)));
                }
                Ending::Error => {
                    let err = error_body(Provider::Anthropic, "overloaded_error", "Overloaded");
                    events.push((0, named_event("error", &err)));
                }
                Ending::Cut | Ending::Hang => {}
            }
        }
    }
    streaming(
        "text/event-stream",
        EventStream::new(events, ending, shared),
    )
}

fn data_event(json: &str) -> Bytes {
    Bytes::from(format!("data: {json}\n\n"))
}

fn named_event(name: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

fn streaming(content_type: &str, body: EventStream) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

/// Incremental response body: yields each event after its delay, then ends
/// according to [`Ending`]. Dropping it before the end marks a disconnect.
struct EventStream {
    events: VecDeque<(u64, Bytes)>,
    ending: Ending,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    guard: DisconnectGuard,
}

impl EventStream {
    fn new(events: Vec<(u64, Bytes)>, ending: Ending, shared: Arc<Shared>) -> Self {
        EventStream {
            events: events.into(),
            ending,
            sleep: None,
            guard: DisconnectGuard::new(shared),
        }
    }
}

impl Stream for EventStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(&(delay, _)) = this.events.front() {
            if delay > 0 {
                let sleep = this.sleep.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep(Duration::from_millis(delay)))
                });
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            let (_, bytes) = this.events.pop_front().expect("front checked above");
            return Poll::Ready(Some(Ok(bytes)));
        }
        match this.ending {
            Ending::Done | Ending::Error => {
                this.guard.disarm();
                Poll::Ready(None)
            }
            Ending::Cut => {
                if !this.guard.armed {
                    return Poll::Ready(None);
                }
                // actix drops the connection on a body error without flushing
                // what it buffered, so pause briefly to let the events go out
                // first; the error then aborts the connection without the
                // terminating chunk.
                let pause = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(CUT_FLUSH_PAUSE)));
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
                this.guard.disarm();
                Poll::Ready(Some(Err(std::io::Error::other("mock upstream: cut"))))
            }
            // Nothing is registered for wakeup: pending until dropped.
            Ending::Hang => Poll::Pending,
        }
    }
}
