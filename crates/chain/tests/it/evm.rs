//! The EVM JSON-RPC adapter against fake nodes.

use crate::support::{closed_port, err, fake, ok, requests, silent, Reply};
use kc_chain::{Balance, Chain, ChainError, ChainProvider, Erc20Token, EvmRpcProvider};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOLDER: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const HOLDER_LOWER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const USDC: &str = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
const DAI: &str = "0x6B175474E89094C44Da98b954EedeAC495271d0F";
const WETH: &str = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";

fn tokens() -> Vec<Erc20Token> {
    vec![
        Erc20Token::new(USDC, "USDC", "USD Coin", 6),
        Erc20Token::new(DAI, "DAI", "Dai Stablecoin", 18),
        Erc20Token::new(WETH, "WETH", "Wrapped Ether", 18),
    ]
}

fn word(units: u128) -> String {
    format!("0x{units:064x}")
}

/// A fake node: `native` for `eth_getBalance`, `calls[contract]` for `eth_call`
/// (`0x` for unknown contracts); the batch reply is reversed.
fn node(native: &str, calls: HashMap<String, String>) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    let native = native.to_owned();
    move |body| {
        let mut replies: Vec<Value> = requests(body)
            .iter()
            .map(|req| {
                let id = &req["id"];
                match req["method"].as_str() {
                    Some("eth_getBalance") => ok(id, json!(native)),
                    Some("eth_call") => {
                        let to = req["params"][0]["to"].as_str().unwrap_or_default();
                        ok(id, json!(calls.get(to).cloned().unwrap_or_else(|| "0x".to_owned())))
                    }
                    _ => err(id, -32601, "method not found"),
                }
            })
            .collect();
        replies.reverse();
        Reply::json(Value::Array(replies))
    }
}

fn provider(url: &str, timeout: Duration) -> EvmRpcProvider {
    EvmRpcProvider::new(Chain::Ethereum, url, tokens(), timeout).expect("valid provider config")
}

fn summary(balances: &[Balance]) -> Vec<(String, String, String)> {
    balances.iter().map(|b| (b.asset.token_id.clone(), b.asset.symbol.clone(), b.quantity.to_string())).collect()
}

#[tokio::test]
async fn a_shuffled_batch_reply_is_matched_by_id_and_scaled_exactly() {
    let calls = HashMap::from([
        (USDC.to_ascii_lowercase(), word(2_500_000_001)),
        (DAI.to_ascii_lowercase(), word(1_234_500_000_000_000_000_001)),
        (WETH.to_ascii_lowercase(), word(0)),
    ]);
    let fake = fake(node("0x112210f47de98115", calls)).await;
    let balances = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await.expect("balances");
    assert_eq!(
        summary(&balances),
        vec![
            ("ethereum".into(), "ETH".into(), "1.234567890123456789".into()),
            ("ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".into(), "USDC".into(), "2500.000001".into()),
            (
                "ethereum:0x6b175474e89094c44da98b954eedeac495271d0f".into(),
                "DAI".into(),
                "1234.500000000000000001".into()
            ),
        ],
        "native first, zero WETH omitted, exact quantities"
    );
    let usdc = &balances[1].asset;
    assert_eq!(usdc.contract_address.as_deref(), Some("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"));
    assert_eq!((usdc.decimals, usdc.chain_id.as_str(), usdc.asset_type.as_str()), (6, "ethereum", "crypto"));

    // Exactly one HTTP request, a batch of the documented calls.
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "one batched HTTP request");
    let batch = requests(&seen[0].body);
    assert_eq!(batch.len(), 4, "getBalance + 3 balanceOf");
    assert_eq!(batch[0]["method"], "eth_getBalance");
    assert_eq!(batch[0]["params"], json!([HOLDER_LOWER, "latest"]));
    assert_eq!(batch[0]["jsonrpc"], "2.0");
    let data = format!("0x70a08231000000000000000000000000{}", &HOLDER_LOWER[2..]);
    assert_eq!(batch[1]["method"], "eth_call");
    assert_eq!(batch[1]["params"], json!([{"to": USDC.to_ascii_lowercase(), "data": data}, "latest"]));
    let ids: Vec<&Value> = batch.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, vec![&json!(0), &json!(1), &json!(2), &json!(3)]);
}

#[tokio::test]
async fn native_balance_is_reported_even_when_zero() {
    let fake = fake(node("0x0", HashMap::new())).await;
    let balances = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await.expect("balances");
    assert_eq!(
        summary(&balances),
        vec![("ethereum".into(), "ETH".into(), "0".into())],
        "contracts without code read as zero"
    );
}

#[tokio::test]
async fn the_chain_names_the_native_asset() {
    let fake = fake(node("0xde0b6b3a7640000", HashMap::new())).await;
    let polygon = EvmRpcProvider::new(Chain::Polygon, &fake.url(), vec![], Duration::from_secs(5)).expect("config");
    assert_eq!(polygon.chain(), Chain::Polygon);
    let balances = polygon.balances(HOLDER).await.expect("balances");
    assert_eq!(summary(&balances), vec![("polygon".into(), "POL".into(), "1".into())]);
}

#[tokio::test]
async fn json_rpc_error_objects_become_rpc_errors() {
    // One failing call inside a batch.
    let failing_call = fake(|body: &Value| {
        let replies: Vec<Value> = requests(body)
            .iter()
            .map(|req| match req["method"].as_str() {
                Some("eth_call") if req["id"] == 2 => err(&req["id"], 3, "execution reverted"),
                Some("eth_call") => ok(&req["id"], json!(word(1))),
                _ => ok(&req["id"], json!("0x1")),
            })
            .collect();
        Reply::json(Value::Array(replies))
    })
    .await;
    let result = provider(&failing_call.url(), Duration::from_secs(5)).balances(HOLDER).await;
    assert_eq!(result, Err(ChainError::Rpc { code: 3, message: "execution reverted".into() }), "failing eth_call");

    // The whole batch refused with one error object (HTTP 200 and HTTP 400 alike).
    for status in [200, 400] {
        let refused = fake(move |_: &Value| {
            Reply::raw(
                status,
                "application/json",
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}"#,
            )
        })
        .await;
        let result = provider(&refused.url(), Duration::from_secs(5)).balances(HOLDER).await;
        assert_eq!(
            result,
            Err(ChainError::Rpc { code: -32600, message: "batch requests are not supported".into() }),
            "refused batch with HTTP {status}"
        );
    }
}

#[tokio::test]
async fn a_node_that_never_answers_is_a_transport_error_within_the_timeout() {
    let addr = silent().await;
    let started = Instant::now();
    let result = provider(&format!("http://{addr}/v2/SECRETKEY"), Duration::from_millis(300)).balances(HOLDER).await;
    let elapsed = started.elapsed();
    match result {
        Err(ChainError::Transport(msg)) => {
            assert!(!msg.contains("SECRETKEY"), "the URL's key must not leak: {msg}");
            assert!(msg.contains("300ms"), "the message names the timeout: {msg}");
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(3), "gave up after {elapsed:?}, timeout was 300 ms");
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let addr = closed_port();
    let result = provider(&format!("http://{addr}/SECRETKEY"), Duration::from_secs(2)).balances(HOLDER).await;
    match result {
        Err(ChainError::Transport(msg)) => assert!(!msg.contains("SECRETKEY"), "the URL's key must not leak: {msg}"),
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_replies_are_malformed_errors() {
    type Case = (&'static str, Arc<dyn Fn(&Value) -> Reply + Send + Sync>, &'static str);
    let reply_all = |f: fn(&Value) -> Value| -> Arc<dyn Fn(&Value) -> Reply + Send + Sync> {
        Arc::new(move |body: &Value| Reply::json(Value::Array(requests(body).iter().map(f).collect())))
    };
    let cases: Vec<Case> = vec![
        (
            "HTML page",
            Arc::new(|_: &Value| Reply::raw(200, "text/html", "<html><body>Welcome</body></html>")),
            "not JSON",
        ),
        (
            "truncated JSON",
            Arc::new(|_: &Value| Reply::raw(200, "application/json", r#"[{"jsonrpc":"2.0","id":0,"result":"0x1"#)),
            "not JSON",
        ),
        ("non-hex quantity", reply_all(|r| ok(&r["id"], json!("0xzz"))), "not a hex number"),
        ("decimal string quantity", reply_all(|r| ok(&r["id"], json!("12345"))), "not 0x-prefixed"),
        ("number quantity", reply_all(|r| ok(&r["id"], json!(12345))), "not a hex string"),
        ("missing id", reply_all(|r| json!({"jsonrpc": "2.0", "result": "0x1", "x": r["id"]})), "no numeric id"),
        ("short return data", reply_all(|r| ok(&r["id"], json!("0x01"))), "expected at least 64"),
        (
            "a reply missing",
            Arc::new(|body: &Value| {
                let first = &requests(body)[0];
                Reply::json(json!([ok(&first["id"], json!("0x1"))]))
            }),
            "no reply for request id 1",
        ),
        (
            "an object for a batch",
            Arc::new(|_: &Value| Reply::json(json!({"jsonrpc": "2.0", "id": 0, "result": "0x1"}))),
            "expected a JSON-RPC reply",
        ),
        ("a string for a batch", Arc::new(|_: &Value| Reply::json(json!("0x1"))), "expected a JSON-RPC reply"),
    ];
    for (name, handler, needle) in cases {
        let fake = fake(move |body: &Value| handler(body)).await;
        let result = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await;
        match result {
            Err(ChainError::Malformed(msg)) => assert!(msg.contains(needle), "{name}: {msg:?} lacks {needle:?}"),
            other => panic!("{name}: expected Malformed, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn http_error_statuses_without_rpc_body_are_transport_errors() {
    for status in [429, 502, 503] {
        let fake = fake(move |_: &Value| Reply::raw(status, "text/html", "<html>Bad Gateway</html>")).await;
        let result = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await;
        assert_eq!(result, Err(ChainError::Transport(format!("HTTP {}", http_status(status)))), "HTTP {status}");
    }
}

fn http_status(code: u16) -> String {
    axum::http::StatusCode::from_u16(code).map(|s| s.to_string()).unwrap_or_default()
}

#[tokio::test]
async fn quantities_beyond_96_bits_are_errors_not_panics() {
    let cases = [
        ("u256 max native", "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff".to_owned(), word(0)),
        ("2^96 native", "0x1000000000000000000000000".to_owned(), word(0)),
        ("u256 max token", "0x0".to_owned(), format!("0x{}", "f".repeat(64))),
    ];
    for (name, native, token) in cases {
        let calls = HashMap::from([(USDC.to_ascii_lowercase(), token)]);
        let fake = fake(node(&native, calls)).await;
        let result = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await;
        match result {
            Err(ChainError::Malformed(msg)) => assert!(msg.contains("overflows"), "{name}: {msg}"),
            other => panic!("{name}: expected an overflow error, got {other:?}"),
        }
    }
    // The largest exact value still works: 2^96 - 1 wei.
    let fake = fake(node("0xffffffffffffffffffffffff", HashMap::new())).await;
    let balances = provider(&fake.url(), Duration::from_secs(5)).balances(HOLDER).await.expect("2^96-1 fits");
    assert_eq!(balances[0].quantity.to_string(), "79228162514.264337593543950335");
}

#[tokio::test]
async fn invalid_addresses_are_refused_before_any_request() {
    let fake = fake(node("0x1", HashMap::new())).await;
    let provider = provider(&fake.url(), Duration::from_secs(5));
    for address in
        ["", "0x123", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAEd", "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1"]
    {
        assert_eq!(provider.balances(address).await, Err(ChainError::UnsupportedAddress), "{address:?}");
    }
    assert_eq!(fake.hits(), 0, "no request for an invalid address");
}
