//! The sync worker: claims jobs from the database, fetches balances through the chain
//! providers, stores snapshots, retries with backoff. Every server process runs workers;
//! the store's claim guarantees no job is processed twice at once.

use kc_chain::{Balance, Chain, ChainError, ChainProvider, SandboxProvider};
use kc_domain::{Clock, SANDBOX_ETHEREUM_ADDRESS, SANDBOX_SOLANA_ADDRESS};
use kc_store::{SnapshotRow, Store, StoreError, SyncJob};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which provider reads which chain.
#[derive(Clone, Default)]
pub struct ChainRegistry {
    providers: HashMap<Chain, Arc<dyn ChainProvider>>,
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

    /// The chains with a configured provider.
    pub fn chains(&self) -> Vec<Chain> {
        self.providers.keys().copied().collect()
    }

    /// The provider for an address on `chain`: the sandbox for the two documented test
    /// addresses, else the configured adapter.
    fn for_address(&self, chain: Chain, address: &str) -> Option<Arc<dyn ChainProvider>> {
        let sandbox = (chain == Chain::Ethereum && address.eq_ignore_ascii_case(SANDBOX_ETHEREUM_ADDRESS))
            || (chain == Chain::Solana && address == SANDBOX_SOLANA_ADDRESS);
        if sandbox {
            return Some(Arc::new(SandboxProvider::new(chain)));
        }
        self.providers.get(&chain).cloned()
    }
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
}

/// Why a job cannot succeed, and whether trying again might help.
enum JobFailure {
    Retry(String),
    Permanent(String),
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
        Self { store, chains, clock, settings, id }
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
            Ok(rows) => {
                let n = rows.len();
                if self.store.finish_sync_job(&job, &self.id, &rows, self.clock.now()).await? {
                    tracing::info!(assets = n, "integration synced");
                } else {
                    tracing::warn!("lost the job's lease before finishing; another worker owns it");
                }
            }
            Err(JobFailure::Retry(msg)) if job.attempts < self.settings.max_attempts => {
                let factor = 4u32.saturating_pow(u32::try_from(job.attempts.max(1) - 1).unwrap_or(0));
                let wait = self.settings.first_backoff.saturating_mul(factor).min(Duration::from_secs(600));
                let retry_at = self.clock.now() + time::Duration::try_from(wait).unwrap_or(time::Duration::minutes(10));
                tracing::warn!(error = %msg, retry_in_s = wait.as_secs(), "sync failed; will retry");
                self.store.fail_sync_job(&job, &self.id, &msg, Some(retry_at), self.clock.now()).await?;
            }
            Err(JobFailure::Retry(msg) | JobFailure::Permanent(msg)) => {
                tracing::warn!(error = %msg, "sync failed for good");
                self.store.fail_sync_job(&job, &self.id, &msg, None, self.clock.now()).await?;
            }
        }
        Ok(true)
    }

    async fn fetch(&self, job: &SyncJob) -> Result<Vec<SnapshotRow>, JobFailure> {
        let integration = self
            .store
            .find_integration(&job.integration_id)
            .await
            .map_err(|e| JobFailure::Retry(format!("storage: {e}")))?
            .ok_or_else(|| JobFailure::Permanent("integration no longer exists".to_owned()))?;
        if integration.category == "exchange" {
            return Err(JobFailure::Permanent(format!(
                "Balance sync for {} accounts needs an exchange connector, which this server does not have",
                integration.provider
            )));
        }
        let chain = Chain::from_str(&integration.provider)
            .map_err(|_| JobFailure::Permanent(format!("no chain adapter for provider {}", integration.provider)))?;
        let address = integration.address.as_deref().unwrap_or_default();
        let provider = self.chains.for_address(chain, address).ok_or_else(|| {
            JobFailure::Permanent(format!(
                "No RPC endpoint is configured for {}; ask the operator to set one",
                chain.id()
            ))
        })?;
        match provider.balances(address).await {
            Ok(balances) => Ok(rows_from(balances)),
            Err(ChainError::UnsupportedAddress) => {
                Err(JobFailure::Permanent(format!("{address} is not a valid {} address", chain.id())))
            }
            Err(e) => Err(JobFailure::Retry(e.to_string())),
        }
    }

    /// Runs until `stop` turns true: process due jobs back to back, sleep when idle, and
    /// back off when the database is unreachable.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let poll = self.settings.poll_interval;
        crate::background::poll_until_stopped("sync worker", &self.id, poll, stop, || self.run_once()).await;
    }
}
