//! The demo client site driving the SDK overlay: a new guest, a returning user, closing.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_guest_connects_a_sandbox_wallet_and_the_demo_backend_exchanges_the_token() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("new_guest", Viewport::Desktop).await;

    let grant = connect_new_guest(&b, &server).await;

    assert!(grant.starts_with("cgrant_"), "grant id {grant}");
    assert_eq!(active_grants(&server).await, vec![grant.clone()], "exactly the demo's grant is active");
    let steps = take_steps(&b).await;
    assert_eq!(
        steps.first().map(String::as_str),
        Some("auth"),
        "a new user starts at sign-in; steps the widget announced: {steps:?}"
    );
    for step in ["consent", "integration", "status", "done"] {
        assert!(steps.iter().any(|s| s == step), "the widget went through {step}: {steps:?}");
    }
    let holdings = b.visible("demo-holdings").await;
    b.js("arguments[0].scrollIntoView({ block: 'center' });", vec![serde_json::to_value(&holdings).expect("element")])
        .await;
    b.text_until("demo-holdings", "settled holdings", |t| !t.contains("Loading")).await;
    b.shot("demo-holdings").await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_user_skips_sign_in_and_the_page_gets_null() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("returning_user", Viewport::Desktop).await;
    let grant = connect_new_guest(&b, &server).await;
    take_steps(&b).await;

    // Again, on the same demo backend, which now holds an access token.
    open_widget(&b).await;
    b.until("the widget to open past sign-in", || async {
        for step in ["step-consent", "step-integration", "step-auth"] {
            if b.is_visible(step).await {
                return Some(step);
            }
        }
        None
    })
    .await;
    assert!(!b.is_visible("step-auth").await, "a returning user never sees the sign-in step");
    b.shot("returning-first-step").await;
    if b.is_visible("step-consent").await {
        b.click("consent-allow").await;
    }
    b.visible("step-integration").await;
    let listed = b
        .until("the wallet connected last time to be listed", || async {
            let n =
                b.js("return document.querySelectorAll('#added-list [data-testid^=\"added-\"]').length;", vec![]).await;
            n.as_u64().filter(|n| *n > 0)
        })
        .await;
    assert_eq!(listed, 1, "the workspace's one wallet is shown as connected");
    b.visible("integration-continue").await;
    b.shot("returning-integrations").await;
    // The workspace already has the wallet: continue without adding one.
    finish_widget(&b).await;
    wait_overlay_gone(&b).await;

    b.text_until("demo-status", "the returning-user message", |t| t.contains("existing grant")).await;
    let session = demo_session_valid(&b).await;
    assert!(session.contains(&grant), "the session still names the first grant {grant}: {session}");
    assert_eq!(demo_grant_id(&b).await, grant, "the demo shows the same grant");
    assert_eq!(active_grants(&server).await, vec![grant.clone()], "no second grant: no new exchange happened");
    let steps = take_steps(&b).await;
    assert!(!steps.iter().any(|s| s == "auth"), "no sign-in step for a returning user: {steps:?}");
    assert!(
        matches!(steps.first().map(String::as_str), Some("consent" | "integration")),
        "the returning flow starts at consent or integration: {steps:?}"
    );
    b.shot("demo-returning-done").await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_widget_calls_on_connect_error_and_leaves_no_iframe() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("close_widget", Viewport::Desktop).await;
    open_demo(&b, &server).await;

    for round in 1..=3 {
        open_widget(&b).await;
        b.visible("step-auth").await;
        if round == 1 {
            b.shot("open").await;
        }
        b.click("close").await;
        wait_overlay_gone(&b).await;
        let status = b.text_until("demo-status", "the closed message", |t| t.to_lowercase().contains("closed")).await;
        assert!(status.contains("Nothing changed"), "round {round}: onConnectError reported a dismissal: {status}");
        let (overlays, frames) = b.overlay_count().await;
        assert_eq!((overlays, frames), (0, 0), "round {round}: no overlay or iframe is left behind");
        let open = b.js("return window.KryptosConnect.isOpen();", vec![]).await;
        assert_eq!(open, serde_json::json!(false), "round {round}: the SDK knows it is closed");
        // The next round must be able to open again: the status is reset by generateLinkToken.
    }
    b.shot("closed").await;
    assert!(active_grants(&server).await.is_empty(), "closing creates no grant");
    b.assert_clean_console().await;
    b.close().await;
}
