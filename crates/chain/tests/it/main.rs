//! Integration tests of kc-chain: the adapters against local fake servers that
//! speak the real wire formats, and the EVM adapter against a real local node.

mod coingecko;
mod evm;
mod ganache;
mod solana;
mod support;
