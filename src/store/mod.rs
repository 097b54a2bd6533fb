//! The embedded store: one SQLite database (WAL mode) in the data directory, created on first
//! start and brought up to date by the migrations in `src/store/migrations/`.
//!
//! Calls are synchronous and short; callers on the async side run them on the blocking pool.
//! Everything the rest of the crate needs goes through the methods here, so another backend
//! (PostgreSQL for several replicas) can take its place behind the same calls.

mod documents;
mod prompts;

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::Connection;

pub use documents::{StoredChunk, StoredDocument};
pub use prompts::{StoredVersion, VersionOrigin};

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_prompts_documents.sql"),
    // The ledger's tables; the same text creates them on PostgreSQL.
    crate::ledger::SCHEMA,
];

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created or opened.
    #[error(
        "cannot use the data directory {path}: {source}; set store.data_dir to a writable folder"
    )]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON value does not parse.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The row exists already and rows of this kind are never overwritten.
    #[error("{0} already exists")]
    Exists(String),
    /// The database is newer than this binary.
    #[error(
        "the database has {found} migrations applied but this build knows {known}; run a newer Sluice"
    )]
    TooNew {
        /// Applied.
        found: usize,
        /// Known to this build.
        known: usize,
    },
}

/// The database handle. Cheap to share behind an `Arc`.
pub struct Store {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `sluice.db` in `dir`, in WAL mode, migrated.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("sluice.db");
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = Store {
            conn: Mutex::new(conn),
            path: Some(path),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database (tests, and a service started without a data directory).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = Store {
            conn: Mutex::new(conn),
            path: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file, when on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let applied = usize::try_from(applied).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                found: applied,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()?;
            tracing::info!(migration = i + 1, "store migrated");
        }
        Ok(())
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = std::env::temp_dir().join(format!("sluice-store-{}", rand::random::<u64>()));
        {
            let s = Store::open(&dir).unwrap();
            assert!(s.path().unwrap().exists());
        }
        // A second open finds the migrations applied and changes nothing.
        let s = Store::open(&dir).unwrap();
        let v: i64 = s
            .conn
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = s
            .conn
            .lock()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let _ = std::fs::remove_dir_all(dir);
    }
}
