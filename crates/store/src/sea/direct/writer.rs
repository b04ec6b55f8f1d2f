//! One writer thread, group commit.

use super::{sqlite_err, Conn, StatementObserver, BUSY_TIMEOUT};
use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{mpsc, Arc, OnceLock};
use tokio::sync::oneshot;

/// Most writes committed together; the rest wait for the next commit.
const MAX_BATCH: usize = 256;

/// Why a write rolled its own changes back (the other writes of its batch still commit).
#[derive(Debug)]
pub(crate) enum Undo {
    /// A condition of the write did not hold (say, a token already claimed): nothing written.
    Refused,
    /// A statement failed.
    Failed(StoreError),
}

impl From<rusqlite::Error> for Undo {
    fn from(e: rusqlite::Error) -> Self {
        Undo::Failed(sqlite_err(e))
    }
}

type Work = Box<dyn FnOnce(Conn<'_>) -> Result<(), Undo> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// The handle of the writer thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Opens the write connection and starts its thread.
    pub(crate) fn start(path: &Path, observer: Arc<OnceLock<StatementObserver>>) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(sqlite_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(sqlite_err)?;
        // Process-wide: every connection's page cache (this one, the readers, the sqlx pool's).
        conn.execute_batch(&format!("PRAGMA soft_heap_limit = {};", super::SOFT_HEAP_LIMIT)).map_err(sqlite_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("kc-sqlite-writer".into())
            .spawn(move || run(&conn, &observer, &queue))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Queues `work` and waits for its batch to commit: `Ok(true)` when its changes are
    /// committed, `Ok(false)` when it answered [`Undo::Refused`] (nothing of it was written).
    pub(crate) async fn write(
        &self,
        work: impl FnOnce(Conn<'_>) -> Result<(), Undo> + Send + 'static,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { work: Box::new(work), reply })
            .map_err(|_| StoreError::Unavailable("the SQLite writer thread has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite writer thread has stopped".into()))?
    }
}

/// The writer thread: takes every queued job (up to [`MAX_BATCH`]) and commits them as one.
fn run(conn: &Connection, observer: &OnceLock<StatementObserver>, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(Conn { raw: conn, observer: observer.get() }, batch);
    }
}

fn commit_batch(conn: Conn<'_>, batch: Vec<Job>) {
    let _span = tracing::debug_span!("sqlite_group_commit", writes = batch.len()).entered();
    if let Err(e) = conn.raw.execute_batch("BEGIN IMMEDIATE") {
        let e = sqlite_err(e);
        for job in batch {
            let _ = job.reply.send(Err(e.clone()));
        }
        return;
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        let answer = run_in_savepoint(conn, job.work);
        answers.push((job.reply, answer));
    }
    let committed = conn.raw.execute_batch("COMMIT").map_err(sqlite_err);
    if committed.is_err() {
        let _ = conn.raw.execute_batch("ROLLBACK");
    }
    for (reply, answer) in answers {
        let answer = match (&committed, answer) {
            (Err(e), Ok(true)) => Err(e.clone()),
            (_, answer) => answer,
        };
        let _ = reply.send(answer);
    }
}

/// Runs one write in a savepoint, released if it succeeded and rolled back otherwise.
fn run_in_savepoint(conn: Conn<'_>, work: Work) -> StoreResult<bool> {
    conn.raw.execute_batch("SAVEPOINT write").map_err(sqlite_err)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(Undo::Failed(StoreError::Other("a SQLite write panicked".into()))));
    let undo = |answer: StoreResult<bool>| -> StoreResult<bool> {
        conn.raw.execute_batch("ROLLBACK TO write; RELEASE write").map_err(sqlite_err)?;
        answer
    };
    match outcome {
        Ok(()) => conn.raw.execute_batch("RELEASE write").map(|()| true).map_err(sqlite_err),
        Err(Undo::Refused) => undo(Ok(false)),
        Err(Undo::Failed(e)) => undo(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer_on_a_new_file() -> (GroupWriter, tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)").expect("table");
        (GroupWriter::start(&path, Arc::default()).expect("writer"), dir, path)
    }

    fn count(path: &std::path::Path) -> i64 {
        Connection::open(path).expect("open").query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_commit_and_a_refused_or_failed_one_leaves_nothing() {
        let (writer, _dir, path) = writer_on_a_new_file();
        let writer = std::sync::Arc::new(writer);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |c| {
                        c.raw.execute("INSERT INTO t (k, n) VALUES (?1, ?2)", (format!("k{i}"), i))?;
                        match i % 10 {
                            // Wrote a row, then refused: the row must not survive.
                            3 => Err(Undo::Refused),
                            // Wrote a row, then a duplicate key: neither survives.
                            7 => {
                                c.raw.execute("INSERT INTO t (k, n) VALUES (?1, 0)", (format!("k{i}"),))?;
                                Ok(())
                            }
                            _ => Ok(()),
                        }
                    })
                    .await
            }));
        }
        let mut outcomes = (0, 0, 0);
        for (i, task) in tasks.into_iter().enumerate() {
            match (i % 10, task.await.expect("task")) {
                (3, Ok(false)) => outcomes.1 += 1,
                (7, Err(StoreError::Conflict(_))) => outcomes.2 += 1,
                (_, Ok(true)) => outcomes.0 += 1,
                (k, other) => panic!("write {i} (kind {k}) answered {other:?}"),
            }
        }
        assert_eq!(outcomes, (160, 20, 20));
        assert_eq!(count(&path), 160, "exactly the kept writes are in the file");
    }

    #[tokio::test]
    async fn a_panicking_write_is_an_error_and_the_writer_keeps_going() {
        let (writer, _dir, path) = writer_on_a_new_file();
        let boom = writer.write(|_| panic!("boom")).await;
        assert!(matches!(boom, Err(StoreError::Other(_))), "{boom:?}");
        let ok =
            writer.write(|c| c.raw.execute("INSERT INTO t VALUES ('a', 1)", []).map(|_| ()).map_err(Undo::from)).await;
        assert!(matches!(ok, Ok(true)), "{ok:?}");
        assert_eq!(count(&path), 1);
    }
}
