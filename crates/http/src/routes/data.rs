//! Data API handlers (SPEC §7): bearer token **and** client credentials, the Data API's own
//! error shape `{"error": "<snake_code>", "message": "…", "details": []}`.

use crate::envelope::ErrorResponse;
use crate::extract::{ApiQuery, ClientHeaders, Meta};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kc_api::*;
use serde::Serialize;

/// A Data API error in its documented shape.
pub(crate) struct DataError(ApiError);

impl DataError {
    fn unauthorized() -> Self {
        Self(ApiError::new(ErrorCode::InvalidToken, "Invalid or missing authentication token"))
    }
}

impl From<ApiError> for DataError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<ErrorResponse> for DataError {
    fn from(e: ErrorResponse) -> Self {
        Self(e.error)
    }
}

impl IntoResponse for DataError {
    fn into_response(self) -> Response {
        let (status, error) = match self.0.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ErrorCode::InsufficientPermissions => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
            ErrorCode::WorkspaceNotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorCode::ServiceUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
            ErrorCode::InternalError => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            _ => (StatusCode::BAD_REQUEST, "invalid_parameters"),
        };
        let message = match self.0.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => "Invalid or missing authentication token".to_owned(),
            _ => self.0.message,
        };
        (status, Json(serde_json::json!({ "error": error, "message": message, "details": [] }))).into_response()
    }
}

/// The bearer token of `Authorization: Bearer …`.
fn bearer(headers: &HeaderMap) -> Option<BearerToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| BearerToken::new(token.trim()))
}

/// Checks the caller is not blocked and has both credentials; counts failures.
fn admit(
    state: &AppState,
    meta: &RequestMeta,
    creds: ClientHeaders,
    headers: &HeaderMap,
) -> Result<(ClientCredentials, BearerToken), DataError> {
    let client_id = creds.0.as_ref().map(|c| c.client_id.clone());
    if let Some(wait) = state.limiter.blocked_for(meta.ip, client_id.as_deref()) {
        let mut e = ApiError::new(ErrorCode::RateLimited, "Too many failed authentication attempts; retry later");
        e.message = format!("{} (retry in {} s)", e.message, wait.as_secs().max(1));
        return Err(e.into());
    }
    match (creds.0, bearer(headers)) {
        (Some(c), Some(t)) => Ok((c, t)),
        _ => {
            state.limiter.record_failure(meta.ip, client_id.as_deref());
            Err(DataError::unauthorized())
        }
    }
}

fn settle<T: Serialize>(
    state: &AppState,
    meta: &RequestMeta,
    creds: &ClientCredentials,
    r: ApiResult<T>,
) -> Result<Json<T>, DataError> {
    r.map(Json).map_err(|e| {
        if matches!(e.code, ErrorCode::InvalidClient | ErrorCode::InvalidToken) {
            state.limiter.record_failure(meta.ip, Some(&creds.client_id));
        }
        e.into()
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/userinfo",
    tag = "Data API",
    summary = "The grant's user",
    description = "Needs `users:read`. Fields are filtered by the grant's `openid`, `profile` and `email` scopes.",
    responses((status = 200, description = "The user.", body = UserInfoResponse))
)]
pub(super) async fn userinfo(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
) -> Result<Json<UserInfoResponse>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers)?;
    settle(&state, &meta, &c, state.api.userinfo(&c, &t, &meta).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/integrations",
    tag = "Data API",
    summary = "The workspace's integrations",
    description = "Needs `integrations:read`. Paginated; `searchedKey` searches alias, address, account name, wallet id and provider name.",
    params(IntegrationsQuery),
    responses((status = 200, description = "A page of integrations.", body = IntegrationsPage))
)]
pub(super) async fn integrations(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
    query: Result<ApiQuery<IntegrationsQuery>, ErrorResponse>,
) -> Result<Json<IntegrationsPage>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers)?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.integrations(&c, &t, &meta, q).await)
}

#[utoipa::path(
    get,
    path = "/api/v1/holdings",
    tag = "Data API",
    summary = "The workspace's holdings",
    description = "Needs `portfolios:read`. Live balances across the workspace's integrations, valued in USD.",
    params(HoldingsQuery),
    responses((status = 200, description = "Holdings, largest value first, and totals.", body = HoldingsResponse))
)]
pub(super) async fn holdings(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
    query: Result<ApiQuery<HoldingsQuery>, ErrorResponse>,
) -> Result<Json<HoldingsResponse>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers)?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.holdings(&c, &t, &meta, q).await)
}
