//! The chain provider port.

use crate::chain::Balance;
use crate::chain::Chain;
use crate::chain::ChainError;

/// Reads the balances of an address on one chain.
#[async_trait::async_trait]
pub trait ChainProvider: Send + Sync {
    /// The chain this provider reads.
    fn chain(&self) -> Chain;

    /// The balances held by `address`: the native asset first (always present,
    /// possibly zero, for the RPC adapters), then tokens with a non-zero balance.
    ///
    /// Errors:
    /// - [`ChainError::UnsupportedAddress`] when `address` is not valid for
    ///   [`Self::chain`]'s family (checked before any I/O);
    /// - [`ChainError::Rpc`] when the node answers with a JSON-RPC error object;
    /// - [`ChainError::Transport`] when the node cannot be reached, or does not
    ///   answer within the adapter's timeout;
    /// - [`ChainError::Malformed`] when the reply cannot be understood, including a
    ///   quantity too large for an exact [`Decimal`](rust_decimal::Decimal).
    ///
    /// Never panics on any reply.
    async fn balances(&self, address: &str) -> Result<Vec<Balance>, ChainError>;
}
