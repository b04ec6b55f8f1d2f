//! The consent screen: plain words first, raw scope ids behind a toggle, the whole list
//! readable on a phone, and no "email address" asked of a guest.

use crate::browser::{Browser, Viewport};
use crate::design::open_page_widget;
use crate::server::DemoServer;
use serde_json::{json, Value};
use std::time::Duration;

const PHONE: Viewport = Viewport::Phone { width: 360, height: 740 };

/// The visible lines of the scope list.
async fn lines(b: &Browser) -> Vec<String> {
    let v = b.js("return Array.prototype.map.call(document.querySelectorAll('#consent-scopes li'), function (li) { return li.innerText; });", vec![]).await;
    serde_json::from_value(v).expect("lines")
}

/// Scrolls each line of the list into view and checks it is fully shown: not clipped by
/// its box, not covered by the sticky buttons, its text not cut.
async fn assert_every_line_readable(b: &Browser, what: &str) {
    let v: Value = b
        .js(
            "var bad = []; var items = document.querySelectorAll('#consent-scopes li'); \
             var list = document.getElementById('consent-scopes'); \
             if (list.scrollHeight > list.clientHeight + 1) bad.push('the list box clips its content'); \
             items.forEach(function (li) { \
               li.scrollIntoView({ block: 'center' }); \
               var r = li.getBoundingClientRect(); \
               var actions = document.querySelector('#step-consent .kc-actions').getBoundingClientRect(); \
               if (r.bottom > actions.top + 0.5 && r.top < actions.bottom) bad.push('covered by the buttons: ' + li.innerText); \
               var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
               if (!hit || !li.contains(hit)) bad.push('not on top: ' + li.innerText); \
               li.querySelectorAll('*').forEach(function (el) { if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') bad.push('cut: ' + el.innerText); }); \
             }); \
             return bad;",
            vec![],
        )
        .await;
    assert_eq!(v, json!([]), "{what}: every consent line is readable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_speaks_plainly_shows_scope_ids_on_request_and_asks_no_email_of_a_guest() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let sink = server.smtp.as_ref().expect("the SMTP sink");
    let b = Browser::start("consent_wording", PHONE).await;

    // A guest.
    open_page_widget(&b, &server, "theme=light").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.shot("guest-consent").await;
    let guest = lines(&b).await;
    assert!(!guest.is_empty(), "some lines");
    for line in &guest {
        assert!(!line.contains(':') || line.contains(": "), "plain words, no scope id: {line}");
        assert!(!line.contains("openid") && !line.contains("_access"), "no scope id: {line}");
    }
    let all = guest.join("\n");
    assert!(!all.to_lowercase().contains("email"), "a guest is not asked for an email address: {all}");
    assert!(all.contains("holdings"), "it says what is shared: {all}");
    assert!(!b.is_visible("consent-raw").await, "scope ids are folded away at first");
    assert_every_line_readable(&b, "guest").await;
    crate::design::click_centered(&b, "consent-details").await;
    let raw = b.text("consent-raw").await;
    for id in ["openid", "email", "portfolios:read", "offline_access"] {
        assert!(raw.contains(id), "the details list the scope id {id}: {raw}");
    }
    b.js("document.getElementById('consent-details-box').scrollIntoView({ block: 'end' }); return true;", vec![]).await;
    b.shot("guest-consent-details").await;

    // An email user is told the email address is shared.
    let email = "dorothy.vaughan@example.com";
    open_page_widget(&b, &server, "theme=light").await;
    b.click("auth-email").await;
    b.type_into("email-input", email).await;
    b.click("email-submit").await;
    let mail = sink.wait_for(email, Duration::from_secs(15)).await;
    let code = mail.header("Subject").unwrap_or_default().split_whitespace().next().unwrap_or_default().to_owned();
    b.type_into("code-input", &code).await;
    b.click("code-submit").await;
    b.visible("step-consent").await;
    let user = lines(&b).await.join("\n");
    assert!(user.contains("See your email address"), "an email user shares the address: {user}");
    assert_every_line_readable(&b, "email user").await;
    b.shot("email-consent").await;
    b.assert_clean_console().await;
    b.close().await;
}
