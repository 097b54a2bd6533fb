//! The real binary: configuration checks, key hashing, the exposure refusal and graceful
//! shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn temp_config(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("sluice-test-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_config_accepts_the_repo_config_and_names_bad_keys() {
    let ok = Command::new(BIN)
        .args([
            "check-config",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"),
        ])
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(ok.status.success());
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.contains("config ok") && out.contains("provider openai disabled"),
        "{out}"
    );

    let bad = temp_config(
        "bad",
        "[server]\nlisten = \"somewhere\"\n[cache]\nttl = 5\n",
    );
    let res = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("ttl"), "{err}");
    let _ = std::fs::remove_file(bad);

    let usage = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn hash_key_prints_the_sha256_and_serving_unauthenticated_beyond_loopback_is_refused() {
    let out = Command::new(BIN)
        .args(["hash-key", "sk-example"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // sha256("sk-example"), as `sha256sum` computes it
    assert_eq!(
        hex,
        "f2d4b279b82ad92867af5878fe7482caebdd7b75499868d0362a6e63ff51f046"
    );
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let refused = Command::new(BIN)
        .args(["serve", "--config", config, "--listen", "0.0.0.0:0"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("auth.enabled = false"), "{err}");
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_stream_finish() {
    let cfg = temp_config(
        "graceful",
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 10
[providers.mock]
kind = "mock"
token_delay_ms = 40
[models.m]
provider = "mock"
input_per_mtok = 1.0
output_per_mtok = 1.0
[routes.default]
fallback = ["m"]
[auth]
enabled = false
"#,
    );
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
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
    let client = reqwest::Client::new();
    let mut resp = client
        .post(format!("{url}/v1/chat/completions"))
        .json(&serde_json::json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "a long answer please"}]}))
        .send()
        .await
        .unwrap();
    let mut body = String::from_utf8_lossy(&resp.chunk().await.unwrap().unwrap()).into_owned();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    while let Some(chunk) = resp.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        body.trim_end().ends_with("data: [DONE]"),
        "stream cut by shutdown: {body}"
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    // the request's log line was written out by the exit flush at the latest
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains(r#""message":"request""#)),
        "no request log line after shutdown"
    );
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("{url}/health")).send(),
    )
    .await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "server still accepting after shutdown"
    );
    let _ = std::fs::remove_file(cfg);
}
