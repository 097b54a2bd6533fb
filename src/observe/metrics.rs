//! Prometheus metrics (`GET /metrics`): request counts, latency and time-to-first-token
//! histograms, tokens, cost, cache results and guardrail findings are counted as requests end;
//! provider retries and errors as they happen; actor and ledger gauges are read when scraped.
//!
//! The `metrics` facade keeps one recorder per process; every gateway in the process (tests
//! start several) writes to it, which is why tests compare counts before and after.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{Arc, LazyLock, OnceLock},
};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use parking_lot::RwLock;

use crate::{
    actors::stats::ActorSnapshot,
    ledger::{LedgerStats, RequestRecord},
    money::{self, Usd},
};

/// Latency buckets, seconds: 1 ms to 2 minutes.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// How often queued histogram samples are folded into their buckets (each waits as 8 bytes
/// until then: at 10,000 requests/s a second's worth is under half a megabyte).
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once; `None` when another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => {
                    // Histogram samples queue until upkeep folds them into their buckets; a
                    // gateway nobody scrapes would otherwise grow without bound.
                    let upkeep = h.clone();
                    let started = std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        });
                    if let Err(e) = started {
                        tracing::warn!(error = %e, "no metrics upkeep thread; histograms drain only when scraped");
                    }
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

/// The series one kind of finished request touches, registered once: looking a labelled series
/// up in the recorder builds and hashes its whole key, which per request cost more than the
/// counting itself.
struct RequestSeries {
    requests: Counter,
    duration: Histogram,
    ttft: Histogram,
    /// Input (uncached), cached input, cache writes, output.
    tokens: [Counter; 4],
    cost: Gauge,
    cache: Counter,
}

impl RequestSeries {
    fn register(route: &str, model: &str, status: i32, cache: &str) -> Self {
        // Handles are bound to the recorder installed when they are made: install ours first,
        // or the cache would keep handles to the no-op recorder.
        let _ = handle();
        let tokens = ["input", "cached_input", "cache_write", "output"].map(
            |kind| counter!("sluice_tokens_total", "model" => model.to_string(), "kind" => kind),
        );
        RequestSeries {
            requests: counter!("sluice_requests_total", "route" => route.to_string(), "model" => model.to_string(), "status" => status.to_string()),
            duration: histogram!("sluice_request_duration_seconds", "route" => route.to_string()),
            ttft: histogram!("sluice_time_to_first_token_seconds", "model" => model.to_string()),
            tokens,
            cost: gauge!("sluice_cost_usd_total", "model" => model.to_string()),
            cache: counter!("sluice_cache_requests_total", "result" => cache.to_string()),
        }
    }
}

/// One registered set per (route, model, status, cache result), found by a hash of the four;
/// entries of equal hash are told apart by their labels.
type SeriesCache = HashMap<u64, Vec<((String, String, i32, String), Arc<RequestSeries>)>>;

static SERIES: LazyLock<RwLock<SeriesCache>> = LazyLock::new(Default::default);

fn series(route: &str, model: &str, status: i32, cache: &str) -> Arc<RequestSeries> {
    let mut h = std::hash::DefaultHasher::new();
    (route, model, status, cache).hash(&mut h);
    let h = h.finish();
    let same = |k: &(String, String, i32, String)| {
        k.0 == route && k.1 == model && k.2 == status && k.3 == cache
    };
    if let Some(found) = SERIES
        .read()
        .get(&h)
        .and_then(|v| v.iter().find(|(k, _)| same(k)))
    {
        return found.1.clone();
    }
    let mut all = SERIES.write();
    let slot = all.entry(h).or_default();
    if let Some(found) = slot.iter().find(|(k, _)| same(k)) {
        return found.1.clone();
    }
    let made = Arc::new(RequestSeries::register(route, model, status, cache));
    slot.push((
        (
            route.to_string(),
            model.to_string(),
            status,
            cache.to_string(),
        ),
        made.clone(),
    ));
    made
}

/// Counts a finished request.
pub fn request(row: &RequestRecord, cost: Usd) {
    let s = series(&row.route, &row.model, row.status, &row.cache);
    s.requests.increment(1);
    s.duration.record(row.latency_ms / 1000.0);
    if let Some(t) = row.ttft_ms {
        s.ttft.record(t / 1000.0);
    }
    let counts = [
        row.input_tokens - row.cached_input_tokens - row.cache_write_tokens,
        row.cached_input_tokens,
        row.cache_write_tokens,
        row.output_tokens,
    ];
    for (counter, n) in s.tokens.iter().zip(counts) {
        if n > 0 {
            counter.increment(u64::try_from(n).unwrap_or(0));
        }
    }
    if !cost.is_zero() {
        // A float total of exact per-request amounts: fine for a rate on a graph; the ledger
        // holds the exact sums.
        s.cost.increment(money::to_f64(cost));
    }
    s.cache.increment(1);
    for flag in row.guardrail_flags.split(',').filter(|f| !f.is_empty()) {
        let (stage, category) = match flag {
            "input_blocked" => ("input", "blocked"),
            "output_blocked" => ("output", "unsafe_content"),
            "format_invalid" => ("output", "format"),
            other => ("input", other),
        };
        counter!("sluice_guardrail_findings_total", "stage" => stage, "category" => category.to_string())
            .increment(1);
        if flag.ends_with("_blocked") {
            counter!("sluice_guardrail_blocks_total", "stage" => stage).increment(1);
        }
    }
    if row.downgraded {
        counter!("sluice_budget_downgrades_total").increment(1);
    }
}

/// Counts a provider attempt's failure, and whether it is retried.
pub fn provider_error(model: &str, kind: &'static str, retrying: bool) {
    counter!("sluice_provider_errors_total", "model" => model.to_string(), "kind" => kind)
        .increment(1);
    if retrying {
        counter!("sluice_provider_retries_total", "model" => model.to_string()).increment(1);
    }
}

/// Sets the gauges read at scrape time: each actor's restarts, in-flight calls and circuit
/// (0 closed, 1 half open, 2 open), the inbox depths, the ledger's counters, emergency mode.
pub fn scrape_gauges(
    actors: &[ActorSnapshot],
    inboxes: &[(&'static str, usize)],
    ledger: LedgerStats,
    emergency: bool,
) {
    for a in actors {
        let labels = [("kind", a.kind.to_string()), ("name", a.name.clone())];
        gauge!("sluice_actor_restarts", &labels).set(a.restarts as f64);
        gauge!("sluice_actor_in_flight", &labels).set(a.in_flight as f64);
        gauge!("sluice_actor_messages_handled", &labels).set(a.messages_handled as f64);
        if let Some(c) = a.state.get("circuit").and_then(|v| v.as_str()) {
            let v = match c {
                "closed" => 0.0,
                "half_open" => 1.0,
                _ => 2.0,
            };
            gauge!("sluice_provider_circuit_state", "model" => a.name.clone()).set(v);
        }
    }
    for (actor, depth) in inboxes {
        gauge!("sluice_actor_mailbox_depth", "actor" => *actor).set(*depth as f64);
    }
    gauge!("sluice_ledger_queued").set(ledger.queued as f64);
    gauge!("sluice_ledger_written").set(ledger.written as f64);
    gauge!("sluice_ledger_overflowed").set(ledger.overflowed as f64);
    gauge!("sluice_ledger_write_errors").set(ledger.write_errors as f64);
    gauge!("sluice_budget_emergency").set(if emergency { 1.0 } else { 0.0 });
}
