//! [`WalletProofStore`] in memory: single-use sign-in nonces (kept as digests) and the verified
//! integration spending one inserts, in one locked step.

use crate::core::conflict;
use crate::MemoryStore;
use async_trait::async_trait;
use kc_ports::store::{
    IntegrationRecord, NewWalletNonce, NonceRefusal, StoreError, StoreResult, VerifiedConnect, WalletProofStore,
};
use time::OffsetDateTime;

/// A wallet sign-in nonce (`wallet_nonces`), by its storage key.
#[derive(Debug, Clone)]
pub(crate) struct NonceRow {
    /// The nonce as issued (its digest is unique).
    pub(crate) nonce: NewWalletNonce,
    /// When it was spent.
    pub(crate) used_at: Option<OffsetDateTime>,
}

#[async_trait]
impl WalletProofStore for MemoryStore {
    async fn insert_wallet_nonce(&self, nonce: &NewWalletNonce, purge_before: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            s.wallet_nonces.retain(|_, n| n.nonce.expires_at >= purge_before);
            if s.wallet_nonces.values().any(|n| n.nonce.digest == nonce.digest) {
                return Err(conflict("wallet nonce", "digest"));
            }
            let id = s.next_id();
            s.wallet_nonces.insert(id, NonceRow { nonce: nonce.clone(), used_at: None });
            Ok(())
        })
    }

    async fn connect_verified_wallet(
        &self,
        digest: &str,
        link_session_id: i64,
        now: OffsetDateTime,
        integration: &IntegrationRecord,
    ) -> StoreResult<VerifiedConnect> {
        let address = integration.address.clone().unwrap_or_default();
        self.with(|s| {
            let Some((id, row)) =
                s.wallet_nonces.iter().find(|(_, n)| n.nonce.digest == digest).map(|(id, n)| (*id, n.clone()))
            else {
                return Ok(VerifiedConnect::Nonce(NonceRefusal::Unknown));
            };
            let n = &row.nonce;
            if n.link_session_id != link_session_id || n.provider != integration.provider || n.address != address {
                return Ok(VerifiedConnect::Nonce(NonceRefusal::Unknown));
            }
            if row.used_at.is_some() {
                return Ok(VerifiedConnect::Nonce(NonceRefusal::Used));
            }
            if n.expires_at <= now {
                return Ok(VerifiedConnect::Nonce(NonceRefusal::Expired));
            }
            // insert_integration checks before it writes: a duplicate leaves the nonce unspent.
            match s.insert_integration(integration) {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => return Ok(VerifiedConnect::Duplicate),
                Err(e) => return Err(e),
            }
            if let Some(r) = s.wallet_nonces.get_mut(&id) {
                r.used_at = Some(now);
            }
            Ok(VerifiedConnect::Connected)
        })
    }
}
