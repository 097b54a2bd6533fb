//! Sentence embeddings for the semantic cache, retrieval and `/v1/embeddings`.
//!
//! - [`Embedder`]: all-MiniLM-L6-v2 on candle (CPU): 384-d, L2-normalised vectors, so cosine is
//!   a dot product. The weights are not in the repository: `scripts/fetch_model.sh` fetches them.
//! - [`EmbedPool`]: runs an `Embedder` on dedicated threads (never an async worker) and batches
//!   requests that arrive together; a full queue answers [`EmbedError::Busy`] at once.
//! - [`RemoteEmbedder`]: an OpenAI-compatible `/v1/embeddings` upstream instead.
//! - [`Embeddings`]: whichever of these the configuration chose, or none.

mod error;
mod model;
mod pool;
mod remote;
mod service;
#[cfg(test)]
mod test_support;

pub use error::EmbedError;
pub use model::{Embedder, MAX_TOKENS, MODEL_SHA256, cosine};
pub use pool::{EmbedPool, PoolConfig, PoolStats};
pub use remote::{RemoteEmbedder, normalise};
pub use service::{EmbedFailure, Embeddings, LOCAL_MODEL};
