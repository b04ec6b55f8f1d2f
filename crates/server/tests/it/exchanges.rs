//! Exchange accounts and Bitcoin through the real server and its sync workers: a production
//! client connects Binance, Coinbase, Kraken and OKX (local fakes that check signatures,
//! timestamps and permissions like the real APIs) and Bitcoin (an Esplora fake, an address
//! and a zpub); the Data API shows the balances. A bad key is refused when it is added, with
//! a message for the user; a key that breaks later fails the sync with a user message and
//! the technical cause in `lastSyncLogDetails`.

use crate::data_api::{connect_guest, data_get, production_client, spawn_with, wait_until_settled};
use crate::helpers::*;
use kc_chain::esplora::fake::FakeEsplora;
use kc_chain::exchanges::fakes::{FakeAccount, FakeExchanges, COINBASE_TEST_KEY};
use reqwest::Method;
use serde_json::{json, Value};

const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const KRAKEN_SECRET: &str = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const OKX_SECRET: &str = "22582BD0CFF14C41EDBF1AB98506286D";
/// BIP84's test vector account (mnemonic "abandon … about").
const ZPUB: &str =
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";
const ZPUB_FIRST: &str = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
const TAPROOT: &str = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297";

struct Fakes {
    exchanges: FakeExchanges,
    esplora: FakeEsplora,
}

async fn fakes() -> Fakes {
    let exchanges = FakeExchanges::start().await.expect("exchange fake");
    exchanges.add("binance", "bkey", FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.50000000"), ("ETH", "1.5")]));
    exchanges.add("kraken", "kkey", FakeAccount::read_only(KRAKEN_SECRET, &[("XXBT", "0.25"), ("ZEUR", "100.0")]));
    let mut okx = FakeAccount::read_only(OKX_SECRET, &[("SOL", "10")]);
    okx.passphrase = Some("Passphrase1!".to_owned());
    exchanges.add("okx", "okey", okx);
    exchanges.add("coinbase", "organizations/o/apiKeys/k", FakeAccount::read_only(COINBASE_TEST_KEY, &[("BTC", "1")]));
    let esplora = FakeEsplora::start().await.expect("esplora fake");
    esplora.set(ZPUB_FIRST, 200_000_000, 0, 1);
    esplora.set(TAPROOT, 10_000_000, 0, 3);
    Fakes { exchanges, esplora }
}

async fn app_with(db: Db, f: &Fakes) -> TestApp {
    let url = f.exchanges.url();
    let esplora = f.esplora.url.clone();
    spawn_with(db, move |s| {
        for id in ["binance", "coinbase", "kraken", "okx"] {
            s.exchanges.base_urls.insert(id.to_owned(), url.clone());
        }
        s.exchanges.max_wait_secs = 2;
        s.chains.esplora_url = esplora;
        s.chains.bitcoin_gap_limit = 5;
    })
    .await
}

fn binance(key: &str) -> Value {
    json!({"provider": "binance", "apiKey": key, "secretKey": BINANCE_SECRET})
}

fn holding_quantity(holdings: &Value, token_id: &str) -> String {
    holdings["holdings"]
        .as_array()
        .and_then(|h| h.iter().find(|x| x["asset"]["tokenId"] == token_id))
        .map(|h| h["totalQuantity"].to_string())
        .unwrap_or_else(|| panic!("a holding of {token_id}: {holdings}"))
}

async fn every_provider_syncs(db: Db) {
    let f = fakes().await;
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;

    // The catalogue offers the four exchanges and Bitcoin; exchanges without a connector are not working.
    let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
    let link = link.expect("link token");
    let providers = app.send(Method::GET, "/widget/providers", None, Some(&link), None).await;
    let working: Vec<String> = providers.data()["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .filter(|p| p["isWorking"] == json!(true))
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    for id in ["binance", "coinbase", "kraken", "okx", "bitcoin"] {
        assert!(working.contains(&id.to_owned()), "{id} is offered: {working:?}");
    }
    for id in ["kucoin", "bybit"] {
        assert!(!working.contains(&id.to_owned()), "{id} has no connector: {working:?}");
    }

    let c = connect_guest(
        &app,
        &creds,
        None,
        &[
            binance("bkey"),
            json!({"provider": "kraken", "apiKey": "kkey", "secretKey": KRAKEN_SECRET}),
            json!({"provider": "okx", "apiKey": "okey", "secretKey": OKX_SECRET, "password": "Passphrase1!"}),
            json!({"provider": "coinbase", "apiKey": "organizations/o/apiKeys/k", "secretKey": COINBASE_TEST_KEY}),
            json!({"provider": "bitcoin", "address": ZPUB}),
            json!({"provider": "bitcoin", "address": TAPROOT}),
        ],
    )
    .await;
    let settled = wait_until_settled(&app, &c).await;
    for i in &settled {
        assert_eq!(i["status"], json!("COMPLETED"), "every provider syncs: {i}");
    }
    let zpub = settled.iter().find(|i| i["walletId"] == json!(c.wallet_ids[4])).expect("the zpub integration");
    assert!(zpub["publicAddress"].is_null(), "an xpub is not shown as an address: {zpub}");
    assert!(!zpub.to_string().contains(ZPUB), "the xpub is stored sealed and never served: {zpub}");

    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(h.status, 200, "{}", h.text);
    // BTC: Binance 0.5 + Kraken 0.25 + Coinbase 1 + zpub 2 + taproot 0.1.
    assert_eq!(holding_quantity(&h.body, "bitcoin"), "3.85");
    assert_eq!(holding_quantity(&h.body, "ethereum"), "1.5");
    assert_eq!(holding_quantity(&h.body, "solana"), "10");
    assert_eq!(holding_quantity(&h.body, "kraken:EUR"), "100");
    app.stop().await;
}

#[tokio::test]
async fn every_provider_syncs_on_sqlite() {
    every_provider_syncs(Db::Sqlite).await;
}

#[tokio::test]
async fn every_provider_syncs_on_postgres() {
    every_provider_syncs(Db::Postgres).await;
}

async fn keys_are_checked_when_added(db: Db) {
    let f = fakes().await;
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
    let link = link.expect("link token");
    app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let add = |body: Value| {
        let (app, link) = (&app, link.clone());
        async move { app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(body)).await }
    };

    let unknown = add(binance("deleted-key")).await;
    assert_eq!(unknown.status.as_u16(), 400, "{}", unknown.body);
    assert_eq!(
        unknown.body["error"],
        json!("Binance rejected the API key: it may have been deleted or mistyped."),
        "{}",
        unknown.body
    );

    let wrong_secret = add(json!({"provider": "kraken", "apiKey": "kkey", "secretKey": "b3RoZXI="})).await;
    assert_eq!(wrong_secret.status.as_u16(), 400, "{}", wrong_secret.body);
    assert!(wrong_secret.body.to_string().contains("Kraken rejected the API secret"), "{}", wrong_secret.body);

    let mut restricted = FakeAccount::read_only(OKX_SECRET, &[]);
    restricted.passphrase = Some("p".to_owned());
    restricted.ip_restricted = true;
    f.exchanges.add("okx", "restricted", restricted);
    let ip = add(json!({"provider": "okx", "apiKey": "restricted", "secretKey": OKX_SECRET, "password": "p"})).await;
    assert_eq!(ip.status.as_u16(), 400, "{}", ip.body);
    assert!(ip.body.to_string().contains("restricted to other IP addresses"), "{}", ip.body);

    let mut trader = FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "1")]);
    trader.can_trade = true;
    trader.can_withdraw = true;
    f.exchanges.add("binance", "trader", trader);
    let warned = add(binance("trader")).await;
    assert_eq!(warned.status.as_u16(), 200, "a trading key is accepted: {}", warned.body);
    assert!(warned.data()["warning"].as_str().unwrap_or_default().contains("read-only"), "{}", warned.body);

    f.exchanges.maintenance(true);
    let down = add(binance("bkey")).await;
    assert_eq!(down.status.as_u16(), 503, "{}", down.body);
    assert!(down.body.to_string().contains("could not be reached"), "{}", down.body);
    f.exchanges.maintenance(false);
    app.stop().await;
}

#[tokio::test]
async fn keys_are_checked_when_added_on_sqlite() {
    keys_are_checked_when_added(Db::Sqlite).await;
}

#[tokio::test]
async fn keys_are_checked_when_added_on_postgres() {
    keys_are_checked_when_added(Db::Postgres).await;
}

async fn a_key_that_breaks_later_fails_the_sync_for_the_user(db: Db) {
    let f = fakes().await;
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    f.exchanges.add("binance", "bkey2", FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "2")]));
    let c2 = {
        // The key checks out when added; its secret is rotated on Binance before the sync.
        let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
        let link = link.expect("link");
        app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
        app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
        let added = app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(binance("bkey2"))).await;
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
        f.exchanges.add("binance", "bkey2", FakeAccount::read_only("rotated-secret", &[]));
        let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
        let public = done.data()["public_token"].as_str().expect("public token").to_owned();
        app.exchange(&creds, &public).await.data().clone()
    };
    let access = c2["access_token"].as_str().expect("access token");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let failed = loop {
        let a = data_get(&app, "/api/v1/integrations", Some(access), Some(&creds)).await;
        let i = a.body["data"][0].clone();
        if i["status"] == json!("FAILED") {
            break i;
        }
        assert!(std::time::Instant::now() < until, "the sync did not fail: {}", a.text);
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert_eq!(
        failed["message"],
        json!("Binance rejected the API secret: check that you copied the whole secret of this key."),
        "{failed}"
    );
    let cause = failed["lastSyncLogDetails"]["Balances"]["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("-1022"), "the technical cause is in lastSyncLogDetails: {failed}");
    app.stop().await;
}

#[tokio::test]
async fn a_key_that_breaks_later_fails_the_sync_for_the_user_on_sqlite() {
    a_key_that_breaks_later_fails_the_sync_for_the_user(Db::Sqlite).await;
}

#[tokio::test]
async fn a_key_that_breaks_later_fails_the_sync_for_the_user_on_postgres() {
    a_key_that_breaks_later_fails_the_sync_for_the_user(Db::Postgres).await;
}
