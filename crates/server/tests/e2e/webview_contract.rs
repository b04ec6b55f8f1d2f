//! The widget's side of the WebView contract (docs/webview-protocol.md): the real `/connect`
//! page in headless Chromium, with a `window.ReactNativeWebView = { postMessage }` shim
//! injected before any page script runs (as `react-native-webview` does), must post exactly
//! the message sequences of `docs/webview-protocol.fixtures.json` — the same file the
//! React Native package's Jest tests (`sdk/mobile/test/protocol.test.tsx`) feed to the
//! package. A change on either side that breaks the other fails one of them.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::helpers::Creds;
use crate::server::DemoServer;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// The fixture file shared with the package's tests.
const FIXTURES: &str = "docs/webview-protocol.fixtures.json";

/// How long a finished widget is watched for a second terminal message.
const QUIET: Duration = Duration::from_millis(1500);

/// What the shim records: every `ReactNativeWebView.postMessage` argument, untouched.
const SHIM: &str = "(function () { \
  var posted = []; \
  Object.defineProperty(window, '__kcPosted', { value: posted }); \
  window.ReactNativeWebView = { postMessage: function (m) { posted.push(m); } }; \
})();";

/// `Page.addScriptToEvaluateOnNewDocument` through ChromeDriver's CDP bridge: the script runs
/// in every new document before its own scripts (like `injectedJavaScriptBeforeContentLoaded`).
#[derive(Debug)]
struct InjectBeforeLoad(&'static str);

impl WebDriverCompatibleCommand for InjectBeforeLoad {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": "Page.addScriptToEvaluateOnNewDocument", "params": { "source": self.0 } });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The fixture file, parsed.
fn fixtures() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(FIXTURES);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{FIXTURES} is not JSON: {e}"))
}

/// The expected messages of fixture flow `name`.
fn expected(fx: &Value, name: &str) -> Vec<Value> {
    fx["flows"][name]["messages"].as_array().unwrap_or_else(|| panic!("{FIXTURES} has no flow {name}")).clone()
}

/// Does `actual` match `expected`, where `"<public_token>"` stands for any `public_…` string
/// and `"<text>"` for any non-empty string? Objects must have exactly the same keys.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(p), Value::String(a)) if p == "<public_token>" => {
            a.starts_with("public_") && a.len() > "public_".len()
        }
        (Value::String(p), Value::String(a)) if p == "<text>" => !a.trim().is_empty(),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|x| matches(v, x)))
        }
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y)),
        _ => expected == actual,
    }
}

/// Everything posted to the shim so far: each entry must be a string holding JSON
/// (`react-native-webview` only carries strings).
async fn posted(b: &Browser) -> Vec<Value> {
    let raw = b.js("return (window.__kcPosted || []).slice();", vec![]).await;
    raw.as_array()
        .expect("the shim's list")
        .iter()
        .map(|m| {
            let s = m.as_str().unwrap_or_else(|| panic!("ReactNativeWebView.postMessage got a non-string: {m}"));
            serde_json::from_str(s).unwrap_or_else(|e| panic!("a posted message is not JSON ({e}): {s}"))
        })
        .collect()
}

/// Waits until the widget has posted a terminal message (`success`, `error`, `close`), then
/// watches a little longer so that a second one would be seen; returns all messages.
async fn until_terminal(b: &Browser) -> Vec<Value> {
    b.until("a terminal message posted to ReactNativeWebView", || async {
        let all = posted(b).await;
        all.iter().any(|m| matches!(m["type"].as_str(), Some("success" | "error" | "close"))).then_some(())
    })
    .await;
    tokio::time::sleep(QUIET).await;
    posted(b).await
}

/// Asserts that `actual` is exactly fixture flow `name`; returns the terminal message.
fn assert_flow(fx: &Value, name: &str, actual: &[Value]) -> Value {
    let want = expected(fx, name);
    assert!(
        matches(&Value::Array(want.clone()), &Value::Array(actual.to_vec())),
        "flow {name}: the widget posted\n{}\nbut {FIXTURES} documents\n{}",
        serde_json::to_string_pretty(actual).unwrap_or_default(),
        serde_json::to_string_pretty(&want).unwrap_or_default()
    );
    actual.last().cloned().expect("a terminal message")
}

/// Opens the widget in WebView mode, as the React Native package does; checks that the
/// fragment (and so the link token) left the address bar.
async fn open_webview(b: &Browser, server: &DemoServer, creds: &Creds, link: &str) {
    // A fresh document each time (as a new WebView is): from the same page, a URL differing
    // only in its fragment would be a same-document navigation.
    b.goto("about:blank").await;
    b.goto(&server.url(&format!("/connect?client_id={}#link_token={link}&mode=webview&theme=light", creds.id))).await;
    b.until("the widget to boot in WebView mode", || async {
        let mode = b.js("return document.documentElement.getAttribute('data-kc-mode');", vec![]).await;
        (mode == json!("webview")).then_some(())
    })
    .await;
    let url = b.client.current_url().await.expect("current url");
    assert!(url.fragment().is_none(), "the widget removes the link token from the address bar: {url}");
    assert!(!url.as_str().contains(link), "the link token is nowhere in the URL: {url}");
}

/// Starts a phone-sized Chromium with the shim installed for every page.
async fn webview_browser(name: &str) -> Browser {
    let b = Browser::start(name, Viewport::Phone { width: 390, height: 844 }).await;
    b.client.issue_cmd(InjectBeforeLoad(SHIM)).await.expect("install the ReactNativeWebView shim over CDP");
    b
}

/// The flows this file runs; the fixture must document exactly these.
const FLOWS: [&str; 5] =
    ["new_user_success", "returning_user_success", "user_closed", "consent_denied", "invalid_link_token"];

#[test]
fn the_fixture_documents_exactly_the_flows_checked_here() {
    let fx = fixtures();
    assert_eq!(fx["source"], json!("kryptos-connect"));
    assert_eq!(fx["version"], json!(1), "bump the widget's PROTOCOL_VERSION and the package together");
    let mut names: Vec<&str> = fx["flows"].as_object().expect("flows").keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut ours = FLOWS.to_vec();
    ours.sort_unstable();
    assert_eq!(names, ours, "every documented flow is checked against the real widget");
    let widget = include_str!("../../../http/assets/widget.js");
    assert!(widget.contains("const PROTOCOL_VERSION = 1;"), "widget.js posts protocol version 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_posts_the_documented_success_messages_to_a_react_native_webview() {
    let _serial = crate::serial().await;
    let fx = fixtures();
    let server = DemoServer::start(false).await;
    let creds = server.demo_creds();
    let b = webview_browser("webview_contract_success").await;

    // A new user: guest → allow → the sandbox Ethereum address → done → a public token.
    let link = server.app.link_token(&creds).await;
    open_webview(&b, &server, &creds, &link).await;
    guest_widget_flow(&b).await;
    let all = until_terminal(&b).await;
    let last = assert_flow(&fx, "new_user_success", &all);
    let public = last["public_token"].as_str().expect("a public token").to_owned();
    // Closing the finished widget posts nothing more (the result is delivered once).
    b.click("close").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(posted(&b).await.len(), all.len(), "nothing is posted after the terminal message");
    b.shot("new-user-after-close").await;

    // The token is real: the backend exchanges it, exactly once.
    let exchanged = server.app.exchange(&creds, &public).await;
    let access = exchanged.data()["access_token"].as_str().expect("an access token").to_owned();
    server.app.exchange(&creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");

    // A returning user (link token created with the access token): no sign-in, no consent
    // screen (the grant holds it), straight to the wallets; success with null.
    let again = server.app.post("/link-token", &creds, json!({ "access_token": access })).await;
    let link = again.data()["link_token"].as_str().expect("link_token").to_owned();
    open_webview(&b, &server, &creds, &link).await;
    b.visible("step-integration").await;
    b.shot("returning-integrations").await;
    finish_widget(&b).await;
    let all = until_terminal(&b).await;
    assert_flow(&fx, "returning_user_success", &all);
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_posts_the_documented_close_and_error_messages_to_a_react_native_webview() {
    let _serial = crate::serial().await;
    let fx = fixtures();
    let server = DemoServer::start(false).await;
    let creds = server.demo_creds();
    let b = webview_browser("webview_contract_errors").await;

    // The close control on the first screen.
    let link = server.app.link_token(&creds).await;
    open_webview(&b, &server, &creds, &link).await;
    b.visible("step-auth").await;
    b.shot("auth").await;
    b.click("close").await;
    let all = until_terminal(&b).await;
    assert_flow(&fx, "user_closed", &all);

    // Deny on the consent screen.
    let link = server.app.link_token(&creds).await;
    open_webview(&b, &server, &creds, &link).await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.click("consent-deny").await;
    let all = until_terminal(&b).await;
    assert_flow(&fx, "consent_denied", &all);

    // A link token the server never issued: the error screen, reported when closed.
    let unknown = format!("link_{}", "A".repeat(43));
    open_webview(&b, &server, &creds, &unknown).await;
    b.visible("step-error").await;
    b.shot("invalid-token").await;
    assert!(posted(&b).await.iter().all(|m| m["type"] != json!("error")), "the error is reported only on close");
    b.click("error-close").await;
    let all = until_terminal(&b).await;
    assert_flow(&fx, "invalid_link_token", &all);
    b.assert_clean_console().await;
    b.close().await;
}
