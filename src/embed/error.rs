//! Errors raised while loading the embedding model or embedding text.

use std::path::PathBuf;

/// Why an embedding could not be produced.
///
/// Every variant is cheap to clone so that one failed batch can report the
/// same error to each caller waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    /// A model file is absent; the weights are fetched separately.
    #[error("embedding model file {} not found; run scripts/fetch_model.sh to download it", path.display())]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file exists but could not be read.
    #[error("cannot read embedding model file {}: {reason}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        reason: String,
    },
    /// The weights are not the exact file this code was tested with.
    #[error("{} has sha256 {actual}, expected {expected}; re-run scripts/fetch_model.sh", path.display())]
    BadHash {
        /// The weights file.
        path: PathBuf,
        /// The hash we require.
        expected: &'static str,
        /// The hash we found.
        actual: String,
    },
    /// A model file could not be parsed (bad JSON, bad safetensors, wrong tensors).
    #[error("invalid embedding model file {}: {reason}", path.display())]
    BadFormat {
        /// The offending file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The tokenizer rejected the input or its settings.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The model's forward pass failed.
    #[error("embedding inference failed: {0}")]
    Inference(String),
    /// The pool's queue is full; callers should degrade (e.g. skip the semantic cache).
    #[error("embedding pool is busy")]
    Busy,
    /// The pool has shut down or its worker thread died.
    #[error("embedding pool is closed")]
    Closed,
    /// The OpenAI-compatible embeddings upstream failed.
    #[error("embeddings upstream: {0}")]
    Remote(String),
    /// No backend is configured or the model could not load.
    #[error("embeddings unavailable: {0}")]
    Unavailable(String),
    /// A pool worker thread could not be started.
    #[error("cannot start embedding worker thread: {0}")]
    Spawn(String),
}

impl From<candle_core::Error> for EmbedError {
    fn from(err: candle_core::Error) -> Self {
        Self::Inference(err.to_string())
    }
}
