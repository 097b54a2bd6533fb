//! The one place that computes retry delays: exponential backoff with jitter, and `Retry-After`.

use std::time::Duration;

use crate::config::RetryPolicy;

/// The delay before retry number `retry` (0 for the first retry): `base × factor^retry` plus a
/// uniform jitter in `[0, jitter × that]`, or the upstream's `Retry-After` capped by policy.
/// `unit` is a uniform draw in `[0, 1)`, passed in so the math stays deterministic under test.
pub fn delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(policy.max_retry_after);
    }
    let exp = policy.factor.powi(retry.min(30) as i32);
    let nominal = policy.base.as_secs_f64() * exp;
    let jitter = nominal * policy.jitter * unit.clamp(0.0, 1.0);
    Duration::from_secs_f64((nominal + jitter).min(3600.0))
}

/// A uniform draw in `[0, 1)` from the thread's generator.
pub fn unit_draw() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_secs(1),
            factor: 2.0,
            jitter: 0.5,
            max_retry_after: Duration::from_secs(30),
        }
    }

    #[test]
    fn follows_the_seed_schedule() {
        let p = seed_policy();
        // 1 s + [0, 0.5 s), 2 s + [0, 1 s), 4 s + [0, 2 s)
        for (retry, lo) in [(0, 1.0), (1, 2.0), (2, 4.0)] {
            assert_eq!(delay(&p, retry, None, 0.0).as_secs_f64(), lo);
            let hi = delay(&p, retry, None, 0.999_999).as_secs_f64();
            assert!(hi < lo * 1.5 && hi > lo * 1.49, "{hi}");
        }
    }

    #[test]
    fn bounds_hold_for_every_draw() {
        let p = seed_policy();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            // xorshift: a deterministic spread of draws and retry numbers
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unit = (x % 1_000_000) as f64 / 1_000_000.0;
            let retry = (x % 6) as u32;
            let d = delay(&p, retry, None, unit).as_secs_f64();
            let base = 2f64.powi(retry as i32);
            assert!(d >= base && d <= base * 1.5, "retry {retry}: {d}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = seed_policy();
        assert_eq!(
            delay(&p, 0, Some(Duration::from_secs(3)), 0.7),
            Duration::from_secs(3)
        );
        assert_eq!(
            delay(&p, 0, Some(Duration::from_secs(300)), 0.7),
            Duration::from_secs(30)
        );
    }
}
