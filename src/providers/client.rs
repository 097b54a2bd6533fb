//! The HTTP client of upstream calls: hyper-util's pooled client over rustls, used directly.
//!
//! reqwest wraps the same client in a redirect policy, a retry layer and a URL re-parse of every
//! response; on the gateway's hot path those cost about a tenth of its CPU per request, and an
//! LLM API never redirects a POST we want followed. Cold paths (alert webhooks, the OTLP export,
//! remote embeddings) keep reqwest.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    Request, Response, Uri,
    body::Incoming,
    header::{HeaderMap, HeaderValue},
};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

use crate::error::ProviderError;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle connections kept per upstream host (per runtime thread).
const POOL_MAX_IDLE: usize = 512;

/// TLS settings shared by every pool of a provider: the platform's trust store. (The connector
/// adds the ALPN offer of HTTP/2 and HTTP/1.1.)
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, ProviderError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let fail = |e: rustls::Error| ProviderError::Connect(format!("cannot set up TLS: {e}"));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(fail)?
        .with_platform_verifier()
        .map_err(fail)?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A pool of keep-alive connections (HTTP/1.1, or HTTP/2 where TLS negotiates it) with
/// `TCP_NODELAY` set. Its connection tasks run on the runtime that built it.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    /// A fresh pool; `connect_timeout` bounds the TCP connect.
    pub fn new(tls: &Arc<rustls::ClientConfig>, connect_timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((**tls).clone())
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .pool_timer(TokioTimer::new())
            .build(https);
        HttpClient { inner }
    }

    /// POSTs `body` to `uri` with `headers` and `x-request-id`; any status is a response.
    pub async fn post(
        &self,
        uri: Uri,
        headers: &HeaderMap,
        request_id: &str,
        body: Vec<u8>,
    ) -> Result<Response<Incoming>, ProviderError> {
        let mut req = Request::post(uri)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::Protocol(format!("cannot build the request: {e}")))?;
        let h = req.headers_mut();
        h.reserve(headers.len() + 1);
        for (name, value) in headers {
            h.append(name, value.clone());
        }
        if let Ok(id) = HeaderValue::from_str(request_id) {
            h.insert("x-request-id", id);
        }
        self.inner
            .request(req)
            .await
            .map_err(|e| ProviderError::Connect(chain(&e)))
    }
}

/// Reads a whole response body, failing past `limit` bytes.
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, ProviderError> {
    Limited::new(body, limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ProviderError::Truncated(chain(e.as_ref())))
}

/// The next data chunk of a streamed body; `None` at its end. Trailers are skipped.
pub async fn next_chunk(body: &mut Incoming) -> Option<Result<Bytes, ProviderError>> {
    loop {
        match body.frame().await? {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(ProviderError::Truncated(chain(&e)))),
        }
    }
}

/// An error and its causes on one line (hyper's own messages are terse: "client error (Connect)").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_naming_the_cause() {
        // Bind then drop: nothing listens on the port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = HttpClient::new(&tls_config().unwrap(), Duration::from_secs(2));
        let uri: Uri = format!("http://127.0.0.1:{port}/v1/chat/completions")
            .parse()
            .unwrap();
        let err = client
            .post(uri, &HeaderMap::new(), "r1", b"{}".to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProviderError::Connect(m) if m.to_lowercase().contains("refused")),
            "{err:?}"
        );
    }
}
