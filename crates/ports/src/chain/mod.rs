//! Chain, price and history ports, in exact [`Decimal`]s, and the sandbox's reference adapters.
//!
//! - [`ChainProvider`] reads the balances of one address on one [`Chain`].
//! - [`PriceSource`] prices token ids in USD.
//! - [`TransactionSource`] pages through the history of an address as incoming, outgoing
//!   and fee [`HistoryLeg`]s (the ledger's input).
//! - [`HistoricalPriceSource`] prices a token id on a past day.
//!
//! The sandbox adapters ([`SandboxProvider`], [`SandboxHistory`], [`StaticPrices`],
//! [`StaticHistoricalPrices`]) do no I/O: they serve the documented sandbox data. Network
//! adapters (EVM and Solana JSON-RPC, explorers, CoinGecko, Esplora) live in `kc-chain`.

mod asset;
mod chain_id;
mod error;
mod history;
mod price;
mod provider;
mod sandbox;
mod sandbox_history;

pub use asset::{AssetInfo, Balance};
pub use chain_id::{Chain, UnknownChain};
pub use error::{ChainError, PriceError};
pub use history::{
    ChainPosition, HistoricalPriceSource, HistoryLeg, HistoryPage, HistoryTransaction, LegDirection, TransactionSource,
};
pub use price::{Price, PriceSource, StaticPrices};
pub use provider::ChainProvider;
pub use rust_decimal::Decimal;
pub use sandbox::SandboxProvider;
pub use sandbox_history::{SandboxHistory, StaticHistoricalPrices};
