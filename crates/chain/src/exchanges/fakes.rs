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
        let inner = Arc::new(Inner { page_size: AtomicUsize::new(250), ..Default::default() });
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
    } else if path.starts_with("/api/v3/brokerage/") {
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
        "binance" => handle_binance(&inner, &path, &query, &headers),
        "kraken" => handle_kraken(&inner, &path, &headers, &body),
        "okx" => handle_okx(&inner, &method, &path, &query, &headers),
        _ => handle_coinbase(&inner, &method, &path, &query, &headers),
    }
}

fn account(inner: &Inner, exchange: &str, key: &str) -> Option<FakeAccount> {
    inner.accounts.lock().ok()?.get(&(exchange.to_owned(), key.to_owned())).cloned()
}

fn handle_binance(inner: &Inner, path: &str, query: &str, headers: &HeaderMap) -> Response {
    let err = |status: u16, code: i64, msg: &str| reply(status, json!({"code": code, "msg": msg}));
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
        _ => err(404, -1000, "Unknown path"),
    }
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
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
