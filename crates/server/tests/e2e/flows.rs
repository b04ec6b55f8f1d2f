//! Steps shared by the scenarios: the demo page, the SDK overlay, the widget's screens.

use crate::browser::Browser;
use crate::server::DemoServer;
use fantoccini::Locator;
use serde_json::json;

/// The documented sandbox Ethereum test address.
pub const SANDBOX_ETH: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";

/// Opens the demo site and waits for its connect button (rendered by the SDK).
pub async fn open_demo(b: &Browser, server: &DemoServer) {
    b.goto(&server.url("/demo")).await;
    b.visible("demo-connect").await;
    // The first session check settles the page ("not connected" or the stored grant).
    b.text_until("demo-session", "a settled session box", |t| !t.contains("Checking")).await;
    // Record, in the page, every step the widget announces to its host.
    b.js(
        "window.__kcSteps = window.__kcSteps || []; \
         if (!window.__kcRecording) { window.__kcRecording = true; \
           window.addEventListener('message', function (e) { \
             var d = e.data; \
             if (d && d.source === 'kryptos-connect' && d.type === 'step') window.__kcSteps.push(d.step); \
           }); }",
        vec![],
    )
    .await;
}

/// The steps the widget announced to the demo page since the last call (and forgets them).
pub async fn take_steps(b: &Browser) -> Vec<String> {
    let v = b.js("var s = window.__kcSteps || []; window.__kcSteps = []; return s;", vec![]).await;
    serde_json::from_value(v).expect("a list of step names")
}

/// Clicks the demo's connect button and switches into the widget iframe.
pub async fn open_widget(b: &Browser) {
    b.click("demo-connect").await;
    b.enter_widget().await;
}

/// Waits for the SDK to tear the overlay down, back on the top-level page.
pub async fn wait_overlay_gone(b: &Browser) {
    b.leave_widget().await;
    b.until("the SDK overlay and its iframe to leave the DOM", || async {
        let (overlays, frames) = b.overlay_count().await;
        (overlays == 0 && frames == 0).then_some(())
    })
    .await;
}

/// In the widget, from the provider list: Ethereum → `address` → submit (screenshots).
pub async fn add_ethereum(b: &Browser, address: &str) {
    b.visible("step-integration").await;
    b.visible("provider-ethereum").await;
    b.shot("providers").await;
    b.click("provider-ethereum").await;
    b.type_into("address-input", address).await;
    b.shot("address").await;
    b.click("integration-submit").await;
}

/// In the widget, after an integration was added: continue → status → done.
pub async fn finish_widget(b: &Browser) {
    b.visible("integration-continue").await;
    b.shot("connected-list").await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.shot("status").await;
    b.click("status-done").await;
    // The widget shows "done" for a moment, then the SDK removes the iframe: both are fine.
    let shown = b
        .until("the done step (or the overlay closing)", || async {
            match b.client.find(Locator::Css("[data-testid=\"step-done\"]")).await {
                Ok(el) => match el.is_displayed().await {
                    Ok(true) => Some(true),
                    Ok(false) => None,
                    Err(_) => Some(false),
                },
                Err(e) if e.is_no_such_element() => None,
                Err(_) => Some(false), // the iframe is gone already
            }
        })
        .await;
    if shown {
        b.try_shot("done").await;
    }
}

/// The whole new-guest flow inside the widget: anonymous → allow → sandbox ETH → done.
pub async fn guest_widget_flow(b: &Browser) {
    b.visible("step-auth").await;
    b.shot("auth").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.shot("consent").await;
    b.click("consent-allow").await;
    add_ethereum(b, SANDBOX_ETH).await;
    finish_widget(b).await;
}

/// The grant id the demo page shows (a `cgrant_` id), once it shows one.
pub async fn demo_grant_id(b: &Browser) -> String {
    let text = b.text_until("demo-grant", "a cgrant_ id", |t| t.contains("cgrant_")).await;
    text.split_whitespace()
        .find(|w| w.starts_with("cgrant_"))
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-').to_owned())
        .unwrap_or_else(|| panic!("a cgrant_ id in the demo grant box: {text}"))
}

/// Waits for the demo's session box to say the stored access token is valid; returns its text.
pub async fn demo_session_valid(b: &Browser) -> String {
    b.text_until("demo-session", "a valid session", |t| t.contains("Valid") && t.contains("cgrant_")).await
}

/// Runs a guest through the demo from a fresh page; returns the demo's grant id.
pub async fn connect_new_guest(b: &Browser, server: &DemoServer) -> String {
    open_demo(b, server).await;
    b.shot("demo").await;
    open_widget(b).await;
    guest_widget_flow(b).await;
    wait_overlay_gone(b).await;
    b.text_until("demo-status", "the connected message", |t| t.contains("Connected!")).await;
    let grant = demo_grant_id(b).await;
    let session = demo_session_valid(b).await;
    assert!(session.contains(&grant), "check-session names the grant {grant}: {session}");
    b.shot("demo-connected").await;
    grant
}

/// The demo client's active grants, through the Connect API.
pub async fn active_grants(server: &DemoServer) -> Vec<String> {
    server.app.node().grant_ids(&server.demo_creds()).await
}

/// A fresh link token of the demo client (`POST /link-token`).
pub async fn demo_link_token(server: &DemoServer) -> String {
    let a = server.app.post("/link-token", &server.demo_creds(), json!({})).await;
    a.data()["link_token"].as_str().expect("link_token").to_owned()
}
