//! The returning user in the browser (SPEC §6, the seed's backend guide): INIT → INTEGRATION →
//! STATUS. Through the demo's SDK overlay, a user whose grant already holds the requested scopes
//! sees neither the sign-in nor the consent screen and the page gets `null`; asked for more,
//! the consent screen lists only the new scopes.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;
use serde_json::json;

/// Classes of the stepper's items, in order (sign in, approve, connect, status).
async fn stepper(b: &Browser) -> Vec<String> {
    let v =
        b.js("return Array.from(document.querySelectorAll('#kc-stepper > li')).map(li => li.className);", vec![]).await;
    serde_json::from_value(v).expect("a list of class names")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_user_within_the_grant_sees_neither_sign_in_nor_consent() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("returning_no_consent", Viewport::Desktop).await;
    let grant = connect_new_guest(&b, &server).await;
    take_steps(&b).await;

    open_widget(&b).await;
    let first = b
        .until("the widget's first step", || async {
            for step in ["step-integration", "step-consent", "step-auth"] {
                if b.is_visible(step).await {
                    return Some(step);
                }
            }
            None
        })
        .await;
    b.shot("returning-first-step").await;
    assert_eq!(first, "step-integration", "a returning user goes straight to INTEGRATION");
    let classes = stepper(&b).await;
    assert!(
        classes.len() >= 3 && classes[0].contains("is-done") && classes[1].contains("is-done"),
        "sign-in and approval show as done: {classes:?}"
    );
    assert!(classes[2].contains("is-current"), "connecting is the current step: {classes:?}");
    b.visible("integration-continue").await;
    finish_widget(&b).await;
    wait_overlay_gone(&b).await;

    b.text_until("demo-status", "the returning-user message", |t| t.contains("existing grant")).await;
    let steps = take_steps(&b).await;
    assert!(!steps.iter().any(|s| s == "auth" || s == "consent"), "neither sign-in nor consent: {steps:?}");
    assert_eq!(steps.first().map(String::as_str), Some("integration"), "{steps:?}");
    assert!(steps.iter().any(|s| s == "status"), "then STATUS: {steps:?}");
    assert_eq!(active_grants(&server).await, vec![grant.clone()], "no new grant");
    let session = demo_session_valid(&b).await;
    assert!(session.contains(&grant), "{session}");
    b.shot("demo-returning-done").await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_user_asked_for_more_scopes_approves_only_the_new_ones() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("returning_more_scopes", Viewport::Desktop).await;
    let creds = server.demo_creds();
    let app = &server.app;

    // A grant for two scopes, then a link token resuming it that asks for two more.
    let a = app.post("/link-token", &creds, json!({ "scopes": "openid users:read" })).await;
    let first = a.data()["link_token"].as_str().expect("link").to_owned();
    app.send(reqwest::Method::POST, "/widget/auth/anonymous", None, Some(&first), None).await.data();
    app.send(reqwest::Method::POST, "/widget/consent", None, Some(&first), Some(json!({ "approve": true })))
        .await
        .data();
    let done = app.send(reqwest::Method::POST, "/widget/complete", None, Some(&first), None).await;
    let public = done.data()["public_token"].as_str().expect("public").to_owned();
    let ex = app.exchange(&creds, &public).await;
    let access = ex.data()["access_token"].as_str().expect("token").to_owned();
    let body = json!({ "access_token": access, "scopes": "openid users:read portfolios:read integrations:read" });
    let a = app.post("/link-token", &creds, body).await;
    let link = a.data()["link_token"].as_str().expect("link").to_owned();

    // The full-page widget, as a mobile app or a redirect flow would open it.
    b.goto(&server.url(&format!("/connect?client_id={}#mode=page&link_token={link}", creds.id))).await;
    b.visible("step-consent").await;
    assert!(!b.is_visible("step-auth").await, "no sign-in");
    let listed = b
        .js("return Array.from(document.querySelectorAll('#consent-raw code')).map(c => c.textContent);", vec![])
        .await;
    assert_eq!(listed, json!(["portfolios:read", "integrations:read"]), "only the scopes the grant lacks");
    let subtitle = b.js("return document.getElementById('consent-subtitle').textContent;", vec![]).await;
    assert!(subtitle.as_str().is_some_and(|s| s.contains("already connected")), "says it is more: {subtitle}");
    b.shot("consent-new-scopes").await;

    // The same screen in French, dark, 360 px wide (the link token lives until completion).
    b.client.set_window_size(360, 780).await.expect("a 360 px wide window");
    b.goto(
        &server.url(&format!("/connect?client_id={}&v=fr#mode=page&lang=fr&theme=dark&link_token={link}", creds.id)),
    )
    .await;
    b.visible("step-consent").await;
    let subtitle = b.js("return document.getElementById('consent-subtitle').textContent;", vec![]).await;
    assert!(subtitle.as_str().is_some_and(|s| s.contains("déjà connectée")), "in French: {subtitle}");
    b.shot("consent-new-scopes-fr-dark-360").await;

    b.click("consent-allow").await;
    b.visible("step-integration").await;
    b.shot("integration-after-more").await;

    let check = app.node().check_session(&creds, &access).await;
    assert_eq!(
        check.data()["granted_scopes"],
        json!("openid users:read portfolios:read integrations:read"),
        "approval extended the grant"
    );
    b.assert_clean_console().await;
    b.close().await;
}
