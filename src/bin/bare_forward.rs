//! The benchmark's floor: an actix-web server that forwards `POST /v1/chat/completions` bytes to
//! an upstream through hyper-util's pooled client, and does nothing else (no parsing, auth,
//! guardrails, accounting or logging). `scripts/bench.sh` measures it beside the gateway, so the
//! latency the gateway adds can be read against what the extra HTTP hop alone costs.
//!
//!     bare_forward --listen 127.0.0.1:9000 --upstream http://127.0.0.1:9001

use std::cell::RefCell;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::header, web};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

type Pool = Client<HttpConnector, Full<Bytes>>;

thread_local! {
    /// One pool per worker thread, as the gateway keeps (a connection is driven by the runtime
    /// that opened it).
    static POOL: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

fn pool() -> Pool {
    POOL.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| {
                let mut tcp = HttpConnector::new();
                tcp.set_nodelay(true);
                Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(512)
                    .pool_timer(TokioTimer::new())
                    .build(tcp)
            })
            .clone()
    })
}

async fn forward(
    req: HttpRequest,
    body: Bytes,
    target: web::Data<hyper::Uri>,
) -> Result<HttpResponse, actix_web::Error> {
    let mut up = hyper::Request::post(target.get_ref().clone())
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        up = up.header(hyper::header::AUTHORIZATION, auth.as_bytes());
    }
    let up = up.body(Full::new(body)).map_err(bad_gateway)?;
    let resp = pool().request(up).await.map_err(bad_gateway)?;
    let status =
        actix_web::http::StatusCode::from_u16(resp.status().as_u16()).map_err(bad_gateway)?;
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(bad_gateway)?
        .to_bytes();
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
    let target = web::Data::new(target);
    HttpServer::new(move || {
        App::new()
            .app_data(target.clone())
            .route("/v1/chat/completions", web::post().to(forward))
            .route("/health", web::get().to(HttpResponse::Ok))
    })
    .tcp_nodelay(true)
    .bind(listen.as_str())?
    .run()
    .await
}
