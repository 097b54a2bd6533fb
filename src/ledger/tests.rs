#![allow(clippy::unwrap_used)]

use super::*;

pub(crate) fn request(id: &str, day: &str, user: &str, model: &str, cost_pico: i64) -> Entry {
    Entry::Request(RequestRecord {
        request_id: id.into(),
        ts_ms: 1_700_000_000_000,
        day: day.into(),
        user_id: user.into(),
        key_name: format!("key-{user}"),
        route: "default".into(),
        model: model.into(),
        provider: "p".into(),
        template: "none".into(),
        version: "v1".into(),
        status: 200,
        error: None,
        cache: if model == "cache" { "hit" } else { "miss" }.into(),
        input_tokens: 100,
        cached_input_tokens: 40,
        cache_write_tokens: 0,
        output_tokens: 10,
        estimated: false,
        cost_pico,
        latency_ms: 12.5,
        ttft_ms: Some(3.0),
        output_chars: 42,
        guardrail_input_pass: true,
        guardrail_output_pass: true,
        guardrail_flags: String::new(),
        tools_used: String::new(),
        downgraded: false,
        row_key: String::new(),
    })
}

fn cfg(queue: usize) -> LedgerConfig {
    LedgerConfig {
        backend: LedgerBackend::Sqlite,
        queue,
        batch: 100,
    }
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-ledger-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn close_writes_everything_queued() {
    let dir = temp_dir();
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteLedger::open(&dir.join("l.db")).unwrap());
    let ledger = Ledger::start(store.clone(), &cfg(10_000), dir.join("o.jsonl")).unwrap();
    for i in 0..2_500 {
        ledger.record(request(&format!("r{i}"), "2026-11-01", "u", "m", 1));
    }
    ledger.close();
    assert_eq!(store.count().unwrap(), 2_500);
    let st = ledger.stats();
    assert_eq!(
        (st.accepted, st.written, st.overflowed, st.queued),
        (2_500, 2_500, 0, 0)
    );
    // After close, records are not lost: they go to the overflow file.
    ledger.record(request("late", "2026-11-01", "u", "m", 1));
    assert_eq!(ledger.stats().overflowed, 1);
    drop(ledger);
    let again = Ledger::start(store.clone(), &cfg(10), dir.join("o.jsonl")).unwrap();
    assert_eq!(
        store.count().unwrap(),
        2_501,
        "the overflow file is written at the next start"
    );
    assert!(!dir.join("o.jsonl").exists());
    again.close();
    let _ = std::fs::remove_dir_all(dir);
}

/// A store that fails until told otherwise, to fill the queue.
struct Failing {
    inner: SqliteLedger,
    fail: std::sync::atomic::AtomicBool,
}

impl LedgerStore for Failing {
    fn kind(&self) -> &'static str {
        "failing"
    }
    fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(LedgerError::Write("down".into()));
        }
        self.inner.write(batch)
    }
    fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError> {
        self.inner.aggregate(q)
    }
    fn count(&self) -> Result<u64, LedgerError> {
        self.inner.count()
    }
    fn request(&self, id: &str) -> Result<Option<RequestRecord>, LedgerError> {
        self.inner.request(id)
    }
    fn feedback(&self, id: &str) -> Result<Option<FeedbackRecord>, LedgerError> {
        self.inner.feedback(id)
    }
}

#[test]
fn a_full_queue_overflows_to_the_file_and_nothing_is_lost() {
    let dir = temp_dir();
    let failing = Arc::new(Failing {
        inner: SqliteLedger::open(&dir.join("l.db")).unwrap(),
        fail: std::sync::atomic::AtomicBool::new(true),
    });
    let ledger = Ledger::start(failing.clone(), &cfg(50), dir.join("o.jsonl")).unwrap();
    for i in 0..1_000 {
        ledger.record(request(&format!("r{i}"), "2026-11-01", "u", "m", 1));
    }
    let st = ledger.stats();
    assert!(st.overflowed > 0, "{st:?}");
    ledger.close();
    assert_eq!(failing.count().unwrap(), 0);
    failing.fail.store(false, Ordering::SeqCst);
    let again = Ledger::start(failing.clone(), &cfg(50), dir.join("o.jsonl")).unwrap();
    assert_eq!(
        failing.count().unwrap(),
        1_000,
        "every record reached the database"
    );
    again.close();
    let _ = std::fs::remove_dir_all(dir);
}
