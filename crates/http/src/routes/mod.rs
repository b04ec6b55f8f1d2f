//! The route table.

mod assets;
pub(crate) mod connect;
pub(crate) mod data;
pub(crate) mod health;
pub(crate) mod widget;

use crate::envelope::ErrorResponse;
use crate::middleware;
use crate::state::AppState;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use kc_api::ErrorCode;

/// The whole HTTP surface with its middleware stack. `extra` routes (e.g. the demo's
/// backend) are merged in under the same middleware.
pub fn router(state: AppState, extra: Router) -> Router {
    let widget = Router::new()
        // Each widget route answers OPTIONS so the CORS layer sees preflights (it answers them).
        .route("/widget/session", get(widget::session).options(preflight))
        .route("/widget/auth/anonymous", post(widget::auth_anonymous).options(preflight))
        .route("/widget/consent", post(widget::consent).options(preflight))
        .route("/widget/complete", post(widget::complete).options(preflight))
        .route("/widget/auth/email/start", post(widget::email_start).options(preflight))
        .route("/widget/auth/email/verify", post(widget::email_verify).options(preflight))
        .route("/widget/workspace", post(widget::select_workspace).options(preflight))
        .route("/widget/providers", get(widget::providers).options(preflight))
        .route(
            "/widget/integrations",
            get(widget::list_integrations).post(widget::create_integration).options(preflight),
        )
        .route("/widget/integrations/{wallet_id}", axum::routing::delete(widget::delete_integration).options(preflight))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::widget_cors));
    let demo = if state.options.demo_enabled {
        Router::new()
            .route("/demo", get(assets::demo_page))
            .route("/demo/demo.js", get(assets::demo_js))
            .route("/demo/demo.css", get(assets::demo_css))
    } else {
        Router::new()
    };
    let api = Router::new()
        .route("/link-token", post(connect::create_link_token))
        .route("/link-token/check-session", post(connect::check_session))
        .route("/token/exchange", post(connect::exchange))
        .route("/token/revoke", post(connect::revoke))
        .route("/token/grants", get(connect::list_grants))
        .route("/developer/integrations/{wallet_id}/resync", post(connect::resync))
        .route("/developer/grants/{grant_id}/transaction-limit", axum::routing::patch(connect::transaction_limit))
        .route("/api/v1/userinfo", get(data::userinfo))
        .route("/api/v1/integrations", get(data::integrations))
        .route("/api/v1/holdings", get(data::holdings))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/docs", get(crate::openapi::docs_page))
        .route("/docs/docs.js", get(crate::openapi::docs_js))
        .route("/docs/docs.css", get(crate::openapi::docs_css))
        .route("/api/health", get(health::health))
        .route("/readyz", get(health::ready))
        .route("/integrations/public/list", get(widget::public_providers))
        .route("/connect", get(assets::widget_page))
        .route("/connect/widget.js", get(assets::widget_js))
        .route("/connect/widget.css", get(assets::widget_css))
        .route("/sdk/connect.js", get(assets::sdk_js))
        .route("/sdk/connect.d.ts", get(assets::sdk_dts))
        .route("/logos/{file}", get(assets::logo))
        .merge(widget)
        .merge(demo)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    middleware::wrap(api.with_state(state.clone()).merge(extra), state)
}

/// A Data API error response for `e` (`{"error", "message", "details"}`).
pub(crate) fn data_error_response(e: kc_api::ApiError) -> axum::response::Response {
    use axum::response::IntoResponse;
    data::DataError::from(e).into_response()
}

/// A preflight without a cross-origin `Origin` (the CORS layer handles the others).
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn not_found(method: Method, uri: Uri) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, format!("No such endpoint: {method} {}", uri.path()))
        .with_status(ErrorCode::InvalidRequest, StatusCode::NOT_FOUND)
}

async fn method_not_allowed(method: Method, uri: Uri) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, format!("{method} is not allowed on {}", uri.path()))
        .with_status(ErrorCode::InvalidRequest, StatusCode::METHOD_NOT_ALLOWED)
}
