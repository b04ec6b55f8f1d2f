//! Read-only connections used on the calling thread.

use super::{sqlite_err, Conn, StatementObserver, BUSY_TIMEOUT};
use crate::StoreResult;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Idle connections kept for reuse; more are opened when every one is in use (a read never
/// waits for a connection) and dropped on return beyond this many.
const KEEP_IDLE: usize = 8;

/// Read-only connections to one SQLite file, each checked out and returned within one
/// synchronous call (never across an `.await`).
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    observer: Arc<OnceLock<StatementObserver>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Readers {
    pub(crate) fn new(path: PathBuf, observer: Arc<OnceLock<StatementObserver>>) -> Self {
        Self { path, idle: Mutex::new(Vec::new()), observer }
    }

    /// Runs `read` on an idle connection (or a new one). Meant for indexed point reads: it
    /// runs on the caller's thread.
    pub(crate) fn read<T>(&self, read: impl FnOnce(Conn<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let conn = match self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(conn) => conn,
            None => self.open().map_err(sqlite_err)?,
        };
        let answer = read(Conn { raw: &conn, observer: self.observer.get() });
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
            }
        }
        answer
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}
