//! `POST /v1/embeddings` (OpenAI-compatible), served by the configured embedding backend.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, json_body};
use crate::error::GatewayError;

/// Texts one request may embed.
const MAX_INPUTS: usize = 2048;

/// The request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingsRequest {
    /// A string or an array of strings.
    #[schema(value_type = Object)]
    pub input: Value,
    /// Model name (informational: the configured backend answers).
    #[serde(default)]
    pub model: Option<String>,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Output size; only the model's own size is supported.
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// End-user id (accepted, not used).
    #[serde(default)]
    pub user: Option<String>,
}

fn texts(input: &Value) -> Result<Vec<String>, GatewayError> {
    let bad = |m: &str| GatewayError::invalid(m, Some("input"));
    let list = match input {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("`input` must be a string or an array of strings (token arrays are not supported)"))
            })
            .collect::<Result<_, _>>()?,
        Value::Array(_) => return Err(bad("`input` must not be empty")),
        _ => return Err(bad("`input` must be a string or an array of strings")),
    };
    if list.len() > MAX_INPUTS {
        return Err(bad(&format!("`input` holds more than {MAX_INPUTS} texts")));
    }
    if list.iter().any(|t| t.is_empty()) {
        return Err(bad("`input` texts must not be empty"));
    }
    Ok(list)
}

/// Embeds texts.
#[utoipa::path(
    post,
    path = "/v1/embeddings",
    tag = "chat",
    request_body = EmbeddingsRequest,
    responses(
        (status = 200, description = "OpenAI embeddings list"),
        (status = 400, description = "Bad input"),
        (status = 503, description = "No embedding backend"),
    )
)]
pub async fn embeddings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, GatewayError> {
    let gw = &state.gateway;
    let input: EmbeddingsRequest = json_body(&req, payload, gw, "embeddings").await?;
    let base64 = match input.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(GatewayError::invalid(
                format!("`encoding_format` {other:?} is not \"float\" or \"base64\""),
                Some("encoding_format"),
            ));
        }
    };
    let texts = texts(&input.input)?;
    if !gw.embeddings.enabled() {
        return Err(GatewayError::Unavailable(
            "no embedding backend is available (see /health/ready)".into(),
        ));
    }
    let (vectors, tokens) = gw
        .embeddings
        .embed_counted(texts)
        .await
        .map_err(|e| GatewayError::Unavailable(format!("embedding failed: {e}")))?;
    let dims = vectors.first().map_or(0, Vec::len);
    if let Some(d) = input.dimensions
        && d != dims
    {
        return Err(GatewayError::invalid(
            format!("`dimensions` {d} is not supported: this model gives {dims}"),
            Some("dimensions"),
        ));
    }
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "object": "list",
        "data": data,
        "model": gw.embeddings.model(),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
