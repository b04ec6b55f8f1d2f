//! Extractors that turn every malformed input into a SPEC §5 error, never a 500.

use crate::envelope::ErrorResponse;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use kc_api::{ClientCredentials, ErrorCode, LinkTokenCredential, RequestMeta};
use serde::de::DeserializeOwned;

/// A JSON body. Wrong content type, bad syntax, wrong types, missing fields and oversized
/// bodies all become `INVALID_REQUEST` (413 for size) with a message naming the problem.
/// An empty body counts as `{}`.
pub(crate) struct ApiJson<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
        |mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        },
    )
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json_type = is_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ErrorResponse::new(ErrorCode::InvalidRequest, "Request body is too large")
                    .with_status(ErrorCode::InvalidRequest, StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ErrorResponse::new(ErrorCode::InvalidRequest, "Could not read the request body")
            }
        })?;
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if !json_type {
            return Err(ErrorResponse::new(ErrorCode::InvalidRequest, "Content-Type must be application/json"));
        } else {
            &bytes
        };
        // Straight into the DTO (no intermediate `Value`); UTF-8 throughout (serde skips the
        // values of unknown fields without checking them) and an object are required.
        let body = std::str::from_utf8(body).map_err(|e| {
            ErrorResponse::new(ErrorCode::InvalidRequest, format!("Malformed JSON body: not UTF-8 ({e})"))
        })?;
        if body.trim_start().as_bytes().first() != Some(&b'{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(body) {
                Err(e) => ErrorResponse::new(ErrorCode::InvalidRequest, format!("Malformed JSON body: {e}")),
                Ok(_) => ErrorResponse::new(ErrorCode::InvalidRequest, "The request body must be a JSON object"),
            });
        }
        serde_json::from_str::<T>(body).map(ApiJson).map_err(|e| {
            let message = match e.classify() {
                serde_json::error::Category::Data => format!("Invalid request body: {e}"),
                _ => format!("Malformed JSON body: {e}"),
            };
            ErrorResponse::new(ErrorCode::InvalidRequest, message)
        })
    }
}

/// A query string, with the same error discipline as [`ApiJson`].
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(q).map(ApiQuery).map_err(|e| {
            let mut response = ErrorResponse::new(ErrorCode::InvalidRequest, format!("Invalid query parameters: {e}"));
            response.error.details = query_issue(&e).into_iter().collect();
            response
        })
    }
}

/// The bad parameter named by a query deserialization error (`Failed to deserialize query
/// string: pageSize: invalid digit found in string`), as a Data API `details` entry.
fn query_issue(message: &str) -> Option<kc_api::ParamIssue> {
    let rest = message.rsplit_once("query string: ").map_or(message, |(_, r)| r);
    // `walletId=a&walletId=b`: serde says "duplicate field `walletId`".
    if let Some(name) = rest.strip_prefix("duplicate field `").and_then(|r| r.split_once('`')).map(|(n, _)| n) {
        let why = "Given more than once: give one value (a comma-separated list where the parameter takes several)";
        return Some(kc_api::ParamIssue::new("invalid_type", name, why).typed("string", "array"));
    }
    let (name, why) = rest.split_once(": ")?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let expected = if why.contains("digit") || why.contains("number") { "number" } else { "valid value" };
    Some(kc_api::ParamIssue::new("invalid_type", name, why.to_owned()).typed(expected, "string"))
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(q: &str) -> Result<T, String> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{q}").parse().map_err(|_| "unparsable query".to_owned())?)
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| e.body_text())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// `X-Client-Id` / `X-Client-Secret`, when both are present.
pub(crate) struct ClientHeaders(pub Option<ClientCredentials>);

impl<S: Send + Sync> FromRequestParts<S> for ClientHeaders {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = header_str(&parts.headers, "x-client-id");
        let secret = header_str(&parts.headers, "x-client-secret");
        Ok(Self(match (id, secret) {
            (Some(id), Some(secret)) => Some(ClientCredentials::new(id, secret)),
            _ => None,
        }))
    }
}

impl ClientHeaders {
    /// The credentials, or `INVALID_CLIENT` naming the missing headers.
    pub(crate) fn required(self) -> Result<ClientCredentials, ErrorResponse> {
        self.0.ok_or_else(|| {
            ErrorResponse::new(
                ErrorCode::InvalidClient,
                "Missing client credentials: send X-Client-Id and X-Client-Secret",
            )
        })
    }
}

/// The `X-LINK-TOKEN` header of widget calls.
pub(crate) struct LinkHeader(pub LinkTokenCredential);

impl<S: Send + Sync> FromRequestParts<S> for LinkHeader {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        header_str(&parts.headers, "x-link-token")
            .map(|t| Self(LinkTokenCredential::new(t)))
            .ok_or_else(|| ErrorResponse::new(ErrorCode::InvalidToken, "Missing X-LINK-TOKEN header"))
    }
}

/// Caller IP (the TCP peer, or the client behind a trusted proxy), request id and
/// cross-origin `Origin`.
pub(crate) struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = crate::client_ip::client_ip(parts, &state.options.trusted_proxies, state.options.forwarded_header);
        let request_id = header_str(&parts.headers, "x-request-id").map(str::to_owned);
        let origin = header_str(&parts.headers, "origin")
            .filter(|o| !is_same_origin(o, &parts.headers, &state.options.public_origin))
            .map(str::to_owned);
        Ok(Self(RequestMeta { ip, request_id, origin }))
    }
}

/// Whether `origin` is the server's own (its public origin or the `Host` it was reached at).
fn is_same_origin(origin: &str, headers: &HeaderMap, public_origin: &str) -> bool {
    if origin == public_origin {
        return true;
    }
    let host = header_str(headers, "host");
    host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"))
}
