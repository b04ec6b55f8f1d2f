//! The exchange port: read-only API credentials → balances, and the registry of connectors.
//!
//! Adapters (signed HTTP clients for Binance, Coinbase, Kraken, OKX) live in `kc-chain`.

use crate::chain::{AssetInfo, Balance, Chain, HistoryPage};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The catalogue ids of the exchanges a connector exists for (`kc-chain` builds one for each).
pub const EXCHANGE_IDS: &[&str] = &["binance", "coinbase", "kraken", "okx"];

/// The API credentials a user gives for one exchange account.
#[derive(Clone)]
pub struct ExchangeCredentials {
    /// The API key (Coinbase: the key name `organizations/…/apiKeys/…`).
    pub api_key: String,
    /// The secret (Kraken: base64 private key; Coinbase: EC private key PEM).
    pub secret: SecretString,
    /// The passphrase (OKX).
    pub passphrase: Option<SecretString>,
}

impl std::fmt::Debug for ExchangeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeCredentials").field("api_key", &"[REDACTED]").finish_non_exhaustive()
    }
}

/// What a successful credential check learned about the key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyCheck {
    /// The key may place orders.
    pub can_trade: bool,
    /// The key may withdraw funds.
    pub can_withdraw: bool,
}

impl KeyCheck {
    /// A message for the user when the key can do more than read (`None` for a read-only key).
    pub fn warning(&self, exchange: &str) -> Option<String> {
        let what = match (self.can_trade, self.can_withdraw) {
            (false, false) => return None,
            (true, false) => "trade",
            (false, true) => "withdraw funds",
            (true, true) => "trade and withdraw funds",
        };
        Some(format!(
            "This {exchange} API key can also {what}. Only read access is needed: consider replacing it with a read-only key."
        ))
    }
}

/// Why an exchange call failed. `Display` is the technical cause (for logs and
/// `lastSyncLog`); [`ExchangeError::user_message`] is what the end user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The exchange does not know the key (deleted, mistyped, wrong environment).
    #[error("invalid API key: {0}")]
    InvalidKey(String),
    /// The key exists but the signature does not verify (wrong secret).
    #[error("invalid signature (wrong secret?): {0}")]
    InvalidSignature(String),
    /// The passphrase is wrong (OKX).
    #[error("invalid passphrase: {0}")]
    InvalidPassphrase(String),
    /// The key is restricted to IP addresses this server does not use.
    #[error("IP address not allowed for this key: {0}")]
    IpNotAllowed(String),
    /// The key lacks the read permission the connector needs.
    #[error("permission missing: {0}")]
    PermissionMissing(String),
    /// Rate limited, after the connector's own back-off.
    #[error("rate limited (retry after {retry_after:?}): {detail}")]
    RateLimited {
        /// What the exchange asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// The exchange's message.
        detail: String,
    },
    /// The exchange refused the request time: this server's clock is off.
    #[error("request timestamp refused (check this server's clock): {0}")]
    ClockSkew(String),
    /// The exchange is under maintenance or temporarily unavailable.
    #[error("exchange unavailable or under maintenance: {0}")]
    Maintenance(String),
    /// Connect failure, timeout, reset, or an unexpected HTTP status.
    #[error("transport: {0}")]
    Transport(String),
    /// A reply the connector does not understand.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// Bad configuration or unusable credentials shape (e.g. a secret that is not base64).
    #[error("misconfigured: {0}")]
    Config(String),
}

impl ExchangeError {
    /// Whether trying again later may succeed (rate limit, maintenance, network, clock).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::ClockSkew(_)
                | Self::Maintenance(_)
                | Self::Transport(_)
                | Self::Malformed(_)
        )
    }

    /// The message for the end user, about the exchange named `name`.
    pub fn user_message(&self, name: &str) -> String {
        match self {
            Self::InvalidKey(_) => format!("{name} rejected the API key: it may have been deleted or mistyped."),
            Self::InvalidSignature(_) => {
                format!("{name} rejected the API secret: check that you copied the whole secret of this key.")
            }
            Self::InvalidPassphrase(_) => format!("{name} rejected the passphrase of this API key."),
            Self::IpNotAllowed(_) => format!(
                "{name} refused the connection because the API key is restricted to other IP addresses. Remove the IP restriction or create a key without one."
            ),
            Self::PermissionMissing(_) => {
                format!("This {name} API key cannot read balances: enable the read (view) permission on the key.")
            }
            Self::RateLimited { .. } => format!("{name} is limiting requests right now; the sync will try again shortly."),
            Self::Maintenance(_) => format!("{name} is under maintenance; the sync will try again later."),
            Self::ClockSkew(_) | Self::Transport(_) | Self::Malformed(_) | Self::Config(_) => {
                format!("{name} could not be reached right now; the sync will try again later.")
            }
        }
    }
}

/// Reads one exchange account through its API.
#[async_trait::async_trait]
pub trait ExchangeConnector: Send + Sync {
    /// The catalogue id (`binance`, `coinbase`, `kraken`, `okx`).
    fn id(&self) -> &'static str;

    /// The display name (`Binance`).
    fn name(&self) -> &'static str;

    /// One cheap authenticated call: whether the credentials work and what they may do.
    async fn check(&self, credentials: &ExchangeCredentials) -> Result<KeyCheck, ExchangeError>;

    /// The non-zero balances of the account (available + locked), one per asset.
    async fn balances(&self, credentials: &ExchangeCredentials) -> Result<Vec<Balance>, ExchangeError>;

    /// The next page of the account's trade, deposit and withdrawal history after `cursor`
    /// (`None`: from the start of the account), with the same contract as
    /// [`TransactionSource::transactions`](crate::chain::TransactionSource::transactions):
    /// the ledger stores [`HistoryPage::cursor`], calls again at once while
    /// [`HistoryPage::has_more`], and resumes from the stored cursor at the next sync, so a
    /// sync is incremental. Each transaction is normalized into legs seen from the account:
    /// a trade is an outgoing leg (what was sold or paid), an incoming leg (what was bought or
    /// received) and a fee leg; a deposit is an incoming leg; a withdrawal is an outgoing leg
    /// and a fee leg. Transaction ids are the exchange's own (trade id, deposit id…), prefixed
    /// by their kind so they never collide, and stable across syncs.
    ///
    /// The connector pages and paces its requests as the exchange's documentation requires
    /// (page sizes, time windows, request weights); a cursor it did not produce is
    /// [`ExchangeError::Malformed`].
    async fn history(
        &self,
        credentials: &ExchangeCredentials,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, ExchangeError>;
}

/// The connectors this server has, by catalogue id.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: HashMap<String, Arc<dyn ExchangeConnector>>,
}

impl ConnectorRegistry {
    /// No connector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `connector` under its [`ExchangeConnector::id`].
    pub fn with(mut self, connector: Arc<dyn ExchangeConnector>) -> Self {
        self.connectors.insert(connector.id().to_owned(), connector);
        self
    }

    /// The connector of exchange `id`.
    pub fn get(&self, id: &str) -> Option<Arc<dyn ExchangeConnector>> {
        self.connectors.get(id).cloned()
    }

    /// Whether exchange `id` has a connector.
    pub fn contains(&self, id: &str) -> bool {
        self.connectors.contains_key(id)
    }
}

/// The asset of an exchange ticker: well-known tickers get the token id the price sources
/// and on-chain balances use (`BTC` → `bitcoin`, `USDC` → Ethereum USDC), so holdings add up
/// and are priced; others get `<exchange>:<TICKER>`.
pub fn exchange_asset(exchange: &str, ticker: &str) -> AssetInfo {
    let ticker = ticker.trim().to_ascii_uppercase();
    let native = |chain: Chain| chain.native_asset();
    let token = |chain: Chain, contract: &str, name: &str, decimals: u8| {
        AssetInfo::token(chain, contract, &ticker, name, decimals)
    };
    let mut asset = match ticker.as_str() {
        "BTC" | "XBT" => native(Chain::Bitcoin),
        "ETH" => native(Chain::Ethereum),
        "SOL" => native(Chain::Solana),
        "POL" | "MATIC" => native(Chain::Polygon),
        "BNB" => native(Chain::Bsc),
        "AVAX" => native(Chain::Avalanche),
        "USDC" => token(Chain::Ethereum, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USD Coin", 6),
        "USDT" => token(Chain::Ethereum, "0xdac17f958d2ee523a2206206994597c13d831ec7", "Tether USD", 6),
        "WBTC" => token(Chain::Ethereum, "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", "Wrapped BTC", 8),
        _ => AssetInfo {
            token_id: format!("{exchange}:{ticker}"),
            symbol: ticker.clone(),
            public_name: ticker.clone(),
            chain_id: exchange.to_owned(),
            contract_address: None,
            logo_url: String::new(),
            decimals: 8,
            category: if is_fiat(&ticker) { "fiat".to_owned() } else { AssetInfo::CATEGORY_CRYPTO.to_owned() },
            asset_type: AssetInfo::TYPE_CRYPTO.to_owned(),
        },
    };
    if asset.symbol != ticker && ticker != "XBT" && ticker != "MATIC" {
        asset.symbol = ticker;
    }
    asset
}

fn is_fiat(ticker: &str) -> bool {
    matches!(ticker, "USD" | "EUR" | "GBP" | "CAD" | "JPY" | "CHF" | "AUD" | "TRY" | "BRL")
}
