//! Cost accounting and budgets through the real server: provider-reported usage with cached
//! tokens priced at their own rates, exact decimal sums per dimension and date range, the
//! reserve-then-settle cap under 50 concurrent requests, and the seed's cost alerting driven
//! through downgrade, hard cap and emergency mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;

use common::{
    gateway::{
        TestGateway, anthropic_provider, chat, client, joined_content, openai_provider, sse_data,
    },
    hook::Hook,
    upstream::{Gate, MockUpstream, Step},
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn exact(v: &Value) -> Decimal {
    d(v.as_str()
        .unwrap_or_else(|| panic!("not an exact amount: {v}")))
}

async fn costs(gw: &TestGateway, query: &str) -> Value {
    let (status, v) = gw.get_json(&format!("/v1/costs{query}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn group<'a>(v: &'a Value, dim: &str, key: &str) -> &'a Value {
    v[dim]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {dim}: {v}"))
}

#[tokio::test]
async fn cached_input_tokens_are_priced_once_at_their_own_rates_and_summed_exactly() {
    let oa = MockUpstream::start(vec![]);
    let an = MockUpstream::start(vec![]);
    oa.prompt_cache(1000, 0);
    an.prompt_cache(300, 600);
    let cfg = format!(
        r#"{}{}
[models.gpt]
provider = "oa"
input_per_mtok = 2.5
cached_input_per_mtok = 1.25
output_per_mtok = 10.0
[models.claude]
provider = "an"
input_per_mtok = 3.0
cached_input_per_mtok = 0.3
cache_write_per_mtok = 3.75
output_per_mtok = 15.0
[routes.default]
fallback = ["gpt"]
[cache]
enabled = false
"#,
        openai_provider("oa", &oa.base_url(), 0),
        anthropic_provider("an", &an.base_url(), 0)
    );
    let gw = TestGateway::start(&cfg);
    let mut body = chat("gpt", "what does the ledger hold");
    body["user"] = json!("ann");
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    let header_cost = d(r.headers()["x-sluice-cost-usd"].to_str().unwrap());
    let v: Value = r.json().await.unwrap();
    let usage = &v["usage"];
    let prompt = usage["prompt_tokens"].as_u64().unwrap();
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 1000);
    let out = usage["completion_tokens"].as_u64().unwrap();
    // (prompt − 1000) at $2.50, 1000 cached at $1.25, output at $10, per million.
    let expected_gpt = (Decimal::from(prompt - 1000) * d("2.5")
        + Decimal::from(1000) * d("1.25")
        + Decimal::from(out) * d("10"))
        / Decimal::from(1_000_000);
    assert_eq!(header_cost, expected_gpt.round_dp(8));

    // Anthropic, streamed: usage from message_start + message_delta.
    let mut s = chat("claude", "and the cache writes");
    s["user"] = json!("bob");
    s["stream"] = json!(true);
    let events = sse_data(gw.post("/v1/chat/completions", &s).await).await;
    assert!(!joined_content(&events).is_empty());

    let all = costs(&gw, "").await;
    let claude = group(&all, "by_model", "claude");
    assert_eq!(claude["cached_input_tokens"], 300);
    assert_eq!(claude["cache_write_tokens"], 600);
    assert_eq!(
        claude["estimated_requests"], 0,
        "usage came from the provider"
    );
    let c_in = claude["input_tokens"].as_i64().unwrap();
    let c_out = claude["output_tokens"].as_i64().unwrap();
    let expected_claude = (Decimal::from(c_in - 900) * d("3")
        + Decimal::from(300) * d("0.3")
        + Decimal::from(600) * d("3.75")
        + Decimal::from(c_out) * d("15"))
        / Decimal::from(1_000_000);
    assert_eq!(exact(&claude["cost_usd_exact"]), expected_claude);
    let gpt = group(&all, "by_model", "gpt");
    assert_eq!(exact(&gpt["cost_usd_exact"]), expected_gpt);
    assert_eq!(
        exact(&all["total"]["cost_usd_exact"]),
        expected_gpt + expected_claude,
        "the total is the exact sum"
    );
    assert_eq!(all["total"]["requests"], 2);
    assert_eq!(group(&all, "by_user", "bob")["requests"], 1);
    assert_eq!(group(&all, "by_route", "claude")["requests"], 1);
    assert_eq!(group(&all, "by_template", "none@none")["requests"], 2);
    assert_eq!(all["by_day"].as_array().unwrap().len(), 1);

    // One user, and date ranges.
    let (status, ann) = gw.get_json("/v1/costs/users/ann").await;
    assert_eq!(status, 200);
    assert_eq!(ann["total"]["requests"], 1);
    assert_eq!(exact(&ann["total"]["cost_usd_exact"]), expected_gpt);
    let past = costs(&gw, "?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(past["total"]["requests"], 0);
    for bad in [
        "?from=2026-13-01",
        "?from=2026-02-01&to=2026-01-01",
        "?from=2020-01-01&to=2026-01-01",
        "?since=x",
    ] {
        let (status, e) = gw.get_json(&format!("/v1/costs{bad}")).await;
        assert_eq!(status, 400, "{bad}: {e}");
        assert!(e["error"]["message"].is_string(), "{e}");
    }
}

#[tokio::test]
async fn fifty_concurrent_requests_cannot_overshoot_a_hard_cap() {
    // Output at $10,000 per million and max_tokens 100: each call may cost at most $1.00, so
    // a $7.00 cap admits exactly seven at once, whatever the timing.
    let gate = Gate::new();
    let held = (0..7)
        .map(|_| Step::Gated {
            gate: gate.clone(),
            then: Box::new(Step::reply("five words in this answer")),
        })
        .collect();
    let oa = MockUpstream::start(held);
    let cfg = format!(
        r#"{}
[models.dear]
provider = "oa"
input_per_mtok = 0.0
output_per_mtok = 10000.0
[routes.default]
fallback = ["dear"]
[cache]
enabled = false
[budgets]
user_daily_usd = 5.0
user_daily_hard_usd = 7.0
global_daily_usd = 1000.0
"#,
        openai_provider("oa", &oa.base_url(), 0)
    );
    let gw = std::sync::Arc::new(TestGateway::start(&cfg));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..50 {
        let (gw, tx) = (gw.clone(), tx.clone());
        tokio::spawn(async move {
            let mut body = chat("dear", &format!("question {i}"));
            body["user"] = json!("spender");
            body["max_tokens"] = json!(100);
            let r = gw.post("/v1/chat/completions", &body).await;
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            tx.send((status, v)).unwrap();
        });
    }
    drop(tx);
    // The refusals come back while the admitted calls wait at the upstream.
    for _ in 0..43 {
        let (status, v) = rx.recv().await.unwrap();
        assert_eq!(status, 429, "{v}");
        assert_eq!(v["error"]["type"], "budget");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("$7"),
            "{v}"
        );
    }
    gate.wait_arrivals(7).await;
    let (_, budgets) = gw.get_json("/admin/budgets").await;
    assert_eq!(d(&budgets["reserved_usd"].to_string()), d("7"));
    gate.open();
    let mut ok = 0;
    while let Some((status, _)) = rx.recv().await {
        assert_eq!(status, 200);
        ok += 1;
    }
    assert_eq!(ok, 7);
    assert_eq!(oa.calls(), 7);
    // Settled at the real cost: 5 output tokens at $10,000 per million, seven times.
    let (_, budgets) = gw.get_json("/admin/budgets").await;
    assert_eq!(d(&budgets["spent_usd"].to_string()), d("0.35"));
    assert_eq!(d(&budgets["reserved_usd"].to_string()), Decimal::ZERO);
    let (_, alerts) = gw.get_json("/admin/alerts").await;
    let blocked: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "user_blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "one alert per user and day: {alerts}");
}

async fn ask(gw: &TestGateway, user: &str, text: &str) -> reqwest::Response {
    let mut body = chat("chat", text);
    body["user"] = json!(user);
    body["max_tokens"] = json!(10);
    gw.post("/v1/chat/completions", &body).await
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_traffic_spike_walks_through_downgrade_hard_cap_and_emergency_mode() {
    let up = MockUpstream::start(vec![]);
    let hook = Hook::start();
    // big: 5 output tokens cost $0.01, at most $0.02 reserved (max_tokens 10).
    // small: $0.001 per answer, $0.002 reserved.
    let cfg = format!(
        r#"{}
[models.big]
provider = "up"
input_per_mtok = 0.0
output_per_mtok = 2000.0
[models.small]
provider = "up"
input_per_mtok = 0.0
output_per_mtok = 200.0
[routes.chat]
fallback = ["big", "small"]
[routes.default]
fallback = ["big", "small"]
[budgets]
user_daily_usd = 0.02
user_daily_hard_usd = 0.03
global_daily_usd = 0.06
emergency_max_input_tokens = 50
alert_webhook = "{}"
"#,
        openai_provider("up", &up.base_url(), 0),
        hook.url
    );
    let gw = TestGateway::start(&cfg);

    // Stage 1: under budget, the route's first model.
    for q in ["first question", "second question"] {
        let r = ask(&gw, "ann", q).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-sluice-model"), Some("big"));
        assert_eq!(header(&r, "x-sluice-budget"), None);
    }
    // Stage 2: past $0.02 today, ann is downgraded to the cheapest model, and told so.
    let r = ask(&gw, "ann", "third question").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-model"), Some("small"));
    assert_eq!(header(&r, "x-sluice-budget"), Some("downgraded"));
    assert_eq!(header(&r, "x-sluice-downgraded-from"), Some("big"));
    hook.wait_for("user_downgraded", |b| {
        b["kind"] == "user_downgraded" && b["user"] == "ann"
    })
    .await;
    // Stage 3: at the hard cap, refused with 429 and a clear message.
    let mut refused = None;
    for i in 0..20 {
        let r = ask(&gw, "ann", &format!("more question {i}")).await;
        if r.status() == 429 {
            refused = Some(r.json::<Value>().await.unwrap());
            break;
        }
        assert_eq!(header(&r, "x-sluice-model"), Some("small"));
    }
    let refused = refused.expect("the hard cap never refused");
    assert_eq!(refused["error"]["type"], "budget");
    let msg = refused["error"]["message"].as_str().unwrap();
    assert!(msg.contains("ann") && msg.contains("$0.03"), "{msg}");
    let (_, b) = gw.get_json("/admin/budgets").await;
    let ann = b["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "ann")
        .unwrap();
    assert!(d(&ann["spent_usd"].to_string()) <= d("0.03"), "{b}");

    // Stage 4: other users push the gateway past $0.06: emergency mode.
    for user in ["bob", "cat"] {
        for q in ["bob and cat ask", "a second time"] {
            assert_eq!(ask(&gw, user, &format!("{q} {user}")).await.status(), 200);
        }
    }
    hook.wait_for("emergency_on", |b| b["kind"] == "emergency_on")
        .await;
    // A repeated question is answered from cache, at no cost.
    let r = ask(&gw, "zed", "first question").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sluice-cache"), Some("hit"));
    assert_eq!(header(&r, "x-sluice-budget"), Some("emergency"));
    // A new one goes to the cheapest model, whoever asks.
    let r = ask(&gw, "zed", "a brand new question").await;
    assert_eq!(header(&r, "x-sluice-model"), Some("small"));
    assert_eq!(header(&r, "x-sluice-budget"), Some("emergency"));
    // Long inputs are refused.
    let long = "word ".repeat(80);
    let r = ask(&gw, "zed", &long).await;
    assert_eq!(r.status(), 429);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("emergency"),
        "{e}"
    );

    let (_, alerts) = gw.get_json("/admin/alerts").await;
    assert_eq!(alerts["emergency"], true);
    let kinds: Vec<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    for k in ["user_downgraded", "user_blocked", "emergency_on"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }

    // An admin lifts it: the route's first model again for users under budget.
    let r = client()
        .post(format!("{}/admin/emergency", gw.url))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = ask(&gw, "zed", "after the lift").await;
    assert_eq!(header(&r, "x-sluice-model"), Some("big"));
    hook.wait_for("emergency_off", |b| b["kind"] == "emergency_off")
        .await;
    // Bad switch bodies get a 400.
    let r = client()
        .post(format!("{}/admin/emergency", gw.url))
        .json(&json!({"active": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn the_projection_uses_the_measured_averages() {
    let up = MockUpstream::start(vec![]);
    let cfg = format!(
        r#"{}
[models.m]
provider = "up"
input_per_mtok = 5.0
output_per_mtok = 15.0
[routes.default]
fallback = ["m"]
"#,
        openai_provider("up", &up.base_url(), 0)
    );
    let gw = TestGateway::start(&cfg);
    let (status, e) = gw
        .get_json("/admin/cost/projection?dau=10000&queries_per_user=5")
        .await;
    assert_eq!(status, 422, "nothing measured yet: {e}");
    // Two questions, each asked twice: half the answers come from cache.
    for q in ["how do budgets work", "what is emergency mode"] {
        for _ in 0..2 {
            assert_eq!(
                gw.post("/v1/chat/completions", &chat("m", q))
                    .await
                    .status(),
                200
            );
        }
    }
    let all = costs(&gw, "").await;
    let m = group(&all, "by_model", "m");
    let (n, input, output) = (
        m["requests"].as_i64().unwrap(),
        m["input_tokens"].as_i64().unwrap(),
        m["output_tokens"].as_i64().unwrap(),
    );
    let (status, p) = gw
        .get_json("/admin/cost/projection?dau=10000&queries_per_user=5")
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["measured"]["cache_hit_rate_pct"], 50.0);
    let per_query = (Decimal::from(input) / Decimal::from(n) * d("5")
        + Decimal::from(output) / Decimal::from(n) * d("15"))
        / Decimal::from(1_000_000);
    let queries = Decimal::from(10_000 * 5 * 30);
    let without = (queries * per_query).round_dp(2);
    let with = (queries * d("0.5") * per_query).round_dp(2);
    assert_eq!(d(&p["monthly"]["without_cache_usd"].to_string()), without);
    assert_eq!(d(&p["monthly"]["with_cache_usd"].to_string()), with);
    let (status, _) = gw
        .get_json("/admin/cost/projection?dau=-1&queries_per_user=5")
        .await;
    assert_eq!(status, 400);
    let (status, _) = gw.get_json("/admin/cost/projection?dau=10").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_reused_request_id_still_gets_every_request_its_own_row() {
    let up = MockUpstream::start(vec![]);
    let cfg = format!(
        "{}\n[models.m]\nprovider = \"up\"\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n[routes.default]\nfallback = [\"m\"]\n[cache]\nenabled = false\n",
        openai_provider("up", &up.base_url(), 0)
    );
    let gw = TestGateway::start(&cfg);
    for q in ["one", "two", "three"] {
        let r = client()
            .post(format!("{}/v1/chat/completions", gw.url))
            .header("x-request-id", "client-reuses-this-id")
            .json(&chat("m", q))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-request-id"], "client-reuses-this-id");
    }
    let all = costs(&gw, "").await;
    assert_eq!(all["total"]["requests"], 3, "{all}");
}
