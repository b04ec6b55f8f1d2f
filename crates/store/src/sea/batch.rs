//! PostgreSQL: concurrent link-session writes coalesced into one transaction.
//!
//! `POST /link-token` is the busiest write. Each one on its own costs a statement and a commit
//! (a WAL flush). A task owned by the store takes every session waiting at that moment (up to
//! [`MAX_BATCH`]) and writes them, with their audit events, as one multi-row statement in one
//! transaction — `BEGIN`, `WITH l AS (INSERT INTO link_tokens VALUES …, …) INSERT INTO
//! audit_events VALUES …, …`, `COMMIT` — so one flush serves many requests. Up to
//! [`IN_FLIGHT`] batches run at once on the pool; a lone request waits for no one.
//!
//! Each caller gets its own answer. If a batch fails with a unique violation (a digest that
//! already exists: never by chance, 256-bit random), its rows are written one by one so only
//! the culprit fails; any other error (the database unreachable) is every caller's answer.

use super::hot::cte;
use crate::entity::{audit_event, link_token};
use crate::{StoreError, StoreResult};
use sea_orm::sea_query::WithClause;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryTrait, TransactionTrait};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::Instrument;

/// Most sessions written by one statement.
const MAX_BATCH: usize = 128;
/// Batches written at the same time.
const IN_FLIGHT: usize = 4;
/// How long one batch may take before its callers get 503 (its transaction is dropped and
/// rolled back, so nothing of it is committed for a caller who was told it failed).
const DEADLINE: Duration = Duration::from_secs(10);

/// A link session and its audit event, waiting for the next batch.
struct Pending {
    session: link_token::ActiveModel,
    audit: audit_event::ActiveModel,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// The handle of the batching task; the task ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct LinkSessionBatcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl LinkSessionBatcher {
    /// Starts the task on the current tokio runtime, writing through `db`.
    pub(crate) fn start(db: DatabaseConnection) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(db, pending));
        Self { queue }
    }

    /// Queues the rows and waits until their batch committed (or failed).
    pub(crate) async fn write(
        &self,
        session: link_token::ActiveModel,
        audit: audit_event::ActiveModel,
    ) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the link-session writer has stopped".into());
        self.queue.send(Pending { session, audit, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(db: DatabaseConnection, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let Some(first) = pending.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let db = db.clone();
        let span = tracing::debug_span!("link_session_batch", sessions = batch.len());
        tokio::spawn(
            async move {
                write_batch(&db, batch).await;
                drop(permit);
            }
            .instrument(span),
        );
    }
}

async fn write_batch(db: &DatabaseConnection, batch: Vec<Pending>) {
    let rows: Vec<_> = batch.iter().map(|p| (p.session.clone(), p.audit.clone())).collect();
    match within_deadline(insert_all(db, rows)).await {
        Ok(()) => batch.into_iter().for_each(|p| drop(p.reply.send(Ok(())))),
        Err(StoreError::Conflict(_)) if batch.len() > 1 => {
            for p in batch {
                let one = within_deadline(insert_all(db, vec![(p.session, p.audit)])).await;
                let _ = p.reply.send(one);
            }
        }
        Err(e) => batch.into_iter().for_each(|p| drop(p.reply.send(Err(e.clone())))),
    }
}

async fn within_deadline(write: impl std::future::Future<Output = StoreResult<()>>) -> StoreResult<()> {
    tokio::time::timeout(DEADLINE, write)
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable(format!("no answer from the database within {DEADLINE:?}"))))
}

/// `BEGIN`; the sessions and the audit events as one statement; `COMMIT`.
async fn insert_all(
    db: &DatabaseConnection,
    rows: Vec<(link_token::ActiveModel, audit_event::ActiveModel)>,
) -> StoreResult<()> {
    let (sessions, audits): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    let sessions = link_token::Entity::insert_many(sessions).into_query();
    let audits = audit_event::Entity::insert_many(audits).into_query();
    let mut with = WithClause::new();
    cte(&mut with, "l", sessions);
    let txn = db.begin().await.map_err(crate::db_err)?;
    let backend = txn.get_database_backend();
    txn.execute(backend.build(&audits.with(with))).await.map_err(crate::db_err)?;
    txn.commit().await.map_err(crate::db_err)
}
