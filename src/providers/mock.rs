//! The built-in `mock` provider: a simulator that lets Sluice run with no API key and no network.
//!
//! It is named `mock` everywhere it shows (provider name, `x-sluice-provider`, `/admin/actors`),
//! and its answers say plainly that no model was called. Latency, per-token delay, failure rate
//! and a crash rate (a panicking call, for exercising supervision) come from config.
//!
//! So that a client's tool loop runs offline too, it calls a declared tool the user's message
//! names (with the first JSON object of that message as arguments), and answers a conversation
//! ending in tool results by quoting them.

use parking_lot::Mutex;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{Completion, ProviderEvent, StreamEnd, UpstreamRequest};
use crate::{
    config::MockSettings,
    error::ProviderError,
    tokens,
    wire::{Role, Usage},
};

/// Longest excerpt of the prompt echoed back.
const ECHO_CHARS: usize = 160;

/// Simulates one model.
pub struct Simulator {
    settings: MockSettings,
    model: String,
    cap: u32,
    rng: Mutex<StdRng>,
}

/// What the simulator answers a request with.
#[derive(Debug, PartialEq)]
enum Reply {
    /// Answer text.
    Text(String),
    /// One call of a declared tool.
    Call {
        /// `call_mock_<n>`, n counting the calls already in the conversation.
        id: String,
        /// The tool.
        name: String,
        /// JSON object text.
        arguments: String,
    },
}

/// What one simulated call will do, drawn up front.
enum Fate {
    Answer,
    Fail,
    Crash,
}

impl Simulator {
    /// A simulator for `model`, seeded from config or at random.
    pub fn new(settings: MockSettings, model: &str, cap: u32) -> Self {
        let seed = settings.seed.unwrap_or_else(rand::random);
        Simulator {
            settings,
            model: model.to_string(),
            cap,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn draw(&self) -> Fate {
        let mut rng = self.rng.lock();
        if self.settings.crash_rate > 0.0 && rng.random_bool(self.settings.crash_rate) {
            Fate::Crash
        } else if self.settings.failure_rate > 0.0 && rng.random_bool(self.settings.failure_rate) {
            Fate::Fail
        } else {
            Fate::Answer
        }
    }

    /// A tool call when the last message is a user's naming a declared tool; the tool results
    /// quoted when it is a tool message; else the standard echo.
    fn reply(&self, req: &UpstreamRequest) -> Reply {
        match req.messages.last() {
            Some(m) if m.role == Role::Tool => {
                // The results answering the last assistant turn, in their order.
                let mut results: Vec<String> = req
                    .messages
                    .iter()
                    .rev()
                    .take_while(|m| m.role == Role::Tool)
                    .map(|m| m.content_text())
                    .collect();
                results.reverse();
                let text = format!("mock answer using tool results: {}", results.join("; "));
                Reply::Text(self.capped(req, text))
            }
            Some(m) if m.role == Role::User => {
                let text = m.content_text();
                match declared_tools(&req.extra).find(|name| names_word(&text, name)) {
                    Some(name) => Reply::Call {
                        id: format!("call_mock_{}", calls_so_far(req) + 1),
                        name: name.to_string(),
                        arguments: first_object(&text).unwrap_or("{}").to_string(),
                    },
                    None => Reply::Text(self.answer(req)),
                }
            }
            _ => Reply::Text(self.answer(req)),
        }
    }

    fn answer(&self, req: &UpstreamRequest) -> String {
        let last_user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content_text())
            .unwrap_or_default();
        let mut echo: String = last_user.chars().take(ECHO_CHARS).collect();
        if last_user.chars().count() > ECHO_CHARS {
            echo.push('…');
        }
        let echo = echo.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = format!(
            "This is Sluice's built-in mock provider standing in for {}; no language model was called. \
             Your message was: \"{}\". Set OPENAI_API_KEY or ANTHROPIC_API_KEY to reach a real model.",
            self.model, echo
        );
        self.capped(req, text)
    }

    /// `text` cut to the output cap, one word per token.
    fn capped(&self, req: &UpstreamRequest, text: String) -> String {
        if let Some(max) = req.max_tokens.map(|m| m.min(self.cap)) {
            let words: Vec<&str> = text.split(' ').collect();
            if words.len() > max as usize {
                return words[..max as usize].join(" ");
            }
        }
        text
    }

    fn usage(&self, req: &UpstreamRequest, text: &str) -> Usage {
        Usage::new(
            tokens::count_messages(&self.model, &req.messages),
            tokens::count_text(&self.model, text),
        )
    }

    fn finish_reason(&self, req: &UpstreamRequest, text_words: usize) -> String {
        match req.max_tokens.map(|m| m.min(self.cap)) {
            Some(m) if text_words >= m as usize => "length".into(),
            _ => "stop".into(),
        }
    }

    /// Chaos testing: a simulated crash panics the task running the call, which the gateway
    /// must surface as an error and answer by restarting the provider actor.
    #[allow(clippy::panic)]
    fn crash(&self) -> ! {
        panic!(
            "mock provider {} simulated a crash (crash_rate)",
            self.model
        )
    }

    /// Draws this call's fate: a crash panics, a failure answers a simulated 500 after the
    /// latency, anything else goes on to answer.
    async fn play_fate(&self) -> Result<(), ProviderError> {
        match self.draw() {
            Fate::Crash => self.crash(),
            Fate::Fail => {
                tokio::time::sleep(self.settings.latency).await;
                Err(ProviderError::Simulated)
            }
            Fate::Answer => Ok(()),
        }
    }

    /// A whole answer after the simulated generation time.
    pub async fn complete(&self, req: &UpstreamRequest) -> Result<Completion, ProviderError> {
        self.play_fate().await?;
        match self.reply(req) {
            Reply::Text(text) => {
                let words = text.split(' ').count();
                let generation = self.settings.token_delay * words as u32;
                tokio::time::sleep(self.settings.latency + generation).await;
                Ok(Completion {
                    tool_calls: None,
                    usage: Some(self.usage(req, &text)),
                    finish_reason: self.finish_reason(req, words),
                    text,
                })
            }
            Reply::Call {
                id,
                name,
                arguments,
            } => {
                // Generation time of the two argument fragments a stream would send.
                tokio::time::sleep(self.settings.latency + self.settings.token_delay * 2).await;
                Ok(Completion {
                    text: String::new(),
                    finish_reason: "tool_calls".into(),
                    usage: Some(self.usage(req, &format!("{name} {arguments}"))),
                    tool_calls: Some(json!([{
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }])),
                })
            }
        }
    }

    /// Streams the answer word by word, or a tool call as OpenAI does: the id and name first,
    /// then the arguments in two fragments.
    pub async fn stream(
        &self,
        req: &UpstreamRequest,
        tx: &mpsc::Sender<ProviderEvent>,
    ) -> Result<StreamEnd, ProviderError> {
        self.play_fate().await?;
        let reply = self.reply(req);
        tokio::time::sleep(self.settings.latency).await;
        let (events, finish_reason, usage) = match reply {
            Reply::Text(text) => {
                let words: Vec<&str> = text.split(' ').collect();
                let events: Vec<ProviderEvent> = words
                    .iter()
                    .enumerate()
                    .map(|(i, word)| {
                        ProviderEvent::Delta(if i == 0 {
                            (*word).to_string()
                        } else {
                            format!(" {word}")
                        })
                    })
                    .collect();
                (
                    events,
                    self.finish_reason(req, words.len()),
                    self.usage(req, &text),
                )
            }
            Reply::Call {
                id,
                name,
                arguments,
            } => {
                let usage = self.usage(req, &format!("{name} {arguments}"));
                let (head, tail) = arguments.split_at(half(&arguments));
                let fragment = |part: &str| {
                    ProviderEvent::ToolCalls(json!([{"index": 0, "function": {"arguments": part}}]))
                };
                let events = vec![
                    ProviderEvent::ToolCalls(json!([{
                        "index": 0,
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }])),
                    fragment(head),
                    fragment(tail),
                ];
                (events, "tool_calls".to_string(), usage)
            }
        };
        let last = events.len().saturating_sub(1);
        for (i, ev) in events.into_iter().enumerate() {
            if tx.send(ev).await.is_err() {
                return Ok(StreamEnd {
                    finish_reason: "cancelled".into(),
                    usage: None,
                    cancelled: true,
                });
            }
            if !self.settings.token_delay.is_zero() && i < last {
                tokio::time::sleep(self.settings.token_delay).await;
            }
        }
        Ok(StreamEnd {
            finish_reason,
            usage: Some(usage),
            cancelled: false,
        })
    }
}

/// Names of the request's declared function tools, in declaration order.
fn declared_tools(extra: &Map<String, Value>) -> impl Iterator<Item = &str> {
    extra
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
}

/// Whether `text` contains `name` as a whole word (tool names may hold `_` and `-`).
fn names_word(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The first balanced `{...}` of `text` when it parses as a JSON object.
fn first_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    for (i, c) in text[start..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let candidate = &text[start..=start + i];
                    return serde_json::from_str::<Map<String, Value>>(candidate)
                        .is_ok()
                        .then_some(candidate);
                }
            }
            _ => {}
        }
    }
    None
}

/// Tool calls the assistant already made in the conversation.
fn calls_so_far(req: &UpstreamRequest) -> usize {
    req.messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .filter_map(|m| m.extra.get("tool_calls").and_then(Value::as_array))
        .map(Vec::len)
        .sum()
}

/// A char boundary near the middle of `s`, never 0 for a string of two or more characters.
fn half(s: &str) -> usize {
    let mut at = s.len() / 2;
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    if at == 0 {
        s.chars().next().map_or(0, char::len_utf8)
    } else {
        at
    }
}

#[cfg(test)]
mod tests;
