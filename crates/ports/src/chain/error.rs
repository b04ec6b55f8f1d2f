//! The errors of the two ports.

/// Why a [`ChainProvider`](crate::ChainProvider) could not report balances.
///
/// None of the messages carries an RPC URL or API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The node answered with a JSON-RPC error object (for a batch, the error of
    /// the lowest request id).
    #[error("RPC error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// The JSON-RPC error message.
        message: String,
    },
    /// The node could not be reached or did not answer in time: connect failure,
    /// timeout, reset, or an HTTP error status without a JSON-RPC body (429, 502, …).
    #[error("RPC transport error: {0}")]
    Transport(String),
    /// The node answered something that is not the expected reply: not JSON,
    /// truncated, wrong shape, a quantity that is not hex, a missing batch id, or
    /// a quantity too large for an exact decimal (more than 96 bits of mantissa).
    #[error("malformed RPC reply: {0}")]
    Malformed(String),
    /// The address is not a valid address of the provider's chain.
    #[error("address not supported by this chain")]
    UnsupportedAddress,
    /// The adapter was built with an invalid configuration (bad URL, bad token
    /// contract, HTTP client unavailable). Returned by constructors only.
    #[error("chain provider misconfigured: {0}")]
    Config(String),
}

/// Why a [`PriceSource`](crate::PriceSource) could not price tokens.
///
/// None of the messages carries an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The price service could not be reached or did not answer in time.
    #[error("price source transport error: {0}")]
    Transport(String),
    /// The price service answered with an HTTP error status (429 when rate limited).
    #[error("price source answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The reply is not the expected JSON shape, or a number is not a decimal.
    #[error("malformed price reply: {0}")]
    Malformed(String),
    /// The adapter was built with an invalid configuration. Returned by constructors only.
    #[error("price source misconfigured: {0}")]
    Config(String),
}
