//! The production history path, end to end, on SQLite and PostgreSQL: an integration on a
//! chain with an Etherscan-compatible explorer (`chains.explorer_urls`) and CoinGecko
//! historical prices (`prices.history_source = "coingecko"`). One local fake (axum on
//! 127.0.0.1:0) answers the three documented APIs: JSON-RPC balances, the explorer's
//! `module=account` actions, and `/coins/{id}/market_chart/range`.

use crate::data_api::{connect_guest, data_get, production_client, spawn_with, wait_until_settled, wallet};
use crate::helpers::*;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const ME: &str = "0x9d3a1f6c4e2b7a8d5c0e1f2a3b4c5d6e7f8a9b0c";
const OTHER: &str = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
/// 2024-06-01 12:00 UTC, then a day apart.
const T0: u64 = 1_717_243_200;

fn hash(n: u8) -> String {
    format!("0x{n:064x}")
}

/// Requests the fake saw: (path, query).
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

async fn explorer(State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    seen.lock().expect("seen").push(("/api".to_owned(), q.clone()));
    let normal = |n: u8, day: u64, from: &str, to: &str, value: &str| {
        json!({"blockNumber": (100 + day).to_string(), "timeStamp": (T0 + day * 86_400).to_string(), "hash": hash(n),
               "nonce": "1", "blockHash": hash(200), "transactionIndex": "0", "from": from, "to": to, "value": value,
               "gas": "21000", "gasPrice": "20000000000", "isError": "0", "txreceipt_status": "1", "input": "0x",
               "contractAddress": "", "cumulativeGasUsed": "21000", "gasUsed": "21000", "confirmations": "99",
               "methodId": "0x", "functionName": ""})
    };
    let records = match q.get("action").map(String::as_str) {
        Some("txlist") => {
            vec![normal(1, 0, OTHER, ME, "1500000000000000000"), normal(3, 2, ME, OTHER, "500000000000000000")]
        }
        Some("tokentx") => vec![json!({
            "blockNumber": "101", "timeStamp": (T0 + 86_400).to_string(), "hash": hash(2), "nonce": "4",
            "blockHash": hash(201), "from": OTHER, "contractAddress": USDC, "to": ME, "value": "2500000000",
            "tokenName": "USD Coin", "tokenSymbol": "USDC", "tokenDecimal": "6", "transactionIndex": "5",
            "gas": "60000", "gasPrice": "20000000000", "gasUsed": "50000", "cumulativeGasUsed": "90000",
            "input": "deprecated", "confirmations": "98"})],
        _ => vec![],
    };
    let start: u64 = q.get("startblock").and_then(|s| s.parse().ok()).unwrap_or(0);
    let records: Vec<Value> = records
        .into_iter()
        .filter(|r| r["blockNumber"].as_str().and_then(|b| b.parse::<u64>().ok()).unwrap_or(0) >= start)
        .collect();
    Json(if records.is_empty() {
        json!({"status": "0", "message": "No transactions found", "result": []})
    } else {
        json!({"status": "1", "message": "OK", "result": records})
    })
}

async fn chart(
    State(seen): State<Seen>,
    Path(coin): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> (axum::http::StatusCode, String) {
    seen.lock().expect("seen").push((format!("/coins/{coin}"), q.clone()));
    let price = match coin.as_str() {
        "ethereum" => "3456.789",
        "usd-coin" => "1.0001",
        _ => return (axum::http::StatusCode::NOT_FOUND, r#"{"error":"coin not found"}"#.to_owned()),
    };
    let from: u64 = q.get("from").and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: u64 = q.get("to").and_then(|s| s.parse().ok()).unwrap_or(0);
    let points: Vec<String> = (from / 86_400..=to / 86_400).map(|d| format!("[{},{price}]", d * 86_400_000)).collect();
    (axum::http::StatusCode::OK, format!(r#"{{"prices":[{}],"market_caps":[],"total_volumes":[]}}"#, points.join(",")))
}

/// JSON-RPC balances: 0.99958 ETH and 2 500 USDC (`balanceOf`), 0 for other tokens.
async fn node(Json(body): Json<Value>) -> Json<Value> {
    let replies: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![body.clone()])
        .iter()
        .map(|r| {
            let result = match r["method"].as_str() {
                Some("eth_getBalance") => json!("0xddf38b6c895c000"),
                Some("eth_call") if r["params"][0]["to"] == json!(USDC) => {
                    json!(format!("0x{:064x}", 2_500_000_000u64))
                }
                _ => json!(format!("0x{:064x}", 0)),
            };
            json!({"jsonrpc": "2.0", "id": r["id"], "result": result})
        })
        .collect();
    Json(if body.is_array() { Value::Array(replies) } else { replies[0].clone() })
}

/// Starts the fake; its explorer answers `502 Bad Gateway` to its first `outage` requests.
/// Returns its base URL.
async fn start_fake(seen: &Seen, outage: u32) -> String {
    let outage = Arc::new(AtomicU32::new(outage));
    let flaky = move |state: State<Seen>, query: Query<HashMap<String, String>>| {
        let outage = outage.clone();
        async move {
            let down = outage.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            if down {
                return (axum::http::StatusCode::BAD_GATEWAY, "upstream unavailable").into_response();
            }
            explorer(state, query).await.into_response()
        }
    };
    let app = Router::new()
        .route("/api", get(flaky))
        .route("/coins/{coin}/market_chart/range", get(chart))
        .route("/rpc", post(node))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// The server, reading Ethereum through the fake at `base`.
async fn app_on(db: Db, base: String) -> TestApp {
    spawn_with(db, move |s| {
        s.chains.rpc_urls.insert("ethereum".to_owned(), format!("{base}/rpc"));
        s.chains.explorer_urls.insert("ethereum".to_owned(), format!("{base}/api?chainid=1"));
        s.chains.explorer_api_keys.insert("ethereum".to_owned(), "EXPLORER-KEY".to_owned().into());
        s.prices.history_source = "coingecko".to_owned();
        s.prices.base_url = base;
    })
    .await
}

async fn explorer_history_is_ingested_and_priced_from_coingecko(db: Db) {
    let seen: Seen = Arc::default();
    let app = app_on(db, start_fake(&seen, 0).await).await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", ME)]).await;
    let settled = wait_until_settled(&app, &c).await;
    assert_eq!(settled[0]["status"], json!("COMPLETED"), "{}", settled[0]);
    assert_eq!(settled[0]["totalTransactions"], json!(3), "{}", settled[0]);

    let page = data_get(&app, "/api/v1/transactions?order=asc", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let data = page.body["data"].as_array().unwrap_or_else(|| panic!("data: {}", page.text));
    let ids: Vec<&str> = data.iter().filter_map(|t| t["transactionPlatfromId"].as_str()).collect();
    assert_eq!(ids, vec![hash(1), hash(2), hash(3)], "{}", page.text);
    let leg = |t: usize, side: &str| data[t][side][0].clone();
    assert_eq!(
        (leg(0, "incomingAssets")["quantity"].clone(), leg(0, "incomingAssets")["price"].clone()),
        (json!(1.5), json!(3456.789))
    );
    let usdc = leg(1, "incomingAssets");
    assert_eq!(
        (&usdc["asset"]["tokenId"], &usdc["quantity"], &usdc["price"]),
        (&json!(format!("ethereum:{USDC}")), &json!(2500), &json!(1.0001))
    );
    assert_eq!(
        (leg(2, "outgoingAssets")["quantity"].clone(), leg(2, "fee")["quantity"].clone()),
        (json!(0.5), json!(0.00042))
    );
    assert_eq!(leg(2, "fee")["price"], json!(3456.789));
    for t in data {
        assert_eq!(t["metadata"]["isMissingPrice"], json!(false), "{t}");
        assert_eq!(t["rawTrx"]["source"], json!("explorer"), "{t}");
    }

    let seen = seen.lock().expect("seen").clone();
    let explorer_calls: Vec<&HashMap<String, String>> =
        seen.iter().filter(|(p, _)| p == "/api").map(|(_, q)| q).collect();
    assert!(explorer_calls.iter().all(|q| q.get("apikey").map(String::as_str) == Some("EXPLORER-KEY")
        && q.get("chainid").map(String::as_str) == Some("1")));
    let coins: Vec<&str> = seen.iter().filter(|(p, _)| p.starts_with("/coins/")).map(|(p, _)| p.as_str()).collect();
    assert_eq!(coins.iter().filter(|p| **p == "/coins/ethereum").count(), 1, "one window for every ETH day: {coins:?}");
    assert_eq!(coins.iter().filter(|p| **p == "/coins/usd-coin").count(), 1, "{coins:?}");
    app.stop().await;
}

#[tokio::test]
async fn explorer_history_is_ingested_and_priced_from_coingecko_on_sqlite() {
    explorer_history_is_ingested_and_priced_from_coingecko(Db::Sqlite).await;
}

#[tokio::test]
async fn explorer_history_is_ingested_and_priced_from_coingecko_on_postgres() {
    explorer_history_is_ingested_and_priced_from_coingecko(Db::Postgres).await;
}

/// The explorer is down when the sync reads the history: the balances (from the node) land,
/// the history stage says when it is tried again (after the sync's 5 s backoff), and at that
/// time, not before, the history is read and its transactions land.
async fn an_explorer_outage_lands_the_balances_and_retries_the_history(db: Db) {
    let seen: Seen = Arc::default();
    let app = app_on(db, start_fake(&seen, 1).await).await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", ME)]).await;
    let explorer_calls = || seen.lock().expect("seen").iter().filter(|(p, _)| p == "/api").count();

    let first = wait_until_settled(&app, &c).await;
    let i = &first[0];
    assert_eq!(i["status"], json!("COMPLETED"), "the balances landed: {i}");
    assert_eq!(i["lastSyncLog"]["Transactions"], json!("FAILED"), "{i}");
    let stage = &i["lastSyncLogDetails"]["Transactions"];
    assert_eq!(
        stage["message"],
        json!("The transaction history could not be read right now; the sync will try again shortly."),
        "{i}"
    );
    assert!(stage["cause"].as_str().unwrap_or_default().contains("502"), "the technical cause is kept: {i}");
    assert!(stage["retryAt"].is_string(), "{i}");
    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(h.body["holdings"].as_array().map(Vec::len), Some(2), "ETH and USDC: {}", h.text);
    assert_eq!(explorer_calls(), 0, "the failed call is not an answer");

    app.clock.advance(time::Duration::seconds(4));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(explorer_calls(), 0, "no retry before the 5 s backoff");
    app.clock.advance(time::Duration::seconds(1));
    let done = crate::data_api::wait_for_history(&app, &c).await;
    assert_eq!(done["totalTransactions"], json!(3), "{done}");
    assert!(explorer_calls() > 0);
    app.stop().await;
}

#[tokio::test]
async fn an_explorer_outage_lands_the_balances_and_retries_the_history_on_sqlite() {
    an_explorer_outage_lands_the_balances_and_retries_the_history(Db::Sqlite).await;
}

#[tokio::test]
async fn an_explorer_outage_lands_the_balances_and_retries_the_history_on_postgres() {
    an_explorer_outage_lands_the_balances_and_retries_the_history(Db::Postgres).await;
}
