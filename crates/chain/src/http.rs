//! HTTP and JSON-RPC plumbing shared by the network adapters, and the exact
//! conversion of on-chain integer amounts to decimals.

use crate::ChainError;
use reqwest::{StatusCode, Url};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::error::Error as _;
use std::time::Duration;

/// Replies larger than this are refused rather than buffered.
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// The longest a TCP/TLS connect may take, bounded again by the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client with the adapter's timeout: `timeout` for the whole exchange
/// (connect, send, read the body), and a connect timeout no longer than that.
pub(crate) fn build_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .user_agent(concat!("kryptos-connect/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build HTTP client: {}", e.without_url()))
}

/// Parses an adapter's base URL (http or https only).
pub(crate) fn parse_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(parsed),
        _ => Err("URL must be http(s)://host…".to_owned()),
    }
}

/// The URL as it may appear in logs and errors: scheme, host and port only. RPC
/// providers put API keys in the path or query, so those are never shown.
pub(crate) fn redact_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let tail = if url.path().len() > 1 || url.query().is_some() { "/…" } else { "" };
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{tail}", url.scheme()),
        None => format!("{}://{host}{tail}", url.scheme()),
    }
}

/// A failed HTTP exchange.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// No complete reply: connect failure, timeout, reset.
    Transport(String),
    /// The reply is larger than [`MAX_REPLY_BYTES`].
    TooLarge,
}

/// Sends `request` and reads the whole body (bounded by [`MAX_REPLY_BYTES`]).
pub(crate) async fn fetch(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(StatusCode, Vec<u8>), FetchError> {
    fetch_with_retry_after(request, timeout).await.map(|(status, _, body)| (status, body))
}

/// [`fetch`], also returning the reply's `Retry-After` (in seconds only; an HTTP date is ignored).
pub(crate) async fn fetch_with_retry_after(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(StatusCode, Option<Duration>, Vec<u8>), FetchError> {
    let mut response = request.send().await.map_err(|e| FetchError::Transport(describe(&e, timeout)))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Transport(describe(&e, timeout)))? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, retry_after, body))
}

/// Describes a reqwest error without its URL (which may hold a key).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no reply within {timeout:?}");
    }
    let mut text = if error.is_connect() { "connection failed".to_owned() } else { "request failed".to_owned() };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A JSON-RPC 2.0 endpoint over HTTP POST.
#[derive(Debug, Clone)]
pub(crate) struct RpcClient {
    client: reqwest::Client,
    url: Url,
    shown: String,
    timeout: Duration,
}

impl RpcClient {
    /// An endpoint at `url` whose every exchange ends within `timeout`.
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Self, ChainError> {
        let url = parse_url(url).map_err(ChainError::Config)?;
        let client = build_client(timeout).map_err(ChainError::Config)?;
        Ok(Self { client, shown: redact_url(&url), url, timeout })
    }

    /// The endpoint's URL, redacted for logs.
    pub(crate) fn shown_url(&self) -> &str {
        &self.shown
    }

    /// POSTs `body` and returns the reply's JSON. An HTTP error status is
    /// `Transport` unless the body is a JSON-RPC reply (whose error object then
    /// wins); a success status with a non-JSON body is `Malformed`.
    async fn post(&self, body: &Value) -> Result<Value, ChainError> {
        let request = self.client.post(self.url.clone()).json(body);
        let (status, bytes) = fetch(request, self.timeout).await.map_err(|e| match e {
            FetchError::Transport(msg) => ChainError::Transport(msg),
            FetchError::TooLarge => ChainError::Malformed(format!("reply larger than {MAX_REPLY_BYTES} bytes")),
        })?;
        let parsed = serde_json::from_slice::<Value>(&bytes);
        match parsed {
            Ok(value) if status.is_success() || looks_like_rpc(&value) => Ok(value),
            Ok(_) => Err(ChainError::Transport(format!("HTTP {status}"))),
            Err(_) if !status.is_success() => Err(ChainError::Transport(format!("HTTP {status}"))),
            Err(e) => Err(ChainError::Malformed(format!("reply is not JSON ({e}): {}", excerpt(&bytes)))),
        }
    }

    /// One call; returns its `result`.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let mut results = self.batch_or_single(vec![(method, params)], false).await?;
        results.pop().ok_or_else(|| ChainError::Malformed("empty reply".to_owned()))
    }

    /// Several calls in one batched request; returns their `result`s in request
    /// order, whatever order the node answered in (replies are matched by `id`).
    pub(crate) async fn batch(&self, calls: Vec<(&str, Value)>) -> Result<Vec<Value>, ChainError> {
        self.batch_or_single(calls, true).await
    }

    /// Several calls in one batched request; returns each call's own outcome in request
    /// order (a JSON-RPC error of one call, e.g. a reverting `eth_call`, does not fail the
    /// others). A reply the whole batch cannot be matched to is still an error.
    pub(crate) async fn batch_each(
        &self,
        calls: Vec<(&str, Value)>,
    ) -> Result<Vec<Result<Value, ChainError>>, ChainError> {
        let count = calls.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let reply = self.post(&Self::requests(calls, true)).await?;
        let items = match reply {
            Value::Array(items) => items,
            Value::Object(_) if reply.get("error").is_some() => {
                return Err(match_replies(vec![reply], count)
                    .err()
                    .unwrap_or_else(|| ChainError::Malformed("a refused batch without an error object".to_owned())))
            }
            other => return Err(ChainError::Malformed(format!("expected a JSON-RPC reply, got {}", kind(&other)))),
        };
        let mut by_id: HashMap<u64, Result<Value, ChainError>> = HashMap::with_capacity(items.len());
        for item in items {
            let Value::Object(mut obj) = item else {
                return Err(ChainError::Malformed("a JSON-RPC reply is not an object".to_owned()));
            };
            let Some(id) = obj.get("id").and_then(Value::as_u64) else {
                // An error without id refuses the whole batch.
                return Err(match_replies(vec![Value::Object(obj)], count)
                    .err()
                    .unwrap_or_else(|| ChainError::Malformed("a JSON-RPC reply has no numeric id".to_owned())));
            };
            let outcome = match obj.get("error").filter(|e| !e.is_null()) {
                Some(error) => Err(rpc_error(error)),
                None => obj.remove("result").ok_or_else(|| ChainError::Malformed(format!("reply {id} has no result"))),
            };
            if by_id.insert(id, outcome).is_some() {
                return Err(ChainError::Malformed(format!("duplicate reply id {id}")));
            }
        }
        (0..count as u64)
            .map(|id| by_id.remove(&id).ok_or_else(|| ChainError::Malformed(format!("no reply for request id {id}"))))
            .collect()
    }

    fn requests(calls: Vec<(&str, Value)>, batched: bool) -> Value {
        let requests: Vec<Value> = calls
            .into_iter()
            .enumerate()
            .map(|(id, (method, params))| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .collect();
        if batched {
            Value::Array(requests)
        } else {
            requests.into_iter().next().unwrap_or(Value::Null)
        }
    }

    async fn batch_or_single(&self, calls: Vec<(&str, Value)>, batched: bool) -> Result<Vec<Value>, ChainError> {
        let count = calls.len();
        let reply = self.post(&Self::requests(calls, batched)).await?;
        let items = match reply {
            Value::Array(items) => items,
            // A single object: the reply to a single call, or one error for a whole
            // batch the node refused (e.g. batches not supported).
            Value::Object(_) if !batched || reply.get("error").is_some() => vec![reply],
            other => return Err(ChainError::Malformed(format!("expected a JSON-RPC reply, got {}", kind(&other)))),
        };
        match_replies(items, count)
    }
}

/// A JSON-RPC error object as a [`ChainError::Rpc`].
fn rpc_error(error: &Value) -> ChainError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("(no message)").to_owned();
    ChainError::Rpc { code, message }
}

fn looks_like_rpc(value: &Value) -> bool {
    value.is_array() || value.get("jsonrpc").is_some() || value.get("error").is_some()
}

/// Orders replies by id; the error of the lowest id wins over every result.
fn match_replies(items: Vec<Value>, count: usize) -> Result<Vec<Value>, ChainError> {
    let mut by_id: HashMap<u64, Value> = HashMap::with_capacity(items.len());
    let mut first_error: Option<(u64, ChainError)> = None;
    for item in items {
        let Value::Object(mut obj) = item else {
            return Err(ChainError::Malformed("a JSON-RPC reply is not an object".to_owned()));
        };
        let id = obj.get("id").and_then(Value::as_u64);
        if let Some(error) = obj.get("error").filter(|e| !e.is_null()) {
            // An error without id (a refused batch) ranks before all others.
            let rank = id.unwrap_or(0);
            if first_error.as_ref().is_none_or(|(r, _)| rank < *r) {
                first_error = Some((rank, rpc_error(error)));
            }
            continue;
        }
        let id = id.ok_or_else(|| ChainError::Malformed("a JSON-RPC reply has no numeric id".to_owned()))?;
        let result = obj.remove("result").ok_or_else(|| ChainError::Malformed(format!("reply {id} has no result")))?;
        if by_id.insert(id, result).is_some() {
            return Err(ChainError::Malformed(format!("duplicate reply id {id}")));
        }
    }
    if let Some((_, error)) = first_error {
        return Err(error);
    }
    (0..count as u64)
        .map(|id| by_id.remove(&id).ok_or_else(|| ChainError::Malformed(format!("no reply for request id {id}"))))
        .collect()
}

/// The JSON type of a value, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The start of a reply body, for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]);
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Parses a hex quantity (`0x…`, leading zeros allowed, at most 256 bits) into an
/// integer, refusing values above Decimal's 96-bit mantissa.
pub(crate) fn parse_hex_units(text: &str) -> Result<u128, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| format!("quantity {:?} is not 0x-prefixed hex", clip(text)))?;
    if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("quantity {:?} is not a hex number of at most 256 bits", clip(text)));
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 24 {
        return Err(format!("quantity {} overflows: more than 96 bits cannot be an exact decimal", clip(text)));
    }
    if significant.is_empty() {
        return Ok(0);
    }
    u128::from_str_radix(significant, 16).map_err(|e| format!("quantity {:?}: {e}", clip(text)))
}

/// `units` smallest units as whole units (`units / 10^decimals`), exact, normalized.
pub(crate) fn units_to_decimal(units: u128, decimals: u8) -> Result<Decimal, String> {
    let mantissa = i128::try_from(units).map_err(|_| format!("amount {units} overflows a decimal"))?;
    Decimal::try_from_i128_with_scale(mantissa, u32::from(decimals))
        .map(|d| d.normalize())
        .map_err(|_| format!("amount {units} with {decimals} decimals overflows a decimal (max 96 bits, 28 decimals)"))
}

fn clip(text: &str) -> String {
    if text.len() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_quantities_parse_exactly() {
        let cases: &[(&str, Result<u128, &str>)] = &[
            ("0x0", Ok(0)),
            ("0x00", Ok(0)),
            ("0x112210f47de98115", Ok(1_234_567_890_123_456_789)),
            ("0X3635C9ADC5DEA00000", Ok(1_000_000_000_000_000_000_000)),
            ("0xffffffffffffffffffffffff", Ok((1u128 << 96) - 1)),
            ("0x0000000000000000000000000000000000000000000000000000000000000001", Ok(1)),
            ("0x1000000000000000000000000", Err("overflows")),
            ("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", Err("overflows")),
            ("0x10000000000000000000000000000000000000000000000000000000000000000", Err("at most 256 bits")),
            ("0x", Err("not a hex number")),
            ("0xzz", Err("not a hex number")),
            ("12", Err("not 0x-prefixed")),
            ("-0x1", Err("not 0x-prefixed")),
        ];
        for (input, expected) in cases {
            match (parse_hex_units(input), expected) {
                (Ok(v), Ok(e)) => assert_eq!(v, *e, "value of {input}"),
                (Err(msg), Err(e)) => assert!(msg.contains(e), "error for {input}: {msg:?} lacks {e:?}"),
                (got, _) => panic!("{input}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn units_scale_exactly() {
        let cases: &[(u128, u8, &str)] = &[
            (1_234_567_890_123_456_789, 18, "1.234567890123456789"),
            (1_500_000_000_000_000_000, 18, "1.5"),
            (2_500_000_000, 6, "2500"),
            (1, 6, "0.000001"),
            (0, 18, "0"),
            ((1u128 << 96) - 1, 28, "7.9228162514264337593543950335"),
        ];
        for (units, decimals, text) in cases {
            assert_eq!(
                units_to_decimal(*units, *decimals).map(|d| d.to_string()).as_deref(),
                Ok(*text),
                "{units}e-{decimals}"
            );
        }
        assert!(units_to_decimal(1 << 96, 0).is_err(), "97 bits");
        assert!(units_to_decimal(1, 29).is_err(), "29 decimals");
    }

    #[test]
    fn urls_are_redacted() {
        let cases = [
            ("https://eth-mainnet.example.com/v2/SECRETKEY", "https://eth-mainnet.example.com/…"),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("https://rpc.example.com/?apikey=SECRET", "https://rpc.example.com/…"),
        ];
        for (url, shown) in cases {
            let parsed = parse_url(url).expect("valid url");
            assert_eq!(redact_url(&parsed), shown, "{url}");
        }
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
