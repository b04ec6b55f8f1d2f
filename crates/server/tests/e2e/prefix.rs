//! The widget of a Kryptos Connect router nested under `/kryptos` in a host app (served by
//! plain `axum::serve`), opened from one of the host's own pages: the page loads
//! `/kryptos/sdk/connect.js` without a `baseUrl` (the SDK finds the prefix from its own URL),
//! its backend creates the link token through `/kryptos/link-token`, and a guest connects the
//! sandbox wallet. The widget's page, script, styles and every API call go through the prefix.
//! And the demo site and the API reference under the prefix: their pages, `connect.js`, the
//! demo's backend and cookie, the reference's `openapi.json`.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::helpers::Creds;
use crate::host_support::*;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// What the host page needs once the client exists: its origin and the client.
type HostCell = Arc<OnceLock<(String, Creds)>>;

/// The host's page: its own markup and script, Kryptos Connect's SDK from under the prefix.
fn host_page(client_id: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host shop</title>
<script src="{PREFIX}/sdk/connect.js"></script></head>
<body><h1>Host shop</h1>
<button type="button" data-testid="host-connect" id="connect">Connect your crypto</button>
<p data-testid="host-result" id="result">idle</p>
<script>
KryptosConnect.init({{ clientId: "{client_id}", appName: "Host shop" }});
document.getElementById("connect").addEventListener("click", function () {{
  KryptosConnect.open({{
    generateLinkToken: async function () {{
      const r = await fetch("/shop/link-token", {{ method: "POST" }});
      return await r.json();
    }},
    onConnectSuccess: function (c) {{ document.getElementById("result").textContent = "public:" + (c ? c.public_token : "none"); }},
    onConnectError: function (e) {{ document.getElementById("result").textContent = "error:" + e.code; }}
  }});
}});
</script></body></html>"#
    )
}

/// The host's routes: `/shop` (the page) and its backend's `POST /shop/link-token`, which
/// calls the Connect API through the prefix with the client's credentials.
fn host_routes(cell: HostCell) -> Router {
    let page_cell = cell.clone();
    Router::new()
        .route(
            "/shop",
            get(move || {
                let cell = page_cell.clone();
                async move {
                    let (_, creds) = cell.get().expect("the client is registered before the page is opened");
                    axum::response::Html(host_page(&creds.id))
                }
            }),
        )
        .route(
            "/shop/link-token",
            post(move || {
                let cell = cell.clone();
                async move {
                    let (origin, creds) = cell.get().expect("registered");
                    let res = reqwest::Client::new()
                        .post(format!("{origin}{PREFIX}/link-token"))
                        .header("X-Client-Id", &creds.id)
                        .header("X-Client-Secret", &creds.secret)
                        .json(&json!({}))
                        .send()
                        .await
                        .expect("the host backend reaches /kryptos/link-token");
                    let body: Value = res.json().await.expect("JSON");
                    axum::Json(json!({ "link_token": body["data"]["link_token"] }))
                }
            }),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_page_opens_the_widget_under_the_prefix_and_a_guest_connects_a_sandbox_wallet() {
    let _serial = crate::serial().await;
    let cell: HostCell = Arc::new(OnceLock::new());
    let host = start_host(|_| {}, host_routes(cell.clone())).await;
    let creds = host_client(&host).await;
    assert!(cell.set((host.origin.clone(), creds.clone())).is_ok(), "set once");
    let b = Browser::start("prefix_host", Viewport::Desktop).await;

    b.goto(&host.url("/shop")).await;
    b.visible("host-connect").await;
    b.shot("host-page").await;
    let base = b.js("return KryptosConnect.getConfig().baseUrl;", vec![]).await;
    assert_eq!(base, json!(host.kc_url("")), "connect.js found the prefix it was loaded from");

    b.click("host-connect").await;
    let src = b
        .until("the widget iframe", || async {
            let v = b
                .js(
                    "var f = document.querySelector('[data-kryptos-connect=overlay] iframe'); return f ? f.src : null;",
                    vec![],
                )
                .await;
            v.as_str().map(str::to_owned)
        })
        .await;
    assert!(
        src.starts_with(&host.kc_url(&format!("/connect?client_id={}#", creds.id))),
        "the SDK frames the widget under the prefix: {src}"
    );
    b.enter_widget().await;
    let widget_base =
        b.js("return document.querySelector('meta[name=\"kc-base\"]').getAttribute('content');", vec![]).await;
    assert_eq!(widget_base, json!(PREFIX), "the widget page knows its base path");
    guest_widget_flow(&b).await;
    wait_overlay_gone(&b).await;

    let result = b.text_until("host-result", "the public token", |t| t.starts_with("public:")).await;
    let public = result.trim_start_matches("public:").to_owned();
    assert!(public.starts_with("public_"), "the host page got a public token: {result}");
    b.shot("host-connected").await;

    // The host backend exchanges it through the prefix and reads the user's data.
    let exchanged = host.kc.exchange(&creds, &public).await;
    let token = exchanged.data()["access_token"].as_str().expect("access token").to_owned();
    let info: Value = host
        .kc
        .http
        .get(host.kc_url("/api/v1/userinfo"))
        .bearer_auth(&token)
        .header("X-Client-Id", &creds.id)
        .header("X-Client-Secret", &creds.secret)
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("JSON");
    assert!(info["userInfo"]["sub"].as_str().is_some_and(|s| !s.is_empty()), "{info}");
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_site_under_the_prefix_connects_a_guest_and_remembers_the_grant() {
    let _serial = crate::serial().await;
    let host = start_host(|s| s.demo.enabled = true, Router::new()).await;
    let b = Browser::start("prefix_demo", Viewport::Desktop).await;

    b.goto(&host.kc_url("/demo")).await;
    b.visible("demo-connect").await;
    b.text_until("demo-session", "a settled session box", |t| !t.contains("Checking")).await;
    let base = b.js("return KryptosConnect.getConfig().baseUrl;", vec![]).await;
    assert_eq!(base, json!(host.kc_url("")), "the demo's connect.js found the prefix");
    b.shot("demo").await;
    b.click("demo-connect").await;
    b.enter_widget().await;
    guest_widget_flow(&b).await;
    wait_overlay_gone(&b).await;
    b.text_until("demo-status", "the connected message", |t| t.contains("Connected!")).await;
    let grant = demo_grant_id(&b).await;
    // The session check finds the grant: the demo backend knew this browser by its cookie,
    // which it scoped to /kryptos/demo.
    let session = demo_session_valid(&b).await;
    assert!(session.contains(&grant), "check-session names the grant {grant}: {session}");
    let cookie = b
        .client
        .get_named_cookie("kc_demo_visitor")
        .await
        .unwrap_or_else(|e| panic!("the demo visitor cookie is set: {e}"));
    assert_eq!(cookie.path(), Some("/kryptos/demo"), "scoped under the prefix");
    b.text_until("demo-holdings", "settled holdings", |t| !t.contains("Loading")).await;
    b.shot("demo-connected").await;

    // The API reference renders the document it fetches from under the prefix.
    b.goto(&host.kc_url("/docs")).await;
    let title = b
        .until("the rendered reference", || async {
            let v = b.js("var h = document.querySelector('#main h1'); return h ? h.textContent : null;", vec![]).await;
            v.as_str().map(str::to_owned)
        })
        .await;
    assert!(title.contains("Kryptos Connect"), "{title}");
    let link =
        b.js("return document.querySelector('#main a[href$=\"openapi.json\"]').getAttribute('href');", vec![]).await;
    assert_eq!(link, json!("/kryptos/openapi.json"));
    b.shot("docs").await;
    b.assert_clean_console().await;
    b.close().await;
}
