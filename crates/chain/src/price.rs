//! The price source port and its adapters.

use crate::http::{build_client, excerpt, fetch, parse_url, redact_url, FetchError};
use crate::Chain;
use crate::{Price, PriceError, PriceSource};
use kc_domain::{Clock, SystemClock};
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::Url;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Prices from CoinGecko's `GET {base}/simple/price?ids=…&vs_currencies=usd&include_24hr_change=true`.
///
/// Token ids are mapped to CoinGecko coin ids by the configured table (see
/// [`CoinGeckoPrices::default_ids`]); unmapped token ids are never priced. Numbers
/// are read from the JSON text itself into [`Decimal`], never through `f64`
/// (rounded only beyond Decimal's 28 significant digits). Answers, including
/// "CoinGecko does not know this id", are cached per coin id for the TTL, measured
/// on the injected [`Clock`]; only coin ids missing from the cache or stale are
/// requested, in one request. The cache lock is held during a fetch, so concurrent
/// callers wait for one request instead of each sending their own. When that request
/// fails, a coin's last known price is served for up to [`CoinGeckoPrices::STALE_IF_ERROR`]
/// after it was fetched (an outage does not zero a portfolio); the error is returned only
/// when no wanted coin has one.
///
/// The API key, when set, is sent as `x-cg-pro-api-key` when the base URL's host
/// starts with `pro-api.`, else as `x-cg-demo-api-key`; it is marked sensitive and
/// never logged.
pub struct CoinGeckoPrices {
    client: reqwest::Client,
    endpoint: Url,
    shown: String,
    api_key: Option<(&'static str, SecretString)>,
    timeout: Duration,
    ids: HashMap<String, String>,
    ttl: time::Duration,
    clock: Arc<dyn Clock>,
    cache: tokio::sync::Mutex<HashMap<String, CacheEntry>>,
}

#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    price: Option<Price>,
    at: OffsetDateTime,
}

impl CoinGeckoPrices {
    /// CoinGecko's public (and demo-key) API base URL.
    pub const PUBLIC_BASE_URL: &'static str = "https://api.coingecko.com/api/v3";
    /// CoinGecko's paid API base URL.
    pub const PRO_BASE_URL: &'static str = "https://pro-api.coingecko.com/api/v3";
    /// How long after it was fetched a price is still served while the source fails.
    pub const STALE_IF_ERROR: time::Duration = time::Duration::hours(24);

    /// A source calling `{base_url}/simple/price`, mapping token ids to coin ids
    /// with `ids`, caching answers for `cache_ttl` (zero disables the cache), every
    /// request ending within `timeout`. Time is the system clock; see
    /// [`CoinGeckoPrices::with_clock`].
    ///
    /// Returns [`PriceError::Config`] when `base_url` is not an http(s) URL or the
    /// API key cannot be an HTTP header value.
    pub fn new(
        base_url: &str,
        api_key: Option<SecretString>,
        ids: HashMap<String, String>,
        timeout: Duration,
        cache_ttl: Duration,
    ) -> Result<Self, PriceError> {
        let base = parse_url(base_url).map_err(PriceError::Config)?;
        let endpoint =
            parse_url(&format!("{}/simple/price", base.as_str().trim_end_matches('/'))).map_err(PriceError::Config)?;
        let header = if base.host_str().is_some_and(|h| h.starts_with("pro-api.")) {
            "x-cg-pro-api-key"
        } else {
            "x-cg-demo-api-key"
        };
        if let Some(key) = &api_key {
            HeaderValue::from_str(key.expose_secret())
                .map_err(|_| PriceError::Config("API key is not a valid HTTP header value".to_owned()))?;
        }
        Ok(Self {
            client: build_client(timeout).map_err(PriceError::Config)?,
            shown: redact_url(&base),
            endpoint,
            api_key: api_key.map(|key| (header, key)),
            timeout,
            ids,
            ttl: time::Duration::try_from(cache_ttl).unwrap_or(time::Duration::MAX),
            clock: Arc::new(SystemClock),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The same source measuring cache age on `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Token id → CoinGecko coin id for every native asset of [`Chain::ALL`] and
    /// the tokens of [`Erc20Token::well_known`](crate::Erc20Token::well_known) and
    /// [`SplToken::well_known`](crate::SplToken::well_known).
    pub fn default_ids() -> HashMap<String, String> {
        let rows = [
            (Chain::Ethereum.native_token_id().to_owned(), "ethereum"),
            (Chain::Arbitrum.native_token_id().to_owned(), "ethereum"),
            (Chain::Optimism.native_token_id().to_owned(), "ethereum"),
            (Chain::Base.native_token_id().to_owned(), "ethereum"),
            (Chain::Polygon.native_token_id().to_owned(), "polygon-ecosystem-token"),
            (Chain::Bsc.native_token_id().to_owned(), "binancecoin"),
            (Chain::Avalanche.native_token_id().to_owned(), "avalanche-2"),
            (Chain::Solana.native_token_id().to_owned(), "solana"),
            (Chain::Bitcoin.native_token_id().to_owned(), "bitcoin"),
            (Chain::Ethereum.token_id("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"), "usd-coin"),
            (Chain::Ethereum.token_id("0xdac17f958d2ee523a2206206994597c13d831ec7"), "tether"),
            (Chain::Ethereum.token_id("0x6b175474e89094c44da98b954eedeac495271d0f"), "dai"),
            (Chain::Ethereum.token_id("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), "weth"),
            (Chain::Ethereum.token_id("0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"), "wrapped-bitcoin"),
            (Chain::Solana.token_id("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"), "usd-coin"),
            (Chain::Solana.token_id("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"), "tether"),
        ];
        rows.into_iter().map(|(token, coin)| (token, coin.to_owned())).collect()
    }

    fn is_fresh(&self, entry: &CacheEntry, now: OffsetDateTime) -> bool {
        let age = now - entry.at;
        !age.is_negative() && age < self.ttl
    }

    /// One request for `coins`; coin id → price for those CoinGecko knows.
    #[tracing::instrument(name = "coingecko_fetch", skip_all, fields(source = %self.shown, coins = coins.len()))]
    async fn fetch(&self, coins: &[&str]) -> Result<HashMap<String, Price>, PriceError> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("ids", &coins.join(","))
            .append_pair("vs_currencies", "usd")
            .append_pair("include_24hr_change", "true");
        let mut request = self.client.get(url).header(ACCEPT, "application/json");
        if let Some((header, key)) = &self.api_key {
            let mut value = HeaderValue::from_str(key.expose_secret())
                .map_err(|_| PriceError::Config("API key is not a valid HTTP header value".to_owned()))?;
            value.set_sensitive(true);
            request = request.header(*header, value);
        }
        let (status, body) = fetch(request, self.timeout)
            .await
            .map_err(|e| match e {
                FetchError::Transport(msg) => PriceError::Transport(msg),
                FetchError::TooLarge => PriceError::Malformed("reply too large".to_owned()),
            })
            .inspect_err(|e| tracing::warn!(error = %e, "price request failed"))?;
        if !status.is_success() {
            tracing::warn!(%status, "price source answered an error status");
            return Err(PriceError::Status { status: status.as_u16() });
        }
        parse_simple_price(&body)
    }
}

impl fmt::Debug for CoinGeckoPrices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinGeckoPrices")
            .field("base_url", &self.shown)
            .field("api_key", &self.api_key.as_ref().map(|(header, _)| (*header, "[REDACTED]")))
            .field("timeout", &self.timeout)
            .field("ids", &self.ids.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl PriceSource for CoinGeckoPrices {
    async fn prices(&self, token_ids: &[String]) -> Result<HashMap<String, Price>, PriceError> {
        let wanted: BTreeSet<&str> = token_ids.iter().filter_map(|t| self.ids.get(t)).map(String::as_str).collect();
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        let missing: Vec<&str> =
            wanted.iter().copied().filter(|coin| !cache.get(*coin).is_some_and(|e| self.is_fresh(e, now))).collect();
        if !missing.is_empty() {
            match self.fetch(&missing).await {
                Ok(fetched) => {
                    let at = self.clock.now();
                    for coin in missing {
                        cache.insert(coin.to_owned(), CacheEntry { price: fetched.get(coin).copied(), at });
                    }
                }
                Err(e) => {
                    // The last known prices beat none, for a while.
                    cache.retain(|_, entry| now - entry.at < Self::STALE_IF_ERROR);
                    if !wanted.iter().any(|coin| cache.get(*coin).is_some_and(|entry| entry.price.is_some())) {
                        return Err(e);
                    }
                    let oldest = missing.iter().filter_map(|coin| cache.get(*coin)).map(|e| now - e.at).max();
                    let oldest = oldest.unwrap_or_default();
                    tracing::warn!(error = %e, stale_s = oldest.whole_seconds(), "price source failed; serving the last known prices");
                }
            }
        } else if !wanted.is_empty() {
            tracing::debug!(coins = wanted.len(), "prices served from cache");
        }
        Ok(token_ids
            .iter()
            .filter_map(|token| {
                let coin = self.ids.get(token)?;
                let price = cache.get(coin)?.price?;
                Some((token.clone(), price))
            })
            .collect())
    }
}

/// Parses `{"<coin>": {"usd": 1.0, "usd_24h_change": -0.5}, …}`. A coin without
/// a `usd` number (or with `null`) is left out.
fn parse_simple_price(body: &[u8]) -> Result<HashMap<String, Price>, PriceError> {
    let reply: HashMap<String, HashMap<String, Box<RawValue>>> = serde_json::from_slice(body)
        .map_err(|e| PriceError::Malformed(format!("expected {{coin: {{usd: …}}}} ({e}): {}", excerpt(body))))?;
    let mut prices = HashMap::with_capacity(reply.len());
    for (coin, fields) in reply {
        let number = |field: &str| -> Result<Option<Decimal>, PriceError> {
            fields
                .get(field)
                .map(|raw| decimal_from_json(raw.get()))
                .transpose()
                .map(Option::flatten)
                .map_err(|e| PriceError::Malformed(format!("{coin}.{field}: {e}")))
        };
        if let Some(usd) = number("usd")? {
            prices.insert(coin.clone(), Price { usd, change_24h_pct: number("usd_24h_change")? });
        }
    }
    Ok(prices)
}

/// The exact decimal of a JSON number's text; `null` is `None`.
pub(crate) fn decimal_from_json(text: &str) -> Result<Option<Decimal>, String> {
    let text = text.trim();
    if text == "null" {
        return Ok(None);
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(format!("{text} is not a number"));
    }
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text).or_else(|_| Decimal::from_str(text))
    };
    parsed.map(|d| Some(d.normalize())).map_err(|e| format!("{text} is not a decimal: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_become_exact_decimals() {
        let cases: &[(&str, Option<&str>)] = &[
            ("3000", Some("3000")),
            ("3000.12", Some("3000.12")),
            ("0.1", Some("0.1")),
            ("-1.2345678901234567890123", Some("-1.2345678901234567890123")),
            ("1.5e-7", Some("0.00000015")),
            ("2E3", Some("2000")),
            ("0.000000000000000000000001", Some("0.000000000000000000000001")),
            ("null", None),
        ];
        for (text, expected) in cases {
            let got = decimal_from_json(text).map(|d| d.map(|d| d.to_string()));
            assert_eq!(got, Ok(expected.map(str::to_owned)), "{text}");
        }
        for bad in ["\"3000\"", "true", "{}", "[1]"] {
            assert!(decimal_from_json(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn simple_price_replies_parse() {
        let body = br#"{"ethereum":{"usd":3456.789012345678901,"usd_24h_change":-1.23456789},"tether":{"usd":1.0,"usd_24h_change":null},"x":{}}"#;
        let prices = parse_simple_price(body).expect("valid reply");
        assert_eq!(prices.len(), 2, "{prices:?}");
        assert_eq!(prices["ethereum"].usd.to_string(), "3456.789012345678901");
        assert_eq!(prices["ethereum"].change_24h_pct.map(|d| d.to_string()).as_deref(), Some("-1.23456789"));
        assert_eq!(prices["tether"], Price { usd: Decimal::ONE, change_24h_pct: None });
        for bad in [&b"<html>"[..], b"{\"ethereum\":{\"usd\":\"3000\"}}", b"[]", b"{\"ethereum\":{\"usd\":30"] {
            assert!(
                matches!(parse_simple_price(bad), Err(PriceError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
