//! The response envelopes of SPEC §4/§5.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kc_api::{ApiError, ErrorCode};
use serde::Serialize;
use std::time::Duration;

/// `{"success": true, "data": …}`.
pub(crate) struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(serde_json::json!({ "success": true, "data": self.0 })).into_response()
    }
}

/// `{"success": false, "error": "<message>", "code": "<CODE>"}` with the SPEC status.
#[derive(Debug)]
pub(crate) struct ErrorResponse {
    pub(crate) status: StatusCode,
    pub(crate) error: ApiError,
    pub(crate) retry_after: Option<Duration>,
}

impl ErrorResponse {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::new(code, message).into()
    }

    /// Overrides the status, for the endpoints where SPEC §5 gives a code another one.
    pub(crate) fn with_status(mut self, code: ErrorCode, status: StatusCode) -> Self {
        if self.error.code == code {
            self.status = status;
        }
        self
    }

    pub(crate) fn rate_limited(wait: Duration) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, "Too many failed authentication attempts; retry later");
        e.retry_after = Some(wait);
        e
    }
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> Self {
        let status = StatusCode::from_u16(error.code.default_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, error, retry_after: None }
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "success": false,
            "error": self.error.message,
            "code": self.error.code.as_str(),
        });
        let mut res = (self.status, Json(body)).into_response();
        // Lets outer middleware re-shape the error (the Data API has its own error shape).
        res.extensions_mut().insert(EnvelopedError(self.error.clone()));
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// Marks a response as a SPEC §5 error envelope, carrying the error it reports.
#[derive(Debug, Clone)]
pub(crate) struct EnvelopedError(pub(crate) ApiError);

/// The result type of every Connect and widget handler.
pub(crate) type HandlerResult<T> = Result<Envelope<T>, ErrorResponse>;
