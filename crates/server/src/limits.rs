//! The failed-authentication budgets of `kc-http`, kept in the database so that every node
//! sharing it spends from one budget (see `kc_http::FailureBudget`).
//!
//! Each spend is one atomic upsert on the `rate_limits` table (GCRA; PostgreSQL serialises
//! concurrent spends on the row, SQLite on its write lock), so N nodes together admit exactly
//! the configured rate, not N times it. On SQLite (one node) the same table is used. The clock
//! is the system clock (budgets are about real request rates); nodes are expected to keep
//! their clocks in sync (NTP), a skew of a few milliseconds being irrelevant at these rates.

use async_trait::async_trait;
use kc_http::{BudgetError, FailureBudget, FailureQuota, Spend};
use kc_store::{BudgetSpend, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Spends this many times between purges of full (information-free) budgets.
const PURGE_EVERY: u64 = 1024;

/// Failure budgets in the database.
pub struct StoreFailureBudget {
    store: Arc<dyn Store>,
    spends: AtomicU64,
}

impl StoreFailureBudget {
    /// Budgets on `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, spends: AtomicU64::new(0) }
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl FailureBudget for StoreFailureBudget {
    async fn spend(&self, bucket: &str, quota: FailureQuota) -> Result<Spend, BudgetError> {
        let now = now_ms();
        let interval = i64::try_from(quota.interval().as_millis()).unwrap_or(i64::MAX);
        if self.spends.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            match self.store.purge_rate_budgets(now).await {
                Ok(n) => tracing::debug!(purged = n, "purged full failure budgets"),
                Err(e) => tracing::warn!(error = %e, "could not purge failure budgets"),
            }
        }
        let spent = self
            .store
            .spend_rate_budget(bucket, now, interval, quota.burst)
            .await
            .map_err(|e| BudgetError(e.to_string()))?;
        Ok(match spent {
            BudgetSpend::Allowed { remaining } => Spend::Allowed { remaining },
            BudgetSpend::Denied { retry_after_ms } => {
                Spend::Denied { retry_after: Duration::from_millis(retry_after_ms) }
            }
        })
    }
}
