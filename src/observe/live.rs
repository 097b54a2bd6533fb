//! Live figures over the last 5 minutes, hour and day, for `/admin/stats` and the dashboard:
//! one bucket per minute with counts, spend and a latency histogram (log-spaced bins 5% apart,
//! so a percentile is within 5% of the exact one), plus the latest requests.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

use crate::{
    ledger::RequestRecord,
    money::{self, Usd},
};

/// Smallest latency bin edge, ms.
const FIRST_EDGE_MS: f64 = 0.01;
/// Each bin's upper edge is this factor above the previous one.
const GROWTH: f64 = 1.05;
/// Bins: up to 0.01 ms × 1.05³⁶⁸ ≈ 6.3 × 10⁵ ms (10 minutes); slower requests go in the last.
const BINS: usize = 368;
/// Minutes kept: a day.
const MINUTES: usize = 1440;
/// Latest requests kept.
const RECENT: usize = 50;

/// The seed's targets for the dashboard.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Targets {
    /// P50 latency under this, ms.
    pub p50_latency_ms: f64,
    /// P99 latency under this, ms.
    pub p99_latency_ms: f64,
    /// Cache hit rate above this, percent.
    pub cache_hit_rate_pct: f64,
    /// Guardrail block rate under this, percent.
    pub guardrail_block_rate_pct: f64,
    /// Cost per request under this, USD.
    pub cost_per_request_usd: f64,
}

/// The targets the seed sets.
pub const TARGETS: Targets = Targets {
    p50_latency_ms: 2000.0,
    p99_latency_ms: 10_000.0,
    cache_hit_rate_pct: 30.0,
    guardrail_block_rate_pct: 5.0,
    cost_per_request_usd: 0.01,
};

/// Figures over one window.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Window {
    /// Requests.
    pub requests: u64,
    /// Of which ended in an error status.
    pub errors: u64,
    /// errors / requests, percent.
    pub error_rate_pct: f64,
    /// Median latency, ms.
    pub p50_latency_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_latency_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_latency_ms: f64,
    /// Cache hits / requests, percent.
    pub cache_hit_rate_pct: f64,
    /// Requests blocked by a guardrail (input or output) / requests, percent.
    pub guardrail_block_rate_pct: f64,
    /// USD per request.
    pub cost_per_request_usd: f64,
    /// USD in the window.
    pub cost_usd: f64,
}

/// `/admin/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// When computed, RFC 3339.
    pub generated_at: String,
    /// `5m`, `1h` and `1d`.
    pub windows: std::collections::BTreeMap<&'static str, Window>,
    /// The seed's targets.
    pub targets: Targets,
}

/// One minute of the latency and cost charts.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The minute's start, Unix seconds.
    pub t: i64,
    /// Requests.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Median latency.
    pub p50_latency_ms: f64,
    /// 99th percentile latency.
    pub p99_latency_ms: f64,
    /// USD.
    pub cost_usd: f64,
}

/// A recent request for the dashboard.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recent {
    /// Request id.
    pub request_id: String,
    /// When it ended, RFC 3339 (formatted when read, not on the request path).
    pub ts: String,
    #[serde(skip)]
    ts_ms: i64,
    /// User.
    pub user: String,
    /// Model.
    pub model: String,
    /// Template.
    pub template: String,
    /// Version.
    pub version: String,
    /// HTTP status.
    pub status: i32,
    /// Latency.
    pub latency_ms: f64,
    /// Cache participation.
    pub cache: String,
    /// USD.
    pub cost_usd: f64,
    /// What went wrong.
    pub error: Option<String>,
}

struct Minute {
    t: i64,
    requests: u64,
    errors: u64,
    cache_hits: u64,
    blocked: u64,
    cost: Usd,
    latency: Box<[u32; BINS]>,
}

impl Minute {
    fn new(t: i64) -> Minute {
        Minute {
            t,
            requests: 0,
            errors: 0,
            cache_hits: 0,
            blocked: 0,
            cost: Usd::ZERO,
            latency: Box::new([0; BINS]),
        }
    }
}

fn bin(ms: f64) -> usize {
    if ms.is_nan() || ms <= FIRST_EDGE_MS {
        return 0;
    }
    let i = ((ms / FIRST_EDGE_MS).ln() / GROWTH.ln()).ceil();
    (i as usize).min(BINS - 1)
}

fn edge(i: usize) -> f64 {
    let v = FIRST_EDGE_MS * GROWTH.powi(i as i32);
    (v * 1000.0).round() / 1000.0
}

/// The upper edge of the bin holding the `q` quantile.
fn quantile(hist: &[u64; BINS], total: u64, q: f64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return edge(i);
        }
    }
    edge(BINS - 1)
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 10_000.0 / whole as f64).round() / 100.0
    }
}

/// The live figures. Each request takes the lock once, briefly.
#[derive(Default)]
pub struct LiveStats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    minutes: VecDeque<Minute>,
    recent: VecDeque<Recent>,
}

impl std::fmt::Debug for LiveStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveStats").finish_non_exhaustive()
    }
}

impl LiveStats {
    /// Counts a finished request.
    pub fn observe(&self, row: &RequestRecord, cost: Usd) {
        let t = (row.ts_ms / 1000).div_euclid(60) * 60;
        let blocked = row
            .guardrail_flags
            .split(',')
            .any(|f| f == "input_blocked" || f == "output_blocked");
        let mut g = self.inner.lock();
        if g.minutes.back().is_none_or(|m| m.t < t) {
            if g.minutes.len() == MINUTES {
                g.minutes.pop_front();
            }
            g.minutes.push_back(Minute::new(t));
        }
        // A request finishing just after a minute turned may carry the previous minute: it
        // goes to the newest bucket, which is at most a few milliseconds off.
        if let Some(m) = g.minutes.back_mut() {
            m.requests += 1;
            m.errors += u64::from(row.status >= 400);
            m.cache_hits += u64::from(row.cache_hit());
            m.blocked += u64::from(blocked);
            m.cost += cost;
            m.latency[bin(row.latency_ms)] += 1;
        }
        // The oldest entry's strings are overwritten in place (`clone_from` keeps their
        // buffers), so a full ring costs no allocation per request.
        let mut slot = if g.recent.len() == RECENT {
            g.recent.pop_back().unwrap_or_default()
        } else {
            Recent::default()
        };
        slot.request_id.clone_from(&row.request_id);
        slot.ts_ms = row.ts_ms;
        slot.user.clone_from(&row.user_id);
        slot.model.clone_from(&row.model);
        slot.template.clone_from(&row.template);
        slot.version.clone_from(&row.version);
        slot.status = row.status;
        slot.latency_ms = row.latency_ms;
        slot.cache.clone_from(&row.cache);
        slot.cost_usd = money::to_f64(cost);
        slot.error.clone_from(&row.error);
        g.recent.push_front(slot);
    }

    fn window(minutes: &VecDeque<Minute>, since: i64) -> Window {
        let mut hist = [0u64; BINS];
        let (mut n, mut err, mut hits, mut blocked, mut cost) = (0, 0, 0, 0, Usd::ZERO);
        for m in minutes.iter().rev().take_while(|m| m.t >= since) {
            n += m.requests;
            err += m.errors;
            hits += m.cache_hits;
            blocked += m.blocked;
            cost += m.cost;
            for (h, v) in hist.iter_mut().zip(m.latency.iter()) {
                *h += u64::from(*v);
            }
        }
        let per = if n == 0 {
            Usd::ZERO
        } else {
            cost / Usd::from(n)
        };
        Window {
            requests: n,
            errors: err,
            error_rate_pct: pct(err, n),
            p50_latency_ms: quantile(&hist, n, 0.50),
            p95_latency_ms: quantile(&hist, n, 0.95),
            p99_latency_ms: quantile(&hist, n, 0.99),
            cache_hit_rate_pct: pct(hits, n),
            guardrail_block_rate_pct: pct(blocked, n),
            cost_per_request_usd: money::to_f64(per.round_dp(8)),
            cost_usd: money::to_f64(cost.round_dp(8)),
        }
    }

    /// The figures over the last 5 minutes, hour and day (whole minutes, the current one
    /// included).
    pub fn report(&self) -> StatsReport {
        let now = crate::store::unix_now();
        let this_minute = now.div_euclid(60) * 60;
        let g = self.inner.lock();
        let mut windows = std::collections::BTreeMap::new();
        for (name, minutes) in [("5m", 5), ("1h", 60), ("1d", 1440)] {
            windows.insert(
                name,
                Self::window(&g.minutes, this_minute - (minutes - 1) * 60),
            );
        }
        StatsReport {
            generated_at: jiff::Timestamp::now().to_string(),
            windows,
            targets: TARGETS,
        }
    }

    /// One point per minute with traffic over the last hour, oldest first.
    pub fn series(&self) -> Vec<Point> {
        let since = crate::store::unix_now().div_euclid(60) * 60 - 59 * 60;
        let g = self.inner.lock();
        let mut out: Vec<Point> = g
            .minutes
            .iter()
            .rev()
            .take_while(|m| m.t >= since)
            .map(|m| {
                let hist: Box<[u64; BINS]> = Box::new(m.latency.map(u64::from));
                Point {
                    t: m.t,
                    requests: m.requests,
                    errors: m.errors,
                    p50_latency_ms: quantile(&hist, m.requests, 0.5),
                    p99_latency_ms: quantile(&hist, m.requests, 0.99),
                    cost_usd: money::to_f64(m.cost.round_dp(8)),
                }
            })
            .collect();
        out.reverse();
        out
    }

    /// The latest requests, newest first.
    pub fn recent(&self) -> Vec<Recent> {
        let mut out: Vec<Recent> = self.inner.lock().recent.iter().cloned().collect();
        for r in &mut out {
            r.ts = jiff::Timestamp::from_millisecond(r.ts_ms)
                .map(|t| t.to_string())
                .unwrap_or_default();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(latency_ms: f64, status: i32, cache: &str, flags: &str) -> RequestRecord {
        RequestRecord {
            request_id: "r".into(),
            ts_ms: crate::store::unix_now() * 1000,
            day: "d".into(),
            user_id: "u".into(),
            key_name: String::new(),
            route: "default".into(),
            model: "m".into(),
            provider: "p".into(),
            template: "none".into(),
            version: "v1".into(),
            status,
            error: None,
            cache: cache.into(),
            input_tokens: 1,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 1,
            estimated: false,
            cost_pico: 0,
            latency_ms,
            ttft_ms: None,
            output_chars: 1,
            guardrail_input_pass: true,
            guardrail_output_pass: true,
            guardrail_flags: flags.into(),
            tools_used: String::new(),
            downgraded: false,
            row_key: String::new(),
        }
    }

    #[test]
    fn percentiles_are_within_five_percent() {
        let live = LiveStats::default();
        for i in 1..=1000 {
            live.observe(&row(f64::from(i), 200, "miss", ""), Usd::ZERO);
        }
        let w = &live.report().windows["5m"];
        assert_eq!(w.requests, 1000);
        for (got, exact) in [
            (w.p50_latency_ms, 500.0),
            (w.p95_latency_ms, 950.0),
            (w.p99_latency_ms, 990.0),
        ] {
            assert!(got >= exact && got <= exact * 1.05, "{got} vs {exact}");
        }
    }

    #[test]
    fn rates_and_cost_per_request() {
        let live = LiveStats::default();
        let cost: Usd = "0.004".parse().unwrap();
        live.observe(&row(10.0, 200, "hit", ""), Usd::ZERO);
        live.observe(&row(10.0, 400, "off", "input_blocked"), Usd::ZERO);
        live.observe(&row(10.0, 200, "miss", "pii:email"), cost);
        live.observe(&row(10.0, 200, "miss", ""), cost);
        let r = live.report();
        let w = &r.windows["1h"];
        assert_eq!((w.requests, w.errors), (4, 1));
        assert_eq!(w.cache_hit_rate_pct, 25.0);
        assert_eq!(w.guardrail_block_rate_pct, 25.0);
        assert_eq!(w.cost_usd, 0.008);
        assert_eq!(w.cost_per_request_usd, 0.002);
        assert_eq!(r.windows["1d"], *w);
        assert_eq!(live.series().len(), 1);
        assert_eq!(live.recent().len(), 4);
    }
}
