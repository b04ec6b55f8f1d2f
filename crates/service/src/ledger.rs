//! The ledger stages of a sync: fetch an integration's history through its
//! [`TransactionSource`], price its legs through the [`HistoricalPriceSource`], store it,
//! then run transfer detection and cost basis over the whole workspace (the pure rules of
//! [`kc_domain::ledger`]) and store the outcome.

use kc_domain::ledger::{self, CostBasisMethod, Leg, LegKind, Tx};
use kc_domain::{Clock, WebhookEvent, WorkspaceId};
use kc_ports::exchange::{ExchangeConnector, ExchangeCredentials, ExchangeError};
use kc_ports::{ChainError, Decimal, HistoricalPriceSource, HistoryTransaction, TransactionSource};
use kc_ports::{
    LedgerAsset, LedgerLegRecord, LedgerPosition, LedgerStore, LedgerTxRecord, LedgerTxUpdate, NewLedgerTx, StoreError,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use time::OffsetDateTime;

/// Ledger tuning.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// History pages fetched per sync at most (the rest at the next sync, from the cursor).
    pub max_pages: usize,
    /// How far after a send its receipt may be to count as an internal transfer.
    pub transfer_window_ms: i64,
    /// The method of workspaces that did not choose one.
    pub default_method: CostBasisMethod,
    /// Legs without a price (`isMissingPrice`) priced again per sync of an integration at
    /// most, oldest first (the rest at the next syncs).
    pub reprice_per_sync: u64,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            max_pages: 50,
            transfer_window_ms: ledger::DEFAULT_TRANSFER_WINDOW_MS,
            default_method: CostBasisMethod::Fifo,
            reprice_per_sync: 500,
        }
    }
}

/// What the ledger needs: its store, historical prices, tuning.
#[derive(Clone)]
pub struct LedgerPorts {
    /// Storage.
    pub store: Arc<dyn LedgerStore>,
    /// Prices at a past instant.
    pub prices: Arc<dyn HistoricalPriceSource>,
    /// Tuning.
    pub settings: LedgerSettings,
}

/// Why a ledger stage failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The history source failed.
    #[error("history: {0}")]
    Source(#[from] ChainError),
    /// The exchange's history could not be read.
    #[error("exchange history: {0}")]
    Exchange(#[from] ExchangeError),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// A stored decimal could not be read.
    #[error("corrupt ledger value {0:?}")]
    Corrupt(String),
}

impl LedgerError {
    /// Whether waiting may mend it (a rate limit, a source or a database that could not be
    /// reached): `Some` with what the provider asked to wait, if it said; `None` otherwise.
    pub fn wait(&self) -> Option<Option<std::time::Duration>> {
        match self {
            Self::Exchange(ExchangeError::RateLimited { retry_after, .. }) => Some(*retry_after),
            Self::Exchange(e) => e.is_retryable().then_some(None),
            Self::Source(ChainError::Transport(_) | ChainError::Rpc { .. } | ChainError::Malformed(_))
            | Self::Store(_) => Some(None),
            Self::Source(_) | Self::Corrupt(_) => None,
        }
    }

    /// What the user reads of it: an exchange's own plain words (`name`: its display name),
    /// else whether trying again may help.
    pub fn user_message(&self, name: &str) -> String {
        match self {
            Self::Exchange(e) => e.user_message(name),
            _ if self.wait().is_some() => {
                "The transaction history could not be read right now; the sync will try again shortly.".to_owned()
            }
            _ => self.to_string(),
        }
    }
}

/// Where an integration's history is read from.
#[derive(Clone, Copy)]
pub enum HistoryReader<'a> {
    /// An address, through its chain's history source.
    Chain(&'a dyn TransactionSource, &'a str),
    /// An exchange account, through its connector.
    Exchange(&'a dyn ExchangeConnector, &'a ExchangeCredentials),
}

impl HistoryReader<'_> {
    /// The chain id of its transactions (the exchange's id for an exchange).
    fn chain_id(&self) -> &'static str {
        match self {
            Self::Chain(source, _) => source.chain().id(),
            Self::Exchange(connector, _) => connector.id(),
        }
    }

    /// The page after `cursor`.
    async fn page(&self, cursor: Option<&str>) -> Result<kc_ports::HistoryPage, LedgerError> {
        Ok(match self {
            Self::Chain(source, address) => source.transactions(address, cursor).await?,
            Self::Exchange(connector, credentials) => connector.history(credentials, cursor).await?,
        })
    }
}

/// The stable id of a transaction of an integration: `trx_` and 24 hex digits of
/// SHA-256(integration id, platform id).
pub fn transaction_id(integration_id: &str, platform_tx_id: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("{integration_id}\n{platform_tx_id}").as_bytes());
    format!("trx_{}", &hex::encode(d.as_ref())[..24])
}

fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Prices legs, once per (token, UTC day) within a sync.
struct PriceCache<'a> {
    source: &'a dyn HistoricalPriceSource,
    seen: HashMap<(String, i64), Option<Decimal>>,
}

impl PriceCache<'_> {
    async fn price(&mut self, token_id: &str, at: OffsetDateTime) -> Option<Decimal> {
        let key = (token_id.to_owned(), at.unix_timestamp().div_euclid(86_400));
        if let Some(p) = self.seen.get(&key) {
            return *p;
        }
        let p = match self.source.price_at(token_id, at).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(token = token_id, error = %e, "historical price unavailable; leg flagged isMissingPrice");
                None
            }
        };
        self.seen.insert(key, p);
        p
    }
}

async fn to_new(
    integration_id: &str,
    chain_id: &str,
    tx: HistoryTransaction,
    prices: &mut PriceCache<'_>,
    import_source: &str,
) -> NewLedgerTx {
    let mut legs = Vec::with_capacity(tx.legs.len());
    for (i, l) in tx.legs.into_iter().enumerate() {
        let price = prices.price(&l.asset.token_id, tx.timestamp).await;
        legs.push(LedgerLegRecord {
            index: i32::try_from(i).unwrap_or(i32::MAX),
            direction: l.direction.as_str().to_owned(),
            asset: LedgerAsset {
                token_id: l.asset.token_id,
                symbol: l.asset.symbol,
                public_name: l.asset.public_name,
                chain_id: l.asset.chain_id,
                contract_address: l.asset.contract_address,
                asset_type: l.asset.asset_type,
                decimals: l.asset.decimals,
            },
            quantity: text(l.quantity),
            price: price.map(text),
            from: l.from,
            to: l.to,
            cost_basis: None,
            gain: None,
        });
    }
    let is_nft = legs.iter().any(|l| l.asset.asset_type == "nft");
    NewLedgerTx {
        id: transaction_id(integration_id, &tx.id),
        platform_tx_id: tx.id,
        chain_id: chain_id.to_owned(),
        timestamp: tx.timestamp,
        position: tx.position,
        failed: tx.failed,
        source_label: tx.label,
        is_nft,
        raw: tx.raw.to_string(),
        import_source: import_source.to_owned(),
        legs,
    }
}

/// What a history read added, and whether the workspace's import cap stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ingested {
    /// Transactions new to the ledger.
    pub added: u64,
    /// The workspace's transaction import cap was reached: the rest of the history is left
    /// unread (the stored cursor stays before it).
    pub limit_reached: bool,
}

/// Adds pages of one integration's history under the workspace's import cap.
struct Importer<'a> {
    ports: &'a LedgerPorts,
    workspace: &'a WorkspaceId,
    integration_id: &'a str,
    /// Transactions the workspace may still import; `None`: no cap.
    room: Option<u64>,
    clock: &'a dyn Clock,
    added: u64,
}

impl<'a> Importer<'a> {
    /// Resets the integration's ledger when `from_start`, then measures the room under `cap`
    /// (the workspace's transactions count against it).
    async fn start(
        ports: &'a LedgerPorts,
        workspace: &'a WorkspaceId,
        integration_id: &'a str,
        from_start: bool,
        cap: Option<i64>,
        clock: &'a dyn Clock,
    ) -> Result<Self, LedgerError> {
        if from_start {
            ports.store.reset_ledger(integration_id).await?;
        }
        let room = match cap {
            None => None,
            Some(cap) => {
                // `totalCount` of the whole ledger: the states' counts, no row read.
                let everything = kc_ports::LedgerQuery { limit: 0, ..kc_ports::LedgerQuery::default() };
                let (_, total) = ports.store.query_ledger(workspace, &everything).await?;
                Some(u64::try_from(cap).unwrap_or(0).saturating_sub(total))
            }
        };
        Ok(Self { ports, workspace, integration_id, room, clock, added: 0 })
    }

    /// Whether the cap leaves no room: the history need not be read.
    fn full(&self) -> bool {
        self.room == Some(0)
    }

    /// Adds a page read from `from` and ending at `to`. Past the cap, only what fits is added
    /// and the cursor stays at `from` (the page is read again once there is room); `true` then.
    async fn add(&mut self, txs: &[NewLedgerTx], from: Option<&str>, to: Option<&str>) -> Result<bool, LedgerError> {
        let (store, now) = (&self.ports.store, self.clock.now());
        let Some(room) = self.room.as_mut() else {
            self.added += store.add_ledger_page(self.workspace, self.integration_id, txs, to, now).await?;
            return Ok(false);
        };
        let mut rest = txs;
        // Transactions already stored take no room: add what fits, then see what is left.
        while *room > 0 && !rest.is_empty() {
            let fits = rest.len().min(usize::try_from(*room).unwrap_or(usize::MAX));
            let (part, more) = rest.split_at(fits);
            let cursor = if more.is_empty() { to } else { from };
            let n = store.add_ledger_page(self.workspace, self.integration_id, part, cursor, now).await?;
            *room = room.saturating_sub(n);
            self.added += n;
            rest = more;
        }
        if rest.is_empty() {
            if txs.is_empty() {
                store.add_ledger_page(self.workspace, self.integration_id, txs, to, now).await?;
            }
            return Ok(false);
        }
        Ok(true)
    }

    fn done(self, limit_reached: bool) -> Ingested {
        Ingested { added: self.added, limit_reached }
    }
}

/// Fetches the history of one integration from its cursor (from the start when
/// `from_start`) through `reader` and adds it to the ledger, at most `cap` transactions in
/// the workspace (see [`Ingested`]).
pub async fn ingest(
    ports: &LedgerPorts,
    reader: HistoryReader<'_>,
    workspace: &WorkspaceId,
    integration_id: &str,
    from_start: bool,
    cap: Option<i64>,
    clock: &dyn Clock,
) -> Result<Ingested, LedgerError> {
    let mut import = Importer::start(ports, workspace, integration_id, from_start, cap, clock).await?;
    if import.full() {
        return Ok(import.done(true));
    }
    let mut cursor = ports.store.ledger_cursor(integration_id).await?;
    let mut prices = PriceCache { source: ports.prices.as_ref(), seen: HashMap::new() };
    for _ in 0..ports.settings.max_pages.max(1) {
        let page = reader.page(cursor.as_deref()).await?;
        let mut txs = Vec::with_capacity(page.transactions.len());
        for tx in page.transactions {
            txs.push(to_new(integration_id, reader.chain_id(), tx, &mut prices, "API").await);
        }
        if import.add(&txs, cursor.as_deref(), page.cursor.as_deref()).await? {
            return Ok(import.done(true));
        }
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    Ok(import.done(false))
}

/// Adds transactions imported from a file (`importSource: CSV`) to the ledger of
/// `integration_id`, all in one database transaction, keeping the integration's history
/// cursor. Transactions already imported are left as they are. Returns how many were new.
pub async fn import(
    ports: &LedgerPorts,
    workspace: &WorkspaceId,
    integration_id: &str,
    chain_id: &str,
    transactions: Vec<HistoryTransaction>,
    clock: &dyn Clock,
) -> Result<u64, LedgerError> {
    let cursor = ports.store.ledger_cursor(integration_id).await?;
    let mut prices = PriceCache { source: ports.prices.as_ref(), seen: HashMap::new() };
    let mut txs = Vec::with_capacity(transactions.len());
    for tx in transactions {
        txs.push(to_new(integration_id, chain_id, tx, &mut prices, "CSV").await);
    }
    Ok(ports.store.add_ledger_page(workspace, integration_id, &txs, cursor.as_deref(), clock.now()).await?)
}

/// Prices again up to [`LedgerSettings::reprice_per_sync`] legs of `integration_id` that were
/// stored without a price (the price source failed or did not know it then). Returns how many
/// legs got a price; the caller then recomputes the cost basis.
pub async fn reprice(ports: &LedgerPorts, integration_id: &str) -> Result<u64, LedgerError> {
    let legs = ports.store.unpriced_legs(integration_id, ports.settings.reprice_per_sync).await?;
    if legs.is_empty() {
        return Ok(0);
    }
    let mut prices = PriceCache { source: ports.prices.as_ref(), seen: HashMap::new() };
    let mut found = Vec::new();
    for leg in &legs {
        let Ok(at) = OffsetDateTime::from_unix_timestamp(leg.timestamp_ms.div_euclid(1000)) else { continue };
        if let Some(p) = prices.price(&leg.token_id, at).await {
            found.push((leg.transaction_id.clone(), leg.leg_index, text(p)));
        }
    }
    let updated = ports.store.set_leg_prices(&found).await?;
    tracing::info!(tried = legs.len(), priced = updated, "missing prices retried");
    Ok(updated)
}

/// Sets the workspace's cost basis method and recomputes its ledger with it.
pub async fn set_method(
    ports: &LedgerPorts,
    workspace: &WorkspaceId,
    method: CostBasisMethod,
    clock: &dyn Clock,
) -> Result<ProcessCounts, LedgerError> {
    ports.store.set_cost_basis_method(workspace, method.as_str(), clock.now()).await?;
    process(ports, workspace, clock).await
}

/// The workspace's cost basis method: its own choice, else the server's default.
pub async fn method_of(ports: &LedgerPorts, workspace: &WorkspaceId) -> Result<CostBasisMethod, LedgerError> {
    Ok(ports
        .store
        .cost_basis_method(workspace)
        .await?
        .and_then(|m| m.parse().ok())
        .unwrap_or(ports.settings.default_method))
}

fn dec(s: &str) -> Result<Decimal, LedgerError> {
    Decimal::from_str(s).map_err(|_| LedgerError::Corrupt(s.to_owned()))
}

fn describe(t: &LedgerTxRecord, label: &str) -> String {
    let part = |dir: &str| {
        t.legs
            .iter()
            .filter(|l| l.direction == dir)
            .map(|l| format!("{} {}", l.quantity, l.asset.symbol))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (inc, out) = (part("incoming"), part("outgoing"));
    match label {
        "Failed" => "Failed transaction (fee paid)".to_owned(),
        "Transfer" if !out.is_empty() => format!("Moved {out} to another wallet of the workspace"),
        "Transfer" => format!("Received {inc} from another wallet of the workspace"),
        "Fee" => format!("Paid {} in fees", part("fee")),
        _ => match (inc.is_empty(), out.is_empty()) {
            (false, false) => format!("Swapped {out} for {inc}"),
            (false, true) => format!("Received {inc}"),
            (true, false) => format!("Sent {out}"),
            (true, true) => "No asset movement".to_owned(),
        },
    }
}

/// What a processing run concluded, for the sync log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessCounts {
    /// Transactions in the workspace's ledger.
    pub transactions: usize,
    /// Internal transfers detected.
    pub transfers: usize,
    /// Disposals (legs with a realized gain).
    pub disposals: usize,
    /// Transactions per integration.
    pub per_wallet: HashMap<String, usize>,
}

/// Transfer detection and cost basis over the workspace's whole ledger, with their webhooks
/// (`transfer_detection.*`, then `costbasis.*`).
pub async fn process(
    ports: &LedgerPorts,
    workspace: &WorkspaceId,
    clock: &dyn Clock,
) -> Result<ProcessCounts, LedgerError> {
    let store = &ports.store;
    // One processing of a workspace at a time, in this process and then across processes: the
    // one that waited loads the ledger as the other left it.
    let _in_process = crate::processing_lock::hold(workspace).await;
    let _across_processes = store.lock_processing(workspace).await?;
    store.enqueue_processing_event(workspace, WebhookEvent::TransferDetectionStarted, None, clock.now()).await?;
    let loaded = async {
        let records = store.workspace_ledger(workspace).await?;
        let txs = records
            .iter()
            .map(|r| {
                Ok(Tx {
                    wallet: r.integration_id.clone(),
                    timestamp_ms: r.timestamp_ms,
                    failed: r.failed,
                    source_label: r.source_label.clone(),
                    legs: r
                        .legs
                        .iter()
                        .map(|l| {
                            Ok(Leg {
                                asset: l.asset.token_id.clone(),
                                quantity: dec(&l.quantity)?,
                                kind: LegKind::parse(&l.direction).unwrap_or(LegKind::Incoming),
                                price: l.price.as_deref().map(dec).transpose()?,
                            })
                        })
                        .collect::<Result<Vec<_>, LedgerError>>()?,
                })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let method = method_of(ports, workspace).await?;
        Ok::<_, LedgerError>((records, txs, method))
    }
    .await;
    let (records, txs, method) = match loaded {
        Ok(v) => v,
        Err(e) => {
            let reason = e.to_string();
            let _ = store
                .enqueue_processing_event(workspace, WebhookEvent::TransferDetectionFailed, Some(&reason), clock.now())
                .await;
            return Err(e);
        }
    };
    let transfers = ledger::detect_transfers(&txs, ports.settings.transfer_window_ms).len();
    store.enqueue_processing_event(workspace, WebhookEvent::TransferDetectionCompleted, None, clock.now()).await?;
    store.enqueue_processing_event(workspace, WebhookEvent::CostbasisStarted, None, clock.now()).await?;
    let report = ledger::compute(&txs, method, ports.settings.transfer_window_ms);
    let mut updates = Vec::new();
    let mut disposals = 0;
    for (r, o) in records.iter().zip(&report.txs) {
        let legs: Vec<(i32, Option<String>, Option<String>)> =
            r.legs.iter().zip(&o.legs).map(|(l, lo)| (l.index, Some(text(lo.cost_basis)), lo.gain.map(text))).collect();
        disposals += o.legs.iter().filter(|l| l.gain.is_some()).count();
        let update = LedgerTxUpdate {
            id: r.id.clone(),
            label: o.label.clone(),
            transaction_type: o.transaction_type.to_owned(),
            description: describe(r, &o.label),
            is_missing_price: o.missing_price,
            is_missing_purchase: o.missing_purchase,
            total_costbasis: text(o.total_costbasis),
            total_gains: text(o.total_gains),
            legs,
        };
        let unchanged = update.label == r.label
            && update.transaction_type == r.transaction_type
            && update.description == r.description
            && update.is_missing_price == r.is_missing_price
            && update.is_missing_purchase == r.is_missing_purchase
            && update.total_costbasis == r.total_costbasis
            && update.total_gains == r.total_gains
            && r.legs.iter().zip(&update.legs).all(|(l, (_, c, g))| &l.cost_basis == c && &l.gain == g);
        if !unchanged {
            updates.push(update);
        }
    }
    let mut assets: HashMap<&str, &LedgerAsset> = HashMap::new();
    for r in &records {
        for l in &r.legs {
            assets.entry(l.asset.token_id.as_str()).or_insert(&l.asset);
        }
    }
    let positions: Vec<LedgerPosition> = report
        .positions
        .iter()
        .filter_map(|p| {
            let asset = assets.get(p.asset.as_str())?;
            Some(LedgerPosition {
                integration_id: p.wallet.clone(),
                asset: (*asset).clone(),
                quantity: text(p.quantity),
                cost: p.cost_known.then(|| text(p.cost)),
            })
        })
        .collect();
    if let Err(e) = store.save_ledger_outcome(workspace, &updates, &positions).await {
        let reason = e.to_string();
        let _ =
            store.enqueue_processing_event(workspace, WebhookEvent::CostbasisFailed, Some(&reason), clock.now()).await;
        return Err(e.into());
    }
    store.enqueue_processing_event(workspace, WebhookEvent::CostbasisCompleted, None, clock.now()).await?;
    tracing::info!(transactions = records.len(), transfers, disposals, changed = updates.len(), %method, "ledger processed");
    let mut per_wallet: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *per_wallet.entry(r.integration_id.clone()).or_default() += 1;
    }
    Ok(ProcessCounts { transactions: records.len(), transfers, disposals, per_wallet })
}
