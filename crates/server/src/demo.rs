//! The development demo client: created on first start, remembered in a 0600 file.

use kc_api::{ConnectApi, DataApi};
use kc_service::config::Settings;
use kc_service::{NewClient, Service};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The demo sandbox client.
#[derive(Debug, Clone)]
pub struct DemoClient {
    /// Its id.
    pub client_id: String,
    /// Its secret (development only; also in `file`).
    pub client_secret: String,
    /// Where the credentials are kept.
    pub file: PathBuf,
    /// Whether it was created by this start.
    pub created_now: bool,
    /// Whether the demo's visitor cookie is `Secure` (an https public URL).
    pub secure_cookie: bool,
    /// The visitor cookie's `Path`: `/demo` under the public URL's path prefix
    /// (`/kryptos/demo` when the router is mounted at `/kryptos`).
    pub cookie_path: String,
}

/// `/demo` under the base path of `server.public_url`.
fn visitor_cookie_path(settings: &Settings) -> String {
    format!("{}/demo", kc_http::base_path(&settings.server.public_url))
}

#[derive(Serialize, Deserialize)]
struct DemoFile {
    client_id: String,
    client_secret: String,
}

/// Loads the demo client from `<data_dir>/demo-client.json` if it still exists in the
/// database, otherwise registers a new sandbox client and writes the file.
pub async fn ensure_demo_client(service: &Service, settings: &Settings) -> Result<DemoClient, String> {
    let file = settings.data_dir.join("demo-client.json");
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Ok(saved) = serde_json::from_str::<DemoFile>(&text) {
            if service.client(&saved.client_id).await.is_ok_and(|c| !c.disabled) {
                return Ok(DemoClient {
                    client_id: saved.client_id,
                    client_secret: saved.client_secret,
                    file,
                    created_now: false,
                    secure_cookie: settings.server.public_url.starts_with("https://"),
                    cookie_path: visitor_cookie_path(settings),
                });
            }
        }
    }
    let public = settings.server.public_url.trim_end_matches('/');
    let mut new = NewClient::sandbox("Kryptos Demo App");
    new.origins = vec![crate::app::origin_of(public)];
    new.redirect_uris = vec![format!("{public}/demo")];
    let (client, secret) = service.register_client(new).await.map_err(|e| e.to_string())?;
    let saved = DemoFile { client_id: client.id.to_string(), client_secret: secret.expose().to_owned() };
    let text = serde_json::to_string_pretty(&saved).map_err(|e| e.to_string())?;
    crate::secrets::write_private(&file, &text).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(DemoClient {
        client_id: saved.client_id,
        client_secret: saved.client_secret,
        file,
        created_now: true,
        secure_cookie: settings.server.public_url.starts_with("https://"),
        cookie_path: visitor_cookie_path(settings),
    })
}

/// The demo site's own backend, as the seed's backend guide builds it: it keeps each demo
/// user's access token and grant id (in memory), never sends them to the page, and calls
/// the Connect API with the demo client's credentials — through the same `ConnectApi` trait
/// a remote SDK implements. Each browser is its own demo user, known by an HttpOnly cookie,
/// so one visitor never sees (or revokes) another's grant.
pub fn backend_routes(api: std::sync::Arc<Service>, demo: &DemoClient) -> axum::Router {
    use axum::routing::{get, post};
    let state = DemoBackend {
        api,
        creds: kc_api::ClientCredentials::new(demo.client_id.clone(), demo.client_secret.clone()),
        visitors: std::sync::Arc::new(tokio::sync::Mutex::new(std::collections::HashMap::new())),
    };
    let secure = demo.secure_cookie;
    let path: std::sync::Arc<str> = demo.cookie_path.as_str().into();
    axum::Router::new()
        .route("/demo/api/create-link-token", post(create_link_token))
        .route("/demo/api/exchange-token", post(exchange_token))
        .route("/demo/api/session", get(session))
        .route("/demo/api/revoke", post(revoke))
        .route("/demo/api/holdings", get(holdings))
        .layer(axum::middleware::from_fn(move |req, next| visitor_cookie(secure, path.clone(), req, next)))
        .with_state(state)
}

/// The demo visitor's cookie.
const VISITOR_COOKIE: &str = "kc_demo_visitor";
/// Most demo users kept in memory; past it the oldest-looking entries are dropped.
const MAX_VISITORS: usize = 10_000;

/// The demo user of a request: the id in its cookie.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Visitor(String);

/// Gives every browser its own demo user: reads the visitor cookie, or sets a new random one.
async fn visitor_cookie(
    secure: bool,
    path: std::sync::Arc<str>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let existing = req
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(VISITOR_COOKIE)?.strip_prefix('='))
        .find(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let (id, fresh) = match existing {
        Some(id) => (id, false),
        None => (hex::encode(rand::random::<[u8; 16]>()), true),
    };
    req.extensions_mut().insert(Visitor(id.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let cookie = format!(
            "{VISITOR_COOKIE}={id}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=2592000{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    res
}

/// What the demo backend keeps for one demo user.
#[derive(Clone)]
struct Stored {
    access_token: String,
    grant_id: String,
    /// Disconnected: kept so the session check can report `token_revoked`; the next
    /// connection starts over as a new user.
    revoked: bool,
}

#[derive(Clone)]
struct DemoBackend {
    api: std::sync::Arc<Service>,
    creds: kc_api::ClientCredentials,
    visitors: std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<Visitor, Stored>>>,
}

impl DemoBackend {
    async fn stored(&self, v: &Visitor) -> Option<Stored> {
        self.visitors.lock().await.get(v).cloned()
    }

    async fn store(&self, v: Visitor, stored: Stored) {
        let mut map = self.visitors.lock().await;
        if map.len() >= MAX_VISITORS && !map.contains_key(&v) {
            if let Some(k) = map.keys().next().cloned() {
                map.remove(&k);
            }
        }
        map.insert(v, stored);
    }

    async fn forget(&self, v: &Visitor) {
        self.visitors.lock().await.remove(v);
    }
}

type DemoResult = Result<axum::Json<serde_json::Value>, (axum::http::StatusCode, axum::Json<serde_json::Value>)>;
type State = axum::extract::State<DemoBackend>;
type Who = axum::Extension<Visitor>;

fn demo_error(e: kc_api::ApiError) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let status =
        axum::http::StatusCode::from_u16(e.code.default_status()).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    (status, axum::Json(serde_json::json!({ "error": e.message, "code": e.code.as_str() })))
}

fn not_connected() -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "connected": false, "error": "Not connected yet" })),
    )
}

/// The demo user's holdings, through the Data API with the stored access token.
async fn holdings(axum::extract::State(s): State, axum::Extension(who): Who) -> DemoResult {
    let Some(stored) = s.stored(&who).await else {
        return Err(not_connected());
    };
    if stored.revoked {
        return Err((
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": "The grant was revoked", "code": "INVALID_TOKEN" })),
        ));
    }
    let meta = kc_api::RequestMeta::default();
    let token = kc_api::BearerToken::new(stored.access_token);
    match s.api.holdings(&s.creds, &token, &meta, kc_api::HoldingsQuery::default()).await {
        Ok(h) => Ok(axum::Json(serde_json::to_value(h).unwrap_or_default())),
        // The seed's rule: a 401 means the grant is gone; forget the token, link again.
        Err(e) if e.code == kc_api::ErrorCode::InvalidToken => {
            s.forget(&who).await;
            Err(demo_error(e))
        }
        Err(e) => Err(demo_error(e)),
    }
}

async fn create_link_token(axum::extract::State(s): State, axum::Extension(who): Who) -> DemoResult {
    let meta = kc_api::RequestMeta::default();
    // A disconnected user starts over: the revoked token is forgotten.
    let existing = s.stored(&who).await.filter(|e| !e.revoked);
    let mut req = kc_api::CreateLinkTokenRequest {
        access_token: existing.as_ref().map(|e| e.access_token.clone()),
        ..Default::default()
    };
    let res = match s.api.create_link_token(&s.creds, &meta, req.clone()).await {
        // The seed's revoked-grant handling: a dead token is forgotten and the user links again.
        Err(e) if e.code == kc_api::ErrorCode::InvalidToken => {
            s.forget(&who).await;
            req.access_token = None;
            s.api.create_link_token(&s.creds, &meta, req.clone()).await
        }
        other => other,
    }
    .map_err(demo_error)?;
    Ok(axum::Json(serde_json::json!({
        "link_token": res.link_token,
        "isAuthorized": req.access_token.is_some(),
        "client_id": s.creds.client_id,
    })))
}

async fn exchange_token(
    axum::extract::State(s): State,
    axum::Extension(who): Who,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> DemoResult {
    let public_token = body["public_token"].as_str().unwrap_or_default().to_owned();
    let meta = kc_api::RequestMeta::default();
    let res = s
        .api
        .exchange_public_token(&s.creds, &meta, kc_api::ExchangeRequest { public_token })
        .await
        .map_err(demo_error)?;
    s.store(who, Stored { access_token: res.access_token, grant_id: res.grant_id.clone(), revoked: false }).await;
    Ok(axum::Json(serde_json::json!({
        "grant_id": res.grant_id,
        "workspace_id": res.workspace_id,
        "scope": res.scope,
    })))
}

/// `check-session` for the stored token (after Disconnect: `token_revoked`).
async fn session(axum::extract::State(s): State, axum::Extension(who): Who) -> DemoResult {
    let Some(stored) = s.stored(&who).await else {
        return Err(not_connected());
    };
    let meta = kc_api::RequestMeta::default();
    let res = s
        .api
        .check_session(&s.creds, &meta, kc_api::CheckSessionRequest { access_token: stored.access_token })
        .await
        .map_err(demo_error)?;
    Ok(axum::Json(serde_json::to_value(res).unwrap_or_default()))
}

async fn revoke(axum::extract::State(s): State, axum::Extension(who): Who) -> DemoResult {
    let Some(stored) = s.stored(&who).await.filter(|e| !e.revoked) else {
        return Ok(axum::Json(serde_json::json!({ "revoked": false })));
    };
    let meta = kc_api::RequestMeta::default();
    s.api
        .revoke_grant(&s.creds, &meta, kc_api::RevokeRequest { grant_id: stored.grant_id.clone() })
        .await
        .map_err(demo_error)?;
    let grant_id = stored.grant_id.clone();
    s.store(who, Stored { revoked: true, ..stored }).await;
    Ok(axum::Json(serde_json::json!({ "revoked": true, "grant_id": grant_id })))
}
