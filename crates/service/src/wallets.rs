//! [`WalletApi`] on the store: wallet sign-in (EIP-4361 for EVM chains, Sign-In With Solana)
//! and the verified integration it connects.
//!
//! The challenge binds a single-use nonce (stored as a digest, 5 minutes) to the link session,
//! provider and address, and writes the message the wallet signs. The verification re-reads the
//! signed text (never trusting the widget), checks signature, domain, URI, chain and time in
//! `kc_domain`, then spends the nonce and inserts the integration in one transaction. Every
//! refusal writes nothing but an audit event (`wallet.proof`, outcome `security`).

use crate::audit::{AuditKind, Outcome};
use crate::catalog::kind_of;
use crate::service::{rfc3339, store_error, Service};
use crate::widget::Resolved;
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{
    eip55_address, evm_sign_in_message, sandbox_check, solana_sign_in_message, verify_evm_proof, verify_solana_proof,
    ChainFamily, ClientMode, ProofChain, ProofExpectations, ProofRefusal, ProviderKind, SandboxViolation, SyncStatus,
    WalletNonce, WALLET_NONCE_LIFETIME,
};
use kc_ports::{IntegrationRecord, NewWalletNonce, NonceRefusal, VerifiedConnect, WalletProofStore};
use std::str::FromStr;
use std::sync::Arc;
use time::Duration;

/// Longest alias.
const MAX_ALIAS: usize = 64;

/// Expired nonces are kept this long (refused as expired, not unknown), then purged.
const NONCE_RETENTION: Duration = Duration::hours(24);

/// The provider of a wallet proof, as the checks need it.
struct WalletProvider {
    id: String,
    public_name: String,
    family: ChainFamily,
    chain: ProofChain,
}

/// `scheme://host[:port]` and `host[:port]` of the public URL.
fn origin_and_host(public_url: &str) -> (String, String) {
    let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
    let host = rest.split('/').next().unwrap_or(rest).to_owned();
    (format!("{scheme}://{host}"), host)
}

fn proof_error(r: &ProofRefusal) -> ApiError {
    let code = match r {
        ProofRefusal::Message(_) => ErrorCode::InvalidSignInMessage,
        ProofRefusal::Signature(_) => ErrorCode::InvalidSignature,
        ProofRefusal::ContractWallet => ErrorCode::ContractWalletNotSupported,
    };
    ApiError::new(code, r.to_string())
}

fn nonce_error(r: NonceRefusal) -> ApiError {
    match r {
        NonceRefusal::Unknown => ApiError::new(
            ErrorCode::InvalidNonce,
            "The message's nonce was not issued to this session for this wallet; start again",
        ),
        NonceRefusal::Used => {
            ApiError::new(ErrorCode::NonceAlreadyUsed, "This sign-in message was already used; start again")
        }
        NonceRefusal::Expired => {
            ApiError::new(ErrorCode::NonceExpired, "This sign-in message has expired (5 minutes); start again")
        }
    }
}

impl Service {
    fn wallet_store(&self) -> ApiResult<&Arc<dyn WalletProofStore>> {
        self.ports.wallet_proofs.as_ref().ok_or_else(|| {
            ApiError::new(ErrorCode::ServiceUnavailable, "Wallet sign-in is not available on this server")
        })
    }

    /// The provider `id` if it supports wallet sign-in.
    fn wallet_provider(&self, id: &str) -> ApiResult<WalletProvider> {
        let p = self
            .ports
            .catalog
            .get(id.trim())
            .ok_or_else(|| ApiError::invalid_request(format!("Unknown provider `{id}`")))?;
        let unsupported =
            || ApiError::invalid_request(format!("{} does not support wallet sign-in", p.provider.public_name));
        let (family, chain) = match kind_of(p) {
            Some(ProviderKind::Wallet(ChainFamily::Evm)) => {
                let chain_id = kc_ports::Chain::from_str(&p.provider.id)
                    .ok()
                    .and_then(|c| c.evm_chain_id())
                    .ok_or_else(unsupported)?;
                (ChainFamily::Evm, ProofChain::Evm(chain_id))
            }
            Some(ProviderKind::Wallet(ChainFamily::Solana)) => (ChainFamily::Solana, ProofChain::Solana),
            _ => return Err(unsupported()),
        };
        Ok(WalletProvider { id: p.provider.id.clone(), public_name: p.provider.public_name.clone(), family, chain })
    }

    /// The sandbox rule for a verified address: the test address only, unless the server lets
    /// sandbox clients connect any verified address.
    fn wallet_sandbox_check(&self, r: &Resolved, provider: &str, address: &str) -> ApiResult<()> {
        if r.client.mode != ClientMode::Sandbox {
            return Ok(());
        }
        match sandbox_check(provider, Some(address)) {
            Ok(()) => Ok(()),
            Err(SandboxViolation::Provider) => Err(ApiError::new(
                ErrorCode::SandboxProviderNotAllowed,
                "Only Ethereum and Solana are available in sandbox mode",
            )),
            Err(SandboxViolation::Address) if self.ports.sandbox_verified_any_address => Ok(()),
            Err(SandboxViolation::Address) => Err(ApiError::new(
                ErrorCode::SandboxAddressNotAllowed,
                "In sandbox mode only the documented test address can be connected, even with a signature",
            )),
        }
    }

    async fn refuse_proof(&self, r: &Resolved, meta: &RequestMeta, provider: &str, e: ApiError) -> ApiError {
        self.audit(AuditKind::WalletProof, Outcome::Security, meta, |ev| {
            ev.client_id = Some(r.client.id.to_string());
            ev.user_id = r.session.user_id.as_ref().map(|u| u.to_string());
            ev.detail = Some(format!("{provider}: {}: {}", e.code.as_str(), e.message));
        })
        .await;
        e
    }
}

#[async_trait]
impl WalletApi for Service {
    #[tracing::instrument(skip_all)]
    async fn wallet_challenge(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: WalletChallengeRequest,
    ) -> ApiResult<WalletChallenge> {
        let store = self.wallet_store()?.clone();
        let r = self.resolve_link(link, meta).await?;
        if r.session.user_id.is_none() || r.session.workspace_id.is_none() {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before connecting accounts"));
        }
        let provider = self.wallet_provider(&req.provider)?;
        let normalized = provider.family.validate(req.address.trim()).map_err(|e| {
            ApiError::invalid_request(format!("Invalid {} address: {}", provider.public_name, e.reason))
        })?;
        self.wallet_sandbox_check(&r, &provider.id, &normalized)?;
        let now = self.now();
        let expires_at = now + WALLET_NONCE_LIFETIME;
        let nonce = WalletNonce::generate(self.ports.rng.as_ref());
        store
            .insert_wallet_nonce(
                &NewWalletNonce {
                    digest: nonce.digest(),
                    link_session_id: r.session.id,
                    provider: provider.id.clone(),
                    address: normalized.clone(),
                    created_at: now,
                    expires_at,
                },
                now - NONCE_RETENTION,
            )
            .await
            .map_err(store_error)?;
        let public_url = self.ports.public_url.trim_end_matches('/');
        let (_, host) = origin_and_host(public_url);
        let uri = format!("{public_url}/connect");
        let (message, address, chain_id) = match provider.chain {
            ProofChain::Evm(chain_id) => {
                let address = eip55_address(&normalized).ok_or_else(ApiError::internal)?;
                let text = evm_sign_in_message(&host, &uri, &address, chain_id, nonce.expose(), now, expires_at);
                (text, address, Some(chain_id))
            }
            ProofChain::Solana => {
                let text = solana_sign_in_message(&host, &uri, &normalized, nonce.expose(), now, expires_at);
                (text, normalized, None)
            }
        };
        Ok(WalletChallenge { message, address, chain_id, expires_at: rfc3339(expires_at) })
    }

    #[tracing::instrument(skip_all)]
    async fn wallet_verify(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: WalletVerifyRequest,
    ) -> ApiResult<IntegrationView> {
        let store = self.wallet_store()?.clone();
        let r = self.resolve_link(link, meta).await?;
        let (Some(user_id), Some(workspace_id)) = (r.session.user_id.clone(), r.session.workspace_id.clone()) else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before connecting accounts"));
        };
        let provider = self.wallet_provider(&req.provider)?;
        let alias = match req.alias.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) if a.chars().count() > MAX_ALIAS => {
                return Err(ApiError::invalid_request(format!("alias must be at most {MAX_ALIAS} characters")))
            }
            other => other.map(str::to_owned),
        };
        let public_url = self.ports.public_url.trim_end_matches('/');
        let (origin, host) = origin_and_host(public_url);
        let now = self.now();
        let expect = ProofExpectations { domain: &host, origin: &origin, chain: provider.chain, now };
        let checked = match provider.family {
            ChainFamily::Evm => verify_evm_proof(&req.message, &req.signature, &expect),
            _ => verify_solana_proof(&req.message, &req.signature, &expect),
        };
        let proof = match checked {
            Ok(p) => p,
            Err(refusal) => return Err(self.refuse_proof(&r, meta, &provider.id, proof_error(&refusal)).await),
        };
        let address = provider.family.validate(&proof.address).map_err(|e| {
            ApiError::invalid_request(format!("Invalid {} address: {}", provider.public_name, e.reason))
        })?;
        self.wallet_sandbox_check(&r, &provider.id, &address)?;
        let id = format!("wal_{}", {
            let mut b = [0u8; 12];
            self.ports.rng.fill(&mut b);
            hex::encode(b)
        });
        let method = match provider.family {
            ChainFamily::Evm => "eip4361",
            _ => "siws",
        };
        let record = IntegrationRecord {
            id,
            workspace_id,
            provider: provider.id.clone(),
            category: "blockchain".to_owned(),
            address: Some(address),
            alias,
            account_name: None,
            credentials: None,
            credential_fingerprint: None,
            sync_status: SyncStatus::Queued,
            last_error: None,
            last_synced_at: None,
            total_transactions: 0,
            created_at: now,
            verified_at: Some(now),
            proof_method: Some(method.to_owned()),
        };
        match store
            .connect_verified_wallet(&proof.nonce.digest(), r.session.id, now, &record)
            .await
            .map_err(store_error)?
        {
            VerifiedConnect::Connected => {}
            VerifiedConnect::Nonce(refusal) => {
                return Err(self.refuse_proof(&r, meta, &provider.id, nonce_error(refusal)).await)
            }
            VerifiedConnect::Duplicate => {
                return Err(ApiError::invalid_request("This account is already connected to the workspace"))
            }
        }
        self.audit(AuditKind::IntegrationCreate, Outcome::Success, meta, |e| {
            e.client_id = Some(r.client.id.to_string());
            e.user_id = Some(user_id.to_string());
            e.detail = Some(format!("{} {} verified ({method})", record.provider, record.id));
        })
        .await;
        Ok(self.integration_view(&record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_domain_is_the_public_host() {
        assert_eq!(
            origin_and_host("https://connect.example.com/prefix"),
            ("https://connect.example.com".to_owned(), "connect.example.com".to_owned())
        );
        assert_eq!(
            origin_and_host("http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080".to_owned(), "127.0.0.1:8080".to_owned())
        );
    }
}
