//! Shared fixtures for the embedding tests: the real model, loaded once.
#![allow(clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::Embedder;

/// Where the tests look for the model: `$SLUICE_MODEL_DIR`, else the crate's
/// `models/all-MiniLM-L6-v2`.
pub(crate) fn model_dir() -> PathBuf {
    std::env::var_os("SLUICE_MODEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"),
        PathBuf::from,
    )
}

/// The real model. Fails the test (never skips it) when the model is absent.
pub(crate) fn embedder() -> Arc<Embedder> {
    static MODEL: OnceLock<Arc<Embedder>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| {
        let dir = model_dir();
        match Embedder::load(&dir) {
            Ok(model) => Arc::new(model),
            Err(err) => panic!(
                "embedding tests need the real model in {} ({err}). \
                 Run scripts/fetch_model.sh or set SLUICE_MODEL_DIR.",
                dir.display()
            ),
        }
    }))
}
