//! Chain providers and price sources: the ports and their adapters.
//!
//! Two ports, each an async trait injected into the service layer:
//!
//! - [`ChainProvider`] reads the balances of one address on one [`Chain`]. Adapters:
//!   [`SandboxProvider`] (fixed, documented balances for the sandbox test addresses),
//!   [`EvmRpcProvider`] (one batched JSON-RPC request: `eth_getBalance` plus ERC-20
//!   `balanceOf` per configured token) and [`SolanaRpcProvider`] (`getBalance` and
//!   `getTokenAccountsByOwner`, `jsonParsed`).
//! - [`PriceSource`] prices token ids in USD. Adapters: [`StaticPrices`] (a fixed
//!   table for sandbox and development) and [`CoinGeckoPrices`] (the
//!   `/simple/price` endpoint, with an in-memory cache).
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

mod asset;
mod chain;
mod error;
mod evm;
mod http;
mod price;
mod provider;
mod sandbox;
mod solana;

pub use asset::{AssetInfo, Balance};
pub use chain::{Chain, UnknownChain};
pub use error::{ChainError, PriceError};
pub use evm::{Erc20Token, EvmRpcProvider};
pub use price::{CoinGeckoPrices, Price, PriceSource, StaticPrices};
pub use provider::ChainProvider;
pub use rust_decimal::Decimal;
pub use sandbox::SandboxProvider;
pub use solana::{SolanaRpcProvider, SplToken};
