//! `/v1/documents`: the retrieval store (add, list, fetch, delete).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, json_body};
use crate::error::GatewayError;

/// `POST /v1/documents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// Id to store it under (default: a new `doc_…` id).
    #[serde(default)]
    pub id: Option<String>,
    /// The text.
    pub text: String,
    /// Anything the caller wants kept with it (an object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
}

/// Stores a document: chunked with overlap, embedded, persisted.
#[utoipa::path(post, path = "/v1/documents", tag = "retrieval", request_body = NewDocument,
    responses((status = 201, body = crate::retrieval::DocumentInfo), (status = 400), (status = 409), (status = 503)))]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let doc: NewDocument = json_body(&req, payload, &state.gateway, "document").await?;
    let info = state
        .gateway
        .retriever
        .ingest(doc.id, doc.text, doc.metadata.unwrap_or_else(|| json!({})))
        .await?;
    Ok(HttpResponse::Created().json(info))
}

/// Lists documents (without their text).
#[utoipa::path(get, path = "/v1/documents", tag = "retrieval", responses((status = 200)))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, GatewayError> {
    let docs = state.gateway.retriever.list().await?;
    Ok(HttpResponse::Ok().json(json!({"object": "list", "data": docs})))
}

/// One document with its text.
#[utoipa::path(get, path = "/v1/documents/{id}", tag = "retrieval",
    params(("id" = String, Path, description = "Document id")),
    responses((status = 200, body = crate::retrieval::DocumentInfo), (status = 404)))]
pub async fn get(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let doc = state.gateway.retriever.get(path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// Deletes a document and its chunks.
#[utoipa::path(delete, path = "/v1/documents/{id}", tag = "retrieval",
    params(("id" = String, Path, description = "Document id")),
    responses((status = 200), (status = 404)))]
pub async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let id = path.into_inner();
    state.gateway.retriever.delete(id.clone()).await?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "deleted": true})))
}
