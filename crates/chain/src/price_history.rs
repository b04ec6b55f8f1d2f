//! Historical USD prices from a CoinGecko-compatible API
//! (`/coins/{id}/market_chart/range`), one price per UTC day, behind a pluggable cache.

use crate::http::{build_client, excerpt, fetch_with_retry_after, parse_url, redact_url, FetchError};
use crate::price::decimal_from_json;
use crate::HistoricalPriceSource;
use crate::PriceError;
use kc_domain::{Clock, SystemClock};
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{StatusCode, Url};
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::{Date, OffsetDateTime, Time, UtcOffset};

/// Where [`CoinGeckoHistory`] keeps the daily prices it has fetched. The in-memory
/// [`MemoryPriceCache`] is the default; a store-backed implementation (a cache table) makes
/// them survive restarts and be shared by every node.
#[async_trait::async_trait]
pub trait HistoricalPriceCache: Send + Sync {
    /// The cached price of `coin` (a CoinGecko coin id) on `day` (UTC): `None` when not
    /// cached, `Some(None)` when it is known that the API has no price for that day.
    async fn get(&self, coin: &str, day: Date) -> Result<Option<Option<Decimal>>, PriceError>;

    /// Records daily prices of `coin` (`None`: known to have none). Only complete past days
    /// are ever put, so entries never go stale.
    async fn put(&self, coin: &str, days: &[(Date, Option<Decimal>)]) -> Result<(), PriceError>;
}

/// A process-local [`HistoricalPriceCache`].
#[derive(Debug, Default)]
pub struct MemoryPriceCache {
    entries: std::sync::Mutex<HashMap<(String, Date), Option<Decimal>>>,
}

impl MemoryPriceCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many (coin, day) entries it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait::async_trait]
impl HistoricalPriceCache for MemoryPriceCache {
    async fn get(&self, coin: &str, day: Date) -> Result<Option<Option<Decimal>>, PriceError> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(entries.get(&(coin.to_owned(), day)).copied())
    }

    async fn put(&self, coin: &str, days: &[(Date, Option<Decimal>)]) -> Result<(), PriceError> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (day, price) in days {
            entries.insert((coin.to_owned(), *day), *price);
        }
        Ok(())
    }
}

/// How [`CoinGeckoHistory`] fetches and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinGeckoHistoryOptions {
    /// Days around the requested day one request covers (at least 1). Above 90 days
    /// CoinGecko answers one point per day (at 00:00 UTC), so a ledger spanning a year
    /// costs two or three requests per coin. Public and demo keys reach 365 days back only.
    pub window_days: u32,
    /// Retries after HTTP 429 before giving up with [`PriceError::Status`] 429.
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each further one. A `Retry-After`
    /// (in seconds) wins when longer; no wait exceeds 60 s.
    pub backoff: Duration,
}

impl Default for CoinGeckoHistoryOptions {
    /// 180-day windows, 3 retries, 2 s first backoff (the public API allows ~30 calls a minute).
    fn default() -> Self {
        Self { window_days: 180, max_retries: 3, backoff: Duration::from_secs(2) }
    }
}

/// Historical USD prices from CoinGecko's
/// `GET {base}/coins/{id}/market_chart/range?vs_currency=usd&from=<unix s>&to=<unix s>`.
///
/// The price of a day is the first point of that UTC day (CoinGecko's daily points are at
/// 00:00 UTC, like `/coins/{id}/history?date=dd-mm-yyyy`). A cache miss fetches the whole
/// window around the day and caches every complete past day of it, with and without a
/// point, so the ledger's next days are hits; today's (still moving) price is returned but
/// not cached. Token ids map to coin ids as in [`CoinGeckoPrices`](crate::CoinGeckoPrices)
/// ([`CoinGeckoPrices::default_ids`](crate::CoinGeckoPrices::default_ids)); an unmapped
/// token, a future day and an unknown coin (HTTP 404) are `Ok(None)`. HTTP 429 is retried
/// with backoff; other error statuses are [`PriceError::Status`]. Fetches are serialized,
/// so concurrent misses wait for one request. Public and demo keys only reach 365 days back:
/// when a window crossing that line is refused (HTTP 401), it is asked again from 364 days
/// ago, and a refused day makes every older day [`PriceError::Status`] 401 at once, without a
/// request, until the process restarts. Numbers are read from the JSON text into
/// [`Decimal`], never through `f64`.
///
/// The API key, when set, goes in `x-cg-pro-api-key` for a `pro-api.` host, else in
/// `x-cg-demo-api-key`; it is never logged.
pub struct CoinGeckoHistory {
    client: reqwest::Client,
    base: Url,
    shown: String,
    api_key: Option<(&'static str, SecretString)>,
    timeout: Duration,
    ids: HashMap<String, String>,
    cache: Arc<dyn HistoricalPriceCache>,
    clock: Arc<dyn Clock>,
    options: CoinGeckoHistoryOptions,
    /// Held while fetching; holds the latest day a refusal (HTTP 401/403) covered, so older
    /// days are refused without a request until the process restarts.
    gate: tokio::sync::Mutex<Option<Date>>,
}

impl fmt::Debug for CoinGeckoHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinGeckoHistory")
            .field("base_url", &self.shown)
            .field("api_key", &self.api_key.as_ref().map(|(header, _)| (*header, "[REDACTED]")))
            .field("ids", &self.ids.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl CoinGeckoHistory {
    /// A source calling `{base_url}/coins/{id}/market_chart/range`, mapping token ids with
    /// `ids`, caching in memory; every request ends within `timeout`. See
    /// [`CoinGeckoHistory::with_cache`] and [`CoinGeckoHistory::with_clock`].
    ///
    /// Returns [`PriceError::Config`] when `base_url` is not an http(s) URL, the API key
    /// cannot be an HTTP header value, or `window_days` is zero.
    pub fn new(
        base_url: &str,
        api_key: Option<SecretString>,
        ids: HashMap<String, String>,
        options: CoinGeckoHistoryOptions,
        timeout: Duration,
    ) -> Result<Self, PriceError> {
        let base = parse_url(base_url).map_err(PriceError::Config)?;
        if options.window_days == 0 {
            return Err(PriceError::Config("window_days must be at least 1".to_owned()));
        }
        let header = if base.host_str().is_some_and(|h| h.starts_with("pro-api.")) {
            "x-cg-pro-api-key"
        } else {
            "x-cg-demo-api-key"
        };
        let api_key = api_key.filter(|k| !k.expose_secret().is_empty());
        if let Some(key) = &api_key {
            HeaderValue::from_str(key.expose_secret())
                .map_err(|_| PriceError::Config("API key is not a valid HTTP header value".to_owned()))?;
        }
        Ok(Self {
            client: build_client(timeout).map_err(PriceError::Config)?,
            shown: redact_url(&base),
            base,
            api_key: api_key.map(|key| (header, key)),
            timeout,
            ids,
            cache: Arc::new(MemoryPriceCache::new()),
            clock: Arc::new(SystemClock),
            options,
            gate: tokio::sync::Mutex::new(None),
        })
    }

    /// The same source keeping daily prices in `cache`.
    pub fn with_cache(mut self, cache: Arc<dyn HistoricalPriceCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The same source reading "today" from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The points of `coin` between `from` and `to` (unix seconds), first per UTC day;
    /// `None` for an unknown coin.
    #[tracing::instrument(name = "coingecko_history_fetch", skip_all, fields(source = %self.shown, coin))]
    async fn fetch(&self, coin: &str, from: i64, to: i64) -> Result<Option<BTreeMap<Date, Decimal>>, PriceError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| PriceError::Config("base URL cannot have a path".to_owned()))?
            .pop_if_empty()
            .extend(["coins", coin, "market_chart", "range"]);
        url.query_pairs_mut()
            .append_pair("vs_currency", "usd")
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string());
        let mut attempt = 0;
        loop {
            let mut request = self.client.get(url.clone()).header(ACCEPT, "application/json");
            if let Some((header, key)) = &self.api_key {
                let mut value = HeaderValue::from_str(key.expose_secret())
                    .map_err(|_| PriceError::Config("API key is not a valid HTTP header value".to_owned()))?;
                value.set_sensitive(true);
                request = request.header(*header, value);
            }
            let (status, retry_after, body) =
                fetch_with_retry_after(request, self.timeout).await.map_err(|e| match e {
                    FetchError::Transport(msg) => PriceError::Transport(msg),
                    FetchError::TooLarge => PriceError::Malformed("reply too large".to_owned()),
                })?;
            match status {
                StatusCode::TOO_MANY_REQUESTS if attempt < self.options.max_retries => {
                    let backoff = self.options.backoff.saturating_mul(2u32.saturating_pow(attempt));
                    let wait = retry_after.map_or(backoff, |r| r.max(backoff)).min(Duration::from_secs(60));
                    tracing::debug!(attempt, ?wait, "price history rate limited; backing off");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                StatusCode::NOT_FOUND => return Ok(None),
                s if s.is_success() => return parse_market_chart(&body).map(Some),
                s => {
                    tracing::warn!(status = %s, "price history source answered an error status");
                    return Err(PriceError::Status { status: s.as_u16() });
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl HistoricalPriceSource for CoinGeckoHistory {
    async fn price_at(&self, token_id: &str, at: OffsetDateTime) -> Result<Option<Decimal>, PriceError> {
        let Some(coin) = self.ids.get(token_id) else {
            return Ok(None);
        };
        let day = at.to_offset(UtcOffset::UTC).date();
        let now = self.clock.now().to_offset(UtcOffset::UTC);
        let today = now.date();
        if day > today {
            return Ok(None);
        }
        if let Some(hit) = self.cache.get(coin, day).await? {
            return Ok(hit);
        }
        let mut refused = self.gate.lock().await;
        if let Some(hit) = self.cache.get(coin, day).await? {
            return Ok(hit);
        }
        if refused.is_some_and(|r| day <= r) {
            return Err(PriceError::Status { status: 401 });
        }
        let half = i64::from(self.options.window_days / 2);
        let mut first = day.saturating_sub(time::Duration::days(half));
        let last = day.saturating_add(time::Duration::days(i64::from(self.options.window_days) - half)).min(today);
        let to = (last.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() + 86_399).min(now.unix_timestamp());
        let since = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
        let points = match self.fetch(coin, since(first), to).await {
            Ok(points) => points,
            // Public and demo keys reach 365 days back only (error 10012): when the window
            // crosses that line but the day does not, ask again for the reachable part.
            Err(PriceError::Status { status: 401 | 403 }) => {
                let reachable = today.saturating_sub(time::Duration::days(364));
                if day < reachable || first >= reachable {
                    *refused = Some(refused.map_or(day, |r| r.max(day)));
                    return Err(PriceError::Status { status: 401 });
                }
                first = reachable;
                self.fetch(coin, since(first), to).await.inspect_err(|e| {
                    if matches!(e, PriceError::Status { status: 401 | 403 }) {
                        *refused = Some(refused.map_or(day, |r| r.max(day)));
                    }
                })?
            }
            Err(e) => return Err(e),
        }
        .unwrap_or_default();

        // Cache every complete day of the window; a day without a point only once it is
        // at least two days old (CoinGecko publishes the daily point shortly after 00:00).
        let mut entries = Vec::new();
        let mut d = first;
        while d <= last {
            match points.get(&d) {
                Some(price) if d < today => entries.push((d, Some(*price))),
                None if d < today.saturating_sub(time::Duration::days(1)) => entries.push((d, None)),
                _ => {}
            }
            d = d.saturating_add(time::Duration::days(1));
        }
        self.cache.put(coin, &entries).await?;
        tracing::debug!(coin, points = points.len(), cached = entries.len(), "price history window fetched");
        Ok(points.get(&day).copied())
    }
}

/// `{"prices": [[<ms>, <price>], …], "market_caps": …, "total_volumes": …}` → the first
/// price of each UTC day.
fn parse_market_chart(body: &[u8]) -> Result<BTreeMap<Date, Decimal>, PriceError> {
    let malformed = |why: String| {
        PriceError::Malformed(format!("expected {{\"prices\": [[ms, price], …]}} ({why}): {}", excerpt(body)))
    };
    let chart: HashMap<String, Box<RawValue>> = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    let prices = chart.get("prices").ok_or_else(|| malformed("no prices".to_owned()))?;
    let prices: Vec<Vec<Box<RawValue>>> = serde_json::from_str(prices.get()).map_err(|e| malformed(e.to_string()))?;
    let mut points: Vec<(i64, Decimal)> = Vec::with_capacity(prices.len());
    for point in &prices {
        let [ms, price] = point.as_slice() else {
            return Err(malformed("a point is not [ms, price]".to_owned()));
        };
        let ms = decimal_from_json(ms.get())
            .map_err(PriceError::Malformed)?
            .and_then(|d| d.trunc().to_i64())
            .ok_or_else(|| PriceError::Malformed(format!("timestamp {} is not a number", ms.get())))?;
        if let Some(price) = decimal_from_json(price.get()).map_err(PriceError::Malformed)? {
            points.push((ms, price));
        }
    }
    points.sort_by_key(|(ms, _)| *ms);
    let mut days = BTreeMap::new();
    for (ms, price) in points {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| PriceError::Malformed(format!("timestamp {ms} out of range")))?;
        days.entry(at.date()).or_insert(price);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn market_charts_give_the_first_price_of_each_day() {
        let body = br#"{"prices":[[1711929600000,3647.0883199999997],[1711958400000,3700.5],[1712016000000,3503.6475363818107],[1712102400000,null]],"market_caps":[[1711929600000,437824460176.44]],"total_volumes":[[1711929600000,13112045393.3]]}"#;
        let days = parse_market_chart(body).expect("chart");
        assert_eq!(days.len(), 2, "{days:?}");
        assert_eq!(days[&date!(2024 - 04 - 01)].to_string(), "3647.0883199999997", "first point of the day, exact");
        assert_eq!(days[&date!(2024 - 04 - 02)].to_string(), "3503.6475363818107");
        for bad in [&b"{}"[..], b"[]", b"{\"prices\":[[\"x\",1]]}", b"{\"prices\":[[1,\"1\"]]}"] {
            assert!(
                matches!(parse_market_chart(bad), Err(PriceError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
