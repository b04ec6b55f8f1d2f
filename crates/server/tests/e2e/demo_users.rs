//! The demo site: each browser is its own demo user; Disconnect shows `token_revoked`.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_browser_is_its_own_demo_user_and_disconnect_reports_token_revoked() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;

    // Ada connects in her browser.
    let ada = Browser::start("demo_user_ada", Viewport::Desktop).await;
    let ada_grant = connect_new_guest(&ada, &server).await;
    let cookie = ada.client.get_named_cookie("kc_demo_visitor").await.expect("the demo visitor cookie");
    assert_eq!(cookie.http_only(), Some(true), "the visitor cookie is HttpOnly");

    // Bob, in another browser, sees nobody's grant and starts as a new user.
    let bob = Browser::start("demo_user_bob", Viewport::Desktop).await;
    open_demo(&bob, &server).await;
    let session = bob.text("demo-session").await;
    assert!(session.contains("not connected"), "a new visitor has no session: {session}");
    assert!(!bob.text("demo-grant").await.contains(&ada_grant), "Bob never sees Ada's grant");
    bob.shot("bob-fresh").await;
    let bob_grant = {
        open_widget(&bob).await;
        bob.visible("step-auth").await; // a new user signs in: Ada's token was not used
        guest_widget_flow(&bob).await;
        wait_overlay_gone(&bob).await;
        bob.text_until("demo-status", "the connected message", |t| t.contains("Connected!")).await;
        demo_grant_id(&bob).await
    };
    assert_ne!(bob_grant, ada_grant, "Bob got his own grant");
    let mut active = active_grants(&server).await;
    active.sort();
    let mut both = vec![ada_grant.clone(), bob_grant.clone()];
    both.sort();
    assert_eq!(active, both, "both grants are active");

    // Bob disconnects: his session says token_revoked; Ada's grant is untouched.
    bob.click("demo-revoke").await;
    let session = bob.text_until("demo-session", "the revoked session", |t| t.contains("token_revoked")).await;
    assert!(session.contains("Invalid"), "the session check reports the revoked token: {session}");
    bob.text_until("demo-status", "the disconnected message", |t| t.contains("Disconnected")).await;
    bob.shot("bob-disconnected").await;
    assert_eq!(active_grants(&server).await, vec![ada_grant.clone()], "only Bob's grant was revoked");

    // Ada, reloading, still has her valid session.
    open_demo(&ada, &server).await;
    let session = demo_session_valid(&ada).await;
    assert!(session.contains(&ada_grant), "Ada's session is intact: {session}");
    ada.shot("ada-still-connected").await;

    // Bob connects again: a new user (sign-in shown), a new grant.
    open_widget(&bob).await;
    bob.visible("step-auth").await;
    bob.shot("bob-reconnect").await;
    bob.assert_clean_console().await;
    ada.assert_clean_console().await;
    bob.close().await;
    ada.close().await;
}
