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
    /// For `RATE_LIMITED`: whole seconds until a retry can succeed (sent as `Retry-After`).
    pub retry_after_secs: Option<u64>,
    /// For `INVALID_REQUEST` on the Data API: one entry per bad parameter (its `details`).
    pub details: Vec<ParamIssue>,
}

/// One bad request parameter, as the Data API's error `details` list it
/// (`{"code": "invalid_type", "expected": "number", "received": "string", "path": ["limit"], "message": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParamIssue {
    /// `invalid_type`, `too_small`, `too_big`, `invalid_enum_value` or `unrecognized_keys`.
    pub code: String,
    /// What was expected (`number`, `boolean`, `'asc' | 'desc'`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was received (`string`, the bad value's kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// The parameter's name, as a one-element path.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl ParamIssue {
    /// An issue `code` on parameter `name`.
    pub fn new(code: &str, name: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            expected: None,
            received: None,
            path: vec![name.to_owned()],
            message: message.into(),
        }
    }

    /// With `expected` and `received`.
    pub fn typed(mut self, expected: &str, received: &str) -> Self {
        self.expected = Some(expected.to_owned());
        self.received = Some(received.to_owned());
        self
    }
}

/// The result of every api trait method.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None, details: Vec::new() }
    }

    /// `RATE_LIMITED` with `message`, retryable after `retry_after` (rounded up to whole
    /// seconds, at least one).
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after_secs: Some(secs.max(1)),
            details: Vec::new(),
        }
    }

    /// `INVALID_REQUEST` with `message`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `INVALID_REQUEST` naming each bad parameter in `details`.
    pub fn invalid_params(issues: Vec<ParamIssue>) -> Self {
        let names: Vec<&str> = issues.iter().filter_map(|i| i.path.first().map(String::as_str)).collect();
        let mut e = Self::new(ErrorCode::InvalidRequest, format!("Invalid query parameters: {}", names.join(", ")));
        e.details = issues;
        e
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
