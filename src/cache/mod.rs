//! The cache as pure code: keys and namespaces ([`keys`]), the near-miss check ([`near_miss`]),
//! per-namespace vector search ([`space`], [`index`]) and single flight ([`flight`]). The
//! `CacheActor` (in `actors`) owns the entries.

pub mod flight;
pub mod index;
pub mod keys;
pub mod near_miss;
pub mod space;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

pub use keys::{CacheKeys, Scope, cache_keys};

/// Why a request went on without the cache.
#[derive(Debug, Clone, Copy)]
pub enum Degradation {
    /// The cache actor did not answer in time.
    LookupTimeout,
    /// The embedder did not answer in time.
    EmbedTimeout,
    /// The embedder failed or refused (queue full).
    EmbedFailed,
}

/// Counts of requests that skipped the cache because part of it failed or was slow.
#[derive(Debug, Default)]
pub struct CacheHealth {
    lookup_timeouts: AtomicU64,
    embed_timeouts: AtomicU64,
    embed_failures: AtomicU64,
}

impl CacheHealth {
    /// Counts one degradation.
    pub fn count(&self, d: Degradation) {
        let c = match d {
            Degradation::LookupTimeout => &self.lookup_timeouts,
            Degradation::EmbedTimeout => &self.embed_timeouts,
            Degradation::EmbedFailed => &self.embed_failures,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts as JSON.
    pub fn snapshot(&self) -> Value {
        json!({
            "lookup_timeouts": self.lookup_timeouts.load(Ordering::Relaxed),
            "embed_timeouts": self.embed_timeouts.load(Ordering::Relaxed),
            "embed_failures": self.embed_failures.load(Ordering::Relaxed),
        })
    }
}
