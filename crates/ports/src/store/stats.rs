//! Operational figures the store reports for metrics: queue depths and pool usage.

use std::time::Duration;

/// Depth and age of the database-backed queues at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Sync jobs waiting to run or running (`queued` or `running`).
    pub sync_jobs: u64,
    /// Age of the oldest such sync job (`None` when there is none).
    pub sync_oldest: Option<Duration>,
    /// Webhook deliveries not yet delivered, failed or cancelled (`pending` or `sending`).
    pub outbox: u64,
    /// Age of the oldest such delivery (since the change it reports).
    pub outbox_oldest: Option<Duration>,
}

/// The connection pool at one instant, and how long a probe waited for a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (idle and in use).
    pub size: u32,
    /// Idle connections.
    pub idle: u32,
    /// The configured maximum.
    pub max: u32,
    /// How long acquiring one connection took for this probe.
    pub acquire: Duration,
}
