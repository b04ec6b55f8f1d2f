//! Exchanges in the widget (issue 16), in Chromium against local exchange fakes: a bad key
//! is refused at once with a message; a good key connects and syncs; a CSV export with a bad
//! row shows the row's line and imports nothing; a good file is imported. Run in English on
//! a desktop (light) and in French on a 360 px phone (dark), axe-clean, with screenshots.

use crate::browser::{Browser, Viewport};
use crate::server::DemoServer;
use fantoccini::Locator;
use kc_chain::exchanges::fakes::{FakeAccount, FakeExchanges};
use kc_domain::ClientMode;
use kc_service::NewClient;
use serde_json::json;

const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

const BAD_CSV: &str = "date,sent_amount,sent_currency,received_amount,received_currency,fee_amount,fee_currency\n\
2024-05-01 00:00:00,,,1,ETH,,\n\
2024-05-02 00:00:00,,,lots,ETH,,\n";

const BINANCE_CSV: &str = "User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n\
12345,2024-01-05 10:00:00,Spot,Deposit,USDT,1000,\n\
12345,2024-01-06 11:00:00,Spot,Buy,ETH,0.5,\n\
12345,2024-01-06 11:00:00,Spot,Buy,USDT,-1000,\n";

async fn scenario(b: &Browser, server: &DemoServer, creds: &crate::helpers::Creds, params: &str, french: bool) {
    let link = server.app.post("/link-token", creds, json!({})).await.data()["link_token"]
        .as_str()
        .expect("link_token")
        .to_owned();
    b.goto("about:blank").await;
    b.goto(&server.url(&format!("/connect?client_id={}#link_token={link}&mode=page&{params}", creds.id))).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    b.visible("step-integration").await;

    // Coinbase's form speaks Coinbase's words: a key name and a private key (PEM).
    b.click("provider-coinbase").await;
    b.visible("apiKey-input").await;
    let labels = b
        .js(
            "return ['apiKey', 'secretKey'].map(function (n) { \
               var l = document.querySelector('label[for=\"field-' + n + '\"]'); return l ? l.textContent : null; });",
            vec![],
        )
        .await;
    let want =
        if french { json!(["Nom de la clé d’API", "Clé privée"]) } else { json!(["API key name", "Private key"]) };
    assert_eq!(labels, want, "Coinbase's field labels");
    let placeholder = b.js("return document.getElementById('field-secretKey').placeholder;", vec![]).await;
    assert!(placeholder.as_str().is_some_and(|p| p.starts_with("-----BEGIN EC PRIVATE KEY")), "{placeholder}");
    b.js("document.getElementById('integration-back').click(); return true;", vec![]).await;
    b.click("provider-binance").await;
    let label = b.js("return document.querySelector('label[for=\"field-secretKey\"]').textContent;", vec![]).await;
    assert_eq!(label, json!(if french { "Clé secrète" } else { "Secret key" }), "Binance keeps its own words");

    // A key the exchange does not know: refused at once, with a message.
    b.type_into("apiKey-input", "unknown-key").await;
    b.type_into("secretKey-input", BINANCE_SECRET).await;
    b.click("integration-submit").await;
    let refused = b.text_until("error", "the bad-key message", |t| !t.trim().is_empty()).await;
    assert!(refused.contains("Binance"), "the message names the exchange: {refused}");
    b.shot("bad-key").await;
    crate::axe::assert_accessible(b, "bad key").await;

    // The good key: connected, then synced by itself.
    b.type_into("apiKey-input", "bkey").await;
    b.click("integration-submit").await;
    let row = b.client.wait().for_element(Locator::Css("#added-list .kc-row[data-testid^=\"added-wal_\"]")).await;
    let row = row.expect("the connected exchange row");
    let testid = row.attr("data-testid").await.expect("attr").expect("a testid");
    let wallet = testid.trim_start_matches("added-").to_owned();
    b.until("the exchange to sync", || async {
        let s = b.js("return arguments[0].getAttribute('data-status');", vec![serde_json::to_value(&row).ok()?]).await;
        (s == json!("synced")).then_some(())
    })
    .await;
    b.shot("synced").await;

    // A CSV export with a bad row: the row's line is shown, nothing imported.
    let dir = crate::browser::target_dir().join(format!("e2e/csv-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the files");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, BAD_CSV).expect("write the file");
    let input = b
        .client
        .find(Locator::Css(&format!("[data-testid=\"csv-input-{wallet}\"]")))
        .await
        .expect("the CSV file input");
    input.send_keys(&bad.display().to_string()).await.expect("choose the file");
    let shown = b.text_until("csv-errors", "the row errors", |t| !t.trim().is_empty()).await;
    let (line, nothing, why) = if french {
        (
            "Ligne 3",
            "Rien n’a été importé : 1 ligne du fichier est illisible.",
            "nombre invalide « lots » dans la colonne received_amount",
        )
    } else {
        (
            "Line 3",
            "Nothing was imported: 1 row of the file could not be read.",
            "invalid number “lots” in received_amount",
        )
    };
    assert!(shown.contains(line) && shown.contains(why) && shown.contains(nothing), "the bad row is shown: {shown}");
    b.shot("csv-row-error").await;
    // The sticky footer covers the end of the scrolled provider list wherever it stops; axe
    // measures the row it cuts. Scrolled to the end, no row is cut.
    b.js(
        "var el = document.getElementById('provider-list'); \
         while (el && !(el.scrollHeight > el.clientHeight && /auto|scroll/.test(getComputedStyle(el).overflowY))) el = el.parentElement; \
         if (el) el.scrollTop = el.scrollHeight; return !!el;",
        vec![],
    )
    .await;
    crate::axe::assert_accessible(b, "CSV row error").await;

    // A good file: imported, the error cleared.
    let good = dir.join("binance.csv");
    std::fs::write(&good, BINANCE_CSV).expect("write the file");
    input.send_keys(&good.display().to_string()).await.expect("choose the file");
    let done = if french { "2 transactions importées" } else { "2 transactions imported" };
    b.until("the import to be announced", || async {
        let s = b.js("return document.getElementById('kc-status').textContent;", vec![]).await;
        s.as_str().is_some_and(|s| s.contains(done)).then_some(())
    })
    .await;
    let error = b.js("return document.getElementById('kc-error').textContent;", vec![]).await;
    assert_eq!(error, json!(""), "the row errors are cleared");
    let note = b.text("csv-done").await;
    assert!(note.contains(done), "the import is shown: {note}");
    b.shot("csv-imported").await;
    crate::axe::assert_accessible(b, "CSV imported").await;
    b.assert_clean_console().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_keys_and_csv_import_in_the_widget() {
    let _serial = crate::serial().await;
    let exchanges = FakeExchanges::start().await.expect("exchange fake");
    exchanges.add("binance", "bkey", FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.5")]));
    let url = exchanges.url();
    let server = DemoServer::start_with(false, move |s| {
        s.exchanges.base_urls.insert("binance".to_owned(), url);
    })
    .await;
    let creds = server
        .app
        .client_with(NewClient {
            mode: ClientMode::Production,
            origins: vec![server.app.base.clone()],
            ..NewClient::sandbox("Production App")
        })
        .await;

    let b = Browser::start("exchanges", Viewport::Desktop).await;
    scenario(&b, &server, &creds, "theme=light", false).await;
    b.close().await;

    let b = Browser::start("exchanges-fr-phone", Viewport::Phone { width: 360, height: 740 }).await;
    scenario(&b, &server, &creds, "theme=dark&lang=fr", true).await;
    b.close().await;
}
