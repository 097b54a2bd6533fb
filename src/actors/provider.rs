//! `ProviderActor`: one per configured model. Owns the model's connection pool, retry policy and
//! circuit breaker, and restarts fresh when a call crashes.
//!
//! It never performs I/O itself. Requests take a [`Lease`] from its [`ProviderGate`] in a short
//! synchronous section (no mailbox trip on the hot path), run the call in their own task, and
//! report the outcome back to the actor as a message, which updates the circuit.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use parking_lot::Mutex;
use serde_json::json;

use super::{
    messages::{ChildRestarted, Lease, PaceRefused, ProviderFailed, ReportOutcome},
    pace::UpstreamPace,
    stats::{ActorStats, InFlight},
};
use crate::{
    circuit::{Circuit, CircuitState},
    config::{ModelConfig, ProviderConfig},
    error::ProviderError,
    providers::Upstream,
};

/// Mailbox size: senders beyond it wait for a slot rather than fail.
pub const MAILBOX_CAPACITY: usize = 4096;

/// How long a provider whose pool could not be built waits before restarting to try again.
const REBUILD_PAUSE: Duration = Duration::from_secs(5);

/// The part of a provider actor's state that requests read, behind a short lock.
pub struct ProviderGate {
    model: String,
    disabled_reason: Option<String>,
    retry: crate::config::RetryPolicy,
    stats: Arc<ActorStats>,
    state: Mutex<GateState>,
    /// Our pace toward the upstream, when the model configures one.
    pub pace: Option<Arc<UpstreamPace>>,
}

struct GateState {
    upstream: Result<Arc<Upstream>, String>,
    circuit: Circuit,
    generation: u64,
}

impl ProviderGate {
    /// Takes a lease to call the upstream; refused while disabled or the circuit is open.
    pub fn acquire(&self) -> Result<Lease, ProviderError> {
        if let Some(reason) = &self.disabled_reason {
            return Err(ProviderError::Disabled {
                model: self.model.clone(),
                reason: reason.clone(),
            });
        }
        let mut st = self.state.lock();
        let upstream = match &st.upstream {
            Ok(u) => u.clone(),
            Err(e) => return Err(ProviderError::Connect(e.clone())),
        };
        if !st.circuit.try_acquire(Instant::now()) {
            return Err(ProviderError::CircuitOpen(self.model.clone()));
        }
        let generation = st.generation;
        drop(st);
        self.stats.handled();
        Ok(Lease {
            upstream,
            retry: self.retry.clone(),
            generation,
            in_flight: InFlight::enter(&self.stats),
        })
    }

    /// Whether a success would change the circuit; when not, it needs no message to the actor.
    pub fn success_changes_state(&self) -> bool {
        let st = self.state.lock();
        st.circuit.failures() > 0 || st.circuit.state(Instant::now()) != CircuitState::Closed
    }
}

/// The actor for one model.
pub struct ProviderActor {
    model: ModelConfig,
    provider: ProviderConfig,
    gate: Arc<ProviderGate>,
    stats: Arc<ActorStats>,
    supervisor: Recipient<ChildRestarted>,
    stop_reason: Option<String>,
    retries: u64,
    last_error: Option<String>,
}

impl ProviderActor {
    /// A new actor for `model`, served by `provider`, and the gate requests use.
    pub fn new(
        model: ModelConfig,
        provider: ProviderConfig,
        stats: Arc<ActorStats>,
        supervisor: Recipient<ChildRestarted>,
    ) -> (Self, Arc<ProviderGate>) {
        let gate = Arc::new(ProviderGate {
            model: model.name.clone(),
            disabled_reason: model.disabled_reason.clone(),
            retry: model.retry.clone(),
            stats: stats.clone(),
            state: Mutex::new(GateState {
                upstream: Err("not started".into()),
                circuit: Circuit::new(model.circuit.clone(), model.timeouts.request),
                generation: 0,
            }),
            pace: model
                .upstream_limits
                .as_ref()
                .map(|l| Arc::new(UpstreamPace::new(l))),
        });
        let mut actor = ProviderActor {
            gate: gate.clone(),
            stats,
            supervisor,
            stop_reason: None,
            retries: 0,
            last_error: None,
            model,
            provider,
        };
        actor.rebuild(0);
        (actor, gate)
    }

    /// Builds a fresh upstream (a new connection pool) and resets the circuit.
    fn rebuild(&mut self, generation: u64) {
        let upstream = Upstream::new(&self.model, &self.provider)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let status = match (&self.model.disabled_reason, &upstream) {
            (Some(_), _) => "disabled",
            (None, Err(_)) => "broken",
            (None, Ok(_)) => "running",
        };
        {
            let mut st = self.gate.state.lock();
            st.upstream = upstream;
            st.circuit = Circuit::new(self.model.circuit.clone(), self.model.timeouts.request);
            st.generation = generation;
        }
        self.stats.set_status(status);
        self.publish_state();
    }

    fn publish_state(&self) {
        let (circuit, failures, generation) = {
            let st = self.gate.state.lock();
            (
                st.circuit.state(Instant::now()),
                st.circuit.failures(),
                st.generation,
            )
        };
        self.stats.set_state(json!({
            "provider": self.provider.name,
            "provider_kind": self.provider.kind.to_string(),
            "standing_in_for": self.model.standing_in_for,
            "upstream_model": self.model.upstream_model,
            "circuit": circuit,
            "consecutive_failures": failures,
            "generation": generation,
            "retries": self.retries,
            "last_error": self.last_error,
            "disabled_reason": self.model.disabled_reason,
            "pace": self.gate.pace.as_ref().map(|p| json!({
                "waiting": p.waiting(),
                "queued_total": p.queued_total(),
                "refused_total": p.refused_total(),
            })),
            "retry_policy": {
                "max_retries": self.model.retry.max_retries,
                "base_ms": self.model.retry.base.as_millis() as u64,
                "factor": self.model.retry.factor,
                "jitter": self.model.retry.jitter,
            },
        }));
    }
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        if self.model.disabled_reason.is_none()
            && let Err(e) = &self.gate.state.lock().upstream
        {
            // No pool could be built: try again with a fresh actor after a pause.
            let reason = format!("broken connection pool: {e}");
            ctx.run_later(REBUILD_PAUSE, move |act, ctx| {
                act.stop_reason = Some(reason);
                ctx.stop();
            });
        }
        // The circuit moves from open to half-open with time alone; keep the published view fresh.
        ctx.run_interval(Duration::from_secs(1), |act, _| act.publish_state());
    }
}

impl Supervised for ProviderActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        let generation = self.gate.state.lock().generation + 1;
        let reason = self
            .stop_reason
            .take()
            .unwrap_or_else(|| "stopped".to_string());
        tracing::warn!(model = %self.model.name, %reason, "provider actor restarting");
        self.rebuild(generation);
        self.supervisor.do_send(ChildRestarted {
            name: self.model.name.clone(),
            reason,
        });
    }
}

impl Handler<ReportOutcome> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: ReportOutcome, _: &mut Self::Context) {
        self.stats.handled();
        let now = Instant::now();
        let mut st = self.gate.state.lock();
        if msg.generation != st.generation {
            return;
        }
        match msg.error {
            None => {
                st.circuit.on_success();
                drop(st);
                self.publish_state();
            }
            Some(e) => {
                let opened = e.counts_against_circuit() && st.circuit.on_failure(now);
                drop(st);
                self.stats.error();
                if msg.retrying {
                    self.retries += 1;
                }
                if opened {
                    tracing::warn!(model = %self.model.name, error = %e, "circuit opened");
                }
                self.last_error = Some(e.to_string());
                self.publish_state();
            }
        }
    }
}

impl Handler<PaceRefused> for ProviderActor {
    type Result = ();

    fn handle(&mut self, _: PaceRefused, _: &mut Self::Context) {
        self.stats.handled();
        self.publish_state();
    }
}

impl Handler<ProviderFailed> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: ProviderFailed, ctx: &mut Self::Context) {
        self.stats.handled();
        self.stats.error();
        let current = self.gate.state.lock().generation;
        if msg.generation.is_none_or(|g| g == current) {
            self.stats.set_status("restarting");
            self.stop_reason = Some(msg.reason);
            ctx.stop();
        }
    }
}
