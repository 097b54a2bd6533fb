//! The gateway's real TLS path to a provider: HTTP/2 where ALPN offers it and HTTP/1.1 where it
//! does not, for both wire formats, streaming and not; a provider's `ca_file` trusted beside the
//! platform's store; and a certificate from an unknown CA refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway::*, tls::TlsFront, upstream::*};
use serde_json::{Value, json};

/// One model `m` on a provider behind `front`, trusting the front's CA when `trust` is set.
fn config(front: &TlsFront, kind: &str, trust: bool) -> String {
    let mut provider = openai_provider("up", &front.base_url(), 0)
        .replace("kind = \"openai\"", &format!("kind = \"{kind}\""));
    if trust {
        provider = provider.replace(
            "api_key = \"${UPSTREAM_KEY}\"",
            &format!(
                "api_key = \"${{UPSTREAM_KEY}}\"\nca_file = {:?}",
                front.ca_file().display().to_string()
            ),
        );
    }
    format!(
        "{provider}{}[routes.default]\nfallback = [\"m\"]\n",
        model("m", "up")
    )
}

fn streaming(text: &str) -> Value {
    let mut body = chat("m", text);
    body["stream"] = json!(true);
    body
}

#[tokio::test]
async fn openai_over_tls_uses_http2_plain_and_streaming() {
    let up = MockUpstream::start(vec![
        Step::reply("secure hello"),
        Step::reply("streamed over tls"),
    ]);
    let front = TlsFront::start(up.addr(), &[b"h2", b"http/1.1"]);
    let gw = TestGateway::start(&config(&front, "openai", true));

    let resp = gw.post("/v1/chat/completions", &chat("m", "hi")).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "secure hello");

    let resp = gw.post("/v1/chat/completions", &streaming("again")).await;
    assert_eq!(resp.status(), 200);
    let events = sse_data(resp).await;
    assert_eq!(joined_content(&events), "streamed over tls");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));

    assert_eq!(up.versions(), ["HTTP/2.0", "HTTP/2.0"]);
    let agreed = front.negotiated();
    assert!(
        !agreed.is_empty() && agreed.iter().all(|p| p == "h2"),
        "{agreed:?}"
    );
    let headers = &up.headers()[0];
    assert!(headers.contains(&("authorization".into(), "Bearer sk-test-key".into())));
}

#[tokio::test]
async fn anthropic_over_tls_streams_over_http2() {
    let up = MockUpstream::start(vec![Step::reply("messages over h2")]);
    let front = TlsFront::start(up.addr(), &[b"h2", b"http/1.1"]);
    let gw = TestGateway::start(&config(&front, "anthropic", true));

    let resp = gw.post("/v1/chat/completions", &streaming("hi")).await;
    assert_eq!(resp.status(), 200);
    let events = sse_data(resp).await;
    assert_eq!(joined_content(&events), "messages over h2");
    assert_eq!(up.versions(), ["HTTP/2.0"]);
    let headers = &up.headers()[0];
    assert!(headers.contains(&("x-api-key".into(), "sk-test-key".into())));
}

#[tokio::test]
async fn a_server_offering_only_http1_is_spoken_to_in_http1_over_tls() {
    let up = MockUpstream::start(vec![Step::reply("plain old h1")]);
    let front = TlsFront::start(up.addr(), &[b"http/1.1"]);
    let gw = TestGateway::start(&config(&front, "openai", true));

    let resp = gw.post("/v1/chat/completions", &chat("m", "hi")).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "plain old h1");
    assert_eq!(up.versions(), ["HTTP/1.1"]);
    assert_eq!(front.negotiated(), ["http/1.1"]);
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let up = MockUpstream::start(vec![]);
    let front = TlsFront::start(up.addr(), &[b"h2", b"http/1.1"]);
    // No ca_file: the platform's store does not know the test CA.
    let gw = TestGateway::start(&config(&front, "openai", false));

    let resp = gw.post("/v1/chat/completions", &chat("m", "hi")).await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(up.calls(), 0, "nothing may reach an unverified server");
}
