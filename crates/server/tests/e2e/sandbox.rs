//! Sandbox rules as the user sees them.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_test_address_shows_the_sandbox_error_and_the_user_can_recover() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("sandbox_error", Viewport::Desktop).await;

    open_demo(&b, &server).await;
    open_widget(&b).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    add_ethereum(&b, "0x0000000000000000000000000000000000000001").await;

    let error = b.visible("error").await;
    let text = b.text_until("error", "the sandbox message", |t| t.contains("sandbox")).await;
    assert!(text.contains("test address"), "the message points at the test address: {text}");
    let shown = b.text("sandbox-address").await;
    assert_eq!(shown, SANDBOX_ETH, "the Ethereum form shows the Ethereum test address");
    let invalid = b
        .client
        .find(Locator::Css("[data-testid=\"address-input\"]"))
        .await
        .expect("address input")
        .attr("aria-invalid")
        .await
        .expect("aria-invalid");
    assert_eq!(invalid.as_deref(), Some("true"), "the refused address is marked invalid");
    let code = error.attr("data-code").await.expect("data-code attribute");
    assert_eq!(code.as_deref(), Some("SANDBOX_ADDRESS_NOT_ALLOWED"), "the error carries the server's code");
    assert!(b.is_visible("address-input").await, "the form stays open to fix the address");
    b.shot("sandbox-error").await;

    // The hint's button fills in the test address; then it connects.
    b.click("use-test-address").await;
    let value = b
        .client
        .find(Locator::Css("[data-testid=\"address-input\"]"))
        .await
        .expect("address input")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(value.as_deref(), Some(SANDBOX_ETH), "the test address was filled in");
    b.click("integration-submit").await;
    b.visible("integration-continue").await;
    let left = b.js("return document.querySelector('[data-testid=\"error\"]').textContent;", vec![]).await;
    assert_eq!(left, serde_json::json!(""), "the error is cleared once the address is accepted");
    b.shot("recovered").await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_wallet_can_be_removed_from_the_list_after_a_confirmation() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("remove_integration", Viewport::Desktop).await;

    open_demo(&b, &server).await;
    open_widget(&b).await;
    b.click("auth-anonymous").await;
    b.click("consent-allow").await;
    add_ethereum(&b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;

    let testid = b
        .until("the remove control of the new wallet", || async {
            let v = b
                .js(
                    "const el = document.querySelector('[data-testid^=\"integration-remove-wal_\"]'); \
                     return el ? el.getAttribute('data-testid') : null;",
                    vec![],
                )
                .await;
            v.as_str().map(str::to_owned)
        })
        .await;
    let wallet_id = testid.trim_start_matches("integration-remove-").to_owned();
    assert!(b.is_visible(&format!("added-{wallet_id}")).await, "the row of the new wallet");
    assert_eq!(b.text(&testid).await, "Remove");

    // A first click only asks to confirm.
    b.click(&testid).await;
    let asked = b.text_until(&testid, "the confirmation", |t| t.contains("Confirm")).await;
    assert_eq!(asked, "Confirm");
    assert!(b.is_visible(&format!("added-{wallet_id}")).await, "nothing removed yet");
    b.shot("confirm-remove").await;

    // The second removes it on the server and from the list.
    b.click(&testid).await;
    b.until("the row to leave the list", || async {
        (!b.is_visible(&format!("added-{wallet_id}")).await).then_some(())
    })
    .await;
    assert!(!b.is_visible("integration-continue").await, "nothing connected: no Continue");
    let left = b.js("return document.querySelector('[data-testid=\"error\"]').textContent;", vec![]).await;
    assert_eq!(left, serde_json::json!(""), "no error");
    b.shot("removed").await;

    // The wallet is gone on the server: connecting it again works (no duplicate refusal).
    add_ethereum(&b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;
    b.assert_clean_console().await;
    b.close().await;
}
