//! The error codes of the Connect API (SPEC §5).

use std::fmt;

/// A machine-readable error code, as sent in the `code` field of an error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Malformed JSON, wrong content type, missing or ill-typed field, body too large.
    InvalidRequest,
    /// Missing or wrong client credentials, or a disabled client.
    InvalidClient,
    /// Unknown, malformed or foreign token.
    InvalidToken,
    /// Link or public token past its lifetime.
    TokenExpired,
    /// Public token already consumed, or link token already completed.
    TokenAlreadyUsed,
    /// Unknown or not-allowed scope.
    InvalidScope,
    /// Unknown, foreign or revoked grant.
    InvalidGrant,
    /// The user's role in the workspace is not owner/admin.
    InsufficientPermissions,
    /// The selected workspace does not exist or the user is not a member.
    WorkspaceNotFound,
    /// Sandbox client, provider other than ethereum/solana.
    SandboxProviderNotAllowed,
    /// Sandbox client, address is not a test address.
    SandboxAddressNotAllowed,
    /// The operation is for guest (anonymous) users only.
    NotAnonUser,
    /// A wallet's sign-in message is malformed, or for another domain, URI, chain or time.
    InvalidSignInMessage,
    /// A wallet signature is malformed or was not made by the message's address.
    InvalidSignature,
    /// A smart-contract (EIP-1271) wallet's signature: its ownership cannot be verified.
    ContractWalletNotSupported,
    /// A wallet sign-in nonce that is unknown, of another link session or for another address.
    InvalidNonce,
    /// A wallet sign-in nonce past its 5 minutes.
    NonceExpired,
    /// A wallet sign-in nonce that was already used.
    NonceAlreadyUsed,
    /// Too many requests or failed authentications.
    RateLimited,
    /// The database is unreachable; try again shortly.
    ServiceUnavailable,
    /// Anything else; never carries internals.
    InternalError,
}

impl ErrorCode {
    /// Every code, in SPEC order.
    pub const ALL: [ErrorCode; 21] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::TokenAlreadyUsed,
        Self::InvalidScope,
        Self::InvalidGrant,
        Self::InsufficientPermissions,
        Self::WorkspaceNotFound,
        Self::SandboxProviderNotAllowed,
        Self::SandboxAddressNotAllowed,
        Self::NotAnonUser,
        Self::InvalidSignInMessage,
        Self::InvalidSignature,
        Self::ContractWalletNotSupported,
        Self::InvalidNonce,
        Self::NonceExpired,
        Self::NonceAlreadyUsed,
        Self::RateLimited,
        Self::ServiceUnavailable,
        Self::InternalError,
    ];

    /// The wire spelling, e.g. `TOKEN_ALREADY_USED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::InvalidClient => "INVALID_CLIENT",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenAlreadyUsed => "TOKEN_ALREADY_USED",
            Self::InvalidScope => "INVALID_SCOPE",
            Self::InvalidGrant => "INVALID_GRANT",
            Self::InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            Self::WorkspaceNotFound => "WORKSPACE_NOT_FOUND",
            Self::SandboxProviderNotAllowed => "SANDBOX_PROVIDER_NOT_ALLOWED",
            Self::SandboxAddressNotAllowed => "SANDBOX_ADDRESS_NOT_ALLOWED",
            Self::NotAnonUser => "NOT_ANON_USER",
            Self::InvalidSignInMessage => "INVALID_SIGN_IN_MESSAGE",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::ContractWalletNotSupported => "CONTRACT_WALLET_NOT_SUPPORTED",
            Self::InvalidNonce => "INVALID_NONCE",
            Self::NonceExpired => "NONCE_EXPIRED",
            Self::NonceAlreadyUsed => "NONCE_ALREADY_USED",
            Self::RateLimited => "RATE_LIMITED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The HTTP status SPEC §5 assigns to the code in its usual context.
    ///
    /// `INVALID_TOKEN` is 401 here; the exchange endpoint answers it with 400.
    pub fn default_status(self) -> u16 {
        match self {
            Self::InvalidRequest
            | Self::TokenExpired
            | Self::TokenAlreadyUsed
            | Self::InvalidScope
            | Self::InvalidGrant
            | Self::NotAnonUser
            | Self::InvalidSignInMessage
            | Self::ContractWalletNotSupported
            | Self::NonceExpired
            | Self::NonceAlreadyUsed => 400,
            Self::InvalidClient | Self::InvalidToken | Self::InvalidSignature | Self::InvalidNonce => 401,
            Self::InsufficientPermissions | Self::SandboxProviderNotAllowed | Self::SandboxAddressNotAllowed => 403,
            Self::WorkspaceNotFound => 404,
            Self::RateLimited => 429,
            Self::ServiceUnavailable => 503,
            Self::InternalError => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code), "{code}");
        }
    }
}
