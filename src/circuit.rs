//! A circuit breaker state machine: closed → open after consecutive failures → half-open after a
//! pause, where one probe decides between closed and open again. Pure: time is passed in.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::CircuitSettings;

/// The visible state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the pause ends.
    Open,
    /// One probe call is allowed through.
    HalfOpen,
}

/// A circuit breaker for one provider.
#[derive(Debug, Clone)]
pub struct Circuit {
    settings: CircuitSettings,
    state: CircuitState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_started: Option<Instant>,
    /// How long a probe may stay unanswered before another is let through.
    probe_timeout: Duration,
}

impl Circuit {
    /// A closed circuit.
    pub fn new(settings: CircuitSettings, probe_timeout: Duration) -> Self {
        Circuit {
            settings,
            state: CircuitState::Closed,
            consecutive_failures: 0,
            opened_at: None,
            probe_started: None,
            probe_timeout,
        }
    }

    /// The state as of `now` (an open circuit whose pause is over reads half-open).
    pub fn state(&self, now: Instant) -> CircuitState {
        match (self.state, self.opened_at) {
            (CircuitState::Open, Some(t)) if now.duration_since(t) >= self.settings.open_for => {
                CircuitState::HalfOpen
            }
            (s, _) => s,
        }
    }

    /// Consecutive failures counted so far.
    pub fn failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Asks to make a call; `false` means skip this provider now.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.state(now) {
            CircuitState::Closed => true,
            CircuitState::Open => false,
            CircuitState::HalfOpen => {
                self.state = CircuitState::HalfOpen;
                match self.probe_started {
                    Some(t) if now.duration_since(t) < self.probe_timeout => false,
                    _ => {
                        self.probe_started = Some(now);
                        true
                    }
                }
            }
        }
    }

    /// Records a successful call: the circuit closes.
    pub fn on_success(&mut self) {
        self.state = CircuitState::Closed;
        self.consecutive_failures = 0;
        self.opened_at = None;
        self.probe_started = None;
    }

    /// Records a failed call; returns `true` when this failure opened the circuit.
    pub fn on_failure(&mut self, now: Instant) -> bool {
        self.consecutive_failures += 1;
        if self.state == CircuitState::Open {
            // A late failure of a call made before the circuit opened: the pause runs on.
            return false;
        }
        let trip = self.state == CircuitState::HalfOpen
            || self.consecutive_failures >= self.settings.failure_threshold;
        if trip {
            self.state = CircuitState::Open;
            self.opened_at = Some(now);
            self.probe_started = None;
        }
        trip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit() -> Circuit {
        Circuit::new(
            CircuitSettings {
                failure_threshold: 3,
                open_for: Duration::from_secs(10),
            },
            Duration::from_secs(5),
        )
    }

    #[test]
    fn opens_after_threshold_and_probes_after_pause() {
        let t0 = Instant::now();
        let mut c = circuit();
        assert!(!c.on_failure(t0));
        assert!(!c.on_failure(t0));
        assert!(c.on_failure(t0));
        assert!(!c.try_acquire(t0 + Duration::from_secs(9)));
        assert_eq!(
            c.state(t0 + Duration::from_secs(10)),
            CircuitState::HalfOpen
        );
        assert!(c.try_acquire(t0 + Duration::from_secs(10)));
        // only one probe at a time
        assert!(!c.try_acquire(t0 + Duration::from_secs(11)));
        c.on_success();
        assert_eq!(c.state(t0 + Duration::from_secs(11)), CircuitState::Closed);
        assert!(c.try_acquire(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn failed_probe_reopens() {
        let t0 = Instant::now();
        let mut c = circuit();
        for _ in 0..3 {
            c.on_failure(t0);
        }
        let t1 = t0 + Duration::from_secs(10);
        assert!(c.try_acquire(t1));
        assert!(c.on_failure(t1));
        assert!(!c.try_acquire(t1 + Duration::from_secs(1)));
        assert!(c.try_acquire(t1 + Duration::from_secs(10)));
    }

    #[test]
    fn late_failures_do_not_extend_the_pause() {
        let t0 = Instant::now();
        let mut c = circuit();
        for _ in 0..3 {
            c.on_failure(t0);
        }
        assert!(!c.on_failure(t0 + Duration::from_secs(9)));
        assert_eq!(
            c.state(t0 + Duration::from_secs(10)),
            CircuitState::HalfOpen
        );
    }

    #[test]
    fn success_resets_the_count() {
        let t0 = Instant::now();
        let mut c = circuit();
        c.on_failure(t0);
        c.on_failure(t0);
        c.on_success();
        assert!(!c.on_failure(t0));
        assert_eq!(c.state(t0), CircuitState::Closed);
    }
}
