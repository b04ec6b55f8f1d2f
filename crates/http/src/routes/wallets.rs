//! Wallet sign-in handlers under `/widget/wallets` (`X-LINK-TOKEN`): a challenge to sign, and
//! its verification into a verified integration.

use crate::envelope::{Envelope, HandlerResult};
use crate::extract::{ApiJson, LinkHeader, Meta};
use crate::state::AppState;
use axum::extract::State;
use kc_api::*;

/// The OpenAPI description of these endpoints (merged into the document in `crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(challenge, verify), components(schemas(WalletChallengeRequest, WalletChallenge, WalletVerifyRequest)))]
pub(crate) struct WalletsDoc;

#[utoipa::path(
    post,
    path = "/widget/wallets/challenge",
    tag = "Widget API",
    summary = "Start a wallet sign-in",
    description = "Issues a single-use nonce (5 minutes; bound to this link session, the provider and the address) \
and returns the message the wallet must sign: EIP-4361 (Sign-In with Ethereum) for EVM chains, to sign with \
`personal_sign`; the same shape with `Chain ID: mainnet` for Solana, to sign with `signMessage`. The message names \
this server's public host (`server.public_url`). Sandbox clients: the test address only, unless the server sets \
`widget.sandbox_verified_any_address`.",
    request_body = WalletChallengeRequest,
    responses(
        (status = 200, description = "The message to sign.", body = crate::openapi::Success<WalletChallenge>),
        (status = 400, description = "`INVALID_REQUEST`: no workspace yet, a provider without wallet sign-in, a malformed address.", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "`SANDBOX_PROVIDER_NOT_ALLOWED` or `SANDBOX_ADDRESS_NOT_ALLOWED` (sandbox clients).", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn challenge(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<WalletChallengeRequest>,
) -> HandlerResult<WalletChallenge> {
    Ok(Envelope(state.api.wallet_challenge(&link, &meta, body).await?))
}

#[utoipa::path(
    post,
    path = "/widget/wallets/verify",
    tag = "Widget API",
    summary = "Verify a signed wallet sign-in and connect the wallet",
    description = "Checks the signed message (domain, URI, version 1, chain id, nonce, issued-at and expiration) and the \
signature (secp256k1 recovery to the message's EIP-55 address, or ed25519 for Solana), spends the nonce and connects \
the wallet with `isVerified: true` in one transaction, queueing its first sync (`integration.created`). Every refusal \
stores nothing and is audited as a security event (`wallet.proof`).",
    request_body = WalletVerifyRequest,
    responses(
        (status = 200, description = "The verified integration.", body = crate::openapi::Success<IntegrationView>),
        (status = 400, description = "`INVALID_SIGN_IN_MESSAGE` (malformed, or for another domain, URI, chain id or time), \
`CONTRACT_WALLET_NOT_SUPPORTED` (an EIP-1271 smart-contract wallet signature), `NONCE_EXPIRED`, `NONCE_ALREADY_USED`, \
`INVALID_REQUEST` (the wallet is already connected).", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "`INVALID_SIGNATURE` (malformed, or not made by the message's address), \
`INVALID_NONCE` (unknown, or issued to another link session, provider or address).", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "`SANDBOX_ADDRESS_NOT_ALLOWED` (sandbox clients).", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    ApiJson(body): ApiJson<WalletVerifyRequest>,
) -> HandlerResult<IntegrationView> {
    Ok(Envelope(state.api.wallet_verify(&link, &meta, body).await?))
}
