//! Kraken Spot REST API (<https://docs.kraken.com/api/docs/guides/spot-rest-auth>).
//!
//! Private endpoints are `POST /0/private/<Method>` with a form body that starts with
//! `nonce` (an always-increasing integer; milliseconds here). Headers: `API-Key`, and
//! `API-Sign` = base64(HMAC-SHA512(base64-decoded private key, URI path + SHA-256(nonce +
//! POST data))). Every reply is `{"error": [...], "result": …}` with HTTP 200; failures are
//! the strings of `error` (`EAPI:Invalid key`, `EAPI:Rate limit exceeded`, …).

use super::{
    balances_from, client_and_base, decimal, hmac_sha512, now_ms, send, ExchangeConnector, ExchangeCredentials,
    ExchangeError, ExchangeOptions, KeyCheck, Reply,
};
use crate::asset::Balance;
use base64::Engine as _;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Digest as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// `https://api.kraken.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.kraken.com";

/// The Kraken connector.
pub struct Kraken {
    client: reqwest::Client,
    base: String,
    options: ExchangeOptions,
    last_nonce: AtomicU64,
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
        Ok(Self { client, base, options, last_nonce: AtomicU64::new(0) })
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
        "EGeneral:Permission denied" | "EAPI:Feature disabled" => ExchangeError::PermissionMissing(detail),
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
