//! The transaction-history ports: what a chain adapter reports about the past of an
//! address, and what an asset cost at a moment of that past.
//!
//! The contract between the adapters (EVM, Solana, sandbox) and the ledger is written
//! down in `/work/notes/ledger-contract.md` and mirrored in these doc comments:
//!
//! - A [`TransactionSource`] pages through the transactions of one address on one chain,
//!   oldest first, from an opaque cursor; the ledger stores the last cursor and resumes
//!   from it at the next sync (`None` = from the start, as a `from_start` resync does).
//! - Every transaction is normalized into [`HistoryLeg`]s seen from the synced address:
//!   what came in, what went out, what was paid as a network fee. Quantities are exact,
//!   positive [`Decimal`]s in whole units (1.5 ETH, not wei).
//! - A [`HistoricalPriceSource`] prices one token id at one instant in USD.
//!
//! Overlap is harmless: the ledger upserts on (integration, [`HistoryTransaction::id`],
//! leg index), so an adapter may return a transaction again (for example the last block
//! of the previous page) as long as its legs come in the same order each time.

use crate::chain::AssetInfo;
use crate::chain::Chain;
use crate::chain::{ChainError, PriceError};
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The role of a leg, seen from the synced address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegDirection {
    /// The address received the quantity.
    Incoming,
    /// The address sent the quantity (excluding the network fee).
    Outgoing,
    /// The address paid the quantity as a network fee (gas, Solana fee).
    Fee,
}

impl LegDirection {
    /// `incoming`, `outgoing` or `fee`: the Data API's leg `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            LegDirection::Incoming => "incoming",
            LegDirection::Outgoing => "outgoing",
            LegDirection::Fee => "fee",
        }
    }
}

/// One movement of one asset in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLeg {
    /// The asset moved. Its `token_id` follows [`Chain::token_id`] (`ethereum`,
    /// `ethereum:0xa0b8…eb48`, `solana:EPjF…Dt1v`) so that it matches the balances of
    /// [`ChainProvider`](crate::ChainProvider). An NFT has `asset_type == "nft"`.
    pub asset: AssetInfo,
    /// Quantity in whole units, strictly positive, exact (never through `f64`).
    pub quantity: Decimal,
    /// Incoming, outgoing or fee.
    pub direction: LegDirection,
    /// The sending address, when known (for a fee: the payer, i.e. the synced address).
    pub from: Option<String>,
    /// The receiving address, when known (`None` for a fee).
    pub to: Option<String>,
}

/// Where a transaction sits in its chain's order: what breaks ties between transactions
/// with the same timestamp (block times have a one-second resolution, so a buy and the
/// sale of what it bought often share one).
///
/// Ordered as (`block`, `index`). What each source puts in it:
///
/// | source | `block` | `index` |
/// |---|---|---|
/// | EVM JSON-RPC, explorer | block number | `transactionIndex` in the block |
/// | Solana | slot | position in the slot, as `getSignaturesForAddress` lists it (oldest first) |
/// | sandbox | 0 | row of the fixed history |
/// | CSV import | 0 | row in the file, in time order |
/// | exchange connectors | 0 | the exchange's own sequence where it has one (trade id, bill id), else 0 |
///
/// The ledger sorts a workspace's transactions by (timestamp, `block`, `index`, id); two
/// chains' block numbers are not comparable, but their timestamps come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChainPosition {
    /// Block number (EVM), slot (Solana), 0 for sources without blocks.
    pub block: u64,
    /// Position within the block (EVM transaction index, order within a Solana slot) or the
    /// source's own sequence (sandbox row, CSV row).
    pub index: u64,
}

impl ChainPosition {
    /// `block`, `index`.
    pub fn new(block: u64, index: u64) -> Self {
        Self { block, index }
    }
}

/// One on-chain transaction that touched the synced address.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTransaction {
    /// The platform transaction id: the EVM transaction hash (lowercase `0x…`), the
    /// Solana signature (base58). Unique per chain.
    pub id: String,
    /// Block time (UTC).
    pub timestamp: OffsetDateTime,
    /// Where it sits in its chain (block, index): orders transactions of the same timestamp.
    pub position: ChainPosition,
    /// The legs, in an order that is the same every time the transaction is fetched
    /// (the ledger keys legs by their index). A failed transaction carries only its fee.
    pub legs: Vec<HistoryLeg>,
    /// Whether the transaction failed (reverted, `meta.err` set); its fee was still paid.
    pub failed: bool,
    /// A label the source knows for sure, from the Data API's label list (`Approve` for
    /// an ERC-20 `approve` call, `Airdrops` for the sandbox airdrop, `Spam`); `None` lets
    /// the ledger infer one from the legs.
    pub label: Option<String>,
    /// The source's own record(s) of the transaction, served as `rawTrx`. Keep it small:
    /// the relevant node/explorer objects, never an API key or RPC URL.
    pub raw: serde_json::Value,
}

/// One page of history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryPage {
    /// Transactions, oldest first (ties in any stable order). At most a few thousand.
    pub transactions: Vec<HistoryTransaction>,
    /// The cursor to pass to the next call: continue this sync while
    /// [`HistoryPage::has_more`], or resume at the next sync when it is `false`. `None`
    /// means "nothing was seen yet; start again from the start next time".
    pub cursor: Option<String>,
    /// Whether more history is available right now (call again at once with `cursor`).
    pub has_more: bool,
}

/// Reads the transaction history of an address on one chain.
#[async_trait::async_trait]
pub trait TransactionSource: Send + Sync {
    /// The chain this source reads.
    fn chain(&self) -> Chain;

    /// The next page of transactions of `address` after `cursor` (`None`: from the
    /// first transaction). The cursor is opaque to the caller and produced by this same
    /// source (an EVM block number, a Solana signature, an explorer page…).
    ///
    /// Errors, as [`ChainProvider::balances`](crate::ChainProvider::balances):
    /// [`ChainError::UnsupportedAddress`] before any I/O for an invalid address,
    /// [`ChainError::Rpc`], [`ChainError::Transport`] (retried later by the worker),
    /// [`ChainError::Malformed`] (including a cursor this source did not produce).
    /// Never panics on any reply.
    async fn transactions(&self, address: &str, cursor: Option<&str>) -> Result<HistoryPage, ChainError>;
}

/// Prices a token at an instant of the past, in USD.
#[async_trait::async_trait]
pub trait HistoricalPriceSource: Send + Sync {
    /// The USD price of one whole unit of `token_id` (an [`AssetInfo::token_id`]) at
    /// `at`, or `None` when the source does not know it (the leg is then flagged
    /// `isMissingPrice`). Daily granularity is enough.
    ///
    /// Errors: [`PriceError::Transport`], [`PriceError::Status`] (429 when rate
    /// limited), [`PriceError::Malformed`]; the ledger then leaves the price missing
    /// and tries again at the next sync.
    async fn price_at(&self, token_id: &str, at: OffsetDateTime) -> Result<Option<Decimal>, PriceError>;
}
