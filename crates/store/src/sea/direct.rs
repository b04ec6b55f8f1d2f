//! SQLite's hot paths without sqlx's thread hand-offs.
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every statement to it
//! over a channel, then wakes the task back up: two context switches per statement, which
//! profiles of check-session and link-token showed as most of the CPU (the kernel switching
//! threads). For the hot paths of a file database this module talks to SQLite directly
//! (rusqlite, the same bundled SQLite library sqlx links):
//!
//! - [`Readers`]: a point read (a client with its token, grant and workspace) runs on the
//!   calling thread on a read-only connection — microseconds, and under WAL a reader never
//!   waits for the writer;
//! - [`GroupWriter`]: one thread owns the write connection; hot-path writes (link sessions,
//!   exchanges, audit events) queue for it and every batch it drains commits as one
//!   transaction, each write in a savepoint of its own (group commit). Writers queue in the
//!   channel (FIFO), not in SQLite's busy handler, and one commit serves many requests.
//!
//! The statements are the same sea-query statements the sqlx path builds (bound with
//! `sea-query-rusqlite`), so the SQL is written once. In-memory SQLite (`sqlite::memory:`)
//! cannot be shared between connections and keeps the sqlx path.

mod readers;
mod writer;

pub(crate) use readers::Readers;
pub(crate) use writer::{GroupWriter, Undo};

use crate::{StoreError, StoreResult};
use sea_orm::sea_query::{SelectStatement, SqliteQueryBuilder};
use sea_query_rusqlite::RusqliteBinder;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Both halves, for a file database.
pub(crate) struct Direct {
    pub(crate) readers: Readers,
    pub(crate) writer: GroupWriter,
    observer: Arc<OnceLock<StatementObserver>>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").field("readers", &self.readers).finish_non_exhaustive()
    }
}

impl Direct {
    /// For the SQLite file of `url` (`sqlite://path?…` or `sqlite:path`); `None` for in-memory
    /// databases. The file must exist (the sqlx pool creates it first).
    pub(crate) fn open(url: &str) -> Result<Option<Self>, StoreError> {
        let Some(path) = file_of(url) else { return Ok(None) };
        let observer = Arc::new(OnceLock::new());
        Ok(Some(Self {
            readers: Readers::new(path.clone(), observer.clone()),
            writer: GroupWriter::start(&path, observer.clone())?,
            observer,
        }))
    }

    /// Sets the statement observer (once; later calls are ignored).
    pub(crate) fn observe(&self, observer: StatementObserver) {
        let _ = self.observer.set(observer);
    }
}

/// The database file of a SQLite URL, `None` when it is in memory.
fn file_of(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:") && !url.contains("mode=memory")).then(|| PathBuf::from(path))
}

/// Sees the text of every statement the direct path runs (the statement-budget tests count
/// them, as sea-orm's metric callback counts the pool's).
pub(crate) type StatementObserver = Arc<dyn Fn(&str) + Send + Sync>;

/// A connection with the store's statement observer, if any.
#[derive(Clone, Copy)]
pub(crate) struct Conn<'a> {
    pub(crate) raw: &'a rusqlite::Connection,
    observer: Option<&'a StatementObserver>,
}

impl Conn<'_> {
    /// Runs a sea-query statement (built for SQLite, bound with `sea-query-rusqlite`) through
    /// the prepared-statement cache; answers the rows changed.
    pub(crate) fn execute(&self, stmt: &impl RusqliteBinder) -> rusqlite::Result<usize> {
        let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
        self.observe(&sql);
        self.raw.prepare_cached(&sql)?.execute(&*values.as_params())
    }

    /// Runs a sea-query `SELECT` and hands each row to `each`.
    pub(crate) fn query_each(
        &self,
        stmt: &SelectStatement,
        each: impl FnMut(&rusqlite::Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let (sql, values) = stmt.build(SqliteQueryBuilder);
        self.query_sql_each(&sql, values, each)
    }

    /// Runs SQL `sql` with `values` (a statement built once, see `sea::shape`) and hands each
    /// row to `each`.
    pub(crate) fn query_sql_each(
        &self,
        sql: &str,
        values: sea_orm::sea_query::Values,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.observe(sql);
        let values =
            sea_query_rusqlite::RusqliteValues(values.into_iter().map(sea_query_rusqlite::RusqliteValue).collect());
        let mut prepared = self.raw.prepare_cached(sql).map_err(sqlite_err)?;
        let mut rows = prepared.query(&*values.as_params()).map_err(sqlite_err)?;
        while let Some(row) = rows.next().map_err(sqlite_err)? {
            each(row)?;
        }
        Ok(())
    }

    fn observe(&self, sql: &str) {
        if let Some(observer) = self.observer {
            observer(sql);
        }
    }
}

/// SQLite's heap, all connections together, in bytes (`PRAGMA soft_heap_limit`): past it
/// SQLite recycles page-cache pages instead of growing. Without it each connection's cache
/// grows to SQLite's default 2 MiB as the file grows — about 25 MiB for the writer, the
/// readers and the sqlx pool — which a soak of `POST /link-token` showed as RSS growing for
/// ten minutes (`docs/benchmarks.md`).
pub(crate) const SOFT_HEAP_LIMIT: i64 = 8 << 20;

/// How long a connection waits for a lock another connection holds (as the sqlx pool does).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A rusqlite error as a store error: busy, locked, I/O and open failures are
/// [`StoreError::Unavailable`] (503), a unique violation a [`StoreError::Conflict`].
pub(crate) fn sqlite_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::DatabaseBusy | C::DatabaseLocked | C::SystemIoFailure | C::CannotOpen | C::OutOfMemory => {
                StoreError::Unavailable(e.to_string())
            }
            C::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_name_their_file_and_memory_urls_none() {
        assert_eq!(file_of("sqlite://data/kc.db?mode=rwc"), Some(PathBuf::from("data/kc.db")));
        assert_eq!(file_of("sqlite:/tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(file_of("sqlite::memory:"), None);
        assert_eq!(file_of("sqlite://file.db?mode=memory"), None);
        assert_eq!(file_of("postgres://localhost/db"), None);
    }
}
