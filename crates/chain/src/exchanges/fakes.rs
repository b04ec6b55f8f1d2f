//! Local fakes of the exchange APIs (feature `fakes`), for tests: one axum server on
//! 127.0.0.1:0 that answers Binance, Coinbase, Kraken and OKX requests (their paths do not
//! overlap). It checks each request the way the real API does — the key, the signature over
//! the exact bytes sent, the timestamp window or nonce, the passphrase, the IP allow-list and
//! the read permission — and answers with the documented reply shapes, including their
//! error bodies. Switches make it rate limit (`Retry-After`) or go into maintenance.

use super::{binance, kraken, okx};
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A throw-away P-256 key (`openssl ecparam -name prime256v1 -genkey -noout`), in the SEC1
/// form Coinbase hands out, for Coinbase test accounts.
pub const COINBASE_TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIJLYdHY/afwwa7ZdHKWzjWbfXNpf1h3P0lGrI0fMS0+VoAoGCCqGSM49\nAwEHoUQDQgAEiXEVXbytyummfcX2DbnJIDsq3QqupjK5UW6RVa+HfY9CmJ3S9653\nCYI4A6y8knbPZjfK2ak39BVTfq4KGsd0gQ==\n-----END EC PRIVATE KEY-----\n";

/// One account of the fake exchange.
#[derive(Debug, Clone)]
pub struct FakeAccount {
    /// The key's secret (Kraken: base64; Coinbase: EC private key PEM).
    pub secret: String,
    /// OKX passphrase.
    pub passphrase: Option<String>,
    /// Ticker (in the exchange's own codes, e.g. `XXBT` on Kraken) → quantity text.
    pub balances: Vec<(String, String)>,
    /// The key may read.
    pub can_read: bool,
    /// The key may trade.
    pub can_trade: bool,
    /// The key may withdraw.
    pub can_withdraw: bool,
    /// The key is restricted to other IP addresses.
    pub ip_restricted: bool,
    /// The account's history, in the exchange's own asset codes; each exchange serves it in
    /// its documented shapes (Binance deposits/withdrawals/myTrades, Coinbase fills and v2
    /// transactions, Kraken ledger entries, OKX bills).
    pub history: Vec<FakeEvent>,
    /// Binance: the secret the key has once its check (`apiRestrictions`) has been answered,
    /// as if the user rotated it on Binance right after adding it.
    pub secret_after_check: Option<String>,
}

/// One event of a fake account's history.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeEvent {
    /// A spot trade of `qty` `base` at `price` `quote` each; the fee is charged in `fee_asset`.
    Trade {
        /// The exchange's trade id (numeric on every exchange served here).
        id: u64,
        /// When (ms since the epoch).
        time_ms: i64,
        /// The base asset (`BTC`).
        base: String,
        /// The quote asset (`USDT`).
        quote: String,
        /// Whether the account bought the base asset.
        buy: bool,
        /// Quantity of base asset.
        qty: String,
        /// Price in quote asset.
        price: String,
        /// The fee.
        fee: String,
        /// The asset of the fee.
        fee_asset: String,
    },
    /// A completed deposit.
    Deposit {
        /// The exchange's id.
        id: u64,
        /// When (ms).
        time_ms: i64,
        /// The asset.
        asset: String,
        /// The amount credited.
        amount: String,
        /// The on-chain transaction hash.
        txid: String,
    },
    /// A completed withdrawal of `amount` (received by the destination) plus `fee`.
    Withdrawal {
        /// The exchange's id.
        id: u64,
        /// When (ms).
        time_ms: i64,
        /// The asset.
        asset: String,
        /// The amount sent.
        amount: String,
        /// The network fee charged on top.
        fee: String,
        /// The on-chain transaction hash.
        txid: String,
    },
}

impl FakeEvent {
    fn time_ms(&self) -> i64 {
        match self {
            Self::Trade { time_ms, .. } | Self::Deposit { time_ms, .. } | Self::Withdrawal { time_ms, .. } => *time_ms,
        }
    }
}

/// `a * b` of two decimal texts, as text.
fn mul(a: &str, b: &str) -> String {
    let p = |t: &str| t.parse::<rust_decimal::Decimal>().unwrap_or_default();
    (p(a) * p(b)).normalize().to_string()
}

impl FakeAccount {
    /// A read-only account with `balances`.
    pub fn read_only(secret: &str, balances: &[(&str, &str)]) -> Self {
        Self {
            secret: secret.to_owned(),
            passphrase: None,
            balances: balances.iter().map(|(a, q)| ((*a).to_owned(), (*q).to_owned())).collect(),
            can_read: true,
            can_trade: false,
            can_withdraw: false,
            ip_restricted: false,
            history: Vec::new(),
            secret_after_check: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    /// exchange id → api key → account.
    accounts: Mutex<HashMap<(String, String), FakeAccount>>,
    /// Kraken: last nonce per key.
    nonces: Mutex<HashMap<String, u64>>,
    /// Replies answered 429 before serving normally again.
    rate_limited: AtomicU32,
    /// Answer every request as under maintenance.
    maintenance: AtomicBool,
    /// The fake's clock runs this many ms ahead (negative: behind) of the real one.
    skew_ms: Mutex<i64>,
    /// Coinbase accounts per page at most.
    page_size: AtomicUsize,
    /// Requests received (for tests of back-off and pagination).
    requests: Mutex<Vec<String>>,
    /// Binance: request weight used in the current window, and the window's index.
    weight: Mutex<(u32, i64)>,
    /// Binance: the weight window (1 minute on Binance).
    weight_window_ms: std::sync::atomic::AtomicI64,
    /// Binance: answer the next `n` requests 418 (IP banned) with this `Retry-After`; with
    /// the flag, only history requests (not the balances).
    banned: Mutex<(u32, u64, bool)>,
}

/// A running fake; it stops with the runtime that started it.
#[derive(Clone)]
pub struct FakeExchanges {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl FakeExchanges {
    /// Starts the fake on 127.0.0.1 (a free port).
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            page_size: AtomicUsize::new(250),
            weight_window_ms: std::sync::atomic::AtomicI64::new(60_000),
            ..Default::default()
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner })
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds (or replaces) the account of `exchange` with API key `key`.
    pub fn add(&self, exchange: &str, key: &str, account: FakeAccount) {
        if let Ok(mut a) = self.inner.accounts.lock() {
            a.insert((exchange.to_owned(), key.to_owned()), account);
        }
    }

    /// Answers the next `n` requests with 429 and `Retry-After: 1`.
    pub fn rate_limit(&self, n: u32) {
        self.inner.rate_limited.store(n, Ordering::SeqCst);
    }

    /// Switches maintenance on or off.
    pub fn maintenance(&self, on: bool) {
        self.inner.maintenance.store(on, Ordering::SeqCst);
    }

    /// Makes the fake's clock run `ms` ahead of the real one.
    pub fn skew(&self, ms: i64) {
        if let Ok(mut s) = self.inner.skew_ms.lock() {
            *s = ms;
        }
    }

    /// Coinbase accounts per page at most.
    pub fn page_size(&self, n: usize) {
        self.inner.page_size.store(n.max(1), Ordering::SeqCst);
    }

    /// Binance: sets the request weight used in the current window (the next reply reports
    /// it plus its own weight in `X-MBX-USED-WEIGHT-1M`), and the window length.
    pub fn binance_weight(&self, used: u32, window_ms: i64) {
        self.inner.weight_window_ms.store(window_ms.max(1), Ordering::SeqCst);
        let index = now_ms(&self.inner).div_euclid(window_ms.max(1));
        if let Ok(mut w) = self.inner.weight.lock() {
            *w = (used, index);
        }
    }

    /// Binance: answers the next `n` requests with 418 (IP auto-banned) and `Retry-After: secs`
    /// (the key check, `apiRestrictions`, excepted).
    pub fn binance_ban(&self, n: u32, secs: u64) {
        if let Ok(mut b) = self.inner.banned.lock() {
            *b = (n, secs, false);
        }
    }

    /// Binance: like [`Self::binance_ban`], for the next `n` history requests only (the
    /// balances, `/api/v3/account`, are answered): a ban that lands after the balances.
    pub fn binance_ban_history(&self, n: u32, secs: u64) {
        if let Ok(mut b) = self.inner.banned.lock() {
            *b = (n, secs, true);
        }
    }

    /// The requests received so far (`METHOD path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.inner.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(body)).into_response()
}

fn now_ms(inner: &Inner) -> i64 {
    let skew = inner.skew_ms.lock().map(|s| *s).unwrap_or(0);
    i64::try_from(super::now_ms()).unwrap_or(0) + skew
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    if let Ok(mut r) = inner.requests.lock() {
        r.push(format!("{method} {path}{}", if query.is_empty() { String::new() } else { format!("?{query}") }));
    }
    let exchange = if path.starts_with("/0/private/") {
        "kraken"
    } else if path.starts_with("/api/v5/") {
        "okx"
    } else if path.starts_with("/api/v3/brokerage/") || path.starts_with("/v2/") {
        "coinbase"
    } else {
        "binance"
    };
    if inner.rate_limited.load(Ordering::SeqCst) > 0 {
        inner.rate_limited.fetch_sub(1, Ordering::SeqCst);
        let body = match exchange {
            "binance" => {
                json!({"code": -1003, "msg": "Too many requests; current limit of IP is 6000 requests per minute."})
            }
            "kraken" => json!({"error": ["EAPI:Rate limit exceeded"]}),
            "okx" => {
                json!({"code": "50011", "msg": "Rate limit reached. Please refer to API documentation and throttle requests accordingly.", "data": []})
            }
            _ => json!({"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}),
        };
        let status = if exchange == "kraken" { StatusCode::OK } else { StatusCode::TOO_MANY_REQUESTS };
        return (status, [("retry-after", "1")], axum::Json(body)).into_response();
    }
    if inner.maintenance.load(Ordering::SeqCst) {
        return match exchange {
            "binance" => reply(
                503,
                json!({"code": -1008, "msg": "Server is currently overloaded with other requests. Please try again in a few minutes."}),
            ),
            "kraken" => reply(200, json!({"error": ["EService:Unavailable"]})),
            "okx" => reply(
                503,
                json!({"code": "50001", "msg": "Service temporarily unavailable. Try again later", "data": []}),
            ),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response(),
        };
    }
    match exchange {
        "binance" => {
            // The key check is left out of a ban, so a test can arm one before a key is added
            // and know the sync's first call meets it.
            let key_check = path == "/sapi/v1/account/apiRestrictions";
            let balances = path == "/api/v3/account";
            if let (false, Ok(mut b)) = (key_check, inner.banned.lock()) {
                if b.0 > 0 && !(b.2 && balances) {
                    b.0 -= 1;
                    let retry = b.1.to_string();
                    let body = json!({"code": -1003, "msg": "Way too many requests; IP banned until 1700000000000. Please use the websocket for live updates to avoid bans."});
                    return (StatusCode::IM_A_TEAPOT, [("retry-after", retry)], axum::Json(body)).into_response();
                }
            }
            let weight = match path.as_str() {
                "/api/v3/account" | "/api/v3/myTrades" | "/api/v3/exchangeInfo" => 20,
                _ => 1,
            };
            let used = {
                let window = inner.weight_window_ms.load(Ordering::SeqCst).max(1);
                let index = now_ms(&inner).div_euclid(window);
                let Ok(mut w) = inner.weight.lock() else { return reply(500, json!({})) };
                if w.1 != index {
                    *w = (0, index);
                }
                w.0 += weight;
                w.0
            };
            let mut response = handle_binance(&inner, &path, &query, &headers);
            if let Ok(v) = axum::http::HeaderValue::from_str(&used.to_string()) {
                response.headers_mut().insert("x-mbx-used-weight-1m", v);
            }
            response
        }
        "kraken" => handle_kraken(&inner, &path, &headers, &body),
        "okx" => handle_okx(&inner, &method, &path, &query, &headers),
        _ => handle_coinbase(&inner, &method, &path, &query, &headers),
    }
}

fn account(inner: &Inner, exchange: &str, key: &str) -> Option<FakeAccount> {
    inner.accounts.lock().ok()?.get(&(exchange.to_owned(), key.to_owned())).cloned()
}

/// Every spot symbol the fake lists: the pairs traded by its accounts, and a few more.
fn binance_symbols(inner: &Inner) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [("BTC", "USDT"), ("ETH", "USDT"), ("ETH", "BTC"), ("BNB", "USDT")]
        .iter()
        .map(|(b, q)| ((*b).to_owned(), (*q).to_owned()))
        .collect();
    if let Ok(accounts) = inner.accounts.lock() {
        for ((exchange, _), a) in accounts.iter() {
            for e in &a.history {
                if let (true, FakeEvent::Trade { base, quote, .. }) = (exchange == "binance", e) {
                    pairs.push((base.clone(), quote.clone()));
                }
            }
        }
    }
    pairs.sort();
    pairs.dedup();
    pairs
}

fn handle_binance(inner: &Inner, path: &str, query: &str, headers: &HeaderMap) -> Response {
    let err = |status: u16, code: i64, msg: &str| reply(status, json!({"code": code, "msg": msg}));
    if path == "/api/v3/exchangeInfo" {
        let symbols: Vec<Value> = binance_symbols(inner)
            .into_iter()
            .map(|(b, q)| json!({"symbol": format!("{b}{q}"), "status": "TRADING", "baseAsset": b, "baseAssetPrecision": 8,
                                  "quoteAsset": q, "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                                  "isSpotTradingAllowed": true, "isMarginTradingAllowed": false, "filters": [], "permissions": []}))
            .collect();
        return reply(
            200,
            json!({"timezone": "UTC", "serverTime": now_ms(inner), "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
            "exchangeFilters": [], "symbols": symbols}),
        );
    }
    let Some(key) = headers.get("x-mbx-apikey").and_then(|v| v.to_str().ok()) else {
        return err(401, -2014, "API-key format invalid.");
    };
    let Some(acct) = account(inner, "binance", key) else {
        return err(401, -2015, "Invalid API-key, IP, or permissions for action.");
    };
    if acct.ip_restricted {
        return err(401, -2015, "Invalid API-key, IP, or permissions for action.");
    }
    let Some((payload, signature)) = query.rsplit_once("&signature=") else {
        return err(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    };
    if binance::sign(&acct.secret, payload) != signature {
        return err(400, -1022, "Signature for this request is not valid.");
    }
    let params: HashMap<&str, &str> = payload.split('&').filter_map(|p| p.split_once('=')).collect();
    let ts = params.get("timestamp").and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    let window = params.get("recvWindow").and_then(|t| t.parse::<i64>().ok()).unwrap_or(5000);
    let now = now_ms(inner);
    if ts >= now + 1000 || now - ts > window {
        return err(400, -1021, "Timestamp for this request is outside of the recvWindow.");
    }
    if let (true, Some(rotated)) = (path == "/sapi/v1/account/apiRestrictions", &acct.secret_after_check) {
        if let Ok(mut accounts) = inner.accounts.lock() {
            if let Some(a) = accounts.get_mut(&("binance".to_owned(), key.to_owned())) {
                a.secret = rotated.clone();
                a.secret_after_check = None;
            }
        }
    }
    match path {
        "/sapi/v1/account/apiRestrictions" => reply(
            200,
            json!({"ipRestrict": false, "createTime": 1698645219000_i64, "enableReading": acct.can_read,
                   "enableWithdrawals": acct.can_withdraw, "enableInternalTransfer": false, "enableMargin": false,
                   "enableFutures": false, "permitsUniversalTransfer": false, "enableVanillaOptions": false,
                   "enableFixApiTrade": false, "enableFixReadOnly": false,
                   "enableSpotAndMarginTrading": acct.can_trade, "enablePortfolioMarginTrading": false}),
        ),
        "/api/v3/account" if !acct.can_read => err(401, -2015, "Invalid API-key, IP, or permissions for action."),
        "/api/v3/account" => {
            let omit = params.get("omitZeroBalances") == Some(&"true");
            let balances: Vec<Value> = acct
                .balances
                .iter()
                .filter(|(_, q)| !omit || q.parse::<f64>().map(|v| v != 0.0).unwrap_or(true))
                .map(|(a, q)| json!({"asset": a, "free": q, "locked": "0.00000000"}))
                .collect();
            reply(
                200,
                json!({"makerCommission": 15, "takerCommission": 15, "buyerCommission": 0, "sellerCommission": 0,
                       "canTrade": acct.can_trade, "canWithdraw": acct.can_withdraw, "canDeposit": true,
                       "brokered": false, "requireSelfTradePrevention": false, "preventSor": false,
                       "updateTime": 123456789, "accountType": "SPOT", "balances": balances,
                       "permissions": ["SPOT"], "uid": 354937868}),
            )
        }
        _ if !acct.can_read => err(401, -2015, "Invalid API-key, IP, or permissions for action."),
        "/sapi/v1/capital/deposit/hisrec" | "/sapi/v1/capital/withdraw/history" => {
            let num = |name: &str| params.get(name).and_then(|v| v.parse::<i64>().ok());
            let end = num("endTime").unwrap_or(now);
            let start = num("startTime").unwrap_or(end - 90 * 86_400_000);
            if end - start >= 90 * 86_400_000 || start > end {
                return err(400, -1127, "More than 90 days between startTime and endTime.");
            }
            let offset = usize::try_from(num("offset").unwrap_or(0)).unwrap_or(0);
            let limit = usize::try_from(num("limit").unwrap_or(1000))
                .unwrap_or(1000)
                .min(inner.page_size.load(Ordering::SeqCst));
            let deposits = path.contains("deposit");
            let mut items: Vec<(i64, Value)> = acct
                .history
                .iter()
                .filter(|e| (start..=end).contains(&e.time_ms()))
                .filter_map(|e| match (e, deposits) {
                    (FakeEvent::Deposit { id, time_ms, asset, amount, txid }, true) => Some((*time_ms, json!({
                        "id": id.to_string(), "amount": amount, "coin": asset, "network": asset, "status": 1,
                        "address": "0xdeposit", "addressTag": "", "txId": txid, "insertTime": time_ms,
                        "completeTime": time_ms, "transferType": 0, "confirmTimes": "12/12", "unlockConfirm": 0, "walletType": 0}))),
                    (FakeEvent::Withdrawal { id, time_ms, asset, amount, fee, txid }, false) => {
                        let t = time::OffsetDateTime::from_unix_timestamp(time_ms / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                        let text = format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
                        Some((*time_ms, json!({"id": format!("w{id:031x}"), "amount": amount, "transactionFee": fee, "coin": asset,
                            "status": 6, "address": "0xwithdrawal", "txId": txid, "applyTime": text, "network": asset,
                            "transferType": 0, "info": "", "confirmNo": 12, "walletType": 0, "txKey": "", "completeTime": text})))
                    }
                    _ => None,
                })
                .collect();
            // Newest first, as Binance lists them.
            items.sort_by_key(|i| std::cmp::Reverse(i.0));
            let page: Vec<Value> = items.into_iter().skip(offset).take(limit).map(|(_, v)| v).collect();
            reply(200, Value::Array(page))
        }
        "/api/v3/myTrades" => {
            let Some(symbol) = params.get("symbol") else {
                return err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
            };
            if !binance_symbols(inner).iter().any(|(b, q)| format!("{b}{q}") == *symbol) {
                return err(400, -1121, "Invalid symbol.");
            }
            let from_id = params.get("fromId").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let limit = params
                .get("limit")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(500)
                .min(inner.page_size.load(Ordering::SeqCst));
            let mut trades: Vec<(u64, Value)> = acct
                .history
                .iter()
                .filter_map(|e| match e {
                    FakeEvent::Trade { id, time_ms, base, quote, buy, qty, price, fee, fee_asset }
                        if format!("{base}{quote}") == *symbol && *id >= from_id =>
                    {
                        Some((*id, json!({"symbol": symbol, "id": id, "orderId": id + 100_000, "orderListId": -1,
                            "price": price, "qty": qty, "quoteQty": mul(qty, price), "commission": fee,
                            "commissionAsset": fee_asset, "time": time_ms, "isBuyer": buy, "isMaker": false, "isBestMatch": true})))
                    }
                    _ => None,
                })
                .collect();
            trades.sort_by_key(|(id, _)| *id);
            reply(200, Value::Array(trades.into_iter().take(limit).map(|(_, v)| v).collect()))
        }
        _ => err(404, -1000, "Unknown path"),
    }
}

/// The ledger entries of a Kraken account, newest first: (ledger id, entry).
fn kraken_ledger(acct: &FakeAccount) -> Vec<(String, f64, Value)> {
    let mut out = Vec::new();
    let mut entry = |id: String, refid: String, time_ms: i64, kind: &str, asset: &str, amount: String, fee: &str| {
        let time = time_ms as f64 / 1000.0;
        out.push((
            id,
            time,
            json!({"refid": refid, "time": time, "type": kind, "subtype": "", "aclass": "currency",
            "asset": asset, "amount": amount, "fee": fee, "balance": "0.0000"}),
        ));
    };
    for e in &acct.history {
        match e {
            FakeEvent::Trade { id, time_ms, base, quote, buy, qty, price, fee, fee_asset } => {
                let refid = format!("T{id:05}-TRADE-{id:06}");
                let cost = mul(qty, price);
                let (base_amount, quote_amount) =
                    if *buy { (qty.clone(), format!("-{cost}")) } else { (format!("-{qty}"), cost.clone()) };
                let fee_of = |asset: &str| if asset == fee_asset { fee.as_str() } else { "0" };
                entry(
                    format!("L{id:05}-BASE-{id:06}"),
                    refid.clone(),
                    *time_ms,
                    "trade",
                    base,
                    base_amount,
                    fee_of(base),
                );
                entry(format!("L{id:05}-QUOT-{id:06}"), refid, *time_ms, "trade", quote, quote_amount, fee_of(quote));
            }
            FakeEvent::Deposit { id, time_ms, asset, amount, .. } => {
                entry(
                    format!("L{id:05}-DEPO-{id:06}"),
                    format!("D{id:05}-DEPO-{id:06}"),
                    *time_ms,
                    "deposit",
                    asset,
                    amount.clone(),
                    "0",
                );
            }
            FakeEvent::Withdrawal { id, time_ms, asset, amount, fee, .. } => {
                entry(
                    format!("L{id:05}-WDRW-{id:06}"),
                    format!("W{id:05}-WDRW-{id:06}"),
                    *time_ms,
                    "withdrawal",
                    asset,
                    format!("-{amount}"),
                    fee,
                );
            }
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The bills of an OKX trading account, newest first: (bill id, ts, bill).
fn okx_bills(acct: &FakeAccount) -> Vec<(u64, i64, Value)> {
    let mut out = Vec::new();
    let bill = |bill_id: u64,
                ts: i64,
                kind: &str,
                ccy: &str,
                change: String,
                fee: String,
                inst: &str,
                trade: String| {
        (
            bill_id,
            ts,
            json!({"bal": "0", "balChg": change, "billId": bill_id.to_string(), "ccy": ccy, "clOrdId": "",
            "execType": if trade.is_empty() { "" } else { "T" }, "fee": fee, "fillTime": ts.to_string(), "from": "", "instId": inst,
            "instType": if inst.is_empty() { "" } else { "SPOT" }, "interest": "0", "mgnMode": "cash", "notes": "", "ordId": "",
            "pnl": "0", "posBal": "0", "posBalChg": "0", "subType": "1", "sz": "0", "tag": "", "to": "", "tradeId": trade,
            "ts": ts.to_string(), "type": kind}),
        )
    };
    let neg = |t: &str| format!("-{t}");
    let minus = |a: &str, b: &str| {
        let p = |t: &str| t.parse::<rust_decimal::Decimal>().unwrap_or_default();
        (p(a) - p(b)).normalize().to_string()
    };
    for e in &acct.history {
        match e {
            FakeEvent::Trade { id, time_ms, base, quote, buy, qty, price, fee, fee_asset } => {
                let inst = format!("{base}-{quote}");
                let cost = mul(qty, price);
                let (got, got_qty, gave, gave_qty) =
                    if *buy { (base, qty.clone(), quote, cost) } else { (quote, cost, base, qty.clone()) };
                // `fee` (negative) is on the bill of its currency, and `balChg` is net of it.
                let fee_of = |ccy: &str| if ccy == fee_asset { neg(fee) } else { "0".to_owned() };
                let net_of = |ccy: &str, signed: String| if ccy == fee_asset { minus(&signed, fee) } else { signed };
                out.push(bill(
                    id * 10,
                    *time_ms,
                    "2",
                    gave,
                    net_of(gave, neg(&gave_qty)),
                    fee_of(gave),
                    &inst,
                    id.to_string(),
                ));
                out.push(bill(
                    id * 10 + 1,
                    *time_ms,
                    "2",
                    got,
                    net_of(got, got_qty),
                    fee_of(got),
                    &inst,
                    id.to_string(),
                ));
            }
            FakeEvent::Deposit { id, time_ms, asset, amount, .. } => {
                out.push(bill(id * 10, *time_ms, "1", asset, amount.clone(), "0".to_owned(), "", String::new()));
            }
            FakeEvent::Withdrawal { id, time_ms, asset, amount, fee, .. } => {
                let total = mul(
                    &(amount.parse::<rust_decimal::Decimal>().unwrap_or_default()
                        + fee.parse::<rust_decimal::Decimal>().unwrap_or_default())
                    .to_string(),
                    "1",
                );
                out.push(bill(id * 10, *time_ms, "1", asset, neg(&total), "0".to_owned(), "", String::new()));
            }
        }
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    out
}

fn handle_kraken(inner: &Inner, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let err = |e: &str| reply(200, json!({"error": [e]}));
    let Some(key) = headers.get("api-key").and_then(|v| v.to_str().ok()) else {
        return err("EAPI:Invalid key");
    };
    let Some(acct) = account(inner, "kraken", key) else {
        return err("EAPI:Invalid key");
    };
    let body = String::from_utf8_lossy(body).into_owned();
    let nonce = body.split('&').find_map(|p| p.strip_prefix("nonce=")).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    let sent = headers.get("api-sign").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if kraken::sign(&acct.secret, path, &nonce.to_string(), &body).ok().as_deref() != Some(sent) {
        return err("EAPI:Invalid signature");
    }
    {
        let Ok(mut nonces) = inner.nonces.lock() else { return err("EGeneral:Internal error") };
        let last = nonces.entry(key.to_owned()).or_insert(0);
        if nonce <= *last {
            return err("EAPI:Invalid nonce");
        }
        *last = nonce;
    }
    if acct.ip_restricted || !acct.can_read {
        return err("EGeneral:Permission denied");
    }
    match path {
        "/0/private/Balance" => {
            let result: serde_json::Map<String, Value> =
                acct.balances.iter().map(|(a, q)| (a.clone(), Value::String(q.clone()))).collect();
            reply(200, json!({"error": [], "result": result}))
        }
        "/0/private/Ledgers" => {
            let params: HashMap<&str, &str> = body.split('&').filter_map(|p| p.split_once('=')).collect();
            let num = |name: &str| params.get(name).and_then(|v| v.parse::<f64>().ok());
            let (start, end) = (num("start").unwrap_or(f64::MIN), num("end").unwrap_or(f64::MAX));
            let ofs = params.get("ofs").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
            let all: Vec<_> = kraken_ledger(&acct).into_iter().filter(|(_, t, _)| *t > start && *t < end).collect();
            let size = 50.min(inner.page_size.load(Ordering::SeqCst));
            let ledger: serde_json::Map<String, Value> =
                all.iter().skip(ofs).take(size).map(|(id, _, e)| (id.clone(), e.clone())).collect();
            reply(200, json!({"error": [], "result": {"ledger": ledger, "count": all.len()}}))
        }
        _ => err("EGeneral:Unknown method"),
    }
}

fn handle_okx(inner: &Inner, method: &Method, path: &str, query: &str, headers: &HeaderMap) -> Response {
    let err = |status: u16, code: &str, msg: &str| reply(status, json!({"code": code, "msg": msg, "data": []}));
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let Some(acct) = account(inner, "okx", &h("ok-access-key")) else {
        return err(401, "50111", "Invalid OK-ACCESS-KEY");
    };
    let ts = h("ok-access-timestamp");
    let request_path = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
    if okx::sign(&acct.secret, &ts, method.as_str(), &request_path, "") != h("ok-access-sign") {
        return err(401, "50113", "Invalid Sign");
    }
    let Ok(sent) = time::OffsetDateTime::parse(&ts, &time::format_description::well_known::Rfc3339) else {
        return err(401, "50112", "Invalid OK-ACCESS-TIMESTAMP");
    };
    let sent_ms = i64::try_from(sent.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    if (now_ms(inner) - sent_ms).abs() > 30_000 {
        return err(401, "50102", "Timestamp request expired");
    }
    if acct.passphrase.as_deref() != Some(h("ok-access-passphrase").as_str()) {
        return err(401, "50105", "Invalid OK-ACCESS-PASSPHRASE");
    }
    if acct.ip_restricted {
        return err(401, "50110", "Your IP 127.0.0.1 is not included in your API key's IP whitelist.");
    }
    let perm = [(acct.can_read, "read_only"), (acct.can_trade, "trade"), (acct.can_withdraw, "withdraw")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, p)| *p)
        .collect::<Vec<_>>()
        .join(",");
    match path {
        "/api/v5/account/config" => reply(
            200,
            json!({"code": "0", "msg": "", "data": [{"uid": "44705892343619584", "mainUid": "44705892343619584",
                   "acctLv": "1", "posMode": "net_mode", "autoLoan": false, "level": "Lv1", "perm": perm,
                   "ip": "", "label": "read", "roleType": "0"}]}),
        ),
        _ if !acct.can_read => err(403, "50030", "You don't have permission to use this API endpoint"),
        "/api/v5/account/balance" => {
            let details: Vec<Value> = acct
                .balances
                .iter()
                .map(|(c, q)| json!({"ccy": c, "cashBal": q, "eq": q, "availBal": q, "frozenBal": "0"}))
                .collect();
            reply(
                200,
                json!({"code": "0", "msg": "", "data": [{"totalEq": "0", "uTime": "1705474164160", "details": details}]}),
            )
        }
        "/api/v5/asset/balances" => reply(200, json!({"code": "0", "msg": "", "data": []})),
        "/api/v5/account/bills" | "/api/v5/account/bills-archive" => {
            let params: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
            let after = params.get("after").and_then(|v| v.parse::<u64>().ok()).unwrap_or(u64::MAX);
            let limit = params.get("limit").and_then(|v| v.parse::<usize>().ok()).unwrap_or(100).min(100);
            let limit = limit.min(inner.page_size.load(Ordering::SeqCst));
            let days = if path.ends_with("archive") { 92 } else { 7 };
            let since = now_ms(inner) - days * 86_400_000;
            let data: Vec<Value> = okx_bills(&acct)
                .into_iter()
                .filter(|(id, ts, _)| *id < after && *ts >= since)
                .take(limit)
                .map(|(_, _, b)| b)
                .collect();
            reply(200, json!({"code": "0", "msg": "", "data": data}))
        }
        _ => err(404, "50000", "Not found"),
    }
}

fn handle_coinbase(inner: &Inner, method: &Method, path: &str, query: &str, headers: &HeaderMap) -> Response {
    let unauthorized = || (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    let Some(token) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized();
    };
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return unauthorized();
    }
    let decode = |p: &str| -> Option<Value> {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (decode(parts[0]), decode(parts[1])) else { return unauthorized() };
    let key = header.get("kid").and_then(Value::as_str).unwrap_or_default();
    let Some(acct) = account(inner, "coinbase", key) else { return unauthorized() };
    let Ok(der) = super::coinbase::pkcs8_of(&acct.secret) else { return unauthorized() };
    let rng = ring::rand::SystemRandom::new();
    let Ok(pair) =
        ring::signature::EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
    else {
        return unauthorized();
    };
    use ring::signature::KeyPair as _;
    let public =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref());
    let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]) else { return unauthorized() };
    if public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_err() {
        return unauthorized();
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let now = now_ms(inner) / 1000;
    let num = |name: &str| claims.get(name).and_then(Value::as_i64).unwrap_or(0);
    let ok = header.get("alg").and_then(Value::as_str) == Some("ES256")
        && header.get("nonce").and_then(Value::as_str).is_some_and(|n| !n.is_empty())
        && claims.get("sub").and_then(Value::as_str) == Some(key)
        && claims.get("iss").and_then(Value::as_str) == Some("cdp")
        && claims.get("uri").and_then(Value::as_str) == Some(format!("{method} {host}{path}").as_str())
        && num("nbf") <= now + 5
        && now < num("exp");
    if !ok || acct.ip_restricted {
        return unauthorized();
    }
    match path {
        "/api/v3/brokerage/key_permissions" => reply(
            200,
            json!({"can_view": acct.can_read, "can_trade": acct.can_trade, "can_transfer": acct.can_withdraw,
                   "portfolio_uuid": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe", "portfolio_type": "DEFAULT"}),
        ),
        _ if !acct.can_read => reply(
            403,
            json!({"error": "PERMISSION_DENIED", "error_details": "Missing required scopes", "message": "Missing required scopes"}),
        ),
        "/api/v3/brokerage/accounts" => {
            let params: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
            let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(49);
            let size = limit.min(inner.page_size.load(Ordering::SeqCst));
            let start = params
                .get("cursor")
                .and_then(|c| c.strip_prefix("page-"))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0usize);
            let all = &acct.balances;
            let end = (start + size).min(all.len());
            let accounts: Vec<Value> = all[start.min(end)..end]
                .iter()
                .enumerate()
                .map(|(i, (c, q))| {
                    json!({"uuid": format!("00000000-0000-0000-0000-{:012}", start + i), "name": format!("{c} Wallet"),
                           "currency": c, "available_balance": {"value": q, "currency": c},
                           "default": false, "active": true, "created_at": "2021-05-31T09:59:59.000Z",
                           "updated_at": "2021-05-31T09:59:59.000Z", "deleted_at": null, "type": "ACCOUNT_TYPE_CRYPTO",
                           "ready": true, "hold": {"value": "0", "currency": c}, "retail_portfolio_id": "b87a2d3f"})
                })
                .collect();
            let has_next = end < all.len();
            reply(
                200,
                json!({"accounts": accounts, "has_next": has_next,
                       "cursor": if has_next { format!("page-{end}") } else { String::new() }, "size": end - start.min(end)}),
            )
        }
        "/api/v3/brokerage/orders/historical/fills" => {
            let params: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
            let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100);
            let size = limit.min(inner.page_size.load(Ordering::SeqCst));
            let start_ms = params
                .get("start_sequence_timestamp")
                .map(|s| s.replace("%3A", ":"))
                .and_then(|s| time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).ok())
                .map_or(i64::MIN, |t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
            let skip = params
                .get("cursor")
                .and_then(|c| c.strip_prefix("fills-"))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0usize);
            let mut fills: Vec<(i64, Value)> = acct
                .history
                .iter()
                .filter_map(|e| match e {
                    FakeEvent::Trade { id, time_ms, base, quote, buy, qty, price, fee, .. } if *time_ms >= start_ms => {
                        let at = rfc3339_ms(*time_ms);
                        Some((*time_ms, json!({"entry_id": format!("e{id:08}"), "trade_id": format!("t{id}"), "order_id": format!("o{id}"),
                            "trade_time": at, "trade_type": "FILL", "price": price, "size": qty, "commission": fee,
                            "product_id": format!("{base}-{quote}"), "sequence_timestamp": at, "liquidity_indicator": "TAKER",
                            "size_in_quote": false, "user_id": "3a9f", "side": if *buy { "BUY" } else { "SELL" },
                            "retail_portfolio_id": "b87a2d3f"})))
                    }
                    _ => None,
                })
                .collect();
            // Newest first.
            fills.sort_by_key(|f| std::cmp::Reverse(f.0));
            let end = (skip + size).min(fills.len());
            let page: Vec<Value> = fills[skip.min(end)..end].iter().map(|(_, f)| f.clone()).collect();
            let cursor = if end < fills.len() { format!("fills-{end}") } else { String::new() };
            reply(200, json!({"fills": page, "cursor": cursor}))
        }
        p if p.starts_with("/v2/accounts/") && p.ends_with("/transactions") => {
            let uuid = p.trim_start_matches("/v2/accounts/").trim_end_matches("/transactions");
            let Some(currency) = uuid
                .rsplit('-')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| acct.balances.get(i))
                .map(|(c, _)| c.clone())
            else {
                return reply(404, json!({"errors": [{"id": "not_found", "message": "Not found"}]}));
            };
            let params: HashMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
            let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).min(100);
            let size = limit.min(inner.page_size.load(Ordering::SeqCst));
            let mut txs: Vec<(i64, String, Value)> = Vec::new();
            let money = |amount: String, ccy: &str| json!({"amount": amount, "currency": ccy});
            for e in &acct.history {
                let (id, time_ms, kind, amount, fee) = match e {
                    FakeEvent::Deposit { id, time_ms, asset, amount, .. } if *asset == currency => {
                        (format!("d{id:08}"), *time_ms, "send", amount.clone(), None)
                    }
                    FakeEvent::Withdrawal { id, time_ms, asset, amount, fee, .. } if *asset == currency => {
                        let total = (amount.parse::<rust_decimal::Decimal>().unwrap_or_default()
                            + fee.parse::<rust_decimal::Decimal>().unwrap_or_default())
                        .normalize();
                        (format!("w{id:08}"), *time_ms, "send", format!("-{total}"), Some(fee.clone()))
                    }
                    FakeEvent::Trade { id, time_ms, base, quote, buy, qty, price, .. }
                        if *base == currency || *quote == currency =>
                    {
                        let cost = mul(qty, price);
                        let amount = match (*base == currency, *buy) {
                            (true, true) => qty.clone(),
                            (true, false) => format!("-{qty}"),
                            (false, true) => format!("-{cost}"),
                            (false, false) => cost,
                        };
                        (format!("f{id:08}"), *time_ms, "advanced_trade_fill", amount, None)
                    }
                    _ => continue,
                };
                let mut t = json!({"id": id, "type": kind, "status": "completed", "amount": money(amount.clone(), &currency),
                    "native_amount": money("0.00".to_owned(), "USD"), "description": null, "created_at": rfc3339_ms(time_ms - time_ms % 1000),
                    "updated_at": rfc3339_ms(time_ms - time_ms % 1000), "resource": "transaction",
                    "resource_path": format!("/v2/accounts/{uuid}/transactions/{id}")});
                if let Some(fee) = fee {
                    t["network"] =
                        json!({"status": "confirmed", "hash": "0xabc", "transaction_fee": money(fee, &currency)});
                }
                txs.push((time_ms, id, t));
            }
            txs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            if params.get("order") != Some(&"asc") {
                txs.reverse();
            }
            let start = match params.get("starting_after") {
                Some(after) => match txs.iter().position(|(_, id, _)| id == after) {
                    Some(i) => i + 1,
                    None => {
                        return reply(
                            400,
                            json!({"errors": [{"id": "invalid_request", "message": "starting_after is invalid"}]}),
                        )
                    }
                },
                None => 0,
            };
            let end = (start + size).min(txs.len());
            let data: Vec<Value> = txs[start.min(end)..end].iter().map(|(_, _, t)| t.clone()).collect();
            let next = (end < txs.len())
                .then(|| format!("/v2/accounts/{uuid}/transactions?limit={limit}&starting_after={}", txs[end - 1].1));
            reply(
                200,
                json!({"pagination": {"ending_before": null, "starting_after": params.get("starting_after"), "limit": limit,
                "order": params.get("order").copied().unwrap_or("desc"), "previous_uri": null, "next_uri": next}, "data": data}),
            )
        }
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// `2021-05-31T09:59:59.123Z`.
fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
