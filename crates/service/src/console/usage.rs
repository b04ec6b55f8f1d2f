//! Data API calls per client and UTC day, for the usage view.
//!
//! A Data API call is one statement ([`kc_ports::HotPathStore::client_access`]) and must stay
//! one: nothing is written on its path. Each authenticated call adds one to an in-process map
//! keyed by (client, day) — a mutex held for a hash-map increment. The call that finds the
//! last write [`FLUSH_EVERY`] old (or the map [`MAX_PENDING`] keys big) takes the whole map,
//! and a spawned task writes it as multi-row upserts
//! ([`kc_ports::ConsoleStore::add_data_api_calls`]: `calls = calls + excluded.calls`), so
//! any number of nodes add up. The usage view writes its node's pending counts before it
//! reads; the server writes them on shutdown. A crash loses at most the last [`FLUSH_EVERY`]
//! of one node's counts; a failed write puts its counts back for the next one.

use crate::service::store_error;
use crate::Service;
use kc_api::ApiError;
use kc_domain::ClientId;
use kc_ports::{ConsoleStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How often a node writes its counts (at most; only when calls come in).
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// A node writes early once this many (client, day) keys are pending.
pub const MAX_PENDING: usize = 10_000;

const DAY_SECS: i64 = 86_400;

/// Counts of Data API calls per (client, UTC day start), ready to add to the store.
pub type CallBatch = Vec<(ClientId, OffsetDateTime, u64)>;

/// The pending counts of this process (shared by every clone of the service).
#[derive(Debug, Default)]
pub struct DataCallCounter {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Calls per client per day (Unix seconds of its UTC midnight).
    counts: HashMap<ClientId, HashMap<i64, u64>>,
    /// How many (client, day) keys `counts` holds.
    keys: usize,
    /// When the counts were last taken; `None` before the first call.
    taken_at: Option<Instant>,
}

impl Pending {
    fn take(&mut self, now: Instant) -> CallBatch {
        self.taken_at = Some(now);
        self.keys = 0;
        let mut batch = Vec::new();
        for (client, days) in self.counts.drain() {
            for (day, n) in days {
                if let Ok(day) = OffsetDateTime::from_unix_timestamp(day) {
                    batch.push((client.clone(), day, n));
                }
            }
        }
        batch
    }

    fn add(&mut self, client: &ClientId, day: i64, n: u64) {
        // No allocation for a client already counted (the usual case).
        let days = match self.counts.get_mut(client) {
            Some(days) => days,
            None => self.counts.entry(client.clone()).or_default(),
        };
        let count = days.entry(day).or_insert_with(|| {
            self.keys += 1;
            0
        });
        *count += n;
    }
}

impl DataCallCounter {
    /// Counts one call of `client` at `at`; returns the counts to write when a write is due.
    pub fn count(&self, client: &ClientId, at: OffsetDateTime) -> Option<CallBatch> {
        self.count_at(client, at, Instant::now())
    }

    fn count_at(&self, client: &ClientId, at: OffsetDateTime, now: Instant) -> Option<CallBatch> {
        let day = at.unix_timestamp().div_euclid(DAY_SECS) * DAY_SECS;
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.add(client, day, 1);
        let taken_at = *p.taken_at.get_or_insert(now);
        let due = now.duration_since(taken_at) >= FLUSH_EVERY || p.keys >= MAX_PENDING;
        due.then(|| p.take(now))
    }

    /// Takes every pending count.
    pub fn take(&self) -> CallBatch {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take(Instant::now())
    }

    /// Puts back counts whose write failed (added to what came since).
    pub fn restore(&self, batch: CallBatch) {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (client, day, n) in batch {
            p.add(&client, day.unix_timestamp(), n);
        }
    }
}

/// Writes `batch`; on failure puts it back into `counter`.
async fn write(store: &dyn ConsoleStore, counter: &DataCallCounter, batch: CallBatch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    match store.add_data_api_calls(&batch).await {
        Ok(()) => Ok(()),
        Err(e) => {
            counter.restore(batch);
            Err(e)
        }
    }
}

impl Service {
    /// Counts an authenticated Data API call of `client` (nothing when no console store keeps
    /// usage). Never waits for storage: a due write runs on its own task.
    pub(crate) fn count_data_call(&self, client: &ClientId) {
        let Some(store) = self.ports.console.clone() else { return };
        let counter = self.ports.data_calls.clone();
        if let Some(batch) = counter.count(client, self.now()) {
            tokio::spawn(async move {
                if let Err(e) = write(store.as_ref(), &counter, batch).await {
                    tracing::warn!(error = %e, "could not store Data API call counts; kept for the next write");
                }
            });
        }
    }

    /// Writes this node's pending Data API call counts now (the usage view does before it
    /// reads; call it on shutdown).
    pub async fn flush_data_calls(&self) -> Result<(), ApiError> {
        let Some(store) = self.ports.console.as_ref() else { return Ok(()) };
        let counter: Arc<DataCallCounter> = self.ports.data_calls.clone();
        let batch = counter.take();
        write(store.as_ref(), &counter, batch).await.map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u8) -> ClientId {
        ClientId::from_stored(format!("kc_test{n}"))
    }

    #[test]
    fn counts_per_client_and_utc_day_and_writes_every_few_seconds() {
        let c = DataCallCounter::default();
        let start = Instant::now();
        let t = OffsetDateTime::from_unix_timestamp(1_764_460_000).expect("time"); // 2025-11-29 23:46 UTC
        let next_day = t + time::Duration::hours(1);
        assert!(c.count_at(&client(1), t, start).is_none());
        assert!(c.count_at(&client(1), t, start).is_none());
        assert!(c.count_at(&client(2), t, start + Duration::from_secs(1)).is_none());
        assert!(c.count_at(&client(1), next_day, start + Duration::from_secs(2)).is_none());
        let mut batch = c.count_at(&client(1), t, start + FLUSH_EVERY).expect("due after FLUSH_EVERY");
        batch.sort_by_key(|(id, day, _)| (id.to_string(), *day));
        let day = |ts: OffsetDateTime| ts.replace_time(time::Time::MIDNIGHT);
        assert_eq!(batch, vec![(client(1), day(t), 3), (client(1), day(next_day), 1), (client(2), day(t), 1)]);
        // Taken: the next call starts a fresh period.
        assert!(c.count_at(&client(1), t, start + FLUSH_EVERY + Duration::from_secs(1)).is_none());
        assert_eq!(c.take(), vec![(client(1), day(t), 1)]);
        assert!(c.take().is_empty());
    }

    #[test]
    fn a_failed_write_is_put_back() {
        let c = DataCallCounter::default();
        let t = OffsetDateTime::from_unix_timestamp(1_764_460_000).expect("time");
        c.count(&client(3), t);
        let batch = c.take();
        c.count(&client(3), t);
        c.restore(batch);
        assert_eq!(c.take(), vec![(client(3), t.replace_time(time::Time::MIDNIGHT), 2)]);
    }
}
