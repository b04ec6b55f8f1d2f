//! The dark theme on a 360×740 phone: the widget opened directly in page mode, then the demo
//! with the SDK's full-screen overlay.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;
use serde_json::{json, Value};

const PHONE: Viewport = Viewport::Phone { width: 360, height: 740 };

/// Relative luminance (0 black … 1 white) of a CSS `rgb()`/`rgba()` colour.
fn luminance(css: &str) -> f64 {
    let inner = css.split_once('(').and_then(|(_, r)| r.strip_suffix(')')).unwrap_or_else(|| panic!("a colour: {css}"));
    let c: Vec<f64> = inner.split(',').take(3).map(|v| v.trim().parse::<f64>().expect("a channel") / 255.0).collect();
    let lin = |v: f64| if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

/// WCAG contrast ratio of two colours.
fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// Fails when something visible sticks out of the viewport horizontally or the page
/// scrolls sideways.
async fn assert_fits(b: &Browser, what: &str) {
    let v = b
        .js(
            "var w = window.innerWidth, out = []; \
             document.querySelectorAll('body *').forEach(function (el) { \
               var r = el.getBoundingClientRect(); \
               if (r.width < 1 || r.height < 1 || el.closest('[hidden], .kc-sr-only, .kc-sprite')) return; \
               var cs = getComputedStyle(el); if (cs.visibility === 'hidden' || cs.position === 'fixed' && cs.clip !== 'auto') return; \
               if (r.left < -0.5 || r.right > w + 0.5) out.push((el.getAttribute('data-testid') || el.id || el.className || el.tagName) + ' [' + Math.round(r.left) + ',' + Math.round(r.right) + ']'); \
             }); \
             return { width: w, scroll: document.documentElement.scrollWidth, out: out };",
            vec![],
        )
        .await;
    assert_eq!(v["width"], json!(360), "{what}: a 360 px wide viewport: {v}");
    assert!(v["scroll"].as_u64().is_some_and(|s| s <= 360), "{what}: no horizontal scrolling: {v}");
    assert_eq!(v["out"], json!([]), "{what}: nothing sticks out of a 360 px screen: {v}");
}

/// Background and text colours of the widget card.
async fn card_colours(b: &Browser) -> (String, String) {
    let v: Value = b
        .js(
            "var cs = getComputedStyle(document.querySelector('.kc-card')); \
             return [cs.backgroundColor, cs.color, document.documentElement.getAttribute('data-kc-theme')];",
            vec![],
        )
        .await;
    assert_eq!(v[2], json!("dark"), "the widget applied the dark theme: {v}");
    (v[0].as_str().expect("background").to_owned(), v[1].as_str().expect("colour").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dark_theme_on_a_phone_is_dark_readable_and_fits() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("dark_phone", PHONE).await;
    let creds = server.demo_creds();

    // 1. The widget page itself, as a redirect / popup flow would open it.
    let link = demo_link_token(&server).await;
    b.goto(&server.url(&format!("/connect?client_id={}#link_token={link}&mode=page&theme=dark", creds.id))).await;
    b.visible("step-auth").await;
    let url = b.client.current_url().await.expect("current url");
    assert!(url.fragment().is_none(), "the widget removes the link token from the address bar: {url}");
    let (bg, fg) = card_colours(&b).await;
    assert!(luminance(&bg) < 0.05, "a dark card background, got {bg}");
    assert!(contrast(&bg, &fg) >= 7.0, "readable text on it: {fg} on {bg}");
    let body_bg = b.js("return getComputedStyle(document.body).backgroundColor;", vec![]).await;
    assert!(luminance(body_bg.as_str().expect("body colour")) < 0.05, "a dark page behind it: {body_bg}");
    assert_fits(&b, "auth").await;
    b.shot("auth").await;

    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    assert_fits(&b, "consent").await;
    let allow = b
        .js(
            "var cs = getComputedStyle(document.querySelector('[data-testid=\"consent-allow\"]')); \
             return [cs.backgroundColor, cs.color];",
            vec![],
        )
        .await;
    let (allow_bg, allow_fg) = (allow[0].as_str().expect("bg"), allow[1].as_str().expect("fg"));
    assert!(contrast(allow_bg, allow_fg) >= 4.5, "a readable primary button: {allow_fg} on {allow_bg}");
    b.shot("consent").await;
    b.click("consent-allow").await;
    b.visible("provider-ethereum").await;
    assert_fits(&b, "providers").await;
    b.shot("providers").await;
    b.click("provider-ethereum").await;
    b.type_into("address-input", "0x0000000000000000000000000000000000000001").await;
    b.click("integration-submit").await;
    b.text_until("error", "the sandbox message", |t| t.contains("sandbox")).await;
    assert_fits(&b, "sandbox error").await;
    b.shot("sandbox-error").await;
    b.click("use-test-address").await;
    let clipped = b
        .js(
            "var i = document.querySelector('[data-testid=\"address-input\"]'); \
             return [i.value, i.scrollWidth > i.clientWidth];",
            vec![],
        )
        .await;
    assert_eq!(clipped, json!([SANDBOX_ETH, false]), "the whole test address is visible in its field");
    b.click("integration-submit").await;
    b.visible("integration-continue").await;
    assert_fits(&b, "connected list").await;
    b.shot("connected-list").await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    assert_fits(&b, "status").await;
    b.shot("status").await;
    b.click("status-done").await;
    b.visible("step-done").await;
    let done = b.text("step-done").await;
    assert!(done.contains("close this window"), "page mode tells the user what is next: {done}");
    assert_fits(&b, "done").await;
    b.shot("done").await;

    // 2. The demo on the same phone, dark theme picked in its options: a full-screen overlay.
    open_demo(&b, &server).await;
    assert_fits(&b, "demo").await;
    b.shot("demo").await;
    b.js(
        "var d = document.querySelector('details.options'); d.open = true; \
         var s = document.getElementById('opt-theme'); s.value = 'dark'; \
         s.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![],
    )
    .await;
    open_widget(&b).await;
    b.visible("step-auth").await;
    let (bg, _) = card_colours(&b).await;
    assert!(luminance(&bg) < 0.05, "the SDK passed the dark theme to the widget: {bg}");
    assert_fits(&b, "widget in the overlay").await;
    b.leave_widget().await;
    // The overlay slides in: its frame is measured once it has come to rest (a reading taken
    // mid-animation had it 1.2 px low).
    let full_screen = json!([0, 0, 360, 740]);
    let rect = b
        .until("the widget to fill the phone's screen (frame at [0, 0, 360, 740])", || async {
            let rect = b
                .js(
                    "var r = document.querySelector('[data-kryptos-connect=overlay] iframe').getBoundingClientRect(); \
                     return [r.left, r.top, r.width, r.height];",
                    vec![],
                )
                .await;
            (rect == full_screen).then_some(rect)
        })
        .await;
    assert_eq!(rect, full_screen, "on a phone the widget fills the screen");
    b.shot("demo-overlay").await;
    b.assert_clean_console().await;
    b.close().await;
}
