//! The ledger's order, cost basis methods, price retries and keyset pages, on the real server
//! over SQLite and PostgreSQL, from a fake Etherscan-compatible explorer and a fake CoinGecko.
//!
//! The history (1 ETH = 10^18 wei, no gas paid):
//!
//! | block | index | day | what | price |
//! |---|---|---|---|---|
//! | 100 | 0 | 0 | +1 ETH | 3 000 |
//! | 101 | 0 | 1 | +1 ETH | 1 000 |
//! | 102 | 3 | 2 | +1 ETH (same second as the sale) | 2 000 |
//! | 102 | 7 | 2 | −2.5 ETH (proceeds 5 000) | 2 000 |
//!
//! The buy and the sale of block 102 share their timestamp, and their ids (`trx_…`) are chosen
//! so that the sale's sorts first: only the chain position puts the buy first. By hand:
//!
//! | method | lots sold | cost | gain | left (cost) |
//! |---|---|---|---|---|
//! | FIFO | 1 @ 3 000, 1 @ 1 000, 0.5 @ 2 000 | 5 000 | 0 | 0.5 ETH (1 000) |
//! | LIFO | 1 @ 2 000, 1 @ 1 000, 0.5 @ 3 000 | 4 500 | 500 | 0.5 ETH (1 500) |
//! | HIFO | 1 @ 3 000, 1 @ 2 000, 0.5 @ 1 000 | 5 500 | −500 | 0.5 ETH (500) |
//!
//! Sold before its buy (the old order), FIFO would have found 2 ETH of lots: cost 4 000, gain
//! 1 000 and `isMissingPurchase`.

use crate::data_api::{connect_guest, data_get, production_client, spawn_with, wait_until_settled, wallet, Connected};
use crate::helpers::*;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ME: &str = "0x9d3a1f6c4e2b7a8d5c0e1f2a3b4c5d6e7f8a9b0c";
const OTHER: &str = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
/// 2024-06-01 12:00 UTC, then a day apart.
const T0: u64 = 1_717_243_200;

#[derive(Default)]
struct Fake {
    txlist: Mutex<Vec<Value>>,
    prices_ok: AtomicBool,
    price_failures: AtomicUsize,
}

fn hash(n: u32) -> String {
    format!("0x{n:064x}")
}

fn record(n: u32, block: u64, index: u64, day: u64, from: &str, to: &str, wei: &str) -> Value {
    json!({"blockNumber": block.to_string(), "timeStamp": (T0 + day * 86_400).to_string(), "hash": hash(n),
           "nonce": "1", "blockHash": hash(9_000), "transactionIndex": index.to_string(), "from": from, "to": to,
           "value": wei, "gas": "21000", "gasPrice": "0", "isError": "0", "txreceipt_status": "1", "input": "0x",
           "contractAddress": "", "cumulativeGasUsed": "21000", "gasUsed": "21000", "confirmations": "99",
           "methodId": "0x", "functionName": ""})
}

async fn explorer(State(fake): State<Arc<Fake>>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let start: u64 = q.get("startblock").and_then(|s| s.parse().ok()).unwrap_or(0);
    let records: Vec<Value> = match q.get("action").map(String::as_str) {
        Some("txlist") => fake
            .txlist
            .lock()
            .expect("txlist")
            .iter()
            .filter(|r| r["blockNumber"].as_str().and_then(|b| b.parse::<u64>().ok()).unwrap_or(0) >= start)
            .cloned()
            .collect(),
        _ => vec![],
    };
    Json(if records.is_empty() {
        json!({"status": "0", "message": "No transactions found", "result": []})
    } else {
        json!({"status": "1", "message": "OK", "result": records})
    })
}

/// ETH: 3 000, 1 000, 2 000 on days 0, 1, 2; a 503 while prices are switched off.
async fn chart(
    State(fake): State<Arc<Fake>>,
    Path(coin): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> (axum::http::StatusCode, String) {
    if !fake.prices_ok.load(Ordering::SeqCst) {
        fake.price_failures.fetch_add(1, Ordering::SeqCst);
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "{}".to_owned());
    }
    if coin != "ethereum" {
        return (axum::http::StatusCode::NOT_FOUND, r#"{"error":"coin not found"}"#.to_owned());
    }
    let from: u64 = q.get("from").and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: u64 = q.get("to").and_then(|s| s.parse().ok()).unwrap_or(0);
    let points: Vec<String> = (from / 86_400..=to / 86_400)
        .map(|d| {
            let price = match d.saturating_sub(T0 / 86_400) {
                0 => 3000,
                1 => 1000,
                _ => 2000,
            };
            format!("[{},{price}]", d * 86_400_000)
        })
        .collect();
    (axum::http::StatusCode::OK, format!(r#"{{"prices":[{}],"market_caps":[],"total_volumes":[]}}"#, points.join(",")))
}

/// Balances: 0.5 ETH, no tokens.
async fn node(Json(body): Json<Value>) -> Json<Value> {
    let replies: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![body.clone()])
        .iter()
        .map(|r| {
            let result = match r["method"].as_str() {
                Some("eth_getBalance") => json!("0x6f05b59d3b20000"),
                _ => json!(format!("0x{:064x}", 0)),
            };
            json!({"jsonrpc": "2.0", "id": r["id"], "result": result})
        })
        .collect();
    Json(if body.is_array() { Value::Array(replies) } else { replies[0].clone() })
}

async fn last_synced(app: &TestApp, c: &Connected) -> Value {
    wait_until_settled(app, c).await[0]["lastSyncedAt"].clone()
}

async fn resync(app: &TestApp, creds: &Creds, c: &Connected) {
    let before = last_synced(app, c).await;
    app.clock.advance(time::Duration::minutes(1));
    let r = app
        .post(
            &format!("/developer/integrations/{}/resync", c.wallet_ids[0]),
            creds,
            json!({"user_id": c.user_id, "mode": "latest"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let until = Instant::now() + Duration::from_secs(20);
    while last_synced(app, c).await == before {
        assert!(Instant::now() < until, "the resync did not finish");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn put_method(app: &TestApp, c: &Connected, body: Value) -> (u16, Value) {
    let res = app
        .http
        .put(format!("{}/api/v1/settings/cost-basis", app.base))
        .bearer_auth(&c.access_token)
        .header("X-Client-Id", &c.creds.id)
        .header("X-Client-Secret", &c.creds.secret)
        .json(&body)
        .send()
        .await
        .expect("PUT reaches the server");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn ledger_order_methods_and_repricing(db: Db) {
    let fake = Arc::new(Fake::default());
    let router = Router::new()
        .route("/api", get(explorer))
        .route("/coins/{coin}/market_chart/range", get(chart))
        .route("/rpc", post(node))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let b = base.clone();
    let app = spawn_with(db, move |s| {
        s.chains.rpc_urls.insert("ethereum".to_owned(), format!("{b}/rpc"));
        s.chains.explorer_urls.insert("ethereum".to_owned(), format!("{b}/api?chainid=1"));
        s.prices.history_source = "coingecko".to_owned();
        s.prices.base_url = b;
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", ME)]).await;
    let settled = wait_until_settled(&app, &c).await;
    assert_eq!(settled[0]["status"], json!("COMPLETED"), "{}", settled[0]);
    let wallet_id = &c.wallet_ids[0];

    // A buy and a sale in the same second whose ids sort the wrong way round.
    let id = |n: u32| kc_service::ledger::transaction_id(wallet_id, &hash(n));
    let (buy, sale) = (10..200)
        .flat_map(|b| (200..400).map(move |s| (b, s)))
        .find(|&(b, s)| id(s) < id(b))
        .expect("a pair of hashes whose ids sort sale first");
    let eth = |n: u64| format!("{n}000000000000000000");
    *fake.txlist.lock().expect("txlist") = vec![
        record(1, 100, 0, 0, OTHER, ME, &eth(1)),
        record(2, 101, 0, 1, OTHER, ME, &eth(1)),
        record(buy, 102, 3, 2, OTHER, ME, &eth(1)),
        record(sale, 102, 7, 2, ME, OTHER, "2500000000000000000"),
    ];
    let get = |q: String| {
        let (app, c) = (&app, &c);
        async move { data_get(app, &format!("/api/v1/transactions{q}"), Some(&c.access_token), Some(&c.creds)).await }
    };

    // 1. Prices unavailable: every leg is flagged.
    resync(&app, &creds, &c).await;
    assert!(fake.price_failures.load(Ordering::SeqCst) > 0, "the price source was asked and failed");
    let missing = get("?isMissingPrice=true".to_owned()).await;
    assert_eq!(missing.body["pagination"]["totalCount"], json!(4), "{}", missing.text);
    // The reference's `price` is a number: an unknown one is 0, the transaction flagged.
    for t in missing.body["data"].as_array().into_iter().flatten() {
        assert_eq!(t["metadata"]["isMissingPrice"], json!(true), "{t}");
        for side in ["incomingAssets", "outgoingAssets", "fee"] {
            for leg in t[side].as_array().into_iter().flatten() {
                assert_eq!(leg["price"], json!(0), "{side}: {t}");
            }
        }
    }
    // Lots bought without a price have no known cost: no PnL is shown for them (not a gain of
    // their whole value), as for an asset without lots.
    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    let eth = crate::data_api::holding_of(&h.body, "ETH");
    assert!(eth["marketValue"].as_f64().unwrap_or_default() > 0.0, "{eth}");
    assert_eq!((&eth["costbasis"], &eth["unrealizedPnL"], &eth["roi"]), (&json!(0), &json!(0), &json!(0)), "{eth}");
    assert_eq!(h.body["summary"]["totalUnrealizedPnL"], json!(0), "{}", h.text);
    let all = get("?order=asc".to_owned()).await;
    let platform: Vec<String> = all.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["transactionPlatfromId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(platform, [hash(1), hash(2), hash(buy), hash(sale)], "chain order, not id order: {}", all.text);
    let desc = get(String::new()).await;
    assert_eq!(desc.body["data"][0]["transactionPlatfromId"], json!(hash(sale)), "{}", desc.text);
    assert_eq!(
        desc.body["data"][0]["metadata"]["isMissingPurchase"],
        json!(true),
        "the sale's gain counts the unpriced buy's cost as 0: flagged; {}",
        desc.text
    );
    assert_eq!(desc.body["data"][1]["transactionPlatfromId"], json!(hash(buy)), "{}", desc.text);

    // 2. Prices back: the next sync prices the flagged legs again and recomputes (FIFO).
    fake.prices_ok.store(true, Ordering::SeqCst);
    resync(&app, &creds, &c).await;
    let missing = get("?isMissingPrice=true".to_owned()).await;
    assert_eq!(missing.body["pagination"]["totalCount"], json!(0), "{}", missing.text);
    let sale_tx = |a: &crate::data_api::DataAnswer| a.body["data"][0].clone();
    let check = |method: &str, cost: i64, gain: i64, left: i64| {
        let (app, c) = (&app, &c);
        let method = method.to_owned();
        async move {
            let page = data_get(app, "/api/v1/transactions?limit=1", Some(&c.access_token), Some(&c.creds)).await;
            let s = sale_tx(&page);
            assert_eq!(s["transactionPlatfromId"], json!(hash(sale)), "{method}: {s}");
            assert_eq!(
                (&s["totalCostbasis"], &s["totalGains"], &s["metadata"]["isMissingPurchase"]),
                (&json!(cost), &json!(gain), &json!(false)),
                "{method}: {s}"
            );
            assert_eq!(s["outgoingAssets"][0]["price"], json!(2000), "{method}: {s}");
            let h = data_get(app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
            let eth = crate::data_api::holding_of(&h.body, "ETH");
            assert_eq!(eth["costbasis"], json!(left), "{method}: lots left; {eth}");
        }
    };
    check("FIFO", 5000, 0, 1000).await;

    // 3. The method per workspace, set by the client backend.
    let now = data_get(&app, "/api/v1/settings/cost-basis", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!((&now.body["method"], &now.body["isDefault"]), (&json!("FIFO"), &json!(true)), "{}", now.text);
    let (status, body) = put_method(&app, &c, json!({"method": "lifo"})).await;
    assert_eq!((status, &body["method"], &body["isDefault"]), (200, &json!("LIFO"), &json!(false)), "{body}");
    check("LIFO", 4500, 500, 1500).await;
    let (status, body) = put_method(&app, &c, json!({"method": "HIFO"})).await;
    assert_eq!((status, &body["method"]), (200, &json!("HIFO")), "{body}");
    check("HIFO", 5500, -500, 500).await;
    let now = data_get(&app, "/api/v1/settings/cost-basis", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!((&now.body["method"], &now.body["isDefault"]), (&json!("HIFO"), &json!(false)), "{}", now.text);
    // A later sync keeps the workspace's method.
    resync(&app, &creds, &c).await;
    check("HIFO after a sync", 5500, -500, 500).await;
    let (status, body) = put_method(&app, &c, json!({"method": "AVG"})).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_parameters")), "{body}");
    assert_eq!(body["details"][0]["path"], json!(["method"]), "{body}");
    let (status, body) = put_method(&app, &c, json!({"method": "FIFO", "extra": 1})).await;
    assert_eq!(status, 400, "{body}");
    let res = app
        .http
        .put(format!("{}/api/v1/settings/cost-basis", app.base))
        .header("X-Client-Id", &c.creds.id)
        .header("X-Client-Secret", &c.creds.secret)
        .json(&json!({"method": "FIFO"}))
        .send()
        .await
        .expect("PUT reaches the server");
    assert_eq!(res.status().as_u16(), 401, "no access token");
    check("HIFO still", 5500, -500, 500).await;

    // 4. Keyset pages follow the same order, both ways, and agree with offset pages.
    for order in ["asc", "desc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(k) => format!("?order={order}&limit=1&cursor={k}"),
                None => format!("?order={order}&limit=1"),
            };
            let page = get(q).await;
            assert_eq!(page.status, 200, "{}", page.text);
            seen.extend(page.body["data"].as_array().into_iter().flatten().map(|t| t["id"].clone()));
            let p = &page.body["pagination"];
            assert_eq!(p["hasPreviousPage"], json!(cursor.is_some()), "{}", page.text);
            match p["nextCursor"].as_str() {
                Some(next) => {
                    assert_eq!(p["hasNextPage"], json!(true), "{}", page.text);
                    cursor = Some(next.to_owned());
                }
                None => {
                    assert_eq!(p["hasNextPage"], json!(false), "{}", page.text);
                    break;
                }
            }
            assert!(seen.len() <= 4, "keyset paging ends");
        }
        let whole = get(format!("?order={order}")).await;
        let expected: Vec<Value> =
            whole.body["data"].as_array().cloned().unwrap_or_default().iter().map(|t| t["id"].clone()).collect();
        assert_eq!((seen.len(), &seen), (4, &expected), "{order}");
    }
    let bad = get("?cursor=not-a-cursor".to_owned()).await;
    assert_eq!((bad.status, &bad.body["details"][0]["path"]), (400, &json!(["cursor"])), "{}", bad.text);
    app.stop().await;
}

#[tokio::test]
async fn ledger_order_methods_and_repricing_on_sqlite() {
    ledger_order_methods_and_repricing(Db::Sqlite).await;
}

#[tokio::test]
async fn ledger_order_methods_and_repricing_on_postgres() {
    ledger_order_methods_and_repricing(Db::Postgres).await;
}
