//! The real binary as a process: the ledger keeps every request through SIGTERM and all but
//! the last second through `kill -9`; one request's trace arrives at an OTLP receiver as a
//! tree of component spans.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{gateway::temp_dir, otlp::OtlpReceiver};
use serde_json::json;
use sluice::ledger::SqliteLedger;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn config(data: &Path, extra: &str) -> PathBuf {
    let path = data.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[providers.mock]
kind = "mock"
[models.m]
provider = "mock"
input_per_mtok = 1.0
output_per_mtok = 2.0
[routes.default]
fallback = ["m"]
[cache]
enabled = false
[embeddings]
backend = "off"
[auth]
enabled = false
[store]
data_dir = {:?}
{extra}
"#,
            data.display().to_string()
        ),
    )
    .unwrap();
    path
}

/// Starts the binary; returns it and its URL.
fn serve(cfg: &Path) -> (Child, String) {
    let (child, url, _) = serve_logged(cfg, "warn");
    (child, url)
}

/// Starts the binary with `RUST_LOG=level`; returns it, its URL and its later stdout lines.
fn serve_logged(cfg: &Path, level: &str) -> (Child, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("no listening line").unwrap();
        if let Some(u) = line.strip_prefix("sluice listening on ") {
            break u.to_string();
        }
    };
    // Keep reading so the child never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, url, rx)
}

async fn send(url: &str, n: usize) {
    let client = reqwest::Client::new();
    for i in 0..n {
        let r = client
            .post(format!("{url}/v1/chat/completions"))
            .json(&json!({"model": "m", "user": format!("u{}", i % 7),
                          "messages": [{"role": "user", "content": format!("question {i}")}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

async fn wait(mut child: Child) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap()
}

fn stored(data: &Path) -> u64 {
    SqliteLedger::open(&data.join("sluice.db"))
        .unwrap()
        .count()
        .unwrap()
}

#[tokio::test]
async fn sigterm_loses_no_record() {
    let data = temp_dir("sigterm");
    let (child, url) = serve(&config(&data, ""));
    send(&url, 300).await;
    // Straight after the last answer: whatever is still in an inbox or the writer's queue
    // must be written before the process exits.
    signal(&child, "-TERM");
    assert!(wait(child).await.success());
    assert_eq!(stored(&data), 300);
    assert!(!data.join("ledger-overflow.jsonl").exists());
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn kill_9_loses_at_most_the_last_second() {
    let data = temp_dir("kill9");
    let (child, url) = serve(&config(&data, ""));
    send(&url, 300).await;
    // The promise is about time: records older than one second are on disk.
    tokio::time::sleep(Duration::from_secs(1)).await;
    signal(&child, "-KILL");
    let _ = wait(child).await;
    assert_eq!(stored(&data), 300);
    // The ledger reopens cleanly after the crash and the next run adds to it.
    let (child, url) = serve(&config(&data, ""));
    send(&url, 5).await;
    signal(&child, "-TERM");
    assert!(wait(child).await.success());
    assert_eq!(stored(&data), 305);
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn one_request_exports_a_tree_of_component_spans() {
    let receiver = OtlpReceiver::start().unwrap();
    let data = temp_dir("otlp");
    let cfg = config(
        &data,
        &format!("[telemetry]\notlp_endpoint = {:?}\n", receiver.endpoint()),
    );
    let (child, url) = serve(&cfg);
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("x-request-id", "req-traced-1")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "trace me"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Shutdown flushes the spans still queued.
    signal(&child, "-TERM");
    assert!(wait(child).await.success());
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().any(|s| s.name == "cost")
        })
        .unwrap_or_else(|s| panic!("no cost span: {s:#?}"));
    let root = spans
        .iter()
        .find(|s| s.name == "request" && s.attr_str("request_id") == Some("req-traced-1"))
        .unwrap_or_else(|| panic!("no request span: {spans:#?}"));
    assert!(root.parent_span_id.is_none());
    assert_eq!(root.service_name.as_deref(), Some("sluice"));
    let children: BTreeSet<&str> = spans
        .iter()
        .filter(|s| {
            s.trace_id == root.trace_id
                && s.parent_span_id.as_deref() == Some(root.span_id.as_str())
        })
        .map(|s| s.name.as_str())
        .collect();
    for name in [
        "auth",
        "guardrail_input",
        "provider_attempt",
        "guardrail_output",
        "cost",
    ] {
        assert!(
            children.contains(name),
            "{name} is not a child of the request: {children:?}"
        );
    }
    let attempt = spans
        .iter()
        .find(|s| s.name == "provider_attempt" && s.trace_id == root.trace_id)
        .unwrap();
    assert_eq!(attempt.attr_str("model"), Some("m"));
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn each_request_logs_one_json_line_with_the_seed_fields_and_no_pii() {
    let data = temp_dir("logs");
    let (child, url, lines) = serve_logged(&config(&data, ""), "info");
    let secret = "sk-live-0123456789abcdefghijklmnopqrstuv";
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("x-request-id", "req-logged-1")
        .header("authorization", format!("Bearer {secret}"))
        .json(
            &json!({"model": "m", "user": "u-log", "messages": [{"role": "user",
               "content": "write to leak@example.com, card 4111 1111 1111 1111"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "req-logged-1");
    signal(&child, "-TERM");
    assert!(wait(child).await.success());
    // The sender side closed with the process: this drains every line it wrote.
    let all: Vec<String> = lines.iter().collect();
    let request: Vec<serde_json::Value> = all
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["request_id"] == "req-logged-1")
        .collect();
    let line = request
        .iter()
        .find(|v| v["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no request line in {all:#?}"));
    let f = &line["fields"];
    for key in [
        "user_id",
        "template",
        "version",
        "model",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "cache_hit",
        "guardrail_input_pass",
        "guardrail_output_pass",
        "cost_usd",
        "error",
    ] {
        assert!(f.get(key).is_some(), "{key} missing: {line}");
    }
    assert_eq!(f["user_id"], "u-log");
    assert_eq!(f["model"], "m");
    assert_eq!(f["guardrail_input_pass"], true);
    for line in &all {
        for leak in ["leak@example.com", "4111 1111", secret] {
            assert!(!line.contains(leak), "{leak} in the log: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(data);
}
