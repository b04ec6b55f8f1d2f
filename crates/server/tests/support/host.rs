//! A host app embedding Kryptos Connect (shared by `tests/it/prefix.rs` and the browser test
//! `tests/e2e/prefix.rs`): the service built with `build_service` on a fresh SQLite file, its
//! router (`kc_http::router`) nested under `/kryptos` in a host `Router` that has routes of its
//! own, served by plain `axum::serve` with `into_make_service_with_connect_info::<SocketAddr>()`
//! — no `kc_http::serve`, no `Application` — and a sync worker the host runs beside it.

use crate::helpers::*;
use axum::routing::get;
use axum::Router;
use kc_http::{AppState, HttpOptions};
use kc_server::app::{build_service, Overrides};
use kc_service::config::Settings;
use kc_service::{NewClient, Service};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where the host app mounts Kryptos Connect.
pub(crate) const PREFIX: &str = "/kryptos";

/// What the host app answers at its own `/`.
pub(crate) const HOST_HOME: &str = "the host app's own home page";

/// A host app on 127.0.0.1 with Kryptos Connect nested under [`PREFIX`].
pub(crate) struct HostApp {
    /// `http://127.0.0.1:PORT` (the host's origin).
    pub origin: String,
    /// `http://127.0.0.1:PORT/kryptos`, as a [`Node`] (every helper path goes under it).
    pub kc: Node,
    pub service: Service,
    pub settings: Settings,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HostApp {
    /// `origin` + `path` (a host URL, outside the prefix).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// `origin` + `/kryptos` + `path`.
    pub fn kc_url(&self, path: &str) -> String {
        format!("{}{PREFIX}{path}", self.origin)
    }
}

impl Drop for HostApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Builds the service on a fresh SQLite file (`adjust` may change the settings), nests its
/// router under `/kryptos` beside `host_routes` and the host's own `/`, and serves it with
/// `axum::serve` and `ConnectInfo<SocketAddr>`. A sync worker runs beside it, as a host runs
/// the service's workers. With `demo.enabled` (set by `adjust`), the demo site and its
/// backend (`kc_server::demo`) are served under the prefix too.
pub(crate) async fn start_host(adjust: impl FnOnce(&mut Settings), host_routes: Router) -> HostApp {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let origin = format!("http://127.0.0.1:{port}");
    let mut settings = test_settings(&url, &dir);
    settings.server.public_url = format!("{origin}{PREFIX}");
    settings.sync.poll_interval_ms = 20;
    adjust(&mut settings);
    let service = build_service(&settings, &Overrides::default()).await.expect("the service builds");

    let options = HttpOptions {
        public_origin: origin.clone(),
        public_url: settings.server.public_url.clone(),
        auth_failures_per_minute: settings.security.auth_failures_per_minute,
        ip_auth_failures_per_minute: settings.security.ip_auth_failures_per_minute,
        auth_failure_max_delay: Duration::from_millis(settings.security.auth_failure_max_delay_ms),
        demo_enabled: settings.demo.enabled,
        ..HttpOptions::default()
    };
    assert_eq!(options.base_path(), PREFIX, "the base path is the path of public_url");
    let extra = if settings.demo.enabled {
        let demo = kc_server::demo::ensure_demo_client(&service, &settings).await.expect("the demo client");
        assert_eq!(demo.cookie_path, format!("{PREFIX}/demo"), "the demo's cookie is scoped under the prefix");
        kc_server::demo::backend_routes(Arc::new(service.clone()), &demo)
    } else {
        Router::new()
    };
    let kc = kc_http::router(AppState::new(Arc::new(service.clone()), options), extra);
    let app = Router::new().route("/", get(|| async { HOST_HOME })).merge(host_routes).nest(PREFIX, kc);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
            .expect("axum::serve runs");
    });
    let chains = kc_server::chains::registry(&settings)
        .expect("chain registry")
        .with_exchanges(service.connectors().clone(), service.cipher().clone());
    let sync = kc_service::sync::SyncSettings {
        poll_interval: Duration::from_millis(settings.sync.poll_interval_ms),
        ..Default::default()
    };
    let worker = kc_service::sync::SyncWorker::new(
        service.store().clone(),
        chains,
        Arc::new(kc_domain::SystemClock),
        sync,
        format!("prefix-test-{port}"),
    );
    let worker = tokio::spawn(worker.run(stopped));
    HostApp {
        kc: Node::new(&format!("{origin}{PREFIX}")),
        origin,
        service,
        settings,
        stop: Some(stop),
        tasks: vec![server, worker],
    }
}

/// Registers a sandbox client whose widget the host's own origin may embed.
pub(crate) async fn host_client(host: &HostApp) -> Creds {
    let mut new = NewClient::sandbox("Host app");
    new.origins = vec![host.origin.clone()];
    let (c, secret) = host.service.register_client(new).await.expect("register client");
    Creds { id: c.id.to_string(), secret: secret.expose().to_owned() }
}
