//! Providers as the user sees them: real logos shipped with the server, only what this
//! server can sync, and sync statuses that update by themselves until they settle.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;
use fantoccini::Locator;
use kc_domain::ClientMode;
use kc_service::NewClient;
use serde_json::{json, Value};

/// An RPC endpoint nobody listens on: syncs through it fail.
const DEAD_RPC: &str = "http://127.0.0.1:9/";

/// `GET path` on the server, as JSON.
async fn get_json(server: &DemoServer, path: &str) -> Value {
    reqwest::get(server.url(path)).await.expect("GET").json().await.expect("JSON")
}

/// The provider ids listed in the widget, and whether each logo image loaded.
async fn listed(b: &Browser) -> Vec<(String, bool, String)> {
    let v = b
        .js(
            "return Array.prototype.map.call(document.querySelectorAll('#provider-list [data-testid^=\"provider-\"]'), \
               function (el) { var img = el.querySelector('.kc-logo img'); \
                 return [el.getAttribute('data-testid').slice(9), !!img && img.complete && img.naturalWidth > 0, img ? img.src : '']; });",
            vec![],
        )
        .await;
    serde_json::from_value(v).expect("rows")
}

/// Opens the widget page for a fresh link token of `creds` (page mode) and signs in as a guest.
async fn guest_at_providers(b: &Browser, server: &DemoServer, creds: &crate::helpers::Creds) {
    let link = server.app.post("/link-token", creds, json!({})).await.data()["link_token"]
        .as_str()
        .expect("link_token")
        .to_owned();
    b.goto("about:blank").await;
    b.goto(&server.url(&format!("/connect?client_id={}#link_token={link}&mode=page&theme=light", creds.id))).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    b.visible("step-integration").await;
    b.until("the provider list", || async {
        let busy = b.js("return document.getElementById('provider-list').getAttribute('aria-busy');", vec![]).await;
        busy.is_null().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_have_shipped_logos_and_only_syncable_ones_are_offered() {
    let _serial = crate::serial().await;
    // Polygon has an RPC URL (a dead one: enough to be offered); nothing else has.
    let server = DemoServer::start_with(false, |s| {
        s.chains.rpc_urls.insert("polygon".to_owned(), DEAD_RPC.to_owned());
        // Exchange connectors are on by default; switched off here, they are not offered.
        s.exchanges.disabled = ["binance", "coinbase", "kraken", "okx"].map(str::to_owned).to_vec();
    })
    .await;
    let b = Browser::start("providers", Viewport::Desktop).await;

    // The public list marks what this server cannot sync as not working.
    let public = get_json(&server, "/integrations/public/list").await;
    let list = public["data"].as_array().or_else(|| public.as_array()).cloned().expect("a provider list");
    let working: Vec<&str> =
        list.iter().filter(|p| p["isWorking"] == json!(true)).filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(working, vec!["polygon"], "only the chain with an RPC URL syncs any address here: {public}");
    for id in ["binance", "coinbase", "bitcoin", "ethereum", "solana"] {
        assert!(list.iter().any(|p| p["id"] == json!(id) && p["isWorking"] == json!(false)), "{id} is not working");
    }

    // Every logo is a shipped SVG mark, not a monogram.
    for p in &list {
        let id = p["id"].as_str().expect("id");
        let res = reqwest::get(server.url(&format!("/logos/{id}.svg"))).await.expect("GET logo");
        assert_eq!(res.headers()["content-type"], "image/svg+xml", "{id}");
        let svg = res.text().await.expect("svg");
        assert!(svg.contains("<title>") && !svg.contains("<text"), "{id}.svg is a drawn mark: {svg}");
    }

    // The sandbox demo client: Ethereum and Solana (their test addresses sync), with logos.
    let demo = server.demo_creds();
    guest_at_providers(&b, &server, &demo).await;
    let rows = listed(&b).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, vec!["ethereum", "solana"], "sandbox offers the sandbox chains");
    for (id, loaded, src) in &rows {
        assert!(*loaded && src.ends_with(&format!("/logos/{id}.svg")), "{id} shows its logo image: {src}");
    }
    b.shot("sandbox-providers").await;

    // A production client: only Polygon (no exchange connector, no Bitcoin adapter, and
    // Ethereum/Solana without an RPC URL would only sync the sandbox addresses).
    let prod = server
        .app
        .client_with(NewClient {
            mode: ClientMode::Production,
            origins: vec![server.app.base.clone()],
            ..NewClient::sandbox("Production App")
        })
        .await;
    let answer = server.app.post("/link-token", &prod, json!({})).await;
    let link = answer.data()["link_token"].as_str().expect("link_token");
    let widget = server.app.send(http::Method::GET, "/widget/providers", None, Some(link), None).await;
    let all = widget.data()["providers"].as_array().cloned().expect("providers");
    assert!(all.len() >= 15, "the widget list still names every provider, with isWorking: {}", all.len());
    guest_at_providers(&b, &server, &prod).await;
    let rows = listed(&b).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, vec!["polygon"], "production offers only what syncs");
    assert!(rows[0].1, "Polygon's logo loaded");
    b.shot("production-providers").await;
    b.assert_clean_console().await;
    b.close().await;
}

/// The sync pill of the row `testid`, once visible.
async fn status_of(b: &Browser, testid_prefix: &str) -> Vec<String> {
    let v = b
        .js(
            "return Array.prototype.map.call(document.querySelectorAll('[data-testid^=\"' + arguments[0] + '\"][data-status]'), \
               function (el) { return el.getAttribute('data-status'); });",
            vec![json!(testid_prefix)],
        )
        .await;
    serde_json::from_value(v).expect("statuses")
}

/// Records, in the page, every sync status a row of the widget shows (rows are added or
/// updated in place by the widget; the test never reloads).
async fn record_statuses(b: &Browser) {
    b.js(
        "window.__kcSeen = []; \
         var note = function (el) { if (el.nodeType === 1 && el.hasAttribute('data-status')) \
           window.__kcSeen.push(el.getAttribute('data-testid').replace(/-wal_.*/, '') + ':' + el.getAttribute('data-status')); }; \
         new MutationObserver(function (ms) { ms.forEach(function (m) { \
           if (m.type === 'attributes') note(m.target); else m.addedNodes.forEach(note); }); }) \
           .observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] }); \
         return true;",
        vec![],
    )
    .await;
}

async fn seen(b: &Browser) -> Vec<String> {
    serde_json::from_value(b.js("return window.__kcSeen;", vec![]).await).expect("statuses seen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_statuses_update_live_in_every_view_until_they_settle() {
    let _serial = crate::serial().await;
    // A slow worker (jobs wait ~4 s) and one attempt, so "queued" is seen and failures settle.
    let server = DemoServer::start_with(false, |s| {
        s.sync.poll_interval_ms = 4000;
        s.sync.max_attempts = 1;
        s.chains.rpc_urls.insert("polygon".to_owned(), DEAD_RPC.to_owned());
    })
    .await;
    let b = Browser::start("live_status", Viewport::Desktop).await;

    // 1. The connected list: queued → synced with no click.
    open_demo(&b, &server).await;
    open_widget(&b).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    record_statuses(&b).await;
    add_ethereum(&b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;
    b.shot("list-queued").await;
    b.until("the connected list to show synced by itself", || async {
        (status_of(&b, "added-").await == vec!["synced".to_owned()]).then_some(())
    })
    .await;
    let history = seen(&b).await;
    assert_eq!(
        history.first().map(String::as_str),
        Some("added:queued"),
        "the new wallet showed queued first: {history:?}"
    );
    assert_eq!(history.last().map(String::as_str), Some("added:synced"), "then synced, with no click: {history:?}");
    b.shot("list-synced").await;
    b.leave_widget().await;

    // 2. A production client: a Polygon wallet whose RPC is down goes queued → failed on
    //    the status screen, by itself.
    let prod = server
        .app
        .client_with(NewClient {
            mode: ClientMode::Production,
            origins: vec![server.app.base.clone()],
            ..NewClient::sandbox("Production App")
        })
        .await;
    guest_at_providers(&b, &server, &prod).await;
    b.click("provider-polygon").await;
    b.type_into("address-input", "0x00000000000000000000000000000000000000aa").await;
    b.click("integration-submit").await;
    record_statuses(&b).await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.shot("status-queued").await;
    b.until("the status screen to show failed by itself", || async {
        (status_of(&b, "integration-").await == vec!["failed".to_owned()]).then_some(())
    })
    .await;
    let history: Vec<String> = seen(&b).await.into_iter().filter(|s| s.starts_with("integration")).collect();
    assert!(
        history.first().is_some_and(|s| s.ends_with(":queued") || s.ends_with(":syncing")),
        "the status screen showed the wallet pending first: {history:?}"
    );
    let row =
        b.client.find(Locator::Css("#status-list .kc-row")).await.expect("status row").text().await.expect("text");
    assert!(row.contains("Failed"), "the row says it failed: {row}");
    b.shot("status-failed").await;
    // Settled: polling stops (no request for a while).
    let before = b.js("return performance.getEntriesByType('resource').filter(function (e) { return /widget\\/integrations/.test(e.name); }).length;", vec![]).await;
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    let after = b.js("return performance.getEntriesByType('resource').filter(function (e) { return /widget\\/integrations/.test(e.name); }).length;", vec![]).await;
    assert_eq!(before, after, "no more polling once every status settled");
    b.assert_clean_console().await;
    b.close().await;
}
