//! The middleware stack: request ids, tracing spans, panics, timeouts, body limits,
//! security headers, and CORS for widget routes.

use crate::envelope::ErrorResponse;
use crate::state::AppState;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use kc_api::ErrorCode;
use std::any::Any;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

/// Wraps `routes` in the full stack, outermost first: request id (an unsafe incoming one is
/// replaced) → span → panic guard → security headers (HSTS for an `https` public URL) →
/// timeout → body limit.
pub(crate) fn wrap(routes: Router, state: AppState) -> Router {
    let timeout = state.options.request_timeout;
    let body_limit = state.options.body_limit_bytes;
    let hsts = (state.options.public_origin.starts_with("https://") && state.options.hsts_max_age_secs > 0)
        .then(|| HeaderValue::from_str(&format!("max-age={}", state.options.hsts_max_age_secs)).ok())
        .flatten()
        .map(|v| SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, v));
    let stack = ServiceBuilder::new()
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    // The path only: query strings are never logged.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::from_fn(data_api_error_shape))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .option_layer(hsts)
        .layer(HandleErrorLayer::new(timeout_response))
        .timeout(timeout)
        .layer(DefaultBodyLimit::max(body_limit));
    routes.layer(stack)
}

/// Longest `X-Request-Id` accepted from a caller.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether a caller's `X-Request-Id` is safe to echo and log: 1–128 characters of
/// `[A-Za-z0-9._:-]` (no spaces, quotes or `=` to forge log fields with).
fn is_safe_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Removes an unsafe (or repeated) incoming `X-Request-Id`, so that one is generated instead.
/// The rejected value is never logged.
async fn drop_unsafe_request_id(mut req: Request) -> Request {
    let mut ids = req.headers().get_all("x-request-id").iter();
    let safe = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_safe_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !safe {
        req.headers_mut().remove("x-request-id");
        tracing::debug!("replaced an unsafe X-Request-Id");
    }
    req
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ErrorResponse::new(ErrorCode::InternalError, "Internal server error").into_response()
}

async fn timeout_response(err: BoxError) -> Response {
    if err.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
        ErrorResponse::new(ErrorCode::ServiceUnavailable, "The request took too long; retry shortly").into_response()
    } else {
        tracing::error!(error = %err, "middleware error");
        ErrorResponse::new(ErrorCode::InternalError, "Internal server error").into_response()
    }
}

/// CORS for widget routes: only origins some enabled client registered get
/// `Access-Control-Allow-Origin`; the service further checks the origin belongs to the
/// link token's own client.
pub(crate) async fn widget_cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(origin) = origin.filter(|o| o != &state.options.public_origin) else {
        return next.run(req).await;
    };
    let allowed = matches!(state.api.is_registered_origin(&origin).await, Ok(true));
    let preflight = req.method() == Method::OPTIONS;
    let mut res = if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, DELETE"));
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, x-link-token, x-request-id"),
            );
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
    res
}

/// Under `/api/v1/`, errors produced outside the Data API handlers (timeouts, panics, unknown
/// routes) are re-shaped into the Data API's `{"error", "message", "details"}`.
async fn data_api_error_shape(req: Request, next: Next) -> Response {
    let data_api = req.uri().path().starts_with("/api/v1/");
    let res = next.run(req).await;
    if !data_api {
        return res;
    }
    match res.extensions().get::<crate::envelope::EnvelopedError>() {
        Some(crate::envelope::EnvelopedError(e)) => {
            let status = res.status();
            let mut shaped = crate::routes::data_error_response(e.clone());
            // Keep 404/405 for unknown routes and methods.
            if matches!(status, StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
                *shaped.status_mut() = status;
                let body = serde_json::json!({ "error": "not_found", "message": e.message, "details": [] });
                shaped = (status, axum::Json(body)).into_response();
            }
            shaped
        }
        None => res,
    }
}

#[cfg(test)]
mod tests {
    use super::is_safe_request_id;

    #[test]
    fn only_short_plain_request_ids_are_safe() {
        for ok in ["a", "req-123", "0f1e2d3c.4b5a:6978_ABCD", &"x".repeat(128)] {
            assert!(is_safe_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in ["", &"x".repeat(129), "a b", "a=b", "a\"b", "é", "a\tb", "a/b"] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad:?}");
        }
    }
}
