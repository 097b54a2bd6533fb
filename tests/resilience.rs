//! Retries, timeouts, fallback down to the cached answer and 503, circuit breaking, mid-stream
//! failures (both policies), client disconnects, supervision and concurrency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{gateway::*, upstream::*};
use serde_json::{Value, json};

/// Three OpenAI-format models A, B, C on their own upstreams, routed as `chain`.
fn chain_config(ups: [&MockUpstream; 3], retries: u32, extra: &str) -> String {
    let mut cfg = format!("[server]\ndefault_route = \"chain\"\n{extra}\n");
    for (i, up) in ups.iter().enumerate() {
        let p = format!("p{i}");
        cfg += &openai_provider(&p, &up.base_url(), retries);
        cfg += &model(["model-a", "model-b", "model-c"][i], &p);
    }
    cfg + "[routes.chain]\nfallback = [\"model-a\", \"model-b\", \"model-c\"]\n"
}

/// An Anthropic-format model `claude-x` ahead of OpenAI-format `model-b` and `model-c`.
fn anthropic_first_config(an: &MockUpstream, b: &MockUpstream, c: &MockUpstream) -> String {
    let mut cfg = String::from("[server]\ndefault_route = \"chain\"\n");
    cfg += &anthropic_provider("an", &an.base_url(), 0);
    cfg += &model("claude-x", "an");
    cfg += &openai_provider("b", &b.base_url(), 0);
    cfg += &model("model-b", "b");
    cfg += &openai_provider("c", &c.base_url(), 0);
    cfg += &model("model-c", "c");
    cfg + "[routes.chain]\nfallback = [\"claude-x\", \"model-b\", \"model-c\"]\n"
}

fn status(code: u16) -> Step {
    Step::Status {
        status: code,
        retry_after: None,
    }
}

#[tokio::test]
async fn retries_500_then_succeeds_on_the_same_model() {
    let a = MockUpstream::start(vec![
        status(500),
        status(502),
        Step::reply("third time lucky"),
    ]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 3, ""));
    let resp = gw.post("/v1/chat/completions", &chat("chain", "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "model-a");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "third time lucky");
    assert_eq!((a.calls(), b.calls()), (3, 0));
    let actor = gw.actor("model-a").await;
    assert_eq!(actor["state"]["retries"], 2);
    assert_eq!(actor["state"]["circuit"], "closed");
}

#[tokio::test]
async fn connection_refused_is_retried_then_falls_through() {
    // a port that was just free: nothing listens there
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let b = MockUpstream::start(vec![Step::reply("from b")]);
    let c = MockUpstream::start(vec![]);
    let mut cfg = String::from("[server]\ndefault_route = \"chain\"\n");
    cfg += &openai_provider("dead", &dead_url, 2);
    cfg += &model("model-a", "dead");
    cfg += &openai_provider("b", &b.base_url(), 0);
    cfg += &model("model-b", "b");
    cfg += &openai_provider("c", &c.base_url(), 0);
    cfg += &model("model-c", "c");
    cfg += "[routes.chain]\nfallback = [\"model-a\", \"model-b\", \"model-c\"]\n";
    let gw = TestGateway::start(&cfg);
    let resp = gw.post("/v1/chat/completions", &chat("chain", "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "model-b");
    let a = gw.actor("model-a").await;
    assert_eq!(a["state"]["retries"], 2, "{a}");
    assert!(
        a["state"]["last_error"].as_str().unwrap().contains("reach"),
        "{a}"
    );
}

#[tokio::test]
async fn readiness_is_503_when_no_model_can_serve() {
    let cfg = r#"
[server]
default_route = "only"
[providers.p]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "${SLUICE_TEST_KEY_THAT_IS_NOT_SET}"
[models.m]
provider = "p"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.only]
fallback = ["m"]
"#;
    let gw = TestGateway::start(cfg);
    let (status, ready) = gw.get_json("/health/ready").await;
    assert_eq!(status, 503);
    assert_eq!(ready["providers"]["m"]["ready"], false);
    assert!(
        ready["providers"]["m"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("unset")
    );
    assert_eq!(gw.get_json("/health").await.0, 200);
    let resp = gw
        .post("/v1/chat/completions", &chat("only", "anyone?"))
        .await;
    assert_eq!(resp.status(), 503);
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let a = MockUpstream::start(vec![
        Step::Status {
            status: 429,
            retry_after: Some(1),
        },
        Step::reply("after the wait"),
    ]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 2, ""));
    let started = Instant::now();
    let resp = gw
        .post("/v1/chat/completions", &chat("model-a", "hi"))
        .await;
    assert_eq!(resp.status(), 200);
    // backoff alone would wait ~10 ms; Retry-After asked for a full second
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.calls(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_fall_through() {
    // one model rejects the request, the next accepts it
    let a = MockUpstream::start(vec![status(400)]);
    let b = MockUpstream::start(vec![Step::reply("accepted here")]);
    let c = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 3, ""));
    let resp = gw.post("/v1/chat/completions", &chat("chain", "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "model-b");
    assert_eq!((a.calls(), b.calls()), (1, 1), "a 400 is not retried");
    // every model rejects it: the client gets the upstream's 400, not a 503
    let ups = [status(400), status(422), status(400)];
    let [a, b, c] = ups.map(|s| MockUpstream::start(vec![s]));
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 3, ""));
    let resp = gw.post("/v1/chat/completions", &chat("chain", "hi")).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_rejected");
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1));
    assert_eq!(gw.actor("model-a").await["state"]["circuit"], "closed");
}

#[tokio::test]
async fn timeout_falls_through_to_the_next_model() {
    let a = MockUpstream::start(vec![Step::Delay {
        ms: 3_000,
        then: Box::new(Step::reply("too late")),
    }]);
    let b = MockUpstream::start(vec![Step::reply("on time")]);
    let c = MockUpstream::start(vec![]);
    let cfg =
        chain_config([&a, &b, &c], 0, "").replacen("request_secs = 10", "request_secs = 0.5", 1);
    let cfg = cfg.replacen("first_token_secs = 5", "first_token_secs = 0.3", 1);
    let gw = TestGateway::start(&cfg);
    let started = Instant::now();
    let resp = gw.post("/v1/chat/completions", &chat("chain", "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "model-b");
    assert!(started.elapsed() < Duration::from_secs(3));
    // streaming: the first-token timeout applies
    let a2 = MockUpstream::start(vec![Step::Delay {
        ms: 3_000,
        then: Box::new(Step::reply("late")),
    }]);
    let b2 = MockUpstream::start(vec![Step::reply("streamed on time")]);
    let cfg = chain_config([&a2, &b2, &c], 0, "").replacen(
        "first_token_secs = 5",
        "first_token_secs = 0.3",
        1,
    );
    let gw = TestGateway::start(&cfg);
    let mut body = chat("chain", "hi");
    body["stream"] = json!(true);
    let events = sse_data(gw.post("/v1/chat/completions", &body).await).await;
    assert_eq!(joined_content(&events), "streamed on time");
    let (_, actors) = gw.get_json("/admin/actors").await;
    let a_actor = actors["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "model-a")
        .unwrap()
        .clone();
    assert!(
        a_actor["state"]["last_error"]
            .as_str()
            .unwrap()
            .contains("first token"),
        "{a_actor}"
    );
}

#[tokio::test]
async fn whole_chain_down_serves_stale_cache_then_503() {
    let a = MockUpstream::start(vec![
        Step::reply("remembered answer"),
        status(500),
        status(500),
    ]);
    let b = MockUpstream::start(vec![status(503), status(503)]);
    let c = MockUpstream::start(vec![status(500), status(500)]);
    // a zero TTL: every entry is expired at once, so only the fallback of last resort serves it
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 0, "[cache]\nttl_secs = 0\n"));
    let body = chat("chain", "what do you remember?");
    assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-cache"], "stale");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "remembered answer");
    assert_eq!((a.calls(), b.calls(), c.calls()), (2, 1, 1));
    let resp = gw
        .post("/v1/chat/completions", &chat("chain", "never asked before"))
        .await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "service_unavailable");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Service temporarily unavailable")
    );
}

#[tokio::test]
async fn streams_that_fail_before_any_token_get_http_statuses_and_stale_answers() {
    let a = MockUpstream::start(vec![
        Step::reply("kept for later"),
        status(500),
        status(500),
        status(400),
    ]);
    let b = MockUpstream::start(vec![status(503), status(503), status(400)]);
    let c = MockUpstream::start(vec![status(500), status(500), status(400)]);
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 0, "[cache]\nttl_secs = 0\n"));
    let body = streaming("chain", "remember this");
    assert_eq!(
        joined_content(&sse_data(gw.post("/v1/chat/completions", &body).await).await),
        "kept for later"
    );
    // every model down: the expired answer replays as a stream
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.headers()["x-sluice-cache"], "stale");
    let events = sse_data(resp).await;
    assert_eq!(joined_content(&events), "kept for later");
    assert_eq!(events.last().unwrap(), "[DONE]");
    // nothing cached: a 503 with the error body, not a 200 stream
    let resp = gw
        .post("/v1/chat/completions", &streaming("chain", "new question"))
        .await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("x-request-id"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "service_unavailable");
    // every model rejects it: the upstream's 400
    let resp = gw
        .post("/v1/chat/completions", &streaming("chain", "bad one"))
        .await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_rejected");
}

#[tokio::test]
async fn open_circuit_is_skipped_without_a_call() {
    let a = MockUpstream::start(vec![status(500)]);
    let b = MockUpstream::start(vec![]);
    let c = MockUpstream::start(vec![]);
    let extra = "";
    let cfg = chain_config([&a, &b, &c], 0, extra).replacen(
        "[providers.p0.timeouts]",
        "[providers.p0.circuit]\nfailure_threshold = 1\nopen_secs = 60\n[providers.p0.timeouts]",
        1,
    );
    let gw = TestGateway::start(&cfg);
    let first = gw.post("/v1/chat/completions", &chat("chain", "one")).await;
    assert_eq!(first.headers()["x-sluice-model"], "model-b");
    let second = gw.post("/v1/chat/completions", &chat("chain", "two")).await;
    assert_eq!(second.headers()["x-sluice-model"], "model-b");
    assert_eq!(a.calls(), 1, "the open circuit was not called");
    assert_eq!(gw.actor("model-a").await["state"]["circuit"], "open");
    let (_, ready) = gw.get_json("/health/ready").await;
    assert_eq!(ready["providers"]["model-a"]["ready"], false);
    assert_eq!(ready["status"], "ready");
}

fn streaming(model: &str, text: &str) -> Value {
    let mut body = chat(model, text);
    body["stream"] = json!(true);
    body
}

#[tokio::test]
async fn failure_before_first_token_falls_through_invisibly() {
    let an = MockUpstream::start(vec![Step::StreamError {
        text: String::new(),
    }]);
    let b = MockUpstream::start(vec![Step::reply("from b")]);
    let c = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&anthropic_first_config(&an, &b, &c));
    let events = sse_data(
        gw.post("/v1/chat/completions", &streaming("chain", "hi"))
            .await,
    )
    .await;
    assert_eq!(joined_content(&events), "from b");
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert!(!events.iter().any(|e| e.contains("\"error\"")));
    assert!(
        gw.actor("claude-x").await["state"]["last_error"]
            .as_str()
            .unwrap()
            .contains("overloaded_error")
    );
}

#[tokio::test]
async fn cut_mid_stream_is_continued_by_the_next_model() {
    let a = MockUpstream::start(vec![Step::CutAfter {
        text: "The answer begins".into(),
    }]);
    let b = MockUpstream::start(vec![Step::reply("and ends here.")]);
    let c = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&chain_config(
        [&a, &b, &c],
        0,
        "mid_stream_failure = \"continue\"",
    ));
    let mut body = streaming("chain", "tell me");
    body["stream_options"] = json!({"include_usage": true});
    let events = sse_data(gw.post("/v1/chat/completions", &body).await).await;
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert_eq!(joined_content(&events), "The answer beginsand ends here.");
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["sluice"]["continued_from"], "model-a");
    assert_eq!(last["sluice"]["model"], "model-b");
    // usage covers both models: A's part estimated, B's reported
    assert!(last["usage"]["completion_tokens"].as_u64().unwrap() >= 3 + 3);
    assert_eq!(last["sluice"]["estimated_usage"], true);
    let sent = &b.bodies()[0]["messages"];
    let msgs = sent.as_array().unwrap();
    assert_eq!(msgs[msgs.len() - 2]["role"], "assistant");
    assert_eq!(msgs[msgs.len() - 2]["content"], "The answer begins");
}

#[tokio::test]
async fn anthropic_stream_cut_is_continued_by_an_openai_model() {
    let an = MockUpstream::start(vec![Step::CutAfter {
        text: "Half of".into(),
    }]);
    let b = MockUpstream::start(vec![Step::reply("the answer.")]);
    let c = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&anthropic_first_config(&an, &b, &c));
    let events = sse_data(
        gw.post("/v1/chat/completions", &streaming("chain", "go on"))
            .await,
    )
    .await;
    assert_eq!(joined_content(&events), "Half ofthe answer.");
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["sluice"]["continued_from"], "claude-x");
    assert_eq!(events.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn cut_mid_stream_ends_with_error_event_when_configured() {
    let a = MockUpstream::start(vec![Step::CutAfter {
        text: "partial words".into(),
    }]);
    let b = MockUpstream::start(vec![]);
    let c = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&chain_config(
        [&a, &b, &c],
        0,
        "mid_stream_failure = \"error\"",
    ));
    let events = sse_data(
        gw.post("/v1/chat/completions", &streaming("chain", "tell me"))
            .await,
    )
    .await;
    assert_eq!(joined_content(&events), "partial words");
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted");
    assert!(!events.contains(&"[DONE]".to_string()));
    assert_eq!(b.calls(), 0);
}

#[tokio::test]
async fn keep_alive_comments_flow_while_the_first_token_is_slow() {
    let a = MockUpstream::start(vec![Step::Delay {
        ms: 3_500,
        then: Box::new(Step::reply("worth the wait")),
    }]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let cfg = chain_config([&a, &b, &c], 0, "keep_alive_secs = 1").replacen(
        "first_token_secs = 5",
        "first_token_secs = 10",
        1,
    );
    let gw = TestGateway::start(&cfg);
    let resp = gw
        .post("/v1/chat/completions", &streaming("model-a", "slow"))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let first_data = text.find("data: ").unwrap();
    assert!(
        text[..first_data].contains(": keep-alive"),
        "no keep-alive comment before the first token: {text}"
    );
    let events = parse_sse(&text);
    assert_eq!(joined_content(&events), "worth the wait");
    assert_eq!(events.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn silent_stream_times_out_and_is_continued() {
    let a = MockUpstream::start(vec![Step::Hang {
        text: "Silence after".into(),
    }]);
    let b = MockUpstream::start(vec![Step::reply("this part.")]);
    let c = MockUpstream::start(vec![]);
    let cfg = chain_config([&a, &b, &c], 0, "")
        .replacen("first_token_secs = 5", "first_token_secs = 0.3", 1)
        .replacen("request_secs = 10", "request_secs = 0.5", 1);
    let gw = TestGateway::start(&cfg);
    let events = sse_data(
        gw.post("/v1/chat/completions", &streaming("chain", "go"))
            .await,
    )
    .await;
    assert_eq!(joined_content(&events), "Silencethis part.");
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert!(
        a.wait_client_disconnect(Duration::from_secs(5)).await,
        "the silent upstream was not dropped"
    );
    let last_error = gw.actor("model-a").await["state"]["last_error"].clone();
    assert!(
        last_error.as_str().unwrap().contains("next chunk"),
        "{last_error}"
    );
}

#[tokio::test]
async fn client_disconnect_cancels_upstream_and_records_usage() {
    // Ends with a comma: a word at the very end of a stream could still grow (into an e-mail
    // address, a key), so the output guardrail holds it back until a character settles it.
    let a = MockUpstream::start(vec![Step::Hang {
        text: "first,".into(),
    }]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 0, ""));
    let mut resp = gw
        .post("/v1/chat/completions", &streaming("model-a", "hang on"))
        .await;
    let mut seen = String::new();
    while !seen.contains("first,") {
        let chunk = resp.chunk().await.unwrap().expect("stream ended early");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(resp);
    assert!(
        a.wait_client_disconnect(Duration::from_secs(10)).await,
        "the upstream never saw the connection close"
    );
    let (_, costs) = gw.get_json("/v1/costs").await;
    assert_eq!(costs["total"]["requests"], 1);
    assert!(
        costs["total"]["output_tokens"].as_u64().unwrap() >= 1,
        "{costs}"
    );
    let actor = gw.actor("model-a").await;
    assert_eq!(actor["in_flight"], 0);
    assert_eq!(
        actor["state"]["consecutive_failures"], 0,
        "a disconnect is not a provider failure"
    );
}

#[tokio::test]
async fn non_streaming_disconnect_cancels_upstream_and_leaves_a_record() {
    let a = MockUpstream::start(vec![Step::Hang {
        text: "never".into(),
    }]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let gw = TestGateway::start(&chain_config([&a, &b, &c], 0, ""));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/v1/chat/completions", gw.url))
        .json(&chat("model-a", "wait for me"))
        .send()
        .await;
    assert!(sent.is_err(), "the upstream never answers");
    assert!(
        a.wait_client_disconnect(Duration::from_secs(10)).await,
        "the upstream call was not cancelled"
    );
    let (_, eval) = gw.get_json("/admin/eval").await;
    let recent = eval["recent"].as_array().unwrap();
    assert!(
        recent.iter().any(|r| r["error"]
            .as_str()
            .is_some_and(|e| e.contains("disconnected"))),
        "{eval}"
    );
    assert_eq!(gw.actor("model-a").await["in_flight"], 0);
}

/// A mock-provider model that panics on every call, ahead of a healthy one.
fn crash_config() -> String {
    r#"
[server]
default_route = "chain"
[providers.crashy]
kind = "mock"
crash_rate = 1.0
seed = 7
[providers.steady]
kind = "mock"
seed = 7
[models."crashing"]
provider = "crashy"
input_per_mtok = 1.0
output_per_mtok = 1.0
[models."healthy"]
provider = "steady"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.chain]
fallback = ["crashing", "healthy"]
"#
    .to_string()
}

/// Polls `/admin/actors` (bounded) until `name` shows `restarts`; actors restart asynchronously.
async fn await_restarts(gw: &TestGateway, name: &str, restarts: u64) -> Value {
    for _ in 0..200 {
        let a = gw.actor(name).await;
        if a["restarts"].as_u64() >= Some(restarts) {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached {restarts} restarts");
}

#[tokio::test]
async fn panicking_provider_is_restarted_and_request_falls_through() {
    let gw = TestGateway::start(&crash_config());
    let resp = gw
        .post("/v1/chat/completions", &chat("chain", "hello"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "healthy");
    let actor = await_restarts(&gw, "crashing", 1).await;
    assert!(
        actor["last_restart_reason"]
            .as_str()
            .unwrap()
            .contains("panicked"),
        "{actor}"
    );
    assert_eq!(actor["status"], "running");
    assert_eq!(actor["state"]["generation"], 1);
    // the restarted actor takes calls again (and crashes again, being a chaos mock)
    let resp = gw
        .post("/v1/chat/completions", &chat("chain", "again"))
        .await;
    assert_eq!(resp.status(), 200);
    await_restarts(&gw, "crashing", 2).await;
}

#[tokio::test]
async fn admin_restart_gives_a_fresh_actor_that_serves() {
    let gw = TestGateway::start(&crash_config());
    let resp = client()
        .post(format!("{}/admin/actors/healthy/restart", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let actor = await_restarts(&gw, "healthy", 1).await;
    assert!(
        actor["last_restart_reason"]
            .as_str()
            .unwrap()
            .contains("admin")
    );
    assert_eq!(actor["state"]["generation"], 1);
    // the restarted actor (generation 1, a fresh pool) answers
    let resp = gw
        .post("/v1/chat/completions", &chat("healthy", "still there?"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-model"], "healthy");
    let actor = gw.actor("healthy").await;
    assert_eq!(
        (
            actor["state"]["generation"].as_u64(),
            actor["status"].as_str()
        ),
        (Some(1), Some("running"))
    );
    assert_eq!(actor["in_flight"], 0);
    let resp = client()
        .post(format!("{}/admin/actors/nope/restart", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn hundred_concurrent_clients_are_all_answered() {
    let up = MockUpstream::start(vec![]);
    let (b, c) = (MockUpstream::start(vec![]), MockUpstream::start(vec![]));
    let gw = TestGateway::start(&chain_config(
        [&up, &b, &c],
        0,
        "[cache]\nenabled = false\n",
    ));
    let client = client();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let url = format!("{}/v1/chat/completions", gw.url);
        let client = client.clone();
        let mut body = chat("model-a", &format!("question {i}"));
        if i % 2 == 0 {
            body["stream"] = json!(true);
        }
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 200);
        assert!(
            text.contains(DEFAULT_TEXT.split(' ').next().unwrap()),
            "{text}"
        );
    }
    assert_eq!(up.calls(), 100);
    assert_eq!(gw.actor("model-a").await["in_flight"], 0);
}
