//! The sync worker: claims jobs from the database, fetches balances through the chain
//! providers, stores snapshots, retries with backoff. Every server process runs workers;
//! the store's claim guarantees no job is processed twice at once.

use crate::ledger::{HistoryReader, Ingested, LedgerPorts};
use kc_domain::{Clock, CredentialCipher, SANDBOX_ETHEREUM_ADDRESS, SANDBOX_SOLANA_ADDRESS};
use kc_ports::exchange::{ConnectorRegistry, ExchangeConnector, ExchangeCredentials, ExchangeError};
use kc_ports::{Balance, Chain, ChainError, ChainProvider, SandboxHistory, SandboxProvider, TransactionSource};
use kc_ports::{SnapshotRow, Store, StoreError, SyncJob};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which provider reads which chain.
#[derive(Clone, Default)]
pub struct ChainRegistry {
    providers: HashMap<Chain, Arc<dyn ChainProvider>>,
    histories: HashMap<Chain, Arc<dyn TransactionSource>>,
    /// Exchange connectors and the cipher that opens the stored credentials (and sealed
    /// Bitcoin extended keys).
    exchanges: Option<(Arc<ConnectorRegistry>, Arc<CredentialCipher>)>,
}

impl ChainRegistry {
    /// An empty registry: only the sandbox test addresses can be synced.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `provider.chain()` with `provider`.
    pub fn with(mut self, provider: Arc<dyn ChainProvider>) -> Self {
        self.providers.insert(provider.chain(), provider);
        self
    }

    /// Syncs exchange accounts with `connectors`, opening their sealed credentials (and
    /// sealed Bitcoin extended keys) with `cipher`.
    pub fn with_exchanges(mut self, connectors: Arc<ConnectorRegistry>, cipher: Arc<CredentialCipher>) -> Self {
        self.exchanges = Some((connectors, cipher));
        self
    }

    /// Reads the transaction history of `source.chain()` with `source`.
    pub fn with_history(mut self, source: Arc<dyn TransactionSource>) -> Self {
        self.histories.insert(source.chain(), source);
        self
    }

    /// The history source for an address on `chain`: the sandbox history for the two
    /// documented test addresses, else the configured adapter, if any.
    fn history_for_address(&self, chain: Chain, address: &str) -> Option<Arc<dyn TransactionSource>> {
        if is_sandbox(chain, address) {
            return Some(Arc::new(SandboxHistory::new(chain)));
        }
        self.histories.get(&chain).cloned()
    }

    /// The chains with a configured provider.
    pub fn chains(&self) -> Vec<Chain> {
        self.providers.keys().copied().collect()
    }

    /// The provider for an address on `chain`: the sandbox for the two documented test
    /// addresses, else the configured adapter.
    fn for_address(&self, chain: Chain, address: &str) -> Option<Arc<dyn ChainProvider>> {
        if is_sandbox(chain, address) {
            return Some(Arc::new(SandboxProvider::new(chain)));
        }
        self.providers.get(&chain).cloned()
    }
}

/// Where the history of an integration comes from.
#[derive(Clone, Copy)]
enum History<'a> {
    /// An address on a chain (through the chain's history source).
    Chain(Chain, &'a str),
    /// An exchange account (through its connector).
    Exchange(&'a dyn ExchangeConnector, &'a ExchangeCredentials),
}

/// Whether `address` on `chain` is one of the two sandbox test addresses.
fn is_sandbox(chain: Chain, address: &str) -> bool {
    (chain == Chain::Ethereum && address.eq_ignore_ascii_case(SANDBOX_ETHEREUM_ADDRESS))
        || (chain == Chain::Solana && address == SANDBOX_SOLANA_ADDRESS)
}

/// Worker tuning.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How long an idle worker waits before polling again.
    pub poll_interval: Duration,
    /// How long a claim holds before another worker may take the job over.
    pub lease: Duration,
    /// Attempts before a job fails for good.
    pub max_attempts: i32,
    /// Backoff after the first failed attempt; it quadruples each time.
    pub first_backoff: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(120),
            max_attempts: 5,
            first_backoff: Duration::from_secs(5),
        }
    }
}

/// One worker.
pub struct SyncWorker {
    store: Arc<dyn Store>,
    chains: ChainRegistry,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
    id: String,
    ledger: Option<LedgerPorts>,
    health: Option<Arc<crate::provider_health::ProviderHealth>>,
}

/// Why a job cannot succeed, and whether trying again might help.
enum JobFailure {
    Retry(String),
    /// Retryable, not before the given wait (the provider said so).
    RetryAfter(String, Duration),
    Permanent(String),
}

/// One stage of a sync as `lastSyncLogDetails` shows it (stored with the integration's
/// ledger state, merged into the Data API's integration object).
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StageLog {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    /// For the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The technical reason of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
    /// When a failed history read is tried again (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
    /// The workspace's transaction import cap stopped it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    limit_exceeded: bool,
}

impl StageLog {
    fn new(status: &'static str) -> Self {
        Self { status, ..Self::default() }
    }

    fn count(self, n: usize) -> Self {
        Self { count: Some(n), ..self }
    }

    fn message(self, message: impl Into<String>) -> Self {
        Self { message: Some(message.into()), ..self }
    }

    fn value(self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What a sync fetched: the balances, and when to come back for a stage that must wait (the
/// history, after a rate limit or an unreachable source).
struct Fetched {
    rows: Vec<SnapshotRow>,
    again_at: Option<time::OffsetDateTime>,
}

fn rows_from(balances: Vec<Balance>) -> Vec<SnapshotRow> {
    balances
        .into_iter()
        .map(|b| SnapshotRow {
            token_id: b.asset.token_id,
            symbol: b.asset.symbol,
            public_name: b.asset.public_name,
            chain_id: b.asset.chain_id,
            contract_address: b.asset.contract_address,
            logo_url: b.asset.logo_url,
            category: b.asset.category,
            asset_type: b.asset.asset_type,
            decimals: b.asset.decimals,
            quantity: b.quantity.normalize().to_string(),
        })
        .collect()
}

impl SyncWorker {
    /// A worker named `id` (unique per process and task).
    pub fn new(
        store: Arc<dyn Store>,
        chains: ChainRegistry,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
        id: String,
    ) -> Self {
        Self { store, chains, clock, settings, id, ledger: None, health: None }
    }

    /// Records in `health` whether each sync reached its provider (for `/readyz`).
    pub fn with_health(mut self, health: Arc<crate::provider_health::ProviderHealth>) -> Self {
        self.health = Some(health);
        self
    }

    /// Notes that a sync reached `provider` (`down: None`) or could not (`Some(cause)`).
    fn note(&self, provider: &str, down: Option<&str>) {
        if let Some(h) = &self.health {
            match down {
                None => h.reached(provider, self.clock.now()),
                Some(cause) => h.unreachable(provider, cause, self.clock.now()),
            }
        }
    }

    /// Also keeps the transaction ledger: after the balances, each sync fetches the
    /// integration's history, then runs transfer detection and cost basis for its workspace.
    pub fn with_ledger(mut self, ledger: LedgerPorts) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Processes at most one due job; `Ok(true)` if one was processed.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let lease = time::Duration::try_from(self.settings.lease).unwrap_or(time::Duration::minutes(2));
        let Some(job) = self.store.claim_sync_job(&self.id, now, lease).await? else {
            return Ok(false);
        };
        let span =
            tracing::info_span!("sync_job", job = job.id, integration = %job.integration_id, attempt = job.attempts);
        let _guard = span.enter();
        match self.fetch(&job).await {
            Ok(Fetched { rows, again_at }) => {
                let n = rows.len();
                if self.store.finish_sync_job(&job, &self.id, &rows, again_at, self.clock.now()).await? {
                    tracing::info!(assets = n, follow_up = ?again_at, "integration synced");
                } else {
                    tracing::warn!("lost the job's lease before finishing; another worker owns it");
                }
            }
            Err(JobFailure::Retry(msg)) if job.attempts < self.settings.max_attempts => {
                self.retry_later(&job, &msg, None).await?;
            }
            Err(JobFailure::RetryAfter(msg, asked)) if job.attempts < self.settings.max_attempts => {
                self.retry_later(&job, &msg, Some(asked)).await?;
            }
            Err(JobFailure::Retry(msg) | JobFailure::RetryAfter(msg, _) | JobFailure::Permanent(msg)) => {
                tracing::warn!(error = %msg, "sync failed for good");
                self.store.fail_sync_job(&job, &self.id, &msg, None, self.clock.now()).await?;
            }
        }
        Ok(true)
    }

    /// Schedules `job` again after the backoff (5 s, then 4× more each attempt, at most 10 min),
    /// or after what the provider `asked` when that is longer (a rate limit's `Retry-After`,
    /// at most a day).
    async fn retry_later(&self, job: &SyncJob, msg: &str, asked: Option<Duration>) -> Result<(), StoreError> {
        let (retry_at, wait) = self.retry_time(job, asked);
        tracing::warn!(error = %msg, retry_in_s = wait.as_secs(), "sync failed; will retry");
        self.store.fail_sync_job(job, &self.id, msg, Some(retry_at), self.clock.now()).await.map(drop)
    }

    /// When to try `job` again, and the wait: the backoff of its attempt, or what the provider
    /// `asked` when that is longer.
    fn retry_time(&self, job: &SyncJob, asked: Option<Duration>) -> (time::OffsetDateTime, Duration) {
        let factor = 4u32.saturating_pow(u32::try_from(job.attempts.max(1) - 1).unwrap_or(0));
        let backoff = self.settings.first_backoff.saturating_mul(factor).min(Duration::from_secs(600));
        let wait = backoff.max(asked.unwrap_or_default().min(Duration::from_secs(86_400)));
        (self.clock.now() + time::Duration::try_from(wait).unwrap_or(time::Duration::minutes(10)), wait)
    }

    async fn fetch(&self, job: &SyncJob) -> Result<Fetched, JobFailure> {
        let integration = self
            .store
            .find_integration(&job.integration_id)
            .await
            .map_err(|e| JobFailure::Retry(format!("storage: {e}")))?
            .ok_or_else(|| JobFailure::Permanent("integration no longer exists".to_owned()))?;
        if integration.category == "exchange" {
            return self.fetch_exchange(job, &integration).await;
        }
        let chain = Chain::from_str(&integration.provider)
            .map_err(|_| JobFailure::Permanent(format!("no chain adapter for provider {}", integration.provider)))?;
        // A Bitcoin extended public key is stored sealed, like exchange credentials.
        let opened = match (&integration.address, &integration.credentials) {
            (None, Some(sealed)) => Some(self.open(sealed, &integration.id)?),
            _ => None,
        };
        let address = opened.as_deref().or(integration.address.as_deref()).unwrap_or_default();
        let provider = self.chains.for_address(chain, address).ok_or_else(|| {
            JobFailure::Permanent(format!(
                "No RPC endpoint is configured for {}; ask the operator to set one",
                chain.id()
            ))
        })?;
        let sandbox = is_sandbox(chain, address);
        let rows = match provider.balances(address).await {
            Ok(balances) => {
                if !sandbox {
                    self.note(&integration.provider, None);
                }
                rows_from(balances)
            }
            Err(ChainError::UnsupportedAddress) => {
                return Err(JobFailure::Permanent(format!("{address} is not a valid {} address", chain.id())))
            }
            Err(e) => {
                if !sandbox {
                    self.note(&integration.provider, Some(&e.to_string()));
                }
                return Err(JobFailure::Retry(e.to_string()));
            }
        };
        let again_at = match &self.ledger {
            Some(ledger) => {
                self.keep_ledger(ledger, job, &integration, History::Chain(chain, address), rows.len()).await?
            }
            None => None,
        };
        Ok(Fetched { rows, again_at })
    }

    /// Opens a sealed secret of integration `id` (credentials JSON, an extended key).
    fn open(&self, sealed: &kc_domain::Sealed, id: &str) -> Result<String, JobFailure> {
        let Some((_, cipher)) = &self.chains.exchanges else {
            return Err(JobFailure::Permanent("This account cannot be synced on this server".to_owned()));
        };
        let plain = cipher.open(sealed, id).map_err(|e| {
            tracing::error!(error = %e, "cannot open sealed credentials (credentials key missing or rotated away?)");
            JobFailure::Permanent(
                "The stored credentials of this account can no longer be read; remove it and add it again".to_owned(),
            )
        })?;
        String::from_utf8(plain)
            .map_err(|_| JobFailure::Permanent("The stored credentials of this account are damaged".to_owned()))
    }

    /// The balances of an exchange account, through its connector. A failure is told to the
    /// user in plain words (`message`); its technical cause goes to the log and to
    /// `lastSyncLogDetails.Balances.cause`.
    async fn fetch_exchange(
        &self,
        job: &SyncJob,
        integration: &kc_ports::IntegrationRecord,
    ) -> Result<Fetched, JobFailure> {
        let Some((connectors, _)) = &self.chains.exchanges else {
            return Err(JobFailure::Permanent("This exchange cannot be synced on this server".to_owned()));
        };
        let connector = connectors.get(&integration.provider).ok_or_else(|| {
            tracing::warn!(provider = %integration.provider, "no connector for this exchange");
            JobFailure::Permanent("This exchange cannot be synced on this server".to_owned())
        })?;
        let sealed = integration
            .credentials
            .as_ref()
            .ok_or_else(|| JobFailure::Permanent("This account has no stored API key; add it again".to_owned()))?;
        let json: serde_json::Value = serde_json::from_str(&self.open(sealed, &integration.id)?)
            .map_err(|_| JobFailure::Permanent("The stored credentials of this account are damaged".to_owned()))?;
        let field = |name: &str| json.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
        let credentials = ExchangeCredentials {
            api_key: field("apiKey").unwrap_or_default(),
            secret: field("secretKey").unwrap_or_default().into(),
            passphrase: field("password").map(Into::into),
        };
        let stages = |balances: StageLog| {
            let mut o = serde_json::Map::new();
            if balances.status == "COMPLETED" {
                let skipped = StageLog::new("SKIPPED").message("The transaction ledger is not enabled on this server");
                o.insert("Transactions".to_owned(), skipped.value());
            }
            o.insert("Balances".to_owned(), balances.value());
            serde_json::Value::Object(o).to_string()
        };
        let save = |text: String| async move {
            if let Some(ledger) = &self.ledger {
                let now = self.clock.now();
                if let Err(e) =
                    ledger.store.set_ledger_stages(&integration.workspace_id, &integration.id, &text, None, now).await
                {
                    tracing::warn!(error = %e, "could not record the sync stages");
                }
            }
        };
        let outcome = connector.balances(&credentials).await;
        match &outcome {
            // The exchange could not be reached, or this server's clock is refused: every
            // account of it fails alike, which the operator should know.
            Err(e @ (ExchangeError::Transport(_) | ExchangeError::Maintenance(_) | ExchangeError::ClockSkew(_))) => {
                self.note(&integration.provider, Some(&e.to_string()))
            }
            // It answered (a good key, or one it refused): reachable.
            _ => self.note(&integration.provider, None),
        }
        match outcome {
            Ok(balances) => {
                let rows = rows_from(balances);
                let again_at = match &self.ledger {
                    Some(ledger) => {
                        let history = History::Exchange(connector.as_ref(), &credentials);
                        self.keep_ledger(ledger, job, integration, history, rows.len()).await?
                    }
                    None => {
                        save(stages(StageLog::new("COMPLETED").count(rows.len()))).await;
                        None
                    }
                };
                Ok(Fetched { rows, again_at })
            }
            Err(e) => {
                let user = e.user_message(connector.name());
                tracing::warn!(exchange = connector.id(), error = %e, retryable = e.is_retryable(), "exchange sync failed");
                save(stages(StageLog { cause: Some(e.to_string()), ..StageLog::new("FAILED").message(user.clone()) }))
                    .await;
                Err(match e {
                    ExchangeError::RateLimited { retry_after: Some(asked), .. } => JobFailure::RetryAfter(user, asked),
                    _ if e.is_retryable() => JobFailure::Retry(user),
                    _ => JobFailure::Permanent(user),
                })
            }
        }
    }

    /// The ledger stages of a sync (see [`crate::ledger`]), recorded for `lastSyncLog`. A
    /// history source or processing error is recorded as a `FAILED` stage with its message and
    /// the balances still land. When waiting may mend the history (a rate limit, a source
    /// that could not be reached) and the job has attempts left, it answers when the job
    /// should come back (`retryAt` in the stage): after the backoff, or after what the provider
    /// asked. The history then resumes from the stored cursor.
    async fn keep_ledger(
        &self,
        ledger: &LedgerPorts,
        job: &SyncJob,
        integration: &kc_ports::IntegrationRecord,
        history: History<'_>,
        assets: usize,
    ) -> Result<Option<time::OffsetDateTime>, JobFailure> {
        let ws = &integration.workspace_id;
        let mut stages = serde_json::Map::new();
        stages.insert("Balances".to_owned(), StageLog::new("COMPLETED").count(assets).value());
        let save = |stages: serde_json::Map<String, serde_json::Value>, total: Option<i64>| async move {
            let text = serde_json::Value::Object(stages).to_string();
            if let Err(e) = ledger.store.set_ledger_stages(ws, &integration.id, &text, total, self.clock.now()).await {
                tracing::warn!(error = %e, "could not record the sync stages");
            }
        };
        let from_start = job.mode == "from_start";
        let clock = self.clock.as_ref();
        let mut changed = from_start;
        // The workspace's transaction import cap (a guest's grant with its limiter on).
        let cap = self
            .store
            .workspace_transaction_limit(ws, self.clock.now())
            .await
            .map_err(|e| JobFailure::Retry(format!("storage: {e}")))?;
        // The chain's history source, kept alive for the reader that borrows it.
        let source;
        let (reader, name) = match history {
            History::Chain(chain, address) => {
                let Some(found) = self.chains.history_for_address(chain, address) else {
                    let why = format!("No transaction history source is configured for {}", chain.id());
                    stages.insert("Transactions".to_owned(), StageLog::new("SKIPPED").message(why).value());
                    save(stages, None).await;
                    return Ok(None);
                };
                source = found;
                (HistoryReader::Chain(source.as_ref(), address), "The history source")
            }
            History::Exchange(connector, credentials) => {
                (HistoryReader::Exchange(connector, credentials), connector.name())
            }
        };
        let ingested = crate::ledger::ingest(ledger, reader, ws, &integration.id, from_start, cap, clock).await;
        let mut again_at = None;
        let transactions = match ingested {
            Ok(Ingested { added, limit_reached: false }) => {
                changed |= added > 0;
                StageLog::new("COMPLETED").count(added as usize)
            }
            Ok(Ingested { added, limit_reached: true }) => {
                // The reference's words for it, and `limitExceeded` on the stage.
                changed |= added > 0;
                tracing::info!(added, ?cap, "transaction import cap reached");
                let message = format!(
                    "Unable to fetch transactions for {} due to transaction limit reached, kindly update your plan",
                    integration.provider
                );
                StageLog { limit_exceeded: true, ..StageLog::new("FAILED").count(added as usize).message(message) }
            }
            Err(e) => {
                // The balances are good: they land. The user reads plain words; the
                // technical cause is kept. Waiting may mend it: the job comes back then.
                let failed = StageLog { cause: Some(e.to_string()), ..StageLog::new("FAILED") };
                match e.wait() {
                    Some(asked) if job.attempts < self.settings.max_attempts => {
                        let (at, _) = self.retry_time(job, asked);
                        again_at = Some(at);
                        let at = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                        tracing::warn!(error = %e, retry_at = %at, "transaction history not fetched; balances land, history retried");
                        StageLog { retry_at: Some(at), ..failed.message(e.user_message(name)) }
                    }
                    Some(_) => {
                        tracing::warn!(error = %e, attempts = job.attempts, "transaction history not fetched; attempts spent");
                        failed.message(format!(
                            "The transaction history could not be read in {} attempts; it resumes at the next sync.",
                            job.attempts
                        ))
                    }
                    None => {
                        tracing::warn!(error = %e, "transaction history not fetched; balances still land");
                        failed.message(e.user_message(name))
                    }
                }
            }
        };
        stages.insert("Transactions".to_owned(), transactions.value());
        // Legs stored without a price get another chance at each sync (bounded).
        match crate::ledger::reprice(ledger, &integration.id).await {
            Ok(priced) => changed |= priced > 0,
            Err(e) => tracing::warn!(error = %e, "missing prices not retried"),
        }
        // Nothing new in this integration's ledger and its last processing completed: the
        // stored outcome stands (other integrations, a CSV import and a method change process
        // the workspace themselves), so a no-op sync does not reload the workspace's ledger.
        let previous: Option<serde_json::Value> = match ledger.store.ledger_stages(ws).await {
            Ok(all) => all
                .into_iter()
                .find(|(id, _)| id == &integration.id)
                .and_then(|(_, text)| serde_json::from_str(&text).ok()),
            Err(_) => None,
        };
        let done =
            |name: &str| previous.as_ref().and_then(|p| p.get(name)).filter(|s| s["status"] == "COMPLETED").cloned();
        if let (false, Some(transfers), Some(cost)) = (changed, done("TransferDetection"), done("CostBasis")) {
            tracing::debug!("ledger unchanged; processing skipped");
            stages.insert("TransferDetection".to_owned(), transfers);
            stages.insert("CostBasis".to_owned(), cost);
            save(stages, None).await;
            return Ok(again_at);
        }
        match crate::ledger::process(ledger, ws, clock).await {
            Ok(counts) => {
                stages
                    .insert("TransferDetection".to_owned(), StageLog::new("COMPLETED").count(counts.transfers).value());
                stages.insert("CostBasis".to_owned(), StageLog::new("COMPLETED").count(counts.disposals).value());
                let total = counts.per_wallet.get(&integration.id).copied().unwrap_or(0);
                save(stages, Some(i64::try_from(total).unwrap_or(i64::MAX))).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "ledger processing failed");
                stages.insert("TransferDetection".to_owned(), StageLog::new("FAILED").message(e.to_string()).value());
                stages.insert("CostBasis".to_owned(), StageLog::new("FAILED").message(e.to_string()).value());
                save(stages, None).await;
            }
        }
        Ok(again_at)
    }

    /// Runs until `stop` turns true: process due jobs back to back, sleep when idle, and
    /// back off when the database is unreachable.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let poll = self.settings.poll_interval;
        crate::background::poll_until_stopped("sync worker", &self.id, poll, stop, || self.run_once()).await;
    }
}
