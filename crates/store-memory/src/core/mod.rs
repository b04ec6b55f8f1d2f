//! The core capabilities of [`crate::MemoryStore`] (those `kc_ports::store::Store` bundles)
//! and the hot paths, one file per capability, with the semantics of `kc_store::SeaStore`.

mod audit;
mod clients;
mod grants;
mod hot;
mod integrations;
mod link_sessions;
mod operations;
mod outbox;
mod sign_in;
mod webhooks;

use kc_ports::store::StoreError;
use time::OffsetDateTime;

/// Unix milliseconds, as SeaStore stores times (webhook payloads carry some of them as numbers).
pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The `Conflict` a unique key violation answers.
pub(crate) fn conflict(what: &str, key: &str) -> StoreError {
    StoreError::Conflict(format!("{what} {key} exists"))
}
