//! The protective edge through HTTP: keys, the admin key, rate limits and their headers, model
//! allow-lists, budgets, CORS, context-window limits and the per-model upstream pace. Every
//! refusal checks the status, the OpenAI error shape, and that the upstream was never called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway::*, upstream::*};
use serde_json::Value;
use sluice::config::{hash_key, hex};

const ALICE: &str = "sk-alice-0123456789";
const BOB: &str = "sk-bob-0123456789";
const ADMIN: &str = "sk-admin-0123456789";

/// One upstream model `gpt-test` (and a second, `small`, with an 8k window), a route `long`
/// that truncates, and two keys: alice (2 requests, then refused; any model) and bob (only
/// `small`, a tiny budget).
fn config(up: &MockUpstream, extra: &str) -> String {
    format!(
        r#"[server]
default_route = "default"
{provider}
[models."gpt-test"]
provider = "oa"
input_per_mtok = 1.0
output_per_mtok = 2.0
context_window = 8192
max_output_tokens = 1024
[models."small"]
provider = "oa"
input_per_mtok = 1000.0
output_per_mtok = 1000.0
context_window = 8192
max_output_tokens = 1024
[routes.default]
fallback = ["gpt-test"]
[routes.long]
fallback = ["gpt-test"]
context_overflow = "truncate_middle"
[auth]
enabled = true
admin_key_sha256 = "{admin}"
[[auth.keys]]
name = "alice"
sha256 = "{alice}"
user = "alice"
requests_per_minute = 2
tokens_per_minute = 100000
[[auth.keys]]
name = "bob"
sha256 = "{bob}"
models = ["small"]
daily_budget_usd = 0.000001
{extra}
"#,
        provider = openai_provider("oa", &up.base_url(), 0),
        admin = hex(&hash_key(ADMIN)),
        alice = hex(&hash_key(ALICE)),
        bob = hex(&hash_key(BOB)),
    )
}

async fn post_as(gw: &TestGateway, key: Option<&str>, body: &Value) -> reqwest::Response {
    gw.post_as("/v1/chat/completions", key, body).await
}

/// GETs `/admin/actors` with a bearer key.
async fn admin_actors(gw: &TestGateway, key: &str) -> reqwest::Response {
    client()
        .get(format!("{}/admin/actors", gw.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// GETs `/health` from a browser origin.
async fn health_from(gw: &TestGateway, origin: &str) -> reqwest::Response {
    client()
        .get(format!("{}/health", gw.url))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["type"].is_string(), "{v}");
    assert!(v["error"]["code"].is_string(), "{v}");
    (status, v)
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_and_never_reaches_upstream() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    let (status, v) = error_of(post_as(&gw, None, &chat("gpt-test", "hi")).await).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["code"], "invalid_api_key");
    let (status, _) = error_of(post_as(&gw, Some("sk-wrong"), &chat("gpt-test", "hi")).await).await;
    assert_eq!(status, 401);
    // x-api-key works like a bearer token
    let r = client()
        .post(format!("{}/v1/chat/completions", gw.url))
        .header("x-api-key", "sk-nope")
        .json(&chat("gpt-test", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(up.calls(), 0);
    // health stays open
    let (status, _) = gw.get_json("/health").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn admin_api_needs_the_admin_key() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    let (status, v) = gw.get_json("/admin/actors").await;
    assert_eq!(status, 401, "{v}");
    let r = admin_actors(&gw, ALICE).await;
    assert_eq!(r.status(), 401, "a client key is not an admin key");
    let r = admin_actors(&gw, ADMIN).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn request_limit_sends_headers_on_every_response_and_429_with_retry_after() {
    let up = MockUpstream::start(vec![Step::reply("one"), Step::reply("two")]);
    let gw = TestGateway::start(&config(&up, ""));
    let first = post_as(&gw, Some(ALICE), &chat("gpt-test", "q1")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&first, "x-ratelimit-remaining-requests"), "1");
    assert!(header(&first, "x-ratelimit-reset-requests").ends_with('s'));
    assert_eq!(header(&first, "x-ratelimit-limit-tokens"), "100000");
    let remaining: u64 = header(&first, "x-ratelimit-remaining-tokens")
        .parse()
        .unwrap();
    assert!(remaining < 100_000 && remaining > 99_000, "{remaining}");
    let second = post_as(&gw, Some(ALICE), &chat("gpt-test", "q2")).await;
    assert_eq!(second.status(), 200);
    assert_eq!(header(&second, "x-ratelimit-remaining-requests"), "0");
    let third = post_as(&gw, Some(ALICE), &chat("gpt-test", "q3")).await;
    assert_eq!(third.status(), 429);
    let retry: u64 = header(&third, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(header(&third, "x-ratelimit-remaining-requests"), "0");
    let (_, v) = error_of(third).await;
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(v["error"]["type"], "requests");
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn token_limit_refuses_a_request_larger_than_the_minute() {
    let up = MockUpstream::start(vec![]);
    let extra = r#"
[[auth.keys]]
name = "tiny"
key = "${UPSTREAM_KEY}"
tokens_per_minute = 50
"#;
    let gw = TestGateway::start(&config(&up, extra));
    let long = "many words here ".repeat(40);
    let r = post_as(&gw, Some("sk-test-key"), &chat("gpt-test", &long)).await;
    assert_eq!(header(&r, "x-ratelimit-limit-tokens"), "50");
    let (status, v) = error_of(r).await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "tokens");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 50"),
        "{v}"
    );
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn model_allow_list_is_403_and_budget_is_429() {
    let up = MockUpstream::start(vec![Step::reply("pricey answer")]);
    let gw = TestGateway::start(&config(&up, ""));
    let (status, v) = error_of(post_as(&gw, Some(BOB), &chat("gpt-test", "hi")).await).await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["code"], "model_not_allowed");
    assert_eq!(up.calls(), 0);
    // the first request spends more than the tiny budget; the next is refused
    let ok = post_as(&gw, Some(BOB), &chat("small", "hi")).await;
    assert_eq!(ok.status(), 200);
    let (status, v) = error_of(post_as(&gw, Some(BOB), &chat("small", "again")).await).await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "budget");
    assert_eq!(up.calls(), 1);
}

/// About 50,000 tokens of varied text.
fn long_document() -> String {
    (0..50_000).map(|i| format!("w{} ", i % 1000)).collect()
}

#[tokio::test]
async fn fifty_thousand_tokens_on_an_8k_model_is_context_length_exceeded() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    let r = post_as(&gw, Some(ALICE), &chat("gpt-test", &long_document())).await;
    let (status, v) = error_of(r).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("7168"),
        "the limit (8192 - 1024) is named: {msg}"
    );
    assert!(msg.contains("tokens"), "{msg}");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn a_truncating_route_cuts_the_middle_and_calls_upstream() {
    let up = MockUpstream::start(vec![Step::reply("summary")]);
    let gw = TestGateway::start(&config(&up, ""));
    let doc = format!("BEGIN {} FINISH", long_document());
    let r = post_as(&gw, Some(ALICE), &chat("long", &doc)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sent = up.bodies()[0]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sent.starts_with("BEGIN ") && sent.ends_with(" FINISH"));
    assert!(sent.contains("tokens removed by Sluice"));
    assert!(
        sent.len() < doc.len() / 3,
        "{} of {}",
        sent.len(),
        doc.len()
    );
}

#[tokio::test]
async fn cors_allows_listed_origins_only() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(
        &up,
        "[cors]\nallowed_origins = [\"https://app.example.com\"]\n",
    ));
    let preflight = |origin: &'static str| {
        client()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/chat/completions", gw.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        header(&ok, "access-control-allow-origin"),
        "https://app.example.com"
    );
    assert!(
        header(&ok, "access-control-allow-methods").contains("POST"),
        "{:?}",
        ok.headers()
    );
    let bad = preflight("https://evil.example.com").await.unwrap();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
    let r = health_from(&gw, "https://evil.example.com").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = health_from(&gw, "https://app.example.com").await;
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "https://app.example.com"
    );
}

#[tokio::test]
async fn a_model_at_its_own_pace_is_refused_with_429_not_sent_upstream() {
    let up = MockUpstream::start(vec![Step::reply("only one")]);
    let extra = "";
    let cfg = config(&up, extra).replace(
        "[models.\"gpt-test\"]\nprovider = \"oa\"\n",
        "[models.\"gpt-test\"]\nprovider = \"oa\"\nrequests_per_minute = 1\nqueue_wait_ms = 50\n",
    );
    let gw = TestGateway::start(&cfg);
    let ok = post_as(&gw, Some(ALICE), &chat("gpt-test", "a")).await;
    assert_eq!(ok.status(), 200);
    let r = post_as(&gw, Some(ALICE), &chat("gpt-test", "b")).await;
    let (status, v) = error_of(r).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["type"], "upstream");
    assert_eq!(up.calls(), 1, "the upstream never saw the second request");
    // The actor republishes its counters on a refusal, asynchronously: poll (bounded).
    let mut refused = Value::Null;
    for _ in 0..200 {
        let v: Value = admin_actors(&gw, ADMIN).await.json().await.unwrap();
        refused = v["actors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "gpt-test")
            .map(|a| a["state"]["pace"]["refused_total"].clone())
            .unwrap_or(Value::Null);
        if refused == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(refused, 1, "/admin/actors shows the refusal");
}
