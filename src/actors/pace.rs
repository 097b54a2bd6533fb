//! `UpstreamPace`: a provider actor's own limiter, keeping Sluice under the provider's
//! requests- and tokens-per-minute. A call that finds it full waits in a bounded queue for up to
//! the configured time instead of drawing a 429 from upstream; past either bound it is refused
//! with [`ProviderError::Saturated`], and the chain moves on.

use std::{
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
    time::Duration,
};

use crate::{
    config::UpstreamLimits,
    edge::rate::{Denied, Pace},
    error::ProviderError,
};

/// Requests and tokens per minute toward one upstream model.
pub struct UpstreamPace {
    requests: Option<Pace>,
    tokens: Option<Pace>,
    waiting: AtomicUsize,
    max_queue: usize,
    max_wait: Duration,
    refused: AtomicU64,
    queued: AtomicU64,
}

/// Leaves the queue when dropped, however the wait ends.
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl UpstreamPace {
    /// From a model's `requests_per_minute` / `tokens_per_minute` (bursts equal the pace).
    pub fn new(limits: &UpstreamLimits) -> UpstreamPace {
        UpstreamPace {
            requests: limits.requests_per_minute.map(|n| Pace::new(n, n)),
            tokens: limits.tokens_per_minute.map(|n| Pace::new(n, n)),
            waiting: AtomicUsize::new(0),
            max_queue: limits.max_queue,
            max_wait: limits.queue_wait,
            refused: AtomicU64::new(0),
            queued: AtomicU64::new(0),
        }
    }

    /// The longest a call waits for room.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// Calls waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Calls that had to wait, since start.
    pub fn queued_total(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Calls refused, since start.
    pub fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Admits one call of `tokens`: at once when there is room, after a wait in the queue when
    /// there will be room soon enough, else refused.
    pub async fn admit(&self, tokens: u32) -> Result<(), ProviderError> {
        let first = self.try_both(tokens);
        match first {
            Ok(()) => return Ok(()),
            Err(Denied::TooLarge { asked, burst }) => {
                return Err(self.refuse(
                    format!("the call needs {asked} tokens, more than this model's {burst} tokens per minute"),
                    None,
                ));
            }
            Err(Denied::Wait { .. }) => {}
        }
        let now_waiting = self.waiting.fetch_add(1, Ordering::AcqRel) + 1;
        let _slot = InQueue(&self.waiting);
        if now_waiting > self.max_queue {
            return Err(self.refuse(
                format!("{} calls already wait for this model", self.max_queue),
                Some(self.max_wait),
            ));
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.max_wait;
        // Requests first, then tokens, each within what is left of the wait.
        if let Some(p) = &self.requests
            && let Err(d) = p.wait_for(1, deadline - tokio::time::Instant::now()).await
        {
            return Err(self.refuse_after_wait(d));
        }
        if let Some(p) = &self.tokens {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Err(d) = p.wait_for(tokens, left).await {
                return Err(self.refuse_after_wait(d));
            }
        }
        Ok(())
    }

    fn try_both(&self, tokens: u32) -> Result<(), Denied> {
        if let Some(p) = &self.tokens
            && tokens > p.per_minute()
        {
            return Err(Denied::TooLarge {
                asked: tokens,
                burst: p.per_minute(),
            });
        }
        if let Some(p) = &self.requests {
            p.take(1)?;
        }
        if let Some(p) = &self.tokens {
            p.take(tokens)?;
        }
        Ok(())
    }

    fn refuse_after_wait(&self, d: Denied) -> ProviderError {
        match d {
            Denied::Wait { retry_after, .. } => self.refuse(
                format!(
                    "no room within the {} ms queue wait",
                    self.max_wait.as_millis()
                ),
                Some(retry_after),
            ),
            Denied::TooLarge { asked, burst } => self.refuse(
                format!("the call needs {asked} tokens, more than this model's {burst} per minute"),
                None,
            ),
        }
    }

    fn refuse(&self, why: String, retry_after: Option<Duration>) -> ProviderError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        ProviderError::Saturated { why, retry_after }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pace(rpm: u32, wait_ms: u64, max_queue: usize) -> UpstreamPace {
        UpstreamPace::new(&UpstreamLimits {
            requests_per_minute: Some(rpm),
            tokens_per_minute: Some(1_000_000),
            queue_wait: Duration::from_millis(wait_ms),
            max_queue,
        })
    }

    #[tokio::test]
    async fn full_pace_refuses_when_the_wait_would_be_too_long() {
        let p = pace(2, 50, 8);
        assert!(p.admit(10).await.is_ok());
        assert!(p.admit(10).await.is_ok());
        // The next slot is 30 s away: more than the 50 ms wait.
        let e = p.admit(10).await.unwrap_err();
        assert!(matches!(e, ProviderError::Saturated { .. }), "{e}");
        assert_eq!(p.waiting(), 0);
        assert_eq!(p.refused_total(), 1);
        // More tokens than a minute allows can never pass.
        let p = pace(100, 50, 8);
        assert!(matches!(
            p.admit(5_000_000).await,
            Err(ProviderError::Saturated {
                retry_after: None,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_short_wait_is_queued_then_admitted() {
        // 600 per minute: one every 100 ms once the burst is spent.
        let p = pace(600, 1000, 8);
        for _ in 0..600 {
            p.admit(1).await.unwrap();
        }
        assert!(p.admit(1).await.is_ok());
        assert_eq!(p.queued_total(), 1);
    }
}
