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
            _ => self.0.message.clone(),
        };
        let body = serde_json::json!({ "error": error, "message": message, "details": self.0.details });
        let mut res = (status, Json(body)).into_response();
        crate::envelope::set_retry_after(&mut res, &self.0);
        res
    }
}

/// The bearer token of `Authorization: Bearer …`.
fn bearer(headers: &HeaderMap) -> Option<BearerToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| BearerToken::new(token.trim()))
}

/// Both credentials, or the answer to a request missing one: a failed authentication,
/// counted by the limiter (429 past the budget).
async fn admit(
    state: &AppState,
    meta: &RequestMeta,
    creds: ClientHeaders,
    headers: &HeaderMap,
) -> Result<(ClientCredentials, BearerToken), DataError> {
    let client_id = creds.0.as_ref().map(|c| c.client_id.clone());
    match (creds.0, bearer(headers)) {
        (Some(c), Some(t)) => Ok((c, t)),
        _ => Err(refuse(state, meta, client_id.as_deref(), DataError::unauthorized()).await),
    }
}

/// A failed authentication: counted, delayed as the budget empties, 429 past it.
async fn refuse(state: &AppState, meta: &RequestMeta, client_id: Option<&str>, e: DataError) -> DataError {
    match state.limiter.failed(meta.ip, client_id).await {
        Some(wait) => DataError(crate::envelope::rate_limited_error(wait)),
        None => e,
    }
}

/// Wraps a service answer. Credentials and token are verified before anything else, so a
/// caller holding both always gets its answer; only their refusal reaches the limiter.
async fn settle<T: Serialize>(
    state: &AppState,
    meta: &RequestMeta,
    creds: &ClientCredentials,
    r: ApiResult<T>,
) -> Result<Json<T>, DataError> {
    match r {
        Ok(v) => Ok(Json(v)),
        Err(e) if matches!(e.code, ErrorCode::InvalidClient | ErrorCode::InvalidToken) => {
            Err(refuse(state, meta, Some(&creds.client_id), e.into()).await)
        }
        Err(e) => Err(e.into()),
    }
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
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    settle(&state, &meta, &c, state.api.userinfo(&c, &t, &meta).await).await
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
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.integrations(&c, &t, &meta, q).await).await
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
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.holdings(&c, &t, &meta, q).await).await
}

#[utoipa::path(
    get,
    path = "/api/v1/transactions",
    tag = "Data API",
    summary = "The workspace's transactions",
    description = "Needs `transactions:read`. The ledger kept by sync: incoming, outgoing and fee legs priced in USD at \
their time, internal transfers between the workspace's wallets, and the cost basis and realized gains of each disposal \
(FIFO unless the workspace chose LIFO or HIFO). Newest first unless `order=asc`; `limit` 1–1000 (default 100). A bad \
parameter answers 400 `invalid_parameters` with one `details` entry per bad parameter.",
    params(TransactionsQuery),
    responses(
        (status = 200, description = "A page of transactions.", body = TransactionsResponse),
        (status = 400, description = "`invalid_parameters`, each bad parameter named in `details[].path`.", body = crate::openapi::DataError)
    )
)]
pub(super) async fn transactions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
    query: Result<ApiQuery<TransactionsQuery>, ErrorResponse>,
) -> Result<Json<TransactionsResponse>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.transactions(&c, &t, &meta, q).await).await
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/cost-basis",
    tag = "Data API",
    summary = "The workspace's cost basis method",
    description = "Needs `portfolios:read`. How disposals pick the lots they consume in the workspace's ledger: `FIFO` \
(the default), `LIFO` or `HIFO`. Not part of the Kryptos reference: an extension of this server.",
    responses((status = 200, description = "The method, and whether it is the server's default.", body = CostBasisMethodResponse))
)]
pub(super) async fn cost_basis_method(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
) -> Result<Json<CostBasisMethodResponse>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    settle(&state, &meta, &c, state.api.cost_basis_method(&c, &t, &meta).await).await
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/cost-basis",
    tag = "Data API",
    summary = "Set the workspace's cost basis method",
    description = "Needs `portfolios:read`. Sets `FIFO`, `LIFO` or `HIFO` (case-insensitive) for the workspace and \
recomputes its ledger before answering: every transaction's `ledger` cost basis and gains, `totalCostbasis`, \
`totalGains`, and the holdings' `costbasis`, `unrealizedPnL` and `roi`. Setting the current method again recomputes \
nothing new. Not part of the Kryptos reference: an extension of this server.",
    request_body = CostBasisMethodRequest,
    responses(
        (status = 200, description = "The method now in force.", body = CostBasisMethodResponse),
        (status = 400, description = "`invalid_parameters`: `method` is not FIFO, LIFO or HIFO (named in `details`), or the body is not JSON.", body = crate::openapi::DataError)
    )
)]
pub(super) async fn set_cost_basis_method(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    headers: HeaderMap,
    body: Result<crate::extract::ApiJson<CostBasisMethodRequest>, ErrorResponse>,
) -> Result<Json<CostBasisMethodResponse>, DataError> {
    let (c, t) = admit(&state, &meta, creds, &headers).await?;
    let crate::extract::ApiJson(body) = body?;
    settle(&state, &meta, &c, state.api.set_cost_basis_method(&c, &t, &meta, body).await).await
}
