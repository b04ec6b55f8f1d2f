//! Answers into values: the success envelope's `data`, or a typed [`ClientError`] from the
//! error envelope (Connect and widget calls) or the Data API's error shape.

use super::*;

/// A raw answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(super) fn retry_after(&self) -> Option<Duration> {
        let v = self.headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
        v.trim().parse::<u64>().ok().map(Duration::from_secs)
    }
}

/// How a success answer is shaped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// `{"success": true, "data": T}` (Connect and widget APIs).
    Envelope,
    /// `{"success": true, "message": …}` (revoke): decodes as `()`.
    Ack,
    /// `T` itself (Data API, health).
    Bare,
}

#[derive(Deserialize)]
struct Success<T> {
    success: bool,
    data: T,
}

#[derive(Deserialize)]
struct Ack {
    success: bool,
}

/// Decodes a success answer as `shape`, or turns an error answer into [`ClientError::Api`].
pub(crate) fn decode<T: DeserializeOwned>(answer: &Answer, shape: Shape) -> Result<T, ClientError> {
    let status = answer.status.as_u16();
    if !answer.status.is_success() {
        return Err(error_from(status, &answer.body));
    }
    let bad = |e: serde_json::Error| ClientError::Decode { status, message: e.to_string() };
    let not_success = || ClientError::Decode { status, message: "`success` is not true".to_owned() };
    match shape {
        Shape::Envelope => {
            let s: Success<T> = serde_json::from_slice(&answer.body).map_err(bad)?;
            if s.success {
                Ok(s.data)
            } else {
                Err(not_success())
            }
        }
        Shape::Ack => {
            let a: Ack = serde_json::from_slice(&answer.body).map_err(bad)?;
            if !a.success {
                return Err(not_success());
            }
            serde_json::from_value(serde_json::Value::Null).map_err(bad)
        }
        Shape::Bare => serde_json::from_slice(&answer.body).map_err(bad),
    }
}

/// The error an error answer stands for.
pub(crate) fn error_from(status: u16, body: &[u8]) -> ClientError {
    if let Ok(serde_json::Value::Object(v)) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
        // Connect / widget envelope: {"success": false, "error": message, "code": CODE}.
        if let Some(code) = text("code") {
            let message = text("error").unwrap_or_else(|| code.clone());
            let code = ErrorCode::parse(&code).unwrap_or_else(|| code_for_status(status));
            return ClientError::Api { status, code, message };
        }
        // Data API: {"error": snake_code, "message": message, "details": []}.
        if let Some(snake) = text("error") {
            let message = text("message").unwrap_or_else(|| snake.clone());
            return ClientError::Api { status, code: data_api_code(&snake, status), message };
        }
    }
    if matches!(status, 429 | 502..=504) {
        return ClientError::Api {
            status,
            code: code_for_status(status),
            message: format!("HTTP {status} without an error body (from a proxy?)"),
        };
    }
    ClientError::Decode { status, message: "the error answer is not a Kryptos Connect error body".to_owned() }
}
