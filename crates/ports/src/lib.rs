//! Kryptos Connect's ports: every trait the service runs on, and nothing that does I/O.
//!
//! - [`store`]: persistence, split by capability ([`Store`] is all the core ones);
//!   adapters: `kc-store` (sea-orm on SQLite and PostgreSQL), `kc-store-memory`.
//! - [`chain`]: balances, prices, transaction history and historical prices; adapters:
//!   `kc-chain` (JSON-RPC, explorers, CoinGecko, Esplora) and the sandbox adapters here.
//! - [`exchange`]: exchange accounts behind read-only API keys; adapters in `kc-chain`.
//! - [`webhook`]: the webhook sender; adapter: `kc-webhook-sender` (reqwest).
//!
//! This crate depends on no database driver, HTTP client or server (`cargo xtask ci` checks
//! it), so a system that embeds `kc-service` can bring its own adapters.
//!
//! ```
//! use kc_ports::{Chain, ChainProvider, SandboxProvider};
//! # tokio_block_on(async {
//! let sandbox = SandboxProvider::new(Chain::Ethereum);
//! let balances = sandbox.balances(SandboxProvider::ETHEREUM_TEST_ADDRESS).await.unwrap();
//! assert_eq!(balances[0].asset.symbol, "ETH");
//! assert_eq!(balances[0].quantity.to_string(), "1.5");
//! # });
//! # fn tokio_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

pub mod chain;
pub mod exchange;
pub mod store;
pub mod webhook;

pub use chain::*;
pub use store::*;
pub use webhook::{WebhookRequest, WebhookResponse, WebhookSender};
