//! Figures for the accounting path, printed (not asserted):
//! - what logging, metrics and cost accounting add to one request, on every thread it touches:
//!   the request's own (the decimal price, the live windows, the Prometheus series, the JSON log
//!   line to a discarding writer, the hand-offs to the actors' inboxes), the CostActor's and
//!   EvalActor's (their drains, and the hand-off to the ledger's queue), and the ledger
//!   writer's (its time per row through the queue);
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

use tracing_subscriber::layer::SubscriberExt;

use sluice::{
    actors::{
        cost::CostActor,
        eval::EvalActor,
        inbox::Inbox,
        messages::{RecordEval, RecordUsage},
        stats::ActorStats,
    },
    config::{LedgerBackend, LedgerConfig},
    ledger::{Entry, Ledger, LedgerStore, PostgresLedger, RequestRecord, SqliteLedger},
    money::Prices,
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

/// What accounting costs one request, ns per request, in its parts.
struct Overhead {
    /// On the request's thread: price, live windows, metrics, the log line, and the two inbox
    /// hand-offs.
    request: f64,
    /// On the actors' thread: the CostActor's and EvalActor's drains (the CostActor hands each
    /// row to the ledger's queue).
    actors: f64,
}

/// Runs `n` finished requests through the same calls the gateway makes after each answer.
fn overhead(n: usize) -> Option<Overhead> {
    let dir = temp("bench-overhead");
    let store: Arc<dyn LedgerStore> = match SqliteLedger::open(&dir.join("l.db")) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("cannot open a ledger: {e}");
            return None;
        }
    };
    let ledger = Arc::new(Ledger::start(store, &cfg(), dir.join("o.jsonl")).ok()?);
    let live = LiveStats::default();
    observe::metrics::handle();
    let cost_inbox = Arc::new(Inbox::new(256));
    let eval_inbox = Arc::new(Inbox::new(256));
    let mut cost_actor = CostActor::new(
        cost_inbox.clone(),
        ledger.clone(),
        ActorStats::new("cost", "bench"),
    );
    let mut eval_actor = EvalActor::new(eval_inbox.clone(), ActorStats::new("eval", "bench"));
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
    let subscriber = tracing_subscriber::registry().with(observe::telemetry::log_layer(
        tracing_subscriber::EnvFilter::new("info"),
        std::io::sink,
    ));
    let rows: Vec<RequestRecord> = (0..n).map(row).collect();
    let (mut request, mut actors) = (Duration::ZERO, Duration::ZERO);
    tracing::subscriber::with_default(subscriber, || {
        // In rounds the size of the gateway's inbox nudge, as the actors see them.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let t = Instant::now();
            for r in rows.by_ref().take(256) {
                let cost = prices.cost(black_box(&usage));
                live.observe(&r, cost);
                observe::metrics::request(&r, cost);
                eval_inbox.push(RecordEval::of(&r, cost, Vec::new(), Vec::new()));
                observe::log_request(&r, cost);
                cost_inbox.push(RecordUsage {
                    row: Box::new(r),
                    cost_usd: cost,
                });
            }
            let t2 = Instant::now();
            cost_actor.drain();
            eval_actor.drain();
            request += t2 - t;
            actors += t2.elapsed();
            // Faster than any writer: wait for room rather than measure the overflow file.
            while ledger.stats().queued > 15_000 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    });
    ledger.close();
    let written = ledger.stats().written as usize;
    let _ = std::fs::remove_dir_all(dir);
    if written != n {
        eprintln!("overhead: the ledger wrote {written} of {n} rows");
        return None;
    }
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    Some(Overhead {
        request: per(request),
        actors: per(actors),
    })
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
    let parts = overhead(n.min(100_000));
    let dir = temp("bench-sqlite");
    match SqliteLedger::open(&dir.join("l.db")) {
        Ok(s) => {
            let s: Arc<dyn LedgerStore> = Arc::new(s);
            let rate = through_queue(s.clone(), n, "bench-q");
            if let Some(p) = &parts {
                // The writer is busy from the first record to the last commit, so its time per
                // record is the inverse of the rate.
                let writer = 1e9 / rate;
                println!(
                    "accounting per request, every thread: {:.2} µs = request thread {:.2} (price, live windows, metrics, JSON log line, hand-offs) + cost and eval actors {:.2} + ledger writer {:.2} (SQLite)",
                    (p.request + p.actors + writer) / 1000.0,
                    p.request / 1000.0,
                    p.actors / 1000.0,
                    writer / 1000.0
                );
            }
            println!(
                "sqlite ledger, through the queue and writer: {rate:.0} records/s ({n} records)"
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
