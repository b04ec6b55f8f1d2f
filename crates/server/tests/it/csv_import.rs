//! CSV import through the widget (issue 16) on the real server: a Binance export, a Coinbase
//! export and the generic template go into an exchange integration's ledger with
//! `importSource: CSV`; a file with a bad row is refused with the row's line and stores
//! nothing; a file over 10 MB is refused with 413; importing a file again adds nothing.

use crate::data_api::{data_get, production_client, spawn_with};
use crate::helpers::*;
use kc_chain::exchanges::fakes::{FakeAccount, FakeExchanges};
use reqwest::Method;
use serde_json::{json, Value};

const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

const BINANCE_CSV: &str = "User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n\
12345,2024-01-05 10:00:00,Spot,Deposit,USDT,1000,\n\
12345,2024-01-06 11:00:00,Spot,Buy,ETH,0.5,\n\
12345,2024-01-06 11:00:00,Spot,Buy,USDT,-1000,\n\
12345,2024-01-06 11:00:00,Spot,Fee,BNB,-0.001,\n";

const COINBASE_CSV: &str = "\"You can use this transaction report to inform your likely tax obligations.\"\n\
\n\
Transactions\n\
Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,Spot Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes\n\
2024-02-01T10:00:00Z,Buy,BTC,0.1,USD,40000,4000,4010,10,Bought 0.1 BTC\n\
2024-03-01 09:30:00 UTC,Send,BTC,0.05,USD,60000,3000,3000,0,Sent to bc1q…\n";

const GENERIC_CSV: &str =
    "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency,label,tx_id\n\
2024-04-01 00:00:00,,,2,SOL,,,,a1\n";

const BAD_CSV: &str = "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency\n\
2024-05-01 00:00:00,,,1,ETH,,\n\
2024-05-02 00:00:00,,,lots,ETH,,\n";

async fn upload(app: &TestApp, link: &str, wallet: &str, body: Vec<u8>) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}/widget/integrations/{wallet}/csv", app.base))
        .header("X-LINK-TOKEN", link)
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("the upload reaches the server");
    let status = res.status().as_u16();
    let text = res.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")))
}

async fn csv_import(db: Db) {
    let exchanges = FakeExchanges::start().await.expect("exchange fake");
    exchanges.add("binance", "bkey", FakeAccount::read_only(BINANCE_SECRET, &[("ETH", "0.5")]));
    let url = exchanges.url();
    let app = spawn_with(db, move |s| {
        s.exchanges.base_urls.insert("binance".to_owned(), url);
    })
    .await;
    let creds = production_client(&app).await;
    let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
    let link = link.expect("a link token");
    app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let added = app
        .send(
            Method::POST,
            "/widget/integrations",
            None,
            Some(&link),
            Some(json!({"provider": "binance", "apiKey": "bkey", "secretKey": BINANCE_SECRET})),
        )
        .await;
    let wallet = added.data()["walletId"].as_str().expect("a walletId").to_owned();

    // A bad row: the row's line and message, and nothing stored (the good row neither).
    let (status, bad) = upload(&app, &link, &wallet, BAD_CSV.as_bytes().to_vec()).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["code"], json!("INVALID_REQUEST"), "{bad}");
    assert_eq!(bad["rowErrors"].as_array().map(Vec::len), Some(1), "{bad}");
    assert_eq!(bad["rowErrors"][0]["line"], json!(3), "{bad}");
    assert!(bad["rowErrors"][0]["message"].as_str().is_some_and(|m| m.contains("lots")), "{bad}");
    // What the widget translates the row error from.
    assert_eq!(
        (&bad["rowErrors"][0]["code"], &bad["rowErrors"][0]["column"], &bad["rowErrors"][0]["value"]),
        (&json!("invalid_number"), &json!("received_amount"), &json!("lots")),
        "{bad}"
    );

    // Over 10 MB: refused before parsing.
    let mut big = GENERIC_CSV.as_bytes().to_vec();
    big.resize(10 * 1024 * 1024 + 1, b'\n');
    let (status, too_big) = upload(&app, &link, &wallet, big).await;
    assert_eq!(status, 413, "{too_big}");
    assert!(too_big["error"].as_str().is_some_and(|m| m.contains("10 MB")), "{too_big}");

    // An unknown layout.
    let (status, unknown) = upload(&app, &link, &wallet, b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(status, 400, "{unknown}");

    // The three formats.
    for (file, format, n) in [(BINANCE_CSV, "binance", 2), (COINBASE_CSV, "coinbase", 2), (GENERIC_CSV, "generic", 1)] {
        let (status, ok) = upload(&app, &link, &wallet, file.as_bytes().to_vec()).await;
        assert_eq!(status, 200, "{format}: {ok}");
        assert_eq!(ok["data"], json!({"format": format, "transactions": n, "imported": n}), "{format}");
    }
    // The same file again adds nothing.
    let (status, again) = upload(&app, &link, &wallet, BINANCE_CSV.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["imported"], json!(0), "{again}");

    // Another workspace's or an unknown integration: not found.
    let (status, _) = upload(&app, &link, "wal_000000000000000000000000", GENERIC_CSV.as_bytes().to_vec()).await;
    assert_eq!(status, 404);

    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("a public token").to_owned();
    let exchanged = app.exchange(&creds, &public).await;
    let token = exchanged.data()["access_token"].as_str().expect("an access token").to_owned();

    let txs = data_get(&app, "/api/v1/transactions?order=asc&limit=100", Some(&token), Some(&creds)).await;
    assert_eq!(txs.status, 200, "{}", txs.text);
    let data = txs.body["data"].as_array().unwrap_or_else(|| panic!("a data array: {}", txs.text));
    assert_eq!(
        data.len(),
        5,
        "2 Binance + 2 Coinbase + 1 generic, no duplicate, nothing of the bad file: {}",
        txs.text
    );
    for t in data {
        assert_eq!(t["metadata"]["importSource"], json!("CSV"), "{t}");
        assert!(t["transactionPlatfromId"].as_str().is_some_and(|p| p.starts_with("csv:")), "{t}");
    }
    // The Binance trade: ETH in, USDT out, BNB fee; processed (a swap, cost basis from the USDT deposit).
    let trade = &data[1];
    assert_eq!(trade["incomingAssets"][0]["asset"]["tokenId"], json!("ethereum"), "{trade}");
    assert_eq!(trade["outgoingAssets"][0]["asset"]["symbol"], json!("USDT"), "{trade}");
    assert_eq!(trade["fee"][0]["asset"]["symbol"], json!("BNB"), "{trade}");
    assert_ne!(trade["label"], json!("Unknown"), "processing ran after the import: {trade}");
    // The Coinbase send is an outgoing BTC leg.
    let send = &data[3];
    assert_eq!(send["outgoingAssets"][0]["asset"]["tokenId"], json!("bitcoin"), "{send}");
    assert_eq!(send["outgoingAssets"][0]["quantity"], json!(0.05), "{send}");
    app.stop().await;
}

#[tokio::test]
async fn csv_import_on_sqlite() {
    csv_import(Db::Sqlite).await;
}

#[tokio::test]
async fn csv_import_on_postgres() {
    csv_import(Db::Postgres).await;
}
