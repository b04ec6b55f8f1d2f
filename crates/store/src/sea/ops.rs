//! Operations work on sea-orm: webhook-delivery retention, queue and pool figures for metrics.

use super::{ms, SeaStore};
use crate::entity::webhook_delivery;
use crate::{PoolStats, QueueStats, StoreResult};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// `now - oldest` (both in ms) as a duration; `None` without an oldest row.
fn age(now_ms: i64, oldest: Option<i64>) -> Option<Duration> {
    oldest.map(|o| Duration::from_millis(u64::try_from(now_ms.saturating_sub(o)).unwrap_or(0)))
}

impl SeaStore {
    pub(super) async fn purge_webhook_deliveries_impl(
        &self,
        delivered_before: Option<OffsetDateTime>,
        failed_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64> {
        let mut deleted = 0;
        if let Some(before) = delivered_before {
            deleted += webhook_delivery::Entity::delete_many()
                .filter(webhook_delivery::Column::Status.eq("delivered"))
                .filter(webhook_delivery::Column::CompletedAt.lt(ms(before)))
                .exec(&self.db)
                .await
                .map_err(crate::db_err)?
                .rows_affected;
        }
        if let Some(before) = failed_before {
            deleted += webhook_delivery::Entity::delete_many()
                .filter(webhook_delivery::Column::Status.is_in(["failed", "cancelled"]))
                .filter(webhook_delivery::Column::CompletedAt.lt(ms(before)))
                .exec(&self.db)
                .await
                .map_err(crate::db_err)?
                .rows_affected;
        }
        Ok(deleted)
    }

    pub(super) async fn queue_stats_impl(&self, now: OffsetDateTime) -> StoreResult<QueueStats> {
        let backend = self.db.get_database_backend();
        let count_and_oldest = |sql: &str| Statement::from_string(backend, sql.to_owned());
        let sync = self
            .db
            .query_one(count_and_oldest(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sync_jobs WHERE status IN ('queued', 'running')",
            ))
            .await
            .map_err(crate::db_err)?;
        let outbox = self
            .db
            .query_one(count_and_oldest(
                "SELECT COUNT(*) AS n, MIN(occurred_at) AS oldest FROM webhook_deliveries \
                 WHERE status IN ('pending', 'sending')",
            ))
            .await
            .map_err(crate::db_err)?;
        let read = |row: Option<sea_orm::QueryResult>| -> StoreResult<(u64, Option<i64>)> {
            match row {
                None => Ok((0, None)),
                Some(r) => {
                    let n: i64 = r.try_get("", "n").map_err(crate::db_err)?;
                    let oldest: Option<i64> = r.try_get("", "oldest").map_err(crate::db_err)?;
                    Ok((u64::try_from(n).unwrap_or(0), oldest))
                }
            }
        };
        let now_ms = ms(now);
        let (sync_jobs, sync_oldest) = read(sync)?;
        let (outbox, outbox_oldest) = read(outbox)?;
        Ok(QueueStats {
            sync_jobs,
            sync_oldest: age(now_ms, sync_oldest),
            outbox,
            outbox_oldest: age(now_ms, outbox_oldest),
        })
    }

    pub(super) async fn pool_stats_impl(&self) -> StoreResult<PoolStats> {
        let started = Instant::now();
        let (size, idle, max) = match self.db.get_database_backend() {
            #[cfg(feature = "postgres")]
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                drop(pool.acquire().await.map_err(|e| crate::StoreError::Unavailable(e.to_string()))?);
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            #[cfg(feature = "sqlite")]
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                drop(pool.acquire().await.map_err(|e| crate::StoreError::Unavailable(e.to_string()))?);
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            other => return Err(crate::StoreError::Other(format!("no pool figures for {other:?}"))),
        };
        Ok(PoolStats { size, idle: u32::try_from(idle).unwrap_or(u32::MAX), max, acquire: started.elapsed() })
    }
}

#[async_trait]
impl crate::OperationsStore for SeaStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<crate::QueueStats> {
        self.queue_stats_impl(now).await
    }

    async fn pool_stats(&self) -> StoreResult<crate::PoolStats> {
        self.pool_stats_impl().await
    }
}
