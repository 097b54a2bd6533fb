//! Prompt experiments as pure code: who sees which version, shadow sampling, and when a variant
//! that fails too often is rolled back.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::ExperimentConfig;

/// Requests and failures of one side of an experiment.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Tally {
    /// Requests answered or failed.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
}

impl Tally {
    /// errors / requests (0 with no requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// Whether an experiment still splits traffic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Splitting traffic by `rollout_pct`.
    Running,
    /// Every user sees the control again.
    RolledBack {
        /// Why (an admin call, or the figures that triggered the automatic rollback).
        reason: String,
        /// Unix seconds.
        at: i64,
    },
}

/// One experiment with its live figures.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Experiment {
    /// Name.
    pub name: String,
    /// Template it splits.
    pub template: String,
    /// Version most users see.
    pub control: String,
    /// Version on trial.
    pub variant: String,
    /// Buckets (of 100) given the variant.
    pub rollout_pct: u8,
    /// Share of control requests also run on the variant in the background.
    pub shadow_pct: u8,
    /// Variant/control error-rate ratio that rolls back.
    pub rollback_error_ratio: f64,
    /// Requests each side needs before the ratio counts.
    pub rollback_min_requests: u64,
    /// Running or rolled back.
    pub status: Status,
    /// Unix seconds when it started.
    pub started_at: i64,
    /// Control figures since this process started it or loaded it.
    #[serde(default)]
    pub control_tally: Tally,
    /// Variant figures since this process started it or loaded it (shadow runs included).
    #[serde(default)]
    pub variant_tally: Tally,
}

/// Which side a request falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arm {
    /// The control version.
    Control,
    /// The variant.
    Variant,
}

/// The stable bucket (0..100) of `subject` within `salt`: the same user always lands in the same
/// bucket of the same experiment, and buckets of different experiments are independent.
pub fn bucket(salt: &str, subject: &str) -> u8 {
    let d = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update([0u8])
        .chain_update(subject.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

impl Experiment {
    /// A running experiment from its configuration.
    pub fn from_config(c: &ExperimentConfig) -> Experiment {
        Experiment {
            name: c.name.clone(),
            template: c.template.clone(),
            control: c.control.clone(),
            variant: c.variant.clone(),
            rollout_pct: c.rollout_pct,
            shadow_pct: c.shadow_pct,
            rollback_error_ratio: c.rollback_error_ratio,
            rollback_min_requests: c.rollback_min_requests,
            status: Status::Running,
            started_at: crate::store::unix_now(),
            control_tally: Tally::default(),
            variant_tally: Tally::default(),
        }
    }

    /// Whether traffic is split.
    pub fn running(&self) -> bool {
        self.status == Status::Running
    }

    /// The side `user` is on.
    pub fn assign(&self, user: &str) -> Arm {
        if self.running() && bucket(&self.name, user) < self.rollout_pct {
            Arm::Variant
        } else {
            Arm::Control
        }
    }

    /// Whether a control request (identified by `request_id`) also runs the variant unseen.
    pub fn shadows(&self, request_id: &str) -> bool {
        self.running() && bucket(&format!("{}#shadow", self.name), request_id) < self.shadow_pct
    }

    /// The version of `arm`.
    pub fn version(&self, arm: Arm) -> &str {
        match arm {
            Arm::Control => &self.control,
            Arm::Variant => &self.variant,
        }
    }

    /// Counts one finished request of `version`; returns the rollback reason when this request
    /// made the variant's error rate reach `rollback_error_ratio` × the control's.
    pub fn observe(&mut self, version: &str, failed: bool) -> Option<String> {
        if !self.running() {
            return None;
        }
        let tally = if version == self.variant {
            &mut self.variant_tally
        } else if version == self.control {
            &mut self.control_tally
        } else {
            return None;
        };
        tally.requests += 1;
        tally.errors += u64::from(failed);
        self.rollback_due()
    }

    fn rollback_due(&self) -> Option<String> {
        let (c, v) = (self.control_tally, self.variant_tally);
        let min = self.rollback_min_requests;
        if c.requests < min || v.requests < min || v.errors == 0 {
            return None;
        }
        let (cr, vr) = (c.error_rate(), v.error_rate());
        (vr >= self.rollback_error_ratio * cr).then(|| {
            format!(
                "variant {} error rate {:.2}% ({} of {}) reached {}x the control {} rate {:.2}% ({} of {})",
                self.variant,
                vr * 100.0,
                v.errors,
                v.requests,
                self.rollback_error_ratio,
                self.control,
                cr * 100.0,
                c.errors,
                c.requests
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn exp(rollout: u8) -> Experiment {
        Experiment::from_config(&ExperimentConfig {
            name: "e".into(),
            template: "t".into(),
            control: "v1".into(),
            variant: "v2".into(),
            rollout_pct: rollout,
            shadow_pct: 0,
            rollback_error_ratio: 2.0,
            rollback_min_requests: 100,
        })
    }

    #[test]
    fn assignment_is_stable_and_follows_the_rollout() {
        let users: Vec<String> = (0..2000).map(|i| format!("user-{i}")).collect();
        let share = |e: &Experiment| {
            users.iter().filter(|u| e.assign(u) == Arm::Variant).count() as f64 / users.len() as f64
        };
        for (pct, lo, hi) in [
            (0, 0.0, 0.0),
            (10, 0.07, 0.13),
            (50, 0.45, 0.55),
            (100, 1.0, 1.0),
        ] {
            let s = share(&exp(pct));
            assert!((lo..=hi).contains(&s), "rollout {pct}%: share {s}");
        }
        // Raising the rollout only moves users from control to variant, never back.
        let (ten, quarter) = (exp(10), exp(25));
        for u in &users {
            assert_eq!(ten.assign(u), ten.assign(u));
            if ten.assign(u) == Arm::Variant {
                assert_eq!(quarter.assign(u), Arm::Variant);
            }
        }
    }

    #[test]
    fn rolls_back_at_twice_the_control_error_rate_after_enough_requests() {
        let mut e = exp(50);
        // control: 2% errors over 100
        for i in 0..100 {
            assert!(e.observe("v1", i < 2).is_none());
        }
        // variant: 3% over 100 is under 2x
        for i in 0..100 {
            assert!(e.observe("v2", i < 3).is_none());
        }
        // one more failure: 4 of 101 = 3.96% < 4%; another: 5 of 102 = 4.9% >= 4%
        assert!(e.observe("v2", true).is_none());
        let reason = e.observe("v2", true).expect("rollback due");
        assert!(
            reason.contains("5 of 102") && reason.contains("2 of 100"),
            "{reason}"
        );
    }

    #[test]
    fn no_rollback_before_the_minimum() {
        let mut e = exp(50);
        for _ in 0..99 {
            assert!(e.observe("v2", true).is_none());
            assert!(e.observe("v1", false).is_none());
        }
    }
}
