//! The Etherscan-compatible explorer source against a fake explorer built from the
//! documented `module=account` shapes: `txlist`, `txlistinternal`, `tokentx` and `tokennfttx` records with their string
//! fields, `status`/`message`/`result` envelopes, "No transactions found", rate limits and
//! refusals; paging with `page`/`offset`/`startblock`/`sort=asc` emulated over a data set.

use crate::support::{fake_get, Reply};
use kc_chain::{
    Chain, ChainError, Decimal, ExplorerHistory, ExplorerOptions, HistoryTransaction, LegDirection, TransactionSource,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ME: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
const OTHER: &str = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const SPAM: &str = "0x1111111111111111111111111111111111111111";
const BAYC: &str = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d";

fn h(n: u8) -> String {
    format!("0x{n:064x}")
}

/// A `txlist` record with every field Etherscan documents.
#[allow(clippy::too_many_arguments)]
fn normal(
    block: u64,
    index: u64,
    hash: &str,
    from: &str,
    to: &str,
    value: &str,
    gas_used: &str,
    gas_price: &str,
    is_error: &str,
    input: &str,
) -> Value {
    json!({
        "blockNumber": block.to_string(), "timeStamp": (1_700_000_000 + block * 12).to_string(), "hash": hash,
        "nonce": "7", "blockHash": h(200), "transactionIndex": index.to_string(), "from": from, "to": to,
        "value": value, "gas": "100000", "gasPrice": gas_price, "isError": is_error,
        "txreceipt_status": if is_error == "1" { "0" } else { "1" }, "input": input, "contractAddress": "",
        "cumulativeGasUsed": "1234567", "gasUsed": gas_used, "confirmations": "1000",
        "methodId": input.get(..10).unwrap_or("0x"), "functionName": ""
    })
}

/// A `tokentx` record with every field Etherscan documents.
#[allow(clippy::too_many_arguments)]
fn token(
    block: u64,
    index: u64,
    hash: &str,
    contract: &str,
    from: &str,
    to: &str,
    value: &str,
    symbol: &str,
    decimals: &str,
    log_index: &str,
) -> Value {
    json!({
        "blockNumber": block.to_string(), "timeStamp": (1_700_000_000 + block * 12).to_string(), "hash": hash,
        "nonce": "3", "blockHash": h(201), "from": from, "contractAddress": contract, "to": to, "value": value,
        "tokenName": if symbol == "USDC" { "USD Coin" } else { "" }, "tokenSymbol": symbol, "tokenDecimal": decimals,
        "transactionIndex": index.to_string(), "gas": "90000", "gasPrice": "20000000000", "gasUsed": "65000",
        "cumulativeGasUsed": "2345678", "input": "deprecated", "confirmations": "1000", "logIndex": log_index
    })
}

/// A `txlistinternal` record with every field Etherscan documents.
fn internal(block: u64, hash: &str, from: &str, to: &str, value: &str, is_error: &str) -> Value {
    json!({
        "blockNumber": block.to_string(), "timeStamp": (1_700_000_000 + block * 12).to_string(), "hash": hash,
        "from": from, "to": to, "value": value, "contractAddress": "", "input": "", "type": "call",
        "gas": "2300", "gasUsed": "0", "traceId": "0_1", "isError": is_error, "errCode": ""
    })
}

/// A `tokennfttx` record with every field Etherscan documents.
fn nft(block: u64, hash: &str, contract: &str, from: &str, to: &str, id: &str) -> Value {
    json!({
        "blockNumber": block.to_string(), "timeStamp": (1_700_000_000 + block * 12).to_string(), "hash": hash,
        "nonce": "9", "blockHash": h(202), "from": from, "contractAddress": contract, "to": to, "tokenID": id,
        "tokenName": "BoredApeYachtClub", "tokenSymbol": "BAYC", "tokenDecimal": "0", "transactionIndex": "1",
        "gas": "120000", "gasPrice": "20000000000", "gasUsed": "80000", "cumulativeGasUsed": "3000000",
        "input": "deprecated", "confirmations": "1000"
    })
}

type DataSet = (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Value>);

fn data_set() -> DataSet {
    let approve_input = format!("0x095ea7b3{:0>64}{:0>64}", &ROUTER[2..], "ff");
    let txlist = vec![
        normal(100, 3, &h(1), OTHER, ME, "1500000000000000000", "21000", "20000000000", "0", "0x"),
        normal(101, 0, &h(2), ME, OTHER, "250000000000000000", "21000", "30000000000", "0", "0x"),
        normal(102, 1, &h(4), ME, USDC, "0", "65000", "20000000000", "0", "0xa9059cbb"),
        normal(103, 0, &h(5), ME, OTHER, "5000000000000000000", "21000", "25000000000", "1", "0x"),
        normal(104, 0, &h(6), ME, ROUTER, "1000000000000000000", "150000", "10000000000", "0", "0x7ff36ab5"),
        normal(105, 0, &h(7), ME, USDC, "0", "46000", "10000000000", "0", &approve_input),
        normal(105, 1, &h(8), OTHER, ROUTER, "1", "21000", "10000000000", "0", "0x"),
        normal(106, 2, &h(10), ME, ROUTER, "0", "120000", "10000000000", "0", "0x18cbafe5"),
    ];
    // The router pays me 0.2 ETH for 500 USDC; a failed inner call moved nothing.
    let txlistinternal =
        vec![internal(106, &h(10), ROUTER, ME, "200000000000000000", "0"), internal(106, &h(10), ROUTER, ME, "7", "1")];
    let tokentx = vec![
        token(101, 5, &h(3), USDC, OTHER, ME, "2500000000", "USDC", "6", "12"),
        token(102, 1, &h(4), USDC, ME, OTHER, "100500000", "USDC", "6", "4"),
        token(104, 0, &h(6), SPAM, ROUTER, ME, "1267650600228229401496703205376", "SPAM", "18", "9"),
        token(104, 0, &h(6), USDC, ROUTER, ME, "3000000000", "USDC", "6", "7"),
        token(106, 2, &h(10), USDC, ME, ROUTER, "500000000", "USDC", "6", "3"),
    ];
    let tokennfttx = vec![nft(107, &h(11), BAYC, OTHER, ME, "8817")];
    (txlist, txlistinternal, tokentx, tokennfttx)
}

/// Emulates Etherscan's paging over `records`: `startblock`, `sort=asc`, `page`, `offset`.
fn serve(records: &[Value], q: &HashMap<String, String>) -> Value {
    let start: u64 = q.get("startblock").and_then(|s| s.parse().ok()).unwrap_or(0);
    let page: usize = q.get("page").and_then(|s| s.parse().ok()).unwrap_or(1);
    let offset: usize = q.get("offset").and_then(|s| s.parse().ok()).unwrap_or(10_000);
    if page * offset > 10_000 {
        return json!({"status": "0", "message": "NOTOK", "result": "Result window is too large, PageNo x Offset size must be less than or equal to 10000"});
    }
    let mut found: Vec<&Value> = records
        .iter()
        .filter(|r| r["blockNumber"].as_str().and_then(|b| b.parse::<u64>().ok()).unwrap_or(0) >= start)
        .collect();
    found.sort_by_key(|r| r["blockNumber"].as_str().and_then(|b| b.parse::<u64>().ok()));
    let slice: Vec<&Value> = found.into_iter().skip((page - 1) * offset).take(offset).collect();
    if slice.is_empty() {
        json!({"status": "0", "message": "No transactions found", "result": []})
    } else {
        json!({"status": "1", "message": "OK", "result": slice})
    }
}

fn explorer(records: DataSet) -> impl Fn(&str, &HashMap<String, String>) -> Reply + Send + Sync + 'static {
    move |_path, q| {
        let list = match q.get("action").map(String::as_str) {
            Some("txlist") => &records.0,
            Some("txlistinternal") => &records.1,
            Some("tokentx") => &records.2,
            Some("tokennfttx") => &records.3,
            _ => {
                return Reply::json(
                    json!({"status": "0", "message": "NOTOK", "result": "Error! Missing Or invalid Action name"}),
                )
            }
        };
        Reply::json(serve(list, q))
    }
}

fn source(url: &str, page_size: u64) -> ExplorerHistory {
    let options = ExplorerOptions { page_size, max_retries: 2, backoff: Duration::from_millis(20) };
    ExplorerHistory::new(
        Chain::Ethereum,
        url,
        Some(SecretString::from("KEY123".to_owned())),
        options,
        Duration::from_secs(5),
    )
    .expect("valid config")
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

type Leg = (LegDirection, String, Decimal);

fn legs(tx: &HistoryTransaction) -> Vec<Leg> {
    tx.legs.iter().map(|l| (l.direction, l.asset.symbol.clone(), l.quantity)).collect()
}

#[tokio::test]
async fn txlist_and_tokentx_are_paged_merged_and_priced_exactly() {
    let fake = fake_get(explorer(data_set())).await;
    let source = source(&format!("{}/api?chainid=1", fake.url()), 2);

    let mut cursor: Option<String> = None;
    let mut all: Vec<HistoryTransaction> = Vec::new();
    let mut pages = 0;
    loop {
        let page = source
            .transactions(&ME.to_ascii_uppercase().replacen("0X", "0x", 1), cursor.as_deref())
            .await
            .expect("page");
        pages += 1;
        all.extend(page.transactions);
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
        assert!(pages < 20);
    }
    assert!(pages >= 3, "pages of 2 records: {pages}");
    assert_eq!(cursor.as_deref(), Some("block:108"), "next block after the last seen");

    let ids: Vec<String> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(
        ids,
        vec![h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(10), h(11)],
        "oldest first, each once; h(8) is not ours"
    );
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position) && all.iter().all(|t| t.position.block >= 100),
        "each transaction carries its (block, transactionIndex), in chain order: {:?}",
        all.iter().map(|t| t.position).collect::<Vec<_>>()
    );
    use LegDirection::{Fee, Incoming, Outgoing};
    let expected: Vec<Vec<Leg>> = vec![
        vec![(Incoming, "ETH".into(), dec("1.5"))],
        vec![(Outgoing, "ETH".into(), dec("0.25")), (Fee, "ETH".into(), dec("0.00063"))],
        vec![(Incoming, "USDC".into(), dec("2500"))],
        vec![(Outgoing, "USDC".into(), dec("100.5")), (Fee, "ETH".into(), dec("0.0013"))],
        vec![(Fee, "ETH".into(), dec("0.000525"))],
        vec![
            (Outgoing, "ETH".into(), dec("1")),
            (Incoming, "USDC".into(), dec("3000")),
            (Fee, "ETH".into(), dec("0.0015")),
        ],
        vec![(Fee, "ETH".into(), dec("0.00046"))],
        vec![
            (Incoming, "ETH".into(), dec("0.2")),
            (Outgoing, "USDC".into(), dec("500")),
            (Fee, "ETH".into(), dec("0.0012")),
        ],
        vec![(Incoming, "0xbc4c…f13d".into(), dec("1"))],
    ];
    for (tx, want) in all.iter().zip(&expected) {
        assert_eq!(&legs(tx), want, "{}", tx.id);
    }
    assert_eq!(
        all.iter().map(|t| t.failed).collect::<Vec<_>>(),
        vec![false, false, false, false, true, false, false, false, false]
    );
    assert_eq!(all[6].label.as_deref(), Some("Approve"));
    let ape = &all[8].legs[0].asset;
    assert_eq!((ape.token_id.as_str(), ape.asset_type.as_str()), (format!("ethereum:{BAYC}:8817").as_str(), "nft"));
    assert_eq!(all[0].timestamp.unix_timestamp(), 1_700_001_200);
    let usdc = &all[2].legs[0];
    assert_eq!(usdc.asset.token_id, format!("ethereum:{USDC}"));
    assert_eq!((usdc.asset.public_name.as_str(), usdc.asset.decimals), ("USD Coin", 6));
    assert_eq!((usdc.from.as_deref(), usdc.to.as_deref()), (Some(OTHER), Some(ME)));
    assert_eq!(all[5].raw["transfers"].as_array().map(Vec::len), Some(2), "the spam transfer stays in rawTrx");
    assert_eq!(all[5].raw["tx"]["functionName"], "");

    let seen = fake.seen();
    let first = crate::support::query_pairs(seen[0].query.as_deref().unwrap_or(""));
    let want = [
        ("chainid", "1"),
        ("module", "account"),
        ("action", "txlist"),
        ("address", ME),
        ("startblock", "0"),
        ("page", "1"),
        ("offset", "2"),
        ("sort", "asc"),
        ("apikey", "KEY123"),
    ];
    for (k, v) in want {
        assert_eq!(first.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(seen[0].body, json!("/api"));
    assert!(!format!("{source:?}").contains("KEY123"), "the key is not in Debug");

    // Incremental: from the cursor, nothing new.
    let page = source.transactions(ME, cursor.as_deref()).await.expect("page");
    assert!(page.transactions.is_empty() && !page.has_more);
    assert_eq!(page.cursor, cursor);
}

#[tokio::test]
async fn a_full_page_inside_one_block_reads_the_next_page() {
    let records: Vec<Value> = (0..5u8)
        .map(|i| normal(50, u64::from(i), &h(i + 1), OTHER, ME, "1", "21000", "1", "0", "0x"))
        .chain(std::iter::once(normal(51, 0, &h(9), OTHER, ME, "2", "21000", "1", "0", "0x")))
        .collect();
    let fake = fake_get(explorer((records, vec![], vec![], vec![]))).await;
    let page = source(&fake.url(), 2).transactions(ME, None).await.expect("page");
    // Pages 1–2 are block 50 only; page 3 reaches block 51: block 50 is complete (5 txs).
    assert_eq!(page.transactions.len(), 5);
    assert_eq!((page.cursor.as_deref(), page.has_more), (Some("block:51"), true));
    let page = source(&fake.url(), 2).transactions(ME, page.cursor.as_deref()).await.expect("page");
    assert_eq!(page.transactions.len(), 1);
    assert_eq!(page.transactions[0].legs[0].quantity.to_string(), "0.000000000000000002");
}

#[tokio::test]
async fn no_transactions_found_is_an_empty_history() {
    let fake = fake_get(explorer((vec![], vec![], vec![], vec![]))).await;
    let page = source(&fake.url(), 100).transactions(ME, None).await.expect("empty");
    assert!(page.transactions.is_empty());
    assert_eq!((page.cursor, page.has_more), (None, false));
}

#[tokio::test]
async fn rate_limits_are_retried_with_backoff_then_reported() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let records = data_set();
    let fake = fake_get(move |_, q| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::raw(429, "text/plain", "Too Many Requests"),
        1 => Reply::json(
            json!({"status": "0", "message": "NOTOK", "result": "Max calls per sec rate limit reached (5/sec)"}),
        ),
        _ => Reply::json(serve(
            match q.get("action").map(String::as_str) {
                Some("txlist") => &records.0,
                Some("txlistinternal") => &records.1,
                Some("tokentx") => &records.2,
                _ => &records.3,
            },
            q,
        )),
    })
    .await;
    let started = Instant::now();
    let page = source(&fake.url(), 100).transactions(ME, None).await.expect("page after two rate limits");
    assert_eq!(page.transactions.len(), 9);
    assert_eq!(calls.load(Ordering::SeqCst), 6, "2 refused + txlist + txlistinternal + tokentx + tokennfttx");
    assert!(started.elapsed() >= Duration::from_millis(60), "20 ms then 40 ms of backoff: {:?}", started.elapsed());

    let always =
        fake_get(|_, _| Reply::json(json!({"status": "0", "message": "NOTOK", "result": "Max rate limit reached"})))
            .await;
    let result = source(&always.url(), 100).transactions(ME, None).await;
    assert!(matches!(&result, Err(ChainError::Transport(m)) if m.contains("rate limit")), "{result:?}");
    assert_eq!(always.hits(), 3, "one try and two retries");
}

#[tokio::test]
async fn refusals_and_garbage_are_errors() {
    let key =
        fake_get(|_, _| Reply::json(json!({"status": "0", "message": "NOTOK", "result": "Invalid API Key (#err2)|x"})))
            .await;
    assert_eq!(
        source(&key.url(), 100).transactions(ME, None).await,
        Err(ChainError::Rpc { code: 0, message: "NOTOK: Invalid API Key (#err2)|x".to_owned() })
    );
    let html = fake_get(|_, _| Reply::raw(200, "text/html", "<html>maintenance</html>")).await;
    assert!(matches!(source(&html.url(), 100).transactions(ME, None).await, Err(ChainError::Malformed(_))));
    let down = fake_get(|_, _| Reply::raw(503, "text/html", "down")).await;
    assert!(matches!(source(&down.url(), 100).transactions(ME, None).await, Err(ChainError::Transport(_))));
    let bad_value = fake_get(|_, q| {
        let mut record = normal(1, 0, &h(1), OTHER, ME, "1.5", "21000", "1", "0", "0x");
        if q.get("action").map(String::as_str) == Some("tokentx") {
            record = json!([]);
        }
        Reply::json(
            json!({"status": "1", "message": "OK", "result": if record.is_array() { record } else { json!([record]) }}),
        )
    })
    .await;
    assert!(matches!(source(&bad_value.url(), 100).transactions(ME, None).await, Err(ChainError::Malformed(_))));

    let fake =
        fake_get(|_, _| Reply::json(json!({"status": "0", "message": "No transactions found", "result": []}))).await;
    let s = source(&fake.url(), 100);
    assert_eq!(s.transactions("not-an-address", None).await, Err(ChainError::UnsupportedAddress));
    assert!(matches!(s.transactions(ME, Some("sig:x")).await, Err(ChainError::Malformed(_))));
    assert_eq!(fake.hits(), 0, "refused before any request");
    assert!(matches!(
        ExplorerHistory::new(Chain::Solana, &fake.url(), None, ExplorerOptions::default(), Duration::from_secs(1)),
        Err(ChainError::Config(_))
    ));
}
