//! The streaming relay: drives a chain of upstream streams and yields gateway events.
//!
//! Tokens flow upstream task → bounded channel → this relay → the client's SSE body; no actor
//! sees them. A failure before the first token falls through the chain invisibly; after it,
//! the next model continues from the partial text or the stream ends with an error event, as
//! configured. Dropping the relay (client gone) aborts the upstream task at once and still
//! records what was consumed.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tracing::Instrument;

use super::{
    Answer, CacheStatus, Gateway, Prepared, SAFE_MESSAGE,
    call::{AbortOnDrop, report, retry_delay, spawn_guarded},
    estimate_usage, ms_since, unavailable,
};
use crate::{
    actors::messages::{CacheHit, Lease, PaceRefused, ProviderHandle},
    config::MidStreamFailure,
    error::{GatewayError, ProviderError},
    guardrails::output::StreamScanner,
    money::Usd,
    providers::{ProviderEvent, StreamEnd, UpstreamRequest},
    wire::{ChatMessage, Role, Usage},
};

/// Channel depth between an upstream task and the relay.
const CHANNEL_DEPTH: usize = 64;

/// Asked of the next model when it continues a broken stream.
const CONTINUE_PROMPT: &str = "Your previous reply was cut off. Continue it from exactly where it \
     stopped, without repeating anything and without any preamble.";

/// What the relay yields to an endpoint's SSE encoder.
#[derive(Debug)]
pub enum RelayEvent {
    /// New answer text from `model`.
    Delta {
        /// The model producing it.
        model: Arc<str>,
        /// The text.
        text: String,
    },
    /// A tool-call fragment from `model` (OpenAI `delta.tool_calls`), passed through.
    ToolCalls {
        /// The model producing it.
        model: Arc<str>,
        /// The fragment.
        calls: serde_json::Value,
    },
    /// The answer is complete.
    Done(Box<Answer>),
    /// The stream failed; nothing follows.
    Failed(GatewayError),
}

/// One model's part of the answer.
struct Segment {
    handle: ProviderHandle,
    request: Arc<UpstreamRequest>,
    text: String,
    usage: Option<Usage>,
}

/// The attempt in progress.
struct Active {
    rx: mpsc::Receiver<ProviderEvent>,
    task: AbortOnDrop<Result<StreamEnd, ProviderError>>,
    lease: Lease,
    /// Deadline of the first token.
    deadline: tokio::time::Instant,
    /// Longest silence allowed between chunks once tokens flow.
    idle_limit: std::time::Duration,
    sent: bool,
}

/// The relay of one streaming request.
pub struct StreamRelay {
    gw: Gateway,
    p: Prepared,
    scanner: StreamScanner,
    request: Arc<UpstreamRequest>,
    pos: usize,
    retry: u32,
    active: Option<Active>,
    segments: Vec<Segment>,
    text: String,
    first_token: Option<Instant>,
    continued_from: Option<String>,
    last_error: Option<ProviderError>,
    /// Whether every failure so far was a model at its own pace (the answer is then 429).
    all_saturated: bool,
    /// Tool-call fragments were relayed.
    tool_calls: bool,
    /// When the next attempt on the same model may start (backoff).
    retry_at: Option<tokio::time::Instant>,
    /// The first rejection of the request as invalid, returned if no model accepts it.
    client_error: Option<ProviderError>,
    queue: VecDeque<RelayEvent>,
    finished: bool,
    /// Whether an identical request in flight was waited for already.
    followed: bool,
}

impl StreamRelay {
    /// A relay for a prepared request.
    pub fn new(gw: Gateway, p: Prepared) -> Self {
        let scanner = gw.services.guardrails.rules.output.scanner();
        let request = p.upstream.clone();
        let mut relay = StreamRelay {
            gw,
            p,
            scanner,
            request,
            pos: 0,
            retry: 0,
            active: None,
            segments: Vec::new(),
            text: String::new(),
            first_token: None,
            continued_from: None,
            last_error: None,
            all_saturated: true,
            tool_calls: false,
            retry_at: None,
            client_error: None,
            queue: VecDeque::new(),
            finished: false,
            followed: false,
        };
        if let Some(hit) = relay.p.cached.take() {
            let answer = relay.gw.answer_from_cache(&relay.p, &hit, CacheStatus::Hit);
            relay.replay(answer, None);
        }
        relay
    }

    /// How the cache took part so far (`stale` once an expired answer is being replayed).
    pub fn cache_status(&self) -> CacheStatus {
        self.p.cache
    }

    /// Turns the relay into a stream of events.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = RelayEvent> {
        futures_util::stream::unfold(self, |mut relay| async move {
            relay.next().await.map(|ev| (ev, relay))
        })
    }

    /// The next event, or `None` at the end. Cancel-safe: dropping the future between events
    /// loses nothing, so a caller may wait for the first event with a timeout.
    pub async fn next(&mut self) -> Option<RelayEvent> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            if self.finished {
                return None;
            }
            if !self.p.gateway_tools.is_empty() {
                // The gateway runs tools between model calls: the whole exchange is answered
                // first, then replayed as a stream.
                self.finished = true;
                match self.gw.complete(&self.p).await {
                    Ok(answer) => self.queue_answer(answer),
                    Err(e) => self.queue.push_back(RelayEvent::Failed(e)),
                }
                continue;
            }
            if !self.followed {
                self.followed = true;
                if let Some(answer) = self.gw.follow(&self.p).await {
                    self.p.cache = CacheStatus::Shared;
                    self.replay(answer, None);
                    continue;
                }
            }
            if self.active.is_none()
                && let Some(at) = self.retry_at
            {
                tokio::time::sleep_until(at).await;
                self.retry_at = None;
            }
            if self.active.is_none() && !self.start_attempt() {
                self.exhausted().await;
                continue;
            }
            let Some(act) = self.active.as_mut() else {
                continue;
            };
            // Before the first token the first-token deadline applies; after it, the longest
            // silence allowed between chunks (a long answer may stream for minutes).
            let deadline = if act.sent {
                tokio::time::Instant::now() + act.idle_limit
            } else {
                act.deadline
            };
            let received = tokio::time::timeout_at(deadline, act.rx.recv()).await;
            match received {
                Ok(Some(ProviderEvent::Delta(text))) => {
                    act.sent = true;
                    self.on_delta(text);
                }
                Ok(Some(ProviderEvent::ToolCalls(calls))) => {
                    act.sent = true;
                    self.tool_calls = true;
                    self.first_token.get_or_insert_with(Instant::now);
                    let model = self.current_model();
                    self.queue.push_back(RelayEvent::ToolCalls { model, calls });
                }
                Ok(None) => {
                    let result = act.task.join().await.and_then(|r| r);
                    match result {
                        Ok(end) => self.on_end(end),
                        Err(e) => self.on_failure(e),
                    }
                }
                Err(_) => {
                    let what = if act.sent {
                        "the next chunk"
                    } else {
                        "the first token"
                    };
                    self.on_failure(ProviderError::Timeout(what));
                }
            }
        }
    }

    /// Starts a call on the next available model of the chain; `false` when none is left.
    fn start_attempt(&mut self) -> bool {
        while let Some(handle) = self.p.chain.get(self.pos).cloned() {
            match handle.gate.acquire() {
                Ok(lease) => {
                    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
                    let upstream = lease.upstream.clone();
                    let req = self.request.clone();
                    let idle_limit = upstream.timeouts.request;
                    let pace = handle.pace.clone();
                    let actor = handle.addr.clone();
                    // A wait in the model's pace queue does not count against the first token.
                    let queue = pace.as_ref().map_or(Duration::ZERO, |p| p.max_wait());
                    let deadline =
                        tokio::time::Instant::now() + upstream.timeouts.first_token + queue;
                    // The stream outlives the handler's span: its attempt hangs off the request's.
                    let span = tracing::info_span!(parent: &self.p.span, "provider_attempt", model = %handle.model, attempt = self.retry);
                    let task = spawn_guarded(
                        async move {
                            if let Some(pace) = pace
                                && let Err(e) = pace.admit(req.paced_tokens()).await
                            {
                                actor.do_send(PaceRefused);
                                return Err(e);
                            }
                            upstream.stream(&req, &tx).await
                        }
                        .instrument(span),
                    );
                    self.segments.push(Segment {
                        handle,
                        request: self.request.clone(),
                        text: String::new(),
                        usage: None,
                    });
                    self.active = Some(Active {
                        rx,
                        task,
                        lease,
                        deadline,
                        idle_limit,
                        sent: false,
                    });
                    return true;
                }
                Err(e) => {
                    tracing::debug!(model = %handle.model, error = %e, "skipping model");
                    self.all_saturated &= matches!(e, ProviderError::Saturated { .. });
                    self.last_error = Some(e);
                    self.pos += 1;
                    self.retry = 0;
                }
            }
        }
        false
    }

    fn on_delta(&mut self, text: String) {
        if self.first_token.is_none() {
            self.first_token = Some(Instant::now());
        }
        self.text.push_str(&text);
        if let Some(seg) = self.segments.last_mut() {
            seg.text.push_str(&text);
        }
        // The scanner releases only what no unsafe pattern can still claim.
        match self.scanner.push(&text) {
            Ok(released) => self.release(released),
            Err(v) => self.stop_unsafe(&v.rule),
        }
    }

    fn release(&mut self, text: String) {
        if !text.is_empty() {
            let model = self.current_model();
            self.queue.push_back(RelayEvent::Delta { model, text });
        }
    }

    /// At the end of the text: releases what the scanner held back, or stops the stream when it
    /// completes a violation (then returns `false`).
    fn flush_scanner(&mut self) -> bool {
        match self.scanner.finish() {
            Ok(rest) => {
                self.release(rest);
                true
            }
            Err(v) => {
                self.stop_unsafe(&v.rule);
                false
            }
        }
    }

    /// Ends the stream on an output guardrail violation: what was held back never leaves.
    fn stop_unsafe(&mut self, rule: &str) {
        tracing::warn!(request_id = %self.p.request_id, rule, "output guardrail stopped a stream");
        self.active = None;
        let answer = self.answer("content_filter", false);
        self.gw
            .record(&self.p, &answer, Some(format!("output guardrail: {rule}")));
        self.queue
            .push_back(RelayEvent::Failed(GatewayError::OutputBlocked(format!(
                "{SAFE_MESSAGE} (rule: {rule})"
            ))));
        self.finished = true;
    }

    fn current_model(&self) -> Arc<str> {
        self.segments
            .last()
            .map(|s| s.handle.model.clone())
            .unwrap_or_else(|| Arc::from("unknown"))
    }

    fn on_end(&mut self, end: StreamEnd) {
        if let Some(act) = self.active.take()
            && let Some(seg) = self.segments.last()
        {
            report(&seg.handle, &act.lease, None, false);
        }
        if let Some(seg) = self.segments.last_mut() {
            seg.usage = end.usage;
        }
        if !self.flush_scanner() {
            return;
        }
        let answer = self.answer(&end.finish_reason, true);
        if !self.tool_calls {
            // Answers with tool calls are not cached: the calls are only a step of a conversation.
            self.gw.store(&self.p, &answer);
        }
        self.gw.record(&self.p, &answer, None);
        self.queue.push_back(RelayEvent::Done(Box::new(answer)));
        self.finished = true;
    }

    fn on_failure(&mut self, e: ProviderError) {
        let Some(act) = self.active.take() else {
            return;
        };
        let Some(handle) = self.segments.last().map(|s| s.handle.clone()) else {
            return;
        };
        let sent = act.sent;
        let delay = if sent {
            None
        } else {
            retry_delay(&act.lease, self.retry, &e)
        };
        report(&handle, &act.lease, Some(&e), delay.is_some());
        drop(act);
        tracing::warn!(request_id = %self.p.request_id, model = %handle.model, error = %e, tokens_sent = sent, "stream attempt failed");
        if !sent {
            // Nothing of this attempt reached the client: retry, or fall through the chain.
            if self.segments.last().is_some_and(|s| s.text.is_empty()) {
                self.segments.pop();
            }
            if e.is_client_error() {
                // The next model may accept it; if none does, the client gets this rejection.
                self.client_error.get_or_insert(e);
                self.pos += 1;
                self.retry = 0;
                return;
            }
            match delay {
                Some(d) => {
                    // Waited for in `next`, so a cancelled wait resumes at the same instant.
                    self.retry_at = Some(tokio::time::Instant::now() + d);
                    self.retry += 1;
                }
                None => {
                    self.all_saturated &= matches!(e, ProviderError::Saturated { .. });
                    self.last_error = Some(e);
                    self.pos += 1;
                    self.retry = 0;
                }
            }
            return;
        }
        // Tokens were sent: continue on the next model, or end with an error event.
        // Another model cannot continue half a tool call: those streams end with the error.
        let can_continue = self.gw.config.server.mid_stream_failure == MidStreamFailure::Continue
            && !self.tool_calls
            && self.pos + 1 < self.p.chain.len();
        if can_continue {
            self.continued_from = Some(handle.model.to_string());
            self.request = Arc::new(continuation(&self.p.upstream, &self.text));
            self.pos += 1;
            self.retry = 0;
            self.all_saturated &= matches!(e, ProviderError::Saturated { .. });
            self.last_error = Some(e);
            return;
        }
        // The text ends here: what the scanner held back is checked as a whole and released.
        if !self.flush_scanner() {
            return;
        }
        let err = GatewayError::StreamInterrupted(e.to_string());
        let answer = self.answer("error", true);
        self.gw.record(&self.p, &answer, Some(err.to_string()));
        self.queue.push_back(RelayEvent::Failed(err));
        self.finished = true;
    }

    /// Every model failed: a stale cached answer if there is one, else an error event.
    async fn exhausted(&mut self) {
        if self.text.is_empty()
            && let Some(e) = self.client_error.take()
        {
            let err = GatewayError::UpstreamRejected(e);
            self.gw.record_failure(&self.p, &err);
            self.queue.push_back(RelayEvent::Failed(err));
            self.finished = true;
            return;
        }
        if self.text.is_empty()
            && let Some(stale) = self.gw.stale_answer(&self.p).await
        {
            self.p.cache = CacheStatus::Stale;
            let hit = CacheHit {
                answer: stale,
                similarity: 1.0,
            };
            let answer = self.gw.answer_from_cache(&self.p, &hit, CacheStatus::Stale);
            let err = self.last_error.as_ref().map(ToString::to_string);
            self.replay(answer, err);
            return;
        }
        let err = unavailable(
            self.last_error.as_ref(),
            self.p.chain.is_empty(),
            self.all_saturated,
        );
        if self.text.is_empty() {
            self.gw.record_failure(&self.p, &err);
        } else {
            if !self.flush_scanner() {
                return;
            }
            let answer = self.answer("error", true);
            self.gw.record(&self.p, &answer, Some(err.to_string()));
        }
        self.queue.push_back(RelayEvent::Failed(err));
        self.finished = true;
    }

    /// A cached answer replayed as a stream (a hit, or a stale answer after `error`).
    fn replay(&mut self, answer: Answer, error: Option<String>) {
        self.gw.record(&self.p, &answer, error);
        self.queue_answer(answer);
        self.finished = true;
    }

    /// A finished answer as stream events: word-sized chunks, as a model would send them, its
    /// tool calls, then the end.
    fn queue_answer(&mut self, answer: Answer) {
        let model: Arc<str> = Arc::from(answer.model.as_str());
        for piece in answer.text.split_inclusive(' ') {
            self.queue.push_back(RelayEvent::Delta {
                model: model.clone(),
                text: piece.to_string(),
            });
        }
        if let Some(calls) = answer.tool_calls.clone() {
            self.queue.push_back(RelayEvent::ToolCalls {
                model,
                calls: indexed(calls),
            });
        }
        self.queue.push_back(RelayEvent::Done(Box::new(answer)));
    }

    /// The answer so far, with usage summed over segments (estimated where not reported).
    fn answer(&self, finish_reason: &str, guardrail_output_pass: bool) -> Answer {
        let mut usage = Usage::default();
        let mut cost = Usd::ZERO;
        let mut estimated = false;
        for seg in &self.segments {
            let u = match seg.usage {
                Some(u) => u,
                None => {
                    estimated = true;
                    estimate_usage(&seg.handle.model, &seg.request.messages, &seg.text)
                }
            };
            usage = usage.plus(&u);
            cost += seg.handle.prices.cost(&u);
        }
        let last = self.segments.last();
        Answer {
            request_id: self.p.request_id.clone(),
            text: self.text.clone(),
            model: last
                .map(|s| s.handle.model.to_string())
                .unwrap_or_else(|| "none".into()),
            provider: last.map(|s| s.handle.provider.to_string()),
            finish_reason: finish_reason.to_string(),
            usage,
            estimated,
            cost_usd: cost,
            cache: self.p.cache,
            similarity: None,
            guardrail_output_pass,
            continued_from: self.continued_from.clone(),
            tool_calls: None,
            tools_used: Vec::new(),
            pii_detected: self.p.pii_detected.clone(),
            // Streams cannot be retried once sent: the answer is only checked and flagged.
            format_valid: (self.p.format.expects_json() && !self.tool_calls)
                .then(|| self.p.format.validate(&self.text).is_ok()),
            latency_ms: ms_since(self.p.started),
            ttft_ms: self
                .first_token
                .map(|t| (t.duration_since(self.p.started).as_secs_f64() * 1e6).round() / 1e3),
        }
    }
}

impl Drop for StreamRelay {
    /// The client went away mid-stream: the upstream task is aborted (its handle drops with
    /// `active`) and what was consumed is still recorded.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Record first, then abort the upstream task: whoever sees the upstream call cancelled
        // can rely on the usage record having been sent already.
        let answer = self.answer("cancelled", true);
        self.gw
            .record(&self.p, &answer, Some("client disconnected".into()));
        // A cancelled attempt says nothing about the provider's health: no outcome is reported.
        // Dropping it aborts the upstream task, which closes the upstream connection.
        drop(self.active.take());
    }
}

/// Whole tool calls as stream deltas: each with its `index`.
fn indexed(calls: serde_json::Value) -> serde_json::Value {
    match calls {
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                if let Some(obj) = c.as_object_mut() {
                    obj.insert("index".into(), i.into());
                }
                c
            })
            .collect(),
        other => other,
    }
}

/// The original request plus the partial answer and an instruction to carry on.
fn continuation(original: &UpstreamRequest, partial: &str) -> UpstreamRequest {
    let mut req = original.clone();
    req.messages
        .push(ChatMessage::text(Role::Assistant, partial));
    req.messages
        .push(ChatMessage::text(Role::User, CONTINUE_PROMPT));
    req
}
