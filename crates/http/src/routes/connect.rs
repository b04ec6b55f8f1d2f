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

/// Admits a caller: refuses blocked callers with 429 and counts missing credentials
/// towards the block.
fn admit(
    state: &AppState,
    creds: Result<ClientCredentials, ErrorResponse>,
    meta: &RequestMeta,
) -> Result<ClientCredentials, ErrorResponse> {
    let client_id = creds.as_ref().ok().map(|c| c.client_id.as_str());
    if let Some(wait) = state.limiter.blocked_for(meta.ip, client_id) {
        return Err(ErrorResponse::rate_limited(wait));
    }
    creds.inspect_err(|_| state.limiter.record_failure(meta.ip, None))
}

/// Wraps a service answer, counting `INVALID_CLIENT` towards the caller's block.
fn settle<T>(state: &AppState, meta: &RequestMeta, creds: &ClientCredentials, r: ApiResult<T>) -> HandlerResult<T> {
    r.map(Envelope).map_err(|e| {
        if e.code == ErrorCode::InvalidClient {
            state.limiter.record_failure(meta.ip, Some(&creds.client_id));
        }
        e.into()
    })
}

pub(super) async fn create_link_token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<CreateLinkTokenRequest>,
) -> HandlerResult<CreateLinkTokenResponse> {
    let c = admit(&state, creds.required(), &meta)?;
    settle(&state, &meta, &c, state.api.create_link_token(&c, &meta, body).await)
}

pub(super) async fn check_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<CheckSessionRequest>,
) -> HandlerResult<CheckSessionResponse> {
    let c = admit(&state, creds.required(), &meta)?;
    settle(&state, &meta, &c, state.api.check_session(&c, &meta, body).await)
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
    let c = admit(&state, creds, &meta)?;
    settle(&state, &meta, &c, state.api.exchange_public_token(&c, &meta, req).await)
        .map_err(|e| e.with_status(ErrorCode::InvalidToken, StatusCode::BAD_REQUEST))
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> Result<Response, ErrorResponse> {
    let c = admit(&state, creds.required(), &meta)?;
    settle(&state, &meta, &c, state.api.revoke_grant(&c, &meta, body).await)?;
    Ok(Json(serde_json::json!({ "success": true, "message": "Grant revoked successfully" })).into_response())
}

pub(super) async fn list_grants(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    query: Result<ApiQuery<ListGrantsQuery>, ErrorResponse>,
) -> HandlerResult<GrantsPage> {
    let c = admit(&state, creds.required(), &meta)?;
    let ApiQuery(q) = query?;
    settle(&state, &meta, &c, state.api.list_grants(&c, &meta, q).await)
}

pub(super) async fn resync(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    axum::extract::Path(wallet_id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<ResyncRequest>,
) -> Result<(StatusCode, Envelope<ResyncResponse>), ErrorResponse> {
    let c = admit(&state, creds.required(), &meta)?;
    let data = settle(&state, &meta, &c, state.api.resync(&c, &meta, &wallet_id, body).await)?;
    Ok((StatusCode::ACCEPTED, data))
}

pub(super) async fn transaction_limit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    creds: ClientHeaders,
    axum::extract::Path(grant_id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<TransactionLimitRequest>,
) -> HandlerResult<TransactionLimitResponse> {
    let c = admit(&state, creds.required(), &meta)?;
    settle(&state, &meta, &c, state.api.set_transaction_limit(&c, &meta, &grant_id, body).await)
}
