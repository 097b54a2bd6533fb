//! `mock_upstream`: a small, fast OpenAI-compatible upstream used by the benchmarks.
//!
//! It stands in for `api.openai.com` so that the gateway can be measured against an
//! upstream whose own cost is close to nothing. It deliberately uses nothing from the
//! `sluice` library crate, so that it measures the gateway and not itself.
//!
//! ```text
//! mock_upstream [--listen 127.0.0.1:PORT] [--chunks N] [--chunk-delay-ms MS] [--workers N]
//! ```
//!
//! * `POST /v1/chat/completions` (also `/chat/completions`):
//!   * non-streaming: a fixed `chat.completion` object with `usage`;
//!   * `"stream": true`: a role chunk, `N` `chat.completion.chunk` events of one short
//!     word each (`--chunk-delay-ms` apart), a finish chunk, a usage chunk
//!     (`"choices": []`) when `stream_options.include_usage` is true, then `data: [DONE]`.
//! * `GET /health`: `{"status":"ok"}`.
//!
//! The `model` of the request is echoed back. Responses are pre-serialized once per
//! model name and cached, so a request costs one JSON parse of its body and a few
//! reference-counted buffer clones. The API key is not checked.
//!
//! On start it prints `mock upstream listening on http://ADDR` (the bound address,
//! so `--listen 127.0.0.1:0` works too).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{App, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;

/// The words streamed one per chunk, cycled when more chunks are asked for.
const WORDS: &[&str] = &[
    "Hello",
    " from",
    " the",
    " mock",
    " upstream",
    ",",
    " streaming",
    " one",
    " short",
    " word",
    " per",
    " chunk",
    " for",
    " the",
    " Sluice",
    " benchmark",
    " run",
    " right",
    " now",
    ".",
];

/// The content of the non-streaming answer, and its token count.
const REPLY: &str = "Hello! How can I help you today?";
const REPLY_TOKENS: u64 = 9;
/// Prompt tokens reported in every usage block.
const PROMPT_TOKENS: u64 = 9;
/// At most this many model names get a cached pre-serialized response.
const CACHE_CAP: usize = 64;
/// How long an idle keep-alive connection stays open.
const KEEP_ALIVE: Duration = Duration::from_secs(120);
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

const USAGE: &str = "mock_upstream [--listen 127.0.0.1:PORT] [--chunks N] \
[--chunk-delay-ms MS] [--workers N]";

/// Command-line settings.
#[derive(Debug, Clone)]
struct Args {
    listen: String,
    chunks: usize,
    chunk_delay_ms: u64,
    workers: usize,
}

/// What the mock reads of a request body; everything else is ignored.
#[derive(Deserialize)]
struct ChatRequest {
    model: Option<String>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

/// Every response body for one model name, serialized once.
struct Prebuilt {
    /// The non-streaming `chat.completion` body.
    completion: Bytes,
    /// Role chunk, word chunks and finish chunk, each a full `data: ...\n\n` event.
    chunks: Vec<Bytes>,
    /// The usage chunk event (`choices: []`).
    usage: Bytes,
}

/// Shared, read-mostly state.
struct State {
    created: u64,
    chunks: usize,
    chunk_delay: Duration,
    cache: RwLock<HashMap<String, Arc<Prebuilt>>>,
}

static DONE: &[u8] = b"data: [DONE]\n\n";
static HEALTH: &[u8] = b"{\"status\":\"ok\"}";

fn sse_event(value: &serde_json::Value) -> Result<Bytes, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut out, value)?;
    out.extend_from_slice(b"\n\n");
    Ok(Bytes::from(out))
}

fn build(model: &str, created: u64, n_chunks: usize) -> Result<Prebuilt, serde_json::Error> {
    let id = "chatcmpl-mock0000000000000000000000";
    let fingerprint = "fp_mock";
    let completion = serde_json::to_vec(&json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": REPLY, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": REPLY_TOKENS,
            "total_tokens": PROMPT_TOKENS + REPLY_TOKENS,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0}
        },
        "system_fingerprint": fingerprint
    }))?;

    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        sse_event(&json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": fingerprint,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        }))
    };
    let mut chunks = Vec::with_capacity(n_chunks + 2);
    chunks.push(chunk(json!({"role": "assistant", "content": ""}), None)?);
    for word in WORDS.iter().cycle().take(n_chunks) {
        chunks.push(chunk(json!({"content": word}), None)?);
    }
    chunks.push(chunk(json!({}), Some("stop"))?);

    let completion_tokens = n_chunks as u64;
    let usage = sse_event(&json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": fingerprint,
        "choices": [],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens
        }
    }))?;

    Ok(Prebuilt {
        completion: Bytes::from(completion),
        chunks,
        usage,
    })
}

impl State {
    /// The pre-serialized responses for `model`, from the cache when possible.
    fn prebuilt(&self, model: &str) -> Result<Arc<Prebuilt>, serde_json::Error> {
        if let Ok(cache) = self.cache.read()
            && let Some(hit) = cache.get(model)
        {
            return Ok(Arc::clone(hit));
        }
        let built = Arc::new(build(model, self.created, self.chunks)?);
        if let Ok(mut cache) = self.cache.write()
            && cache.len() < CACHE_CAP
        {
            cache.insert(model.to_owned(), Arc::clone(&built));
        }
        Ok(built)
    }
}

fn error_response(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    let body = json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}
    });
    HttpResponse::build(status).json(body)
}

async fn chat_completions(state: web::Data<State>, body: web::Bytes) -> HttpResponse {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                actix_web::http::StatusCode::BAD_REQUEST,
                &format!("invalid JSON body: {err}"),
            );
        }
    };
    let Some(model) = request.model.filter(|m| !m.is_empty()) else {
        return error_response(
            actix_web::http::StatusCode::BAD_REQUEST,
            "you must provide a model parameter",
        );
    };
    let prebuilt = match state.prebuilt(&model) {
        Ok(prebuilt) => prebuilt,
        Err(err) => {
            return error_response(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                &format!("serialization failed: {err}"),
            );
        }
    };

    if !request.stream.unwrap_or(false) {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(prebuilt.completion.clone());
    }

    let include_usage = request
        .stream_options
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let mut events: Vec<Bytes> = Vec::with_capacity(prebuilt.chunks.len() + 2);
    events.extend(prebuilt.chunks.iter().cloned());
    if include_usage {
        events.push(prebuilt.usage.clone());
    }
    events.push(Bytes::from_static(DONE));

    let mut response = HttpResponse::Ok();
    response
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"));

    let delay = state.chunk_delay;
    if delay.is_zero() {
        let items = events.into_iter().map(Ok::<Bytes, Infallible>);
        return response.streaming(stream::iter(items));
    }
    // The role chunk goes out at once; every later event waits `delay` first,
    // like tokens arriving from a real model.
    let delayed = stream::unfold(
        (events.into_iter(), true),
        move |(mut it, first)| async move {
            let next = it.next()?;
            if !first {
                tokio::time::sleep(delay).await;
            }
            Some((Ok::<Bytes, Infallible>(next), (it, false)))
        },
    );
    response.streaming(delayed)
}

async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(Bytes::from_static(HEALTH))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{msg}\nusage: {USAGE}"),
    )
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> io::Result<T> {
    value
        .parse()
        .map_err(|_| invalid(format!("{flag}: not a valid number: {value:?}")))
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> io::Result<Option<Args>> {
    let mut args = Args {
        listen: "127.0.0.1:0".to_owned(),
        chunks: 20,
        chunk_delay_ms: 0,
        workers: 1,
    };
    while let Some(arg) = argv.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if !matches!(
            flag.as_str(),
            "--listen" | "--chunks" | "--chunk-delay-ms" | "--workers"
        ) {
            return Err(invalid(format!("unknown argument: {flag}")));
        }
        let value = match inline {
            Some(value) => value,
            None => argv
                .next()
                .ok_or_else(|| invalid(format!("{flag}: missing value")))?,
        };
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--chunks" => args.chunks = parse_number(&flag, &value)?,
            "--chunk-delay-ms" => args.chunk_delay_ms = parse_number(&flag, &value)?,
            _ => args.workers = parse_number(&flag, &value)?,
        }
    }
    if args.workers == 0 {
        return Err(invalid("--workers must be at least 1".to_owned()));
    }
    Ok(Some(args))
}

fn main() -> std::process::ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("usage: {USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("mock_upstream: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    match actix_web::rt::System::new().block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mock_upstream: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> io::Result<()> {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let state = web::Data::new(State {
        created,
        chunks: args.chunks,
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        cache: RwLock::new(HashMap::new()),
    });

    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/v1/chat/completions", web::post().to(chat_completions))
            .route("/chat/completions", web::post().to(chat_completions))
            .route("/health", web::get().to(health))
    })
    // Without TCP_NODELAY, an event written after the response head waits for the
    // client's delayed ACK (~40 ms) on a reused keep-alive connection (Nagle).
    .tcp_nodelay(true)
    .workers(args.workers)
    // Longer than any client pool's idle timeout (the gateway's: 90 s), so a pooled
    // connection is never closed under a client that is about to reuse it.
    .keep_alive(KEEP_ALIVE)
    .backlog(4096)
    .disable_signals()
    .bind(args.listen.as_str())?;

    for addr in server.addrs() {
        println!("mock upstream listening on http://{addr}");
    }
    server.run().await
}
