//! `GET /widget/origin-check?client_id=…`: may the calling page frame this client's widget?
//!
//! The browser refuses to show `GET /connect` in an iframe on an origin the client did not
//! register (`Content-Security-Policy: frame-ancestors`), and the embedding page cannot observe
//! that. The SDKs ask this endpoint when they open the widget, so they can say so within a
//! second instead of showing a broken frame. It answers for the request's own `Origin` only,
//! and nothing else: no client name, no other origin (the same facts `GET /connect`'s
//! `frame-ancestors` header already publishes). Open to every origin (`Access-Control-Allow-Origin: *`),
//! without credentials.

use crate::envelope::{Envelope, ErrorResponse};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use kc_api::ErrorCode;
use serde::Deserialize;

/// Query of `GET /widget/origin-check`.
#[derive(Deserialize)]
pub(super) struct OriginCheckQuery {
    client_id: Option<String>,
}

/// `scheme://host[:port]` in lower case, without a trailing slash (how origins compare).
fn canonical(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Whether `origin` may frame the widget of a client that registered `registered`: one of them,
/// or the server itself (`frame-ancestors 'self'`).
pub(crate) fn origin_allowed(origin: &str, registered: &[String], own_origin: &str) -> bool {
    let origin = canonical(origin);
    origin == canonical(own_origin) || registered.iter().any(|r| canonical(r) == origin)
}

/// `GET /widget/origin-check`: `{"success": true, "data": {"origin", "allowed"}}`.
pub(super) async fn origin_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OriginCheckQuery>,
) -> Response {
    let mut res = answer(&state, &headers, q).await;
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn answer(state: &AppState, headers: &HeaderMap, q: OriginCheckQuery) -> Response {
    let Some(client_id) = q.client_id.filter(|id| !id.trim().is_empty()) else {
        return ErrorResponse::new(ErrorCode::InvalidRequest, "client_id is required").into_response();
    };
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null") else {
        return ErrorResponse::new(
            ErrorCode::InvalidRequest,
            "An Origin header is required (browsers send it on cross-origin requests)",
        )
        .into_response();
    };
    let registered = match state.api.client_origins(&client_id).await {
        Ok(origins) => origins,
        Err(e) => return ErrorResponse::from(e).into_response(),
    };
    let allowed = origin_allowed(origin, &registered, &state.options.public_origin);
    if !allowed {
        tracing::info!(event = "origin_not_registered", origin = %origin, "a page asked to frame a client's widget from an unregistered origin");
    }
    Envelope(serde_json::json!({ "origin": origin, "allowed": allowed })).into_response()
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn an_origin_is_allowed_when_registered_or_the_server_itself() {
        let registered = vec!["https://app.example.com".to_owned(), "http://localhost:5173/".to_owned()];
        let own = "https://connect.example.com";
        assert!(origin_allowed("https://app.example.com", &registered, own));
        assert!(origin_allowed("HTTPS://APP.EXAMPLE.COM", &registered, own), "case-insensitive");
        assert!(origin_allowed("http://localhost:5173", &registered, own), "trailing slash ignored");
        assert!(origin_allowed("https://connect.example.com", &registered, own), "the server itself");
        assert!(!origin_allowed("https://evil.example.com", &registered, own));
        assert!(!origin_allowed("http://app.example.com", &registered, own), "the scheme counts");
        assert!(!origin_allowed("https://app.example.com:8443", &registered, own), "the port counts");
        assert!(!origin_allowed("https://app.example.com", &[], own), "unknown client: nothing registered");
    }
}
