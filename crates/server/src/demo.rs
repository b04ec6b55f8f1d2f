//! The development demo client: created on first start, remembered in a 0600 file.

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
