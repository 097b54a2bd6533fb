//! PostgreSQL ledger on the sync `postgres` crate.
//!
//! Each connection owns a small current-thread tokio runtime inside the crate, so calls
//! must come from plain threads or `spawn_blocking` (actix `web::block`), never from
//! async code directly: there tokio refuses to nest runtimes. Such a call returns
//! `LedgerError` instead of panicking, and dropping the ledger is safe anywhere.
//! Writes and reads use separate connections, each behind its own mutex, so a long
//! batch does not hold up cost queries.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use parking_lot::Mutex;
use postgres::config::Host;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};

use super::error::{LedgerError, redact_url};
use super::record::{CostQuery, Entry, FeedbackRecord, Group, RequestRecord};
use super::{LedgerStore, sql};
use crate::error::chain;

/// Request rows per INSERT statement: one round trip per chunk instead of per row.
/// 100 rows is 2,700 parameters, well under PostgreSQL's 65,535.
pub const DEFAULT_CHUNK_ROWS: usize = 100;
const MAX_CHUNK_ROWS: usize = 65_535 / sql::REQUEST_PARAMS;

/// Serialises schema setup between gateways starting at once (an arbitrary constant).
const SCHEMA_LOCK_KEY: i64 = 0x51CE_1ED6;

type Param<'a> = &'a (dyn ToSql + Sync);

struct Writer {
    client: Client,
    feedback: Statement,
    /// INSERT statements by number of rows, prepared on first use.
    inserts: HashMap<usize, Statement>,
}

/// The ledger in a PostgreSQL database shared by replicas.
pub struct PostgresLedger {
    config: Config,
    /// user@host:port/db, for error messages; never the password.
    target: String,
    chunk_rows: usize,
    writer: Mutex<Option<Writer>>,
    reader: Mutex<Option<Client>>,
}

impl PostgresLedger {
    /// Connects (a write and a read connection) and applies the schema.
    /// Accepts a URL (`postgres://user:pass@host:port/db`) or a key=value string.
    /// Like every method, call it off the async workers (before the actix system starts,
    /// or via `spawn_blocking`); on one it returns an error.
    pub fn connect(url: &str) -> Result<Self, LedgerError> {
        guard_async(|| Self::connect_inner(url)).map_err(|detail| LedgerError::Connect {
            target: redact_url(url),
            detail,
        })?
    }

    fn connect_inner(url: &str) -> Result<Self, LedgerError> {
        let mut config: Config =
            url.parse()
                .map_err(|e: postgres::Error| LedgerError::Connect {
                    target: redact_url(url),
                    detail: chain(&e),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("sluice-ledger");
        }
        let ledger = PostgresLedger {
            target: describe(&config),
            config,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            writer: Mutex::new(None),
            reader: Mutex::new(None),
        };
        let mut client = ledger.open()?;
        let setup = format!(
            "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY}); {} COMMIT;",
            sql::SCHEMA
        );
        client
            .batch_execute(&setup)
            .map_err(|e| LedgerError::Schema(chain(&e)))?;
        *ledger.writer.lock() = Some(Writer::new(client)?);
        *ledger.reader.lock() = Some(ledger.open()?);
        Ok(ledger)
    }

    /// Rows per INSERT statement (1 = one round trip per row). Clamped to the
    /// parameter limit.
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.clamp(1, MAX_CHUNK_ROWS);
        self
    }

    fn open(&self) -> Result<Client, LedgerError> {
        self.config
            .connect(NoTls)
            .map_err(|e| LedgerError::Connect {
                target: self.target.clone(),
                detail: chain(&e),
            })
    }

    /// Stores a batch in one transaction. Request rows already present are skipped;
    /// feedback replaces an older rating for the same request.
    pub fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        guard_async(|| self.write_batch(batch)).map_err(LedgerError::Write)?
    }

    fn write_batch(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut slot = self.writer.lock();
        if slot.as_ref().is_some_and(|w| w.client.is_closed()) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(Writer::new(self.open()?)?);
        }
        let Some(Writer {
            client,
            feedback,
            inserts,
        }) = slot.as_mut()
        else {
            return Err(LedgerError::Write("no connection".into()));
        };
        let werr = |e: postgres::Error| LedgerError::Write(chain(&e));

        let requests: Vec<&RequestRecord> = batch
            .iter()
            .filter_map(|e| match e {
                Entry::Request(r) => Some(r),
                Entry::Feedback(_) => None,
            })
            .collect();

        // PostgreSQL text cannot hold NUL (SQLite's can): clean the rare record that has one
        // rather than fail the whole batch.
        let cleaned: Vec<Option<RequestRecord>> = requests.iter().map(|r| without_nul(r)).collect();
        let requests: Vec<&RequestRecord> = requests
            .iter()
            .zip(&cleaned)
            .map(|(r, c)| c.as_ref().unwrap_or(r))
            .collect();

        let mut tx = client.transaction().map_err(werr)?;
        for chunk in requests.chunks(self.chunk_rows) {
            let stmt = match inserts.get(&chunk.len()) {
                Some(s) => s.clone(),
                None => {
                    let s = tx
                        .prepare(&sql::insert_requests(chunk.len()))
                        .map_err(werr)?;
                    inserts.insert(chunk.len(), s.clone());
                    s
                }
            };
            let flags: Vec<[i32; 4]> = chunk.iter().map(|r| r.bool_columns()).collect();
            let mut params: Vec<Param> = Vec::with_capacity(chunk.len() * sql::REQUEST_PARAMS);
            for (r, f) in chunk.iter().zip(&flags) {
                push_request(&mut params, r, f);
            }
            tx.execute(&stmt, &params).map_err(werr)?;
        }
        for e in batch {
            if let Entry::Feedback(f) = e {
                let id = clean(&f.request_id);
                let comment = f.comment.as_deref().map(clean);
                tx.execute(
                    &*feedback,
                    &[&id.as_ref(), &f.ts_ms, &f.rating, &comment.as_deref()],
                )
                .map_err(werr)?;
            }
        }
        tx.commit().map_err(werr)
    }

    pub fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError> {
        let text = sql::aggregate(q.by);
        let user = q.user.as_deref().unwrap_or("");
        let rows = self.read(|c| c.query(text.as_str(), &[&q.from_day, &q.to_day, &user]))?;
        rows.iter()
            .map(group_from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| LedgerError::Query(chain(&e)))
    }

    pub fn count(&self) -> Result<u64, LedgerError> {
        let row = self.read(|c| c.query_one(sql::COUNT_REQUESTS, &[]))?;
        let n: i64 = row.try_get(0).map_err(|e| LedgerError::Query(chain(&e)))?;
        u64::try_from(n).map_err(|e| LedgerError::Query(e.to_string()))
    }

    pub fn request(&self, request_id: &str) -> Result<Option<RequestRecord>, LedgerError> {
        let row = self.read(|c| c.query_opt(sql::SELECT_REQUEST, &[&request_id]))?;
        row.as_ref()
            .map(request_from_row)
            .transpose()
            .map_err(|e| LedgerError::Query(chain(&e)))
    }

    pub fn feedback(&self, request_id: &str) -> Result<Option<FeedbackRecord>, LedgerError> {
        let row = self.read(|c| c.query_opt(sql::SELECT_FEEDBACK, &[&request_id]))?;
        let decode = |r: &Row| -> Result<FeedbackRecord, postgres::Error> {
            Ok(FeedbackRecord {
                request_id: r.try_get(0)?,
                ts_ms: r.try_get(1)?,
                rating: r.try_get(2)?,
                comment: r.try_get(3)?,
            })
        };
        row.as_ref()
            .map(decode)
            .transpose()
            .map_err(|e| LedgerError::Query(chain(&e)))
    }

    /// Runs a read on the read connection, reconnecting once if it had dropped.
    fn read<T>(
        &self,
        f: impl Fn(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, LedgerError> {
        guard_async(|| self.read_inner(f)).map_err(LedgerError::Query)?
    }

    fn read_inner<T>(
        &self,
        f: impl Fn(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, LedgerError> {
        let mut slot = self.reader.lock();
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(|c| c.is_closed()) {
                *slot = Some(self.open()?);
            }
            let Some(client) = slot.as_mut() else { break };
            match f(client) {
                Ok(v) => return Ok(v),
                // The connection dropped (server restart, idle timeout): reconnect once.
                Err(_) if attempt == 0 && client.is_closed() => *slot = None,
                Err(e) => return Err(LedgerError::Query(chain(&e))),
            }
        }
        Err(LedgerError::Query("connection lost".into()))
    }
}

/// Runs `f`, turning tokio's "runtime within a runtime" panic into an error. That panic
/// fires on entry to the crate's `block_on`, before anything is sent, so the connection
/// is still consistent afterwards (and parking_lot mutexes do not poison).
fn guard_async<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        "postgres ledger called on an async worker thread; call it via spawn_blocking".to_string()
    })
}

impl Drop for PostgresLedger {
    /// Closing a connection blocks on its runtime, which panics (and, as the second
    /// connection then panics while unwinding, aborts) on an async worker thread. Inside
    /// any tokio context, close them on a plain thread instead.
    fn drop(&mut self) {
        let conns = (self.writer.get_mut().take(), self.reader.get_mut().take());
        if tokio::runtime::Handle::try_current().is_ok() {
            let closer = std::thread::Builder::new()
                .name("ledger-close".into())
                .spawn(move || drop(conns));
            if let Ok(handle) = closer {
                let _ = handle.join();
            }
            // If no thread could be spawned the connections were dropped with the
            // closure; nothing better is possible.
        }
    }
}

impl LedgerStore for PostgresLedger {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        PostgresLedger::write(self, batch)
    }
    fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError> {
        PostgresLedger::aggregate(self, q)
    }
    fn count(&self) -> Result<u64, LedgerError> {
        PostgresLedger::count(self)
    }
    fn request(&self, request_id: &str) -> Result<Option<RequestRecord>, LedgerError> {
        PostgresLedger::request(self, request_id)
    }
    fn feedback(&self, request_id: &str) -> Result<Option<FeedbackRecord>, LedgerError> {
        PostgresLedger::feedback(self, request_id)
    }
}

impl Writer {
    fn new(mut client: Client) -> Result<Self, LedgerError> {
        let feedback = client
            .prepare(sql::UPSERT_FEEDBACK)
            .map_err(|e| LedgerError::Schema(chain(&e)))?;
        Ok(Writer {
            client,
            feedback,
            inserts: HashMap::new(),
        })
    }
}

/// user@host:port/db without the password.
fn describe(config: &Config) -> String {
    let user = config.get_user().unwrap_or("?");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

/// `s` with NUL replaced by U+FFFD, borrowed when it has none.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A copy of `r` without NULs in its text, or None when it has none (the usual case).
fn without_nul(r: &RequestRecord) -> Option<RequestRecord> {
    let texts = [
        &r.request_id,
        &r.day,
        &r.user_id,
        &r.key_name,
        &r.route,
        &r.model,
        &r.provider,
        &r.template,
        &r.version,
        &r.cache,
        &r.guardrail_flags,
        &r.tools_used,
    ];
    let dirty = texts.iter().any(|t| t.contains('\0'))
        || r.error.as_ref().is_some_and(|e| e.contains('\0'));
    if !dirty {
        return None;
    }
    let c = |s: &String| clean(s).into_owned();
    Some(RequestRecord {
        request_id: c(&r.request_id),
        day: c(&r.day),
        user_id: c(&r.user_id),
        key_name: c(&r.key_name),
        route: c(&r.route),
        model: c(&r.model),
        provider: c(&r.provider),
        template: c(&r.template),
        version: c(&r.version),
        error: r.error.as_ref().map(c),
        cache: c(&r.cache),
        guardrail_flags: c(&r.guardrail_flags),
        tools_used: c(&r.tools_used),
        ..r.clone()
    })
}

/// Appends one row's 28 parameters in column order.
fn push_request<'a>(p: &mut Vec<Param<'a>>, r: &'a RequestRecord, flags: &'a [i32; 4]) {
    p.extend_from_slice(&[
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
    ]);
}

fn request_from_row(r: &Row) -> Result<RequestRecord, postgres::Error> {
    Ok(RequestRecord {
        request_id: r.try_get(0)?,
        ts_ms: r.try_get(1)?,
        day: r.try_get(2)?,
        user_id: r.try_get(3)?,
        key_name: r.try_get(4)?,
        route: r.try_get(5)?,
        model: r.try_get(6)?,
        provider: r.try_get(7)?,
        template: r.try_get(8)?,
        version: r.try_get(9)?,
        status: r.try_get(10)?,
        error: r.try_get(11)?,
        cache: r.try_get(12)?,
        input_tokens: r.try_get(13)?,
        cached_input_tokens: r.try_get(14)?,
        cache_write_tokens: r.try_get(15)?,
        output_tokens: r.try_get(16)?,
        estimated: r.try_get::<_, i32>(17)? != 0,
        cost_pico: r.try_get(18)?,
        latency_ms: r.try_get(19)?,
        ttft_ms: r.try_get(20)?,
        output_chars: r.try_get(21)?,
        guardrail_input_pass: r.try_get::<_, i32>(22)? != 0,
        guardrail_output_pass: r.try_get::<_, i32>(23)? != 0,
        guardrail_flags: r.try_get(24)?,
        tools_used: r.try_get(25)?,
        downgraded: r.try_get::<_, i32>(26)? != 0,
        row_key: r.try_get(27)?,
    })
}

fn group_from_row(r: &Row) -> Result<Group, postgres::Error> {
    Ok(Group {
        key: r.try_get(0)?,
        requests: r.try_get(1)?,
        input_tokens: r.try_get(2)?,
        cached_input_tokens: r.try_get(3)?,
        cache_write_tokens: r.try_get(4)?,
        output_tokens: r.try_get(5)?,
        cost_pico: r.try_get(6)?,
        cache_hits: r.try_get(7)?,
        estimated: r.try_get(8)?,
        errors: r.try_get(9)?,
    })
}
