//! The prompt router over HTTP: versions created at run time and never overwritten,
//! activation and rollback that survive a restart, experiments with rollout, shadow runs and
//! automatic rollback, per-version metrics and user feedback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway::*, upstream::*};
use serde_json::{Value, json};

fn base(good: &MockUpstream, extra: &str) -> String {
    format!(
        "[server]\ndefault_route = \"default\"\n{}{}[routes.default]\nfallback = [\"gpt-4o\"]\n{extra}",
        openai_provider("oa", &good.base_url(), 0),
        model("gpt-4o", "oa"),
    )
}

async fn ask(gw: &TestGateway, user: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"query": "What is Rust?", "user_id": user});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = gw.post("/v1/chat", &body).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn versions_are_created_activated_rolled_back_and_kept_across_restarts() {
    let up = MockUpstream::start(vec![]);
    let data = temp_dir("prompts");
    let toml = base(
        &up,
        &format!("[store]\ndata_dir = {:?}\n", data.display().to_string()),
    );
    {
        let gw = TestGateway::start(&toml);
        let new = json!({"version": "v3", "text": "Answer in one line: {{ query }}", "max_output_tokens": 64});
        let r = gw.post("/admin/prompts/general_chat/versions", &new).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["model"].as_str(), v["origin"].as_str()),
            (Some("gpt-4o"), Some("admin"))
        );
        // Never overwritten.
        let r = gw.post("/admin/prompts/general_chat/versions", &new).await;
        assert_eq!(r.status(), 409);
        // A version that does not compile, or names no model, is refused.
        let bad = json!({"version": "v4", "text": "{% if %}"});
        assert_eq!(
            gw.post("/admin/prompts/general_chat/versions", &bad)
                .await
                .status(),
            400
        );
        let orphan = json!({"version": "v1", "text": "x {{ query }}"});
        assert_eq!(
            gw.post("/admin/prompts/brand_new/versions", &orphan)
                .await
                .status(),
            400
        );
        let r = gw
            .post(
                "/admin/prompts/general_chat/activate",
                &json!({"version": "v3"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let (status, v) = ask(&gw, "u1", json!({})).await;
        assert_eq!((status, v["version"].as_str()), (200, Some("v3")));
        let sent = up.bodies().last().cloned().unwrap();
        assert!(
            sent["messages"][0]["content"]
                .as_str()
                .unwrap()
                .starts_with("Answer in one line: What is Rust?")
        );
        assert_eq!(sent["max_tokens"], 64);
    }
    // A restart keeps the version and the decision.
    let gw = TestGateway::start(&toml);
    let (_, v) = ask(&gw, "u1", json!({})).await;
    assert_eq!(v["version"], "v3");
    let r = gw
        .post("/admin/prompts/general_chat/rollback", &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let (_, v) = ask(&gw, "u1", json!({})).await;
    assert_eq!(v["version"], "v1");
    assert_eq!(
        gw.post("/admin/prompts/general_chat/rollback", &json!({}))
            .await
            .status(),
        409
    );
    let (_, list) = gw.get_json("/admin/prompts").await;
    let general = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["template"] == "general_chat")
        .unwrap();
    assert_eq!(general["versions"].as_array().unwrap().len(), 3);
    // Errors of the template API name what is wrong.
    let (status, v) = ask(
        &gw,
        "u1",
        json!({"template": "rag_answer", "version": "v1", "variables": {}}),
    )
    .await;
    assert_eq!(
        status, 200,
        "rag_answer gets its context from retrieval: {v}"
    );
    let (status, v) = ask(&gw, "u1", json!({"template": "code_review"})).await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("`code`"),
        "{v}"
    );
    let (status, _) = ask(&gw, "u1", json!({"template": "nope"})).await;
    assert_eq!(status, 400);
    drop(gw);
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn a_failing_variant_is_rolled_back_automatically() {
    let good = MockUpstream::start(vec![]);
    let bad = MockUpstream::start(
        (0..400)
            .map(|_| Step::Status {
                status: 500,
                retry_after: None,
            })
            .collect(),
    );
    let extra = format!(
        "{}{}[routes.broken]\nfallback = [\"broken-model\"]\n\
         [[prompts]]\ntemplate = \"general_chat\"\nversion = \"v9\"\ntext = \"Q: {{{{ query }}}}\"\nmodel = \"broken\"\n\
         [[experiments]]\nname = \"gc-v9\"\ntemplate = \"general_chat\"\ncontrol = \"v1\"\nvariant = \"v9\"\n\
         rollout_pct = 50\nrollback_min_requests = 20\n",
        openai_provider("bad", &bad.base_url(), 0),
        model("broken-model", "bad"),
    );
    let gw = TestGateway::start(&base(&good, &extra));
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..120 {
        let (status, v) = ask(&gw, &format!("user-{i}"), json!({})).await;
        let version = if status == 200 {
            v["version"].as_str().unwrap().to_string()
        } else {
            "failed".to_string()
        };
        *seen.entry(version).or_insert(0) += 1;
    }
    let (_, e) = gw.get_json("/admin/experiments").await;
    let exp = &e["experiments"][0];
    assert_eq!(exp["status"]["state"], "rolled_back", "{e}");
    let reason = exp["status"]["reason"].as_str().unwrap();
    assert!(reason.contains("v9") && reason.contains("2x"), "{reason}");
    // Once rolled back, every user gets the control, and they keep succeeding.
    assert!(seen["v1"] >= 40, "{seen:?}");
    for i in 0..20 {
        let (status, v) = ask(&gw, &format!("user-{i}"), json!({})).await;
        assert_eq!((status, v["version"].as_str()), (200, Some("v1")));
    }
    // A rollout restarts it; an admin rollback ends it at once.
    let r = gw
        .post(
            "/admin/experiments/gc-v9/rollout",
            &json!({"rollout_pct": 100}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (status, _) = ask(&gw, "anyone", json!({})).await;
    assert_eq!(status, 503, "everyone is on the broken variant");
    let r = gw
        .post("/admin/experiments/gc-v9/rollback", &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let (status, v) = ask(&gw, "anyone", json!({})).await;
    assert_eq!((status, v["version"].as_str()), (200, Some("v1")));
}

#[tokio::test]
async fn users_keep_their_arm_and_shadow_runs_stay_unseen() {
    let up = MockUpstream::start(vec![]);
    let extra = "[[experiments]]\nname = \"gc\"\ntemplate = \"general_chat\"\ncontrol = \"v1\"\nvariant = \"v2\"\n\
                 rollout_pct = 0\nshadow_pct = 100\n";
    let gw = TestGateway::start(&base(&up, extra));
    for i in 0..5 {
        let q = json!({"query": format!("Question number {i}?")});
        let (status, v) = ask(&gw, &format!("u{i}"), q).await;
        assert_eq!((status, v["version"].as_str()), (200, Some("v1")));
        assert_eq!(v["experiment"], "gc");
    }
    // Each request also ran v2 in the background: logged and evaluated apart.
    let mut v2 = 0;
    for _ in 0..2000 {
        let (_, m) = gw.get_json("/admin/prompts/general_chat/metrics").await;
        v2 = m["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == "v2")
            .map_or(0, |v| v["requests"].as_u64().unwrap());
        if v2 == 5 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(v2, 5);
    assert_eq!(up.calls(), 10);
    let (_, costs) = gw.get_json("/v1/costs").await;
    assert!(costs.to_string().contains("\"shadow\""), "{costs}");
    // Rolling out to everyone: the same user gets the same arm on every request.
    gw.post("/admin/experiments/gc/rollout", &json!({"rollout_pct": 25}))
        .await;
    for i in 0..20 {
        let user = format!("stable-{i}");
        let (_, a) = ask(&gw, &user, json!({})).await;
        let (_, b) = ask(&gw, &user, json!({})).await;
        assert_eq!(a["version"], b["version"]);
    }
}

#[tokio::test]
async fn metrics_and_feedback_per_version() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&base(&up, ""));
    let (_, a) = ask(&gw, "u1", json!({})).await;
    let (_, b) = ask(&gw, "u2", json!({"query": "What is Go?", "version": "v2"})).await;
    for (answer, rating) in [(&a, 5), (&b, 2)] {
        let r = gw
            .post(
                "/v1/feedback",
                &json!({"request_id": answer["request_id"], "rating": rating, "comment": "ok"}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        gw.post(
            "/v1/feedback",
            &json!({"request_id": a["request_id"], "rating": 9})
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        gw.post(
            "/v1/feedback",
            &json!({"request_id": "req_unknown", "rating": 3})
        )
        .await
        .status(),
        404
    );
    let (_, m) = gw.get_json("/admin/prompts/general_chat/metrics").await;
    let versions = m["versions"].as_array().unwrap();
    let v1 = versions.iter().find(|v| v["version"] == "v1").unwrap();
    let v2 = versions.iter().find(|v| v["version"] == "v2").unwrap();
    assert_eq!(
        (v1["requests"].as_u64(), v1["mean_rating"].as_f64()),
        (Some(1), Some(5.0))
    );
    assert_eq!(v2["mean_rating"].as_f64(), Some(2.0));
    assert!(v1["p99_latency_ms"].as_f64().unwrap() > 0.0);
    assert!(v1["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(v1["error_rate_pct"], 0.0);
}
