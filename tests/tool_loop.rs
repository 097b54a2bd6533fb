//! The gateway's own tools, run in a loop with the model: validated arguments, results fed
//! back, self-correction after bad arguments, `tools_used`, streaming, and the client's own
//! tools passed through untouched. The built-in mock provider plays the model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::gateway::*;
use serde_json::{Value, json};

const MOCK_CONFIG: &str = r#"
[providers.mock]
kind = "mock"
seed = 5
[models."mock-model"]
provider = "mock"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.default]
fallback = ["mock-model"]
[tools]
max_steps = 3
timeout_ms = 2000
"#;

/// The JSON answer of a chat completion.
async fn answer(gw: &TestGateway, body: &Value) -> Value {
    gw.post("/v1/chat/completions", body)
        .await
        .json()
        .await
        .unwrap()
}

fn ask(text: &str, tools: Value) -> Value {
    let mut body = chat("mock-model", text);
    body["sluice_tools"] = tools;
    body
}

#[tokio::test]
async fn the_gateway_runs_its_calculator_and_feeds_the_result_back() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let body = ask(
        r#"Use the calculator with {"expression": "2 * (3 + 4) ^ 2"} please"#,
        json!(["calculator"]),
    );
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("\"value\":98"), "{content}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["tools_used"][0]["name"], "calculator");
    assert_eq!(v["tools_used"][0]["ok"], true);
    // Usage covers both model calls.
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 20, "{v}");
}

#[tokio::test]
async fn bad_arguments_go_back_to_the_model_as_an_error() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let body = ask(
        r#"calculator {"expr": "1+1"}"#,
        json!(["calculator", "current_time"]),
    );
    let v = answer(&gw, &body).await;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.contains("error") && content.contains("expression"),
        "{content}"
    );
    assert_eq!(v["tools_used"][0]["ok"], false);
    // An expression the parser refuses is an error too, never an evaluation of code.
    let body = ask(
        r#"calculator {"expression": "__import__('os').system('ls')"}"#,
        json!("all"),
    );
    let v = answer(&gw, &body).await;
    assert_eq!(v["tools_used"][0]["ok"], false, "{v}");
}

#[tokio::test]
async fn current_time_is_time_zone_aware() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let body = ask(
        r#"current_time {"timezone": "Asia/Kolkata"}"#,
        json!(["current_time"]),
    );
    let v = answer(&gw, &body).await;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("+05:30"), "{content}");
}

#[tokio::test]
async fn a_streaming_client_gets_the_final_answer_as_chunks() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let mut body = ask(
        r#"calculator {"expression": "10 / 4"}"#,
        json!(["calculator"]),
    );
    body["stream"] = json!(true);
    let events = sse_data(gw.post("/v1/chat/completions", &body).await).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text = joined_content(&events);
    assert!(text.contains("2.5"), "{text}");
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(
        last["sluice"]["tools_used"][0]["name"], "calculator",
        "{last}"
    );
}

#[tokio::test]
async fn the_clients_own_tools_pass_through_untouched() {
    let gw = TestGateway::start(MOCK_CONFIG);
    let mut body = ask(r#"get_weather {"city": "Oslo"}"#, json!(["calculator"]));
    body["tools"] = json!([{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let v = answer(&gw, &body).await;
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert!(v.get("tools_used").is_none(), "{v}");
}

#[tokio::test]
async fn unknown_gateway_tools_are_refused() {
    let gw = TestGateway::start(MOCK_CONFIG);
    for tools in [json!(["rm_rf"]), json!(42), json!([1])] {
        let r = gw
            .post("/v1/chat/completions", &ask("hi", tools.clone()))
            .await;
        assert_eq!(r.status(), 400, "{tools}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["param"], "sluice_tools");
    }
}
