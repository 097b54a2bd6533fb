//! One model's non-streaming call with retries, and the task wrapper that turns panics into errors.

use std::future::Future;
use tracing::Instrument;

use futures_util::FutureExt;
use tokio::task::JoinHandle;

use crate::{
    actors::messages::{Lease, PaceRefused, ProviderFailed, ProviderHandle, ReportOutcome},
    backoff,
    error::ProviderError,
    providers::{Completion, UpstreamRequest},
};

/// A spawned task that is aborted when its handle is dropped (the client went away).
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> AbortOnDrop<T> {
    /// Waits for the task; a panic or abort becomes [`ProviderError::Crashed`].
    pub async fn join(&mut self) -> Result<T, ProviderError> {
        (&mut self.0).await.map_err(|e| {
            if e.is_panic() {
                crashed(e.into_panic())
            } else {
                ProviderError::Crashed("upstream task was cancelled".into())
            }
        })
    }
}

/// The error for a panicked upstream call.
fn crashed(payload: Box<dyn std::any::Any + Send>) -> ProviderError {
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    ProviderError::Crashed(format!("upstream call panicked: {text}"))
}

/// Runs `fut` in place, turning a panic into [`ProviderError::Crashed`]. Cheaper than a task
/// for a call the request simply awaits; dropping the request drops (cancels) the call.
pub async fn catch_crash<T>(
    fut: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    std::panic::AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(crashed(p)))
}

/// Runs `fut` on the runtime as its own task.
pub fn spawn_guarded<F>(fut: F) -> AbortOnDrop<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    AbortOnDrop(tokio::spawn(fut))
}

/// Tells the actor how an attempt went; a crash also stops it for a restart. A success that
/// changes nothing (closed circuit, no failures counted) sends no message.
pub fn report(
    handle: &ProviderHandle,
    lease: &Lease,
    error: Option<&ProviderError>,
    retrying: bool,
) {
    if let Some(e) = error {
        crate::observe::metrics::provider_error(&handle.model, e.label(), retrying);
    }
    if let Some(ProviderError::Crashed(reason)) = error {
        handle.addr.do_send(ProviderFailed {
            generation: Some(lease.generation),
            reason: reason.clone(),
        });
    }
    if error.is_none() && !handle.gate.success_changes_state() {
        return;
    }
    handle.addr.do_send(ReportOutcome {
        generation: lease.generation,
        error: error.cloned(),
        retrying,
    });
}

/// Whether to retry after `error` on attempt `retry` (0-based), and how long to wait first.
pub fn retry_delay(
    lease: &Lease,
    retry: u32,
    error: &ProviderError,
) -> Option<std::time::Duration> {
    (error.is_retryable() && retry < lease.retry.max_retries).then(|| {
        backoff::delay(
            &lease.retry,
            retry,
            error.retry_after(),
            backoff::unit_draw(),
        )
    })
}

/// Calls one model, retrying retryable failures with backoff.
pub async fn complete_with_retries(
    handle: &ProviderHandle,
    req: &std::sync::Arc<UpstreamRequest>,
) -> Result<Completion, ProviderError> {
    let mut retry = 0;
    loop {
        if let Some(pace) = &handle.pace
            && let Err(e) = pace.admit(req.paced_tokens()).await
        {
            handle.addr.do_send(PaceRefused);
            return Err(e);
        }
        let lease = handle.gate.acquire()?;
        let upstream = lease.upstream.clone();
        let r = req.clone();
        let limit = upstream.timeouts.request;
        let span = tracing::info_span!("provider_attempt", model = %handle.model, attempt = retry);
        let result = catch_crash(async move {
            tokio::time::timeout(limit, upstream.complete(&r))
                .await
                .unwrap_or(Err(ProviderError::Timeout("the whole answer")))
        })
        .instrument(span)
        .await;
        match result {
            Ok(c) => {
                report(handle, &lease, None, false);
                return Ok(c);
            }
            Err(e) => {
                let delay = retry_delay(&lease, retry, &e);
                report(handle, &lease, Some(&e), delay.is_some());
                drop(lease);
                match delay {
                    Some(d) => {
                        tracing::debug!(model = %handle.model, retry, delay_ms = d.as_millis() as u64, error = %e, "retrying");
                        tokio::time::sleep(d).await;
                        retry += 1;
                    }
                    None => return Err(e),
                }
            }
        }
    }
}
