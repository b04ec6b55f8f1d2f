//! The one error type every api trait returns.

use kc_domain::ErrorCode;

/// A failure with its SPEC §5 code and a human-readable message safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The machine-readable code.
    pub code: ErrorCode,
    /// What went wrong and, where useful, what to do; never internals or secrets.
    pub message: String,
}

/// The result of every api trait method.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// `INVALID_REQUEST` with `message`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `INVALID_CLIENT`, with the one message that does not tell which half was wrong.
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "Invalid client credentials")
    }

    /// `INTERNAL_ERROR`, with no detail (the cause is logged, not returned).
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "Internal server error")
    }

    /// `SERVICE_UNAVAILABLE`: storage is unreachable; retrying later is safe.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ServiceUnavailable, "Service temporarily unavailable, please retry shortly")
    }
}
