//! `CacheActor`: an exact-match response cache keyed by the normalised request, with TTL and
//! least-recently-used eviction. Expired entries stay until evicted so the fallback chain can
//! serve them as a last resort.

use std::{
    num::NonZeroUsize,
    sync::Arc,
    time::{Duration, SystemTime},
};

use actix::prelude::*;
use lru::LruCache;
use serde::Serialize;
use serde_json::json;

use super::{
    messages::{CacheLookup, CacheStore, CachedAnswer, GetCacheStats},
    stats::ActorStats,
};
use crate::config::CacheConfig;

/// The cache.
pub struct CacheActor {
    entries: LruCache<String, CachedAnswer>,
    ttl: Duration,
    hits: u64,
    misses: u64,
    stale_hits: u64,
    evictions: u64,
    stats: Arc<ActorStats>,
}

/// `/v1/cache/stats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CacheStatsReport {
    /// Entries held (fresh or expired).
    pub entries: usize,
    /// Capacity.
    pub max_entries: usize,
    /// Fresh hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Hits / (hits + misses), in percent.
    pub hit_rate_pct: f64,
    /// Expired answers served as the fallback of last resort.
    pub stale_hits: u64,
    /// Entries evicted for room.
    pub evictions: u64,
    /// TTL in seconds.
    pub ttl_secs: u64,
}

impl CacheActor {
    /// A cache sized from config.
    pub fn new(cfg: &CacheConfig, stats: Arc<ActorStats>) -> Self {
        let cap = NonZeroUsize::new(cfg.max_entries).unwrap_or(NonZeroUsize::MIN);
        CacheActor {
            entries: LruCache::new(cap),
            ttl: cfg.ttl,
            hits: 0,
            misses: 0,
            stale_hits: 0,
            evictions: 0,
            stats,
        }
    }

    fn report(&self) -> CacheStatsReport {
        let total = self.hits + self.misses;
        CacheStatsReport {
            entries: self.entries.len(),
            max_entries: self.entries.cap().get(),
            hits: self.hits,
            misses: self.misses,
            hit_rate_pct: if total == 0 {
                0.0
            } else {
                (self.hits as f64 * 10_000.0 / total as f64).round() / 100.0
            },
            stale_hits: self.stale_hits,
            evictions: self.evictions,
            ttl_secs: self.ttl.as_secs(),
        }
    }

    fn publish(&self) {
        let r = self.report();
        self.stats.set_state(json!({
            "entries": r.entries, "hits": r.hits, "misses": r.misses, "hit_rate_pct": r.hit_rate_pct,
        }));
    }
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
    type Result = Option<CachedAnswer>;

    fn handle(&mut self, msg: CacheLookup, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let now = SystemTime::now();
        let ttl = self.ttl;
        let found = self.entries.get(&msg.key).map(|e| {
            let age = now.duration_since(e.stored_at).unwrap_or_default();
            (e.clone(), age > ttl)
        });
        match found {
            Some((entry, false)) => {
                self.hits += 1;
                Some(entry)
            }
            Some((mut entry, true)) if msg.allow_stale => {
                self.stale_hits += 1;
                entry.stale = true;
                Some(entry)
            }
            _ => {
                if !msg.allow_stale {
                    self.misses += 1;
                }
                None
            }
        }
    }
}

impl Handler<CacheStore> for CacheActor {
    type Result = ();

    fn handle(&mut self, msg: CacheStore, _: &mut Self::Context) {
        self.stats.handled();
        if let Some((old_key, _)) = self.entries.push(msg.key.clone(), msg.answer)
            && old_key != msg.key
        {
            self.evictions += 1;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wire::Usage;

    fn answer(text: &str, age: Duration) -> CachedAnswer {
        CachedAnswer {
            text: text.into(),
            model: "m".into(),
            finish_reason: "stop".into(),
            usage: Usage::new(1, 1),
            stored_at: SystemTime::now() - age,
            stale: false,
        }
    }

    #[actix::test]
    async fn ttl_lru_and_stale_fallback() {
        let cfg = CacheConfig {
            enabled: true,
            ttl: Duration::from_secs(60),
            max_entries: 2,
        };
        let addr = CacheActor::new(&cfg, ActorStats::new("cache", "cache")).start();
        let lookup = |key: &str, allow_stale| CacheLookup {
            key: key.into(),
            allow_stale,
        };
        addr.send(CacheStore {
            key: "a".into(),
            answer: answer("A", Duration::ZERO),
        })
        .await
        .unwrap();
        addr.send(CacheStore {
            key: "old".into(),
            answer: answer("O", Duration::from_secs(120)),
        })
        .await
        .unwrap();
        assert_eq!(
            addr.send(lookup("a", false)).await.unwrap().unwrap().text,
            "A"
        );
        assert!(addr.send(lookup("old", false)).await.unwrap().is_none());
        let stale = addr.send(lookup("old", true)).await.unwrap().unwrap();
        assert!(stale.stale);
        // a third entry evicts the least recently used ("a" was used before "old")
        addr.send(CacheStore {
            key: "c".into(),
            answer: answer("C", Duration::ZERO),
        })
        .await
        .unwrap();
        assert!(addr.send(lookup("a", true)).await.unwrap().is_none());
        let s = addr.send(GetCacheStats).await.unwrap();
        assert_eq!(
            (s.entries, s.hits, s.misses, s.stale_hits, s.evictions),
            (2, 1, 1, 1, 1)
        );
    }
}
