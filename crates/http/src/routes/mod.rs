//! The route table.

pub(crate) mod admin_api;
mod assets;
pub(crate) mod connect;
mod console;
pub(crate) mod csv_import;
pub(crate) mod data;
pub(crate) mod health;
pub(crate) mod oidc;
mod origin_check;
mod sdk_packages;
pub(crate) mod wallets;
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
        .route(
            "/widget/integrations/{wallet_id}/csv",
            post(csv_import::import_csv)
                .layer(axum::extract::DefaultBodyLimit::max(csv_import::CSV_BODY_LIMIT))
                .options(preflight),
        )
        .route("/widget/wallets/challenge", post(wallets::challenge).options(preflight))
        .route("/widget/wallets/verify", post(wallets::verify).options(preflight))
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
        .route("/api/v1/transactions", get(data::transactions))
        .route("/api/v1/settings/cost-basis", get(data::cost_basis_method).put(data::set_cost_basis_method))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/docs", get(crate::openapi::docs_page))
        .route("/docs/docs.js", get(crate::openapi::docs_js))
        .route("/docs/docs.css", get(crate::openapi::docs_css))
        .route("/oidc/.well-known/openid-configuration", get(oidc::discovery))
        .route("/oidc/.well-known/openid_configuration", get(oidc::discovery))
        .route("/oidc/jwks", get(oidc::jwks))
        .route("/oidc/auth", get(oidc::authorize))
        .route("/oidc/callback/{handle}", get(oidc::callback))
        .route("/oidc/token", post(oidc::token))
        .route("/oidc/userinfo", get(oidc::userinfo).post(oidc::userinfo))
        .route("/oidc/token/introspection", post(oidc::introspection))
        .route("/oidc/token/revocation", post(oidc::revocation))
        .route("/oidc/logout", post(oidc::logout))
        .route("/api/health", get(health::health))
        .route("/readyz", get(health::ready))
        .route("/integrations/public/list", get(widget::public_providers))
        .route("/connect", get(assets::widget_page))
        .route("/connect/widget.js", get(assets::widget_js))
        .route("/connect/widget.css", get(assets::widget_css))
        .route("/sdk/connect.js", get(assets::sdk_js))
        .route("/sdk/connect.d.ts", get(assets::sdk_dts))
        .route("/sdk/{file}", get(sdk_packages::download))
        .route("/widget/origin-check", get(origin_check::origin_check))
        .route("/logos/{file}", get(assets::logo))
        .merge(admin_routes())
        .merge(
            console::routes()
                .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::base_path::console_under_base)),
        )
        .merge(widget)
        .merge(demo)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    middleware::wrap(api.with_state(state.clone()).merge(extra), state)
}

/// The admin API (`/admin/api`).
fn admin_routes() -> Router<AppState> {
    use admin_api as a;
    use axum::routing::patch;
    Router::new()
        .route("/admin/api/me", get(a::me))
        .route("/admin/api/orgs", get(a::list_orgs).post(a::create_org))
        .route("/admin/api/orgs/{org}/members", get(a::members))
        .route("/admin/api/orgs/{org}/members/{user}", patch(a::set_role).delete(a::remove_member))
        .route("/admin/api/orgs/{org}/invitations", get(a::invitations).post(a::invite))
        .route("/admin/api/orgs/{org}/invitations/{id}", axum::routing::delete(a::revoke_invitation))
        .route("/admin/api/invitations", get(a::my_invitations))
        .route("/admin/api/invitations/{id}/accept", post(a::accept_invitation))
        .route("/admin/api/clients", get(a::list_clients).post(a::create_client))
        .route("/admin/api/clients/{id}", get(a::get_client).patch(a::update_client))
        .route("/admin/api/clients/{id}/rotate-secret", post(a::rotate_secret))
        .route("/admin/api/clients/{id}/disable", post(a::disable_client))
        .route("/admin/api/clients/{id}/mode", post(a::set_mode))
        .route("/admin/api/clients/{id}/webhooks", get(a::list_webhooks).post(a::add_webhook))
        .route("/admin/api/clients/{id}/webhooks/{wh}", patch(a::update_webhook).delete(a::remove_webhook))
        .route("/admin/api/clients/{id}/webhooks/{wh}/rotate-secret", post(a::rotate_webhook_secret))
        .route("/admin/api/clients/{id}/webhooks/{wh}/test", post(a::test_webhook))
        .route("/admin/api/clients/{id}/deliveries", get(a::deliveries))
        .route("/admin/api/clients/{id}/deliveries/{delivery}/redeliver", post(a::redeliver))
        .route("/admin/api/clients/{id}/grants", get(a::grants))
        .route("/admin/api/clients/{id}/grants/{grant}/revoke", post(a::revoke_grant))
        .route("/admin/api/clients/{id}/usage", get(a::usage))
        .route("/admin/api/audit", get(a::audit))
        .route_layer(axum::middleware::from_fn(no_store))
}

/// `Cache-Control: no-store` on every admin answer (they carry secrets shown once).
async fn no_store(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
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
