//! The Kryptos Connect domain: identifiers, secrets and tokens, scopes, clients,
//! grants, error codes and the pure rules that relate them.
//!
//! This crate performs no I/O and knows no async runtime, database or transport.
//! Time and randomness come in through the [`Clock`] and [`SecretRng`] traits so
//! that every rule can be tested by moving a clock instead of sleeping.
//!
//! ```
//! use kc_domain::{ScopeSet, TokenKind, PlainToken, OsSecretRng};
//! let scopes: ScopeSet = "openid users:read".parse().unwrap();
//! assert!(scopes.contains_str("users:read"));
//! let token = PlainToken::generate(TokenKind::Public, &OsSecretRng);
//! assert!(PlainToken::parse(TokenKind::Public, token.expose()).is_ok());
//! ```

mod address;
pub mod bitcoin_keys;
mod client;
mod clock;
mod error;
mod grant;
mod ids;
mod integration;
pub mod ledger;
mod oidc;
mod rng;
mod scope;
mod sealed;
mod session;
mod token;
mod wallet_proof;
mod webhook;

pub use address::{AddressError, ChainFamily};
pub use client::{ClientMode, ClientRecord, ClientSecret, SecretPepper};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ErrorCode;
pub use grant::{lifetimes, GrantRecord, GrantStatus, SessionReason};
pub use ids::{ClientId, GrantId, IdError, UserId, WorkspaceId};
pub use integration::{
    sandbox_check, ProviderKind, SandboxViolation, SyncStatus, SANDBOX_ETHEREUM_ADDRESS, SANDBOX_PROVIDERS,
    SANDBOX_SOLANA_ADDRESS,
};
pub use oidc::{
    keys_in_use, oidc_lifetimes, pkce_matches, redirect_uri_registered, rotation_due, s256_challenge,
    valid_code_challenge, valid_code_verifier, AuthorizationCode, GrantRefusal, OAuthErrorCode, OidcSecret,
    RefreshTokenRecord, SigningAlg, SigningKeyInfo,
};
pub use rng::{OsSecretRng, SecretRng};
pub use scope::{ScopeError, ScopeSet, DEFAULT_CLIENT_SCOPES};
pub use sealed::{CredentialCipher, SealError, Sealed};
pub use session::{LinkSession, PublicTokenRecord, TokenRefusal, WorkspaceRole};
pub use token::{MalformedToken, PlainToken, TokenDigest, TokenKind};
pub use wallet_proof::{
    eip55_address, evm_sign_in_message, solana_sign_in_message, verify_evm_proof, verify_solana_proof, ProofChain,
    ProofExpectations, ProofRefusal, VerifiedProof, WalletNonce, SIGN_IN_STATEMENT, SOLANA_CHAIN_ID,
    WALLET_NONCE_LIFETIME,
};
pub use webhook::{
    sign_webhook, verify_webhook, webhook_delivery_id, webhook_endpoint_id, webhook_timestamp, VerifyError,
    WebhookEvent, WebhookSecret, WEBHOOK_EVENT_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
};
