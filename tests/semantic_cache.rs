//! The semantic cache through the real server, with the real embedding model: precision and
//! recall on the labelled paraphrase set, namespaces, Cache-Control, SSE replay, single flight
//! and degradation when the embedder fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway::*, upstream::*};
use serde_json::{Value, json};

fn config(upstream: &MockUpstream, extra: &str) -> String {
    format!(
        "[server]\ndefault_route = \"default\"\n{}{}[routes.default]\nfallback = [\"gpt-test\"]\n\
         [embeddings]\nbackend = \"local\"\nmodel_dir = {:?}\ntimeout_ms = 5000\n{extra}",
        openai_provider("oa", &upstream.base_url(), 0),
        model("gpt-test", "oa"),
        model_dir(),
    )
}

fn ask(system: &str, question: &str) -> Value {
    json!({"model": "default", "messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
    ]})
}

struct Pair {
    para: bool,
    a: String,
    b: String,
}

fn pairs(path: &str) -> Vec<Pair> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "bad line {l:?}");
            Pair {
                para: match f[0] {
                    "para" => true,
                    "near" => false,
                    other => panic!("label {other:?}"),
                },
                a: f[1].into(),
                b: f[2].into(),
            }
        })
        .collect()
}

/// Asks A then B of each pair in its own namespace (its own system prompt); B is a hit when
/// the cache served it. Returns (precision, recall, true positives, false positives).
async fn measure(gw: &TestGateway, set: &str, pairs: &[Pair]) -> (f64, f64, usize, usize) {
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for (i, p) in pairs.iter().enumerate() {
        let ns = format!("{set} pair {i}");
        let first = gw.post("/v1/chat/completions", &ask(&ns, &p.a)).await;
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()["x-sluice-cache"], "miss", "{}", p.a);
        let second = gw.post("/v1/chat/completions", &ask(&ns, &p.b)).await;
        assert_eq!(second.status(), 200);
        let hit = second.headers()["x-sluice-cache"] == "hit";
        match (hit, p.para) {
            (true, true) => tp += 1,
            (true, false) => {
                fp += 1;
                println!("WRONG HIT: {:?} served for {:?}", p.a, p.b);
            }
            (false, true) => fneg += 1,
            (false, false) => {}
        }
    }
    let precision = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let recall = tp as f64 / (tp + fneg) as f64;
    (precision, recall, tp, fp)
}

#[tokio::test]
async fn paraphrase_set_precision_and_recall() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    let tuning = pairs("tests/data/paraphrase_pairs.tsv");
    let holdout = pairs("tests/data/paraphrase_holdout.tsv");
    assert!(tuning.len() >= 100 && tuning.iter().filter(|p| p.para).count() * 3 > tuning.len());
    let (p, r, tp, fp) = measure(&gw, "tuning", &tuning).await;
    println!(
        "semantic cache on tests/data/paraphrase_pairs.tsv ({} pairs): precision {p:.3} recall {r:.3} ({tp} right hits, {fp} wrong)",
        tuning.len()
    );
    let (hp, hr, htp, hfp) = measure(&gw, "holdout", &holdout).await;
    println!(
        "semantic cache on tests/data/paraphrase_holdout.tsv ({} pairs, written after tuning): precision {hp:.3} recall {hr:.3} ({htp} right hits, {hfp} wrong)",
        holdout.len()
    );
    assert!(p >= 0.98, "precision {p}");
    assert!(r >= 0.7, "recall {r}");
    // The holdout is the honest figure: never a wrong answer, some hits.
    assert!(hp >= 0.98, "holdout precision {hp}");
    assert!(hr >= 0.3, "holdout recall {hr}");
    let (_, stats) = gw.get_json("/v1/cache/stats").await;
    assert!(stats["stats"]["semantic_hits"].as_u64().unwrap() >= tp as u64);
    assert!(stats["stats"]["near_misses_refused"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn near_misses_of_the_issue_never_hit_and_hits_carry_their_similarity() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    for (a, b) in [
        (
            "What is the capital of France?",
            "What is the capital of Germany?",
        ),
        (
            "Convert 30 Celsius to Fahrenheit",
            "Convert 30 Fahrenheit to Celsius",
        ),
        (
            "How do I reverse a list in Python?",
            "How do I reverse a list in JavaScript?",
        ),
    ] {
        gw.post("/v1/chat/completions", &ask("s", a)).await;
        let r = gw.post("/v1/chat/completions", &ask("s", b)).await;
        assert_eq!(r.headers()["x-sluice-cache"], "miss", "{a} / {b}");
    }
    let calls = up.calls();
    let r = gw
        .post(
            "/v1/chat/completions",
            &ask("s", "Tell me the capital of France"),
        )
        .await;
    assert_eq!(r.headers()["x-sluice-cache"], "hit");
    let sim: f64 = r.headers()["x-sluice-cache-similarity"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.75..1.0).contains(&sim), "{sim}");
    assert_eq!(up.calls(), calls, "a hit calls no upstream");
    // An exact repeat (case and spacing aside) takes the exact path.
    let r = gw
        .post(
            "/v1/chat/completions",
            &ask("s", "WHAT is the capital of France"),
        )
        .await;
    assert_eq!(r.headers()["x-sluice-cache-similarity"], "1.0000");
}

#[tokio::test]
async fn namespaces_keep_answers_apart() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, "[cache]\nscope = \"per_key\"\n"));
    let q = "How tall is Mount Everest?";
    gw.post("/v1/chat/completions", &ask("one", q)).await;
    // Another system prompt, other sampling, a longer history: all misses.
    let mut hot = ask("one", q);
    hot["temperature"] = json!(0.9);
    let mut history = ask("one", q);
    history["messages"] = json!([
        {"role": "system", "content": "one"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": q},
    ]);
    for body in [ask("two", q), hot, history] {
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.headers()["x-sluice-cache"], "miss", "{body}");
    }
    let r = gw.post("/v1/chat/completions", &ask("one", q)).await;
    assert_eq!(r.headers()["x-sluice-cache"], "hit");
    let (_, stats) = gw.get_json("/v1/cache/stats").await;
    let spaces = stats["stats"]["namespaces"].as_array().unwrap();
    assert!(spaces.len() >= 4, "{stats}");
    assert!(spaces.iter().all(|s| {
        s["namespace"]
            .as_str()
            .unwrap()
            .starts_with("anonymous/none@none/default#")
    }));
    assert!(stats["stats"]["saved_usd"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn per_key_scope_never_serves_another_keys_answer() {
    let up = MockUpstream::start(vec![]);
    let keys = "[auth]\nenabled = true\n[[auth.keys]]\nname = \"a\"\nkey = \"${KEY_A}\"\nuser = \"a\"\n\
                [[auth.keys]]\nname = \"b\"\nkey = \"${KEY_B}\"\nuser = \"b\"\n";
    let toml = config(&up, &format!("[cache]\nscope = \"per_key\"\n{keys}"));
    let gw = TestGateway::start_with_env(&toml, &[("KEY_A", "sk-key-a"), ("KEY_B", "sk-key-b")]);
    let q = ask("s", "Which planet is the largest?");
    let first = gw
        .post_as("/v1/chat/completions", Some("sk-key-a"), &q)
        .await;
    assert_eq!(first.headers()["x-sluice-cache"], "miss");
    let other = gw
        .post_as("/v1/chat/completions", Some("sk-key-b"), &q)
        .await;
    assert_eq!(other.headers()["x-sluice-cache"], "miss");
    let same = gw
        .post_as("/v1/chat/completions", Some("sk-key-a"), &q)
        .await;
    assert_eq!(same.headers()["x-sluice-cache"], "hit");
}

#[tokio::test]
async fn cache_control_and_streamed_replay() {
    let up = MockUpstream::start(vec![]);
    let gw = TestGateway::start(&config(&up, ""));
    let q = ask("s", "Name three primary colours");
    let send = |cc: Option<&'static str>, body: Value| {
        let mut r = client()
            .post(format!("{}/v1/chat/completions", gw.url))
            .json(&body);
        if let Some(v) = cc {
            r = r.header("cache-control", v);
        }
        r.send()
    };
    // no-store: neither read nor written.
    let r = send(Some("no-store"), q.clone()).await.unwrap();
    assert_eq!(r.headers()["x-sluice-cache"], "off");
    let r = send(None, q.clone()).await.unwrap();
    assert_eq!(r.headers()["x-sluice-cache"], "miss");
    // no-cache: not served from cache, but the fresh answer is stored.
    let r = send(Some("no-cache"), q.clone()).await.unwrap();
    assert_eq!(r.headers()["x-sluice-cache"], "miss");
    assert_eq!(up.calls(), 3);
    // A streaming client gets the hit as a proper SSE stream.
    let mut streamed = ask("s", "name 3 primary colors");
    streamed["stream"] = json!(true);
    let r = send(None, streamed).await.unwrap();
    assert_eq!(r.headers()["x-sluice-cache"], "hit");
    assert!(r.headers().contains_key("x-sluice-cache-similarity"));
    let events = sse_data(r).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert!(events.len() > 4, "word-sized chunks: {events:?}");
    assert_eq!(joined_content(&events), DEFAULT_TEXT);
    assert_eq!(up.calls(), 3);
}

#[tokio::test]
async fn identical_requests_in_flight_share_one_upstream_call() {
    let gate = Gate::new();
    let up = MockUpstream::start(vec![Step::Gated {
        gate: gate.clone(),
        then: Box::new(Step::reply("shared answer")),
    }]);
    let gw = TestGateway::start(&config(&up, ""));
    let q = ask("s", "What is the speed of light?");
    let first = tokio::spawn({
        let (url, q) = (gw.url.clone(), q.clone());
        async move {
            client()
                .post(format!("{url}/v1/chat/completions"))
                .json(&q)
                .send()
                .await
        }
    });
    gate.wait_arrived().await;
    let mut streamed = q.clone();
    streamed["stream"] = json!(true);
    let followers = tokio::spawn({
        let url = gw.url.clone();
        async move {
            let a = client().post(format!("{url}/v1/chat/completions")).json(&q);
            let b = client()
                .post(format!("{url}/v1/chat/completions"))
                .json(&streamed);
            tokio::join!(a.send(), b.send())
        }
    });
    // Both followers are parked on the flight before the leader's answer is released.
    let mut parked = false;
    for _ in 0..2000 {
        let (_, s) = gw.get_json("/v1/cache/stats").await;
        if s["single_flight"]["followers_waiting"] == 2 {
            parked = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(parked, "the followers never joined the flight");
    gate.open();
    let lead = first.await.unwrap().unwrap();
    assert_eq!(lead.headers()["x-sluice-cache"], "miss");
    let (plain, stream) = followers.await.unwrap();
    let plain = plain.unwrap();
    assert_eq!(plain.headers()["x-sluice-cache"], "shared");
    let v: Value = plain.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "shared answer");
    let events = sse_data(stream.unwrap()).await;
    assert_eq!(joined_content(&events), "shared answer");
    assert_eq!(up.calls(), 1, "one upstream call for three clients");
    let (_, s) = gw.get_json("/v1/cache/stats").await;
    assert_eq!(s["single_flight"]["followers_served"], 2);
}

#[tokio::test]
async fn a_failing_embedder_degrades_to_the_provider() {
    let up = MockUpstream::start(vec![]);
    // An embeddings upstream that refuses every call.
    let dead = MockUpstream::start(vec![]);
    let toml = format!(
        "[server]\ndefault_route = \"default\"\n{}{}[routes.default]\nfallback = [\"gpt-test\"]\n\
         [embeddings]\nbackend = \"openai\"\nbase_url = \"{}/nowhere\"\nmodel = \"e\"\ntimeout_ms = 2000\n",
        openai_provider("oa", &up.base_url(), 0),
        model("gpt-test", "oa"),
        dead.base_url(),
    );
    let gw = TestGateway::start(&toml);
    for _ in 0..2 {
        let r = gw
            .post("/v1/chat/completions", &ask("s", "Is water wet?"))
            .await;
        assert_eq!(r.status(), 200);
    }
    let (_, stats) = gw.get_json("/v1/cache/stats").await;
    assert!(
        stats["stats"]["degraded"]["embed_failures"]
            .as_u64()
            .unwrap()
            >= 1,
        "{stats}"
    );
    // The exact path still works without embeddings.
    assert_eq!(stats["stats"]["hits"], 1, "{stats}");
}
