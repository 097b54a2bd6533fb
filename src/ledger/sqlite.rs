//! SQLite ledger (rusqlite, bundled) on the same DDL and query texts as PostgreSQL.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, Row, ToSql};

use super::error::LedgerError;
use super::record::{CostQuery, Entry, FeedbackRecord, Group, RequestRecord};
use super::{LedgerStore, sql};

/// The ledger in the embedded SQLite database.
pub struct SqliteLedger {
    writer: Mutex<Connection>,
    /// A second connection so reads do not wait for a batch (WAL lets them run together).
    reader: Mutex<Connection>,
}

impl SqliteLedger {
    /// Opens (creating if needed) the database file and applies the schema.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let cerr = |e: rusqlite::Error| LedgerError::Connect {
            target: path.display().to_string(),
            detail: e.to_string(),
        };
        let writer = Connection::open(path).map_err(cerr)?;
        writer
            .execute_batch(
                // Appends touch only the last pages of the table and its index: a 1 MiB page
                // cache (not the default 2 MiB) holds them, and the gateway's RSS stays lower.
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
                 PRAGMA cache_size = -1024;",
            )
            .map_err(cerr)?;
        writer
            .execute_batch(sql::SCHEMA)
            .map_err(|e| LedgerError::Schema(e.to_string()))?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(cerr)?;
        reader
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(cerr)?;
        Ok(SqliteLedger {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    pub fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let werr = |e: rusqlite::Error| LedgerError::Write(e.to_string());
        let mut conn = self.writer.lock();
        let tx = conn.transaction().map_err(werr)?;
        {
            // One prepared single-row statement reused for every row: SQLite has no
            // round trips, so multi-row VALUES buys little here.
            let mut insert = tx.prepare_cached(sql::INSERT_REQUEST).map_err(werr)?;
            let mut upsert = tx.prepare_cached(sql::UPSERT_FEEDBACK).map_err(werr)?;
            for e in batch {
                match e {
                    Entry::Request(r) => {
                        let flags = r.bool_columns();
                        let params = request_params(r, &flags);
                        insert.execute(&params[..]).map_err(werr)?;
                    }
                    Entry::Feedback(f) => {
                        let params: [&dyn ToSql; 4] =
                            [&f.request_id, &f.ts_ms, &f.rating, &f.comment];
                        upsert.execute(&params[..]).map_err(werr)?;
                    }
                }
            }
        }
        tx.commit().map_err(werr)
    }

    pub fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError> {
        let qerr = |e: rusqlite::Error| LedgerError::Query(e.to_string());
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&sql::aggregate(q.by)).map_err(qerr)?;
        let user = q.user.as_deref().unwrap_or("");
        let params: [&dyn ToSql; 3] = [&q.from_day, &q.to_day, &user];
        let rows = stmt.query_map(&params[..], group_from_row).map_err(qerr)?;
        rows.collect::<Result<_, _>>().map_err(qerr)
    }

    pub fn count(&self) -> Result<u64, LedgerError> {
        let qerr = |e: rusqlite::Error| LedgerError::Query(e.to_string());
        let conn = self.reader.lock();
        let n: i64 = conn
            .query_row(sql::COUNT_REQUESTS, [], |r| r.get(0))
            .map_err(qerr)?;
        u64::try_from(n).map_err(|e| LedgerError::Query(e.to_string()))
    }

    pub fn request(&self, request_id: &str) -> Result<Option<RequestRecord>, LedgerError> {
        let qerr = |e: rusqlite::Error| LedgerError::Query(e.to_string());
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(sql::SELECT_REQUEST).map_err(qerr)?;
        let mut rows = stmt.query([request_id]).map_err(qerr)?;
        match rows.next().map_err(qerr)? {
            Some(r) => request_from_row(r).map(Some).map_err(qerr),
            None => Ok(None),
        }
    }

    pub fn feedback(&self, request_id: &str) -> Result<Option<FeedbackRecord>, LedgerError> {
        let qerr = |e: rusqlite::Error| LedgerError::Query(e.to_string());
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(sql::SELECT_FEEDBACK).map_err(qerr)?;
        let mut rows = stmt.query([request_id]).map_err(qerr)?;
        match rows.next().map_err(qerr)? {
            Some(r) => Ok(Some(FeedbackRecord {
                request_id: r.get(0).map_err(qerr)?,
                ts_ms: r.get(1).map_err(qerr)?,
                rating: r.get(2).map_err(qerr)?,
                comment: r.get(3).map_err(qerr)?,
            })),
            None => Ok(None),
        }
    }
}

impl LedgerStore for SqliteLedger {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        SqliteLedger::write(self, batch)
    }
    fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError> {
        SqliteLedger::aggregate(self, q)
    }
    fn count(&self) -> Result<u64, LedgerError> {
        SqliteLedger::count(self)
    }
    fn request(&self, request_id: &str) -> Result<Option<RequestRecord>, LedgerError> {
        SqliteLedger::request(self, request_id)
    }
    fn feedback(&self, request_id: &str) -> Result<Option<FeedbackRecord>, LedgerError> {
        SqliteLedger::feedback(self, request_id)
    }
}

/// One row's 28 parameters in column order.
fn request_params<'a>(r: &'a RequestRecord, flags: &'a [i32; 4]) -> [&'a dyn ToSql; 28] {
    [
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
        &flags[0],
        &r.cost_pico,
        &r.latency_ms,
        &r.ttft_ms,
        &r.output_chars,
        &flags[1],
        &flags[2],
        &r.guardrail_flags,
        &r.tools_used,
        &flags[3],
        &r.row_key,
    ]
}

fn request_from_row(r: &Row) -> rusqlite::Result<RequestRecord> {
    Ok(RequestRecord {
        request_id: r.get(0)?,
        ts_ms: r.get(1)?,
        day: r.get(2)?,
        user_id: r.get(3)?,
        key_name: r.get(4)?,
        route: r.get(5)?,
        model: r.get(6)?,
        provider: r.get(7)?,
        template: r.get(8)?,
        version: r.get(9)?,
        status: r.get(10)?,
        error: r.get(11)?,
        cache: r.get(12)?,
        input_tokens: r.get(13)?,
        cached_input_tokens: r.get(14)?,
        cache_write_tokens: r.get(15)?,
        output_tokens: r.get(16)?,
        estimated: r.get::<_, i64>(17)? != 0,
        cost_pico: r.get(18)?,
        latency_ms: r.get(19)?,
        ttft_ms: r.get(20)?,
        output_chars: r.get(21)?,
        guardrail_input_pass: r.get::<_, i64>(22)? != 0,
        guardrail_output_pass: r.get::<_, i64>(23)? != 0,
        guardrail_flags: r.get(24)?,
        tools_used: r.get(25)?,
        downgraded: r.get::<_, i64>(26)? != 0,
        row_key: r.get(27)?,
    })
}

fn group_from_row(r: &Row) -> rusqlite::Result<Group> {
    Ok(Group {
        key: r.get(0)?,
        requests: r.get(1)?,
        input_tokens: r.get(2)?,
        cached_input_tokens: r.get(3)?,
        cache_write_tokens: r.get(4)?,
        output_tokens: r.get(5)?,
        cost_pico: r.get(6)?,
        cache_hits: r.get(7)?,
        estimated: r.get(8)?,
        errors: r.get(9)?,
    })
}
