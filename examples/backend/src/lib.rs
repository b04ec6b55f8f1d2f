//! A client backend for Kryptos Connect: the seed's `backend-implementation` guide in Rust
//! (axum + `kc-client`).
//!
//! | route | what it does |
//! |---|---|
//! | `POST /api/kryptos/create-link-token` | the Web SDK's `generateLinkToken`: a link token, resuming the user's session when an access token is stored; answers `{link_token, isAuthorized}` |
//! | `POST /api/kryptos/exchange-token` | the Web SDK's `onConnectSuccess`: exchanges `{public_token}` and stores the access token, grant id and workspace for the user |
//! | `GET /api/kryptos/holdings` | a Data API call with the stored token; a 401 means the grant was revoked: the token is forgotten and the user must link again |
//! | `GET /api/kryptos/session` | check-session for the stored token |
//! | `POST /api/kryptos/disconnect` | revokes the user's grant and forgets it |
//!
//! Who the user is comes from the `X-User-Id` header here, standing in for the session
//! middleware of a real application (the seed's `req.user.id`). Tokens are kept in memory; a
//! real backend keeps them in its database, encrypted.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kc_client::api::{BearerToken, CreateLinkTokenRequest, ErrorCode};
use kc_client::{ClientError, ConnectClient};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The scopes the seed's example asks for.
pub const SCOPES: &str = "openid profile offline_access email portfolios:read transactions:read \
integrations:read tax:read accounting:read reports:read workspace:read users:read";

/// What the backend keeps per user after an exchange. `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct StoredTokens {
    /// The 15-year access token.
    pub access_token: BearerToken,
    /// The grant, to revoke later.
    pub grant_id: String,
    /// The shared workspace.
    pub workspace_id: String,
}

/// The backend's state: the Kryptos client (with this app's credentials) and the token store.
#[derive(Clone)]
pub struct Backend {
    kryptos: ConnectClient,
    tokens: Arc<Mutex<HashMap<String, StoredTokens>>>,
}

impl Backend {
    /// A backend calling Kryptos Connect through `kryptos`.
    pub fn new(kryptos: ConnectClient) -> Self {
        Self { kryptos, tokens: Arc::default() }
    }

    /// The tokens stored for `user`.
    pub fn tokens_of(&self, user: &str) -> Option<StoredTokens> {
        self.lock().get(user).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredTokens>> {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn save(&self, user: &str, tokens: StoredTokens) {
        self.lock().insert(user.to_owned(), tokens);
    }

    fn forget(&self, user: &str) -> Option<StoredTokens> {
        self.lock().remove(user)
    }
}

/// The backend's routes.
pub fn router(backend: Backend) -> Router {
    Router::new()
        .route("/api/kryptos/create-link-token", post(create_link_token))
        .route("/api/kryptos/exchange-token", post(exchange_token))
        .route("/api/kryptos/holdings", get(holdings))
        .route("/api/kryptos/session", get(session))
        .route("/api/kryptos/disconnect", post(disconnect))
        .with_state(backend)
}

/// The signed-in user of this app (here: the `X-User-Id` header; 401 without it).
struct User(String);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("x-user-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| User(u.to_owned()))
            .ok_or_else(|| failure(StatusCode::UNAUTHORIZED, "Sign in first"))
    }
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The seed's answer when the grant is gone: the user must connect again.
fn reconnect() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "Access revoked. Please reconnect your account.", "reconnect": true })),
    )
        .into_response()
}

/// `POST /api/kryptos/create-link-token` → `{link_token, isAuthorized}`.
async fn create_link_token(State(b): State<Backend>, User(user): User) -> Response {
    let existing = b.tokens_of(&user);
    let request = |access_token: Option<&StoredTokens>| CreateLinkTokenRequest {
        scopes: Some(SCOPES.to_owned()),
        // With a stored token the widget skips sign-in (returning user).
        access_token: access_token.map(|t| t.access_token.expose().to_owned()),
        ..Default::default()
    };
    let mut result = b.kryptos.create_link_token(request(existing.as_ref())).await;
    let mut authorized = existing.is_some();
    if existing.is_some() && matches!(&result, Err(e) if e.code() == Some(ErrorCode::InvalidToken)) {
        // The stored token was revoked meanwhile: forget it and start a new connection.
        tracing::info!(%user, "stored access token is no longer valid; linking again");
        b.forget(&user);
        result = b.kryptos.create_link_token(request(None)).await;
        authorized = false;
    }
    match result {
        Ok(created) => Json(json!({ "link_token": created.link_token, "isAuthorized": authorized })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "create link token failed");
            failure(StatusCode::INTERNAL_SERVER_ERROR, "Failed to create link token")
        }
    }
}

/// Body of `POST /api/kryptos/exchange-token`.
#[derive(Deserialize)]
struct ExchangeBody {
    public_token: String,
}

/// `POST /api/kryptos/exchange-token` → `{success: true}`.
async fn exchange_token(State(b): State<Backend>, User(user): User, body: Option<Json<ExchangeBody>>) -> Response {
    let Some(Json(body)) = body else {
        return failure(StatusCode::BAD_REQUEST, "Send {\"public_token\": \"…\"}");
    };
    match b.kryptos.exchange_public_token(&body.public_token).await {
        Ok(grant) => {
            b.save(
                &user,
                StoredTokens {
                    access_token: grant.access_token,
                    grant_id: grant.grant_id,
                    workspace_id: grant.workspace_id,
                },
            );
            Json(json!({ "success": true })).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "token exchange failed");
            failure(StatusCode::INTERNAL_SERVER_ERROR, "Failed to exchange token")
        }
    }
}

/// `GET /api/kryptos/holdings`: the seed's `makeApiCallWithCheck` around `getUserHoldings`.
async fn holdings(State(b): State<Backend>, User(user): User) -> Response {
    let Some(tokens) = b.tokens_of(&user) else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "Connect your account first", "reconnect": true })))
            .into_response();
    };
    match b.kryptos.holdings(&tokens.access_token, Default::default()).await {
        Ok(h) => Json(h).into_response(),
        Err(e) if e.is_unauthorized() => {
            // Token or grant invalid: the user needs to connect again.
            b.forget(&user);
            reconnect()
        }
        Err(e) => upstream_failure(&e),
    }
}

/// `GET /api/kryptos/session`: whether the stored token still works.
async fn session(State(b): State<Backend>, User(user): User) -> Response {
    let Some(tokens) = b.tokens_of(&user) else {
        return Json(json!({ "connected": false })).into_response();
    };
    match b.kryptos.check_session(&tokens.access_token).await {
        Ok(s) if s.has_valid_session => {
            Json(json!({ "connected": true, "workspace_id": s.workspace_id, "scopes": s.granted_scopes }))
                .into_response()
        }
        Ok(s) => {
            b.forget(&user);
            Json(json!({ "connected": false, "reason": s.reason })).into_response()
        }
        Err(e) => upstream_failure(&e),
    }
}

/// `POST /api/kryptos/disconnect`: revokes the grant and forgets the token.
async fn disconnect(State(b): State<Backend>, User(user): User) -> Response {
    let Some(tokens) = b.tokens_of(&user) else {
        return Json(json!({ "success": true })).into_response();
    };
    match b.kryptos.revoke_grant(&tokens.grant_id).await {
        // INVALID_GRANT: already gone (e.g. revoked elsewhere); forgetting it is right either way.
        Ok(()) | Err(ClientError::Api { code: ErrorCode::InvalidGrant, .. }) => {
            b.forget(&user);
            Json(json!({ "success": true })).into_response()
        }
        Err(e) => upstream_failure(&e),
    }
}

fn upstream_failure(e: &ClientError) -> Response {
    tracing::warn!(error = %e, "Kryptos Connect call failed");
    let status = if matches!(e, ClientError::Timeout | ClientError::Transport(_))
        || e.code() == Some(ErrorCode::ServiceUnavailable)
    {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    failure(status, "Kryptos Connect is not available right now")
}
