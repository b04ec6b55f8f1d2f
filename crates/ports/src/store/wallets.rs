//! The wallet-proof capability of the store: single-use sign-in nonces bound to a link
//! session, and the verified integration they unlock.
//!
//! A capability trait of its own (not part of [`Store`](crate::Store)): only the widget's
//! wallet sign-in depends on it. Nonces are stored as SHA-256 digests, never in plaintext.

use crate::{IntegrationRecord, StoreResult};
use async_trait::async_trait;
use time::OffsetDateTime;

/// A nonce to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWalletNonce {
    /// SHA-256 of the nonce, hex.
    pub digest: String,
    /// The link session (`LinkSession::id`) it is issued to.
    pub link_session_id: i64,
    /// The provider the proof is for.
    pub provider: String,
    /// The address the message names (EIP-55 or base58).
    pub address: String,
    /// Issued at.
    pub created_at: OffsetDateTime,
    /// Dead after.
    pub expires_at: OffsetDateTime,
}

/// Why a nonce could not be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRefusal {
    /// No such nonce, or issued to another link session, provider or address.
    Unknown,
    /// Spent already.
    Used,
    /// Past its lifetime.
    Expired,
}

/// The outcome of [`WalletProofStore::connect_verified_wallet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedConnect {
    /// The nonce was spent and the integration inserted (with its first sync job and
    /// `integration.created` outbox row).
    Connected,
    /// The nonce could not be spent; nothing was written.
    Nonce(NonceRefusal),
    /// The workspace already has this provider and address; nothing was written (the nonce
    /// stays unspent).
    Duplicate,
}

/// Wallet sign-in nonces and verified integrations.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WalletProofStore: Send + Sync {
    /// Remembers a freshly issued nonce. Also deletes nonces that expired before `purge_before`
    /// (they can only be refused as unknown from then on).
    async fn insert_wallet_nonce(&self, nonce: &NewWalletNonce, purge_before: OffsetDateTime) -> StoreResult<()>;

    /// In one transaction: spends the nonce with `digest` if it was issued to `link_session_id`
    /// for `provider` and `address`, is unspent and unexpired at `now`, and inserts
    /// `integration` (which carries `verified_at`). A conditional update decides, so of two
    /// racing calls exactly one connects; any refusal writes nothing.
    async fn connect_verified_wallet(
        &self,
        digest: &str,
        link_session_id: i64,
        now: OffsetDateTime,
        integration: &IntegrationRecord,
    ) -> StoreResult<VerifiedConnect>;
}
