//! Exchange accounts and Bitcoin through the real server and its sync workers: a production
//! client connects Binance, Coinbase, Kraken and OKX (local fakes that check signatures,
//! timestamps and permissions like the real APIs) and Bitcoin (an Esplora fake, an address
//! and a zpub); the Data API shows the balances. A bad key is refused when it is added, with
//! a message for the user; a key that breaks later fails the sync with a user message and
//! the technical cause in `lastSyncLogDetails`.

use crate::data_api::{connect_guest, data_get, production_client, spawn_with, wait_until_settled};
use crate::helpers::*;
use kc_chain::esplora::fake::FakeEsplora;
use kc_chain::exchanges::fakes::{FakeAccount, FakeEvent, FakeExchanges, COINBASE_TEST_KEY};
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
    // The key checks out when added; its secret is rotated on Binance right after that check,
    // before the sync (which adding the key queues) makes its first call.
    let mut rotated = FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "2")]);
    rotated.secret_after_check = Some("rotated-secret".to_owned());
    f.exchanges.add("binance", "bkey2", rotated);
    let c2 = {
        let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
        let link = link.expect("link");
        app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
        app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
        let added = app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(binance("bkey2"))).await;
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
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

const USDT_ID: &str = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7";

/// Three days ago: 1000 USDT deposited, 0.01 BTC bought at 30 000 (fee 0.3 USDT), 0.005 BTC
/// sold at 32 000 (fee 0.16 USDT), 100 USDT withdrawn (fee 1); `btc` is the exchange's code.
fn history(btc: &str) -> Vec<FakeEvent> {
    let now = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).expect("now");
    let t0 = now - 3 * 86_400_000;
    let hour = 3_600_000;
    let trade = |id: u64, t: i64, buy: bool, qty: &str, price: &str, fee: &str| FakeEvent::Trade {
        id,
        time_ms: t,
        base: btc.to_owned(),
        quote: "USDT".to_owned(),
        buy,
        qty: qty.to_owned(),
        price: price.to_owned(),
        fee: fee.to_owned(),
        fee_asset: "USDT".to_owned(),
    };
    vec![
        FakeEvent::Deposit { id: 1, time_ms: t0, asset: "USDT".into(), amount: "1000".into(), txid: "0xd1".into() },
        trade(2, t0 + hour, true, "0.01", "30000", "0.3"),
        trade(3, t0 + 2 * hour, false, "0.005", "32000", "0.16"),
        FakeEvent::Withdrawal {
            id: 4,
            time_ms: t0 + 3 * hour,
            asset: "USDT".into(),
            amount: "100".into(),
            fee: "1".into(),
            txid: "0xw4".into(),
        },
    ]
}

/// `(type, tokenId, quantity)` of the legs of one served transaction.
fn legs(tx: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for field in ["outgoingAssets", "incomingAssets", "fee"] {
        for l in tx[field].as_array().into_iter().flatten() {
            out.push((
                l["type"].as_str().unwrap_or_default().to_owned(),
                l["asset"]["tokenId"].as_str().unwrap_or_default().to_owned(),
                l["quantity"].to_string(),
            ));
        }
    }
    out
}

fn leg(kind: &str, token: &str, q: &str) -> (String, String, String) {
    (kind.to_owned(), token.to_owned(), q.to_owned())
}

async fn exchange_history_lands_in_the_ledger(db: Db) {
    let f = fakes().await;
    let mut b = FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.005"), ("USDT", "558.54")]);
    b.history = history("BTC");
    f.exchanges.add("binance", "hkey", b);
    let mut k = FakeAccount::read_only(KRAKEN_SECRET, &[("XXBT", "0.005"), ("USDT", "558.54")]);
    k.history = history("XXBT");
    f.exchanges.add("kraken", "hkey", k);
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    let c = connect_guest(
        &app,
        &creds,
        None,
        &[binance("hkey"), json!({"provider": "kraken", "apiKey": "hkey", "secretKey": KRAKEN_SECRET})],
    )
    .await;
    let settled = wait_until_settled(&app, &c).await;
    for i in &settled {
        assert_eq!(i["status"], json!("COMPLETED"), "{i}");
        assert_eq!(i["lastSyncLog"]["Transactions"], json!("COMPLETED"), "{i}");
        assert_eq!(i["lastSyncLogDetails"]["Transactions"]["count"], json!(4), "{i}");
        assert_eq!(i["lastSyncLog"]["CostBasis"], json!("COMPLETED"), "{i}");
        assert_eq!(i["totalTransactions"], json!(4), "{i}");
    }
    let get = |q: String| {
        let (app, c) = (&app, &c);
        async move { data_get(app, &format!("/api/v1/transactions{q}"), Some(&c.access_token), Some(&c.creds)).await }
    };
    let binance_id = &c.wallet_ids[0];
    let all = get("?order=asc".to_owned()).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["pagination"]["totalCount"], json!(8), "{}", all.text);
    let page = get(format!("?order=asc&walletId={binance_id}")).await;
    let txs = page.body["data"].as_array().cloned().unwrap_or_default();
    let got: Vec<_> = txs.iter().map(legs).collect();
    assert_eq!(
        got,
        vec![
            vec![leg("incoming", USDT_ID, "1000")],
            vec![leg("outgoing", USDT_ID, "300"), leg("incoming", "bitcoin", "0.01"), leg("fee", USDT_ID, "0.3")],
            vec![leg("outgoing", "bitcoin", "0.005"), leg("incoming", USDT_ID, "160"), leg("fee", USDT_ID, "0.16")],
            vec![leg("outgoing", USDT_ID, "100"), leg("fee", USDT_ID, "1")],
        ],
        "{}",
        page.text
    );
    assert_eq!(txs[1]["transactionPlatfromId"], json!("trade:BTCUSDT:2"), "{}", txs[1]);
    assert_eq!(txs[1]["metadata"]["importSource"], json!("API"), "{}", txs[1]);
    assert_eq!(txs[1]["rawTrx"]["symbol"], json!("BTCUSDT"), "the exchange's own record: {}", txs[1]);
    assert_eq!(txs[0]["label"], json!("Deposit"), "{}", txs[0]);
    assert_eq!(txs[3]["label"], json!("Withdrawal"), "{}", txs[3]);
    assert_eq!(txs[2]["incomingAssets"][0]["toAccount"]["walletId"], json!(binance_id), "{}", txs[2]);

    // Resyncs (incremental, then from the start) add no duplicate and keep the ids.
    let ids = |v: &Value| v["data"].as_array().into_iter().flatten().map(|t| t["id"].clone()).collect::<Vec<_>>();
    for mode in ["latest", "from_start"] {
        let before = settled
            .iter()
            .find(|i| &i["walletId"] == binance_id)
            .map(|i| i["lastSyncedAt"].clone())
            .unwrap_or_default();
        app.clock.advance(time::Duration::minutes(1));
        let r = app
            .post(
                &format!("/developer/integrations/{binance_id}/resync"),
                &creds,
                json!({"user_id": c.user_id, "mode": mode}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 202, "{mode}: {}", r.body);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = wait_until_settled(&app, &c).await;
            let i = now.iter().find(|i| &i["walletId"] == binance_id).cloned().unwrap_or_default();
            if i["lastSyncedAt"] != before {
                assert_eq!(i["status"], json!("COMPLETED"), "{mode}: {i}");
                break;
            }
            assert!(std::time::Instant::now() < until, "{mode}: the resync did not finish");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let again = get("?order=asc".to_owned()).await;
        assert_eq!(again.body["pagination"]["totalCount"], json!(8), "{mode}: {}", again.text);
        assert_eq!(ids(&again.body), ids(&all.body), "{mode}: stable ids");
    }
    app.stop().await;
}

#[tokio::test]
async fn exchange_history_lands_in_the_ledger_on_sqlite() {
    exchange_history_lands_in_the_ledger(Db::Sqlite).await;
}

#[tokio::test]
async fn exchange_history_lands_in_the_ledger_on_postgres() {
    exchange_history_lands_in_the_ledger(Db::Postgres).await;
}

/// `/readyz` answers 200 while an exchange is down, and says which providers cannot sync and
/// why: not configured (from the configuration), or unreachable at the last sync (from memory).
async fn readyz_details_providers_without_failing(db: Db) {
    let f = fakes().await;
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    let readyz = || async {
        let r = app.send(Method::GET, "/readyz", None, None, None).await;
        assert_eq!(r.status.as_u16(), 200, "optional providers never fail readiness: {}", r.body);
        r.data().clone()
    };
    let entry = |ready: &Value, id: &str| {
        ready["providers"].as_array().into_iter().flatten().find(|p| p["provider"] == id).cloned()
    };
    let first = readyz().await;
    assert_eq!(first["status"], json!("ready"), "{first}");
    let kucoin = entry(&first, "kucoin").unwrap_or_else(|| panic!("kucoin is listed: {first}"));
    assert_eq!(kucoin["status"], json!("not_configured"), "{kucoin}");
    assert!(kucoin["reason"].as_str().unwrap_or_default().contains("no connector"), "{kucoin}");
    assert!(entry(&first, "binance").is_none(), "not probed yet, not listed: {first}");

    let c = connect_guest(&app, &creds, None, &[binance("bkey")]).await;
    wait_until_settled(&app, &c).await;
    let ok = readyz().await;
    let b = entry(&ok, "binance").unwrap_or_else(|| panic!("binance after a sync: {ok}"));
    assert_eq!(b["status"], json!("ok"), "{b}");
    assert!(b["checkedAt"].as_i64().is_some_and(|t| t > 0), "{b}");

    f.exchanges.maintenance(true);
    app.clock.advance(time::Duration::minutes(1));
    let r = app
        .post(
            &format!("/developer/integrations/{}/resync", c.wallet_ids[0]),
            &creds,
            json!({"user_id": c.user_id, "mode": "latest"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let down = loop {
        let ready = readyz().await;
        if let Some(b) = entry(&ready, "binance").filter(|b| b["status"] == "unavailable") {
            break b;
        }
        assert!(std::time::Instant::now() < until, "binance never reported unavailable: {ready}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert!(down["reason"].as_str().unwrap_or_default().contains("maintenance"), "{down}");
    f.exchanges.maintenance(false);
    app.stop().await;
}

#[tokio::test]
async fn readyz_details_providers_without_failing_on_sqlite() {
    readyz_details_providers_without_failing(Db::Sqlite).await;
}

#[tokio::test]
async fn readyz_details_providers_without_failing_on_postgres() {
    readyz_details_providers_without_failing(Db::Postgres).await;
}

/// A rate limit with a long `Retry-After` (Binance's 418 IP ban) is not hammered: the sync
/// is retried after what Binance asked, not after the usual 5 s backoff.
async fn a_ban_is_waited_out_before_the_retry(db: Db) {
    let f = fakes().await;
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
    let link = link.expect("link");
    app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    // Armed before the key is added (the key check is not banned): adding it queues the sync,
    // whose first call must meet the ban.
    f.exchanges.binance_ban(1, 120);
    let added = app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(binance("bkey"))).await;
    assert_eq!(added.status.as_u16(), 200, "{}", added.body);
    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("public token").to_owned();
    let grant = app.exchange(&creds, &public).await.data().clone();
    let access = grant["access_token"].as_str().expect("access token").to_owned();
    let integration = || async {
        let a = data_get(&app, "/api/v1/integrations", Some(&access), Some(&creds)).await;
        a.body["data"][0].clone()
    };
    let accounts = || f.exchanges.requests().iter().filter(|r| r.starts_with("GET /api/v3/account?")).count();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let waiting = loop {
        let i = integration().await;
        if i["message"].is_string() {
            break i;
        }
        assert!(std::time::Instant::now() < until, "the first attempt did not fail: {i}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert_eq!(waiting["status"], json!("ONGOING"), "queued for a retry: {waiting}");
    assert!(waiting["message"].as_str().unwrap_or_default().contains("limiting requests"), "{waiting}");
    assert_eq!(accounts(), 1);
    app.clock.advance(time::Duration::seconds(60));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(accounts(), 1, "no retry a minute later: Binance asked for two minutes");
    app.clock.advance(time::Duration::seconds(61));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let i = integration().await;
        if i["status"] == "COMPLETED" {
            break;
        }
        assert!(std::time::Instant::now() < until, "the retry did not sync: {i}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(accounts() >= 2);
    app.stop().await;
}

#[tokio::test]
async fn a_ban_is_waited_out_before_the_retry_on_sqlite() {
    a_ban_is_waited_out_before_the_retry(Db::Sqlite).await;
}

#[tokio::test]
async fn a_ban_is_waited_out_before_the_retry_on_postgres() {
    a_ban_is_waited_out_before_the_retry(Db::Postgres).await;
}

/// Binance bans the IP after the balances were read, during the history: the balances land
/// (the integration is synced), the history stage says when it is tried again, and it is, at
/// that time and not before, from the same cursor; its transactions then land too.
async fn a_history_ban_lands_the_balances_and_retries_the_history_when_asked(db: Db) {
    let f = fakes().await;
    let mut b = FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.005"), ("USDT", "558.54")]);
    b.history = history("BTC");
    f.exchanges.add("binance", "hkey", b);
    let app = app_with(db, &f).await;
    let creds = production_client(&app).await;
    // Armed before the key is added (the key check and the balances are not banned): the
    // sync's first history call meets it.
    f.exchanges.binance_ban_history(1, 120);
    let c = connect_guest(&app, &creds, None, &[binance("hkey")]).await;
    let deposits = || f.exchanges.requests().iter().filter(|r| r.contains("/sapi/v1/capital/deposit/hisrec")).count();

    let first = wait_until_settled(&app, &c).await;
    let i = &first[0];
    assert_eq!(i["status"], json!("COMPLETED"), "the balances landed: {i}");
    assert_eq!(i["lastSyncLog"]["Balances"], json!("COMPLETED"), "{i}");
    assert_eq!(i["lastSyncLog"]["Transactions"], json!("FAILED"), "{i}");
    let stage = &i["lastSyncLogDetails"]["Transactions"];
    assert!(stage["message"].as_str().unwrap_or_default().contains("limiting requests"), "{i}");
    assert!(stage["cause"].as_str().unwrap_or_default().contains("-1003"), "the technical cause is kept: {i}");
    let retry_at = stage["retryAt"].as_str().unwrap_or_else(|| panic!("the stage says when: {i}"));
    let retry_at = time::OffsetDateTime::parse(retry_at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("retryAt {retry_at}: {e}"));
    let waited = retry_at - kc_domain::Clock::now(app.clock.as_ref());
    assert!(waited > time::Duration::seconds(115), "Binance's two minutes are waited out: {waited}");
    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(holding_quantity(&h.body, "bitcoin"), "0.005", "{}", h.text);
    assert_eq!(deposits(), 1, "the banned call");

    app.clock.advance(time::Duration::seconds(60));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(deposits(), 1, "no history call a minute later: Binance asked for two minutes");
    app.clock.advance(time::Duration::seconds(61));
    let done = crate::data_api::wait_for_history(&app, &c).await;
    assert!(deposits() >= 2, "read again");
    assert_eq!(done["status"], json!("COMPLETED"), "{done}");
    assert_eq!(done["lastSyncLogDetails"]["Transactions"]["count"], json!(4), "{done}");
    assert!(done["lastSyncLogDetails"]["Transactions"].get("retryAt").is_none(), "{done}");
    assert_eq!(done["totalTransactions"], json!(4), "{done}");
    let txs = data_get(&app, "/api/v1/transactions", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(txs.body["pagination"]["totalCount"], json!(4), "{}", txs.text);
    app.stop().await;
}

#[tokio::test]
async fn a_history_ban_lands_the_balances_and_retries_the_history_when_asked_on_sqlite() {
    a_history_ban_lands_the_balances_and_retries_the_history_when_asked(Db::Sqlite).await;
}

#[tokio::test]
async fn a_history_ban_lands_the_balances_and_retries_the_history_when_asked_on_postgres() {
    a_history_ban_lands_the_balances_and_retries_the_history_when_asked(Db::Postgres).await;
}
