//! Connect API handlers (SPEC §4): client credentials, failed-auth rate limiting.

use crate::envelope::{Envelope, ErrorResponse, HandlerResult};
use crate::extract::{ApiJson, ApiQuery, ClientHeaders, Meta};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kc_api::*;
use serde::Deserialize;

/// The credentials, or the answer to a request without them: a failed authentication,
/// counted by the limiter (429 past the budget).
async fn admit(
    state: &AppState,
    creds: Result<ClientCredentials, ErrorResponse>,
    meta: &RequestMeta,
) -> Result<ClientCredentials, ErrorResponse> {
    match creds {
        Ok(c) => Ok(c),
        Err(e) => Err(refuse(state, meta, None, e).await),
    }
}

/// Answers a failed authentication: counted per IP and per (client id, IP), delayed as the
/// budget empties, and `429 RATE_LIMITED` instead of `e` past it.
async fn refuse(state: &AppState, meta: &RequestMeta, client_id: Option<&str>, e: ErrorResponse) -> ErrorResponse {
    match state.limiter.failed(meta.ip, client_id).await {
        Some(wait) => ErrorResponse::rate_limited(wait),
        None => e,
    }
}

/// Wraps a service answer. The service verifies the credentials before anything else, so a
/// correct secret always gets its answer; only `INVALID_CLIENT` reaches the limiter.
async fn settle<T>(
    state: &AppState,
    meta: &RequestMeta,
    creds: &ClientCredentials,
    r: ApiResult<T>,
) -> HandlerResult<T> {
    match r {
        Ok(v) => Ok(Envelope(v)),
        Err(e) if e.code == ErrorCode::InvalidClient => {
            Err(refuse(state, meta, Some(&creds.client_id), e.into()).await)
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    post,
    path = "/link-token",
    tag = "Connect API",
    summary = "Create a link token",
    description = "Creates a 30-minute `link_…` token for the Connect widget. Omitted `scopes` means every scope \
the client is allowed. With a returning user's `access_token`, the widget skips sign-in and the answer also carries \
`user_id`, `workspace_id` and `has_existing_grant: true`.",
    request_body = CreateLinkTokenRequest,
    responses(
        (status = 200, description = "The link token.", body = crate::openapi::Success<CreateLinkTokenResponse>),
        (status = 400, description = "`INVALID_REQUEST` (malformed body) or `INVALID_SCOPE` (unknown or not-allowed scope).", body = crate::openapi::ErrorEnvelope),
        (status = 401, description = "`INVALID_CLIENT`, or `INVALID_TOKEN` when `access_token` is not a live token of this client.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn create_link_token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<CreateLinkTokenRequest>,
) -> HandlerResult<CreateLinkTokenResponse> {
    let c = admit(&state, creds.required(), &meta).await?;
    settle(&state, &meta, &c, state.api.create_link_token(&c, &meta, body).await).await
}

#[utoipa::path(
    post,
    path = "/link-token/check-session",
    tag = "Connect API",
    summary = "Check an access token",
    description = "Tells whether an access token names a live grant of this client. A bad token is an answer \
(`has_valid_session: false` with `reason` `token_expired`, `token_revoked` or `invalid_token`), not an error.",
    request_body = CheckSessionRequest,
    responses((status = 200, description = "The session status (always HTTP 200 for any token).", body = crate::openapi::Success<CheckSessionResponse>))
)]
pub(super) async fn check_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<CheckSessionRequest>,
) -> HandlerResult<CheckSessionResponse> {
    let c = admit(&state, creds.required(), &meta).await?;
    settle(&state, &meta, &c, state.api.check_session(&c, &meta, body).await).await
}

/// `/token/exchange` also accepts the credentials in the body (the Web SDK's full example).
#[derive(Deserialize)]
pub(super) struct ExchangeBody {
    public_token: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

#[utoipa::path(
    post,
    path = "/token/exchange",
    tag = "Connect API",
    summary = "Exchange a public token",
    description = "Trades the widget's one-time `public_…` token for a long-lived `cat_…` access token and the \
grant id. One public token yields exactly one access token. The client credentials may be sent as headers or in \
the body.",
    request_body = crate::openapi::ExchangeBody,
    security((), ("client_id" = [], "client_secret" = [])),
    responses(
        (status = 200, description = "The access token (15 years) and the grant.", body = crate::openapi::Success<ExchangeResponse>),
        (status = 400, description = "`INVALID_REQUEST`; `TOKEN_ALREADY_USED` (second use), `TOKEN_EXPIRED` (after 30 minutes) or \
`INVALID_TOKEN` (unknown, malformed or another client's public token).", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn exchange(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<ExchangeBody>,
) -> HandlerResult<ExchangeResponse> {
    let creds = match (creds.0, body.client_id, body.client_secret) {
        (Some(c), _, _) => Ok(c),
        (None, Some(id), Some(secret)) => Ok(ClientCredentials::new(id, secret)),
        (None, _, _) => ClientHeaders(None).required(),
    };
    let req = ExchangeRequest { public_token: body.public_token };
    let c = admit(&state, creds, &meta).await?;
    settle(&state, &meta, &c, state.api.exchange_public_token(&c, &meta, req).await)
        .await
        .map_err(|e| e.with_status(ErrorCode::InvalidToken, StatusCode::BAD_REQUEST))
}

#[utoipa::path(
    post,
    path = "/token/revoke",
    tag = "Connect API",
    summary = "Revoke a grant",
    description = "Revokes the grant and every token of it at once. Revoking twice is not an error.",
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "Revoked.", body = crate::openapi::RevokeAck),
        (status = 400, description = "`INVALID_REQUEST`, or `INVALID_GRANT` for an unknown or another client's grant.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> Result<Response, ErrorResponse> {
    let c = admit(&state, creds.required(), &meta).await?;
    settle(&state, &meta, &c, state.api.revoke_grant(&c, &meta, body).await).await?;
    Ok(Json(serde_json::json!({ "success": true, "message": "Grant revoked successfully" })).into_response())
}

#[utoipa::path(
    get,
    path = "/token/grants",
    tag = "Connect API",
    summary = "List active grants",
    description = "This client's active grants, oldest first, a page at a time.",
    params(ListGrantsQuery),
    responses(
        (status = 200, description = "A page of grants; `next_cursor` when more remain.", body = crate::openapi::Success<GrantsPage>),
        (status = 400, description = "`INVALID_REQUEST`: bad `limit` (1–100) or `cursor`.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn list_grants(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    query: Result<ApiQuery<ListGrantsQuery>, ErrorResponse>,
) -> HandlerResult<GrantsPage> {
    let c = admit(&state, creds.required(), &meta).await?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.list_grants(&c, &meta, q).await).await
}

#[utoipa::path(
    post,
    path = "/developer/integrations/{walletId}/resync",
    tag = "Developer",
    summary = "Queue an integration re-sync",
    params(("walletId" = String, Path, description = "The integration's `walletId`.")),
    request_body = ResyncRequest,
    responses(
        (status = 202, description = "Queued.", body = crate::openapi::Success<ResyncResponse>),
        (status = 400, description = "`INVALID_REQUEST`: bad `mode` (`latest` or `from_start`) or body.", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the wallet is not in a workspace this client has a grant for.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn resync(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    axum::extract::Path(wallet_id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<ResyncRequest>,
) -> Result<(StatusCode, Envelope<ResyncResponse>), ErrorResponse> {
    let c = admit(&state, creds.required(), &meta).await?;
    let data = settle(&state, &meta, &c, state.api.resync(&c, &meta, &wallet_id, body).await).await?;
    Ok((StatusCode::ACCEPTED, data))
}

#[utoipa::path(
    patch,
    path = "/developer/grants/{grantId}/transaction-limit",
    tag = "Developer",
    summary = "Set a guest grant's transaction limit",
    params(("grantId" = String, Path, description = "The `cgrant_…` grant id.")),
    request_body = TransactionLimitRequest,
    responses(
        (status = 200, description = "The limit now in force.", body = crate::openapi::Success<TransactionLimitResponse>),
        (status = 400, description = "`INVALID_REQUEST` (neither field, or a bad value), `INVALID_GRANT` (unknown or another client's grant) \
or `NOT_ANON_USER` (the grant's user is not a guest).", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn transaction_limit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    axum::extract::Path(grant_id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<TransactionLimitRequest>,
) -> HandlerResult<TransactionLimitResponse> {
    let c = admit(&state, creds.required(), &meta).await?;
    settle(&state, &meta, &c, state.api.set_transaction_limit(&c, &meta, &grant_id, body).await).await
}
