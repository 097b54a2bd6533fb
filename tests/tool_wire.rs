//! Function calling through the real server: OpenAI tools translated to an Anthropic upstream
//! and its `tool_use` answers translated back (streamed and not), and the built-in mock
//! provider running a tool loop offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{gateway::*, upstream::*};
use serde_json::{Value, json};

fn anthropic_config(an: &MockUpstream) -> String {
    format!(
        "{}{}[routes.default]\nfallback = [\"claude-test\"]\n",
        anthropic_provider("an", &an.base_url(), 0),
        model("claude-test", "an"),
    )
}

const MOCK_CONFIG: &str = r#"
[providers.mock]
kind = "mock"
seed = 3
[models."mock-model"]
provider = "mock"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.default]
fallback = ["mock-model"]
"#;

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather", "description": "Current weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    ])
}

/// A tool call as a client reassembles it from stream deltas.
#[derive(Debug, Default, PartialEq)]
struct Call {
    id: String,
    name: String,
    arguments: String,
}

/// What a client makes of a chat stream: the text, the tool calls by index, the finish reason.
struct Streamed {
    text: String,
    calls: BTreeMap<u64, Call>,
    finish_reason: Option<String>,
}

fn reassemble(events: &[String]) -> Streamed {
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let mut out = Streamed {
        text: joined_content(events),
        calls: BTreeMap::new(),
        finish_reason: None,
    };
    for e in &events[..events.len() - 1] {
        let v: Value = serde_json::from_str(e).unwrap();
        let Some(choice) = v["choices"].get(0) else {
            continue;
        };
        if let Some(r) = choice["finish_reason"].as_str() {
            out.finish_reason = Some(r.to_string());
        }
        for frag in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let call = out
                .calls
                .entry(frag["index"].as_u64().expect("every fragment has an index"))
                .or_default();
            if let Some(id) = frag["id"].as_str() {
                assert!(call.id.is_empty(), "the id comes once");
                call.id = id.to_string();
            }
            if let Some(name) = frag["function"]["name"].as_str() {
                call.name.push_str(name);
            }
            if let Some(args) = frag["function"]["arguments"].as_str() {
                call.arguments.push_str(args);
            }
        }
    }
    out
}

fn call(id: &str, name: &str, arguments: &str) -> Call {
    Call {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

#[tokio::test]
async fn openai_tool_conversation_reaches_anthropic_as_tool_blocks() {
    let an = MockUpstream::start(vec![Step::reply("Take one."), Step::reply("Fine.")]);
    let gw = TestGateway::start(&anthropic_config(&an));
    let body = json!({
        "model": "claude-test",
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "Checking both.", "tool_calls": [
                {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "toolu_02", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_01", "content": "18C, rain"},
            {"role": "tool", "tool_call_id": "toolu_02", "content": "24C, sun"},
            {"role": "user", "content": "Do I need an umbrella in Paris?"},
        ],
        "tools": weather_tools(),
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false,
    });
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Take one.");

    let sent = &an.bodies()[0];
    assert_eq!(sent["system"], "You are a weather assistant.");
    assert_eq!(
        sent["tools"],
        json!([
            {"name": "get_weather", "description": "Current weather of a city",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "get_time", "input_schema": {"type": "object"}},
        ])
    );
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Rome"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C, rain"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": "24C, sun"},
                {"type": "text", "text": "Do I need an umbrella in Paris?"},
            ]},
        ])
    );
    for field in ["tool_calls", "parallel_tool_calls", "tool_call_id"] {
        assert!(
            !sent.to_string().contains(field),
            "OpenAI's {field} is not sent to Anthropic"
        );
    }

    // `required` is Anthropic's `any`; parallel calls stay allowed unless refused.
    let mut required = body.clone();
    required["tool_choice"] = json!("required");
    required
        .as_object_mut()
        .unwrap()
        .remove("parallel_tool_calls");
    assert_eq!(
        gw.post("/v1/chat/completions", &required).await.status(),
        200
    );
    assert_eq!(an.bodies()[1]["tool_choice"], json!({"type": "any"}));
}

#[tokio::test]
async fn anthropic_tool_use_answer_becomes_openai_tool_calls() {
    let an = MockUpstream::start(vec![
        Step::tool_use(
            "Let me check.",
            "toolu_abc",
            "get_weather",
            r#"{"city":"Paris","unit":"celsius"}"#,
        ),
        Step::tool_use("", "toolu_def", "get_time", "{}"),
    ]);
    let gw = TestGateway::start(&anthropic_config(&an));
    let mut body = chat("claude-test", "Weather in Paris?");
    body["tools"] = weather_tools();

    let v: Value = gw
        .post("/v1/chat/completions", &body)
        .await
        .json()
        .await
        .unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "Let me check.");
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{"id": "toolu_abc", "type": "function",
                "function": {"name": "get_weather", "arguments": r#"{"city":"Paris","unit":"celsius"}"#}}])
    );
    // usage is the upstream's own: 3 words of text + 5 per call
    assert_eq!(v["usage"]["completion_tokens"], 8);

    // Only a tool call: the content is null, as OpenAI sends it.
    body["messages"][0]["content"] = json!("What time is it?");
    let v: Value = gw
        .post("/v1/chat/completions", &body)
        .await
        .json()
        .await
        .unwrap();
    let message = &v["choices"][0]["message"];
    assert!(message["content"].is_null(), "{message}");
    assert_eq!(message["tool_calls"][0]["id"], "toolu_def");
    assert_eq!(message["tool_calls"][0]["function"]["arguments"], "{}");
    assert_eq!(an.calls(), 2);
}

#[tokio::test]
async fn anthropic_tool_use_stream_becomes_openai_tool_call_deltas() {
    let an = MockUpstream::start(vec![Step::ToolUse {
        text: "Checking both cities.".into(),
        calls: vec![
            ToolUse {
                id: "toolu_p".into(),
                name: "get_weather".into(),
                input: r#"{"city": "Paris", "days": [1, 2]}"#.into(),
            },
            ToolUse {
                id: "toolu_r".into(),
                name: "get_weather".into(),
                input: r#"{"city": "Rome"}"#.into(),
            },
        ],
    }]);
    let gw = TestGateway::start(&anthropic_config(&an));
    let mut body = chat("claude-test", "Weather in Paris and Rome?");
    body["tools"] = weather_tools();
    body["stream"] = json!(true);
    let events = sse_data(gw.post("/v1/chat/completions", &body).await).await;
    let got = reassemble(&events);
    assert_eq!(got.text, "Checking both cities.");
    assert_eq!(got.finish_reason.as_deref(), Some("tool_calls"));
    // Indices count tool calls from 0, not Anthropic's block numbers (1 and 2 here).
    assert_eq!(
        got.calls.into_iter().collect::<Vec<_>>(),
        vec![
            (
                0,
                call(
                    "toolu_p",
                    "get_weather",
                    r#"{"city": "Paris", "days": [1, 2]}"#
                )
            ),
            (1, call("toolu_r", "get_weather", r#"{"city": "Rome"}"#)),
        ]
    );
    // The first fragment of each call carries its id, type and name; the rest only arguments.
    let fragments: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| v["choices"][0]["delta"]["tool_calls"].get(0).cloned())
        .collect();
    assert!(
        fragments.len() > 4,
        "the arguments arrive in several pieces"
    );
    assert_eq!(fragments[0]["type"], "function");
    assert_eq!(fragments[0]["function"]["arguments"], "");
    assert!(fragments[1].get("id").is_none());
    assert_eq!(an.bodies()[0]["stream"], true);
}

#[tokio::test]
async fn mock_provider_runs_a_tool_loop() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let mut body = chat(
        "mock-model",
        r#"Please call get_weather with {"city": "Oslo"} for me."#,
    );
    body["tools"] = weather_tools();
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.headers()["x-sluice-provider"], "mock");
    let v: Value = resp.json().await.unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let tool_call = choice["message"]["tool_calls"][0].clone();
    assert_eq!(
        tool_call,
        json!({"id": "call_mock_1", "type": "function",
               "function": {"name": "get_weather", "arguments": r#"{"city": "Oslo"}"#}})
    );

    // Streamed, the same call arrives as deltas.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let got = reassemble(&sse_data(gw.post("/v1/chat/completions", &streamed).await).await);
    assert_eq!(got.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        got.calls.into_iter().collect::<Vec<_>>(),
        vec![(0, call("call_mock_1", "get_weather", r#"{"city": "Oslo"}"#))]
    );

    // The client runs the tool and sends the result back: the mock answers with it.
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [tool_call]}));
    messages.push(json!({"role": "tool", "tool_call_id": "call_mock_1", "content": "-3C, snow"}));
    let v: Value = gw
        .post("/v1/chat/completions", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "mock answer using tool results: -3C, snow"
    );
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
    body["stream"] = json!(true);
    let got = reassemble(&sse_data(gw.post("/v1/chat/completions", &body).await).await);
    assert_eq!(got.text, "mock answer using tool results: -3C, snow");
    assert!(got.calls.is_empty());
    assert_eq!(got.finish_reason.as_deref(), Some("stop"));
}
