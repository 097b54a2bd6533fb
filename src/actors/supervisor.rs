//! `Supervisor`: starts every actor, restarts failed ones (through actix's supervision, which
//! keeps each address valid across restarts), keeps restart counts and reasons, and resolves
//! each request's model or route to its chain of provider actors.

use std::{collections::BTreeMap, sync::Arc};

use actix::prelude::*;

use super::{
    cache::CacheActor,
    cost::CostActor,
    eval::EvalActor,
    guardrail::GuardrailActor,
    messages::{
        ChildRestarted, ListActors, ProviderFailed, ProviderHandle, ResolveRoute, RestartProvider,
    },
    provider::ProviderActor,
    stats::{ActorSnapshot, ActorStats},
};
use crate::{config::Config, error::GatewayError, guardrails::Rules};

/// Addresses of the shared service actors, handed to the HTTP layer.
#[derive(Clone)]
pub struct Services {
    /// The Supervisor.
    pub supervisor: Addr<Supervisor>,
    /// Guardrail pool.
    pub guardrail: Addr<GuardrailActor>,
    /// Response cache.
    pub cache: Addr<CacheActor>,
    /// Cost accounting.
    pub cost: Addr<CostActor>,
    /// Evaluation log.
    pub eval: Addr<EvalActor>,
    /// Compiled guardrail rules, for scanning streams chunk by chunk without a mailbox trip.
    pub rules: Arc<Rules>,
}

/// The root actor.
pub struct Supervisor {
    config: Arc<Config>,
    providers: BTreeMap<String, ProviderHandle>,
    children: Vec<Arc<ActorStats>>,
    stats: Arc<ActorStats>,
}

impl Supervisor {
    /// Starts the Supervisor and every child on the current actix system.
    pub fn launch(config: Arc<Config>, guardrail_threads: usize) -> Result<Services, regex::Error> {
        let rules = Arc::new(Rules::builtin()?);
        let stats = ActorStats::new("supervisor", "supervisor");
        let guard_stats = ActorStats::new("guardrail", "guardrail");
        let cache_stats = ActorStats::new("cache", "cache");
        let cost_stats = ActorStats::new("cost", "cost");
        let eval_stats = ActorStats::new("eval", "eval");

        let guardrail =
            GuardrailActor::start(guardrail_threads, rules.clone(), guard_stats.clone());
        let cache = {
            let (cfg, s) = (config.cache.clone(), cache_stats.clone());
            actix::Supervisor::start(move |_| CacheActor::new(&cfg, s))
        };
        let cost = {
            let s = cost_stats.clone();
            actix::Supervisor::start(move |_| CostActor::new(s))
        };
        let eval = {
            let s = eval_stats.clone();
            actix::Supervisor::start(move |_| EvalActor::new(s))
        };

        let children = vec![guard_stats, cache_stats, cost_stats, eval_stats];
        let supervisor = Supervisor::create(move |ctx| {
            let me = ctx.address().recipient::<ChildRestarted>();
            let mut sup = Supervisor {
                providers: BTreeMap::new(),
                children,
                stats,
                config: config.clone(),
            };
            for (name, model) in &config.models {
                let Some(provider) = config.providers.get(&model.provider) else {
                    continue;
                };
                let pstats = ActorStats::new("provider", name.clone());
                let (m, p, s, r) = (model.clone(), provider.clone(), pstats.clone(), me.clone());
                let addr = actix::Supervisor::start(move |_| ProviderActor::new(m, p, s, r));
                sup.children.push(pstats);
                sup.providers.insert(
                    name.clone(),
                    ProviderHandle {
                        model: Arc::from(name.as_str()),
                        provider: Arc::from(model.provider.as_str()),
                        addr,
                        input_per_mtok: model.input_per_mtok,
                        output_per_mtok: model.output_per_mtok,
                        max_output_tokens: model.max_output_tokens,
                    },
                );
            }
            sup
        });
        Ok(Services {
            supervisor,
            guardrail,
            cache,
            cost,
            eval,
            rules,
        })
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(super::provider::MAILBOX_CAPACITY);
        tracing::info!(providers = self.providers.len(), "supervisor started");
    }
}

impl Handler<ResolveRoute> for Supervisor {
    type Result = Result<Vec<ProviderHandle>, GatewayError>;

    fn handle(&mut self, msg: ResolveRoute, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        let names: Vec<&String> = if let Some(handle) = self.providers.get(&msg.model) {
            return Ok(vec![handle.clone()]);
        } else if let Some(route) = self.config.routes.get(&msg.model) {
            route.iter().collect()
        } else {
            self.stats.error();
            return Err(GatewayError::ModelNotFound(msg.model));
        };
        let mut chain: Vec<ProviderHandle> = names
            .into_iter()
            .filter_map(|n| self.providers.get(n).cloned())
            .collect();
        if let Some(prefer) = msg.prefer
            && let Some(handle) = self.providers.get(&prefer)
        {
            chain.retain(|h| *h.model != *prefer);
            chain.insert(0, handle.clone());
        }
        Ok(chain)
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
        let handle = self.providers.get(&msg.model).ok_or_else(|| {
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

/// Snapshots for readiness: every provider's state.
pub fn provider_snapshots(all: &[ActorSnapshot]) -> impl Iterator<Item = &ActorSnapshot> {
    all.iter().filter(|a| a.kind == "provider")
}
