//! Anthropic Messages API wire format, translated to and from OpenAI's.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Completion, ProviderEvent, StreamDecoder, UpstreamRequest, finish_reason_from, sse::SseEvent,
    stream_error,
};
use crate::{
    error::ProviderError,
    wire::{ChatMessage, Role, Usage},
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

#[derive(Deserialize, Default, Clone, Copy)]
struct RawUsage {
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
        usage: raw.usage.map(|u| Usage::new(u.prompt(), u.output_tokens)),
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
                state.prompt_tokens = Some(u.prompt());
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
                state.usage = Some(Usage::new(state.prompt_tokens.unwrap_or(0), out));
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{config::ProviderKind, wire::ChatMessage};

    fn request(messages: Vec<ChatMessage>, extra: Value) -> UpstreamRequest {
        UpstreamRequest {
            messages,
            max_tokens: None,
            uses_max_completion_tokens: false,
            temperature: None,
            top_p: None,
            stop: None,
            user: None,
            extra: serde_json::from_value(extra).unwrap(),
            input_tokens: 0,
            request_id: "r".into(),
        }
    }

    fn body(req: &UpstreamRequest) -> Value {
        serde_json::from_slice(&request_body(req, "claude-x", 8192, false).unwrap()).unwrap()
    }

    fn message(v: Value) -> ChatMessage {
        serde_json::from_value(v).unwrap()
    }

    fn ev(e: &str, d: Value) -> SseEvent {
        SseEvent {
            event: Some(e.into()),
            data: d.to_string(),
        }
    }

    #[test]
    fn system_is_lifted_and_roles_merged() {
        let mut req = request(
            vec![
                ChatMessage::text(Role::System, "be brief"),
                ChatMessage::text(Role::User, "a"),
                ChatMessage::text(Role::User, "b"),
                ChatMessage::text(Role::Assistant, "c"),
            ],
            json!({}),
        );
        req.temperature = Some(1.5);
        req.stop = Some(vec!["END".into()]);
        let v: Value =
            serde_json::from_slice(&request_body(&req, "claude-x", 8192, true).unwrap()).unwrap();
        assert_eq!(v["system"], "be brief");
        assert_eq!(v["messages"].as_array().unwrap().len(), 2);
        assert_eq!(v["messages"][0]["content"], "a\n\nb");
        assert_eq!(v["max_tokens"], 4096);
        assert_eq!(v["temperature"], 1.0);
        assert_eq!(v["stop_sequences"][0], "END");
    }

    #[test]
    fn stream_events_yield_text_usage_and_errors() {
        let mut st = StreamDecoder::new(ProviderKind::Anthropic);
        let ev = |e: &str, d: &str| SseEvent {
            event: Some(e.into()),
            data: d.into(),
        };
        decode_event(&mut st, &ev("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}}"#)).unwrap();
        let d = decode_event(&mut st, &ev("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#)).unwrap();
        assert_eq!(d, vec![ProviderEvent::Delta("Hi".into())]);
        decode_event(&mut st, &ev("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":7}}"#)).unwrap();
        decode_event(&mut st, &ev("message_stop", r#"{"type":"message_stop"}"#)).unwrap();
        let end = st.finish().unwrap();
        assert_eq!(end.finish_reason, "length");
        assert_eq!(end.usage.unwrap(), Usage::new(12, 7));
        let err = decode_event(
            &mut st,
            &ev(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ),
        )
        .unwrap_err();
        assert!(err.is_retryable());
    }

    #[test]
    fn plain_text_bodies_are_unchanged_by_tool_support() {
        // The exact body a text conversation produced before tools were translated.
        let req = request(
            vec![
                ChatMessage::text(Role::Assistant, "hello"),
                ChatMessage::text(Role::User, "hi"),
                ChatMessage::text(Role::Tool, "orphan result"),
            ],
            json!({"seed": 1}),
        );
        let bytes = request_body(&req, "claude-x", 8192, false).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"max_tokens":4096,"messages":[{"content":"(conversation start)","role":"user"},{"content":"hello","role":"assistant"},{"content":"hi\n\norphan result","role":"user"}],"model":"claude-x"}"#
        );
    }

    #[test]
    fn tools_and_tool_choice_are_translated() {
        let tools = json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "ping"}},
            {"type": "custom", "custom": {"name": "free_text"}},
        ]);
        let msgs = || vec![ChatMessage::text(Role::User, "hi")];
        let v = body(&request(msgs(), json!({"tools": tools})));
        assert_eq!(
            v["tools"],
            json!([
                {"name": "get_weather", "description": "Weather now",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
                {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
            ])
        );
        assert!(
            v.get("tool_choice").is_none(),
            "Anthropic's default is auto"
        );
        let cases = [
            (json!({"tool_choice": "auto"}), json!({"type": "auto"})),
            (json!({"tool_choice": "required"}), json!({"type": "any"})),
            (json!({"tool_choice": "none"}), json!({"type": "none"})),
            (
                json!({"tool_choice": {"type": "function", "function": {"name": "ping"}}}),
                json!({"type": "tool", "name": "ping"}),
            ),
            (
                json!({"parallel_tool_calls": false}),
                json!({"type": "auto", "disable_parallel_tool_use": true}),
            ),
            (
                json!({"tool_choice": "required", "parallel_tool_calls": false}),
                json!({"type": "any", "disable_parallel_tool_use": true}),
            ),
            (
                json!({"tool_choice": {"type": "function", "function": {"name": "ping"}}, "parallel_tool_calls": false}),
                json!({"type": "tool", "name": "ping", "disable_parallel_tool_use": true}),
            ),
            (
                json!({"tool_choice": "none", "parallel_tool_calls": false}),
                json!({"type": "none"}),
            ),
        ];
        for (extra, expected) in cases {
            let mut extra = extra;
            extra["tools"] = tools.clone();
            let v = body(&request(msgs(), extra.clone()));
            assert_eq!(v["tool_choice"], expected, "{extra}");
            assert_eq!(v["tools"].as_array().unwrap().len(), 2);
        }
        // Without tools there is nothing to choose from.
        let v = body(&request(msgs(), json!({"tool_choice": "required"})));
        assert!(v.get("tools").is_none() && v.get("tool_choice").is_none());
    }

    #[test]
    fn tool_calls_and_results_become_blocks() {
        let req = request(
            vec![
                ChatMessage::text(Role::User, "weather in Paris and Rome?"),
                message(
                    json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
                    ]}),
                ),
                message(json!({"role": "tool", "tool_call_id": "toolu_1", "content": "18C"})),
                message(
                    json!({"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]}),
                ),
                ChatMessage::text(Role::User, "and tomorrow?"),
                message(json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": "toolu_3", "type": "function", "function": {"name": "forecast", "arguments": "not json"}},
                ]})),
                message(json!({"role": "tool", "tool_call_id": "toolu_3", "content": ""})),
            ],
            json!({}),
        );
        let v = body(&req);
        let m = v["messages"].as_array().unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!(m[0]["content"], "weather in Paris and Rome?");
        assert_eq!(m[1]["role"], "assistant");
        assert_eq!(
            m[1]["content"],
            json!([
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
            ])
        );
        // Both results and the next question share one user turn, results first.
        assert_eq!(m[2]["role"], "user");
        assert_eq!(
            m[2]["content"],
            json!([
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
                {"type": "text", "text": "and tomorrow?"},
            ])
        );
        // No empty text block; arguments that are not an object are sent as {}.
        assert_eq!(
            m[3]["content"],
            json!([{"type": "tool_use", "id": "toolu_3", "name": "forecast", "input": {}}])
        );
        assert_eq!(
            m[4]["content"],
            json!([{"type": "tool_result", "tool_use_id": "toolu_3"}])
        );
    }

    #[test]
    fn tool_use_answer_becomes_tool_calls() {
        let raw = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 4},
        });
        let c = parse_completion(raw.to_string().as_bytes()).unwrap();
        assert_eq!(c.text, "Let me look.");
        assert_eq!(c.finish_reason, "tool_calls");
        assert_eq!(
            c.tool_calls.unwrap(),
            json!([{"id": "toolu_9", "type": "function",
                    "function": {"name": "get_weather", "arguments": r#"{"city":"Paris","unit":"c"}"#}}])
        );
        let text_only =
            json!({"content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"});
        let c = parse_completion(text_only.to_string().as_bytes()).unwrap();
        assert!(c.tool_calls.is_none());
        assert_eq!(c.finish_reason, "stop");
    }

    #[test]
    fn streamed_tool_use_becomes_tool_call_deltas() {
        let mut st = StreamDecoder::new(ProviderKind::Anthropic);
        let mut out = Vec::new();
        let events = [
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"usage": {"input_tokens": 5}}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Sure."}}),
            ),
            ev(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
            ),
            ev(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_b", "name": "ping", "input": {}}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
            ),
            ev(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
            ),
            ev("message_stop", json!({"type": "message_stop"})),
        ];
        for e in &events {
            out.extend(decode_event(&mut st, e).unwrap());
        }
        let tc = |v: Value| ProviderEvent::ToolCalls(v);
        assert_eq!(
            out,
            vec![
                ProviderEvent::Delta("Sure.".into()),
                tc(
                    json!([{"index": 0, "id": "toolu_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}])
                ),
                tc(json!([{"index": 0, "function": {"arguments": "{\"city\": "}}])),
                tc(json!([{"index": 0, "function": {"arguments": "\"Paris\"}"}}])),
                tc(
                    json!([{"index": 1, "id": "toolu_b", "type": "function", "function": {"name": "ping", "arguments": ""}}])
                ),
                tc(json!([{"index": 1, "function": {"arguments": "{}"}}])),
            ]
        );
        let end = st.finish().unwrap();
        assert_eq!(end.finish_reason, "tool_calls");
        assert_eq!(end.usage.unwrap(), Usage::new(5, 9));
        // A fragment for a block that never started as tool_use is malformed.
        let stray = ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 7, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
        );
        assert!(matches!(
            decode_event(&mut st, &stray),
            Err(ProviderError::Protocol(_))
        ));
    }
}
