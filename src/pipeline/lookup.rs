//! The cache's part of the flow: exact then semantic lookup, storing good answers, the stale
//! answer of last resort, and single flight. A slow or failing cache or embedder is a miss,
//! counted and logged; it never fails a request.

use std::sync::Arc;
use tracing::Instrument;

use super::{Answer, CachePolicy, CacheStatus, Gateway, Prepared};
use crate::{
    actors::messages::{CacheHit, CacheLookup, CacheStore, CachedAnswer, SemanticLookup},
    cache::{CacheKeys, Degradation, flight::Joined},
    embed::EmbedFailure,
};

/// What the lookup found, and the question's embedding for storing later.
pub(super) struct Found {
    pub hit: Option<CacheHit>,
    pub vector: Option<Arc<Vec<f32>>>,
}

impl Gateway {
    fn semantic_on(&self) -> bool {
        self.config.cache.semantic.enabled && self.embeddings.enabled()
    }

    fn degraded(&self, request_id: &str, d: Degradation, detail: &dyn std::fmt::Display) {
        self.services.cache_health.count(d);
        tracing::warn!(request_id, cause = ?d, %detail, "cache skipped; the request goes to the provider");
    }

    /// Exact lookup, then (on a miss) the semantic one.
    pub(super) async fn lookup(
        &self,
        request_id: &str,
        keys: &Arc<CacheKeys>,
        policy: CachePolicy,
    ) -> Found {
        let mut found = Found {
            hit: None,
            vector: None,
        };
        if policy != CachePolicy::Normal {
            return found;
        }
        let wait = self.config.cache.semantic.lookup_timeout;
        let semantic = self.semantic_on();
        let exact = self.services.cache.send(CacheLookup {
            keys: keys.clone(),
            allow_stale: false,
            last: !semantic,
        });
        match tokio::time::timeout(wait, exact).await {
            Ok(Ok(Some(hit))) => {
                found.hit = Some(hit);
                return found;
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                self.degraded(request_id, Degradation::LookupTimeout, &e);
                return found;
            }
            Err(_) => {
                self.degraded(request_id, Degradation::LookupTimeout, &"exact lookup");
                return found;
            }
        }
        if !semantic {
            return found;
        }
        let vector = match self
            .embeddings
            .embed_quick(keys.question.clone())
            .instrument(tracing::info_span!("embedding"))
            .await
        {
            Ok(v) => Arc::new(v),
            Err(EmbedFailure::Timeout) => {
                self.degraded(request_id, Degradation::EmbedTimeout, &"embedding");
                return found;
            }
            Err(EmbedFailure::Failed(e)) => {
                self.degraded(request_id, Degradation::EmbedFailed, &e);
                return found;
            }
        };
        found.vector = Some(vector.clone());
        let near = self.services.cache.send(SemanticLookup {
            keys: keys.clone(),
            vector,
        });
        match tokio::time::timeout(wait, near).await {
            Ok(Ok(hit)) => found.hit = hit,
            Ok(Err(e)) => self.degraded(request_id, Degradation::LookupTimeout, &e),
            Err(_) => self.degraded(request_id, Degradation::LookupTimeout, &"semantic lookup"),
        }
        found
    }

    /// Whether an answer may be cached (and shared with followers).
    pub(super) fn cacheable(&self, a: &Answer) -> bool {
        a.guardrail_output_pass
            && (a.tool_calls.is_none() || self.config.cache.semantic.cache_tool_calls)
            && matches!(a.finish_reason.as_str(), "stop" | "length")
    }

    /// Stores a good answer under the request's keys (embedding its question first when the
    /// lookup did not) and lands the request's flight.
    pub(super) fn store(&self, p: &Prepared, a: &Answer) {
        let ok = self.cacheable(a);
        if let Some(Joined::Lead(lead)) = p.flight.lock().take()
            && ok
        {
            lead.land(a.clone());
        }
        let Some(keys) = p.cache_keys.clone() else {
            return;
        };
        if !ok || p.cache_policy == CachePolicy::Bypass {
            return;
        }
        let answer = CachedAnswer {
            text: a.text.clone(),
            model: a.model.clone(),
            finish_reason: a.finish_reason.clone(),
            usage: a.usage,
            cost_usd: a.cost_usd,
            stored_at: std::time::SystemTime::now(),
            stale: false,
        };
        match (&p.vector, self.semantic_on()) {
            (Some(v), _) => self.services.cache.do_send(CacheStore {
                keys,
                vector: Some(v.clone()),
                answer,
            }),
            (None, true) => {
                // Off the response path: the answer is stored once its question is embedded.
                let (cache, embeddings) = (self.services.cache.clone(), self.embeddings.clone());
                tokio::spawn(async move {
                    let vector = embeddings
                        .embed(vec![keys.question.clone()])
                        .await
                        .ok()
                        .and_then(|mut v| v.pop())
                        .map(Arc::new);
                    cache.do_send(CacheStore {
                        keys,
                        vector,
                        answer,
                    });
                });
            }
            (None, false) => self.services.cache.do_send(CacheStore {
                keys,
                vector: None,
                answer,
            }),
        }
    }

    /// An expired cached answer, the last resort before 503.
    pub(super) async fn stale_answer(&self, p: &Prepared) -> Option<CachedAnswer> {
        let keys = p.cache_keys.clone()?;
        let lookup = self.services.cache.send(CacheLookup {
            keys,
            allow_stale: true,
            last: false,
        });
        tokio::time::timeout(self.config.cache.semantic.lookup_timeout, lookup)
            .await
            .ok()?
            .ok()
            .flatten()
            .map(|h| h.answer)
    }

    /// The leader's answer when this request followed an identical one in flight.
    pub(super) async fn follow(&self, p: &Prepared) -> Option<Answer> {
        let taken = p.flight.lock().take();
        let follow = match taken {
            Some(Joined::Follow(f)) => f,
            other => {
                *p.flight.lock() = other;
                return None;
            }
        };
        let shared = follow.wait().await?;
        let mut a = (*shared).clone();
        a.request_id = p.request_id.clone();
        a.cache = CacheStatus::Shared;
        a.cost_usd = crate::money::Usd::ZERO;
        a.similarity = Some(1.0);
        a.pii_detected = p.pii_detected.clone();
        a.latency_ms = super::ms_since(p.started);
        a.ttft_ms = None;
        Some(a)
    }
}
