//! Retention: every server process periodically deletes audit events and finished webhook
//! deliveries older than the configured number of days (deleting is idempotent, so several
//! processes may all do it).

use crate::Service;
use kc_ports::StoreError;
use std::time::Duration;

impl Service {
    /// Deletes audit events older than `retention` before now; returns how many.
    pub async fn purge_audit(&self, retention: Duration) -> Result<u64, StoreError> {
        let keep = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
        let cutoff = self.now().checked_sub(keep).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        self.ports.store.purge_audit(cutoff).await
    }

    /// Deletes delivered webhook deliveries completed more than `delivered` ago and failed or
    /// cancelled ones completed more than `failed` ago (`None`: keep them); returns how many.
    pub async fn purge_webhook_deliveries(
        &self,
        delivered: Option<Duration>,
        failed: Option<Duration>,
    ) -> Result<u64, StoreError> {
        let now = self.now();
        let cutoff = |keep: Duration| {
            let keep = time::Duration::try_from(keep).unwrap_or(time::Duration::MAX);
            now.checked_sub(keep).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        };
        if delivered.is_none() && failed.is_none() {
            return Ok(0);
        }
        self.ports.store.purge_webhook_deliveries(delivered.map(cutoff), failed.map(cutoff)).await
    }

    /// Depth and age of the sync queue and the webhook outbox now (for metrics).
    pub async fn queue_stats(&self) -> Result<kc_ports::QueueStats, StoreError> {
        self.ports.store.queue_stats(self.now()).await
    }
}

/// Days as a retention period; 0 means keep forever (`None`).
fn days(n: u32) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(u64::from(n) * 86_400))
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

/// The periodic purge of finished webhook deliveries of one process.
pub struct DeliveryRetention {
    service: Service,
    delivered: Option<Duration>,
    failed: Option<Duration>,
    interval: Duration,
}

impl DeliveryRetention {
    /// Keeps delivered deliveries `delivered_days` days and failed or cancelled ones
    /// `failed_days` days (0: forever), purging every `interval`; `None` when both are 0.
    pub fn new(service: Service, delivered_days: u32, failed_days: u32, interval: Duration) -> Option<Self> {
        let (delivered, failed) = (days(delivered_days), days(failed_days));
        (delivered.is_some() || failed.is_some()).then(|| Self {
            service,
            delivered,
            failed,
            interval: interval.max(Duration::from_secs(1)),
        })
    }

    /// Purges now and then every interval, until `stop` turns true.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.service.purge_webhook_deliveries(self.delivered, self.failed).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged webhook deliveries past retention"),
                Err(e) => tracing::warn!(error = %e, "could not purge old webhook deliveries"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
