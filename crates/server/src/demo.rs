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
    Ok(DemoClient { client_id: saved.client_id, client_secret: saved.client_secret, file, created_now: true })
}

/// The demo site's own backend, as the seed's backend guide builds it: it keeps the
/// (single, in-memory) demo user's access token and grant id, never sends them to the page,
/// and calls the Connect API with the demo client's credentials — through the same
/// `ConnectApi` trait a remote SDK implements.
pub fn backend_routes(api: std::sync::Arc<Service>, demo: &DemoClient) -> axum::Router {
    use axum::routing::{get, post};
    let state = DemoBackend {
        api,
        creds: kc_api::ClientCredentials::new(demo.client_id.clone(), demo.client_secret.clone()),
        stored: std::sync::Arc::new(tokio::sync::Mutex::new(None)),
    };
    axum::Router::new()
        .route("/demo/api/create-link-token", post(create_link_token))
        .route("/demo/api/exchange-token", post(exchange_token))
        .route("/demo/api/session", get(session))
        .route("/demo/api/revoke", post(revoke))
        .route("/demo/api/holdings", get(holdings))
        .with_state(state)
}

/// What the demo backend keeps for its one user.
#[derive(Clone)]
struct Stored {
    access_token: String,
    grant_id: String,
}

#[derive(Clone)]
struct DemoBackend {
    api: std::sync::Arc<Service>,
    creds: kc_api::ClientCredentials,
    stored: std::sync::Arc<tokio::sync::Mutex<Option<Stored>>>,
}

type DemoResult = Result<axum::Json<serde_json::Value>, (axum::http::StatusCode, axum::Json<serde_json::Value>)>;

fn demo_error(e: kc_api::ApiError) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let status =
        axum::http::StatusCode::from_u16(e.code.default_status()).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    (status, axum::Json(serde_json::json!({ "error": e.message, "code": e.code.as_str() })))
}

/// The demo user's holdings, through the Data API with the stored access token.
async fn holdings(axum::extract::State(s): axum::extract::State<DemoBackend>) -> DemoResult {
    let Some(stored) = s.stored.lock().await.clone() else {
        return Err((
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "connected": false, "error": "Not connected yet" })),
        ));
    };
    let meta = kc_api::RequestMeta::default();
    let token = kc_api::BearerToken::new(stored.access_token);
    match s.api.holdings(&s.creds, &token, &meta, kc_api::HoldingsQuery::default()).await {
        Ok(h) => Ok(axum::Json(serde_json::to_value(h).unwrap_or_default())),
        // The seed's rule: a 401 means the grant is gone; forget the token, link again.
        Err(e) if e.code == kc_api::ErrorCode::InvalidToken => {
            *s.stored.lock().await = None;
            Err(demo_error(e))
        }
        Err(e) => Err(demo_error(e)),
    }
}

async fn create_link_token(axum::extract::State(s): axum::extract::State<DemoBackend>) -> DemoResult {
    let meta = kc_api::RequestMeta::default();
    let existing = s.stored.lock().await.clone();
    let mut req = kc_api::CreateLinkTokenRequest {
        access_token: existing.as_ref().map(|e| e.access_token.clone()),
        ..Default::default()
    };
    let res = match s.api.create_link_token(&s.creds, &meta, req.clone()).await {
        // The seed's revoked-grant handling: a dead token is forgotten and the user links again.
        Err(e) if e.code == kc_api::ErrorCode::InvalidToken => {
            *s.stored.lock().await = None;
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
    axum::extract::State(s): axum::extract::State<DemoBackend>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> DemoResult {
    let public_token = body["public_token"].as_str().unwrap_or_default().to_owned();
    let meta = kc_api::RequestMeta::default();
    let res = s
        .api
        .exchange_public_token(&s.creds, &meta, kc_api::ExchangeRequest { public_token })
        .await
        .map_err(demo_error)?;
    *s.stored.lock().await = Some(Stored { access_token: res.access_token, grant_id: res.grant_id.clone() });
    Ok(axum::Json(serde_json::json!({
        "grant_id": res.grant_id,
        "workspace_id": res.workspace_id,
        "scope": res.scope,
    })))
}

async fn session(axum::extract::State(s): axum::extract::State<DemoBackend>) -> DemoResult {
    let Some(stored) = s.stored.lock().await.clone() else {
        return Err((
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "connected": false, "error": "Not connected yet" })),
        ));
    };
    let meta = kc_api::RequestMeta::default();
    let res = s
        .api
        .check_session(&s.creds, &meta, kc_api::CheckSessionRequest { access_token: stored.access_token })
        .await
        .map_err(demo_error)?;
    Ok(axum::Json(serde_json::to_value(res).unwrap_or_default()))
}

async fn revoke(axum::extract::State(s): axum::extract::State<DemoBackend>) -> DemoResult {
    let Some(stored) = s.stored.lock().await.take() else {
        return Ok(axum::Json(serde_json::json!({ "revoked": false })));
    };
    let meta = kc_api::RequestMeta::default();
    s.api
        .revoke_grant(&s.creds, &meta, kc_api::RevokeRequest { grant_id: stored.grant_id.clone() })
        .await
        .map_err(demo_error)?;
    Ok(axum::Json(serde_json::json!({ "revoked": true, "grant_id": stored.grant_id })))
}
