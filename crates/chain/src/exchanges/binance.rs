//! Binance Spot API (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api>).
//!
//! SIGNED endpoints: the parameters, then `recvWindow` and `timestamp` (ms), form the query
//! string; `signature` = lowercase hex HMAC-SHA256 of that query string under the secret key,
//! appended last; the API key goes in `X-MBX-APIKEY`. Errors are `{"code": -2015, "msg": …}`;
//! 429 carries `Retry-After` (418: the IP is banned for `Retry-After` seconds); every reply
//! reports the request weight used in `X-MBX-USED-WEIGHT-1M`.

use super::{
    balances_from, client_and_base, decimal, hmac_sha256, now_ms, send, ExchangeConnector, ExchangeCredentials,
    ExchangeError, ExchangeOptions, KeyCheck, Reply,
};
use crate::asset::Balance;
use secrecy::ExposeSecret;
use serde_json::Value;

/// `https://api.binance.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.binance.com";

/// The `recvWindow` sent with every signed request (ms).
pub const RECV_WINDOW_MS: u64 = 5000;

/// The Binance connector.
pub struct Binance {
    client: reqwest::Client,
    base: String,
    options: ExchangeOptions,
}

/// The signature of a SIGNED endpoint: hex HMAC-SHA256 of `query` under `secret`.
pub fn sign(secret: &str, query: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), query.as_bytes()))
}

impl Binance {
    /// A connector on `options.base_url`.
    pub fn new(options: ExchangeOptions) -> Result<Self, ExchangeError> {
        let (client, base) = client_and_base(&options)?;
        Ok(Self { client, base, options })
    }

    /// GET a SIGNED endpoint with `params` (already URL-safe).
    async fn signed_get(&self, c: &ExchangeCredentials, path: &str, params: &str) -> Result<Value, ExchangeError> {
        let build = |client: &reqwest::Client| {
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
        }
        if (200..300).contains(&reply.status) {
            return serde_json::from_slice(&reply.body)
                .map_err(|e| ExchangeError::Malformed(format!("{path}: {e}: {}", reply.excerpt())));
        }
        Err(classify(&reply))
    }
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
