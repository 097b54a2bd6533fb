//! Figures for the accounting path, printed (not asserted):
//! - what logging, metrics and cost accounting add to one request: the live windows, the
//!   Prometheus counters, the JSON log line (to a discarding writer), the hand-off to the
//!   ledger's queue, and the decimal price;
//! - records per second the ledger's writer stores into SQLite (WAL) through its queue, and
//!   straight into each backend in batches; PostgreSQL too when `SLUICE_BENCH_POSTGRES_URL` is
//!   set.
//!
//!   cargo run --release --bin ledger_bench [-- N]     (N records, default 200000)

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use sluice::{
    config::{LedgerBackend, LedgerConfig},
    ledger::{Entry, Ledger, LedgerStore, PostgresLedger, RequestRecord, SqliteLedger},
    money::{self, Prices},
    observe::{self, LiveStats},
    wire::{PromptTokensDetails, Usage},
};

fn row(i: usize) -> RequestRecord {
    RequestRecord {
        request_id: format!("req_{i:024x}"),
        ts_ms: 1_800_000_000_000 + i as i64,
        day: "2027-01-15".into(),
        user_id: format!("user-{}", i % 97),
        key_name: "web-app".into(),
        route: "default".into(),
        model: "gpt-4o".into(),
        provider: "openai".into(),
        template: "general_chat".into(),
        version: "v2".into(),
        status: 200,
        error: None,
        cache: "miss".into(),
        input_tokens: 1500,
        cached_input_tokens: 1024,
        cache_write_tokens: 0,
        output_tokens: 400,
        estimated: false,
        cost_pico: 6_340_000_000,
        latency_ms: 812.5,
        ttft_ms: Some(231.0),
        output_chars: 1700,
        guardrail_input_pass: true,
        guardrail_output_pass: true,
        guardrail_flags: "pii:email".into(),
        tools_used: String::new(),
        downgraded: false,
        // Set here for the direct writes; the ledger's own keys look alike (time-ordered).
        row_key: format!("{:012x}-00000000-{i:010x}", 1_800_000_000_000 + i as i64),
    }
}

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-{tag}-{:x}", rand::random::<u64>()));
    let _ = std::fs::create_dir_all(&d);
    d
}

fn cfg() -> LedgerConfig {
    LedgerConfig {
        backend: LedgerBackend::Sqlite,
        queue: 20_000,
        batch: 1_000,
    }
}

/// Per-request cost of the accounting path, ns.
fn overhead(n: usize) -> f64 {
    let dir = temp("bench-overhead");
    let store: Arc<dyn LedgerStore> = match SqliteLedger::open(&dir.join("l.db")) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("cannot open a ledger: {e}");
            return f64::NAN;
        }
    };
    let Ok(ledger) = Ledger::start(store, &cfg(), dir.join("o.jsonl")) else {
        return f64::NAN;
    };
    let live = LiveStats::default();
    observe::metrics::handle();
    let prices = Prices {
        input: "2.5".parse().unwrap_or_default(),
        cached_input: "1.25".parse().unwrap_or_default(),
        cache_write: "2.5".parse().unwrap_or_default(),
        output: "10".parse().unwrap_or_default(),
    };
    let mut usage = Usage::new(1500, 400);
    usage.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: 1024,
        cache_write_tokens: 0,
    });
    // The JSON log layer as the binary installs it, writing to nowhere.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_writer(std::io::sink)
        .finish();
    let rows: Vec<RequestRecord> = (0..n).map(row).collect();
    let started = Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for r in rows {
            let cost = prices.cost(black_box(&usage));
            live.observe(&r, cost);
            observe::metrics::request(&r, cost);
            tracing::info!(
                request_id = %r.request_id, user_id = %r.user_id, key = %r.key_name,
                route = %r.route, template = %r.template, version = %r.version,
                model = %r.model, provider = %r.provider, input_tokens = r.input_tokens,
                cached_input_tokens = r.cached_input_tokens, output_tokens = r.output_tokens,
                estimated_usage = r.estimated, latency_ms = r.latency_ms, ttft_ms = r.ttft_ms,
                cache = %r.cache, cache_hit = false, guardrail_input_pass = true,
                guardrail_output_pass = true, cost_usd = %cost, downgraded = false, error = "",
                "request"
            );
            let _ = money::to_pico(cost);
            ledger.record(Entry::Request(r));
        }
    });
    let ns = started.elapsed().as_nanos() as f64 / n as f64;
    ledger.close();
    let _ = std::fs::remove_dir_all(dir);
    ns
}

/// Records per second through the queue and writer thread, until all are committed.
fn through_queue(store: Arc<dyn LedgerStore>, n: usize, tag: &str) -> f64 {
    let dir = temp(tag);
    let Ok(ledger) = Ledger::start(store.clone(), &cfg(), dir.join("o.jsonl")) else {
        return f64::NAN;
    };
    let rows: Vec<RequestRecord> = (0..n).map(|i| row(i + 10_000_000)).collect();
    let started = Instant::now();
    for r in rows {
        ledger.record(Entry::Request(r));
        // The queue holds 20,000: past that the bench would measure the overflow file, so it
        // waits for room instead (what a saturated writer looks like from outside).
        while ledger.stats().queued > 19_000 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    ledger.close();
    let secs = started.elapsed().as_secs_f64();
    let st = ledger.stats();
    let _ = std::fs::remove_dir_all(dir);
    if st.written as usize != n {
        eprintln!(
            "{tag}: wrote {} of {n} ({} overflowed)",
            st.written, st.overflowed
        );
    }
    n as f64 / secs
}

/// Records per second written straight to a backend in batches of `batch`.
fn direct(store: &dyn LedgerStore, n: usize, batch: usize, offset: usize) -> f64 {
    let rows: Vec<Entry> = (0..n).map(|i| Entry::Request(row(i + offset))).collect();
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        if let Err(e) = store.write(chunk) {
            eprintln!("write failed: {e}");
            return f64::NAN;
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let ns = overhead(n.min(100_000));
    println!(
        "accounting path per request (live stats + metrics + JSON log line + ledger hand-off + price): {:.2} µs",
        ns / 1000.0
    );
    let dir = temp("bench-sqlite");
    match SqliteLedger::open(&dir.join("l.db")) {
        Ok(s) => {
            let s: Arc<dyn LedgerStore> = Arc::new(s);
            println!(
                "sqlite ledger, through the queue and writer: {:.0} records/s ({n} records)",
                through_queue(s.clone(), n, "bench-q")
            );
            println!(
                "sqlite ledger, direct batches of 1000: {:.0} records/s",
                direct(s.as_ref(), n, 1000, 20_000_000)
            );
        }
        Err(e) => eprintln!("sqlite: {e}"),
    }
    let _ = std::fs::remove_dir_all(dir);
    if let Ok(url) = std::env::var("SLUICE_BENCH_POSTGRES_URL") {
        // The sync client runs its own runtime; this is a plain thread, as in the gateway.
        match PostgresLedger::connect(&url) {
            Ok(p) => {
                let p: Arc<dyn LedgerStore> = Arc::new(p);
                println!(
                    "postgres ledger, through the queue and writer: {:.0} records/s ({n} records)",
                    through_queue(p.clone(), n, "bench-pq")
                );
                println!(
                    "postgres ledger, direct batches of 1000: {:.0} records/s",
                    direct(p.as_ref(), n, 1000, 30_000_000)
                );
            }
            Err(e) => eprintln!("postgres: {e}"),
        }
    }
}
