//! `Supervisor`: starts every actor, restarts failed ones (through actix's supervision, which
//! keeps each address valid across restarts), keeps restart counts and reasons, and owns the
//! routing table that maps a request's model or route to its chain of provider actors.
//!
//! The table is published as an immutable [`RouteTable`] that handlers read directly: a mailbox
//! trip per request would cost two thread hops for a lookup that never changes while running.

use std::{collections::BTreeMap, sync::Arc};

use actix::prelude::*;

use super::{
    cache::CacheActor,
    cost::CostActor,
    eval::EvalActor,
    guardrail::Guardrails,
    inbox::Inbox,
    messages::{
        ChildRestarted, ListActors, ProviderFailed, ProviderHandle, RecordEval, RecordUsage,
        RestartProvider,
    },
    provider::ProviderActor,
    stats::ActorStats,
};
use crate::{
    cache::CacheHealth,
    config::{Config, ProviderKind},
    error::GatewayError,
    guardrails::{RuleError, Rules},
    tokens::Calibration,
};

/// Records waiting in an inbox before the actor is nudged to drain it.
const INBOX_NUDGE: usize = 512;

/// Addresses of the shared service actors, handed to the HTTP layer.
#[derive(Clone)]
pub struct Services {
    /// The Supervisor.
    pub supervisor: Addr<Supervisor>,
    /// The Supervisor's routing table.
    pub routes: Arc<RouteTable>,
    /// Guardrails: inline for small texts, a sync pool for large ones.
    pub guardrails: Guardrails,
    /// Response cache.
    pub cache: Addr<CacheActor>,
    /// Counts of requests that went on without the cache.
    pub cache_health: Arc<CacheHealth>,
    /// Cost accounting.
    pub cost: Addr<CostActor>,
    /// Where requests leave their usage records for the cost actor.
    pub cost_inbox: Arc<Inbox<RecordUsage>>,
    /// Evaluation log.
    pub eval: Addr<EvalActor>,
    /// Where requests leave their quality records for the eval actor.
    pub eval_inbox: Arc<Inbox<RecordEval>>,
}

/// The root actor.
pub struct Supervisor {
    routes: Arc<RouteTable>,
    children: Vec<Arc<ActorStats>>,
    stats: Arc<ActorStats>,
}

/// Models and routes to provider actors; read-only once published.
pub struct RouteTable {
    providers: BTreeMap<String, ProviderHandle>,
    routes: BTreeMap<String, Vec<String>>,
}

impl RouteTable {
    /// The fallback chain for a model or route name; `prefer` goes first when given.
    pub fn resolve(
        &self,
        model: &str,
        prefer: Option<&str>,
    ) -> Result<Vec<ProviderHandle>, GatewayError> {
        if let Some(handle) = self.providers.get(model) {
            return Ok(vec![handle.clone()]);
        }
        let Some(route) = self.routes.get(model) else {
            return Err(GatewayError::ModelNotFound(model.to_string()));
        };
        let mut chain: Vec<ProviderHandle> = route
            .iter()
            .filter_map(|n| self.providers.get(n).cloned())
            .collect();
        if let Some(prefer) = prefer
            && let Some(handle) = self.providers.get(prefer)
        {
            chain.retain(|h| *h.model != *prefer);
            chain.insert(0, handle.clone());
        }
        Ok(chain)
    }

    /// The handle of one model.
    pub fn provider(&self, model: &str) -> Option<&ProviderHandle> {
        self.providers.get(model)
    }
}

impl Supervisor {
    /// Starts the Supervisor and every child on the current actix system.
    pub fn launch(
        config: Arc<Config>,
        guardrail_threads: usize,
        ledger: Arc<crate::ledger::Ledger>,
    ) -> Result<Services, RuleError> {
        let rules = Arc::new(Rules::new(&config.guardrails)?);
        let stats = ActorStats::new("supervisor", "supervisor");
        let guard_stats = ActorStats::new("guardrail", "guardrail");
        let cache_stats = ActorStats::new("cache", "cache");
        let cost_stats = ActorStats::new("cost", "cost");
        let eval_stats = ActorStats::new("eval", "eval");

        let guardrails = Guardrails::start(guardrail_threads, rules, guard_stats.clone());
        let cache_health = Arc::new(CacheHealth::default());
        let cache = {
            let (cfg, s, h) = (
                config.cache.clone(),
                cache_stats.clone(),
                cache_health.clone(),
            );
            actix::Supervisor::start(move |_| CacheActor::new(&cfg, h, s))
        };
        let cost_inbox = Arc::new(Inbox::new(INBOX_NUDGE));
        let eval_inbox = Arc::new(Inbox::new(INBOX_NUDGE));
        let cost = {
            let (s, inbox) = (cost_stats.clone(), cost_inbox.clone());
            actix::Supervisor::start(move |_| CostActor::new(inbox, ledger, s))
        };
        let eval = {
            let (s, inbox) = (eval_stats.clone(), eval_inbox.clone());
            actix::Supervisor::start(move |_| EvalActor::new(inbox, s))
        };

        let mut children = vec![guard_stats, cache_stats, cost_stats, eval_stats];
        let ctx = Context::<Supervisor>::new();
        let me = ctx.address().recipient::<ChildRestarted>();
        let mut providers = BTreeMap::new();
        for (name, model) in &config.models {
            let Some(provider) = config.providers.get(&model.provider) else {
                continue;
            };
            let pstats = ActorStats::new("provider", name.clone());
            let (actor, gate) =
                ProviderActor::new(model.clone(), provider.clone(), pstats.clone(), me.clone());
            let addr = actix::Supervisor::start(move |_| actor);
            children.push(pstats);
            providers.insert(
                name.clone(),
                ProviderHandle {
                    model: Arc::from(name.as_str()),
                    provider: Arc::from(model.provider.as_str()),
                    addr,
                    pace: gate.pace.clone(),
                    gate,
                    prices: model.prices,
                    max_input_tokens: u64::from(
                        model.context_window.saturating_sub(model.max_output_tokens),
                    ),
                    calibration: Arc::new(Calibration::new(
                        provider.kind != ProviderKind::Anthropic,
                    )),
                },
            );
        }
        let routes = Arc::new(RouteTable {
            providers,
            routes: config
                .routes
                .iter()
                .map(|(name, r)| (name.clone(), r.fallback.clone()))
                .collect(),
        });
        let supervisor = ctx.run(Supervisor {
            routes: routes.clone(),
            children,
            stats,
        });
        Ok(Services {
            supervisor,
            routes,
            guardrails,
            cache,
            cache_health,
            cost,
            cost_inbox,
            eval,
            eval_inbox,
        })
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(super::provider::MAILBOX_CAPACITY);
        tracing::info!(
            providers = self.routes.providers.len(),
            "supervisor started"
        );
    }
}

impl Handler<ChildRestarted> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ChildRestarted, _: &mut Self::Context) {
        self.stats.handled();
        if let Some(child) = self.children.iter().find(|c| c.name() == msg.name) {
            child.restarted(msg.reason.clone());
            tracing::warn!(child = %msg.name, reason = %msg.reason, restarts = child.restarts(), "child restarted");
        }
    }
}

impl Handler<ListActors> for Supervisor {
    type Result = MessageResult<ListActors>;

    fn handle(&mut self, _: ListActors, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let mut all = vec![self.stats.snapshot()];
        all.extend(self.children.iter().map(|c| c.snapshot()));
        MessageResult(all)
    }
}

impl Handler<RestartProvider> for Supervisor {
    type Result = Result<(), GatewayError>;

    fn handle(&mut self, msg: RestartProvider, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let handle = self.routes.provider(&msg.model).ok_or_else(|| {
            GatewayError::invalid(
                format!("No provider actor serves model `{}`", msg.model),
                Some("model"),
            )
        })?;
        handle.addr.do_send(ProviderFailed {
            generation: None,
            reason: msg.reason,
        });
        Ok(())
    }
}
