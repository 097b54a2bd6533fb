//! `GET /health` (liveness) and `GET /health/ready` (every dependency's status).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::AppState;
use crate::{actors::messages::ListActors, error::GatewayError};

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when at least one model can serve: enabled, running, circuit not open.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses((status = 200, description = "Ready"), (status = 503, description = "No model can serve"))
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let actors = state
        .gateway
        .services
        .supervisor
        .send(ListActors)
        .await
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    let mut providers = serde_json::Map::new();
    let mut components = serde_json::Map::new();
    let mut serving = 0;
    for a in &actors {
        if a.kind == "provider" {
            let circuit = a.state.get("circuit").cloned().unwrap_or(Value::Null);
            let can_serve = a.status == "running" && circuit != json!("open");
            serving += usize::from(can_serve);
            providers.insert(
                a.name.clone(),
                json!({"status": a.status, "circuit": circuit, "provider": a.state.get("provider"),
                       "ready": can_serve, "disabled_reason": a.state.get("disabled_reason")}),
            );
        } else {
            components.insert(a.name.clone(), json!({"status": a.status}));
        }
    }
    components.insert(
        "cache".into(),
        json!({"status": if state.gateway.config.cache.enabled { "running" } else { "disabled" }}),
    );
    let ready = serving > 0;
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "models_ready": serving,
        "providers": providers,
        "components": components,
    });
    Ok(if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}
