//! Chain, price and history adapters: the network implementations of the ports in `kc-ports`.
//!
//!
//! - [`ChainProvider`] reads the balances of one address on one [`Chain`]. Adapters:
//!   [`SandboxProvider`] (fixed, documented balances for the sandbox test addresses),
//!   [`EvmRpcProvider`] (one batched JSON-RPC request: `eth_getBalance` plus ERC-20
//!   `balanceOf` per configured token) and [`SolanaRpcProvider`] (`getBalance` and
//!   `getTokenAccountsByOwner`, `jsonParsed`).
//! - [`PriceSource`] prices token ids in USD. Adapters: [`StaticPrices`] (a fixed
//!   table for sandbox and development) and [`CoinGeckoPrices`] (the
//!   `/simple/price` endpoint, with an in-memory cache).
//! - [`TransactionSource`] pages through the transaction history of an address, as
//!   incoming, outgoing and fee [`HistoryLeg`]s (the ledger's input). Adapters:
//!   [`EvmRpcHistory`] (ERC-20 `Transfer` logs by bounded `eth_getLogs`, native and internal
//!   transfers by block scan or `trace_filter` where the node allows it, fees from receipts), [`ExplorerHistory`]
//!   (Etherscan-compatible `txlist`, `txlistinternal`, `tokentx`) and [`SolanaHistory`]
//!   (`getSignaturesForAddress` + `getTransaction`, `jsonParsed`).
//! - [`HistoricalPriceSource`] prices a token id on a past day. Adapter:
//!   [`CoinGeckoHistory`] (`/coins/{id}/market_chart/range`, behind a pluggable
//!   [`HistoricalPriceCache`]).
//!
//! Quantities and prices are exact [`Decimal`]s: no floating point is used for
//! money or quantities anywhere, on the wire or in memory. Every network adapter
//! has a configurable URL and timeout, logs through `tracing` spans, and never logs
//! an API key or a full RPC URL (RPC URLs often carry a key in their path).
//!
//! ```
//! # tokio_test_block_on(async {
//! use kc_chain::{Chain, ChainProvider, SandboxProvider};
//! let sandbox = SandboxProvider::new(Chain::Ethereum);
//! let balances = sandbox.balances(SandboxProvider::ETHEREUM_TEST_ADDRESS).await.unwrap();
//! assert_eq!(balances[0].asset.symbol, "ETH");
//! assert_eq!(balances[0].quantity.to_string(), "1.5");
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

pub mod esplora;
mod evm;
mod evm_history;
pub mod exchanges;
mod explorer;
mod http;
mod price;
mod price_history;
mod solana;
mod solana_history;

pub use esplora::EsploraProvider;
pub use evm::{Erc20Token, EvmRpcProvider};
pub use evm_history::{EvmHistoryOptions, EvmRpcHistory, TRANSFER_TOPIC};
pub use explorer::{ExplorerHistory, ExplorerOptions};
/// The ports these adapters implement, and the sandbox adapters (re-exported from `kc-ports`).
pub use kc_ports::chain::*;
pub use price::CoinGeckoPrices;
pub use price_history::{CoinGeckoHistory, CoinGeckoHistoryOptions, HistoricalPriceCache, MemoryPriceCache};
pub use solana::{SolanaRpcProvider, SplToken};
pub use solana_history::{SolanaHistory, SolanaHistoryOptions};
