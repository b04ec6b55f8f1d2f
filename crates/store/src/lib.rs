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

mod console_port;
pub mod entity;
mod error;
mod hot;
mod ledger;
pub mod migration;
mod oidc_port;
mod port;
mod sea;
mod stats;
mod wallet_port;

#[cfg(any(test, feature = "mock"))]
pub use console_port::MockConsoleStore;
pub use console_port::{
    ConsoleCodeRecord, ConsoleSessionRecord, ConsoleStore, ConsoleUserRecord, InvitationRecord, MemberRecord,
    OperatorTokenRecord, OrgRecord, UsageDay, WebhookSettings,
};
pub use error::{StoreError, StoreResult};
pub use hot::{AccessDetail, ClientAccess, ComposedHotPath, HotPathStore, TokenAccess};
#[cfg(any(test, feature = "mock"))]
pub use ledger::MockLedgerStore;
pub use ledger::{
    LedgerAsset, LedgerLegRecord, LedgerPosition, LedgerQuery, LedgerStore, LedgerTxRecord, LedgerTxUpdate, NewLedgerTx,
};
#[cfg(any(test, feature = "mock"))]
pub use oidc_port::MockOidcStore;
pub use oidc_port::{
    CodeIssue, NewOAuthGrant, NewOidcRequest, NewRefreshToken, OidcRequestRecord, OidcStore, SigningKeyRecord,
};
#[cfg(any(test, feature = "mock"))]
pub use port::MockStore;
pub use port::{
    AccessTokenGrant, AuditEvent, BudgetSpend, EmailCodeRecord, ExchangeOutcome, ExtendOutcome, GrantLimits,
    IntegrationRecord, IssueGrant, MembershipRecord, NewEmailUser, NewGuest, NewLinkSession, NewPublicToken,
    RevokeOutcome, SnapshotRow, Store, SyncJob, UserRecord, WorkspaceBalance, WorkspaceRecord,
};
pub use port::{ClaimedDelivery, DeliveryAttempt, WebhookDeliveryRecord, WebhookEndpointRecord};
pub use sea::{DatabaseSettings, SeaStore};
pub use stats::{PoolStats, QueueStats};
#[cfg(any(test, feature = "mock"))]
pub use wallet_port::MockWalletProofStore;
pub use wallet_port::{NewWalletNonce, NonceRefusal, VerifiedConnect, WalletProofStore};
