//! Ledger tests against a real PostgreSQL and SQLite, with the same assertions.
//! PostgreSQL: $SLUICE_TEST_POSTGRES_URL, or a throwaway server from scripts/postgres.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::postgres::PgServer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use sluice::ledger::PostgresLedger;
use sluice::ledger::SqliteLedger;
use sluice::ledger::{
    CostQuery, Dimension, Entry, FeedbackRecord, Group, LedgerError, LedgerStore, RequestRecord,
};

const DAYS: [&str; 5] = [
    "2025-01-30",
    "2025-01-31",
    "2025-02-01",
    "2025-02-02",
    "2025-02-03",
];
const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const KEYS: [&str; 3] = ["k1", "k2", "k3"];
const MODELS: [&str; 3] = ["gpt-4o", "claude-sonnet", "llama3"];
const ROUTES: [&str; 2] = ["chat", "completions"];
const CACHES: [&str; 5] = ["miss", "hit", "stale", "shared", "bypass"];

fn record(prefix: &str, i: usize) -> RequestRecord {
    RequestRecord {
        request_id: format!("{prefix}-{i:07}"),
        ts_ms: 1_738_000_000_000 + i as i64,
        day: DAYS[i % DAYS.len()].to_string(),
        user_id: USERS[(i / 2) % USERS.len()].to_string(),
        key_name: KEYS[i % KEYS.len()].to_string(),
        route: ROUTES[(i / 3) % ROUTES.len()].to_string(),
        model: MODELS[(i / 5) % MODELS.len()].to_string(),
        provider: "openai".to_string(),
        template: if i.is_multiple_of(4) {
            "summarise"
        } else {
            "chat"
        }
        .to_string(),
        version: if i.is_multiple_of(3) { "v2" } else { "v1" }.to_string(),
        status: if i.is_multiple_of(11) {
            502
        } else if i.is_multiple_of(13) {
            429
        } else {
            200
        },
        error: (i.is_multiple_of(11)).then(|| format!("upstream error 'x' #{i}")),
        cache: CACHES[i % CACHES.len()].to_string(),
        input_tokens: 100 + (i as i64 * 37) % 4000,
        cached_input_tokens: (i as i64 * 13) % 300,
        cache_write_tokens: (i as i64 * 7) % 50,
        output_tokens: 10 + (i as i64 * 53) % 2000,
        estimated: i.is_multiple_of(7),
        // Large, uneven picodollar amounts so any float rounding would show.
        cost_pico: 1_234_567_891 + (i as i64 * 987_654_321_987) % 9_876_543_210_123,
        latency_ms: 12.5 + i as f64 * 0.1,
        ttft_ms: (i.is_multiple_of(2)).then_some(3.25 + i as f64 / 3.0),
        output_chars: (i as i64 * 5) % 9000,
        guardrail_input_pass: !i.is_multiple_of(17),
        guardrail_output_pass: !i.is_multiple_of(19),
        guardrail_flags: if i.is_multiple_of(17) {
            "[\"pii\"]"
        } else {
            "[]"
        }
        .to_string(),
        tools_used: "[]".to_string(),
        downgraded: i.is_multiple_of(23),
        row_key: format!("{prefix}-{i:07}"),
    }
}

fn key_of(r: &RequestRecord, by: Dimension) -> String {
    match by {
        Dimension::Total => "total".to_string(),
        Dimension::User => r.user_id.clone(),
        Dimension::Key => r.key_name.clone(),
        Dimension::Model => r.model.clone(),
        Dimension::Template => format!("{}@{}", r.template, r.version),
        Dimension::Route => r.route.clone(),
        Dimension::Day => r.day.clone(),
    }
}

/// The report computed in Rust, to compare with the database's.
fn expected(records: &[RequestRecord], q: &CostQuery) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    if q.by == Dimension::Total {
        groups.insert(
            "total".into(),
            Group {
                key: "total".into(),
                ..Group::default()
            },
        );
    }
    for r in records {
        if r.day < q.from_day || r.day > q.to_day {
            continue;
        }
        if q.user.as_ref().is_some_and(|u| *u != r.user_id) {
            continue;
        }
        let k = key_of(r, q.by);
        let g = groups.entry(k.clone()).or_insert_with(|| Group {
            key: k,
            ..Group::default()
        });
        g.requests += 1;
        g.input_tokens += r.input_tokens;
        g.cached_input_tokens += r.cached_input_tokens;
        g.cache_write_tokens += r.cache_write_tokens;
        g.output_tokens += r.output_tokens;
        g.cost_pico += r.cost_pico;
        g.cache_hits += i64::from(matches!(r.cache.as_str(), "hit" | "stale" | "shared"));
        g.estimated += i64::from(r.estimated);
        g.errors += i64::from(r.status >= 400);
    }
    let mut v: Vec<Group> = groups.into_values().collect();
    v.sort_by(|a, b| b.cost_pico.cmp(&a.cost_pico).then(a.key.cmp(&b.key)));
    v
}

fn q(from: &str, to: &str, user: Option<&str>, by: Dimension) -> CostQuery {
    CostQuery {
        from_day: from.into(),
        to_day: to.into(),
        user: user.map(Into::into),
        by,
    }
}

/// The behaviour both backends must share.
fn exercise(name: &str, ledger: &dyn LedgerStore) {
    let records: Vec<RequestRecord> = (0..1000).map(|i| record("t", i)).collect();
    let entries: Vec<Entry> = records.iter().cloned().map(Entry::Request).collect();
    // Odd batch sizes so multi-row chunks leave remainders.
    for batch in entries.chunks(237) {
        ledger.write(batch).unwrap();
    }
    assert_eq!(ledger.count().unwrap(), 1000, "{name}: count");

    // Every field survives the round trip, including None/Some and floats.
    for i in [0, 1, 11, 17, 23, 999] {
        assert_eq!(
            ledger.request(&records[i].request_id).unwrap().as_ref(),
            Some(&records[i])
        );
    }
    assert_eq!(ledger.request("nope").unwrap(), None);

    let ranges = [
        ("2025-01-01", "2025-12-31"),
        ("2025-01-31", "2025-02-02"), // inclusive at both ends, across a month boundary
        ("2025-02-03", "2025-02-03"),
        ("2024-01-01", "2024-12-31"), // nothing
    ];
    for by in std::iter::once(Dimension::Total).chain(Dimension::ALL) {
        for (from, to) in ranges {
            for user in [None, Some("bob"), Some("nobody")] {
                let query = q(from, to, user, by);
                let got = ledger.aggregate(&query).unwrap();
                assert_eq!(got, expected(&records, &query), "{name}: {query:?}");
            }
        }
    }
    let total = ledger
        .aggregate(&q("2025-01-01", "2025-12-31", None, Dimension::Total))
        .unwrap();
    let exact: i64 = records.iter().map(|r| r.cost_pico).sum();
    assert_eq!(total[0].cost_pico, exact, "{name}: money sums are exact");
    let empty = ledger
        .aggregate(&q("2024-01-01", "2024-01-02", None, Dimension::Total))
        .unwrap();
    assert_eq!(
        empty,
        vec![Group {
            key: "total".into(),
            ..Group::default()
        }]
    );
    assert!(
        ledger
            .aggregate(&q("2024-01-01", "2024-01-02", None, Dimension::User))
            .unwrap()
            .is_empty()
    );

    // Replays (the overflow file, a retried batch) change nothing, even with other values.
    let mut replay = entries[..300].to_vec();
    if let Entry::Request(r) = &mut replay[0] {
        r.cost_pico = 1;
    }
    ledger.write(&replay).unwrap();
    // A batch with the same id twice, plus one new row.
    let fresh = record("dup", 0);
    ledger
        .write(&[Entry::Request(fresh.clone()), Entry::Request(fresh.clone())])
        .unwrap();
    assert_eq!(
        ledger.count().unwrap(),
        1001,
        "{name}: replay is idempotent"
    );
    assert_eq!(
        ledger.request(&records[0].request_id).unwrap().as_ref(),
        Some(&records[0])
    );

    // Feedback: later wins, an older replay does not overwrite, same-batch order holds.
    let fb = |ts_ms: i64, rating: i32, comment: Option<&str>| {
        Entry::Feedback(FeedbackRecord {
            request_id: "t-0000005".into(),
            ts_ms,
            rating,
            comment: comment.map(Into::into),
        })
    };
    ledger.write(&[fb(100, 1, None)]).unwrap();
    ledger
        .write(&[fb(200, -1, Some("wrong answer")), fb(300, 1, Some("fixed"))])
        .unwrap();
    ledger.write(&[fb(150, 0, Some("stale replay"))]).unwrap();
    let got = ledger.feedback("t-0000005").unwrap();
    assert_eq!(
        got,
        Some(FeedbackRecord {
            request_id: "t-0000005".into(),
            ts_ms: 300,
            rating: 1,
            comment: Some("fixed".into()),
        }),
        "{name}: feedback upsert"
    );
    assert_eq!(ledger.feedback("t-0000006").unwrap(), None);

    // Requests and feedback in one batch commit together.
    let mixed = vec![Entry::Request(record("mix", 1)), fb(400, 2, None)];
    ledger.write(&mixed).unwrap();
    assert_eq!(ledger.count().unwrap(), 1002);

    // Entries survive the JSON overflow file.
    for e in [&entries[0], &entries[11], &mixed[1]] {
        let line = serde_json::to_string(e).unwrap();
        assert_eq!(&serde_json::from_str::<Entry>(&line).unwrap(), e);
    }
}

/// Writes `total` rows in batches of `batch` and returns rows per second.
fn throughput(ledger: &dyn LedgerStore, prefix: &str, total: usize, batch: usize) -> f64 {
    let entries: Vec<Entry> = (0..total)
        .map(|i| Entry::Request(record(prefix, i)))
        .collect();
    let start = Instant::now();
    for b in entries.chunks(batch) {
        ledger.write(b).unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn fb_entry(id: &str) -> Entry {
    Entry::Feedback(FeedbackRecord {
        request_id: id.into(),
        ts_ms: 1,
        rating: 1,
        comment: None,
    })
}

#[test]
fn postgres_backend() {
    let server = PgServer::start();
    let db = server.fresh_database("ledger");
    let ledger = PostgresLedger::connect(&db).unwrap();
    // Connecting again re-applies the schema harmlessly.
    let ledger2 = PostgresLedger::connect(&db).unwrap();
    drop(ledger2);
    exercise("postgres", &ledger);

    // PostgreSQL text cannot hold NUL; the backend replaces it instead of failing the batch.
    let mut nul = record("nul", 0);
    nul.error = Some("bad\0byte".into());
    ledger.write(&[Entry::Request(nul.clone())]).unwrap();
    assert_eq!(
        ledger
            .request("nul-0000000")
            .unwrap()
            .unwrap()
            .error
            .as_deref(),
        Some("bad\u{FFFD}byte")
    );

    // One transaction per batch: a row that fails takes the whole batch with it, and the
    // writer connection is usable afterwards.
    let mut raw = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    raw.batch_execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.request_id = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER boom BEFORE INSERT ON request_log FOR EACH ROW EXECUTE FUNCTION boom();",
    )
    .unwrap();
    let before = ledger.count().unwrap();
    let mut boom = record("x", 1);
    boom.request_id = "boom".into();
    let err = ledger
        .write(&[
            Entry::Request(record("atomic", 1)),
            Entry::Request(boom),
            fb_entry("atomic-0000001"),
        ])
        .unwrap_err();
    println!("postgres: failed batch: {err}");
    assert!(matches!(err, LedgerError::Write(_)));
    assert_eq!(
        ledger.count().unwrap(),
        before,
        "nothing of a failed batch is stored"
    );
    assert_eq!(ledger.feedback("atomic-0000001").unwrap(), None);
    raw.batch_execute("DROP TRIGGER boom ON request_log; DROP FUNCTION boom();")
        .unwrap();
    ledger
        .write(&[Entry::Request(record("atomic", 1))])
        .unwrap();
    assert_eq!(ledger.count().unwrap(), before + 1);

    // Throughput, 50,000 rows in batches of 500, for a few rows-per-statement settings.
    for chunk in [1, 100, 250, 500] {
        let l = PostgresLedger::connect(&db).unwrap().with_chunk_rows(chunk);
        let before = l.count().unwrap();
        let rate = throughput(&l, &format!("pg{chunk}"), 50_000, 500);
        assert_eq!(l.count().unwrap(), before + 50_000);
        println!(
            "postgres: {rate:.0} rows/s (50,000 rows, batches of 500, {chunk} rows per INSERT)"
        );
    }

    // Calls from tokio's blocking pool (actix web::block) inside a multi-thread runtime.
    let ledger = Arc::new(ledger);
    let spare = [
        PostgresLedger::connect(&db).unwrap(),
        PostgresLedger::connect(&db).unwrap(),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = ledger.clone();
        let n = tokio::task::spawn_blocking(move || {
            l.write(&[Entry::Request(record("rt", 1))]).unwrap();
            l.aggregate(&q("2025-01-01", "2025-12-31", None, Dimension::Model))
                .unwrap();
            l.count().unwrap()
        })
        .await
        .unwrap();
        assert!(n > 0);
        // Directly on a runtime worker it panics (the crate's own block_on nests).
        let l = ledger.clone();
        let direct = tokio::spawn(async move { l.count() }).await.unwrap();
        println!("postgres: direct call on an async worker: {direct:?}");
        assert!(matches!(direct, Err(LedgerError::Query(_))));
        // Dropping the last handle inside spawn_blocking is fine.
        // connect() inside async code is refused cleanly too.
        let url = db.clone();
        let c = tokio::spawn(async move { PostgresLedger::connect(&url).err() })
            .await
            .unwrap();
        assert!(matches!(c, Some(LedgerError::Connect { .. })), "{c:?}");
        let [a, b] = spare;
        tokio::task::spawn_blocking(move || drop(a)).await.unwrap();
        // And on an async worker?
        let l = b;
        let dropped = tokio::spawn(async move { drop(l) }).await;
        assert!(dropped.is_ok(), "drop on an async worker must not panic");
    });
    // The ledger still works after all that.
    assert!(ledger.count().unwrap() > 0);
}

#[test]
fn postgres_errors_hide_password() {
    let url = "postgres://sluice:hunter2secret@127.0.0.1:1/sluice?connect_timeout=2";
    let err = PostgresLedger::connect(url).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, LedgerError::Connect { .. }), "{msg}");
    assert!(
        !msg.contains("hunter2secret") && !format!("{err:?}").contains("hunter2secret"),
        "{msg}"
    );
    println!("connect error: {msg}");
    let err = PostgresLedger::connect("postgres://u:hunter2secret@h:notaport/db")
        .err()
        .unwrap();
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
    println!("parse error: {err}");
}

#[test]
fn sqlite_backend() {
    let dir = std::env::temp_dir().join(format!("pgledger-sqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let ledger = SqliteLedger::open(&path).unwrap();
    drop(SqliteLedger::open(&path).unwrap());
    exercise("sqlite", &ledger);
    let rate = throughput(&ledger, "lite", 50_000, 500);
    println!("sqlite: {rate:.0} rows/s (50,000 rows, batches of 500, WAL, synchronous=NORMAL)");
    assert_eq!(ledger.count().unwrap(), 51_002);
    drop(ledger);

    // The multi-row INSERT text PostgreSQL uses is valid SQLite too, duplicates and all.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows = [record("multi", 1), record("multi", 2), record("multi", 1)];
    let flags: Vec<[i32; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.estimated,
                r.guardrail_input_pass,
                r.guardrail_output_pass,
                r.downgraded,
            ]
            .map(i32::from)
        })
        .collect();
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::new();
    for (r, f) in rows.iter().zip(&flags) {
        params.extend_from_slice(&[
            &r.request_id,
            &r.ts_ms,
            &r.day,
            &r.user_id,
            &r.key_name,
            &r.route,
            &r.model,
            &r.provider,
            &r.template,
            &r.version,
            &r.status,
            &r.error,
            &r.cache,
            &r.input_tokens,
            &r.cached_input_tokens,
            &r.cache_write_tokens,
            &r.output_tokens,
            &f[0],
            &r.cost_pico,
            &r.latency_ms,
            &r.ttft_ms,
            &r.output_chars,
            &f[1],
            &f[2],
            &r.guardrail_flags,
            &r.tools_used,
            &f[3],
            &r.row_key,
        ]);
    }
    let n = conn
        .execute(&sluice::ledger::sql::insert_requests(3), &params[..])
        .unwrap();
    assert_eq!(n, 2);
    drop(conn);
    let ledger = SqliteLedger::open(&path).unwrap();
    assert_eq!(
        ledger.request("multi-0000002").unwrap().as_ref(),
        Some(&rows[1])
    );
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}
