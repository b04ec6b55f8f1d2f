//! The store's error type: persistence failures sorted by what the caller can do about them.
//! Adapters map their driver's errors onto it (`kc-store` maps sea-orm's).

/// A persistence failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now; retrying later may succeed (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored row could not be read back into a domain value.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Other(String),
}

/// The result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;
