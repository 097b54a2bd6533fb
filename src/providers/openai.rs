//! OpenAI Chat Completions wire format (also vLLM, TGI, Ollama, llama.cpp's server).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Completion, ProviderEvent, StreamDecoder, UpstreamRequest, finish_reason_from, sse::SseEvent,
    stream_error,
};
use crate::{
    error::ProviderError,
    wire::{ChatMessage, Content, Usage},
};

/// The body of `POST {base}/chat/completions`, serialised in one pass (no intermediate values).
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    /// Every other OpenAI parameter the client sent (the named fields above never appear here:
    /// the client's request parsed them out).
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The JSON body for `POST {base}/chat/completions`.
pub fn request_body(
    req: &UpstreamRequest,
    upstream_model: &str,
    cap: u32,
    stream: bool,
) -> Result<Vec<u8>, ProviderError> {
    let max = req.max_tokens.map(|n| n.min(cap));
    let body = Body {
        model: upstream_model,
        messages: &req.messages,
        max_tokens: max.filter(|_| !req.uses_max_completion_tokens),
        max_completion_tokens: max.filter(|_| req.uses_max_completion_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop.as_deref(),
        user: req.user.as_deref(),
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
        extra: &req.extra,
    };
    // Sized once for the messages plus the envelope, instead of regrown while written.
    let text: usize = req
        .messages
        .iter()
        .map(|m| m.content.as_ref().map_or(0, Content::text_len))
        .sum();
    let mut out = Vec::with_capacity(256 + text + text / 8);
    serde_json::to_writer(&mut out, &body).map_err(|e| ProviderError::Protocol(e.to_string()))?;
    Ok(out)
}

#[derive(Deserialize)]
struct RawCompletion {
    #[serde(default)]
    choices: Vec<RawChoice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct RawChoice {
    message: Option<RawMessage>,
    delta: Option<RawMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    content: Option<String>,
    tool_calls: Option<Value>,
}

/// Parses a non-streaming response.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, ProviderError> {
    let raw: RawCompletion = serde_json::from_slice(bytes)
        .map_err(|e| ProviderError::Protocol(format!("chat completion: {e}")))?;
    let choice = raw
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::Protocol("chat completion without choices".into()))?;
    let (text, tool_calls) = match choice.message {
        Some(m) => (
            m.content.unwrap_or_default(),
            m.tool_calls.filter(|t| !t.is_null()),
        ),
        None => (String::new(), None),
    };
    Ok(Completion {
        text,
        finish_reason: finish_reason_from(choice.finish_reason.as_deref().unwrap_or("stop")),
        usage: raw.usage,
        tool_calls,
    })
}

/// Decodes one SSE event of a chat completion stream into text deltas.
pub(super) fn decode_event(
    state: &mut StreamDecoder,
    event: &SseEvent,
) -> Result<Vec<ProviderEvent>, ProviderError> {
    let data = event.data.trim();
    if data == "[DONE]" {
        state.done = true;
        if state.finish_reason.is_none() {
            state.finish_reason = Some("stop".into());
        }
        return Ok(Vec::new());
    }
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(data)
        .map_err(|e| ProviderError::Protocol(format!("stream chunk: {e}")))?;
    if let Some(err) = value.get("error") {
        return Err(stream_error(Some(err), "server_error"));
    }
    let chunk: RawCompletion = serde_json::from_value(value)
        .map_err(|e| ProviderError::Protocol(format!("stream chunk: {e}")))?;
    if let Some(u) = chunk.usage {
        state.usage = Some(u);
    }
    let mut out = Vec::new();
    for choice in chunk.choices {
        if let Some(delta) = choice.delta {
            if let Some(text) = delta.content
                && !text.is_empty()
            {
                out.push(ProviderEvent::Delta(text));
            }
            if let Some(calls) = delta.tool_calls.filter(|t| !t.is_null()) {
                out.push(ProviderEvent::ToolCalls(calls));
            }
        }
        if let Some(r) = choice.finish_reason {
            state.finish_reason = Some(finish_reason_from(&r));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{config::ProviderKind, wire::Role};

    fn req() -> UpstreamRequest {
        let mut extra = Map::new();
        extra.insert("seed".into(), 3.into());
        UpstreamRequest {
            messages: vec![ChatMessage::text(Role::User, "hi")],
            max_tokens: Some(10),
            uses_max_completion_tokens: false,
            temperature: Some(0.2),
            top_p: None,
            stop: None,
            user: Some("u1".into()),
            extra,
            input_tokens: 0,
            request_id: "r".into(),
        }
    }

    #[test]
    fn body_carries_passthrough_and_usage_request() {
        let body: Value =
            serde_json::from_slice(&request_body(&req(), "gpt-x", 4096, true).unwrap()).unwrap();
        assert_eq!(body["model"], "gpt-x");
        assert_eq!(body["seed"], 3);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["user"], "u1");
    }

    #[test]
    fn stream_decoding_collects_text_reason_and_usage() {
        let mut st = StreamDecoder::new(ProviderKind::OpenAi);
        let ev = |d: &str| SseEvent {
            event: None,
            data: d.into(),
        };
        let d1 = decode_event(&mut st, &ev(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#)).unwrap();
        assert!(d1.is_empty());
        let d2 = decode_event(
            &mut st,
            &ev(r#"{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#),
        )
        .unwrap();
        assert_eq!(d2, vec![ProviderEvent::Delta("Hel".into())]);
        decode_event(
            &mut st,
            &ev(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#),
        )
        .unwrap();
        decode_event(&mut st, &ev(r#"{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}"#)).unwrap();
        decode_event(&mut st, &ev("[DONE]")).unwrap();
        let end = st.finish().unwrap();
        assert_eq!(end.finish_reason, "length");
        assert_eq!(end.usage.unwrap().total_tokens, 6);
    }

    #[test]
    fn error_inside_stream_is_reported() {
        let mut st = StreamDecoder::new(ProviderKind::OpenAi);
        let ev = SseEvent {
            event: None,
            data: r#"{"error":{"message":"boom","type":"server_error"}}"#.into(),
        };
        let err = decode_event(&mut st, &ev).unwrap_err();
        assert!(err.is_retryable());
    }
}
