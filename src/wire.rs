//! The OpenAI-compatible wire types served to clients: chat requests, completions and stream chunks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::GatewayError;

/// A chat message role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from the application.
    System,
    /// OpenAI's newer name for system instructions.
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
    /// A legacy function result.
    Function,
}

/// Message content: plain text or a list of typed parts (`{"type":"text","text":...}`, images ...).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts; only `text` parts are inspected by the gateway.
    Parts(Vec<Value>),
}

impl Content {
    /// The text of the content, parts joined by newlines.
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The length in bytes of [`Content::text`], without building it.
    pub fn text_len(&self) -> usize {
        match self {
            Content::Text(t) => t.len(),
            Content::Parts(parts) => {
                let (bytes, n) = parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .fold((0usize, 0usize), |(bytes, n), t| (bytes + t.len(), n + 1));
                bytes + n.saturating_sub(1)
            }
        }
    }

    /// Applies `f` to every text span, in place.
    pub fn map_text(&mut self, mut f: impl FnMut(&str) -> Option<String>) {
        match self {
            Content::Text(t) => {
                if let Some(new) = f(t) {
                    *t = new;
                }
            }
            Content::Parts(parts) => {
                for part in parts {
                    if let Some(Value::String(t)) = part.get_mut("text")
                        && let Some(new) = f(t)
                    {
                        *t = new;
                    }
                }
            }
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// What it says (absent on assistant tool-call messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Other fields (`name`, `tool_calls`, `tool_call_id` ...), passed through.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// A text message.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(Content::Text(text.into())),
            extra: Map::new(),
        }
    }

    /// The message's text, empty when it has none.
    pub fn content_text(&self) -> String {
        self.content.as_ref().map(Content::text).unwrap_or_default()
    }

    /// The length in bytes of [`ChatMessage::content_text`], without building it.
    pub fn text_len(&self) -> usize {
        self.content.as_ref().map_or(0, Content::text_len)
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a final chunk with token usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// `stop`: one string or several.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Stop {
    /// A single stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

impl Stop {
    /// The sequences as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        }
    }
}

/// `POST /v1/chat/completions` request body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatRequest {
    /// A model name, or a route name (`default` is the default fallback chain).
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// End-user id, used for cost accounting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Output token cap (legacy name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature, 0 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Any other OpenAI parameter, passed through to OpenAI-compatible upstreams.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// Parses and validates a request body, with messages that name the bad field.
    pub fn parse(body: &[u8]) -> Result<ChatRequest, GatewayError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(GatewayError::invalid(
                "Request body is empty; send a JSON object with `model` and `messages`",
                None,
            ));
        }
        let req: ChatRequest = serde_json::from_slice(body).map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() {
                "Request body is not valid JSON"
            } else {
                "Request body does not match the chat completion schema"
            };
            GatewayError::invalid(format!("{what}: {e}"), None)
        })?;
        req.validate()?;
        Ok(req)
    }

    fn validate(&self) -> Result<(), GatewayError> {
        if self.model.trim().is_empty() {
            return Err(GatewayError::invalid(
                "`model` must not be empty",
                Some("model"),
            ));
        }
        if self.messages.is_empty() {
            return Err(GatewayError::invalid(
                "`messages` must contain at least one message",
                Some("messages"),
            ));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(GatewayError::invalid(
                format!("`temperature` is {t}; it must be between 0 and 2"),
                Some("temperature"),
            ));
        }
        if let Some(p) = self.top_p
            && !(0.0..=1.0).contains(&p)
        {
            return Err(GatewayError::invalid(
                format!("`top_p` is {p}; it must be between 0 and 1"),
                Some("top_p"),
            ));
        }
        if self.max_tokens == Some(0) || self.max_completion_tokens == Some(0) {
            return Err(GatewayError::invalid(
                "`max_tokens` must be at least 1",
                Some("max_tokens"),
            ));
        }
        if self
            .extra
            .get("n")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 1)
        {
            return Err(GatewayError::invalid(
                "`n` greater than 1 is not supported; send one request per choice",
                Some("n"),
            ));
        }
        if self.stream_options.is_some() && !self.stream {
            return Err(GatewayError::invalid(
                "`stream_options` is only allowed when `stream` is true",
                Some("stream_options"),
            ));
        }
        Ok(())
    }

    /// The requested output cap, whichever field carried it.
    pub fn requested_max_tokens(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// Token usage in OpenAI's shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
    /// The part of the input served from the provider's prompt cache, when it said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// OpenAI's breakdown of the input tokens (Anthropic's cache reads and writes mapped onto it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromptTokensDetails {
    /// Input tokens read from the prompt cache (`cached_tokens`, Anthropic `cache_read_input_tokens`).
    #[serde(default)]
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    /// Usage from input and output counts.
    pub fn new(prompt: u64, completion: u64) -> Self {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: None,
        }
    }

    /// Input tokens read from the provider's prompt cache (part of `prompt_tokens`).
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details.map_or(0, |d| d.cached_tokens)
    }

    /// Input tokens written to the provider's prompt cache (part of `prompt_tokens`).
    pub fn cache_write_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .map_or(0, |d| d.cache_write_tokens)
    }

    /// Both usages together (calls of one answer: retries, continuations, tool steps).
    pub fn plus(&self, other: &Usage) -> Usage {
        let cached = self.cached_tokens() + other.cached_tokens();
        let written = self.cache_write_tokens() + other.cache_write_tokens();
        let mut sum = Usage::new(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        );
        if self.prompt_tokens_details.is_some() || other.prompt_tokens_details.is_some() {
            sum.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: cached,
                cache_write_tokens: written,
            });
        }
        sum
    }
}

/// The assistant message of a completion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: Role,
    /// The answer text (null when the answer is only tool calls).
    pub content: Option<String>,
    /// Tool calls requested by the model, as the upstream sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub tool_calls: Option<Value>,
}

/// One choice of a completion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Choice {
    /// Choice index (always 0).
    pub index: u32,
    /// The answer.
    pub message: AssistantMessage,
    /// Why generation stopped.
    pub finish_reason: String,
    /// Not supported; always null.
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<Value>,
}

/// `POST /v1/chat/completions` response (non-streaming).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    /// Completion id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// The answer.
    pub choices: Vec<Choice>,
    /// Token usage.
    pub usage: Usage,
}

/// The delta of a stream chunk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delta {
    /// Role, on the first chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// New text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool-call fragments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
}

/// One choice of a stream chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index (always 0).
    pub index: u32,
    /// New content.
    pub delta: Delta,
    /// Set on the last content chunk.
    pub finish_reason: Option<String>,
    /// Not supported; always null.
    pub logprobs: Option<Value>,
}

/// One `chat.completion.chunk` event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chunk<'a> {
    /// Completion id, the same on every chunk.
    pub id: &'a str,
    /// Always `chat.completion.chunk`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model producing this chunk.
    pub model: &'a str,
    /// Zero or one choice.
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk when `stream_options.include_usage` is set (otherwise null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Gateway facts on the last chunk: cost, model, cache, continuation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sluice: Option<Value>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passes_unknown_fields_through() {
        let req = ChatRequest::parse(
            br#"{"model":"m","messages":[{"role":"user","content":"hi","name":"bob"}],"seed":7,"logit_bias":{"1":2}}"#,
        )
        .unwrap();
        assert_eq!(req.extra["seed"], 7);
        assert_eq!(req.messages[0].extra["name"], "bob");
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["logit_bias"]["1"], 2);
        assert!(back.get("stream_options").is_none());
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let cases: [(&[u8], &str); 7] = [
            (b"{not json", "not valid JSON"),
            (br#"{"messages":[]}"#, "missing field `model`"),
            (br#"{"model":"m","messages":[]}"#, "at least one message"),
            (br#"{"model":5,"messages":[]}"#, "invalid type"),
            (
                br#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#,
                "unknown variant",
            ),
            (
                br#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#,
                "temperature",
            ),
            (
                br#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#,
                "`n`",
            ),
        ];
        for (body, needle) in cases {
            let err = ChatRequest::parse(body).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn content_parts_are_mapped() {
        let mut c: Content = serde_json::from_str(
            r#"[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]"#,
        )
        .unwrap();
        c.map_text(|t| Some(format!("{t}!")));
        assert_eq!(c.text(), "a!");
    }

    #[test]
    fn text_len_is_the_length_of_the_text() {
        for json in [
            r#""héllo""#,
            r#"[]"#,
            r#"[{"type":"text","text":"ab"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"çd"}]"#,
        ] {
            let c: Content = serde_json::from_str(json).unwrap();
            assert_eq!(c.text_len(), c.text().len(), "{json}");
        }
    }
}
