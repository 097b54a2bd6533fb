//! Counters every actor keeps, shared with the Supervisor for `/admin/actors` without a mailbox trip.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Instant,
};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

/// Live counters of one actor.
#[derive(Debug)]
pub struct ActorStats {
    kind: &'static str,
    name: String,
    handled: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicI64,
    restarts: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    started: Instant,
    status: &'static str,
    last_restart_reason: Option<String>,
    state: Value,
}

/// A point-in-time view of an actor, as served by `/admin/actors`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActorSnapshot {
    /// Actor type (`provider`, `cache` ...).
    pub kind: &'static str,
    /// Instance name (the model name for providers).
    pub name: String,
    /// `running`, `restarting`, `disabled` ...
    pub status: &'static str,
    /// Messages handled since start.
    pub messages_handled: u64,
    /// Calls in progress (providers: upstream calls).
    pub in_flight: i64,
    /// Errors seen.
    pub errors: u64,
    /// Restarts by the Supervisor.
    pub restarts: u64,
    /// Why it was last restarted.
    pub last_restart_reason: Option<String>,
    /// Actor-specific state: circuit, backoff, entries ...
    #[schema(value_type = Object)]
    pub state: Value,
    /// Seconds since the last (re)start.
    pub uptime_secs: f64,
}

impl ActorStats {
    /// New counters for an actor.
    pub fn new(kind: &'static str, name: impl Into<String>) -> Arc<Self> {
        Arc::new(ActorStats {
            kind,
            name: name.into(),
            handled: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            restarts: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                started: Instant::now(),
                status: "running",
                last_restart_reason: None,
                state: Value::Null,
            }),
        })
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counts one handled message.
    pub fn handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one error.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Adjusts the in-flight count.
    pub fn add_in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Records a restart and its reason; resets uptime (the actor sets its own status).
    pub fn restarted(&self, reason: String) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner.lock();
        inner.started = Instant::now();
        inner.last_restart_reason = Some(reason);
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Sets the status word.
    pub fn set_status(&self, status: &'static str) {
        self.inner.lock().status = status;
    }

    /// Replaces the actor-specific state.
    pub fn set_state(&self, state: Value) {
        self.inner.lock().state = state;
    }

    /// A snapshot for the admin API.
    pub fn snapshot(&self) -> ActorSnapshot {
        let inner = self.inner.lock();
        ActorSnapshot {
            kind: self.kind,
            name: self.name.clone(),
            status: inner.status,
            messages_handled: self.handled.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            last_restart_reason: inner.last_restart_reason.clone(),
            state: inner.state.clone(),
            uptime_secs: inner.started.elapsed().as_secs_f64(),
        }
    }
}

/// Holds one in-flight slot; releases it when dropped, however the call ended.
#[derive(Debug)]
pub struct InFlight(Arc<ActorStats>);

impl InFlight {
    /// Takes a slot.
    pub fn enter(stats: &Arc<ActorStats>) -> Self {
        stats.add_in_flight(1);
        InFlight(stats.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.add_in_flight(-1);
    }
}
