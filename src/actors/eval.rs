//! `EvalActor`: a quality record per request, aggregated per template, version and model.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
};

use actix::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{
    inbox::{Drain, Inbox},
    messages::{GetEvalSummary, RecordEval},
    stats::ActorStats,
};

/// Recent records kept for inspection.
const RECENT: usize = 200;

/// Aggregates of one (template, version, model).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct EvalGroup {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Model.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Mean latency.
    pub mean_latency_ms: f64,
    /// Mean output length in characters.
    pub mean_output_chars: f64,
    /// Output guardrail failures.
    pub guardrail_output_failures: u64,
    /// Cache hits.
    pub cache_hits: u64,
}

/// `/admin/eval`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvalSummary {
    /// Per template, version and model.
    pub groups: Vec<EvalGroup>,
    /// The latest records, newest last.
    pub recent: Vec<RecordEval>,
}

/// The evaluation logger.
pub struct EvalActor {
    groups: BTreeMap<(String, String, String), EvalGroup>,
    recent: VecDeque<RecordEval>,
    inbox: Arc<Inbox<RecordEval>>,
    stats: Arc<ActorStats>,
}

impl EvalActor {
    /// An empty log fed by `inbox`.
    pub fn new(inbox: Arc<Inbox<RecordEval>>, stats: Arc<ActorStats>) -> Self {
        EvalActor {
            inbox,
            groups: BTreeMap::new(),
            recent: VecDeque::with_capacity(RECENT),
            stats,
        }
    }
}

impl Actor for EvalActor {
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

impl Supervised for EvalActor {}

impl EvalActor {
    fn apply(&mut self, r: RecordEval) {
        self.stats.handled();
        let key = (r.template.clone(), r.version.clone(), r.model.clone());
        let g = self.groups.entry(key).or_insert_with(|| EvalGroup {
            template: r.template.clone(),
            version: r.version.clone(),
            model: r.model.clone(),
            ..EvalGroup::default()
        });
        let n = g.requests as f64;
        g.requests += 1;
        g.mean_latency_ms = (g.mean_latency_ms * n + r.latency_ms) / (n + 1.0);
        g.mean_output_chars = (g.mean_output_chars * n + r.output_chars as f64) / (n + 1.0);
        g.errors += u64::from(r.error.is_some());
        g.guardrail_output_failures += u64::from(!r.guardrail_output_pass);
        g.cache_hits += u64::from(r.cache_hit);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r);
    }

    fn drain(&mut self) {
        let batch = self.inbox.take();
        if batch.is_empty() {
            return;
        }
        for r in batch {
            self.apply(r);
        }
        self.stats
            .set_state(json!({"groups": self.groups.len(), "recent": self.recent.len()}));
    }
}

impl Handler<RecordEval> for EvalActor {
    type Result = ();

    fn handle(&mut self, r: RecordEval, _: &mut Self::Context) {
        self.drain();
        self.apply(r);
    }
}

impl Handler<Drain> for EvalActor {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Self::Context) {
        self.drain();
    }
}

impl Handler<GetEvalSummary> for EvalActor {
    type Result = MessageResult<GetEvalSummary>;

    fn handle(&mut self, _: GetEvalSummary, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        self.drain();
        MessageResult(EvalSummary {
            groups: self.groups.values().cloned().collect(),
            recent: self.recent.iter().cloned().collect(),
        })
    }
}
