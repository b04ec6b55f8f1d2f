//! Persistence for Kryptos Connect: sea-orm entities and migrations, the [`Store`] port
//! the service depends on, and [`SeaStore`], its implementation on SQLite (the embedded
//! default) and PostgreSQL.
//!
//! Only digests of tokens and keyed digests of client secrets are ever written.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kc_store::StoreError> {
//! let store = kc_store::SeaStore::connect(&kc_store::DatabaseSettings::new("sqlite::memory:")).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

pub mod entity;
mod error;
pub mod migration;
mod port;
mod sea;

pub use error::{StoreError, StoreResult};
#[cfg(any(test, feature = "mock"))]
pub use port::MockStore;
pub use port::{
    AccessTokenGrant, AuditEvent, EmailCodeRecord, ExchangeOutcome, GrantLimits, IntegrationRecord, IssueGrant,
    MembershipRecord, NewEmailUser, NewGuest, NewLinkSession, NewPublicToken, RevokeOutcome, SnapshotRow, Store,
    SyncJob, UserRecord, WorkspaceBalance, WorkspaceRecord,
};
pub use port::{ClaimedDelivery, DeliveryAttempt, WebhookDeliveryRecord, WebhookEndpointRecord};
pub use sea::{DatabaseSettings, SeaStore};
