//! Integration tests of kc-chain: the adapters against local fake servers that
//! speak the real wire formats, and the EVM adapter against a real local node.

mod coingecko;
mod evm;
mod evm_history;
mod explorer;
mod ganache;
#[path = "../shared/ganache_install.rs"]
mod ganache_install;
mod price_history;
mod solana;
mod solana_history;
mod support;
