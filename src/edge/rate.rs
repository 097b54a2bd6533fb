//! Rate limits on governor's GCRA: a [`Pace`] is one budget (requests or tokens) per minute with
//! a burst, reporting what OpenAI's `x-ratelimit-*` headers carry: the limit, what remains, and
//! how long until the budget is whole again.

use std::{num::NonZeroU32, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::{InMemoryState, NotKeyed},
};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// A budget per minute with a burst.
pub struct Pace {
    limiter: Limiter,
    clock: DefaultClock,
    per_minute: u32,
    burst: u32,
    interval: Duration,
}

/// The state of a budget after a decision, for the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The per-minute limit.
    pub limit: u32,
    /// What can still be taken at once.
    pub remaining: u32,
    /// Until the budget is whole again.
    pub reset: Duration,
}

/// A refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not now: the budget allows it after `retry_after`.
    Wait {
        /// How long to wait.
        retry_after: Duration,
        /// The budget's state.
        window: Window,
    },
    /// Never: the amount is larger than the whole burst.
    TooLarge {
        /// The amount asked.
        asked: u32,
        /// The burst.
        burst: u32,
    },
}

impl Pace {
    /// `per_minute` sustained, up to `burst` at once; both at least 1 (zeros are raised to 1).
    pub fn new(per_minute: u32, burst: u32) -> Pace {
        let per_minute = per_minute.max(1);
        let burst = burst.max(1);
        let interval = Duration::from_secs(60) / per_minute;
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let clock = DefaultClock::default();
        Pace {
            limiter: RateLimiter::direct_with_clock(quota, clock.clone())
                .with_middleware::<StateInformationMiddleware>(),
            clock,
            per_minute,
            burst,
            interval,
        }
    }

    /// The per-minute limit.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    fn window(&self, remaining: u32) -> Window {
        Window {
            limit: self.per_minute,
            remaining,
            reset: self.interval * self.burst.saturating_sub(remaining),
        }
    }

    /// The window of an empty budget, as a refusal reports it.
    pub fn exhausted(&self) -> Window {
        self.window(0)
    }

    /// Takes `n` (zero always succeeds and takes nothing).
    pub fn take(&self, n: u32) -> Result<Window, Denied> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(self.window(self.burst));
        };
        match self.limiter.check_n(n) {
            Ok(Ok(snapshot)) => Ok(self.window(snapshot.remaining_burst_capacity())),
            Ok(Err(not_until)) => Err(Denied::Wait {
                retry_after: not_until.wait_time_from(self.clock.now()),
                window: self.exhausted(),
            }),
            Err(_) => Err(Denied::TooLarge {
                asked: n.get(),
                burst: self.burst,
            }),
        }
    }

    /// Charges `n` after the fact (output tokens once known), as far as the budget allows: a
    /// budget cannot go below empty, so an overdraft only empties it.
    pub fn charge(&self, n: u32) {
        let mut left = n.min(self.burst);
        while left > 0 {
            match self.take(left) {
                Ok(_) => return,
                // Take what remains in halves; bounded by log2(burst) steps.
                Err(_) => left /= 2,
            }
        }
    }

    /// Waits up to `max_wait` for `n`, in `step`s no longer than the limiter's own estimate.
    pub async fn wait_for(&self, n: u32, max_wait: Duration) -> Result<Window, Denied> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            match self.take(n) {
                Err(Denied::Wait { retry_after, .. })
                    if tokio::time::Instant::now() + retry_after <= deadline =>
                {
                    tokio::time::sleep(retry_after.max(Duration::from_millis(1))).await;
                }
                other => return other,
            }
        }
    }
}

/// `1m30s`, `12s`, `1.5s`, `250ms`: the duration format of OpenAI's reset headers.
pub fn format_reset(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("{s}s");
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_wait() {
        let p = Pace::new(60, 3);
        assert_eq!(p.take(1).map(|w| w.remaining), Ok(2));
        assert_eq!(p.take(1).map(|w| w.remaining), Ok(1));
        let w = p.take(1).ok().map(|w| (w.remaining, w.limit));
        assert_eq!(w, Some((0, 60)));
        match p.take(1) {
            Err(Denied::Wait { retry_after, .. }) => {
                assert!(retry_after > Duration::from_millis(900));
                assert!(retry_after <= Duration::from_secs(1));
            }
            other => unreachable!("expected a wait, got {other:?}"),
        }
        assert_eq!(
            p.take(10),
            Err(Denied::TooLarge {
                asked: 10,
                burst: 3
            })
        );
    }

    #[test]
    fn charge_never_panics_and_drains() {
        let p = Pace::new(600, 100);
        p.charge(1_000_000);
        assert!(matches!(p.take(10), Err(Denied::Wait { .. })));
    }

    #[test]
    fn reset_format_matches_openai() {
        assert_eq!(format_reset(Duration::from_millis(250)), "250ms");
        assert_eq!(format_reset(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_reset(Duration::from_secs(12)), "12s");
        assert_eq!(format_reset(Duration::from_secs(90)), "1m30s");
    }
}
