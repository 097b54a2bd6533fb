//! `CostActor`: token and cost accounting per request, user and model.

use std::{collections::HashMap, sync::Arc};

use actix::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{
    inbox::{Drain, Inbox},
    messages::{GetCosts, RecordUsage},
    stats::ActorStats,
};
use crate::wire::Usage;

/// USD for `usage` at the given per-million prices.
pub fn price(usage: &Usage, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
    let raw = usage.prompt_tokens as f64 * input_per_mtok / 1e6
        + usage.completion_tokens as f64 * output_per_mtok / 1e6;
    (raw * 1e8).round() / 1e8
}

/// Totals of one user or model.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Totals {
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// USD.
    pub cost_usd: f64,
}

impl Totals {
    fn add(&mut self, r: &RecordUsage) {
        self.requests += 1;
        self.input_tokens += r.usage.prompt_tokens;
        self.output_tokens += r.usage.completion_tokens;
        self.cost_usd += r.cost_usd;
    }
}

/// `/v1/costs`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostSummary {
    /// Everything.
    pub total: Totals,
    /// Requests answered from cache.
    pub cache_hits: u64,
    /// Cache hits in percent of requests.
    pub cache_hit_rate_pct: f64,
    /// Mean USD per request.
    pub avg_cost_per_request: f64,
    /// Requests whose tokens were counted by us, not reported by the provider.
    pub estimated_requests: u64,
    /// Per model.
    pub by_model: HashMap<String, Totals>,
    /// The ten users who spent most.
    pub top_users: Vec<(String, Totals)>,
}

/// The accountant.
pub struct CostActor {
    total: Totals,
    cache_hits: u64,
    estimated: u64,
    by_user: HashMap<String, Totals>,
    by_model: HashMap<String, Totals>,
    inbox: Arc<Inbox<RecordUsage>>,
    stats: Arc<ActorStats>,
}

impl CostActor {
    /// An empty ledger fed by `inbox`.
    pub fn new(inbox: Arc<Inbox<RecordUsage>>, stats: Arc<ActorStats>) -> Self {
        CostActor {
            inbox,
            total: Totals::default(),
            cache_hits: 0,
            estimated: 0,
            by_user: HashMap::new(),
            by_model: HashMap::new(),
            stats,
        }
    }

    fn apply(&mut self, r: RecordUsage) {
        self.stats.handled();
        self.total.add(&r);
        self.by_user.entry(r.user.clone()).or_default().add(&r);
        self.by_model.entry(r.model.clone()).or_default().add(&r);
        if r.cache_hit {
            self.cache_hits += 1;
        }
        if r.estimated {
            self.estimated += 1;
        }
    }

    fn drain(&mut self) {
        let batch = self.inbox.take();
        if batch.is_empty() {
            return;
        }
        for r in batch {
            self.apply(r);
        }
        self.stats.set_state(json!({
            "requests": self.total.requests, "cost_usd": self.total.cost_usd, "users": self.by_user.len(),
        }));
    }

    fn summary(&self) -> CostSummary {
        let mut top: Vec<(String, Totals)> = self
            .by_user
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        top.sort_by(|a, b| b.1.cost_usd.total_cmp(&a.1.cost_usd));
        top.truncate(10);
        let n = self.total.requests.max(1) as f64;
        CostSummary {
            total: self.total.clone(),
            cache_hits: self.cache_hits,
            cache_hit_rate_pct: (self.cache_hits as f64 * 10_000.0 / n).round() / 100.0,
            avg_cost_per_request: self.total.cost_usd / n,
            estimated_requests: self.estimated,
            by_model: self.by_model.clone(),
            top_users: top,
        }
    }
}

impl Actor for CostActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(super::provider::MAILBOX_CAPACITY);
        ctx.run_interval(super::DRAIN_INTERVAL, |act, _| act.drain());
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.drain();
        Running::Stop
    }
}

impl Supervised for CostActor {}

impl Handler<RecordUsage> for CostActor {
    type Result = ();

    fn handle(&mut self, r: RecordUsage, _: &mut Self::Context) {
        self.drain();
        self.apply(r);
    }
}

impl Handler<Drain> for CostActor {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Self::Context) {
        self.drain();
    }
}

impl Handler<GetCosts> for CostActor {
    type Result = MessageResult<GetCosts>;

    fn handle(&mut self, _: GetCosts, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        self.drain();
        MessageResult(self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_per_million() {
        // 1,000 in + 500 out on gpt-4o ($2.50 / $10.00)
        assert_eq!(price(&Usage::new(1000, 500), 2.5, 10.0), 0.0075);
        assert_eq!(price(&Usage::new(0, 0), 2.5, 10.0), 0.0);
    }
}
