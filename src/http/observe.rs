//! How the service is doing: `/admin/stats`, `/metrics`, and the dashboard with its live feed.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, Responder, http::header, web};
use actix_web_lab::sse::{self, Sse};
use serde_json::{Value, json};

use super::AppState;
use crate::{
    actors::messages::{GetCosts, ListActors},
    error::GatewayError,
    money, observe,
    pipeline::Gateway,
};

/// How often the dashboard's feed sends a snapshot.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(2);

/// p50/p95/p99 latency, error rate, cache hit rate, guardrail block rate and cost per request
/// over the last 5 minutes, hour and day, with the seed's targets.
#[utoipa::path(get, path = "/admin/stats", tag = "admin", responses((status = 200, description = "Figures per window")))]
pub async fn stats(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.gateway.live.report())
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let actors = gw
        .services
        .supervisor
        .send(ListActors)
        .await
        .map_err(|e| GatewayError::Internal(format!("actor unavailable: {e}")))?;
    observe::metrics::scrape_gauges(
        &actors,
        &[
            ("cost", gw.services.cost_inbox.len()),
            ("eval", gw.services.eval_inbox.len()),
        ],
        gw.ledger.stats(),
        gw.budgets.emergency(),
    );
    let text = observe::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Everything the dashboard shows, in one object.
async fn snapshot(gw: &Gateway) -> Value {
    let actors = gw
        .services
        .supervisor
        .send(ListActors)
        .await
        .unwrap_or_default();
    let costs = gw.services.cost.send(GetCosts).await.ok();
    let spend = |v: &[(String, crate::actors::cost::Spend)], name: &str| -> Vec<Value> {
        v.iter()
            .map(|(k, s)| {
                json!({name: k, "requests": s.requests, "cost_usd": money::to_f64(s.cost_usd)})
            })
            .collect()
    };
    let alerts: Vec<Value> = gw
        .budgets
        .alerts()
        .list(30)
        .into_iter()
        .map(|a| json!({"ts": a.ts, "kind": a.kind, "message": a.message}))
        .collect();
    json!({
        "stats": gw.live.report(),
        "series": gw.live.series(),
        "cost_by_model": costs.as_ref().map(|c| spend(&c.by_model, "model")).unwrap_or_default(),
        "cost_by_user": costs.as_ref().map(|c| spend(&c.top_users, "user")).unwrap_or_default(),
        "actors": actors,
        "recent": gw.live.recent(),
        "alerts": alerts,
        "emergency": gw.budgets.emergency(),
    })
}

/// The dashboard's live feed: a `snapshot` event at once and every two seconds.
pub async fn events(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let gw = state.gateway.clone();
    let stream = futures_util::stream::unfold((gw, true), |(gw, first)| async move {
        if !first {
            tokio::time::sleep(SNAPSHOT_EVERY).await;
        }
        let data = snapshot(&gw).await.to_string();
        let ev: sse::Event = sse::Data::new(data).event("snapshot").into();
        Some((Ok::<_, std::convert::Infallible>(ev), (gw, false)))
    });
    Sse::from_stream(stream)
        .with_keep_alive(Duration::from_secs(15))
        .customize()
        .insert_header(("x-accel-buffering", "no"))
        .respond_to(&req)
        .map_into_boxed_body()
}

/// The dashboard's files, compiled into the binary.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
    (
        "vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/vendor/uPlot.min.css"),
    ),
];

const PAGE: &str = include_str!("dashboard/index.html");

/// Only our own files and inline data images.
const CSP: &str = "default-src 'self'; img-src 'self' data:";

/// `GET /admin/dashboard`: the page.
pub async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(PAGE)
}

/// `GET /admin/dashboard/assets/{path}`: its scripts and styles.
pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, GatewayError> {
    let name = path.into_inner();
    let Some((_, mime, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return Err(GatewayError::NotFound(format!(
            "no dashboard file {name:?}"
        )));
    };
    Ok(HttpResponse::Ok()
        .content_type(*mime)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(*body))
}
