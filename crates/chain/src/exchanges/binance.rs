//! Binance Spot API (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api>).
//!
//! SIGNED endpoints: the parameters, then `recvWindow` and `timestamp` (ms), form the query
//! string; `signature` = lowercase hex HMAC-SHA256 of that query string under the secret key,
//! appended last; the API key goes in `X-MBX-APIKEY`. Errors are `{"code": -2015, "msg": …}`;
//! 429 carries `Retry-After` (418: the IP is banned for `Retry-After` seconds); every reply
//! reports the request weight used in `X-MBX-USED-WEIGHT-1M`.

use super::{
    balances_from, client_and_base, decimal, history_tx, hmac_sha256, leg, now_ms, page_of, parse_cursor, send,
    time_ms, trade_legs, ExchangeConnector, ExchangeCredentials, ExchangeError, ExchangeOptions, KeyCheck, Reply,
};
use crate::Balance;
use kc_ports::{HistoryPage, HistoryTransaction, LegDirection};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

/// `https://api.binance.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.binance.com";

/// The `recvWindow` sent with every signed request (ms).
pub const RECV_WINDOW_MS: u64 = 5000;

/// Binance's launch (2017-07-14): deposit and withdrawal history is read from here on.
pub const HISTORY_START_MS: i64 = 1_500_000_000_000;

/// The longest `startTime`–`endTime` interval of the capital history endpoints ("must be
/// less than 90 days").
const WINDOW_MS: i64 = 90 * DAY_MS - 1;
const DAY_MS: i64 = 86_400_000;

/// Records per page: `limit` of deposits, withdrawals (max 1000) and `myTrades` (max 1000).
const PAGE: usize = 1000;

/// The request weight per minute Binance counts in `X-MBX-USED-WEIGHT-1M` at which this
/// connector stops and waits for the next minute (the documented limit was 1200 per minute;
/// it is 6000 today, so this leaves room for other clients of the same IP).
pub const WEIGHT_SOFT_LIMIT: u32 = 1000;

/// The Binance connector.
pub struct Binance {
    client: reqwest::Client,
    base: String,
    options: ExchangeOptions,
    /// Stop at this used weight until the window turns.
    weight_limit: u32,
    /// The weight window (1 minute).
    weight_window_ms: i64,
    /// The last `X-MBX-USED-WEIGHT-1M` seen, and when (ms).
    weight: Mutex<(u32, i64)>,
}

/// Where the history of an account was read up to (serialized as the ledger cursor).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// Deposits and withdrawals are read up to this instant (ms).
    #[serde(default)]
    transfers_to: Option<i64>,
    /// Assets seen (balances, deposits, withdrawals): the trades of their symbols are read.
    #[serde(default)]
    assets: BTreeSet<String>,
    /// The last trade id read per symbol.
    #[serde(default)]
    trades: BTreeMap<String, u64>,
    /// The step of the current sync.
    #[serde(default)]
    step: Step,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Step {
    /// Between syncs.
    #[default]
    Idle,
    /// Reading one window of deposits and withdrawals.
    Transfers { from: i64, deposits: Option<usize>, withdrawals: Option<usize> },
    /// Reading the trades of these symbols (`[symbol, base, quote]`), the first one next.
    Trades { symbols: Vec<[String; 3]> },
}

/// The signature of a SIGNED endpoint: hex HMAC-SHA256 of `query` under `secret`.
pub fn sign(secret: &str, query: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), query.as_bytes()))
}

impl Binance {
    /// A connector on `options.base_url`.
    pub fn new(options: ExchangeOptions) -> Result<Self, ExchangeError> {
        let (client, base) = client_and_base(&options)?;
        Ok(Self {
            client,
            base,
            options,
            weight_limit: WEIGHT_SOFT_LIMIT,
            weight_window_ms: 60_000,
            weight: Mutex::new((0, 0)),
        })
    }

    /// Stops at `limit` used weight until the next `window` (1 minute on Binance; tests use less).
    pub fn with_weight_limit(mut self, limit: u32, window: Duration) -> Self {
        self.weight_limit = limit;
        self.weight_window_ms = i64::try_from(window.as_millis()).unwrap_or(60_000).max(1);
        self
    }

    /// How long to wait before the next request: until the weight window turns when the last
    /// reply of this window reported a used weight at or above the soft limit.
    fn weight_wait(&self) -> Option<Duration> {
        let (used, at) = self.weight.lock().map(|w| *w).unwrap_or((0, 0));
        let now = i64::try_from(now_ms()).unwrap_or(0);
        let window = self.weight_window_ms;
        if used < self.weight_limit || now.div_euclid(window) != at.div_euclid(window) {
            return None;
        }
        let next = (now.div_euclid(window) + 1) * window;
        Some(Duration::from_millis(u64::try_from(next - now).unwrap_or(0)))
    }

    /// GET `path?params`, SIGNED when `c` is given, pacing by the used weight.
    async fn get(&self, c: Option<&ExchangeCredentials>, path: &str, params: &str) -> Result<Value, ExchangeError> {
        if let Some(wait) = self.weight_wait() {
            tracing::info!(
                exchange = "binance",
                wait_ms = wait.as_millis() as u64,
                "request weight near the limit; waiting for the next minute"
            );
            tokio::time::sleep(wait).await;
        }
        let build = |client: &reqwest::Client| {
            let Some(c) = c else {
                let url = if params.is_empty() {
                    format!("{}{path}", self.base)
                } else {
                    format!("{}{path}?{params}", self.base)
                };
                return Ok(client.get(url));
            };
            let mut query = params.to_owned();
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("recvWindow={RECV_WINDOW_MS}&timestamp={}", now_ms()));
            let signature = sign(c.secret.expose_secret(), &query);
            Ok(client
                .get(format!("{}{path}?{query}&signature={signature}", self.base))
                .header("X-MBX-APIKEY", c.api_key.as_str()))
        };
        let reply = send(&self.client, &self.options, "binance", build, |r| r.status == 418).await?;
        if let Some(weight) = reply.headers.get("x-mbx-used-weight-1m").and_then(|v| v.to_str().ok()) {
            tracing::debug!(exchange = "binance", path, weight, "request weight used (1 min)");
            if let (Ok(used), Ok(mut w)) = (weight.trim().parse::<u32>(), self.weight.lock()) {
                *w = (used, i64::try_from(now_ms()).unwrap_or(0));
            }
        }
        if (200..300).contains(&reply.status) {
            return serde_json::from_slice(&reply.body)
                .map_err(|e| ExchangeError::Malformed(format!("{path}: {e}: {}", reply.excerpt())));
        }
        Err(classify(&reply))
    }

    /// GET a SIGNED endpoint with `params` (already URL-safe).
    async fn signed_get(&self, c: &ExchangeCredentials, path: &str, params: &str) -> Result<Value, ExchangeError> {
        self.get(Some(c), path, params).await
    }

    /// One window of deposits or withdrawals (`offset` into it): the completed ones, and
    /// how many records the page had.
    async fn transfers(
        &self,
        c: &ExchangeCredentials,
        deposits: bool,
        from: i64,
        to: i64,
        offset: usize,
    ) -> Result<(Vec<HistoryTransaction>, usize, BTreeSet<String>), ExchangeError> {
        let path = if deposits { "/sapi/v1/capital/deposit/hisrec" } else { "/sapi/v1/capital/withdraw/history" };
        let r =
            self.signed_get(c, path, &format!("startTime={from}&endTime={to}&offset={offset}&limit={PAGE}")).await?;
        let list = r.as_array().ok_or_else(|| ExchangeError::Malformed(format!("{path}: not a list")))?;
        let mut out = Vec::new();
        let mut assets = BTreeSet::new();
        for d in list {
            let text = |name: &str| d.get(name).and_then(Value::as_str).unwrap_or_default();
            let id = match d.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(ExchangeError::Malformed(format!("{path}: record without id"))),
            };
            let status = d.get("status").and_then(Value::as_i64).unwrap_or(-1);
            let coin = text("coin");
            if coin.is_empty() {
                return Err(ExchangeError::Malformed(format!("{path}: record without coin")));
            }
            assets.insert(coin.to_ascii_uppercase());
            let amount = decimal(text("amount"))?;
            if deposits {
                // 1: success, 6: credited but cannot withdraw (the funds are in the account).
                if !matches!(status, 1 | 6) {
                    continue;
                }
                let at = time_ms(d.get("insertTime").and_then(Value::as_i64).unwrap_or_default())?;
                let legs = vec![leg("binance", coin, amount, LegDirection::Incoming)];
                out.push(history_tx(format!("deposit:{id}"), at, 0, legs, d.clone()));
            } else {
                // 6: completed.
                if status != 6 {
                    continue;
                }
                let at = utc_text(text("applyTime"))?;
                let mut legs = vec![leg("binance", coin, amount, LegDirection::Outgoing)];
                let fee = decimal(d.get("transactionFee").and_then(Value::as_str).unwrap_or("0"))?;
                if !fee.is_zero() {
                    legs.push(leg("binance", coin, fee, LegDirection::Fee));
                }
                out.push(history_tx(format!("withdrawal:{id}"), at, 0, legs, d.clone()));
            }
        }
        Ok((out, list.len(), assets))
    }

    /// The spot symbols (`[symbol, base, quote]`) between two of `assets`, from
    /// `GET /api/v3/exchangeInfo?permissions=SPOT` (weight 20, unsigned).
    async fn symbols(&self, assets: &BTreeSet<String>) -> Result<Vec<[String; 3]>, ExchangeError> {
        let info = self.get(None, "/api/v3/exchangeInfo", "permissions=SPOT&showPermissionSets=false").await?;
        let list = info
            .get("symbols")
            .and_then(Value::as_array)
            .ok_or_else(|| ExchangeError::Malformed("exchangeInfo without symbols".to_owned()))?;
        let mut out = Vec::new();
        for s in list {
            let text = |name: &str| s.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            let (symbol, base, quote) = (text("symbol"), text("baseAsset"), text("quoteAsset"));
            if !symbol.is_empty() && assets.contains(&base) && assets.contains(&quote) {
                out.push([symbol, base, quote]);
            }
        }
        out.sort();
        Ok(out)
    }

    /// One page of the trades of `symbol` from trade id `from_id` (`GET /api/v3/myTrades`,
    /// weight 20): the transactions and the last trade id.
    async fn trades(
        &self,
        c: &ExchangeCredentials,
        [symbol, base, quote]: &[String; 3],
        from_id: u64,
    ) -> Result<(Vec<HistoryTransaction>, Option<u64>, usize), ExchangeError> {
        let r =
            self.signed_get(c, "/api/v3/myTrades", &format!("symbol={symbol}&fromId={from_id}&limit={PAGE}")).await?;
        let list = r.as_array().ok_or_else(|| ExchangeError::Malformed("myTrades: not a list".to_owned()))?;
        let mut out = Vec::with_capacity(list.len());
        let mut last = None;
        for t in list {
            let text = |name: &str| t.get(name).and_then(Value::as_str).unwrap_or_default();
            let id = t
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| ExchangeError::Malformed("trade without id".into()))?;
            last = last.max(Some(id));
            let (qty, quote_qty) = (decimal(text("qty"))?, decimal(text("quoteQty"))?);
            let fee = decimal(if text("commission").is_empty() { "0" } else { text("commission") })?;
            let at = time_ms(t.get("time").and_then(Value::as_i64).unwrap_or_default())?;
            let (sold, bought) = if t.get("isBuyer").and_then(Value::as_bool).unwrap_or(false) {
                ((quote.as_str(), quote_qty), (base.as_str(), qty))
            } else {
                ((base.as_str(), qty), (quote.as_str(), quote_qty))
            };
            let legs = trade_legs("binance", sold, bought, Some((text("commissionAsset"), fee)));
            out.push(history_tx(format!("trade:{symbol}:{id}"), at, id, legs, t.clone()));
        }
        Ok((out, last, list.len()))
    }
}

/// `2019-10-12 11:12:02` (UTC), as the withdrawal history writes times.
fn utc_text(text: &str) -> Result<time::OffsetDateTime, ExchangeError> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .map(|t| t.assume_utc())
        .map_err(|_| ExchangeError::Malformed(format!("not a time: {text:?}")))
}

/// The [`ExchangeError`] of a non-2xx reply, from Binance's documented error codes.
fn classify(reply: &Reply) -> ExchangeError {
    let body = reply.json();
    let code = body.get("code").and_then(Value::as_i64).unwrap_or(0);
    let msg = body.get("msg").and_then(Value::as_str).unwrap_or_default();
    let detail = format!("HTTP {} code {code}: {msg}", reply.status);
    match (reply.status, code) {
        (_, -2014 | -2015 | -2008) => ExchangeError::InvalidKey(detail),
        (_, -1022) => ExchangeError::InvalidSignature(detail),
        (_, -1021) => ExchangeError::ClockSkew(detail),
        (_, -1002) => ExchangeError::PermissionMissing(detail),
        (_, -1003) | (418, _) => ExchangeError::RateLimited { retry_after: reply.retry_after, detail },
        (_, -1016) | (500..=599, _) => ExchangeError::Maintenance(detail),
        _ => ExchangeError::Transport(detail),
    }
}

#[async_trait::async_trait]
impl ExchangeConnector for Binance {
    fn id(&self) -> &'static str {
        "binance"
    }

    fn name(&self) -> &'static str {
        "Binance"
    }

    /// `GET /sapi/v1/account/apiRestrictions` (weight 1): the key's permissions.
    async fn check(&self, c: &ExchangeCredentials) -> Result<KeyCheck, ExchangeError> {
        let r = self.signed_get(c, "/sapi/v1/account/apiRestrictions", "").await?;
        let flag = |name: &str| r.get(name).and_then(Value::as_bool).unwrap_or(false);
        if r.get("enableReading").is_none() {
            return Err(ExchangeError::Malformed(format!("apiRestrictions without enableReading: {r}")));
        }
        if !flag("enableReading") {
            return Err(ExchangeError::PermissionMissing("enableReading is false".to_owned()));
        }
        Ok(KeyCheck {
            can_trade: flag("enableSpotAndMarginTrading") || flag("enableMargin") || flag("enableFutures"),
            can_withdraw: flag("enableWithdrawals"),
        })
    }

    /// `GET /api/v3/account?omitZeroBalances=true` (weight 20): `free` + `locked` per asset.
    async fn balances(&self, c: &ExchangeCredentials) -> Result<Vec<Balance>, ExchangeError> {
        let r = self.signed_get(c, "/api/v3/account", "omitZeroBalances=true").await?;
        let list = r
            .get("balances")
            .and_then(Value::as_array)
            .ok_or_else(|| ExchangeError::Malformed("account without balances".to_owned()))?;
        let mut items = Vec::with_capacity(list.len());
        for b in list {
            let field = |name: &str| b.get(name).and_then(Value::as_str).unwrap_or("0");
            let asset = b
                .get("asset")
                .and_then(Value::as_str)
                .ok_or_else(|| ExchangeError::Malformed("balance without asset".to_owned()))?;
            items.push((asset.to_owned(), decimal(field("free"))? + decimal(field("locked"))?));
        }
        Ok(balances_from("binance", items))
    }

    /// One step of the history per page: deposits (`GET /sapi/v1/capital/deposit/hisrec`)
    /// and withdrawals (`GET /sapi/v1/capital/withdraw/history`), weight 1 each, in windows
    /// of less than 90 days from the last sync (or Binance's launch) to now, 1000 records a
    /// page with `offset`; then the trades (`GET /api/v3/myTrades`, weight 20, 1000 a page
    /// with `fromId`) of every spot symbol between two assets the account holds or moved.
    /// Only completed deposits (status 1, 6) and withdrawals (status 6) are read; the window
    /// of each sync overlaps the previous one by a day so late completions are seen.
    async fn history(&self, c: &ExchangeCredentials, cursor: Option<&str>) -> Result<HistoryPage, ExchangeError> {
        let mut cur: Cursor = parse_cursor(cursor)?;
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        if matches!(cur.step, Step::Idle) {
            let from = cur.transfers_to.map_or(HISTORY_START_MS, |t| t - DAY_MS).max(HISTORY_START_MS);
            cur.step = Step::Transfers { from, deposits: Some(0), withdrawals: Some(0) };
        }
        let mut txs = Vec::new();
        match std::mem::take(&mut cur.step) {
            Step::Idle => {}
            Step::Transfers { from, deposits, withdrawals } => {
                let to = (from + WINDOW_MS).min(now);
                let next = |offset: Option<usize>, n: usize| offset.filter(|_| n >= PAGE).map(|o| o + n);
                let (mut d_next, mut w_next) = (None, None);
                if let Some(offset) = deposits {
                    let (t, n, assets) = self.transfers(c, true, from, to, offset).await?;
                    txs.extend(t);
                    cur.assets.extend(assets);
                    d_next = next(Some(offset), n);
                }
                if let Some(offset) = withdrawals {
                    let (t, n, assets) = self.transfers(c, false, from, to, offset).await?;
                    txs.extend(t);
                    cur.assets.extend(assets);
                    w_next = next(Some(offset), n);
                }
                cur.step = if d_next.is_some() || w_next.is_some() {
                    Step::Transfers { from, deposits: d_next, withdrawals: w_next }
                } else if to < now {
                    Step::Transfers { from: to + 1, deposits: Some(0), withdrawals: Some(0) }
                } else {
                    cur.transfers_to = Some(to);
                    let account = self.signed_get(c, "/api/v3/account", "omitZeroBalances=true").await?;
                    for b in account.get("balances").and_then(Value::as_array).into_iter().flatten() {
                        if let Some(asset) = b.get("asset").and_then(Value::as_str) {
                            cur.assets.insert(asset.to_ascii_uppercase());
                        }
                    }
                    Step::Trades { symbols: self.symbols(&cur.assets).await? }
                };
            }
            Step::Trades { mut symbols } => {
                if let Some(symbol) = symbols.first().cloned() {
                    let from_id = cur.trades.get(&symbol[0]).map_or(0, |id| id + 1);
                    let (t, last, n) = self.trades(c, &symbol, from_id).await?;
                    txs.extend(t);
                    if let Some(last) = last {
                        cur.trades.insert(symbol[0].clone(), last);
                    }
                    if n < PAGE {
                        symbols.remove(0);
                    }
                }
                cur.step = if symbols.is_empty() { Step::Idle } else { Step::Trades { symbols } };
            }
        }
        let has_more = !matches!(cur.step, Step::Idle);
        page_of(txs, &cur, has_more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Binance's documentation ("SIGNED Endpoint Examples for POST
    /// /api/v3/order", HMAC keys): this key, secret and query string give this signature.
    #[test]
    fn signature_matches_the_documented_example() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(sign(secret, query), "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
    }

    #[test]
    fn documented_error_codes_are_classified() {
        let reply = |status: u16, body: &str| Reply {
            status,
            retry_after: None,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        };
        let invalid = reply(401, r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#);
        assert!(matches!(classify(&invalid), ExchangeError::InvalidKey(_)));
        let sig = reply(400, r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#);
        assert!(matches!(classify(&sig), ExchangeError::InvalidSignature(_)));
        let skew = reply(400, r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#);
        assert!(matches!(classify(&skew), ExchangeError::ClockSkew(_)));
        assert!(matches!(classify(&reply(503, "")), ExchangeError::Maintenance(_)));
        assert!(!classify(&invalid).to_string().contains("NhqP"), "no secret in messages");
    }
}
