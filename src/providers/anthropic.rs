//! Anthropic Messages API wire format, translated to and from OpenAI's.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Completion, ProviderEvent, StreamDecoder, UpstreamRequest, finish_reason_from, sse::SseEvent,
    stream_error,
};
use crate::{
    error::ProviderError,
    wire::{Role, Usage},
};

/// The `anthropic-version` header sent with every call.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by Anthropic; used when the client gave none.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The JSON body for `POST {base}/messages`: system messages lifted out, roles folded to
/// user/assistant, consecutive turns of one role merged.
pub fn request_body(
    req: &UpstreamRequest,
    upstream_model: &str,
    cap: u32,
    stream: bool,
) -> Result<Vec<u8>, ProviderError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, String)> = Vec::new();
    for m in &req.messages {
        let text = m.content_text();
        let role = match m.role {
            Role::System | Role::Developer => {
                system.push(text);
                continue;
            }
            Role::Assistant => "assistant",
            Role::User | Role::Tool | Role::Function => "user",
        };
        match turns.last_mut() {
            Some((r, t)) if *r == role => {
                t.push_str("\n\n");
                t.push_str(&text);
            }
            _ => turns.push((role, text)),
        }
    }
    if turns.first().map(|(r, _)| *r) != Some("user") {
        turns.insert(0, ("user", "(conversation start)".into()));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, text)| json!({"role": role, "content": text}))
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
    if stream {
        obj.insert("stream".into(), true.into());
    }
    serde_json::to_vec(&body).map_err(|e| ProviderError::Protocol(e.to_string()))
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
}

/// Parses a non-streaming Messages response.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let raw: RawMessage = serde_json::from_slice(bytes)
        .map_err(|e| ProviderError::Protocol(format!("message: {e}")))?;
    let text = raw
        .content
        .iter()
        .filter(|b| b.kind == "text")
        .map(|b| b.text.as_str())
        .collect::<String>();
    Ok(Completion {
        text,
        finish_reason: finish_reason_from(raw.stop_reason.as_deref().unwrap_or("end_turn")),
        usage: raw.usage.map(|u| Usage::new(u.prompt(), u.output_tokens)),
        tool_calls: None,
    })
}

/// Decodes one event of a Messages stream into text deltas.
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
        "content_block_delta" => {
            if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str)
                && !text.is_empty()
            {
                return Ok(vec![ProviderEvent::Delta(text.to_string())]);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::Map;

    use super::*;
    use crate::{config::ProviderKind, wire::ChatMessage};

    #[test]
    fn system_is_lifted_and_roles_merged() {
        let req = UpstreamRequest {
            messages: vec![
                ChatMessage::text(Role::System, "be brief"),
                ChatMessage::text(Role::User, "a"),
                ChatMessage::text(Role::User, "b"),
                ChatMessage::text(Role::Assistant, "c"),
            ],
            max_tokens: None,
            uses_max_completion_tokens: false,
            temperature: Some(1.5),
            top_p: None,
            stop: Some(vec!["END".into()]),
            user: None,
            extra: Map::new(),
            input_tokens: 0,
            request_id: "r".into(),
        };
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
}
