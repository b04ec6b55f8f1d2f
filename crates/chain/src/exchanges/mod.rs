//! Exchange connectors: read-only API keys → balances.
//!
//! One [`ExchangeConnector`] per exchange, each signing its requests exactly as the
//! exchange's public API documentation says:
//!
//! | exchange | module | signature | credentials |
//! |---|---|---|---|
//! | Binance | [`binance`] | HMAC-SHA256 (hex) of the query string, `timestamp` + `recvWindow` | API key, secret |
//! | Coinbase Advanced Trade | [`coinbase`] | ES256 JWT per request (CDP API key) | key name, EC private key (PEM) |
//! | Kraken | [`kraken`] | HMAC-SHA512 of path + SHA-256(nonce + body), base64 | API key, private key (base64) |
//! | OKX | [`okx`] | HMAC-SHA256 (base64) of timestamp + method + path + body | API key, secret, passphrase |
//!
//! Base URLs are configurable (tests run against the local fakes of `fakes`, feature
//! `fakes`). Every failure is an [`ExchangeError`] that says what went wrong twice: for the
//! end user ([`ExchangeError::user_message`]) and for the operator (its `Display`, which
//! never contains a key, a secret or a signature).

pub mod binance;
pub mod coinbase;
pub mod csv_import;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod kraken;
pub mod okx;
#[cfg(test)]
mod tests_fakes;

use crate::asset::{AssetInfo, Balance};
use crate::chain::Chain;
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
}

/// Connection settings of one connector.
#[derive(Debug, Clone)]
pub struct ExchangeOptions {
    /// The API's base URL (`https://api.binance.com`).
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Rate-limited replies waited out (per `Retry-After`) before giving up.
    pub max_retries: u32,
    /// The longest single wait on a rate limit; a longer `Retry-After` gives up at once.
    pub max_wait: Duration,
}

impl ExchangeOptions {
    /// The defaults with `base_url`: 10 s timeout, 3 retries, waits of at most 30 s.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            max_wait: Duration::from_secs(30),
        }
    }
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

    /// The default base URL of each built-in connector.
    pub fn default_base_url(id: &str) -> Option<&'static str> {
        Some(match id {
            "binance" => binance::DEFAULT_BASE_URL,
            "coinbase" => coinbase::DEFAULT_BASE_URL,
            "kraken" => kraken::DEFAULT_BASE_URL,
            "okx" => okx::DEFAULT_BASE_URL,
            _ => return None,
        })
    }

    /// Builds the built-in connector `id` (`None` for an exchange without one).
    pub fn build(id: &str, options: ExchangeOptions) -> Option<Result<Arc<dyn ExchangeConnector>, ExchangeError>> {
        Some(match id {
            "binance" => binance::Binance::new(options).map(|c| Arc::new(c) as Arc<dyn ExchangeConnector>),
            "coinbase" => coinbase::Coinbase::new(options).map(|c| Arc::new(c) as Arc<dyn ExchangeConnector>),
            "kraken" => kraken::Kraken::new(options).map(|c| Arc::new(c) as Arc<dyn ExchangeConnector>),
            "okx" => okx::Okx::new(options).map(|c| Arc::new(c) as Arc<dyn ExchangeConnector>),
            _ => return None,
        })
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

/// Parses an exchange's decimal text (`"0.00100000"`, `"1e-8"` refused).
pub(crate) fn decimal(text: &str) -> Result<Decimal, ExchangeError> {
    Decimal::from_str(text.trim())
        .map(|d| d.normalize())
        .map_err(|_| ExchangeError::Malformed(format!("not a decimal: {text:?}")))
}

/// Sums `(ticker, quantity)` pairs per asset, dropping zeros, sorted by token id.
pub(crate) fn balances_from(exchange: &str, items: impl IntoIterator<Item = (String, Decimal)>) -> Vec<Balance> {
    let mut by_id: HashMap<String, Balance> = HashMap::new();
    for (ticker, quantity) in items {
        let asset = exchange_asset(exchange, &ticker);
        by_id
            .entry(asset.token_id.clone())
            .and_modify(|b| b.quantity += quantity)
            .or_insert(Balance { asset, quantity });
    }
    let mut out: Vec<Balance> = by_id
        .into_values()
        .filter(|b| !b.quantity.is_zero())
        .map(|mut b| {
            b.quantity = b.quantity.normalize();
            b
        })
        .collect();
    out.sort_by(|a, b| a.asset.token_id.cmp(&b.asset.token_id));
    out
}

/// One HTTP reply, fully read.
pub(crate) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The first 200 characters of the body, for error messages.
    pub fn excerpt(&self) -> String {
        crate::http::excerpt(&self.body)
    }
}

/// Sends the request `build` makes (called again for each attempt, so each is signed
/// afresh) and waits out rate limits: a 429 (or `is_limited`) reply is retried after its
/// `Retry-After` (or 1 s, 2 s, 4 s…) up to `options.max_retries` times, never waiting more
/// than `options.max_wait` at once.
pub(crate) async fn send(
    client: &reqwest::Client,
    options: &ExchangeOptions,
    exchange: &str,
    build: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, ExchangeError>,
    is_limited: impl Fn(&Reply) -> bool,
) -> Result<Reply, ExchangeError> {
    let mut attempt = 0u32;
    loop {
        let request = build(client)?;
        let mut response = request.send().await.map_err(|e| ExchangeError::Transport(transport(e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ExchangeError::Transport(transport(e)))? {
            if body.len() + chunk.len() > 16 * 1024 * 1024 {
                return Err(ExchangeError::Malformed("reply larger than 16 MiB".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        let reply = Reply { status, retry_after, headers, body };
        if status != 429 && !is_limited(&reply) {
            return Ok(reply);
        }
        let wait = reply.retry_after.unwrap_or_else(|| Duration::from_secs(1u64 << attempt.min(5)));
        if attempt >= options.max_retries || wait > options.max_wait {
            return Err(ExchangeError::RateLimited { retry_after: reply.retry_after, detail: reply.excerpt() });
        }
        tracing::info!(exchange, wait_ms = wait.as_millis() as u64, attempt, "rate limited; waiting as asked");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The cause of a failed exchange, without the URL (its query carries signatures).
fn transport(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.without_url().to_string()
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA512 of `message` under `key`.
pub(crate) fn hmac_sha512(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<sha2::Sha512> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// An HTTP client and the parsed base URL (without a trailing slash).
pub(crate) fn client_and_base(options: &ExchangeOptions) -> Result<(reqwest::Client, String), ExchangeError> {
    let url = crate::http::parse_url(&options.base_url).map_err(ExchangeError::Config)?;
    let client = crate::http::build_client(options.timeout).map_err(ExchangeError::Config)?;
    Ok((client, url.as_str().trim_end_matches('/').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_tickers_share_on_chain_token_ids() {
        assert_eq!(exchange_asset("kraken", "XBT").token_id, "bitcoin");
        assert_eq!(exchange_asset("kraken", "XBT").symbol, "BTC");
        assert_eq!(exchange_asset("binance", "usdc").token_id, "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
        let other = exchange_asset("okx", "OKB");
        assert_eq!((other.token_id.as_str(), other.chain_id.as_str()), ("okx:OKB", "okx"));
        assert_eq!(exchange_asset("kraken", "EUR").category, "fiat");
    }

    #[test]
    fn balances_are_summed_per_asset_without_zeros() {
        let b = balances_from(
            "kraken",
            [
                ("XBT".to_owned(), Decimal::new(5, 1)),
                ("BTC".to_owned(), Decimal::new(25, 2)),
                ("DOT".to_owned(), Decimal::ZERO),
            ],
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].quantity.to_string(), "0.75");
    }

    #[test]
    fn key_warnings_name_what_the_key_can_do() {
        assert_eq!(KeyCheck::default().warning("Binance"), None);
        let w = KeyCheck { can_trade: true, can_withdraw: true }.warning("Binance").unwrap_or_default();
        assert!(w.contains("trade and withdraw") && w.contains("read-only"), "{w}");
    }
}
