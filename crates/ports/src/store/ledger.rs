//! The ledger capability of the store: transactions and legs per workspace, the positions
//! computed from them, per-integration history cursors and sync stages.
//!
//! A capability trait of its own (not part of [`Store`](crate::Store)): the sync worker and
//! the Data API's transactions and holdings depend on it. Quantities, prices and amounts are
//! exact decimal text (never floating point).

use crate::chain::ChainPosition;
use crate::StoreResult;
use async_trait::async_trait;
use kc_domain::{WebhookEvent, WorkspaceId};
use time::OffsetDateTime;

/// The asset of a leg or position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAsset {
    /// Token id (`ethereum`, `ethereum:0x…`).
    pub token_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub public_name: String,
    /// Chain id.
    pub chain_id: String,
    /// Contract or mint.
    pub contract_address: Option<String>,
    /// `crypto` or `nft`.
    pub asset_type: String,
    /// Decimals of the smallest unit.
    pub decimals: u8,
}

/// One leg, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLegRecord {
    /// Position in its transaction (stable across fetches).
    pub index: i32,
    /// `incoming`, `outgoing` or `fee`.
    pub direction: String,
    /// The asset.
    pub asset: LedgerAsset,
    /// Quantity, exact decimal text, positive.
    pub quantity: String,
    /// USD price at the transaction's time, when known.
    pub price: Option<String>,
    /// Sender.
    pub from: Option<String>,
    /// Receiver.
    pub to: Option<String>,
    /// Cost basis computed by the ledger.
    pub cost_basis: Option<String>,
    /// Realized gain computed by the ledger (disposals only).
    pub gain: Option<String>,
}

/// A transaction to add to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLedgerTx {
    /// Stable id (`trx_…`), derived from the integration and the platform id.
    pub id: String,
    /// Platform transaction id (hash, signature).
    pub platform_tx_id: String,
    /// Chain id.
    pub chain_id: String,
    /// Block time.
    pub timestamp: OffsetDateTime,
    /// Where it sits in its chain: orders transactions of the same timestamp.
    pub position: ChainPosition,
    /// Failed on chain.
    pub failed: bool,
    /// A label the source is sure of.
    pub source_label: Option<String>,
    /// Has an NFT leg.
    pub is_nft: bool,
    /// The source's record, JSON text.
    pub raw: String,
    /// `API` (synced) or `CSV` (imported from a file).
    pub import_source: String,
    /// Legs (`cost_basis`/`gain` are ignored).
    pub legs: Vec<LedgerLegRecord>,
}

/// A ledger transaction with what processing concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTxRecord {
    /// `trx_…`.
    pub id: String,
    /// The integration (wallet id).
    pub integration_id: String,
    /// Platform transaction id.
    pub platform_tx_id: String,
    /// Chain id.
    pub chain_id: String,
    /// Epoch milliseconds.
    pub timestamp_ms: i64,
    /// Where it sits in its chain.
    pub position: ChainPosition,
    /// Failed on chain.
    pub failed: bool,
    /// A label the source is sure of.
    pub source_label: Option<String>,
    /// The ledger's label.
    pub label: String,
    /// `deposit`, `withdraw`, `swap`, `other`.
    pub transaction_type: String,
    /// Human description.
    pub description: String,
    /// Has an NFT leg.
    pub is_nft: bool,
    /// Created by hand (never, yet).
    pub is_manual: bool,
    /// Edited by hand (never, yet).
    pub is_edited: bool,
    /// A leg lacks a price.
    pub is_missing_price: bool,
    /// A disposal exceeded known lots.
    pub is_missing_purchase: bool,
    /// Cost basis total, decimal text.
    pub total_costbasis: String,
    /// Realized gains total, decimal text.
    pub total_gains: String,
    /// The source's record, JSON text (empty when not loaded).
    pub raw: String,
    /// `API` (synced) or `CSV` (imported from a file).
    pub import_source: String,
    /// Legs by index.
    pub legs: Vec<LedgerLegRecord>,
}

/// What processing concluded about one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTxUpdate {
    /// The transaction.
    pub id: String,
    /// Label.
    pub label: String,
    /// Type.
    pub transaction_type: String,
    /// Description.
    pub description: String,
    /// Flag.
    pub is_missing_price: bool,
    /// Flag.
    pub is_missing_purchase: bool,
    /// Decimal text.
    pub total_costbasis: String,
    /// Decimal text.
    pub total_gains: String,
    /// Per leg: (index, cost basis, gain).
    pub legs: Vec<(i32, Option<String>, Option<String>)>,
}

/// What an integration holds of an asset according to its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPosition {
    /// The integration.
    pub integration_id: String,
    /// The asset.
    pub asset: LedgerAsset,
    /// Calculated balance, decimal text.
    pub quantity: String,
    /// Cost basis of the lots held, decimal text; `None` when the cost of some of them is not
    /// known (acquired without a price, or received short of any known purchase).
    pub cost: Option<String>,
}

/// The sort key of a ledger transaction: (timestamp, block, index within the block, id). Every
/// list of the ledger (processing, `GET /api/v1/transactions` and its keyset cursor) follows
/// it, so that a buy and the sale of what it bought in the same second keep chain order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerKey {
    /// Epoch milliseconds.
    pub timestamp_ms: i64,
    /// [`ChainPosition::block`].
    pub block: u64,
    /// [`ChainPosition::index`].
    pub index: u64,
    /// `trx_…`.
    pub id: String,
}

impl LedgerTxRecord {
    /// The transaction's sort key.
    pub fn key(&self) -> LedgerKey {
        LedgerKey {
            timestamp_ms: self.timestamp_ms,
            block: self.position.block,
            index: self.position.index,
            id: self.id.clone(),
        }
    }
}

/// A leg without a price, to price again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpricedLeg {
    /// The transaction.
    pub transaction_id: String,
    /// The leg.
    pub leg_index: i32,
    /// Its asset's token id.
    pub token_id: String,
    /// The transaction's time, epoch ms.
    pub timestamp_ms: i64,
}

/// Filters and page of `GET /api/v1/transactions`; empty lists and `None` do not filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerQuery {
    /// Integration ids.
    pub wallet_ids: Vec<String>,
    /// Token ids: a transaction matches when any leg has one.
    pub currency_ids: Vec<String>,
    /// A transaction id (`trx_…`) or platform transaction id.
    pub trx_id: Option<String>,
    /// NFT flag.
    pub is_nft: Option<bool>,
    /// Missing-price flag.
    pub is_missing_price: Option<bool>,
    /// Missing-purchase flag.
    pub is_missing_purchase: Option<bool>,
    /// Edited flag.
    pub is_edited: Option<bool>,
    /// Manual flag.
    pub is_manual: Option<bool>,
    /// Types.
    pub transaction_types: Vec<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Newest first.
    pub descending: bool,
    /// Inclusive lower bound, epoch ms.
    pub time_start: Option<i64>,
    /// Inclusive upper bound, epoch ms.
    pub time_end: Option<i64>,
    /// Page size.
    pub limit: u64,
    /// Rows skipped (after `after`, when both are given).
    pub offset: u64,
    /// Keyset page: only transactions strictly after this key in the query's order (after it
    /// in time for ascending, before it for descending).
    pub after: Option<LedgerKey>,
}

/// Held while a workspace's ledger is processed ([`LedgerStore::lock_processing`]); dropping
/// it lets the next processing of that workspace start.
pub struct ProcessingLock {
    _held: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl ProcessingLock {
    /// A lock that `held` keeps until it is dropped (say, a channel whose closing releases a
    /// database lock).
    pub fn new(held: impl std::any::Any + Send + Sync) -> Self {
        Self { _held: Some(Box::new(held)) }
    }

    /// Holds nothing: for stores only one process uses, where the caller's own in-process
    /// lock is enough.
    pub fn in_process_only() -> Self {
        Self { _held: None }
    }
}

impl std::fmt::Debug for ProcessingLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self._held.is_some() { "ProcessingLock(held)" } else { "ProcessingLock(in-process only)" })
    }
}

/// Persistence of the transaction ledger.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Waits until no other process sharing the database processes `workspace`'s ledger, and
    /// keeps it so until the returned lock drops. Processing loads the whole ledger and
    /// replaces the outcome: two at once could store the older load's outcome last. The
    /// service also serializes processing within its own process; a store that only one
    /// process uses (SQLite, memory) needs nothing more, which is the default.
    async fn lock_processing(&self, workspace: &WorkspaceId) -> StoreResult<ProcessingLock> {
        let _ = workspace;
        Ok(ProcessingLock::in_process_only())
    }

    /// The history cursor to resume `integration_id` from (`None`: from the start).
    async fn ledger_cursor(&self, integration_id: &str) -> StoreResult<Option<String>>;

    /// Forgets the ledger of `integration_id` (transactions, legs, positions, cursor): a
    /// `from_start` resync rebuilds it.
    async fn reset_ledger(&self, integration_id: &str) -> StoreResult<()>;

    /// Adds a page of transactions of `integration_id` and stores `cursor`, in one database
    /// transaction. Transactions already present (same integration and platform id) are left
    /// as they are. Returns how many were new.
    async fn add_ledger_page<'a>(
        &self,
        workspace: &WorkspaceId,
        integration_id: &str,
        txs: &[NewLedgerTx],
        cursor: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Every transaction of the workspace's current integrations with its legs, in
    /// [`LedgerKey`] order (`raw` left empty).
    async fn workspace_ledger(&self, workspace: &WorkspaceId) -> StoreResult<Vec<LedgerTxRecord>>;

    /// Stores what processing concluded: the updates (only rows that changed need be given),
    /// and replaces the workspace's positions.
    async fn save_ledger_outcome(
        &self,
        workspace: &WorkspaceId,
        updates: &[LedgerTxUpdate],
        positions: &[LedgerPosition],
    ) -> StoreResult<()>;

    /// The workspace's positions, for its current integrations.
    async fn ledger_positions(&self, workspace: &WorkspaceId) -> StoreResult<Vec<LedgerPosition>>;

    /// A page of the workspace's transactions (of its current integrations), in [`LedgerKey`]
    /// order (reversed when `descending`), and the number matching the filters (`after` and
    /// `offset` left out of that count).
    async fn query_ledger(
        &self,
        workspace: &WorkspaceId,
        query: &LedgerQuery,
    ) -> StoreResult<(Vec<LedgerTxRecord>, u64)>;

    /// Records the stages of the last sync of `integration_id` (JSON object text) and, when
    /// given, its transaction count (`totalTransactions`).
    async fn set_ledger_stages(
        &self,
        workspace: &WorkspaceId,
        integration_id: &str,
        stages: &str,
        total_transactions: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The stages of the last sync of each integration of the workspace that has a ledger.
    async fn ledger_stages(&self, workspace: &WorkspaceId) -> StoreResult<Vec<(String, String)>>;

    /// Up to `limit` legs of `integration_id` without a price, oldest first.
    async fn unpriced_legs(&self, integration_id: &str, limit: u64) -> StoreResult<Vec<UnpricedLeg>>;

    /// Sets the price of legs (transaction id, leg index, decimal text). Returns how many legs
    /// were updated.
    async fn set_leg_prices(&self, prices: &[(String, i32, String)]) -> StoreResult<u64>;

    /// The workspace's cost basis method (`FIFO`, `LIFO`, `HIFO`), when set.
    async fn cost_basis_method(&self, workspace: &WorkspaceId) -> StoreResult<Option<String>>;

    /// Sets the workspace's cost basis method.
    async fn set_cost_basis_method(
        &self,
        workspace: &WorkspaceId,
        method: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Enqueues a processing webhook (`transfer_detection.*`, `costbasis.*`) for every enabled
    /// client holding a live grant on the workspace: `data` = `{uid, action, status, reason,
    /// timestamp}` with the grant's user as `uid`.
    async fn enqueue_processing_event<'a>(
        &self,
        workspace: &WorkspaceId,
        event: WebhookEvent,
        reason: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}
