//! A tiny in-process OTLP/HTTP (JSON) trace receiver for tests.
//!
//! Listens on 127.0.0.1 on an ephemeral port with a plain std TCP server on its own
//! thread (no async runtime needed, so it works from sync and async tests alike), accepts
//! `POST /v1/traces` with `application/json` bodies, flattens resourceSpans → scopeSpans →
//! spans into [`ReceivedSpan`]s and answers `200 {}`. Anything else gets a 4xx.
//! Tests wait for spans with [`OtlpReceiver::wait_for`], which blocks on a condition
//! variable that is signalled on every accepted batch (bounded by a timeout).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One span as the receiver saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// Hex, as sent in OTLP JSON.
    pub trace_id: String,
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    /// Attribute values flattened to JSON: strings, numbers (intValue parsed), bools;
    /// array/kvlist/bytes values are kept in their raw OTLP form.
    pub attributes: BTreeMap<String, Value>,
    /// `service.name` of the resource the span came with.
    pub service_name: Option<String>,
}

impl ReceivedSpan {
    /// A string attribute, if present and a string.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

#[derive(Default)]
struct State {
    spans: Vec<ReceivedSpan>,
    /// Requests that were not a valid OTLP JSON trace export, for diagnostics.
    rejected: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide what was received.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct OtlpReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Bind 127.0.0.1:0 and start serving.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".to_owned())
            .spawn(move || {
                for conn in listener.incoming() {
                    if accept_shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = accept_shared.clone();
                    // One thread per connection: exporters keep very few connections open.
                    let _ = std::thread::Builder::new()
                        .name("otlp-receiver-conn".to_owned())
                        .spawn(move || serve_connection(conn, &shared));
                }
            })?;
        Ok(Self {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// Base URL to configure as `telemetry.otlp_endpoint`, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.lock().spans.clone()
    }

    /// Descriptions of requests that were refused (bad path, method, body...).
    pub fn rejected(&self) -> Vec<String> {
        self.shared.lock().rejected.clone()
    }

    /// Block until `pred` holds for the spans received so far, or `timeout` passes.
    /// Returns the spans either way; check `pred` again (or the result) to tell which.
    /// From async code call it via `spawn_blocking`, or after the exporter has flushed.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&[ReceivedSpan]) -> bool,
    ) -> Result<Vec<ReceivedSpan>, Vec<ReceivedSpan>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if pred(&state.spans) {
                return Ok(state.spans.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(state.spans.clone());
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serve HTTP/1.1 requests on one connection until the peer closes it.
fn serve_connection(conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let (status, body) = handle(&request, shared);
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

struct HttpRequest {
    method: String,
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// Read one request; `Ok(None)` on a clean end of stream.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut content_length = 0usize;
    let mut content_type = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "bad content-length")
                })?;
            } else if name.eq_ignore_ascii_case("content-type") {
                content_type = value.to_ascii_lowercase();
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    Ok(Some(HttpRequest {
        method,
        path,
        content_type,
        body,
    }))
}

fn handle(request: &HttpRequest, shared: &Shared) -> (&'static str, &'static str) {
    let outcome = if request.method != "POST" || request.path != "/v1/traces" {
        Err((
            "404 Not Found",
            format!("{} {}", request.method, request.path),
        ))
    } else if !request.content_type.starts_with("application/json") {
        Err((
            "415 Unsupported Media Type",
            format!("content-type {:?}", request.content_type),
        ))
    } else {
        serde_json::from_slice::<Value>(&request.body)
            .map_err(|e| ("400 Bad Request", format!("invalid JSON: {e}")))
            .and_then(|doc| {
                parse_export(&doc).ok_or(("400 Bad Request", "not an OTLP trace export".into()))
            })
    };
    let mut state = shared.lock();
    let status = match outcome {
        Ok(spans) => {
            state.spans.extend(spans);
            ("200 OK", "{}")
        }
        Err((status, why)) => {
            state.rejected.push(why);
            (status, "{\"error\":\"rejected\"}")
        }
    };
    drop(state);
    shared.changed.notify_all();
    status
}

/// Flatten an `ExportTraceServiceRequest` in OTLP JSON form.
fn parse_export(doc: &Value) -> Option<Vec<ReceivedSpan>> {
    let mut out = Vec::new();
    for resource_spans in doc.get("resourceSpans")?.as_array()? {
        let resource_attrs = resource_spans
            .pointer("/resource/attributes")
            .map(parse_attributes)
            .unwrap_or_default();
        let service_name = resource_attrs
            .get("service.name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let scopes = resource_spans.get("scopeSpans").and_then(Value::as_array);
        for scope_spans in scopes.into_iter().flatten() {
            let spans = scope_spans.get("spans").and_then(Value::as_array);
            for span in spans.into_iter().flatten() {
                let text = |key: &str| span.get(key).and_then(Value::as_str).unwrap_or_default();
                let parent = text("parentSpanId");
                out.push(ReceivedSpan {
                    trace_id: text("traceId").to_owned(),
                    span_id: text("spanId").to_owned(),
                    parent_span_id: (!parent.is_empty()).then(|| parent.to_owned()),
                    name: text("name").to_owned(),
                    attributes: span
                        .get("attributes")
                        .map(parse_attributes)
                        .unwrap_or_default(),
                    service_name: service_name.clone(),
                });
            }
        }
    }
    Some(out)
}

/// `[{key, value: {stringValue|intValue|boolValue|doubleValue|...}}]` → key → JSON value.
fn parse_attributes(list: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for kv in list.as_array().into_iter().flatten() {
        let Some(key) = kv.get("key").and_then(Value::as_str) else {
            continue;
        };
        let value = kv.get("value").cloned().unwrap_or(Value::Null);
        out.insert(key.to_owned(), flatten_any_value(value));
    }
    out
}

fn flatten_any_value(value: Value) -> Value {
    let Value::Object(map) = &value else {
        return value;
    };
    if let Some(v) = map.get("stringValue").or(map.get("boolValue")) {
        return v.clone();
    }
    if let Some(v) = map.get("intValue") {
        // Proto3 JSON allows int64 as a string or a number.
        return match v {
            Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(v.clone()),
            _ => v.clone(),
        };
    }
    if let Some(v) = map.get("doubleValue") {
        return v.clone();
    }
    value
}
