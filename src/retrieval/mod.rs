//! Retrieval-augmented answers: documents are chunked with overlap, embedded and stored; a
//! question is embedded and its nearest chunks become the prompt's context.
//!
//! Documents and chunk vectors live in the [`Store`] (a restart keeps them); the in-memory
//! index is rebuilt from it at start-up. The index sits behind a `RwLock` held only for the
//! search or the insert itself; embedding happens before, on the embedding pool.

pub mod chunk;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::RwLock;
use serde::Serialize;
use serde_json::Value;

use crate::{
    cache::space::SpaceIndex,
    config::RetrievalConfig,
    embed::Embeddings,
    error::GatewayError,
    store::{Store, StoreError, StoredChunk, StoredDocument, unix_now},
    tools::{DocumentHit, DocumentSearch},
};

struct ChunkRef {
    document_id: String,
    idx: usize,
    start: usize,
    end: usize,
    text: String,
}

#[derive(Default)]
struct Index {
    space: SpaceIndex,
    chunks: HashMap<u64, ChunkRef>,
    by_document: HashMap<String, Vec<u64>>,
    next: u64,
}

impl Index {
    fn add(&mut self, c: StoredChunk) {
        let Some(v) = c.embedding else { return };
        let id = self.next;
        self.next += 1;
        self.space.insert(id, &v);
        self.by_document
            .entry(c.document_id.clone())
            .or_default()
            .push(id);
        self.chunks.insert(
            id,
            ChunkRef {
                document_id: c.document_id,
                idx: c.idx,
                start: c.start,
                end: c.end,
                text: c.text,
            },
        );
    }

    fn remove(&mut self, document_id: &str) {
        for id in self.by_document.remove(document_id).unwrap_or_default() {
            self.space.remove(id);
            self.chunks.remove(&id);
        }
    }
}

/// A document as listed by `GET /v1/documents`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentInfo {
    /// Document id.
    pub id: String,
    /// The caller's metadata.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Chunks stored.
    pub chunks: usize,
    /// Unix seconds.
    pub created_at: i64,
    /// Its text (only when one document is fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl DocumentInfo {
    fn from_stored(d: StoredDocument, with_text: bool) -> DocumentInfo {
        DocumentInfo {
            id: d.id,
            metadata: d.metadata,
            chunks: d.chunks,
            created_at: d.created_at,
            text: with_text.then_some(d.text),
        }
    }
}

/// A source of an answer: which chunk of which document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Source {
    /// Document id.
    pub document_id: String,
    /// Chunk index within the document.
    pub chunk_index: usize,
    /// First char of the chunk in the document.
    pub start: usize,
    /// One past its last char.
    pub end: usize,
    /// Cosine similarity to the question.
    pub score: f32,
}

/// What retrieval gave a question.
#[derive(Debug, Clone)]
pub struct Retrieved {
    /// The prompt context: each chunk with its source tag.
    pub context: String,
    /// The chunks used.
    pub sources: Vec<Source>,
    /// Milliseconds spent (embedding and search).
    pub latency_ms: f64,
}

/// The document store and its vector index.
pub struct Retriever {
    store: Arc<Store>,
    embeddings: Arc<Embeddings>,
    cfg: RetrievalConfig,
    index: RwLock<Index>,
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(format!("retrieval is unavailable: {e}"))
}

fn store_error(e: StoreError) -> GatewayError {
    match e {
        StoreError::Exists(what) => GatewayError::Conflict(format!(
            "{what} already exists; delete it first or use another id"
        )),
        other => GatewayError::Internal(other.to_string()),
    }
}

/// Ids are 1–128 characters of letters, digits, `-`, `_`, `.` and `:`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Retriever {
    /// Loads every stored chunk into the index.
    pub fn load(
        store: Arc<Store>,
        embeddings: Arc<Embeddings>,
        cfg: RetrievalConfig,
    ) -> Result<Retriever, StoreError> {
        let mut index = Index::default();
        let chunks = store.chunks()?;
        let n = chunks.len();
        for c in chunks {
            index.add(c);
        }
        if n > 0 {
            tracing::info!(chunks = n, "retrieval index loaded");
        }
        Ok(Retriever {
            store,
            embeddings,
            cfg,
            index: RwLock::new(index),
        })
    }

    /// Chunks, embeds and stores a document.
    pub async fn ingest(
        &self,
        id: Option<String>,
        text: String,
        metadata: Value,
    ) -> Result<DocumentInfo, GatewayError> {
        let id = id.unwrap_or_else(|| format!("doc_{:016x}", rand::random::<u64>()));
        if !valid_id(&id) {
            return Err(GatewayError::invalid(
                "`id` must be 1-128 characters of letters, digits, '-', '_', '.' or ':'",
                Some("id"),
            ));
        }
        if text.trim().is_empty() {
            return Err(GatewayError::invalid(
                "`text` must not be empty",
                Some("text"),
            ));
        }
        if !metadata.is_object() {
            return Err(GatewayError::invalid(
                "`metadata` must be an object",
                Some("metadata"),
            ));
        }
        if !self.embeddings.enabled() {
            return Err(unavailable("no embedding backend (see /health/ready)"));
        }
        let pieces = chunk::chunk(&text, self.cfg.chunk_chars, self.cfg.chunk_overlap);
        let vectors = self
            .embeddings
            .embed(pieces.iter().map(|p| p.text.clone()).collect())
            .await
            .map_err(unavailable)?;
        let chunks: Vec<StoredChunk> = pieces
            .into_iter()
            .zip(vectors)
            .enumerate()
            .map(|(idx, (p, v))| StoredChunk {
                document_id: id.clone(),
                idx,
                start: p.start,
                end: p.end,
                text: p.text,
                embedding: Some(v),
            })
            .collect();
        let doc = StoredDocument {
            id: id.clone(),
            metadata,
            text,
            created_at: unix_now(),
            chunks: chunks.len(),
        };
        let store = self.store.clone();
        let (doc, chunks) = actix_web::web::block(move || {
            store.insert_document(&doc, &chunks).map(|()| (doc, chunks))
        })
        .await
        .map_err(|e| GatewayError::Internal(e.to_string()))?
        .map_err(store_error)?;
        let mut index = self.index.write();
        for c in chunks {
            index.add(c);
        }
        tracing::info!(document_id = %doc.id, chunks = doc.chunks, "document stored");
        Ok(DocumentInfo::from_stored(doc, false))
    }

    /// Every document (without text).
    pub async fn list(&self) -> Result<Vec<DocumentInfo>, GatewayError> {
        let store = self.store.clone();
        let docs = actix_web::web::block(move || store.documents(false))
            .await
            .map_err(|e| GatewayError::Internal(e.to_string()))?
            .map_err(store_error)?;
        Ok(docs
            .into_iter()
            .map(|d| DocumentInfo::from_stored(d, false))
            .collect())
    }

    /// One document with its text.
    pub async fn get(&self, id: String) -> Result<DocumentInfo, GatewayError> {
        let store = self.store.clone();
        let key = id.clone();
        actix_web::web::block(move || store.document(&key))
            .await
            .map_err(|e| GatewayError::Internal(e.to_string()))?
            .map_err(store_error)?
            .map(|d| DocumentInfo::from_stored(d, true))
            .ok_or_else(|| GatewayError::Missing(format!("no document `{id}`")))
    }

    /// Deletes a document and its chunks.
    pub async fn delete(&self, id: String) -> Result<(), GatewayError> {
        let store = self.store.clone();
        let key = id.clone();
        let existed = actix_web::web::block(move || store.delete_document(&key))
            .await
            .map_err(|e| GatewayError::Internal(e.to_string()))?
            .map_err(store_error)?;
        if !existed {
            return Err(GatewayError::Missing(format!("no document `{id}`")));
        }
        self.index.write().remove(&id);
        tracing::info!(document_id = %id, "document deleted");
        Ok(())
    }

    /// The `k` chunks nearest to `vector`, best first.
    fn nearest(&self, vector: &[f32], k: usize) -> Vec<DocumentHit> {
        let index = self.index.read();
        index
            .space
            .search(vector, k)
            .into_iter()
            .filter_map(|(id, score)| {
                index.chunks.get(&id).map(|c| DocumentHit {
                    document_id: c.document_id.clone(),
                    chunk_index: c.idx,
                    start: c.start,
                    end: c.end,
                    text: c.text.clone(),
                    score,
                })
            })
            .collect()
    }

    /// The `k` chunks nearest to `query`.
    pub async fn search(&self, query: &str, k: usize) -> Result<Vec<DocumentHit>, GatewayError> {
        let mut v = self
            .embeddings
            .embed(vec![query.to_string()])
            .await
            .map_err(unavailable)?;
        let vector = v.pop().ok_or_else(|| unavailable("no vector"))?;
        Ok(self.nearest(&vector, k))
    }

    /// Context for `query` (top `retrieval.top_k` chunks) within `retrieval.timeout_ms`.
    pub async fn retrieve(&self, query: &str) -> Result<Retrieved, GatewayError> {
        let started = Instant::now();
        let hits = tokio::time::timeout(self.cfg.timeout, self.search(query, self.cfg.top_k))
            .await
            .map_err(|_| {
                unavailable(format!(
                    "no answer within {} ms",
                    self.cfg.timeout.as_millis()
                ))
            })??;
        let context = hits
            .iter()
            .map(|h| {
                format!(
                    "[{}#{} chars {}-{}]\n{}",
                    h.document_id, h.chunk_index, h.start, h.end, h.text
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        Ok(Retrieved {
            context,
            sources: hits
                .into_iter()
                .map(|h| Source {
                    document_id: h.document_id,
                    chunk_index: h.chunk_index,
                    start: h.start,
                    end: h.end,
                    score: h.score,
                })
                .collect(),
            latency_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        })
    }
}

/// The retriever as the `search_documents` tool's backend; tools run on the blocking pool, so
/// the async search is driven to completion there.
pub struct ToolSearch {
    retriever: Arc<Retriever>,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
}

impl ToolSearch {
    /// A backend over `retriever`, driven on `runtime`.
    pub fn new(retriever: Arc<Retriever>, runtime: tokio::runtime::Handle) -> ToolSearch {
        let timeout = retriever.cfg.timeout;
        ToolSearch {
            retriever,
            runtime,
            timeout,
        }
    }
}

impl DocumentSearch for ToolSearch {
    fn search(&self, query: &str, k: usize) -> Result<Vec<DocumentHit>, String> {
        // Built inside `block_on`, so the timer belongs to the runtime.
        let found = self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, self.retriever.search(query, k)).await
        });
        match found {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "document search took longer than {} ms",
                self.timeout.as_millis()
            )),
        }
    }
}
