//! [`Application`]: configuration in, a bound server out.

use kc_domain::Clock;
use kc_http::{AppState, HttpOptions};
use kc_service::config::Settings;
use kc_service::sync::SyncSettings;
use kc_service::webhooks::DispatchSettings;
use kc_service::{Embedded, Ports, Service, Workers};
use kc_store::{DatabaseSettings, SeaStore, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] StoreError),
    /// The pepper could not be loaded.
    #[error(transparent)]
    Pepper(#[from] crate::secrets::PepperError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Mail or credential-key configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The demo client could not be set up.
    #[error("demo client: {0}")]
    Demo(String),
    /// `environment = "production"` with settings that are only safe in development.
    #[error("refusing to start with environment = \"production\":\n  - {0}")]
    Production(String),
}

/// Adapters a test or an embedding system may swap.
#[derive(Clone, Default)]
pub struct Overrides {
    /// A clock to use instead of the system clock.
    pub clock: Option<Arc<dyn Clock>>,
}

/// A configured, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    port: u16,
    router: axum::Router,
    options: HttpOptions,
    service: Service,
    demo: Option<crate::demo::DemoClient>,
    background: Embedded,
    metrics: Option<crate::monitoring::Metrics>,
}

/// Connects to the configured database and applies migrations.
pub async fn connect_store(settings: &Settings) -> Result<SeaStore, StoreError> {
    let mut db = DatabaseSettings::new(settings.database_url());
    db.max_connections = settings.database.max_connections;
    db.acquire_timeout = Duration::from_secs(settings.database.acquire_timeout_secs);
    let store = SeaStore::connect(&db).await?;
    store.migrate().await?;
    Ok(store)
}

/// The service on the configured store and pepper (generating the pepper and credentials key
/// in the data directory on first use, unless configured).
pub async fn build_service(settings: &Settings, overrides: &Overrides) -> Result<Service, BuildError> {
    build_service_with(settings, overrides, crate::secrets::Missing::Generate).await
}

/// The service for an administration command: the SQLite database file must already exist
/// and no pepper or key is generated, so a command run from the wrong directory fails
/// instead of creating an empty database and new secrets.
pub async fn build_admin_service(settings: &Settings) -> Result<Service, BuildError> {
    crate::guards::require_existing_database(settings).map_err(BuildError::Config)?;
    build_service_with(settings, &Overrides::default(), crate::secrets::Missing::Refuse).await
}

async fn build_service_with(
    settings: &Settings,
    overrides: &Overrides,
    missing: crate::secrets::Missing,
) -> Result<Service, BuildError> {
    // A configured pepper file must exist; only the default one in the data directory is created.
    let missing_pepper =
        if settings.security.pepper_file.is_empty() { missing } else { crate::secrets::Missing::Refuse };
    let pepper = crate::secrets::load_pepper(&settings.security.pepper, &settings.pepper_path(), missing_pepper)?;
    let store = connect_store(settings).await?;
    let oidc_store: Arc<dyn kc_store::OidcStore> = Arc::new(store.clone());
    let ledger_store: Arc<dyn kc_store::LedgerStore> = Arc::new(store.clone());
    let hot_store: Arc<dyn kc_store::HotPathStore> = Arc::new(store.clone());
    let wallet_store: Arc<dyn kc_store::WalletProofStore> = Arc::new(store.clone());
    let console_store: Arc<dyn kc_store::ConsoleStore> = Arc::new(store.clone());
    let mut ports = Ports::system(Arc::new(store), pepper);
    ports.console = Some(console_store);
    ports.hot = hot_store;
    ports.ledger = Some(ledger_store);
    ports.ledger_prices = Some(crate::chains::historical_prices(settings).map_err(BuildError::Config)?);
    ports.wallet_proofs = Some(wallet_store);
    ports.public_url = settings.server.public_url.clone();
    ports.sandbox_verified_any_address = settings.widget.sandbox_verified_any_address;
    ports.auth_methods = settings.widget.auth_methods.clone();
    ports.mailer = crate::mail::mailer_from(&settings.mail).map_err(BuildError::Config)?;
    ports.cipher = Arc::new(
        crate::secrets::load_cipher(
            &settings.security.credentials_keys,
            &settings.security.credentials_active_key,
            &settings.data_dir.join("credentials.key"),
            missing,
        )
        .map_err(BuildError::Config)?,
    );
    let catalog = kc_service::catalog::Catalog::builtin(&settings.server.public_url)
        .with_availability(crate::chains::availability(settings));
    crate::chains::log_availability(&catalog);
    ports.catalog = Arc::new(catalog);
    ports.connectors = Arc::new(crate::chains::connectors(settings).map_err(BuildError::Config)?);
    if let Some(clock) = &overrides.clock {
        ports.clock = clock.clone();
    }
    ports.prices = crate::chains::prices(settings, ports.clock.clone()).map_err(BuildError::Config)?;
    ports.oidc = Some(Arc::new(kc_service::oidc::OidcProvider::new(
        oidc_store,
        &settings.server.public_url,
        ports.cipher.clone(),
    )));
    Ok(Service::new(ports))
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

impl Application {
    /// Builds from `settings` with the system clock.
    pub async fn build(settings: &Settings) -> Result<Self, BuildError> {
        Self::build_with(settings, Overrides::default()).await
    }

    /// Builds from `settings` with some adapters overridden. In production, refuses settings
    /// that are only safe in development (see [`crate::guards::production_problems`]).
    pub async fn build_with(settings: &Settings, overrides: Overrides) -> Result<Self, BuildError> {
        let problems = crate::guards::production_problems(settings);
        if !problems.is_empty() {
            return Err(BuildError::Production(problems.join("\n  - ")));
        }
        let service = build_service(settings, &overrides).await?;
        let options = HttpOptions {
            body_limit_bytes: settings.server.body_limit_bytes,
            request_timeout: Duration::from_secs(settings.server.request_timeout_secs),
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(settings.server.shutdown_grace_secs),
            auth_failures_per_minute: settings.security.auth_failures_per_minute,
            ip_auth_failures_per_minute: settings.security.ip_auth_failures_per_minute,
            auth_failure_max_delay: Duration::from_millis(settings.security.auth_failure_max_delay_ms),
            trusted_proxies: kc_http::parse_trusted_proxies(&settings.server.trusted_proxies)
                .map_err(BuildError::Config)?,
            forwarded_header: settings.server.forwarded_header.parse().map_err(BuildError::Config)?,
            hsts_max_age_secs: settings.server.hsts_max_age_secs,
            public_origin: origin_of(&settings.server.public_url),
            public_url: settings.server.public_url.clone(),
            environment: settings.environment.clone(),
            demo_enabled: settings.demo.enabled,
        };
        let addr = settings.server.listen.clone();
        let listener =
            TcpListener::bind(&addr).await.map_err(|source| BuildError::Bind { addr: addr.clone(), source })?;
        let port = listener.local_addr().map_err(|source| BuildError::Bind { addr, source })?.port();
        let demo = if settings.demo.enabled {
            Some(crate::demo::ensure_demo_client(&service, settings).await.map_err(BuildError::Demo)?)
        } else {
            None
        };
        let extra = match &demo {
            Some(d) => crate::demo::backend_routes(Arc::new(service.clone()), d),
            None => axum::Router::new(),
        };
        let metrics = crate::monitoring::Metrics::from_settings(&settings.server.metrics_listen)
            .await
            .map_err(BuildError::Config)?;
        let extra = match metrics.as_ref().and_then(crate::monitoring::Metrics::main_routes) {
            Some(routes) => extra.merge(routes),
            None => extra,
        };
        // Failure budgets in the database: shared by every node (see `crate::limits`).
        let budget = Arc::new(crate::limits::StoreFailureBudget::new(service.store().clone()));
        let state = AppState::with_failure_budget(Arc::new(service.clone()), options.clone(), budget);
        let router = kc_http::router(state, extra);
        let router = if metrics.is_some() { kc_http::observe::track_requests(router) } else { router };
        let dispatch = DispatchSettings::new(
            Duration::from_secs(settings.webhooks.timeout_secs.max(1)),
            settings.webhooks.max_attempts,
            Duration::from_millis(settings.webhooks.first_backoff_ms),
            Duration::from_millis(settings.webhooks.poll_interval_ms.max(10)),
        );
        let sender: Arc<dyn kc_ports::WebhookSender> =
            Arc::new(kc_webhook_sender::HttpWebhookSender::new(dispatch.timeout).map_err(BuildError::Config)?);
        let workers = Workers {
            chains: crate::chains::registry(settings).map_err(BuildError::Config)?,
            sender: Some(sender),
            historical_prices: crate::chains::historical_prices(settings).map_err(BuildError::Config)?,
            sync_workers: settings.sync.workers as usize,
            dispatchers: settings.webhooks.dispatchers as usize,
            sync: SyncSettings {
                poll_interval: Duration::from_millis(settings.sync.poll_interval_ms.max(10)),
                max_attempts: settings.sync.max_attempts.max(1),
                ..SyncSettings::default()
            },
            dispatch,
            audit_retention_days: settings.audit.retention_days,
            audit_purge_interval: Duration::from_secs(settings.audit.purge_interval_secs),
            delivered_retention_days: settings.webhooks.delivered_retention_days,
            failed_retention_days: settings.webhooks.failed_retention_days,
            delivery_purge_interval: Duration::from_secs(settings.webhooks.purge_interval_secs),
            name: format!("{}-{}", std::process::id(), port),
        };
        let background = Embedded::with_workers(service.clone(), workers);
        Ok(Self { listener, port, router, options, service, demo, background, metrics })
    }

    /// The port of the separate metrics listener (`server.metrics_listen` an address).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(crate::monitoring::Metrics::port)
    }

    /// The port actually bound (useful with `:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service, for in-process administration (and tests).
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The demo client, when the demo is enabled.
    pub fn demo(&self) -> Option<&crate::demo::DemoClient> {
        self.demo.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains gracefully.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = self.background.start();
        let mut tasks = Vec::new();
        if let Some(m) = self.metrics {
            tasks.extend(m.spawn(self.service.clone(), &stopped));
        }
        let served = kc_http::serve(self.listener, self.router, self.options, shutdown).await;
        let _ = stop.send(true);
        running.stop().await;
        for t in tasks {
            let _ = t.await;
        }
        served
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
