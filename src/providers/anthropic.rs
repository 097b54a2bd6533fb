//! Anthropic Messages API wire format, translated to and from OpenAI's.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Completion, ProviderEvent, StreamDecoder, UpstreamRequest, finish_reason_from, sse::SseEvent,
    stream_error,
};
use crate::{
    error::ProviderError,
    wire::{ChatMessage, PromptTokensDetails, Role, Usage},
};

/// The `anthropic-version` header sent with every call.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by Anthropic; used when the client gave none.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The JSON body for `POST {base}/messages`: system messages lifted out, roles folded to
/// user/assistant, consecutive turns of one role merged. OpenAI tools become Anthropic tools:
/// assistant `tool_calls` turn into `tool_use` blocks and `tool` messages into `tool_result`
/// blocks of the following user turn.
pub fn request_body(
    req: &UpstreamRequest,
    upstream_model: &str,
    cap: u32,
    stream: bool,
) -> Result<Vec<u8>, ProviderError> {
    let mut system = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role {
            Role::System | Role::Developer => {
                system.push(m.content_text());
                continue;
            }
            Role::Assistant => ("assistant", assistant_blocks(m)),
            Role::Tool => match m.extra.get("tool_call_id").and_then(Value::as_str) {
                Some(id) => ("user", vec![tool_result(id, m.content_text())]),
                None => ("user", vec![Block::Text(m.content_text())]),
            },
            Role::User | Role::Function => ("user", vec![Block::Text(m.content_text())]),
        };
        match turns.last_mut() {
            Some(t) if t.role == role => t.blocks.extend(blocks),
            _ => turns.push(Turn { role, blocks }),
        }
    }
    if turns.first().map(|t| t.role) != Some("user") {
        turns.insert(
            0,
            Turn {
                role: "user",
                blocks: vec![Block::Text("(conversation start)".into())],
            },
        );
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|t| json!({"role": t.role, "content": t.content()}))
        .collect();
    let mut body = json!({
        "model": upstream_model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).min(cap),
        "messages": messages,
    });
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ProviderError::Protocol("body is not an object".into()))?;
    if !system.is_empty() {
        obj.insert("system".into(), system.join("\n\n").into());
    }
    if let Some(t) = req.temperature {
        // Anthropic's range is 0..1; OpenAI's 0..2.
        obj.insert("temperature".into(), t.min(1.0).into());
    }
    if let Some(p) = req.top_p {
        obj.insert("top_p".into(), p.into());
    }
    if let Some(stop) = &req.stop {
        obj.insert("stop_sequences".into(), stop.clone().into());
    }
    if let Some(u) = &req.user {
        obj.insert("metadata".into(), json!({"user_id": u}));
    }
    let tools = tools(&req.extra);
    if !tools.is_empty() {
        obj.insert("tools".into(), tools.into());
        if let Some(choice) = tool_choice(&req.extra) {
            obj.insert("tool_choice".into(), choice);
        }
    }
    if stream {
        obj.insert("stream".into(), true.into());
    }
    serde_json::to_vec(&body).map_err(|e| ProviderError::Protocol(e.to_string()))
}

/// One message's contribution to an Anthropic turn.
enum Block {
    /// Text; neighbouring texts of one turn are joined by a blank line.
    Text(String),
    /// A `tool_use` block (assistant turns).
    ToolUse(Value),
    /// A `tool_result` block (user turns).
    ToolResult(Value),
}

/// Consecutive messages of one Anthropic role.
struct Turn {
    role: &'static str,
    blocks: Vec<Block>,
}

impl Turn {
    /// The turn's `content`: one string when it is only text (as plain conversations have always
    /// been sent), else a list of blocks with every tool result ahead of any text, as Anthropic
    /// requires of the turn answering a tool call.
    fn content(self) -> Value {
        if self.blocks.iter().all(|b| matches!(b, Block::Text(_))) {
            let texts: Vec<String> = self
                .blocks
                .into_iter()
                .filter_map(|b| match b {
                    Block::Text(t) => Some(t),
                    Block::ToolUse(_) | Block::ToolResult(_) => None,
                })
                .collect();
            return texts.join("\n\n").into();
        }
        let (mut ordered, rest): (Vec<Block>, Vec<Block>) = self
            .blocks
            .into_iter()
            .partition(|b| matches!(b, Block::ToolResult(_)));
        ordered.extend(rest);
        let mut out: Vec<Value> = Vec::with_capacity(ordered.len());
        let mut text: Option<String> = None;
        for b in ordered {
            match b {
                Block::Text(t) => match &mut text {
                    Some(acc) => {
                        acc.push_str("\n\n");
                        acc.push_str(&t);
                    }
                    None => text = Some(t),
                },
                Block::ToolUse(v) | Block::ToolResult(v) => {
                    push_text(&mut out, text.take());
                    out.push(v);
                }
            }
        }
        push_text(&mut out, text);
        Value::Array(out)
    }
}

/// Appends a text block unless it is empty (Anthropic refuses empty text blocks).
fn push_text(out: &mut Vec<Value>, text: Option<String>) {
    if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
        out.push(json!({"type": "text", "text": t}));
    }
}

/// An assistant message as blocks: its text, then one `tool_use` per OpenAI tool call.
fn assistant_blocks(m: &ChatMessage) -> Vec<Block> {
    let mut blocks = vec![Block::Text(m.content_text())];
    let calls = m.extra.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let id = call.get("id").and_then(Value::as_str);
        let name = call.pointer("/function/name").and_then(Value::as_str);
        if let (Some(id), Some(name)) = (id, name) {
            let input = tool_input(id, call.pointer("/function/arguments"));
            blocks.push(Block::ToolUse(
                json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            ));
        }
    }
    blocks
}

/// The `input` object of a `tool_use` block from OpenAI's `arguments` JSON text. Anthropic
/// accepts only an object; arguments that are not one (a model cut off mid-call, say) are sent
/// as `{}` rather than failing the whole conversation.
fn tool_input(id: &str, arguments: Option<&Value>) -> Value {
    let parsed = match arguments {
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            let v = serde_json::from_str::<Value>(s).ok();
            if !v.as_ref().is_some_and(Value::is_object) {
                tracing::warn!(tool_call_id = %id, "tool call arguments are not a JSON object; sent to Anthropic as {{}}");
            }
            v
        }
        Some(v) => Some(v.clone()),
        None => None,
    };
    parsed.filter(Value::is_object).unwrap_or_else(|| json!({}))
}

/// A `tool_result` block answering the call `id`.
fn tool_result(id: &str, content: String) -> Block {
    let mut block = json!({"type": "tool_result", "tool_use_id": id});
    if !content.is_empty()
        && let Some(obj) = block.as_object_mut()
    {
        obj.insert("content".into(), content.into());
    }
    Block::ToolResult(block)
}

/// OpenAI `tools` of type `function` as Anthropic tools; other kinds have no Anthropic
/// counterpart and are left out.
fn tools(extra: &Map<String, Value>) -> Vec<Value> {
    let declared = extra.get("tools").and_then(Value::as_array);
    declared
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str).unwrap_or("function") == "function")
        .filter_map(|t| {
            let f = t.get("function")?;
            let name = f.get("name").and_then(Value::as_str)?;
            let mut tool = Map::new();
            tool.insert("name".into(), name.into());
            if let Some(d) = f.get("description").and_then(Value::as_str) {
                tool.insert("description".into(), d.into());
            }
            let schema = f
                .get("parameters")
                .filter(|p| p.is_object())
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            tool.insert("input_schema".into(), schema);
            Some(Value::Object(tool))
        })
        .collect()
}

/// OpenAI `tool_choice` and `parallel_tool_calls` as Anthropic's `tool_choice`; `None` leaves
/// Anthropic's default (`auto`, parallel calls allowed).
fn tool_choice(extra: &Map<String, Value>) -> Option<Value> {
    let serial = extra.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let mut choice = match extra.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => return Some(json!({"type": "none"})),
        Some(Value::String(s)) if s == "required" => json!({"type": "any"}),
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => json!({"type": "tool", "name": name}),
            None => json!({"type": "auto"}),
        },
        None => json!({"type": "auto"}),
    };
    if serial {
        if let Some(obj) = choice.as_object_mut() {
            obj.insert("disable_parallel_tool_use".into(), true.into());
        }
    } else if extra.get("tool_choice").is_none() {
        return None;
    }
    Some(choice)
}

/// Anthropic's usage object.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
pub(super) struct RawUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
}

impl RawUsage {
    fn prompt(&self) -> u64 {
        self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens
    }

    /// In OpenAI's shape: `prompt_tokens` is the whole input, cache reads and writes included,
    /// and the details say which part was which.
    fn usage(&self, output_tokens: u64) -> Usage {
        let mut u = Usage::new(self.prompt(), output_tokens);
        if self.cache_read_input_tokens > 0 || self.cache_creation_input_tokens > 0 {
            u.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: self.cache_read_input_tokens,
                cache_write_tokens: self.cache_creation_input_tokens,
            });
        }
        u
    }
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    content: Vec<RawBlock>,
    stop_reason: Option<String>,
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct RawBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
    /// `tool_use` blocks: the call id, the tool and its input object.
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
}

/// Parses a non-streaming Messages response; `tool_use` blocks become OpenAI `tool_calls`.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let raw: RawMessage = serde_json::from_slice(bytes)
        .map_err(|e| ProviderError::Protocol(format!("message: {e}")))?;
    let text = raw
        .content
        .iter()
        .filter(|b| b.kind == "text")
        .map(|b| b.text.as_str())
        .collect::<String>();
    let calls: Vec<Value> = raw
        .content
        .iter()
        .filter(|b| b.kind == "tool_use")
        .map(|b| {
            let arguments = b
                .input
                .as_ref()
                .map_or_else(|| "{}".into(), Value::to_string);
            json!({
                "id": b.id.as_deref().unwrap_or_default(),
                "type": "function",
                "function": {"name": b.name.as_deref().unwrap_or_default(), "arguments": arguments},
            })
        })
        .collect();
    Ok(Completion {
        text,
        finish_reason: finish_reason_from(raw.stop_reason.as_deref().unwrap_or("end_turn")),
        usage: raw.usage.map(|u| u.usage(u.output_tokens)),
        tool_calls: (!calls.is_empty()).then_some(Value::Array(calls)),
    })
}

/// Decodes one event of a Messages stream into text deltas and OpenAI-shaped tool-call
/// fragments.
pub(super) fn decode_event(
    state: &mut StreamDecoder,
    event: &SseEvent,
) -> Result<Vec<ProviderEvent>, ProviderError> {
    if event.data.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(&event.data)
        .map_err(|e| ProviderError::Protocol(format!("stream event: {e}")))?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .or(event.event.as_deref())
        .unwrap_or("");
    match kind {
        "message_start" => {
            if let Some(u) = v.pointer("/message/usage") {
                let u: RawUsage = serde_json::from_value(u.clone()).unwrap_or_default();
                state.input_usage = Some(u);
            }
        }
        "content_block_start"
            if v.pointer("/content_block/type").and_then(Value::as_str) == Some("tool_use") =>
        {
            return Ok(vec![tool_call_start(state, &v)]);
        }
        "content_block_delta" => {
            if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str)
                && !text.is_empty()
            {
                return Ok(vec![ProviderEvent::Delta(text.to_string())]);
            }
            if let Some(partial) = v.pointer("/delta/partial_json").and_then(Value::as_str)
                && !partial.is_empty()
            {
                return Ok(vec![tool_call_fragment(state, &v, partial)?]);
            }
        }
        "message_delta" => {
            if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                state.finish_reason = Some(finish_reason_from(r));
            }
            if let Some(out) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                state.usage = Some(state.input_usage.unwrap_or_default().usage(out));
            }
        }
        "message_stop" => {
            state.done = true;
            if state.finish_reason.is_none() {
                state.finish_reason = Some("stop".into());
            }
        }
        "error" => return Err(stream_error(v.get("error"), "api_error")),
        _ => {}
    }
    Ok(Vec::new())
}

/// The first OpenAI delta of a streamed `tool_use` block: its index among the tool calls, id
/// and name, with empty arguments.
fn tool_call_start(state: &mut StreamDecoder, v: &Value) -> ProviderEvent {
    // OpenAI numbers tool calls from 0; Anthropic numbers all blocks, text included.
    let index = state.tool_blocks.len();
    state
        .tool_blocks
        .push(v.get("index").and_then(Value::as_u64).unwrap_or(0));
    let field = |name: &str| {
        v.get("content_block")
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    ProviderEvent::ToolCalls(json!([{
        "index": index,
        "id": field("id"),
        "type": "function",
        "function": {"name": field("name"), "arguments": ""},
    }]))
}

/// An `input_json_delta` as an OpenAI arguments fragment of the tool call it continues.
fn tool_call_fragment(
    state: &StreamDecoder,
    v: &Value,
    partial: &str,
) -> Result<ProviderEvent, ProviderError> {
    let block = v.get("index").and_then(Value::as_u64).unwrap_or(0);
    let index = state
        .tool_blocks
        .iter()
        .position(|&b| b == block)
        .ok_or_else(|| {
            ProviderError::Protocol(format!(
                "input_json_delta for block {block}, which is not a tool_use block"
            ))
        })?;
    Ok(ProviderEvent::ToolCalls(json!([{
        "index": index,
        "function": {"arguments": partial},
    }])))
}

#[cfg(test)]
mod tests;
