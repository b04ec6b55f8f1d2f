//! [`ClientError`]: what a call through the client can fail with.

use kc_api::{ApiError, ErrorCode};

/// A failed call.
///
/// Only [`ClientError::Api`] means the server answered and refused; the other variants mean no
/// usable answer arrived. After a `Transport` or `Timeout` error on a call that is not safe to
/// repeat (link token, exchange, revoke, widget steps), the server may or may not have acted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error: its HTTP status, its SPEC §5 code and its message.
    ///
    /// Data API errors (`{"error": "unauthorized", …}`) are mapped onto the same codes:
    /// `unauthorized` → `INVALID_TOKEN`, `forbidden` → `INSUFFICIENT_PERMISSIONS`,
    /// `invalid_parameters` → `INVALID_REQUEST`, `not_found` → `WORKSPACE_NOT_FOUND`,
    /// `rate_limit_exceeded` → `RATE_LIMITED`, `service_unavailable` → `SERVICE_UNAVAILABLE`,
    /// `internal_error` → `INTERNAL_ERROR`; the status tells them apart where needed.
    #[error("{code} (HTTP {status}): {message}")]
    Api {
        /// The HTTP status, e.g. 401.
        status: u16,
        /// The machine-readable code.
        code: ErrorCode,
        /// The server's human-readable message.
        message: String,
    },
    /// The request could not be sent or its answer could not be read (connection refused, reset,
    /// TLS failure, …).
    #[error("could not reach Kryptos Connect: {0}")]
    Transport(#[source] reqwest::Error),
    /// No answer within the configured timeout.
    #[error("Kryptos Connect did not answer in time")]
    Timeout,
    /// The call was not sent: a credential or token cannot travel in an HTTP header, or the
    /// request cannot be encoded. `code` is what the server would have answered.
    #[error("{code}: {message}")]
    InvalidInput {
        /// The code the server would have answered with.
        code: ErrorCode,
        /// What is wrong.
        message: String,
    },
    /// The server answered something that is not the documented shape.
    #[error("unexpected answer from Kryptos Connect (HTTP {status}): {message}")]
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// What could not be decoded.
        message: String,
    },
}

impl ClientError {
    /// The HTTP status of the answer, when one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Transport(_) | Self::Timeout | Self::InvalidInput { .. } => None,
        }
    }

    /// The SPEC §5 code, when the server answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } | Self::InvalidInput { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// `true` for an HTTP 401: on the Data API the access token is revoked, expired or unknown
    /// (forget it and send the user through the widget again); on the Connect API the client
    /// credentials are wrong.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api { code, message, .. } | ClientError::InvalidInput { code, message } => {
                ApiError::new(code, message)
            }
            ClientError::Transport(_) | ClientError::Timeout => {
                ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())
            }
            ClientError::Decode { .. } => ApiError::new(ErrorCode::InternalError, e.to_string()),
        }
    }
}

/// The code of a Data API error (`{"error": "<snake_code>", …}`).
pub(crate) fn data_api_code(snake: &str, status: u16) -> ErrorCode {
    match snake {
        "unauthorized" => ErrorCode::InvalidToken,
        "forbidden" => ErrorCode::InsufficientPermissions,
        "invalid_parameters" | "bad_request" => ErrorCode::InvalidRequest,
        "not_found" => ErrorCode::WorkspaceNotFound,
        "internal_error" => ErrorCode::InternalError,
        "rate_limit_exceeded" => ErrorCode::RateLimited,
        "service_unavailable" => ErrorCode::ServiceUnavailable,
        _ => code_for_status(status),
    }
}

/// The code that best describes an error answer without a recognised code.
pub(crate) fn code_for_status(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::InvalidToken,
        403 => ErrorCode::InsufficientPermissions,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::ServiceUnavailable,
        400..=499 => ErrorCode::InvalidRequest,
        _ => ErrorCode::InternalError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_their_code_and_message() {
        let e = ClientError::Api { status: 400, code: ErrorCode::TokenAlreadyUsed, message: "used".into() };
        assert_eq!(e.to_string(), "TOKEN_ALREADY_USED (HTTP 400): used");
        assert_eq!(e.code(), Some(ErrorCode::TokenAlreadyUsed));
        let api: ApiError = e.into();
        assert_eq!(api, ApiError::new(ErrorCode::TokenAlreadyUsed, "used"));
    }

    #[test]
    fn no_answer_is_service_unavailable_and_a_bad_answer_internal() {
        assert_eq!(ApiError::from(ClientError::Timeout).code, ErrorCode::ServiceUnavailable);
        let d = ClientError::Decode { status: 200, message: "not JSON".into() };
        assert_eq!(d.status(), Some(200));
        assert_eq!(ApiError::from(d).code, ErrorCode::InternalError);
    }

    #[test]
    fn data_api_codes_map_onto_spec_codes() {
        let table = [
            ("unauthorized", 401, ErrorCode::InvalidToken),
            ("forbidden", 403, ErrorCode::InsufficientPermissions),
            ("invalid_parameters", 400, ErrorCode::InvalidRequest),
            ("not_found", 404, ErrorCode::WorkspaceNotFound),
            ("rate_limit_exceeded", 429, ErrorCode::RateLimited),
            ("something_new", 500, ErrorCode::InternalError),
            ("something_new", 504, ErrorCode::ServiceUnavailable),
        ];
        for (snake, status, code) in table {
            assert_eq!(data_api_code(snake, status), code, "{snake} / {status}");
        }
    }
}
