//! The benchmark's floor: an actix-web server that forwards `POST /v1/chat/completions` bytes to
//! an upstream through the gateway's own upstream client, and does nothing else (no parsing, auth,
//! guardrails, accounting or logging). `scripts/bench.sh` measures it beside the gateway, so the
//! latency the gateway adds can be read against what the extra HTTP hop alone costs.
//!
//!     bare_forward --listen 127.0.0.1:9000 --upstream http://127.0.0.1:9001

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::header, web};
use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use sluice::providers::client::{self, HttpClient};

/// One worker's forwarding state: the gateway's own upstream client (a pool per worker
/// thread, as the gateway keeps) and the target URL.
struct Forward {
    client: HttpClient,
    target: hyper::Uri,
}

async fn forward(
    req: HttpRequest,
    body: Bytes,
    fwd: web::Data<Forward>,
) -> Result<HttpResponse, actix_web::Error> {
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(auth) = req.headers().get(header::AUTHORIZATION)
        && let Ok(v) = HeaderValue::from_bytes(auth.as_bytes())
    {
        headers.insert(AUTHORIZATION, v);
    }
    let resp = fwd
        .client
        .post(fwd.target.clone(), &headers, "floor", body.to_vec())
        .await
        .map_err(bad_gateway)?;
    let status =
        actix_web::http::StatusCode::from_u16(resp.status().as_u16()).map_err(bad_gateway)?;
    let bytes = client::read_body(resp.into_body(), 64 * 1024 * 1024)
        .await
        .map_err(bad_gateway)?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(bytes))
}

fn bad_gateway(e: impl std::fmt::Display) -> actix_web::Error {
    actix_web::error::ErrorBadGateway(e.to_string())
}

fn usage() -> std::io::Error {
    std::io::Error::other("usage: bare_forward --listen ADDR --upstream http://HOST:PORT")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut listen = None;
    let mut upstream = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--listen" => listen = args.next(),
            "--upstream" => upstream = args.next(),
            _ => return Err(usage()),
        }
    }
    let (Some(listen), Some(upstream)) = (listen, upstream) else {
        return Err(usage());
    };
    let target: hyper::Uri = format!("{}/v1/chat/completions", upstream.trim_end_matches('/'))
        .parse()
        .map_err(|e| std::io::Error::other(format!("bad --upstream {upstream:?}: {e}")))?;
    let tls = client::tls_config(&[]).map_err(std::io::Error::other)?;
    // The factory runs on each worker thread: each worker gets its own pool.
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Forward {
                client: HttpClient::new(&tls, Duration::from_secs(5), None),
                target: target.clone(),
            }))
            .route("/v1/chat/completions", web::post().to(forward))
            .route("/health", web::get().to(HttpResponse::Ok))
    })
    .tcp_nodelay(true)
    .bind(listen.as_str())?
    .run()
    .await
}
