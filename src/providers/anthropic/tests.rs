//! Tests of `providers::anthropic`: requests, answers and stream events.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::config::ProviderKind;

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
    decode_event(
        &mut st,
        &ev(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        ),
    )
    .unwrap();
    let d = decode_event(
        &mut st,
        &ev(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        ),
    )
    .unwrap();
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
    let text_only = json!({"content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"});
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
