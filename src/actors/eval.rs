//! `EvalActor`: a quality record per request, aggregated per template, version and model.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

use actix::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{
    inbox::{Drain, Inbox},
    messages::{GetEvalSummary, GetVersionMetrics, RecordEval, RecordFeedback},
    stats::ActorStats,
};
use crate::money::Usd;

/// Recent records kept for inspection.
const RECENT: usize = 200;
/// Latency samples kept per version for its percentiles (the most recent ones).
const SAMPLES: usize = 4096;
/// Requests remembered for feedback (the most recent ones).
const FEEDBACK_WINDOW: usize = 10_000;

/// Figures of one prompt version, all models together.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct VersionMetrics {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// errors / requests, in percent.
    pub error_rate_pct: f64,
    /// Median latency over the latest requests.
    pub p50_latency_ms: f64,
    /// 99th percentile latency over the latest requests.
    pub p99_latency_ms: f64,
    /// Ratings received (`POST /v1/feedback`).
    pub ratings: u64,
    /// Their mean (1-5), when any.
    pub mean_rating: Option<f64>,
    /// USD spent.
    #[schema(value_type = f64)]
    pub cost_usd: Usd,
    /// Cache hits.
    pub cache_hits: u64,
}

#[derive(Default)]
struct VersionAcc {
    requests: u64,
    errors: u64,
    latencies: VecDeque<f64>,
    ratings: u64,
    rating_sum: f64,
    cost_usd: Usd,
    cache_hits: u64,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

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
    /// Mean time to first token, over the streamed answers.
    pub mean_ttft_ms: Option<f64>,
    /// Streamed answers (those with a time to first token).
    pub streamed: u64,
    /// Mean output length in characters.
    pub mean_output_chars: f64,
    /// Output guardrail failures.
    pub guardrail_output_failures: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// USD spent.
    #[schema(value_type = f64)]
    pub cost_usd: Usd,
    /// Guardrail findings by kind.
    pub guardrail_flags: BTreeMap<String, u64>,
    /// Gateway tools run, by name.
    pub tools_used: BTreeMap<String, u64>,
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
    versions: BTreeMap<(String, String), VersionAcc>,
    /// Request id (hashed with `ids`) → its (template, version) in `prompts`, for feedback; a
    /// 64-bit hash and an index keep the window small (10,000 ids as strings held megabytes).
    answered: HashMap<u64, u32>,
    answered_order: VecDeque<u64>,
    /// Every (template, version) answered, once.
    prompts: Vec<(String, String)>,
    /// Random keys: nobody can pick an id that collides with another's.
    ids: std::hash::RandomState,
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
            versions: BTreeMap::new(),
            answered: HashMap::new(),
            answered_order: VecDeque::new(),
            prompts: Vec::new(),
            ids: std::hash::RandomState::new(),
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
        g.cost_usd += r.cost_usd;
        if let Some(t) = r.ttft_ms {
            let s = g.streamed as f64;
            g.mean_ttft_ms = Some((g.mean_ttft_ms.unwrap_or(0.0) * s + t) / (s + 1.0));
            g.streamed += 1;
        }
        for f in &r.guardrail_flags {
            *g.guardrail_flags.entry(f.clone()).or_default() += 1;
        }
        for t in &r.tools_used {
            *g.tools_used.entry(t.clone()).or_default() += 1;
        }
        let v = self
            .versions
            .entry((r.template.clone(), r.version.clone()))
            .or_default();
        v.requests += 1;
        v.errors += u64::from(r.error.is_some());
        v.cost_usd += r.cost_usd;
        v.cache_hits += u64::from(r.cache_hit);
        if v.latencies.len() == SAMPLES {
            v.latencies.pop_front();
        }
        v.latencies.push_back(r.latency_ms);
        if self.answered_order.len() == FEEDBACK_WINDOW
            && let Some(old) = self.answered_order.pop_front()
        {
            self.answered.remove(&old);
        }
        let id = std::hash::BuildHasher::hash_one(&self.ids, &r.request_id);
        let prompt = self.prompt_index(&r.template, &r.version);
        if self.answered.insert(id, prompt).is_none() {
            self.answered_order.push_back(id);
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r);
    }

    /// The index of (template, version) in `prompts`, added when new (they are few).
    fn prompt_index(&mut self, template: &str, version: &str) -> u32 {
        let found = self
            .prompts
            .iter()
            .position(|(t, v)| t == template && v == version);
        let i = found.unwrap_or_else(|| {
            self.prompts
                .push((template.to_string(), version.to_string()));
            self.prompts.len() - 1
        });
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// Applies every record waiting in the inbox.
    pub fn drain(&mut self) {
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

impl EvalActor {
    fn metrics(&self) -> Vec<VersionMetrics> {
        self.versions
            .iter()
            .map(|((template, version), v)| {
                let mut sorted: Vec<f64> = v.latencies.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                VersionMetrics {
                    template: template.clone(),
                    version: version.clone(),
                    requests: v.requests,
                    errors: v.errors,
                    error_rate_pct: if v.requests == 0 {
                        0.0
                    } else {
                        (v.errors as f64 * 10_000.0 / v.requests as f64).round() / 100.0
                    },
                    p50_latency_ms: percentile(&sorted, 0.50),
                    p99_latency_ms: percentile(&sorted, 0.99),
                    ratings: v.ratings,
                    mean_rating: (v.ratings > 0)
                        .then(|| (v.rating_sum / v.ratings as f64 * 100.0).round() / 100.0),
                    cost_usd: v.cost_usd,
                    cache_hits: v.cache_hits,
                }
            })
            .collect()
    }
}

impl Handler<GetVersionMetrics> for EvalActor {
    type Result = MessageResult<GetVersionMetrics>;

    fn handle(&mut self, _: GetVersionMetrics, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        self.drain();
        MessageResult(self.metrics())
    }
}

impl Handler<RecordFeedback> for EvalActor {
    type Result = Result<(String, String), String>;

    fn handle(&mut self, f: RecordFeedback, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        self.drain();
        let found = self
            .answered
            .get(&std::hash::BuildHasher::hash_one(&self.ids, &f.request_id))
            .and_then(|&i| self.prompts.get(i as usize));
        let Some((template, version)) = found.cloned() else {
            return Err(format!(
                "no recent request `{}`; feedback is accepted for the last {FEEDBACK_WINDOW} requests",
                f.request_id
            ));
        };
        if let Some(v) = self.versions.get_mut(&(template.clone(), version.clone())) {
            v.ratings += 1;
            v.rating_sum += f64::from(f.rating);
        }
        tracing::info!(request_id = %f.request_id, %template, %version, rating = f.rating, comment = f.comment.as_deref().unwrap_or(""), "feedback");
        Ok((template, version))
    }
}
