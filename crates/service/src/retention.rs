//! Audit retention: every server process periodically deletes audit events older than the
//! configured number of days (deleting is idempotent, so several processes may all do it).

use crate::Service;
use kc_store::StoreError;
use std::time::Duration;

impl Service {
    /// Deletes audit events older than `retention` before now; returns how many.
    pub async fn purge_audit(&self, retention: Duration) -> Result<u64, StoreError> {
        let keep = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
        let cutoff = self.now().checked_sub(keep).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        self.ports.store.purge_audit(cutoff).await
    }
}

/// The periodic purge of one process.
pub struct AuditRetention {
    service: Service,
    retention: Duration,
    interval: Duration,
}

impl AuditRetention {
    /// Keeps `retention_days` days of events, purging every `interval`; `None` when
    /// `retention_days` is 0 (keep forever).
    pub fn new(service: Service, retention_days: u32, interval: Duration) -> Option<Self> {
        (retention_days > 0).then(|| Self {
            service,
            retention: Duration::from_secs(u64::from(retention_days) * 86_400),
            interval: interval.max(Duration::from_secs(1)),
        })
    }

    /// Purges now and then every interval, until `stop` turns true.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.service.purge_audit(self.retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged audit events past retention"),
                Err(e) => tracing::warn!(error = %e, "could not purge old audit events"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
