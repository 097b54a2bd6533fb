//! Admin and accounting endpoints: actor stats, provider restarts, costs, cache and eval.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::{
    actors::messages::{GetCacheStats, GetEvalSummary, ListActors, RestartProvider},
    error::GatewayError,
};

fn mailbox(e: actix::MailboxError) -> GatewayError {
    GatewayError::Internal(format!("actor unavailable: {e}"))
}

/// Every actor: kind, name, status, messages handled, in-flight, errors, restarts, state, uptime.
#[utoipa::path(get, path = "/admin/actors", tag = "admin", responses((status = 200, body = [crate::actors::stats::ActorSnapshot])))]
pub async fn actors(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let all = state
        .gateway
        .services
        .supervisor
        .send(ListActors)
        .await
        .map_err(mailbox)?;
    Ok(HttpResponse::Ok().json(json!({"actors": all})))
}

/// Restarts a model's provider actor (a fresh connection pool and circuit).
#[utoipa::path(
    post,
    path = "/admin/actors/{model}/restart",
    tag = "admin",
    params(("model" = String, Path, description = "Model name")),
    responses((status = 202, description = "Restart requested"), (status = 400, description = "No such model"))
)]
pub async fn restart_provider(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let model = path.into_inner();
    state
        .gateway
        .services
        .supervisor
        .send(RestartProvider {
            model: model.clone(),
            reason: "restart requested through the admin API".into(),
        })
        .await
        .map_err(mailbox)??;
    Ok(HttpResponse::Accepted().json(json!({"restarting": model})))
}

/// Cache entries, hits, misses and hit rate.
#[utoipa::path(get, path = "/v1/cache/stats", tag = "accounting", responses((status = 200, body = crate::actors::cache::CacheStatsReport)))]
pub async fn cache_stats(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let s = state
        .gateway
        .services
        .cache
        .send(GetCacheStats)
        .await
        .map_err(mailbox)?;
    let (in_flight, followers_waiting, followers_served) = state.gateway.flights.counts();
    Ok(HttpResponse::Ok().json(json!({
        "enabled": state.gateway.config.cache.enabled,
        "semantic": state.gateway.config.cache.semantic.enabled && state.gateway.embeddings.enabled(),
        "embeddings": state.gateway.embeddings.status(),
        "stats": s,
        "single_flight": {
            "in_flight": in_flight,
            "followers_waiting": followers_waiting,
            "followers_served": followers_served,
        },
    })))
}

/// Quality records per template, version and model.
#[utoipa::path(get, path = "/admin/eval", tag = "admin", responses((status = 200, body = crate::actors::eval::EvalSummary)))]
pub async fn eval(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let s = state
        .gateway
        .services
        .eval
        .send(GetEvalSummary)
        .await
        .map_err(mailbox)?;
    Ok(HttpResponse::Ok().json(s))
}
