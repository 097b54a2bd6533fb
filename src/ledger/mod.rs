//! The ledger: every finished request (its log, cost and eval record) and every rating, written
//! off the request path.
//!
//! Handlers hand records to a bounded queue and return; one writer thread takes whatever has
//! queued and writes it in one transaction (group commit: the busier the gateway, the larger
//! the batch). Nothing accepted is dropped silently:
//! - when the queue is full or the writer gone, the record is appended to an overflow file
//!   (counted and logged), which the next start writes to the database;
//! - `close` (on SIGTERM, after the HTTP server drained) writes everything queued;
//! - a crash loses only what was queued and not yet committed: the writer gathers for 50 ms
//!   before each commit, so well under a second's worth.
//!
//! The database sits behind [`LedgerStore`]: SQLite by default, PostgreSQL for replicas.

mod error;
mod postgres;
pub mod record;
pub mod sql;
mod sqlite;

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde::Serialize;

pub use error::LedgerError;
pub use postgres::PostgresLedger;
pub use record::{CostQuery, Dimension, Entry, FeedbackRecord, Group, RequestRecord};
pub use sql::SCHEMA;
pub use sqlite::SqliteLedger;

use crate::config::{LedgerBackend, LedgerConfig};

/// A database that holds the ledger. Calls are blocking: the writer thread makes them, and
/// readers from the async side go through the blocking pool.
pub trait LedgerStore: Send + Sync {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Writes a batch in one transaction; rows already present are left as they are.
    fn write(&self, batch: &[Entry]) -> Result<(), LedgerError>;
    /// Sums per group.
    fn aggregate(&self, q: &CostQuery) -> Result<Vec<Group>, LedgerError>;
    /// Requests stored.
    fn count(&self) -> Result<u64, LedgerError>;
    /// One request's row.
    fn request(&self, request_id: &str) -> Result<Option<RequestRecord>, LedgerError>;
    /// One request's rating.
    fn feedback(&self, request_id: &str) -> Result<Option<FeedbackRecord>, LedgerError>;
}

/// Counters of the ledger, for `/admin/actors`, `/metrics` and tests.
#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct LedgerStats {
    /// Records handed to the ledger.
    pub accepted: u64,
    /// Records committed to the database.
    pub written: u64,
    /// Records that went to the overflow file instead of the queue.
    pub overflowed: u64,
    /// Batches committed.
    pub batches: u64,
    /// Failed write attempts.
    pub write_errors: u64,
    /// Records waiting in the queue now.
    pub queued: usize,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    written: AtomicU64,
    overflowed: AtomicU64,
    batches: AtomicU64,
    write_errors: AtomicU64,
    queued: AtomicUsize,
}

enum Msg {
    Record(Box<Entry>),
    /// Write everything before this, then answer.
    Flush(mpsc::Sender<()>),
    /// Write everything before this, then stop and answer.
    Close(mpsc::Sender<()>),
}

/// The handle the gateway records through. Cheap to share behind an `Arc`.
pub struct Ledger {
    /// This process's part of every row key.
    node: u32,
    tx: SyncSender<Msg>,
    store: Arc<dyn LedgerStore>,
    overflow: Overflow,
    counters: Arc<Counters>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("backend", &self.store.kind())
            .finish()
    }
}

impl Ledger {
    /// Opens the configured database (SQLite at `db_path`, or PostgreSQL), writes
    /// what an earlier run left in the overflow file, and starts the writer thread.
    pub fn open(
        cfg: &LedgerConfig,
        db_path: &Path,
        data_dir: &Path,
    ) -> Result<Ledger, LedgerError> {
        let store: Arc<dyn LedgerStore> = match &cfg.backend {
            LedgerBackend::Postgres(url) => Arc::new(PostgresLedger::connect(url.expose())?),
            LedgerBackend::Sqlite => Arc::new(SqliteLedger::open(db_path)?),
        };
        Self::start(store, cfg, data_dir.join("ledger-overflow.jsonl"))
    }

    /// Starts a ledger over `store`, with its overflow file at `overflow`.
    pub fn start(
        store: Arc<dyn LedgerStore>,
        cfg: &LedgerConfig,
        overflow: PathBuf,
    ) -> Result<Ledger, LedgerError> {
        let overflow = Overflow::new(overflow);
        let replayed = overflow.replay(store.as_ref(), cfg.batch)?;
        if replayed > 0 {
            tracing::warn!(
                records = replayed,
                "ledger: wrote the records an earlier run had to leave in the overflow file"
            );
        }
        let (tx, rx) = mpsc::sync_channel(cfg.queue);
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            rx,
            store: store.clone(),
            overflow: overflow.clone(),
            counters: counters.clone(),
            batch: cfg.batch,
        };
        let handle = std::thread::Builder::new()
            .name("sluice-ledger".into())
            .spawn(move || writer.run())
            .map_err(|source| LedgerError::Overflow {
                path: overflow.path.clone(),
                source,
            })?;
        Ok(Ledger {
            node: rand::random(),
            tx,
            store,
            overflow,
            counters,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// Hands a record to the writer; never blocks. When the queue is full, or the writer has
    /// stopped, the record goes to the overflow file instead.
    pub fn record(&self, mut entry: Entry) {
        if let Entry::Request(r) = &mut entry
            && r.row_key.is_empty()
        {
            // Time first, so rows append to the key's index; then this process and a sequence
            // number, so keys are unique across replicas and within a millisecond.
            let seq = self.counters.accepted.load(Ordering::Relaxed);
            r.row_key = format!("{:012x}-{:08x}-{seq:010x}", r.ts_ms, self.node);
        }
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let entry = match self.tx.try_send(Msg::Record(Box::new(entry))) {
            Ok(()) => return,
            Err(
                TrySendError::Full(Msg::Record(e)) | TrySendError::Disconnected(Msg::Record(e)),
            ) => *e,
            Err(_) => return,
        };
        self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        let n = self.counters.overflowed.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                overflowed = n,
                file = %self.overflow.path.display(),
                "ledger queue full: records go to the overflow file and are written at the next start"
            );
        }
        self.overflow.append(std::slice::from_ref(&entry));
    }

    /// Writes everything queued and stops the writer (at shutdown). Records arriving later go
    /// to the overflow file.
    pub fn close(&self) {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Msg::Close(done_tx)).is_ok() {
            // The writer answers after its last batch; bounded so a dead database cannot hang
            // shutdown (what it could not write is in the overflow file by then).
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
        }
        if let Some(h) = self.writer.lock().take() {
            let _ = h.join();
        }
    }

    /// Waits (bounded) until everything recorded before the call is written, so a read that
    /// follows sees it. Blocking: call from the blocking pool.
    pub fn flush(&self) {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(10));
        }
    }

    /// The database, for reads.
    pub fn store(&self) -> &Arc<dyn LedgerStore> {
        &self.store
    }

    /// Counters now.
    pub fn stats(&self) -> LedgerStats {
        let c = &self.counters;
        LedgerStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            overflowed: c.overflowed.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            write_errors: c.write_errors.load(Ordering::Relaxed),
            queued: c.queued.load(Ordering::Relaxed),
        }
    }
}

/// How long the writer collects records after the first before committing them together: well
/// under the second of records a `kill -9` may lose.
const GATHER: Duration = Duration::from_millis(50);

struct Writer {
    rx: Receiver<Msg>,
    store: Arc<dyn LedgerStore>,
    overflow: Overflow,
    counters: Arc<Counters>,
    batch: usize,
}

impl Writer {
    fn run(self) {
        let mut buf: Vec<Entry> = Vec::with_capacity(self.batch);
        let mut backoff = Duration::from_millis(50);
        loop {
            // Wait for the first record, then take whatever else has queued (group commit).
            let mut closing = None;
            let mut flushed = None;
            if buf.is_empty() {
                match self.rx.recv() {
                    Ok(Msg::Record(e)) => buf.push(*e),
                    Ok(Msg::Flush(done)) => flushed = Some(done),
                    Ok(Msg::Close(done)) => closing = Some(done),
                    Err(_) => return,
                }
            }
            // Gather for a moment: one commit of many rows costs the database far less than
            // many commits of a few (each rewrites the table's and indexes' last pages). A flush
            // or close ends the wait at once.
            let until = Instant::now() + GATHER;
            while closing.is_none() && flushed.is_none() && buf.len() < self.batch {
                let wait = until.saturating_duration_since(Instant::now());
                let next = if wait.is_zero() {
                    self.rx.try_recv().map_err(|_| ())
                } else {
                    self.rx.recv_timeout(wait).map_err(|_| ())
                };
                match next {
                    Ok(Msg::Record(e)) => buf.push(*e),
                    Ok(Msg::Flush(done)) => flushed = Some(done),
                    Ok(Msg::Close(done)) => closing = Some(done),
                    Err(()) => break,
                }
            }
            if !buf.is_empty() {
                match self.store.write(&buf) {
                    Ok(()) => {
                        let n = buf.len();
                        self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
                        self.counters.batches.fetch_add(1, Ordering::Relaxed);
                        self.counters.queued.fetch_sub(n, Ordering::Relaxed);
                        buf.clear();
                        backoff = Duration::from_millis(50);
                    }
                    Err(e) => {
                        self.counters.write_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %e, records = buf.len(), "ledger write failed; keeping the batch");
                        if closing.is_some() || buf.len() >= self.batch {
                            // Shutting down, or the queue is backing up: park the batch in the
                            // overflow file rather than hold it in memory.
                            self.overflow.append(&buf);
                            self.counters
                                .overflowed
                                .fetch_add(buf.len() as u64, Ordering::Relaxed);
                            self.counters.queued.fetch_sub(buf.len(), Ordering::Relaxed);
                            buf.clear();
                        }
                        if closing.is_none() {
                            // A bounded pause before the next try; new records keep queueing.
                            match self.rx.recv_timeout(backoff) {
                                Ok(Msg::Record(e)) => buf.push(*e),
                                Ok(Msg::Flush(done)) => flushed = Some(done),
                                Ok(Msg::Close(done)) => closing = Some(done),
                                Err(RecvTimeoutError::Timeout) => {}
                                Err(RecvTimeoutError::Disconnected) => {}
                            }
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
            if let Some(done) = flushed {
                // Answered once the batch before it is in (or, while the database fails, at
                // once: the reader then sees what is there).
                let _ = done.send(());
            }
            if let Some(done) = closing {
                if !buf.is_empty() {
                    // Whatever the database did not take is kept for the next start.
                    self.overflow.append(&buf);
                }
                let _ = done.send(());
                return;
            }
        }
    }
}

/// The append-only file for records the database could not take in time.
#[derive(Clone)]
struct Overflow {
    path: PathBuf,
    file: Arc<Mutex<Option<File>>>,
}

impl Overflow {
    fn new(path: PathBuf) -> Overflow {
        Overflow {
            path,
            file: Arc::new(Mutex::new(None)),
        }
    }

    /// Appends entries as JSON lines. A failure here is the one place a record can be lost,
    /// and it is logged as an error with the record.
    fn append(&self, entries: &[Entry]) {
        let mut file = self.file.lock();
        if file.is_none() {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                Ok(f) => *file = Some(f),
                Err(e) => {
                    tracing::error!(file = %self.path.display(), error = %e, lost = entries.len(), "cannot open the ledger overflow file");
                    return;
                }
            }
        }
        let mut text = String::new();
        for e in entries {
            if let Ok(line) = serde_json::to_string(e) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if let Some(f) = file.as_mut()
            && let Err(e) = f.write_all(text.as_bytes())
        {
            tracing::error!(file = %self.path.display(), error = %e, lost = entries.len(), "cannot append to the ledger overflow file");
        }
    }

    /// Writes the file's records to `store`, then removes the file. Lines that do not parse
    /// (a torn last line after a crash) are skipped and logged.
    fn replay(&self, store: &dyn LedgerStore, batch: usize) -> Result<usize, LedgerError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(LedgerError::Overflow {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let started = Instant::now();
        let mut buf = Vec::with_capacity(batch);
        let mut total = 0;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|source| LedgerError::Overflow {
                path: self.path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(&line) {
                Ok(e) => buf.push(e),
                Err(e) => {
                    tracing::warn!(error = %e, "ledger overflow file: skipping a line that does not parse")
                }
            }
            if buf.len() >= batch {
                store.write(&buf)?;
                total += buf.len();
                buf.clear();
            }
        }
        if !buf.is_empty() {
            store.write(&buf)?;
            total += buf.len();
        }
        std::fs::remove_file(&self.path).map_err(|source| LedgerError::Overflow {
            path: self.path.clone(),
            source,
        })?;
        tracing::debug!(
            records = total,
            ms = started.elapsed().as_millis() as u64,
            "ledger overflow replayed"
        );
        Ok(total)
    }
}

#[cfg(test)]
mod tests;
