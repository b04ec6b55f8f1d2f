//! The response envelopes of SPEC §4/§5.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kc_api::{ApiError, ErrorCode};
use serde::Serialize;
use std::time::Duration;

/// `{"success": true, "data": …}`.
pub(crate) struct Envelope<T>(pub T);

/// The body of [`Envelope`], serialized straight from the handler's value.
#[derive(Serialize)]
struct Success<'a, T> {
    success: bool,
    data: &'a T,
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(Success { success: true, data: &self.0 }).into_response()
    }
}

/// `{"success": false, "error": "<message>", "code": "<CODE>"}` with the SPEC status.
#[derive(Debug)]
pub(crate) struct ErrorResponse {
    pub(crate) status: StatusCode,
    pub(crate) error: ApiError,
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

    /// `RATE_LIMITED` for a caller over its failed-authentication budget.
    pub(crate) fn rate_limited(wait: Duration) -> Self {
        rate_limited_error(wait).into()
    }
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> Self {
        let status = StatusCode::from_u16(error.code.default_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, error }
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        // SPEC §5 fixes the envelope's fields: a 429's message says when to retry, in words.
        let body = serde_json::json!({
            "success": false,
            "error": self.error.message,
            "code": self.error.code.as_str(),
        });
        let mut res = (self.status, Json(body)).into_response();
        set_retry_after(&mut res, &self.error);
        // Lets outer middleware re-shape the error (the Data API has its own error shape).
        res.extensions_mut().insert(EnvelopedError(self.error.clone()));
        res
    }
}

/// The `RATE_LIMITED` error of a caller over its failed-authentication budget.
pub(crate) fn rate_limited_error(wait: Duration) -> ApiError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::rate_limited(format!("Too many failed authentication attempts; retry in {} s", secs.max(1)), wait)
}

/// Sets `Retry-After` (whole seconds) on a `RATE_LIMITED` answer and reports the refusal
/// as a `tracing` event (target `kc_http::limits`, `event = "rate_limited"`): the hook for
/// metrics. Every 429 of the server goes through here.
pub(crate) fn set_retry_after(res: &mut Response, error: &ApiError) {
    if error.code != ErrorCode::RateLimited {
        return;
    }
    let secs = error.retry_after_secs.unwrap_or(1).max(1);
    tracing::info!(target: "kc_http::limits", event = "rate_limited", retry_after_secs = secs, "answered 429");
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// Marks a response as a SPEC §5 error envelope, carrying the error it reports.
#[derive(Debug, Clone)]
pub(crate) struct EnvelopedError(pub(crate) ApiError);

/// The result type of every Connect and widget handler.
pub(crate) type HandlerResult<T> = Result<Envelope<T>, ErrorResponse>;
