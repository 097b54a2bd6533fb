//! `CacheActor`: the response cache. An exact path (the normalised question in its namespace),
//! then a semantic path: the nearest cached questions of the same namespace by embedding, each
//! checked by [`crate::cache::near_miss`] before it may be served. TTL and least-recently-used
//! eviction; expired entries stay until evicted so the fallback chain can serve them as a last
//! resort. Every handler is a short synchronous section: embeddings are made before the message
//! is sent.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::Arc,
    time::{Duration, SystemTime},
};

use actix::prelude::*;
use lru::LruCache;
use serde::Serialize;
use serde_json::json;

use super::{
    messages::{CacheHit, CacheLookup, CacheStore, CachedAnswer, GetCacheStats, SemanticLookup},
    stats::ActorStats,
};
use crate::{
    cache::{CacheHealth, near_miss, space::SpaceIndex},
    config::CacheConfig,
};

/// Candidates fetched from a namespace's index per semantic lookup.
const CANDIDATES: usize = 5;

struct Entry {
    namespace: String,
    exact: String,
    question: String,
    answer: CachedAnswer,
}

#[derive(Default)]
struct Space {
    label: String,
    index: SpaceIndex,
    entries: usize,
    hits: u64,
    misses: u64,
    saved_usd: f64,
}

/// The cache.
pub struct CacheActor {
    entries: LruCache<u64, Entry>,
    exact: HashMap<String, u64>,
    spaces: HashMap<String, Space>,
    next_id: u64,
    ttl: Duration,
    threshold: f32,
    hits: u64,
    semantic_hits: u64,
    near_misses_refused: u64,
    misses: u64,
    stale_hits: u64,
    evictions: u64,
    saved_usd: f64,
    health: Arc<CacheHealth>,
    stats: Arc<ActorStats>,
}

/// One namespace in `/v1/cache/stats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamespaceStats {
    /// `scope/template@version/model#hash`.
    pub namespace: String,
    /// Entries held.
    pub entries: usize,
    /// Hits (exact and semantic).
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Hits / (hits + misses), in percent.
    pub hit_rate_pct: f64,
    /// USD the hits did not spend again.
    pub saved_usd: f64,
}

/// `/v1/cache/stats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CacheStatsReport {
    /// Entries held (fresh or expired).
    pub entries: usize,
    /// Capacity.
    pub max_entries: usize,
    /// Fresh hits, exact and semantic.
    pub hits: u64,
    /// Of which semantic (a different wording of a cached question).
    pub semantic_hits: u64,
    /// Similar questions the second check refused to serve (near-misses).
    pub near_misses_refused: u64,
    /// Misses.
    pub misses: u64,
    /// Hits / (hits + misses), in percent.
    pub hit_rate_pct: f64,
    /// Expired answers served as the fallback of last resort.
    pub stale_hits: u64,
    /// Entries evicted for room.
    pub evictions: u64,
    /// USD the hits did not spend again.
    pub saved_usd: f64,
    /// TTL in seconds.
    pub ttl_secs: u64,
    /// Similarity a semantic hit needs.
    pub similarity_threshold: f32,
    /// Requests that went on without the cache (timeouts, embedder failures), by cause.
    pub degraded: serde_json::Value,
    /// Per namespace, busiest first.
    pub namespaces: Vec<NamespaceStats>,
}

fn rate(hits: u64, misses: u64) -> f64 {
    let total = hits + misses;
    if total == 0 {
        0.0
    } else {
        (hits as f64 * 10_000.0 / total as f64).round() / 100.0
    }
}

impl CacheActor {
    /// A cache sized from config; `health` counts the degradations seen by the pipeline.
    pub fn new(cfg: &CacheConfig, health: Arc<CacheHealth>, stats: Arc<ActorStats>) -> Self {
        let cap = NonZeroUsize::new(cfg.max_entries).unwrap_or(NonZeroUsize::MIN);
        CacheActor {
            entries: LruCache::new(cap),
            exact: HashMap::new(),
            spaces: HashMap::new(),
            next_id: 0,
            ttl: cfg.ttl,
            threshold: cfg.semantic.similarity_threshold,
            hits: 0,
            semantic_hits: 0,
            near_misses_refused: 0,
            misses: 0,
            stale_hits: 0,
            evictions: 0,
            saved_usd: 0.0,
            health,
            stats,
        }
    }

    fn report(&self) -> CacheStatsReport {
        let mut namespaces: Vec<NamespaceStats> = self
            .spaces
            .values()
            .map(|s| NamespaceStats {
                namespace: s.label.clone(),
                entries: s.entries,
                hits: s.hits,
                misses: s.misses,
                hit_rate_pct: rate(s.hits, s.misses),
                saved_usd: round_usd(s.saved_usd),
            })
            .collect();
        namespaces.sort_by(|a, b| {
            (b.hits + b.misses)
                .cmp(&(a.hits + a.misses))
                .then_with(|| a.namespace.cmp(&b.namespace))
        });
        CacheStatsReport {
            entries: self.entries.len(),
            max_entries: self.entries.cap().get(),
            hits: self.hits,
            semantic_hits: self.semantic_hits,
            near_misses_refused: self.near_misses_refused,
            misses: self.misses,
            hit_rate_pct: rate(self.hits, self.misses),
            stale_hits: self.stale_hits,
            evictions: self.evictions,
            saved_usd: round_usd(self.saved_usd),
            ttl_secs: self.ttl.as_secs(),
            similarity_threshold: self.threshold,
            degraded: self.health.snapshot(),
            namespaces,
        }
    }

    fn publish(&self) {
        self.stats.set_state(json!({
            "entries": self.entries.len(), "hits": self.hits, "semantic_hits": self.semantic_hits,
            "misses": self.misses, "hit_rate_pct": rate(self.hits, self.misses),
        }));
    }

    fn count_hit(&mut self, namespace: &str, saved: f64, semantic: bool) {
        self.hits += 1;
        self.saved_usd += saved;
        if semantic {
            self.semantic_hits += 1;
        }
        if let Some(s) = self.spaces.get_mut(namespace) {
            s.hits += 1;
            s.saved_usd += saved;
        }
    }

    fn count_miss(&mut self, namespace: &str, label: &str) {
        self.misses += 1;
        let space = self.spaces.entry(namespace.to_string()).or_default();
        if space.label.is_empty() {
            space.label = label.to_string();
        }
        space.misses += 1;
    }

    fn forget(&mut self, id: u64, entry: &Entry) {
        self.exact.remove(&entry.exact);
        let empty = match self.spaces.get_mut(&entry.namespace) {
            Some(space) => {
                space.index.remove(id);
                space.entries = space.entries.saturating_sub(1);
                space.entries == 0 && space.hits == 0 && space.misses == 0
            }
            None => false,
        };
        if empty {
            self.spaces.remove(&entry.namespace);
        }
    }
}

fn expired(ttl: Duration, a: &CachedAnswer, now: SystemTime) -> bool {
    now.duration_since(a.stored_at).unwrap_or_default() > ttl
}

fn round_usd(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

impl Actor for CacheActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(super::provider::MAILBOX_CAPACITY);
        ctx.run_interval(Duration::from_secs(1), |act, _| act.publish());
    }
}

impl Supervised for CacheActor {}

impl Handler<CacheLookup> for CacheActor {
    type Result = Option<CacheHit>;

    fn handle(&mut self, msg: CacheLookup, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let now = SystemTime::now();
        let ttl = self.ttl;
        let found = self
            .exact
            .get(&msg.keys.exact)
            .copied()
            .and_then(|id| self.entries.get(&id))
            .map(|e| (e.answer.clone(), expired(ttl, &e.answer, now)));
        match found {
            Some((answer, false)) => {
                self.count_hit(
                    &msg.keys.namespace,
                    crate::money::to_f64(answer.cost_usd),
                    false,
                );
                Some(CacheHit {
                    answer,
                    similarity: 1.0,
                })
            }
            Some((mut answer, true)) if msg.allow_stale => {
                self.stale_hits += 1;
                answer.stale = true;
                Some(CacheHit {
                    answer,
                    similarity: 1.0,
                })
            }
            _ => {
                if msg.last && !msg.allow_stale {
                    self.count_miss(&msg.keys.namespace, &msg.keys.label);
                }
                None
            }
        }
    }
}

impl Handler<SemanticLookup> for CacheActor {
    type Result = Option<CacheHit>;

    fn handle(&mut self, msg: SemanticLookup, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let now = SystemTime::now();
        let candidates = self
            .spaces
            .get(&msg.keys.namespace)
            .map(|s| s.index.search(&msg.vector, CANDIDATES))
            .unwrap_or_default();
        let mut chosen = None;
        for (id, similarity) in candidates {
            if similarity < self.threshold {
                break;
            }
            let Some(entry) = self.entries.peek(&id) else {
                continue;
            };
            if expired(self.ttl, &entry.answer, now) {
                continue;
            }
            match near_miss::check(&entry.question, &msg.keys.question) {
                Ok(()) => {
                    chosen = Some((id, similarity));
                    break;
                }
                Err(why) => {
                    self.near_misses_refused += 1;
                    tracing::debug!(similarity, reason = %why, "semantic cache: a similar question was refused by the second check");
                }
            }
        }
        let Some((id, similarity)) = chosen else {
            self.count_miss(&msg.keys.namespace, &msg.keys.label);
            return None;
        };
        let answer = self.entries.get(&id).map(|e| e.answer.clone())?;
        self.count_hit(
            &msg.keys.namespace,
            crate::money::to_f64(answer.cost_usd),
            true,
        );
        Some(CacheHit { answer, similarity })
    }
}

impl Handler<CacheStore> for CacheActor {
    type Result = ();

    fn handle(&mut self, msg: CacheStore, _: &mut Self::Context) {
        self.stats.handled();
        let keys = &msg.keys;
        if let Some(id) = self.exact.get(&keys.exact).copied()
            && let Some(entry) = self.entries.get_mut(&id)
        {
            entry.answer = msg.answer;
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let entry = Entry {
            namespace: keys.namespace.clone(),
            exact: keys.exact.clone(),
            question: keys.question.clone(),
            answer: msg.answer,
        };
        if let Some((old_id, old)) = self.entries.push(id, entry) {
            self.evictions += 1;
            self.forget(old_id, &old);
        }
        self.exact.insert(keys.exact.clone(), id);
        let space = self.spaces.entry(keys.namespace.clone()).or_default();
        if space.label.is_empty() {
            space.label = keys.label.clone();
        }
        space.entries += 1;
        if let Some(v) = &msg.vector {
            space.index.insert(id, v);
        }
    }
}

impl Handler<GetCacheStats> for CacheActor {
    type Result = MessageResult<GetCacheStats>;

    fn handle(&mut self, _: GetCacheStats, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        MessageResult(self.report())
    }
}
