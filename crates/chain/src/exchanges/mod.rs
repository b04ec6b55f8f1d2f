//! Exchange connectors: read-only API keys → balances, and trade, deposit and withdrawal
//! history for the ledger.
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
//! | exchange | history (pages, pacing) |
//! |---|---|
//! | Binance | deposits and withdrawals in < 90-day windows (`offset`), then `myTrades` per symbol between held or moved assets (`fromId`); waits for the next minute when `X-MBX-USED-WEIGHT-1M` nears [`binance::WEIGHT_SOFT_LIMIT`] |
//! | Coinbase | Advanced Trade fills (`cursor`), then each wallet's v2 transactions (`starting_after`) |
//! | Kraken | `Ledgers` (`ofs`, 50 a page, trades grouped by `refid`), paced under the API call counter |
//! | OKX | `account/bills-archive` (first sync) or `account/bills` (`after`), 5 req/s (archive 5 per 2 s) |
//!
//! Base URLs are configurable (tests run against the local fakes of `fakes`, feature
//! `fakes`). Every failure is an [`ExchangeError`] that says what went wrong twice: for the
//! end user ([`ExchangeError::user_message`]) and for the operator (its `Display`, which
//! never contains a key, a secret or a signature).

pub mod binance;
pub mod coinbase;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod kraken;
pub mod okx;
#[cfg(test)]
mod tests_fakes;

pub use kc_ports::exchange::{
    exchange_asset, ConnectorRegistry, ExchangeConnector, ExchangeCredentials, ExchangeError, KeyCheck, EXCHANGE_IDS,
};
use kc_ports::{Balance, ChainPosition, Decimal, HistoryLeg, HistoryPage, HistoryTransaction, LegDirection};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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

/// A leg of `quantity` (its absolute value) of `ticker` on `exchange`.
pub(crate) fn leg(exchange: &str, ticker: &str, quantity: Decimal, direction: LegDirection) -> HistoryLeg {
    HistoryLeg {
        asset: exchange_asset(exchange, ticker),
        quantity: quantity.abs().normalize(),
        direction,
        from: None,
        to: None,
    }
}

/// The legs of a trade: what went out, what came in, then the fee (zero quantities dropped).
pub(crate) fn trade_legs(
    exchange: &str,
    sold: (&str, Decimal),
    bought: (&str, Decimal),
    fee: Option<(&str, Decimal)>,
) -> Vec<HistoryLeg> {
    let mut legs = vec![
        leg(exchange, sold.0, sold.1, LegDirection::Outgoing),
        leg(exchange, bought.0, bought.1, LegDirection::Incoming),
    ];
    if let Some((ticker, q)) = fee {
        legs.push(leg(exchange, ticker, q, LegDirection::Fee));
    }
    legs.retain(|l| !l.quantity.is_zero());
    legs
}

/// One exchange transaction for the ledger: `id` is the exchange's own id prefixed by its
/// kind (`trade:`, `deposit:`, `withdrawal:`, `ledger:`…), `sequence` the exchange's own
/// ordering number when it has one (trade id, bill id; else 0), `raw` its record(s).
pub(crate) fn history_tx(
    id: String,
    timestamp: time::OffsetDateTime,
    sequence: u64,
    legs: Vec<HistoryLeg>,
    raw: serde_json::Value,
) -> HistoryTransaction {
    HistoryTransaction {
        id,
        timestamp,
        position: ChainPosition::new(0, sequence),
        legs,
        failed: false,
        label: None,
        raw,
    }
}

/// The instant of `ms` milliseconds since the Unix epoch.
pub(crate) fn time_ms(ms: i64) -> Result<time::OffsetDateTime, ExchangeError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| ExchangeError::Malformed(format!("not a timestamp: {ms}")))
}

/// A cursor this connector produced (JSON), or [`ExchangeError::Malformed`].
pub(crate) fn parse_cursor<T: serde::de::DeserializeOwned + Default>(cursor: Option<&str>) -> Result<T, ExchangeError> {
    match cursor {
        None => Ok(T::default()),
        Some(c) => serde_json::from_str(c)
            .map_err(|e| ExchangeError::Malformed(format!("not a cursor of this connector: {e}"))),
    }
}

/// A page of history with `cursor` serialized.
pub(crate) fn page_of<T: serde::Serialize>(
    mut transactions: Vec<HistoryTransaction>,
    cursor: &T,
    has_more: bool,
) -> Result<HistoryPage, ExchangeError> {
    transactions.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
    let cursor = serde_json::to_string(cursor).map_err(|e| ExchangeError::Malformed(format!("cursor: {e}")))?;
    Ok(HistoryPage { transactions, cursor: Some(cursor), has_more })
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
