//! Kraken Spot REST API (<https://docs.kraken.com/api/docs/guides/spot-rest-auth>).
//!
//! Private endpoints are `POST /0/private/<Method>` with a form body that starts with
//! `nonce` (an always-increasing integer; milliseconds here). Headers: `API-Key`, and
//! `API-Sign` = base64(HMAC-SHA512(base64-decoded private key, URI path + SHA-256(nonce +
//! POST data))). Every reply is `{"error": [...], "result": …}` with HTTP 200; failures are
//! the strings of `error` (`EAPI:Invalid key`, `EAPI:Rate limit exceeded`, …).

use super::{
    balances_from, client_and_base, decimal, history_tx, hmac_sha512, leg, now_ms, page_of, parse_cursor, send,
    time_ms, ExchangeConnector, ExchangeCredentials, ExchangeError, ExchangeOptions, KeyCheck, Reply,
};
use crate::Balance;
use base64::Engine as _;
use kc_ports::{Decimal, HistoryPage, LegDirection};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `https://api.kraken.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.kraken.com";

/// The Kraken connector.
pub struct Kraken {
    client: reqwest::Client,
    base: String,
    options: ExchangeOptions,
    last_nonce: AtomicU64,
    /// The API call counter as this connector tracks it: (value, when), its ceiling and
    /// its decay per second.
    counter: Mutex<(f64, Option<Instant>)>,
    counter_max: f64,
    counter_decay: f64,
}

/// The call counter ceiling of a Starter-tier account (the lowest: 15; it decays by 0.33 a
/// second). `Ledgers` costs 2, other private calls 1.
pub const COUNTER_MAX: f64 = 15.0;
/// The counter's decay per second on a Starter-tier account.
pub const COUNTER_DECAY: f64 = 0.33;

/// Ledger entries per `Ledgers` reply (fixed by Kraken).
const LEDGER_PAGE: usize = 50;

/// Where the ledger of an account was read up to (serialized as the ledger cursor).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// Entries up to this time (Unix seconds) are read; the next sync starts there.
    #[serde(default)]
    read_to: Option<i64>,
    /// The sync in progress: entries in (`start`, `end`) from offset `ofs`, newest first;
    /// `newest` is the latest entry time seen in it.
    #[serde(default)]
    step: Option<Step>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Step {
    start: Option<i64>,
    end: i64,
    ofs: usize,
    newest: Option<i64>,
}

/// `API-Sign` for `path` (`/0/private/Balance`), `nonce` and the url-encoded `post_data`
/// (which contains `nonce=<nonce>`), under the base64 `secret`.
pub fn sign(secret: &str, path: &str, nonce: &str, post_data: &str) -> Result<String, ExchangeError> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim())
        .map_err(|_| ExchangeError::InvalidSignature("the private key is not base64".to_owned()))?;
    let inner = sha2::Sha256::digest(format!("{nonce}{post_data}").as_bytes());
    let mut message = path.as_bytes().to_vec();
    message.extend_from_slice(&inner);
    Ok(base64::engine::general_purpose::STANDARD.encode(hmac_sha512(&key, &message)))
}

/// The ticker of a Kraken asset code: `XXBT` → `BTC`, `ZUSD` → `USD`, `ETH2.S` → `ETH`,
/// `DOT.F` → `DOT` (earn and staking suffixes are folded into the asset).
pub fn ticker(code: &str) -> String {
    let base = code.split('.').next().unwrap_or(code).to_ascii_uppercase();
    let legacy = [
        "XXBT", "XETH", "XXDG", "XLTC", "XXRP", "XXLM", "XXMR", "XZEC", "XETC", "XMLN", "XREP", "ZUSD", "ZEUR", "ZGBP",
        "ZCAD", "ZJPY", "ZAUD", "ZCHF",
    ];
    let base = if legacy.contains(&base.as_str()) { base[1..].to_owned() } else { base };
    match base.as_str() {
        "XBT" => "BTC".to_owned(),
        "XDG" => "DOGE".to_owned(),
        "ETH2" => "ETH".to_owned(),
        _ => base,
    }
}

impl Kraken {
    /// A connector on `options.base_url`.
    pub fn new(options: ExchangeOptions) -> Result<Self, ExchangeError> {
        let (client, base) = client_and_base(&options)?;
        Ok(Self {
            client,
            base,
            options,
            last_nonce: AtomicU64::new(0),
            counter: Mutex::new((0.0, None)),
            counter_max: COUNTER_MAX,
            counter_decay: COUNTER_DECAY,
        })
    }

    /// Paces calls for an account whose counter ceiling is `max`, decaying by `decay` a second
    /// (Kraken: Starter 15 / 0.33, Intermediate 20 / 0.5, Pro 20 / 1).
    pub fn with_counter(mut self, max: f64, decay: f64) -> Self {
        self.counter_max = max.max(1.0);
        self.counter_decay = decay.max(0.01);
        self
    }

    /// Waits until a call of `cost` fits under the counter ceiling, then counts it.
    async fn pace(&self, cost: f64) {
        let wait = {
            let Ok(mut c) = self.counter.lock() else { return };
            let now = Instant::now();
            let decayed = match c.1 {
                Some(at) => (c.0 - now.duration_since(at).as_secs_f64() * self.counter_decay).max(0.0),
                None => 0.0,
            };
            let wait = ((decayed + cost - self.counter_max) / self.counter_decay).max(0.0);
            // The counter as it will be once the wait is over and this call counted.
            *c = ((decayed + cost - wait * self.counter_decay).max(cost), Some(now + Duration::from_secs_f64(wait)));
            wait
        };
        if wait > 0.0 {
            tracing::info!(
                exchange = "kraken",
                wait_ms = (wait * 1000.0) as u64,
                "API counter near its ceiling; waiting"
            );
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }

    /// A nonce greater than every nonce this connector sent before.
    fn nonce(&self) -> u64 {
        let now = now_ms();
        let mut last = self.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_nonce.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Calls private `method` with the extra form `params` (already url-encoded).
    async fn private(&self, c: &ExchangeCredentials, method: &str, params: &str) -> Result<Value, ExchangeError> {
        self.pace(if matches!(method, "Ledgers" | "QueryLedgers" | "TradesHistory") { 2.0 } else { 1.0 }).await;
        let path = format!("/0/private/{method}");
        let build = |client: &reqwest::Client| {
            let nonce = self.nonce().to_string();
            let mut body = format!("nonce={nonce}");
            if !params.is_empty() {
                body.push('&');
                body.push_str(params);
            }
            let signature = sign(c.secret.expose_secret(), &path, &nonce, &body)?;
            Ok(client
                .post(format!("{}{path}", self.base))
                .header("API-Key", c.api_key.as_str())
                .header("API-Sign", signature)
                .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
                .body(body))
        };
        let limited = |r: &Reply| {
            errors(&r.json()).iter().any(|e| e.contains("Rate limit exceeded") || e.contains("Too many requests"))
        };
        let reply = send(&self.client, &self.options, "kraken", build, limited).await?;
        let json = reply.json();
        let errs = errors(&json);
        if let Some(first) = errs.first() {
            return Err(classify(first, &reply));
        }
        if !(200..300).contains(&reply.status) {
            let detail = format!("HTTP {}: {}", reply.status, reply.excerpt());
            return Err(if reply.status >= 500 {
                ExchangeError::Maintenance(detail)
            } else {
                ExchangeError::Transport(detail)
            });
        }
        json.get("result").cloned().ok_or_else(|| ExchangeError::Malformed(format!("{path}: no result")))
    }
}

fn errors(json: &Value) -> Vec<String> {
    json.get("error")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The [`ExchangeError`] of one of Kraken's documented error strings.
fn classify(error: &str, reply: &Reply) -> ExchangeError {
    let detail = error.to_owned();
    match error {
        "EAPI:Invalid key" => ExchangeError::InvalidKey(detail),
        "EAPI:Invalid signature" => ExchangeError::InvalidSignature(detail),
        "EAPI:Invalid nonce" => ExchangeError::ClockSkew(detail),
        // Kraken answers both a key without the needed permission and a call from an IP address
        // outside the key's allow-list with this string.
        "EGeneral:Permission denied" | "EAPI:Feature disabled" => ExchangeError::PermissionMissing(format!(
            "{detail} (the key lacks the Query Funds / Query Ledger Entries permission, or its IP allow-list excludes this server)"
        )),
        e if e.contains("Rate limit exceeded")
            || e.contains("Too many requests")
            || e.contains("Temporary lockout") =>
        {
            ExchangeError::RateLimited { retry_after: reply.retry_after, detail }
        }
        e if e.starts_with("EService:") => ExchangeError::Maintenance(detail),
        _ => ExchangeError::Transport(detail),
    }
}

#[async_trait::async_trait]
impl ExchangeConnector for Kraken {
    fn id(&self) -> &'static str {
        "kraken"
    }

    fn name(&self) -> &'static str {
        "Kraken"
    }

    /// `Balance` (the cheapest private call; it needs the "Query Funds" permission). Kraken
    /// does not report a key's other permissions, so no trade/withdraw warning is possible.
    async fn check(&self, c: &ExchangeCredentials) -> Result<KeyCheck, ExchangeError> {
        self.private(c, "Balance", "").await.map(|_| KeyCheck::default())
    }

    /// `Balance`: asset code → quantity; earn/staking variants add to their asset.
    async fn balances(&self, c: &ExchangeCredentials) -> Result<Vec<Balance>, ExchangeError> {
        let result = self.private(c, "Balance", "").await?;
        let map =
            result.as_object().ok_or_else(|| ExchangeError::Malformed("Balance result is not an object".into()))?;
        let mut items = Vec::with_capacity(map.len());
        for (code, qty) in map {
            let text = qty.as_str().ok_or_else(|| ExchangeError::Malformed(format!("{code}: not a string")))?;
            items.push((ticker(code), decimal(text)?));
        }
        Ok(balances_from("kraken", items))
    }

    /// `Ledgers` (the "Query Ledger Entries" permission; counter cost 2), 50 entries a page
    /// with `ofs`, newest first, between the last sync (`start`, exclusive, one minute of
    /// overlap) and the start of this one (`end`). Entries sharing a `refid` are one
    /// transaction (a trade's two sides); a page never splits them. Each entry is an incoming
    /// (`amount` > 0) or outgoing leg, and its `fee` a fee leg. Internal moves between the spot
    /// wallet and staking or futures (`transfer` entries with a subtype) are left out.
    async fn history(&self, c: &ExchangeCredentials, cursor: Option<&str>) -> Result<HistoryPage, ExchangeError> {
        let mut cur: Cursor = parse_cursor(cursor)?;
        let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
        let mut step = cur.step.take().unwrap_or(Step {
            start: cur.read_to.map(|t| t - 60),
            end: now + 1,
            ofs: 0,
            newest: cur.read_to,
        });
        let mut params = format!("end={}&ofs={}", step.end, step.ofs);
        if let Some(start) = step.start {
            params = format!("start={start}&{params}");
        }
        let result = self.private(c, "Ledgers", &params).await?;
        let count = result.get("count").and_then(Value::as_u64).map(|n| n as usize);
        let ledger = result
            .get("ledger")
            .and_then(Value::as_object)
            .ok_or_else(|| ExchangeError::Malformed("Ledgers result without ledger".to_owned()))?;
        let mut entries: Vec<(String, &Value, f64)> = Vec::with_capacity(ledger.len());
        for (id, e) in ledger {
            let time = e
                .get("time")
                .and_then(Value::as_f64)
                .ok_or_else(|| ExchangeError::Malformed(format!("{id}: no time")))?;
            entries.push((id.clone(), e, time));
        }
        entries.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let n = entries.len();
        let more = n > 0 && count.map_or(n >= LEDGER_PAGE, |total| step.ofs + n < total);
        let refid = |e: &Value| e.get("refid").and_then(Value::as_str).unwrap_or_default().to_owned();
        if more {
            // The oldest transaction of the page may continue on the next one: read it there whole.
            if let Some(last) = entries.last().map(|(_, e, _)| refid(e)) {
                if entries.iter().any(|(_, e, _)| refid(e) != last) {
                    entries.retain(|(_, e, _)| refid(e) != last);
                }
            }
        }
        step.ofs += entries.len();
        let mut groups: Vec<(String, Vec<(String, &Value, f64)>)> = Vec::new();
        for entry in entries {
            let key = refid(entry.1);
            let key = if key.is_empty() { entry.0.clone() } else { key };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(entry),
                None => groups.push((key, vec![entry])),
            }
        }
        let mut txs = Vec::with_capacity(groups.len());
        for (refid, group) in groups {
            let (mut outs, mut ins, mut fees) = (Vec::new(), Vec::new(), Vec::new());
            let mut at = f64::MAX;
            let mut raw = serde_json::Map::new();
            for (id, e, time) in &group {
                step.newest = step.newest.max(Some(*time as i64));
                let text = |name: &str| e.get(name).and_then(Value::as_str).unwrap_or_default();
                if text("type") == "transfer" && !text("subtype").is_empty() {
                    continue;
                }
                at = at.min(*time);
                raw.insert(id.clone(), (*e).clone());
                let asset = ticker(text("asset"));
                let amount = decimal(if text("amount").is_empty() { "0" } else { text("amount") })?;
                let fee = decimal(if text("fee").is_empty() { "0" } else { text("fee") })?;
                if amount > Decimal::ZERO {
                    ins.push(leg("kraken", &asset, amount, LegDirection::Incoming));
                } else if amount < Decimal::ZERO {
                    outs.push(leg("kraken", &asset, amount, LegDirection::Outgoing));
                }
                if fee > Decimal::ZERO {
                    fees.push(leg("kraken", &asset, fee, LegDirection::Fee));
                }
            }
            let legs: Vec<_> = outs.into_iter().chain(ins).chain(fees).collect();
            if legs.is_empty() {
                continue;
            }
            let at = time_ms((at * 1000.0).round() as i64)?;
            txs.push(history_tx(format!("ledger:{refid}"), at, 0, legs, Value::Object(raw)));
        }
        if more {
            cur.step = Some(step);
        } else {
            cur.read_to = step.newest.or(cur.read_to);
        }
        page_of(txs, &cur, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Kraken's REST authentication guide: this private key, nonce, POST
    /// data and URI path give this `API-Sign`.
    #[test]
    fn signature_matches_the_documented_example() {
        let secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
        let nonce = "1616492376594";
        let body = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
        assert_eq!(
            sign(secret, "/0/private/AddOrder", nonce, body).ok().as_deref(),
            Some("4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==")
        );
        assert!(matches!(
            sign("not base64!", "/0/private/Balance", "1", "nonce=1"),
            Err(ExchangeError::InvalidSignature(_))
        ));
    }

    #[test]
    fn asset_codes_become_tickers() {
        for (code, want) in [
            ("XXBT", "BTC"),
            ("ZUSD", "USD"),
            ("XETH", "ETH"),
            ("ETH2.S", "ETH"),
            ("DOT.F", "DOT"),
            ("XXDG", "DOGE"),
            ("USDC", "USDC"),
        ] {
            assert_eq!(ticker(code), want, "{code}");
        }
    }

    #[test]
    fn nonces_always_increase() {
        let k = Kraken::new(ExchangeOptions::new("http://127.0.0.1:9")).expect("connector");
        let (a, b) = (k.nonce(), k.nonce());
        assert!(b > a);
    }
}
