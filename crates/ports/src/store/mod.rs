//! The store port: capability traits ([`Store`] is all of them), the capabilities kept apart
//! because only some deployments need them ([`LedgerStore`], [`OidcStore`], [`ConsoleStore`],
//! [`WalletProofStore`], [`HotPathStore`]), their records and [`StoreError`].

mod capabilities;
mod console;
mod error;
mod hot;
mod ledger;
mod oidc;
mod records;
mod stats;
mod wallets;

#[cfg(any(test, feature = "mock"))]
pub use capabilities::MockStore;
pub use capabilities::{
    prelude, AuditStore, ClientStore, GrantStore, IntegrationStore, LinkSessionStore, OperationsStore, SignInStore,
    Store, WebhookStore,
};
#[cfg(any(test, feature = "mock"))]
pub use console::MockConsoleStore;
pub use console::{
    ConsoleCodeRecord, ConsoleSessionRecord, ConsoleStore, ConsoleUserRecord, InvitationRecord, MemberRecord,
    OperatorTokenRecord, OrgRecord, UsageDay, WebhookSettings,
};
pub use error::{StoreError, StoreResult};
pub use hot::{AccessDetail, ClientAccess, ComposedHotPath, HoldingsRows, HotPathStore, TokenAccess};
#[cfg(any(test, feature = "mock"))]
pub use ledger::MockLedgerStore;
pub use ledger::{
    LedgerAsset, LedgerKey, LedgerLegRecord, LedgerPosition, LedgerQuery, LedgerStore, LedgerTxRecord, LedgerTxUpdate,
    NewLedgerTx, ProcessingLock, UnpricedLeg,
};
#[cfg(any(test, feature = "mock"))]
pub use oidc::MockOidcStore;
pub use oidc::{
    BrowserSessionRecord, CodeIssue, NewBrowserSession, NewOAuthGrant, NewOidcRequest, NewRefreshToken, NewSilentCode,
    OidcRequestRecord, OidcStore, SigningKeyRecord,
};
pub use records::{
    AccessTokenGrant, AuditEvent, BudgetSpend, ClaimedDelivery, DeliveryAttempt, EmailCodeRecord, ExchangeOutcome,
    ExtendOutcome, GrantLimits, IntegrationRecord, IssueGrant, MembershipRecord, NewEmailUser, NewGuest,
    NewLinkSession, NewPublicToken, RevokeOutcome, SnapshotRow, SyncJob, UserRecord, WebhookDeliveryRecord,
    WebhookEndpointRecord, WorkspaceBalance, WorkspaceRecord,
};
pub use stats::{PoolStats, QueueStats};
#[cfg(any(test, feature = "mock"))]
pub use wallets::MockWalletProofStore;
pub use wallets::{NewWalletNonce, NonceRefusal, VerifiedConnect, WalletProofStore};
