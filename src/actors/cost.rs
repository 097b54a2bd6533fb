//! `CostActor`: token and cost accounting. It takes each finished request's row from its inbox,
//! keeps today's spend per model and user in memory (the dashboard's live view), and hands the
//! row to the ledger, whose writer thread batches it into the database. Sums over any range of
//! days come from the ledger (`GET /v1/costs`).

use std::{collections::HashMap, sync::Arc};

use actix::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{
    inbox::{Drain, Inbox},
    messages::{GetCosts, RecordUsage},
    stats::ActorStats,
};
use crate::{
    ledger::{Entry, Ledger},
    money::{self, Usd},
};

/// Spend of one model or user today.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Spend {
    /// Requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// USD.
    #[schema(value_type = f64)]
    pub cost_usd: Usd,
}

/// Today's spend (UTC), as the CostActor holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostSummary {
    /// The UTC day.
    pub day: String,
    /// Everything today.
    pub total: Spend,
    /// Per answering model (`cache` for cache hits), most expensive first.
    pub by_model: Vec<(String, Spend)>,
    /// The ten users who spent most.
    pub top_users: Vec<(String, Spend)>,
}

/// The accountant.
pub struct CostActor {
    day: String,
    total: Spend,
    by_user: HashMap<String, Spend>,
    by_model: HashMap<String, Spend>,
    inbox: Arc<Inbox<RecordUsage>>,
    ledger: Arc<Ledger>,
    stats: Arc<ActorStats>,
}

impl CostActor {
    /// An empty day fed by `inbox`, writing to `ledger`.
    pub fn new(
        inbox: Arc<Inbox<RecordUsage>>,
        ledger: Arc<Ledger>,
        stats: Arc<ActorStats>,
    ) -> Self {
        CostActor {
            day: String::new(),
            total: Spend::default(),
            by_user: HashMap::new(),
            by_model: HashMap::new(),
            inbox,
            ledger,
            stats,
        }
    }

    fn apply(&mut self, r: RecordUsage) {
        self.stats.handled();
        if r.row.day != self.day {
            // A new UTC day starts from zero; earlier days are in the ledger.
            self.day = r.row.day.clone();
            self.total = Spend::default();
            self.by_user.clear();
            self.by_model.clear();
        }
        let add = |s: &mut Spend| {
            s.requests += 1;
            s.input_tokens += u64::try_from(r.row.input_tokens).unwrap_or(0);
            s.output_tokens += u64::try_from(r.row.output_tokens).unwrap_or(0);
            s.cost_usd += r.cost_usd;
        };
        add(&mut self.total);
        // Looked up by reference first: the key is cloned only for a new user or model.
        for (map, key) in [
            (&mut self.by_user, &r.row.user_id),
            (&mut self.by_model, &r.row.model),
        ] {
            match map.get_mut(key) {
                Some(s) => add(s),
                None => add(map.entry(key.clone()).or_default()),
            }
        }
        self.ledger.record(Entry::Request(*r.row));
    }

    /// Applies every record waiting in the inbox (the ledger gets each row).
    pub fn drain(&mut self) {
        let batch = self.inbox.take();
        if batch.is_empty() {
            return;
        }
        for r in batch {
            self.apply(r);
        }
        let ledger = self.ledger.stats();
        self.stats.set_state(json!({
            "day": self.day,
            "requests_today": self.total.requests,
            "cost_usd_today": money::to_f64(self.total.cost_usd),
            "users_today": self.by_user.len(),
            "ledger": ledger,
        }));
    }

    fn summary(&self) -> CostSummary {
        let ranked = |m: &HashMap<String, Spend>, n: usize| {
            let mut v: Vec<(String, Spend)> =
                m.iter().map(|(k, s)| (k.clone(), s.clone())).collect();
            v.sort_by(|a, b| b.1.cost_usd.cmp(&a.1.cost_usd).then(a.0.cmp(&b.0)));
            v.truncate(n);
            v
        };
        CostSummary {
            day: self.day.clone(),
            total: self.total.clone(),
            by_model: ranked(&self.by_model, usize::MAX),
            top_users: ranked(&self.by_user, 10),
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
