//! The page's `appName` / `appLogo` brand the widget beside the registered client name.

use crate::browser::{Browser, Viewport};
use crate::design::open_page_widget;
use crate::flows::*;
use crate::server::DemoServer;
use serde_json::json;

/// Name line, "via" line and the header logo's `src` (or null).
async fn header(b: &Browser) -> (String, String, Option<String>) {
    let v = b
        .js(
            "var img = document.querySelector('#kc-app-logo img'); \
             return [document.getElementById('kc-app-name').textContent, \
                     document.getElementById('kc-brand-sub').textContent, img ? img.getAttribute('src') : null];",
            vec![],
        )
        .await;
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_str().unwrap_or_default().to_owned(),
        v[2].as_str().map(str::to_owned),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_name_and_logo_brand_the_widget_beside_the_registered_client_name() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("branding", Viewport::Desktop).await;

    // 1. The demo page passes appName "Acme Portfolio" and an inline SVG appLogo through the SDK.
    open_demo(&b, &server).await;
    open_widget(&b).await;
    b.visible("step-auth").await;
    let (name, via, logo) = header(&b).await;
    assert_eq!(name, "Acme Portfolio", "the page's appName heads the widget");
    assert_eq!(via, "via Kryptos Demo App", "the registered client name is always shown beside it");
    assert!(logo.as_deref().is_some_and(|l| l.starts_with("data:image/svg+xml")), "the page's appLogo: {logo:?}");
    b.shot("demo-branded").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    let title = b.text("step-consent").await;
    assert!(
        title.contains("Kryptos Demo App wants"),
        "consent names who gets the data, the registered client: {title}"
    );
    b.shot("demo-branded-consent").await;
    b.leave_widget().await;

    // 2. Without appName: the registered name, "via Kryptos Connect".
    open_page_widget(&b, &server, "theme=light").await;
    b.visible("step-auth").await;
    let (name, via, _) = header(&b).await;
    assert_eq!((name.as_str(), via.as_str()), ("Kryptos Demo App", "via Kryptos Connect"));

    // 3. A page trying to pass itself off as someone else: markup stays text, the real
    //    client is still named, and a logo from a script or plain-http URL is refused.
    let fake = "<img src=x onerror=alert(1)>Coinbase";
    let frag = format!(
        "theme=light&app_name={}&app_logo={}",
        url::form_urlencoded::byte_serialize(fake.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(b"javascript:alert(1)").collect::<String>()
    );
    open_page_widget(&b, &server, &frag).await;
    b.visible("step-auth").await;
    let (name, via, logo) = header(&b).await;
    assert_eq!(name, fake, "the page's name is shown as plain text");
    assert_eq!(via, "via Kryptos Demo App", "and the registered client is named beside it");
    assert!(logo.is_none(), "no javascript: logo: {logo:?}");
    let injected = b.js("return document.querySelectorAll('img[src=\"x\"]').length;", vec![]).await;
    assert_eq!(injected, json!(0), "no markup from appName reached the DOM");
    b.shot("impersonation-attempt").await;

    let frag = format!(
        "theme=light&app_name=Shop&app_logo={}",
        url::form_urlencoded::byte_serialize(b"http://evil.example/logo.png").collect::<String>()
    );
    open_page_widget(&b, &server, &frag).await;
    b.visible("step-auth").await;
    let (_, _, logo) = header(&b).await;
    assert!(logo.is_none(), "a logo only from https: or data:image/: {logo:?}");
    b.assert_clean_console().await;
    b.close().await;
}
