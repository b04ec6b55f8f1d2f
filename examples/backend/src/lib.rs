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
//! | anything else, with a static directory | its files (a built single-page app) |
//!
//! Who the user is stands in for the session middleware of a real application (the seed's
//! `req.user.id`): the `X-User-Id` header when a caller sends one, otherwise a per-browser
//! cookie (`kc_example_user`, `HttpOnly`, `SameSite=Lax`) that the backend sets on a
//! browser's first request. Tokens are kept in memory; a real backend keeps them in its
//! database, encrypted.
//!
//! [`app`] can also serve a static directory (a built single-page app, e.g.
//! `examples/react/dist`) beside the API, so the page and `/api/kryptos/*` share one origin.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kc_client::api::{BearerToken, CreateLinkTokenRequest, ErrorCode};
use kc_client::{ClientError, ConnectClient};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tower_http::services::{ServeDir, ServeFile};

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

/// The backend's API routes (no static files).
pub fn router(backend: Backend) -> Router {
    app(backend, None)
}

/// The API routes and, with `static_dir`, that directory's files for every other path
/// (unknown paths get its `index.html`, as a single-page app expects). Every response to a
/// browser without a user cookie sets one.
pub fn app(backend: Backend, static_dir: Option<&Path>) -> Router {
    let mut router = Router::new()
        .route("/api/kryptos/create-link-token", post(create_link_token))
        .route("/api/kryptos/exchange-token", post(exchange_token))
        .route("/api/kryptos/holdings", get(holdings))
        .route("/api/kryptos/session", get(session))
        .route("/api/kryptos/disconnect", post(disconnect))
        .with_state(backend);
    if let Some(dir) = static_dir {
        router = router.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))));
    }
    router.layer(axum::middleware::from_fn(browser_user))
}

/// The cookie naming a browser's user.
pub const USER_COOKIE: &str = "kc_example_user";

/// A user id given to a browser on this request (it had no cookie yet).
#[derive(Clone)]
struct NewVisitor(String);

/// Gives a browser without an `X-User-Id` header or a user cookie a fresh user id, in a cookie.
async fn browser_user(mut request: Request, next: Next) -> Response {
    let known = header_user(request.headers()).is_some() || cookie_user(request.headers()).is_some();
    let visitor = (!known).then(|| NewVisitor(uuid::Uuid::new_v4().simple().to_string()));
    if let Some(v) = &visitor {
        request.extensions_mut().insert(v.clone());
    }
    let mut response = next.run(request).await;
    if let Some(NewVisitor(id)) = visitor {
        let cookie = format!("{USER_COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn header_user(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get("x-user-id").and_then(|v| v.to_str().ok()).map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned)
}

fn cookie_user(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == USER_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// The signed-in user of this app: the `X-User-Id` header, else the browser's cookie (set by
/// [`app`]'s middleware on the first request); 401 without either.
struct User(String);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        header_user(&parts.headers)
            .or_else(|| cookie_user(&parts.headers))
            .or_else(|| parts.extensions.get::<NewVisitor>().map(|v| v.0.clone()))
            .map(User)
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
