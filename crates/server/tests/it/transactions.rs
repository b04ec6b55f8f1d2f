//! `GET /api/v1/transactions` and the ledger behind it, over HTTP, on SQLite and PostgreSQL:
//! the sandbox history field by field with its hand-checkable cost basis, every query
//! parameter and refusal, resyncs that add no duplicate, and the scope.

use crate::data_api::{connect_guest, data_get, spawn_with, wait_until_settled, wallet, SANDBOX_ETH, SANDBOX_SOL};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const USDC_ID: &str = "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
/// The fee-paying send of the sandbox history (2024-07-01 10:00 UTC).
const SEND_HASH: &str = "0x5a1d0c3f1b7e4e2f9a6c8d0b2e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f04";
const JUL_1_2024_10H_MS: i64 = 1_719_828_000_000;
const MAR_10_2024_10H_MS: i64 = 1_710_064_800_000;

fn platform_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a data array: {page}"))
        .iter()
        .map(|t| t["transactionPlatfromId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn sandbox_history_is_served_with_its_cost_basis(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("solana", SANDBOX_SOL)]).await;
    let settled = wait_until_settled(&app, &c).await;
    let (eth, sol) = (&c.wallet_ids[0], &c.wallet_ids[1]);
    for i in &settled {
        assert_eq!(i["status"], json!("COMPLETED"), "{i}");
        let total = if &i["walletId"] == eth { 4 } else { 2 };
        assert_eq!(i["totalTransactions"], json!(total), "totalTransactions is real: {i}");
        for stage in ["Balances", "Transactions", "TransferDetection", "CostBasis"] {
            assert_eq!(i["lastSyncLog"][stage], json!("COMPLETED"), "{stage}: {i}");
        }
        assert_eq!(i["lastSyncLogDetails"]["Transactions"]["count"], json!(total), "{i}");
    }
    let get = |q: &str| {
        let (app, c, q) = (&app, &c, q.to_owned());
        async move { data_get(app, &format!("/api/v1/transactions{q}"), Some(&c.access_token), Some(&c.creds)).await }
    };

    // Everything, oldest first.
    let all = get("?order=asc").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["message"], json!("User transactions retrieved successfully"));
    assert_eq!(all.body["user_id"], json!(c.user_id));
    assert!(all.body["timestamp"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(
        all.body["pagination"],
        json!({"limit": 100, "offset": 0, "returned_count": 6, "totalCount": 6, "hasNextPage": false, "hasPreviousPage": false})
    );
    let labels: Vec<&str> =
        all.body["data"].as_array().into_iter().flatten().filter_map(|t| t["label"].as_str()).collect();
    assert_eq!(labels, ["Deposit", "Deposit", "Deposit", "Airdrops", "Deposit", "Withdrawal"], "{}", all.text);

    // The fee-paying send, field by field (FIFO: 0.5 ETH of the 2 000 lot → cost 1 000,
    // proceeds 0.5 × 3 000 = 1 500, realized 500).
    let send = all.body["data"][5].clone();
    let mut keys: Vec<&str> = send.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "description",
            "fee",
            "id",
            "incomingAssets",
            "label",
            "ledger",
            "metadata",
            "outgoingAssets",
            "rawTrx",
            "tags",
            "timestamp",
            "totalCostbasis",
            "totalGains",
            "transactionPlatfromId"
        ]
    );
    assert!(send["id"].as_str().is_some_and(|i| i.starts_with("trx_")), "{send}");
    assert_eq!(send["transactionPlatfromId"], json!(SEND_HASH));
    assert_eq!(send["timestamp"], json!(JUL_1_2024_10H_MS));
    assert_eq!(send["incomingAssets"], json!([]));
    let out = &send["outgoingAssets"][0];
    assert_eq!(out["asset"]["tokenId"], json!("ethereum"));
    assert_eq!(out["asset"]["symbol"], json!("ETH"));
    assert_eq!(out["asset"]["type"], json!("crypto"));
    assert_eq!((&out["quantity"], &out["price"], &out["baseCurrency"]), (&json!(0.49), &json!(3000), &json!("USD")));
    assert_eq!(out["type"], json!("outgoing"));
    assert_eq!(out["timestamp"], json!(JUL_1_2024_10H_MS));
    assert_eq!(out["fromAccount"], json!({"provider": "ethereum", "walletId": eth, "publicAddress": SANDBOX_ETH}));
    let fee = &send["fee"][0];
    assert_eq!((&fee["quantity"], &fee["price"], &fee["type"]), (&json!(0.01), &json!(3000), &json!("fee")));
    assert_eq!((&send["totalCostbasis"], &send["totalGains"]), (&json!(1000), &json!(500)), "{send}");
    assert_eq!(
        send["ledger"],
        json!([
            {"type": "outgoing", "tokenId": "ethereum", "quantity": 0.49, "costbasis": 980, "gain": 490},
            {"type": "fee", "tokenId": "ethereum", "quantity": 0.01, "costbasis": 20, "gain": 10}
        ])
    );
    assert_eq!(
        send["metadata"],
        json!({"importSource": "API", "isManual": false, "isEdited": false, "isDefiTrx": false, "isNFTTrx": false,
               "isMissingPrice": false, "isMissingPurchase": false})
    );
    assert_eq!(send["tags"], json!([]));
    assert_eq!(send["rawTrx"]["hash"], json!(SEND_HASH));
    assert!(all.text.contains(r#""quantity":0.49"#), "exact JSON numbers: {}", all.text);
    let airdrop = &all.body["data"][3];
    assert_eq!(airdrop["incomingAssets"][0]["toAccount"]["walletId"], json!(sol), "{airdrop}");
    assert_eq!(airdrop["totalCostbasis"], json!(250), "2.5 SOL @ 100: {airdrop}");

    // Newest first by default.
    let newest = get("").await;
    assert_eq!(platform_ids(&newest.body)[0], SEND_HASH, "{}", newest.text);

    // Every filter.
    let count = |a: &crate::data_api::DataAnswer| a.body["pagination"]["totalCount"].clone();
    let cases: Vec<(String, i64)> = vec![
        (format!("?walletId={eth}"), 4),
        (format!("?walletId={sol}"), 2),
        (format!("?walletId={eth},{sol}"), 6),
        ("?walletId=wal_nobody".to_owned(), 0),
        (format!("?currencyId={USDC_ID}"), 1),
        (format!("?currencyId=solana,{USDC_ID}"), 3),
        (format!("?trxId={SEND_HASH}"), 1),
        (format!("?trxId={}", send["id"].as_str().unwrap_or_default()), 1),
        ("?label=Airdrops".to_owned(), 1),
        ("?label=Deposit,Withdrawal".to_owned(), 5),
        ("?transactionType=withdraw".to_owned(), 1),
        ("?transactionType=deposit".to_owned(), 5),
        ("?transactionType=swap".to_owned(), 0),
        (format!("?timeStart={MAR_10_2024_10H_MS}"), 4),
        (format!("?timeEnd={MAR_10_2024_10H_MS}"), 3),
        (format!("?timeStart={MAR_10_2024_10H_MS}&timeEnd={JUL_1_2024_10H_MS}"), 4),
        ("?isNft=true".to_owned(), 0),
        ("?isNft=false".to_owned(), 6),
        ("?isMissingPrice=true".to_owned(), 0),
        ("?isMissingPurchase=false".to_owned(), 6),
        ("?isEdited=true".to_owned(), 0),
        ("?isManual=false".to_owned(), 6),
    ];
    for (q, n) in cases {
        let a = data_get(&app, &format!("/api/v1/transactions{q}"), Some(&c.access_token), Some(&c.creds)).await;
        assert_eq!(a.status, 200, "{q}: {}", a.text);
        assert_eq!(count(&a), json!(n), "{q}: {}", a.text);
        assert_eq!(a.body["data"].as_array().map(Vec::len), Some(n as usize), "{q}");
    }

    // Pages.
    let page = get("?order=asc&limit=2&offset=2").await;
    assert_eq!(
        page.body["pagination"],
        json!({"limit": 2, "offset": 2, "returned_count": 2, "totalCount": 6, "hasNextPage": true, "hasPreviousPage": true,
               "nextCursor": page.body["pagination"]["nextCursor"].as_str().filter(|k| k.contains(".trx_"))})
    );
    assert_eq!(platform_ids(&page.body), platform_ids(&all.body)[2..4].to_vec());
    // Newest first (the default), and one wallet's own pages: the same slices of the list.
    let newest: Vec<_> = platform_ids(&all.body).into_iter().rev().collect();
    assert_eq!(platform_ids(&get("?limit=2&offset=3").await.body), newest[3..5].to_vec());
    let wallet = all.body["data"][0]["incomingAssets"][0]["toAccount"]["walletId"]
        .as_str()
        .or_else(|| all.body["data"][0]["outgoingAssets"][0]["fromAccount"]["walletId"].as_str())
        .unwrap_or_default()
        .to_owned();
    let own = get(&format!("?walletId={wallet}&order=asc")).await;
    let own_ids = platform_ids(&own.body);
    assert!(own_ids.len() >= 2 && own_ids.len() < 6, "one wallet's part of the list: {}", own.text);
    let second = get(&format!("?walletId={wallet}&order=asc&limit=1&offset=1")).await;
    assert_eq!(platform_ids(&second.body), own_ids[1..2].to_vec(), "{}", second.text);
    assert_eq!(second.body["pagination"]["totalCount"], json!(own_ids.len()), "{}", second.text);
    let last = get("?order=asc&limit=4&offset=4").await;
    assert_eq!(last.body["pagination"]["hasNextPage"], json!(false), "{}", last.text);
    assert_eq!(last.body["pagination"]["returned_count"], json!(2), "{}", last.text);

    // Refusals: 400 invalid_parameters naming each bad parameter.
    for (q, named) in [
        ("?limit=0", vec!["limit"]),
        ("?limit=1001", vec!["limit"]),
        ("?limit=ten", vec!["limit"]),
        ("?offset=-1", vec!["offset"]),
        ("?order=sideways", vec!["order"]),
        ("?isNft=maybe", vec!["isNft"]),
        ("?transactionType=mint", vec!["transactionType"]),
        ("?label=Nope", vec!["label"]),
        ("?timeStart=yesterday&timeEnd=1.5", vec!["timeEnd", "timeStart"]),
        ("?timeStart=10&timeEnd=5", vec!["timeStart"]),
        ("?limit=abc&offset=x&isManual=2&isEdited=y", vec!["isEdited", "isManual", "limit", "offset"]),
        ("?walletId=a&walletId=b", vec!["walletId"]),
    ] {
        let a = get(q).await;
        assert_eq!((a.status, &a.body["error"]), (400, &json!("invalid_parameters")), "{q}: {}", a.text);
        let mut paths: Vec<&str> =
            a.body["details"].as_array().into_iter().flatten().filter_map(|d| d["path"][0].as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, named, "{q}: {}", a.text);
    }
    let typed = get("?limit=abc").await;
    assert_eq!(
        typed.body["details"][0],
        json!({"code": "invalid_type", "expected": "number", "received": "string", "path": ["limit"],
               "message": "Expected an integer, received \"abc\""})
    );

    // Resyncs add nothing: the same transactions, same ids, also after a from_start rebuild.
    for mode in ["latest", "from_start"] {
        let before = settled_at(&app, &c).await;
        app.clock.advance(time::Duration::minutes(1));
        let r = app
            .post(&format!("/developer/integrations/{eth}/resync"), &creds, json!({"user_id": c.user_id, "mode": mode}))
            .await;
        assert_eq!(r.status.as_u16(), 202, "{mode}: {}", r.body);
        wait_for_new_sync(&app, &c, before).await;
        let again = get("?order=asc").await;
        assert_eq!(again.body["pagination"]["totalCount"], json!(6), "{mode}: {}", again.text);
        let ids = |v: &Value| v["data"].as_array().into_iter().flatten().map(|t| t["id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(&again.body), ids(&all.body), "{mode}: stable ids");
        assert_eq!(again.body["data"][5]["totalGains"], json!(500), "{mode}: {}", again.text);
    }
    app.stop().await;
}

/// A guest's grant with a transaction limit caps the import: a `from_start` resync of the
/// ETH wallet (4 transactions) with the SOL wallet's 2 already in and a limit of 3 imports 1;
/// the wallet is `PARTIALLY SYNCED` with the reference's message and `limitExceeded`. Raised,
/// the next sync imports the rest from where the history stopped.
async fn a_guest_limit_caps_the_import(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("solana", SANDBOX_SOL)]).await;
    wait_until_settled(&app, &c).await;
    let eth = c.wallet_ids[0].clone();
    let limit = |body: Value| {
        let (app, creds, grant) = (&app, &creds, c.grant_id.clone());
        async move {
            let path = format!("/developer/grants/{grant}/transaction-limit");
            let a = app.send(Method::PATCH, &path, Some(creds), None, Some(body)).await;
            assert_eq!(a.status.as_u16(), 200, "{}", a.body);
        }
    };
    let resync = |mode: &'static str| {
        let (app, creds, c, eth) = (&app, &creds, &c, eth.clone());
        async move {
            let before = settled_at(app, c).await;
            app.clock.advance(time::Duration::minutes(1));
            let body = json!({"user_id": c.user_id, "mode": mode});
            let r = app.post(&format!("/developer/integrations/{eth}/resync"), creds, body).await;
            assert_eq!(r.status.as_u16(), 202, "{mode}: {}", r.body);
            wait_for_new_sync(app, c, before).await;
            let all = wait_until_settled(app, c).await;
            all.into_iter().find(|i| i["walletId"] == json!(eth)).unwrap_or_default()
        }
    };
    let total = || async {
        let a = data_get(&app, "/api/v1/transactions", Some(&c.access_token), Some(&c.creds)).await;
        a.body["pagination"]["totalCount"].clone()
    };

    limit(json!({"transactionLimit": 3, "enableLimiter": true})).await;
    let i = resync("from_start").await;
    let message = "Unable to fetch transactions for ethereum due to transaction limit reached, kindly update your plan";
    assert_eq!(
        (&i["status"], &i["message"], &i["limitExceeded"], &i["totalTransactions"]),
        (&json!("PARTIALLY SYNCED"), &json!(message), &json!(true), &json!(1)),
        "{i}"
    );
    assert_eq!(i["lastSyncLog"]["Transactions"], json!("FAILED"), "{i}");
    assert_eq!(
        (
            &i["lastSyncLogDetails"]["Transactions"]["limitExceeded"],
            &i["lastSyncLogDetails"]["Transactions"]["message"]
        ),
        (&json!(true), &json!(message)),
        "{i}"
    );
    assert_eq!(i["lastSyncLog"]["Balances"], json!("COMPLETED"), "the balances still land: {i}");
    assert_eq!(total().await, json!(3), "the workspace holds its limit");
    let again = resync("latest").await;
    assert_eq!(
        (&again["totalTransactions"], &again["limitExceeded"]),
        (&json!(1), &json!(true)),
        "still capped: {again}"
    );

    // The limiter off (the limit kept): the rest comes in, and the flag goes.
    limit(json!({"enableLimiter": false})).await;
    let i = resync("latest").await;
    assert_eq!((&i["status"], &i["totalTransactions"]), (&json!("COMPLETED"), &json!(4)), "{i}");
    assert!(i.get("limitExceeded").is_none() && i.get("message").is_none(), "never false, no message: {i}");
    assert_eq!(total().await, json!(6));
    app.stop().await;
}

#[tokio::test]
async fn a_guest_limit_caps_the_import_on_sqlite() {
    a_guest_limit_caps_the_import(Db::Sqlite).await;
}

#[tokio::test]
async fn a_guest_limit_caps_the_import_on_postgres() {
    a_guest_limit_caps_the_import(Db::Postgres).await;
}

/// The ETH wallet's `lastSyncedAt`.
async fn settled_at(app: &TestApp, c: &crate::data_api::Connected) -> Value {
    wait_until_settled(app, c)
        .await
        .iter()
        .find(|i| i["walletId"] == json!(c.wallet_ids[0]))
        .map(|i| i["lastSyncedAt"].clone())
        .unwrap_or_default()
}

async fn wait_for_new_sync(app: &TestApp, c: &crate::data_api::Connected, before: Value) {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let now = settled_at(app, c).await;
        if now != before {
            return;
        }
        assert!(Instant::now() < until, "the resync did not finish");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn sandbox_history_is_served_with_its_cost_basis_on_sqlite() {
    sandbox_history_is_served_with_its_cost_basis(Db::Sqlite).await;
}

#[tokio::test]
async fn sandbox_history_is_served_with_its_cost_basis_on_postgres() {
    sandbox_history_is_served_with_its_cost_basis(Db::Postgres).await;
}

async fn transactions_need_their_scope_and_credentials(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(
        &app,
        &creds,
        Some("openid users:read portfolios:read integrations:read"),
        &[wallet("ethereum", SANDBOX_ETH)],
    )
    .await;
    let a = data_get(&app, "/api/v1/transactions", Some(&c.access_token), Some(&creds)).await;
    assert_eq!((a.status, &a.body["error"]), (403, &json!("forbidden")), "{}", a.text);
    assert_eq!(a.body["message"], json!("Insufficient scopes. Required scopes not met"));
    let a = data_get(&app, "/api/v1/transactions", None, Some(&creds)).await;
    assert_eq!((a.status, &a.body["error"]), (401, &json!("unauthorized")), "{}", a.text);
    let a = data_get(&app, "/api/v1/transactions?limit=abc", Some(&c.access_token), None).await;
    assert_eq!(a.status, 401, "authentication is judged before the parameters: {}", a.text);
    app.stop().await;
}

#[tokio::test]
async fn transactions_need_their_scope_and_credentials_on_sqlite() {
    transactions_need_their_scope_and_credentials(Db::Sqlite).await;
}

#[tokio::test]
async fn transactions_need_their_scope_and_credentials_on_postgres() {
    transactions_need_their_scope_and_credentials(Db::Postgres).await;
}
