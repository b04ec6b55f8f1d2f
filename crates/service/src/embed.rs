//! Kryptos Connect inside another program: [`Embedded::builder`] takes the adapters (any
//! store, mailer, chain registry, webhook sender, clock and randomness) and returns the
//! [`Service`] plus its background workers, which the host starts and stops.
//!
//! The HTTP side is `kc_http::router`, which the host mounts where it likes (under a prefix
//! such as `/kryptos`, with `public_url` ending in that prefix). `examples/embed` shows the
//! whole thing on the in-memory store.
//!
//! ```
//! # async fn demo() -> Result<(), String> {
//! use std::sync::Arc;
//! # let store = Arc::new(kc_store_memory::MemoryStore::default());
//! let embedded = kc_service::Embedded::builder(store, b"a pepper of at least 32 bytes....".to_vec())
//!     .public_url("http://127.0.0.1:3000/kryptos")
//!     .build()?;
//! let running = embedded.start();
//! // … serve kc_http::router(…) with embedded.service() …
//! running.stop().await;
//! # Ok(()) }
//! ```

use crate::ledger::{LedgerPorts, LedgerSettings};
use crate::mailer::Mailer;
use crate::retention::{AuditRetention, DeliveryRetention};
use crate::sync::{ChainRegistry, SyncSettings, SyncWorker};
use crate::webhooks::{DispatchSettings, WebhookDispatcher};
use crate::{Ports, Service};
use kc_domain::{Clock, CredentialCipher, SecretRng};
use kc_ports::exchange::ConnectorRegistry;
use kc_ports::{
    ConsoleStore, HistoricalPriceSource, HotPathStore, LedgerStore, OidcStore, PriceSource, StaticHistoricalPrices,
    Store, WalletProofStore, WebhookSender,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A store with every capability the embedded service uses: the core [`Store`], the request
/// hot paths, the ledger, the OpenID Connect provider, the developer console and wallet
/// proofs. `kc_store::SeaStore` and `kc_store_memory::MemoryStore` are both one.
pub trait FullStore:
    Store + HotPathStore + LedgerStore + OidcStore + ConsoleStore + WalletProofStore + 'static
{
}
impl<T: Store + HotPathStore + LedgerStore + OidcStore + ConsoleStore + WalletProofStore + 'static> FullStore for T {}

/// Configures an [`Embedded`] service. Every adapter has a default that does no I/O: the
/// logging mailer, the sandbox prices, no chain providers but the sandbox test addresses, no
/// exchange connectors, the system clock and OS randomness. Webhooks need a sender: without
/// one no dispatcher runs and deliveries wait in the outbox (nothing is lost).
pub struct EmbeddedBuilder {
    ports: Ports,
    oidc: Arc<dyn OidcStore>,
    pepper_len: usize,
    workers: Workers,
}

/// What runs in the background of one process, and how.
#[derive(Clone)]
pub struct Workers {
    /// Balances and history of on-chain integrations (the sandbox addresses always work).
    pub chains: ChainRegistry,
    /// Carries webhooks; `None`: no dispatcher runs and deliveries wait in the outbox.
    pub sender: Option<Arc<dyn WebhookSender>>,
    /// Prices ledger legs at past dates.
    pub historical_prices: Arc<dyn HistoricalPriceSource>,
    /// How many sync workers.
    pub sync_workers: usize,
    /// How many webhook dispatchers (with a sender).
    pub dispatchers: usize,
    /// Sync tuning.
    pub sync: SyncSettings,
    /// Webhook dispatch tuning.
    pub dispatch: DispatchSettings,
    /// Audit events older than this many days are deleted (0: kept forever).
    pub audit_retention_days: u32,
    /// How often the audit purge runs.
    pub audit_purge_interval: Duration,
    /// Delivered webhook deliveries are deleted after this many days (0: kept).
    pub delivered_retention_days: u32,
    /// Failed and cancelled deliveries are deleted after this many days (0: kept).
    pub failed_retention_days: u32,
    /// How often the delivery purge runs.
    pub delivery_purge_interval: Duration,
    /// Names this process's workers in claims and logs.
    pub name: String,
}

impl Default for Workers {
    /// One sync worker and one dispatcher (once a sender is set), the sandbox's historical
    /// prices, audit kept forever, deliveries kept 30 days (delivered) and 90 days (failed).
    fn default() -> Self {
        Self {
            chains: ChainRegistry::new(),
            sender: None,
            historical_prices: Arc::new(StaticHistoricalPrices::default()),
            sync_workers: 1,
            dispatchers: 1,
            sync: SyncSettings::default(),
            dispatch: DispatchSettings::default(),
            audit_retention_days: 0,
            audit_purge_interval: Duration::from_secs(3600),
            delivered_retention_days: 30,
            failed_retention_days: 90,
            delivery_purge_interval: Duration::from_secs(3600),
            name: format!("kc-{}", std::process::id()),
        }
    }
}

/// The service and its background workers, built and not yet running.
pub struct Embedded {
    service: Service,
    workers: Vec<SyncWorker>,
    dispatchers: Vec<WebhookDispatcher>,
    retention: Option<AuditRetention>,
    delivery_retention: Option<DeliveryRetention>,
}

/// Background workers the host started with [`Embedded::start`]; stop them with
/// [`Running::stop`] when the host shuts down.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Embedded {
    /// A builder on `store`, with `pepper` (at least 32 random bytes, the same on every node
    /// and kept across restarts) as the key client secrets are hashed with.
    pub fn builder<S: FullStore>(store: Arc<S>, pepper: Vec<u8>) -> EmbeddedBuilder {
        let pepper_len = pepper.len();
        let mut ports = Ports::system(store.clone(), pepper);
        ports.hot = store.clone();
        ports.ledger = Some(store.clone());
        ports.console = Some(store.clone());
        ports.wallet_proofs = Some(store.clone());
        EmbeddedBuilder { ports, oidc: store, pepper_len, workers: Workers::default() }
    }

    /// `service` with `workers` (what `kryptos-connect serve` runs, from its configuration).
    pub fn with_workers(service: Service, workers: Workers) -> Self {
        let chains = workers.chains.with_exchanges(service.ports.connectors.clone(), service.ports.cipher.clone());
        let ledger = service.ports.ledger.clone().map(|store| LedgerPorts {
            store,
            prices: workers.historical_prices.clone(),
            settings: LedgerSettings::default(),
        });
        let name = &workers.name;
        let sync_workers = (0..workers.sync_workers)
            .map(|n| {
                let worker = SyncWorker::new(
                    service.store().clone(),
                    chains.clone(),
                    service.ports.clock.clone(),
                    workers.sync.clone(),
                    format!("{name}-w{n}"),
                );
                let worker = worker.with_health(service.ports.provider_health.clone());
                match &ledger {
                    Some(l) => worker.with_ledger(l.clone()),
                    None => worker,
                }
            })
            .collect();
        let dispatchers = match &workers.sender {
            Some(sender) => (0..workers.dispatchers)
                .map(|n| service.webhook_dispatcher(sender.clone(), workers.dispatch.clone(), format!("{name}-d{n}")))
                .collect(),
            None => Vec::new(),
        };
        let retention =
            AuditRetention::new(service.clone(), workers.audit_retention_days, workers.audit_purge_interval);
        let delivery_retention = DeliveryRetention::new(
            service.clone(),
            workers.delivered_retention_days,
            workers.failed_retention_days,
            workers.delivery_purge_interval,
        );
        Self { service, workers: sync_workers, dispatchers, retention, delivery_retention }
    }

    /// The service: hand it to `kc_http::router` (it implements every `kc-api` trait), or
    /// call it directly.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Spawns the workers on the current Tokio runtime.
    pub fn start(self) -> Running {
        let (stop, stopped) = watch::channel(false);
        let mut tasks: Vec<JoinHandle<()>> =
            self.workers.into_iter().map(|w| tokio::spawn(w.run(stopped.clone()))).collect();
        tasks.extend(self.dispatchers.into_iter().map(|d| tokio::spawn(d.run(stopped.clone()))));
        tasks.extend(self.retention.map(|r| tokio::spawn(r.run(stopped.clone()))));
        tasks.extend(self.delivery_retention.map(|r| tokio::spawn(r.run(stopped.clone()))));
        Running { stop, tasks }
    }
}

impl Running {
    /// Asks every worker to stop after its current step, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "an embedded worker ended abnormally");
            }
        }
    }
}

impl EmbeddedBuilder {
    /// The externally visible base URL, including the prefix the router is mounted under
    /// (`https://app.example/kryptos`): links, wallet sign-in messages and OpenID Connect
    /// issuer URLs are built from it.
    pub fn public_url(mut self, url: &str) -> Self {
        self.ports.public_url = url.trim_end_matches('/').to_owned();
        self
    }

    /// Sends sign-in codes with `mailer` (default: logged, for development).
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.ports.mailer = mailer;
        self
    }

    /// Reads balances and history with `chains` (default: the sandbox test addresses only).
    pub fn chains(mut self, chains: ChainRegistry) -> Self {
        self.workers.chains = chains;
        self
    }

    /// Checks and reads exchange accounts with `connectors`.
    pub fn exchanges(mut self, connectors: Arc<ConnectorRegistry>) -> Self {
        self.ports.connectors = connectors;
        self
    }

    /// Prices holdings with `prices` (default: the sandbox's fixed table).
    pub fn prices(mut self, prices: Arc<dyn PriceSource>) -> Self {
        self.ports.prices = prices;
        self
    }

    /// Prices ledger legs at past dates with `prices` (default: the sandbox's fixed table).
    pub fn historical_prices(mut self, prices: Arc<dyn HistoricalPriceSource>) -> Self {
        self.workers.historical_prices = prices;
        self
    }

    /// Delivers webhooks through `sender`, with `dispatchers` concurrent dispatchers.
    pub fn webhooks(mut self, sender: Arc<dyn WebhookSender>, settings: DispatchSettings, dispatchers: usize) -> Self {
        self.workers.sender = Some(sender);
        self.workers.dispatch = settings;
        self.workers.dispatchers = dispatchers;
        self
    }

    /// Runs `workers` sync workers with `settings` (default: one).
    pub fn sync(mut self, workers: usize, settings: SyncSettings) -> Self {
        self.workers.sync_workers = workers;
        self.workers.sync = settings;
        self
    }

    /// Uses `clock` for every time-dependent rule.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.ports.clock = clock;
        self
    }

    /// Uses `rng` for tokens and ids.
    pub fn rng(mut self, rng: Arc<dyn SecretRng>) -> Self {
        self.ports.rng = rng;
        self
    }

    /// Seals exchange credentials and webhook secrets with `cipher` (default: an ephemeral
    /// key, so sealed values do not survive a restart — set one for anything persistent).
    pub fn cipher(mut self, cipher: Arc<CredentialCipher>) -> Self {
        self.ports.cipher = cipher;
        self
    }

    /// Sign-in methods the widget offers (default: `email` and `anonymous`).
    pub fn auth_methods(mut self, methods: &[&str]) -> Self {
        self.ports.auth_methods = methods.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// Deletes audit events older than `days` (default 0: kept forever).
    pub fn audit_retention_days(mut self, days: u32) -> Self {
        self.workers.audit_retention_days = days;
        self
    }

    /// Names this process's workers in claims and logs (default `kc-<pid>`).
    pub fn name(mut self, name: &str) -> Self {
        self.workers.name = name.to_owned();
        self
    }

    /// The full port set, for anything the builder does not name.
    pub fn ports_mut(&mut self) -> &mut Ports {
        &mut self.ports
    }

    /// Builds the service and its workers. Refuses a pepper shorter than 32 bytes and a public
    /// URL that is not `http(s)://host[:port][/prefix]`.
    pub fn build(self) -> Result<Embedded, String> {
        let Self { mut ports, oidc, pepper_len, workers } = self;
        if pepper_len < 32 {
            return Err(format!("the pepper must be at least 32 bytes, got {pepper_len}"));
        }
        let parsed = url::Url::parse(&ports.public_url).map_err(|e| format!("public_url: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.query().is_some() {
            return Err(format!("public_url must be http(s)://host[:port][/prefix], got {}", ports.public_url));
        }
        ports.catalog = Arc::new(crate::catalog::Catalog::builtin(&ports.public_url));
        ports.oidc = Some(Arc::new(crate::oidc::OidcProvider::new(oidc, &ports.public_url, ports.cipher.clone())));
        Ok(Embedded::with_workers(Service::new(ports), workers))
    }
}
