//! The configured embedding backend behind one handle: the local model on its thread pool, an
//! OpenAI-compatible upstream, or none (the semantic layer is then off).

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};

use super::{EmbedError, EmbedPool, Embedder, PoolConfig, remote::RemoteEmbedder};
use crate::config::{EmbeddingBackend, EmbeddingsConfig};

/// Name of the built-in model.
pub const LOCAL_MODEL: &str = "all-MiniLM-L6-v2";

enum Backend {
    Local(EmbedPool, Arc<Embedder>),
    Remote(RemoteEmbedder),
    Off(String),
}

/// Why an embedding was not had in time on the request path.
#[derive(Debug)]
pub enum EmbedFailure {
    /// Slower than `embeddings.timeout_ms`.
    Timeout,
    /// The backend failed or refused.
    Failed(EmbedError),
}

/// The embedding service.
pub struct Embeddings {
    backend: Backend,
    timeout: Duration,
}

impl Embeddings {
    /// Starts the configured backend. A local model that cannot load leaves the service
    /// running with the semantic layer off, and says so.
    pub fn start(cfg: &EmbeddingsConfig) -> Arc<Embeddings> {
        let backend = match &cfg.backend {
            EmbeddingBackend::Local {
                model_dir,
                threads,
                max_batch,
                queue,
            } => {
                let pool = Embedder::load(model_dir).and_then(|e| {
                    let e = Arc::new(e);
                    let pool = EmbedPool::new(
                        e.clone(),
                        PoolConfig {
                            threads: *threads,
                            max_batch: *max_batch,
                            queue_capacity: *queue,
                        },
                    )?;
                    Ok((pool, e))
                });
                match pool {
                    Ok((pool, e)) => {
                        tracing::info!(model = LOCAL_MODEL, dir = %model_dir.display(), "embedding model loaded");
                        Backend::Local(pool, e)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "embedding model unavailable: the semantic cache and retrieval are OFF (exact cache only); run scripts/fetch_model.sh");
                        Backend::Off(e.to_string())
                    }
                }
            }
            EmbeddingBackend::OpenAi {
                base_url,
                api_key,
                model,
            } => Backend::Remote(RemoteEmbedder::new(
                base_url,
                api_key.clone(),
                model.clone(),
            )),
            EmbeddingBackend::Off => Backend::Off("embeddings.backend = \"off\"".into()),
        };
        Arc::new(Embeddings {
            backend,
            timeout: cfg.timeout,
        })
    }

    /// Whether embeddings can be made.
    pub fn enabled(&self) -> bool {
        !matches!(self.backend, Backend::Off(_))
    }

    /// The model name reported to clients.
    pub fn model(&self) -> &str {
        match &self.backend {
            Backend::Remote(r) => r.model(),
            _ => LOCAL_MODEL,
        }
    }

    /// Embeds `texts` (normalised vectors, input order), waiting as long as it takes.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        match &self.backend {
            Backend::Local(pool, _) => pool.embed_many(texts).await,
            Backend::Remote(r) => r.embed(&texts).await,
            Backend::Off(why) => Err(EmbedError::Unavailable(why.clone())),
        }
    }

    /// Embeds `texts` and counts their tokens (the local model's own tokenizer, or the
    /// upstream's reported usage).
    pub async fn embed_counted(
        &self,
        texts: Vec<String>,
    ) -> Result<(Vec<Vec<f32>>, u64), EmbedError> {
        match &self.backend {
            Backend::Local(pool, model) => {
                let (model, copy) = (model.clone(), texts.clone());
                let counted = tokio::task::spawn_blocking(move || {
                    let refs: Vec<&str> = copy.iter().map(String::as_str).collect();
                    model.count_tokens(&refs)
                });
                let vectors = pool.embed_many(texts).await?;
                let tokens = counted
                    .await
                    .map_err(|e| EmbedError::Inference(e.to_string()))??;
                Ok((vectors, tokens as u64))
            }
            Backend::Remote(r) => r.embed_counted(&texts).await,
            Backend::Off(why) => Err(EmbedError::Unavailable(why.clone())),
        }
    }

    /// Embeds one text within the request-path timeout.
    pub async fn embed_quick(&self, text: String) -> Result<Vec<f32>, EmbedFailure> {
        match tokio::time::timeout(self.timeout, self.embed(vec![text])).await {
            Err(_) => Err(EmbedFailure::Timeout),
            Ok(Err(e)) => Err(EmbedFailure::Failed(e)),
            Ok(Ok(mut v)) => v.pop().ok_or(EmbedFailure::Failed(EmbedError::Inference(
                "no vector".into(),
            ))),
        }
    }

    /// State for the admin API.
    pub fn status(&self) -> Value {
        match &self.backend {
            Backend::Local(pool, _) => {
                let s = pool.stats();
                json!({"backend": "local", "model": LOCAL_MODEL, "embeddings": s.embeddings,
                       "batches": s.batches, "rejected": s.rejected, "failed": s.failed,
                       "queued": s.queued})
            }
            Backend::Remote(r) => json!({"backend": "openai", "model": r.model()}),
            Backend::Off(why) => json!({"backend": "off", "reason": why}),
        }
    }
}
