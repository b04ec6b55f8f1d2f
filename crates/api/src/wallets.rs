//! Wallet sign-in in the widget: prove ownership of an EVM (EIP-4361) or Solana wallet by
//! signing a server-issued message, and connect it as a verified integration.

use crate::{ApiResult, IntegrationView, LinkTokenCredential, RequestMeta};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Body of `POST /widget/wallets/challenge`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletChallengeRequest {
    /// Provider id of a wallet chain: an EVM chain (`ethereum`, `polygon`, …) or `solana`.
    pub provider: String,
    /// The account the wallet exposed (`0x…` in any case, or a base58 Solana public key).
    pub address: String,
}

/// `data` of `POST /widget/wallets/challenge`: the message for the wallet to sign.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletChallenge {
    /// The exact text to sign: an EIP-4361 message (EVM, with `personal_sign`) or a Sign-In With
    /// Solana message (with `signMessage`), naming this server's host, the address, the chain and
    /// a single-use nonce.
    pub message: String,
    /// The address as the message names it (EIP-55 for EVM).
    pub address: String,
    /// The EIP-155 chain id of an EVM provider; `null` for Solana.
    #[serde(default)]
    pub chain_id: Option<u64>,
    /// RFC 3339 time after which the nonce (and the message) is dead: 5 minutes.
    pub expires_at: String,
}

/// Body of `POST /widget/wallets/verify`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletVerifyRequest {
    /// The provider the challenge was for.
    pub provider: String,
    /// The message exactly as signed.
    pub message: String,
    /// EVM: the `personal_sign` result, `0x` + 130 hex digits. Solana: the 64-byte ed25519
    /// signature in base58.
    pub signature: String,
    /// The user's name for the wallet.
    #[serde(default)]
    pub alias: Option<String>,
}

impl std::fmt::Debug for WalletVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletVerifyRequest")
            .field("provider", &self.provider)
            .field("message_len", &self.message.len())
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

/// Wallet sign-in, authenticated by a link token (same token errors as
/// [`WidgetApi`](crate::WidgetApi)).
#[async_trait]
pub trait WalletApi: Send + Sync {
    /// Issues a single-use nonce (5 minutes, bound to this link session, provider and address)
    /// and the message to sign. `INVALID_REQUEST` before sign-in and workspace selection, for a
    /// provider that is not an EVM chain or Solana, or a malformed address;
    /// `SANDBOX_PROVIDER_NOT_ALLOWED` / `SANDBOX_ADDRESS_NOT_ALLOWED` as for pasted addresses
    /// (unless the server lets sandbox clients connect any verified address).
    async fn wallet_challenge(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: WalletChallengeRequest,
    ) -> ApiResult<WalletChallenge>;

    /// Verifies the signed message and connects the wallet as a verified integration (first
    /// sync queued, `integration.created`). Refusals write nothing and are audited as security
    /// events: `INVALID_SIGN_IN_MESSAGE` (malformed, another domain, URI, chain id or time),
    /// `INVALID_SIGNATURE` (malformed, or not made by the message's address),
    /// `CONTRACT_WALLET_NOT_SUPPORTED` (an EIP-1271 signature), `INVALID_NONCE` (unknown, or
    /// issued to another link session, provider or address), `NONCE_EXPIRED`,
    /// `NONCE_ALREADY_USED`; `INVALID_REQUEST` when the workspace already has the wallet.
    async fn wallet_verify(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: WalletVerifyRequest,
    ) -> ApiResult<IntegrationView>;
}
