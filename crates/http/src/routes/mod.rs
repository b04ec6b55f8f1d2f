//! The route table.

mod connect;
mod health;
mod widget;

use crate::envelope::ErrorResponse;
use crate::middleware;
use crate::state::AppState;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use kc_api::ErrorCode;

/// The whole HTTP surface with its middleware stack.
pub fn router(state: AppState) -> Router {
    let widget = Router::new()
        .route("/widget/session", get(widget::session))
        .route("/widget/auth/anonymous", post(widget::auth_anonymous))
        .route("/widget/consent", post(widget::consent))
        .route("/widget/complete", post(widget::complete))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::widget_cors));
    let api = Router::new()
        .route("/link-token", post(connect::create_link_token))
        .route("/link-token/check-session", post(connect::check_session))
        .route("/token/exchange", post(connect::exchange))
        .route("/token/revoke", post(connect::revoke))
        .route("/token/grants", get(connect::list_grants))
        .route("/api/health", get(health::health))
        .route("/readyz", get(health::ready))
        .merge(widget)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    middleware::wrap(api, state)
}

async fn not_found(method: Method, uri: Uri) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, format!("No such endpoint: {method} {}", uri.path()))
        .with_status(ErrorCode::InvalidRequest, StatusCode::NOT_FOUND)
}

async fn method_not_allowed(method: Method, uri: Uri) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, format!("{method} is not allowed on {}", uri.path()))
        .with_status(ErrorCode::InvalidRequest, StatusCode::METHOD_NOT_ALLOWED)
}
