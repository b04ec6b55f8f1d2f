//! A host application that embeds Kryptos Connect: its own routes at `/`, Kryptos Connect's
//! whole HTTP surface (Connect API, widget, Data API, OIDC, console) nested under `/kryptos`,
//! on the in-memory store, with the sync workers and webhook dispatcher running beside it.
//!
//! What a host does, in order:
//! 1. bind its listener (the public URL must carry the port and the prefix);
//! 2. build the service with [`kc_service::Embedded::builder`] on any store implementing the
//!    ports (here [`MemoryStore`]) and the adapters it wants;
//! 3. mount `kc_http::router` under the prefix, with `public_url` ending in that prefix;
//! 4. serve with `into_make_service_with_connect_info::<SocketAddr>()` — the failed-auth
//!    limiter counts per source IP, which it reads from `ConnectInfo`;
//! 5. start the workers, and stop them after the server drains.

use axum::routing::get;
use axum::Router;
use kc_http::{AppState, HttpOptions};
use kc_service::webhooks::DispatchSettings;
use kc_service::{Embedded, Service};
use kc_store_memory::MemoryStore;
use rand::RngCore as _;
use std::sync::Arc;

/// Where Kryptos Connect is mounted in the host.
pub const PREFIX: &str = "/kryptos";

/// The host's router (its own `/` plus Kryptos Connect under [`PREFIX`]) and the embedded
/// service with its not-yet-started workers, for a host reachable at `origin`
/// (`http://127.0.0.1:3000`).
pub fn host(origin: &str) -> Result<(Router, Embedded), String> {
    let public_url = format!("{}{PREFIX}", origin.trim_end_matches('/'));
    let mut pepper = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut pepper);
    let sender = kc_webhook_sender::HttpWebhookSender::new(std::time::Duration::from_secs(10))?;
    let embedded = Embedded::builder(Arc::new(MemoryStore::default()), pepper)
        .public_url(&public_url)
        .webhooks(Arc::new(sender), DispatchSettings::default(), 1)
        .build()?;
    let options = HttpOptions { public_origin: origin.to_owned(), public_url, ..HttpOptions::default() };
    let kryptos = kc_http::router(AppState::new(Arc::new(embedded.service().clone()), options), Router::new());
    let router = Router::new().route("/", get(home)).nest(PREFIX, kryptos);
    Ok((router, embedded))
}

/// Registers a sandbox app (the host's own backend would keep these credentials).
pub async fn sandbox_app(service: &Service, name: &str) -> Result<(String, String), String> {
    let (client, secret) =
        service.register_client(kc_service::NewClient::sandbox(name)).await.map_err(|e| e.to_string())?;
    Ok((client.id.to_string(), secret.expose().to_owned()))
}

async fn home() -> &'static str {
    "The host application. Kryptos Connect lives under /kryptos (try /kryptos/api/health)."
}
