//! [`OperationsStore`] in memory: queue figures (there is no connection pool).

use crate::state::JobStatus;
use crate::MemoryStore;
use async_trait::async_trait;
use kc_ports::store::{OperationsStore, PoolStats, QueueStats, StoreResult};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// `now - oldest` in whole milliseconds (as SeaStore, which stores milliseconds); zero if `oldest` is later.
fn age(now: OffsetDateTime, oldest: Option<OffsetDateTime>) -> Option<Duration> {
    oldest.map(|o| Duration::from_millis(u64::try_from(super::ms(now).saturating_sub(super::ms(o))).unwrap_or(0)))
}

#[async_trait]
impl OperationsStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        self.with(|_| Ok(()))
    }

    async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<QueueStats> {
        self.with(|s| {
            let jobs: Vec<OffsetDateTime> = s
                .sync_jobs
                .values()
                .filter(|j| matches!(j.status, JobStatus::Queued | JobStatus::Running))
                .map(|j| j.created_at)
                .collect();
            let outbox: Vec<OffsetDateTime> =
                s.deliveries.values().filter(|d| d.status.is_open()).map(|d| d.occurred_at).collect();
            Ok(QueueStats {
                sync_jobs: jobs.len() as u64,
                sync_oldest: age(now, jobs.iter().min().copied()),
                outbox: outbox.len() as u64,
                outbox_oldest: age(now, outbox.iter().min().copied()),
            })
        })
    }

    /// No pool: zero connections, and `acquire` is how long taking the store's lock took.
    async fn pool_stats(&self) -> StoreResult<PoolStats> {
        let started = Instant::now();
        self.with(|_| Ok(()))?;
        Ok(PoolStats { size: 0, idle: 0, max: 0, acquire: started.elapsed() })
    }
}
