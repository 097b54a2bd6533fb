//! `ProviderActor`: one per configured model. Owns the model's connection pool, retry policy and
//! circuit breaker. It never performs I/O itself: it lends a [`Lease`] to the request's task and
//! takes back outcome reports, each handled in a short synchronous step.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use serde_json::json;

use super::{
    messages::{Acquire, ChildRestarted, Lease, ProviderFailed, ReportOutcome},
    stats::{ActorStats, InFlight},
};
use crate::{
    circuit::{Circuit, CircuitState},
    config::{ModelConfig, ProviderConfig},
    error::ProviderError,
    providers::Upstream,
};

/// Mailbox size: requests beyond it wait for a slot rather than fail.
pub const MAILBOX_CAPACITY: usize = 4096;

/// The actor for one model.
pub struct ProviderActor {
    model: ModelConfig,
    provider: ProviderConfig,
    upstream: Result<Arc<Upstream>, String>,
    circuit: Circuit,
    generation: u64,
    stats: Arc<ActorStats>,
    supervisor: Recipient<ChildRestarted>,
    stop_reason: Option<String>,
    retries: u64,
    last_error: Option<String>,
}

impl ProviderActor {
    /// A new actor for `model`, served by `provider`.
    pub fn new(
        model: ModelConfig,
        provider: ProviderConfig,
        stats: Arc<ActorStats>,
        supervisor: Recipient<ChildRestarted>,
    ) -> Self {
        let circuit = Circuit::new(model.circuit.clone(), model.timeouts.request);
        let mut actor = ProviderActor {
            upstream: Err(String::new()),
            circuit,
            generation: 0,
            stats,
            supervisor,
            stop_reason: None,
            retries: 0,
            last_error: None,
            model,
            provider,
        };
        actor.rebuild();
        actor
    }

    /// Builds a fresh upstream (a new connection pool) and resets the circuit.
    fn rebuild(&mut self) {
        self.circuit = Circuit::new(self.model.circuit.clone(), self.model.timeouts.request);
        self.upstream = Upstream::new(&self.model, &self.provider)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let status = match (&self.model.disabled_reason, &self.upstream) {
            (Some(_), _) => "disabled",
            (None, Err(_)) => "broken",
            (None, Ok(_)) => "running",
        };
        self.stats.set_status(status);
        self.publish_state();
    }

    fn publish_state(&self) {
        let now = Instant::now();
        self.stats.set_state(json!({
            "provider": self.provider.name,
            "provider_kind": self.provider.kind.to_string(),
            "standing_in_for": self.model.standing_in_for,
            "upstream_model": self.model.upstream_model,
            "circuit": self.circuit.state(now),
            "consecutive_failures": self.circuit.failures(),
            "generation": self.generation,
            "retries": self.retries,
            "last_error": self.last_error,
            "disabled_reason": self.model.disabled_reason,
            "retry_policy": {
                "max_retries": self.model.retry.max_retries,
                "base_ms": self.model.retry.base.as_millis() as u64,
                "factor": self.model.retry.factor,
                "jitter": self.model.retry.jitter,
            },
        }));
    }

    /// The circuit state now (for readiness).
    pub fn circuit_state(&self) -> CircuitState {
        self.circuit.state(Instant::now())
    }
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        // The circuit moves from open to half-open with time alone; keep the published view fresh.
        ctx.run_interval(Duration::from_secs(1), |act, _| act.publish_state());
    }
}

impl Supervised for ProviderActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.generation += 1;
        let reason = self
            .stop_reason
            .take()
            .unwrap_or_else(|| "stopped".to_string());
        tracing::warn!(model = %self.model.name, %reason, "provider actor restarting");
        self.rebuild();
        self.supervisor.do_send(ChildRestarted {
            name: self.model.name.clone(),
            reason,
        });
    }
}

impl Handler<Acquire> for ProviderActor {
    type Result = Result<Lease, ProviderError>;

    fn handle(&mut self, _: Acquire, _: &mut Self::Context) -> Self::Result {
        self.stats.handled();
        if let Some(reason) = &self.model.disabled_reason {
            return Err(ProviderError::Disabled {
                model: self.model.name.clone(),
                reason: reason.clone(),
            });
        }
        let upstream = match &self.upstream {
            Ok(u) => u.clone(),
            Err(e) => return Err(ProviderError::Connect(e.clone())),
        };
        let before = self.circuit.state(Instant::now());
        if !self.circuit.try_acquire(Instant::now()) {
            return Err(ProviderError::CircuitOpen(self.model.name.clone()));
        }
        if before != CircuitState::Closed {
            self.publish_state();
        }
        Ok(Lease {
            upstream,
            retry: self.model.retry.clone(),
            generation: self.generation,
            in_flight: InFlight::enter(&self.stats),
        })
    }
}

impl Handler<ReportOutcome> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: ReportOutcome, _: &mut Self::Context) {
        self.stats.handled();
        if msg.generation != self.generation {
            return;
        }
        match msg.error {
            None => {
                let was = self.circuit.state(Instant::now());
                self.circuit.on_success();
                if was != CircuitState::Closed || self.last_error.is_some() {
                    self.last_error = None;
                    self.publish_state();
                }
            }
            Some(e) => {
                self.stats.error();
                if msg.retrying {
                    self.retries += 1;
                }
                self.last_error = Some(e.to_string());
                if e.counts_against_circuit() && self.circuit.on_failure(Instant::now()) {
                    tracing::warn!(model = %self.model.name, error = %e, "circuit opened");
                }
                self.publish_state();
            }
        }
    }
}

impl Handler<ProviderFailed> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: ProviderFailed, ctx: &mut Self::Context) {
        self.stats.handled();
        self.stats.error();
        if msg.generation.is_none_or(|g| g == self.generation) {
            self.stats.set_status("restarting");
            self.stop_reason = Some(msg.reason);
            ctx.stop();
        }
    }
}
