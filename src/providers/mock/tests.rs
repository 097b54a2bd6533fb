//! Tests of `providers::mock`: tool calls, tool-result answers and the helpers behind them.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use super::*;

fn simulator() -> Simulator {
    let settings = MockSettings {
        latency: Duration::ZERO,
        token_delay: Duration::ZERO,
        failure_rate: 0.0,
        crash_rate: 0.0,
        seed: Some(1),
    };
    Simulator::new(settings, "mock-model", 1000)
}

fn request(messages: Vec<Value>, extra: Value) -> UpstreamRequest {
    UpstreamRequest {
        messages: messages
            .into_iter()
            .map(|m| serde_json::from_value(m).unwrap())
            .collect(),
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

fn tools(names: &[&str]) -> Value {
    let declared: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}))
        .collect();
    json!({ "tools": declared })
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn tool_names_match_whole_words_only() {
    assert!(names_word("call get_weather now", "get_weather"));
    assert!(names_word("get_weather", "get_weather"));
    assert!(names_word("(get_weather): Paris", "get_weather"));
    assert!(names_word(
        "use get_weather_v2 or get_weather.",
        "get_weather"
    ));
    assert!(!names_word("use get_weather_v2", "get_weather"));
    assert!(!names_word("my-get_weather", "get_weather"));
    assert!(!names_word("forget it", "get"));
}

#[test]
fn first_balanced_object_is_the_arguments() {
    let cases = [
        (
            r#"get_weather {"city": "Paris"} thanks"#,
            Some(r#"{"city": "Paris"}"#),
        ),
        (
            r#"x {"a": {"b": "} not the end \" {"}} y {"c": 1}"#,
            Some(r#"{"a": {"b": "} not the end \" {"}}"#),
        ),
        // Only the first balanced object counts, and only if it parses.
        (r#"{not json} then {"a": 1}"#, None),
        (r#"unclosed {"a": 1"#, None),
        ("no braces", None),
    ];
    for (text, expected) in cases {
        assert_eq!(first_object(text), expected, "{text}");
    }
}

#[test]
fn halves_split_on_char_boundaries() {
    assert_eq!(half("{}"), 1);
    let s = r#"{"é":"ü"}"#;
    let (a, b) = s.split_at(half(s));
    assert!(!a.is_empty() && !b.is_empty());
}

#[test]
fn a_named_declared_tool_is_called() {
    let sim = simulator();
    // Declaration order decides, not the order the text names them in.
    let req = request(
        vec![user(
            r#"use lookup, then get_weather with {"city":"Paris"}"#,
        )],
        tools(&["get_weather", "lookup"]),
    );
    assert_eq!(
        sim.reply(&req),
        Reply::Call {
            id: "call_mock_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }
    );
    // Later calls of a conversation get the next number; no object means `{}`.
    let req = request(
        vec![
            user("lookup please"),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_mock_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]}),
            json!({"role": "tool", "tool_call_id": "call_mock_1", "content": "found"}),
            user("lookup again"),
        ],
        tools(&["get_weather", "lookup"]),
    );
    assert_eq!(
        sim.reply(&req),
        Reply::Call {
            id: "call_mock_2".into(),
            name: "lookup".into(),
            arguments: "{}".into(),
        }
    );
}

#[test]
fn without_a_named_tool_the_echo_is_unchanged() {
    let sim = simulator();
    for req in [
        request(vec![user("get_weather in Paris")], json!({})),
        request(vec![user("what is the weather?")], tools(&["get_weather"])),
    ] {
        match sim.reply(&req) {
            Reply::Text(t) => assert_eq!(t, sim.answer(&req)),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[test]
fn tool_results_are_quoted() {
    let sim = simulator();
    let req = request(
        vec![
            json!({"role": "tool", "tool_call_id": "early", "content": "not this one"}),
            user("weather in Paris and Rome"),
            json!({"role": "assistant", "content": null, "tool_calls": []}),
            json!({"role": "tool", "tool_call_id": "a", "content": "18C"}),
            json!({"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "21C"}]}),
        ],
        tools(&["get_weather"]),
    );
    assert_eq!(
        sim.reply(&req),
        Reply::Text("mock answer using tool results: 18C; 21C".into())
    );
}

#[tokio::test]
async fn tool_call_complete_and_stream() {
    let sim = simulator();
    let req = request(
        vec![user(r#"get_weather {"city":"Paris"}"#)],
        tools(&["get_weather"]),
    );
    let c = sim.complete(&req).await.unwrap();
    assert_eq!(c.finish_reason, "tool_calls");
    assert!(c.text.is_empty());
    assert_eq!(
        c.tool_calls.unwrap(),
        json!([{"id": "call_mock_1", "type": "function",
                "function": {"name": "get_weather", "arguments": r#"{"city":"Paris"}"#}}])
    );

    let (tx, mut rx) = mpsc::channel(16);
    let end = sim.stream(&req, &tx).await.unwrap();
    drop(tx);
    assert_eq!(end.finish_reason, "tool_calls");
    let mut events = Vec::new();
    while let Some(ev) = rx.recv().await {
        events.push(ev);
    }
    let calls: Vec<Value> = events
        .into_iter()
        .map(|e| match e {
            ProviderEvent::ToolCalls(v) => v,
            other => panic!("expected a tool-call delta, got {other:?}"),
        })
        .collect();
    assert!(calls.len() >= 3, "an id chunk and two or more fragments");
    assert_eq!(calls[0][0]["id"], "call_mock_1");
    assert_eq!(calls[0][0]["function"]["name"], "get_weather");
    let arguments: String = calls
        .iter()
        .map(|c| c[0]["function"]["arguments"].as_str().unwrap())
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);
    assert!(calls.iter().all(|c| c[0]["index"] == 0));
}
