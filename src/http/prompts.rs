//! Admin API of the prompt router (`/admin/prompts`, `/admin/experiments`) and user feedback
//! (`POST /v1/feedback`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, json_body};
use crate::{
    actors::messages::{GetVersionMetrics, RecordFeedback},
    config::ExperimentConfig,
    error::GatewayError,
    ledger::{Entry, FeedbackRecord},
    prompts::NewVersion,
    wire::{ChatMessage, Role},
};

fn mailbox(e: actix::MailboxError) -> GatewayError {
    GatewayError::Internal(format!("actor unavailable: {e}"))
}

/// Runs a catalogue change (it writes to the store) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GatewayError> + Send + 'static,
) -> Result<T, GatewayError> {
    web::block(f)
        .await
        .map_err(|e| GatewayError::Internal(format!("blocking pool unavailable: {e}")))?
}

/// Templates with their versions, active version, experiment and per-version metrics.
#[utoipa::path(get, path = "/admin/prompts", tag = "admin", responses((status = 200)))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let metrics = state
        .gateway
        .services
        .eval
        .send(GetVersionMetrics)
        .await
        .map_err(mailbox)?;
    Ok(HttpResponse::Ok().json(json!({
        "templates": state.gateway.prompts.list(),
        "metrics": metrics,
    })))
}

/// Per-version metrics of one template: requests, latency p50/p99, error rate, mean rating, cost.
#[utoipa::path(get, path = "/admin/prompts/{template}/metrics", tag = "admin",
    params(("template" = String, Path, description = "Template name")), responses((status = 200), (status = 404)))]
pub async fn metrics(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let template = path.into_inner();
    let info = state
        .gateway
        .prompts
        .list()
        .into_iter()
        .find(|t| t.template == template)
        .ok_or_else(|| GatewayError::Missing(format!("no template `{template}`")))?;
    let all = state
        .gateway
        .services
        .eval
        .send(GetVersionMetrics)
        .await
        .map_err(mailbox)?;
    let versions: Vec<_> = all.into_iter().filter(|m| m.template == template).collect();
    Ok(HttpResponse::Ok().json(json!({
        "template": template,
        "active": info.active,
        "experiment": info.experiment,
        "versions": versions,
    })))
}

/// Adds a version; an existing one is never overwritten (409).
#[utoipa::path(post, path = "/admin/prompts/{template}/versions", tag = "admin", request_body = NewVersion,
    params(("template" = String, Path, description = "Template name")),
    responses((status = 201, body = crate::prompts::PromptVersion), (status = 400), (status = 409)))]
pub async fn create_version(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let new: NewVersion = json_body(&req, payload, &state.gateway, "prompt version").await?;
    let prompts = state.gateway.prompts.clone();
    let template = path.into_inner();
    let v = blocking(move || prompts.create_version(&template, new)).await?;
    Ok(HttpResponse::Created().json(v))
}

/// `POST /admin/prompts/{template}/activate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    /// The version to serve.
    pub version: String,
}

/// Makes a version the active one.
#[utoipa::path(post, path = "/admin/prompts/{template}/activate", tag = "admin", request_body = Activate,
    params(("template" = String, Path, description = "Template name")), responses((status = 200), (status = 404)))]
pub async fn activate(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let body: Activate = json_body(&req, payload, &state.gateway, "activate").await?;
    let prompts = state.gateway.prompts.clone();
    let template = path.into_inner();
    let v = blocking(move || prompts.activate(&template, &body.version)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Returns a template to its previous active version.
#[utoipa::path(post, path = "/admin/prompts/{template}/rollback", tag = "admin",
    params(("template" = String, Path, description = "Template name")), responses((status = 200), (status = 409)))]
pub async fn rollback(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let prompts = state.gateway.prompts.clone();
    let template = path.into_inner();
    let v = blocking(move || prompts.rollback(&template)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `POST /admin/experiments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExperiment {
    /// Experiment name.
    pub name: String,
    /// Template it splits.
    pub template: String,
    /// Version most users see.
    pub control: String,
    /// Version on trial.
    pub variant: String,
    /// Users given the variant, in percent (default 10).
    #[serde(default)]
    pub rollout_pct: Option<u8>,
    /// Control requests also run on the variant unseen, in percent (default 0).
    #[serde(default)]
    pub shadow_pct: Option<u8>,
    /// Error-rate ratio that rolls the variant back (default 2).
    #[serde(default)]
    pub rollback_error_ratio: Option<f64>,
    /// Requests each side needs first (default 100).
    #[serde(default)]
    pub rollback_min_requests: Option<u64>,
}

/// Experiments with their live tallies.
#[utoipa::path(get, path = "/admin/experiments", tag = "admin", responses((status = 200)))]
pub async fn experiments(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    Ok(HttpResponse::Ok().json(json!({"experiments": state.gateway.prompts.experiments()})))
}

/// Starts an experiment.
#[utoipa::path(post, path = "/admin/experiments", tag = "admin", request_body = NewExperiment,
    responses((status = 201, body = crate::prompts::Experiment), (status = 400), (status = 409)))]
pub async fn start_experiment(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let e: NewExperiment = json_body(&req, payload, &state.gateway, "experiment").await?;
    let cfg = ExperimentConfig {
        name: e.name,
        template: e.template,
        control: e.control,
        variant: e.variant,
        rollout_pct: e.rollout_pct.unwrap_or(10),
        shadow_pct: e.shadow_pct.unwrap_or(0),
        rollback_error_ratio: e.rollback_error_ratio.unwrap_or(2.0),
        rollback_min_requests: e.rollback_min_requests.unwrap_or(100),
    };
    let prompts = state.gateway.prompts.clone();
    let started = blocking(move || prompts.start_experiment(cfg)).await?;
    Ok(HttpResponse::Created().json(started))
}

/// `POST /admin/experiments/{name}/rollout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Users given the variant, in percent.
    pub rollout_pct: u8,
}

/// Changes an experiment's rollout (a rolled-back experiment restarts).
#[utoipa::path(post, path = "/admin/experiments/{name}/rollout", tag = "admin", request_body = Rollout,
    params(("name" = String, Path, description = "Experiment name")), responses((status = 200), (status = 404)))]
pub async fn rollout(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let body: Rollout = json_body(&req, payload, &state.gateway, "rollout").await?;
    let prompts = state.gateway.prompts.clone();
    let name = path.into_inner();
    let e = blocking(move || prompts.set_rollout(&name, body.rollout_pct)).await?;
    Ok(HttpResponse::Ok().json(e))
}

/// Rolls an experiment back at once.
#[utoipa::path(post, path = "/admin/experiments/{name}/rollback", tag = "admin",
    params(("name" = String, Path, description = "Experiment name")), responses((status = 200), (status = 404)))]
pub async fn rollback_experiment(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let prompts = state.gateway.prompts.clone();
    let name = path.into_inner();
    let e = blocking(move || prompts.rollback_experiment(&name, None)).await?;
    Ok(HttpResponse::Ok().json(e))
}

/// `POST /v1/feedback`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// The `x-request-id` of the answer.
    pub request_id: String,
    /// 1 (bad) to 5 (good).
    pub rating: u8,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Attaches a user's rating to an answer (and so to its prompt version).
#[utoipa::path(post, path = "/v1/feedback", tag = "chat", request_body = Feedback,
    responses((status = 200), (status = 400), (status = 404)))]
pub async fn feedback(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let f: Feedback = json_body(&req, payload, &state.gateway, "feedback").await?;
    if !(1..=5).contains(&f.rating) {
        return Err(GatewayError::invalid(
            "`rating` must be 1 to 5",
            Some("rating"),
        ));
    }
    if f.comment.as_ref().is_some_and(|c| c.len() > 4000) {
        return Err(GatewayError::invalid(
            "`comment` is longer than 4000 bytes",
            Some("comment"),
        ));
    }
    let gw = &state.gateway;
    // Comments are free text: PII is redacted before they are kept anywhere.
    let comment = match f.comment {
        Some(c) if !c.is_empty() => {
            let msg = vec![ChatMessage::text(Role::User, c)];
            match gw.services.guardrails.check_input(&f.request_id, msg).await {
                Ok(v) => v.messages.first().map(ChatMessage::content_text),
                Err(_) => Some("[comment withheld by the input guardrails]".into()),
            }
        }
        _ => None,
    };
    let (template, version) = gw
        .services
        .eval
        .send(RecordFeedback {
            request_id: f.request_id.clone(),
            rating: f.rating,
            comment: comment.clone(),
        })
        .await
        .map_err(mailbox)?
        .map_err(GatewayError::Missing)?;
    gw.ledger.record(Entry::Feedback(FeedbackRecord {
        request_id: f.request_id.clone(),
        ts_ms: crate::store::unix_now() * 1000,
        rating: i32::from(f.rating),
        comment,
    }));
    Ok(HttpResponse::Ok().json(json!({
        "request_id": f.request_id, "rating": f.rating, "template": template, "version": version,
    })))
}
