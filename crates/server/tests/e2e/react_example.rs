//! `examples/react` — the seed's Web SDK Quick Start in a Vite + React app — built from its
//! lockfile, served by `examples/backend` beside its `/api/kryptos/*` endpoints, against a
//! real server: a new guest connects the sandbox wallet (`onSuccess({public_token})`, the
//! backend exchanges it, the page shows the holdings), then the same browser connects again
//! as a returning user (`onSuccess(null)`).
//!
//! The app is built here (`npm ci`, then `npm run build` with the client id of this run in
//! `VITE_KRYPTOS_CLIENT_ID`), so node and npm are required like Chromium: a missing one fails
//! the test. The SDK comes from `sdk/web` (`file:../../sdk/web`), i.e. its committed build.

use crate::browser::{free_port, target_dir, Browser, Viewport};
use crate::flows::{finish_widget, guest_widget_flow};
use crate::helpers::{fresh_database, spawn_app_on, Creds, Db, TestApp};
use fantoccini::Locator;
use kc_service::NewClient;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The example's directory in this repository.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/react")
}

/// Runs `npm args…` in the example's directory; fails the test with npm's output otherwise.
async fn npm(args: &[&str], env: &[(&str, &str)]) {
    let output = tokio::process::Command::new("npm")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(example_dir())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run `npm` ({e}): install Node.js 20+ and npm; browser tests never skip"));
    assert!(
        output.status.success(),
        "`npm {}` failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Installs the example's packages from its lockfile and builds it for `client_id` and
/// `base_url` into a directory under `target/` (so a developer's own `dist/` is left alone).
async fn build_example(client_id: &str, base_url: &str) -> PathBuf {
    let sdk = example_dir().join("../../sdk/web/dist/styles/index.css");
    assert!(sdk.is_file(), "{} is missing: the web SDK's build output is committed (sdk/web/dist)", sdk.display());
    let out = target_dir().join("react-example-site");
    npm(&["ci", "--no-audit", "--no-fund"], &[]).await;
    let out_arg = out.display().to_string();
    npm(
        &["run", "build", "--", "--outDir", &out_arg, "--emptyOutDir"],
        &[("VITE_KRYPTOS_CLIENT_ID", client_id), ("VITE_KRYPTOS_BASE_URL", base_url)],
    )
    .await;
    assert!(out.join("index.html").is_file(), "the build wrote {}/index.html", out.display());
    out
}

/// The Kryptos Connect server (fresh SQLite), the example's sandbox client registering the
/// example's origin, and the example backend serving the built app on that origin.
struct World {
    kryptos: TestApp,
    creds: Creds,
    site: String,
}

async fn start() -> World {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let port = free_port();
    let kryptos = spawn_app_on(&url, &dir, |s| {
        s.server.listen = format!("127.0.0.1:{port}");
        s.server.public_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    let site_port = free_port();
    let site = format!("http://127.0.0.1:{site_port}");
    let creds =
        kryptos.client_with(NewClient { origins: vec![site.clone()], ..NewClient::sandbox("My React App") }).await;
    let static_dir = build_example(&creds.id, &kryptos.base).await;

    let client = kc_client::Client::new(kryptos.base.clone())
        .expect("a Kryptos Connect client")
        .with_credentials(kc_client::api::ClientCredentials::new(creds.id.clone(), creds.secret.clone()));
    let app = kc_example_backend::app(kc_example_backend::Backend::new(client), Some(&static_dir));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", site_port)).await.expect("bind the example's port");
    tokio::spawn(async move { axum::serve(listener, app).await });
    World { kryptos, creds, site }
}

/// Records, in the page, every step the widget announces to its host (`window.__kcSteps`).
async fn record_steps(b: &Browser) {
    b.js(
        "window.__kcSteps = []; \
         window.addEventListener('message', function (e) { \
           var d = e.data; \
           if (d && d.source === 'kryptos-connect' && d.type === 'step') window.__kcSteps.push(d.step); \
         });",
        vec![],
    )
    .await;
}

/// The steps announced since the last call (and forgets them).
async fn take_steps(b: &Browser) -> Vec<String> {
    let v = b.js("var s = window.__kcSteps || []; window.__kcSteps = []; return s;", vec![]).await;
    serde_json::from_value(v).expect("a list of step names")
}

/// Clicks the SDK's "Connect to Kryptos" button and switches into the widget iframe.
async fn open_widget(b: &Browser) {
    let button = b
        .until("the SDK's Connect to Kryptos button", || async {
            let el = b
                .client
                .find(Locator::XPath("//button[contains(normalize-space(), 'Connect to Kryptos')]"))
                .await
                .ok()?;
            (el.is_displayed().await.ok()? && el.is_enabled().await.ok()?).then_some(el)
        })
        .await;
    button.click().await.expect("click Connect to Kryptos");
    let frame = b
        .until("the widget iframe", || async { b.client.find(Locator::Css("iframe[src*='/connect']")).await.ok() })
        .await;
    frame.enter_frame().await.expect("switch into the widget iframe");
}

/// Back on the page, waits for the SDK to remove the widget.
async fn wait_widget_gone(b: &Browser) {
    b.leave_widget().await;
    b.until("the widget iframe to leave the page", || async {
        let n = b.js("return document.querySelectorAll('iframe').length;", vec![]).await;
        (n.as_u64() == Some(0)).then_some(())
    })
    .await;
}

/// Waits for the holdings table; checks the sandbox wallet's assets and total.
async fn assert_sandbox_holdings(b: &Browser) {
    let total = b.text_until("example-total", "the sandbox total", |t| t.contains('$')).await;
    // 1.5 ETH at 3 000 + 2 500 USDC at 1 (the sandbox chain and price table).
    assert_eq!(total, "$7,000.00", "the total value of the sandbox wallet");
    let eth = b.text("holding-ETH").await;
    assert!(eth.contains("1.5") && eth.contains("$4,500.00"), "the ETH row: {eth}");
    let usdc = b.text("holding-USDC").await;
    assert!(usdc.contains("2,500") && usdc.contains("$2,500.00"), "the USDC row: {usdc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_react_quick_start_connects_a_new_guest_then_a_returning_user() {
    let _serial = crate::serial().await;
    let w = start().await;
    let b = Browser::start("react_example", Viewport::Desktop).await;

    // A new browser: the backend has no token for it.
    b.goto(&format!("{}/", w.site)).await;
    record_steps(&b).await;
    b.shot("page").await;
    open_widget(&b).await;
    guest_widget_flow(&b).await;
    wait_widget_gone(&b).await;
    let status = b.text_until("example-status", "the connected message", |t| t.contains("Connected!")).await;
    assert!(status.contains("shared with My React App"), "onSuccess({{public_token}}) and the exchange: {status}");
    assert_sandbox_holdings(&b).await;
    b.shot("holdings").await;
    let steps = take_steps(&b).await;
    assert_eq!(steps.first().map(String::as_str), Some("auth"), "a new user starts at sign-in: {steps:?}");
    let grants = w.kryptos.node().grant_ids(&w.creds).await;
    assert_eq!(grants.len(), 1, "the backend exchanged the public token for one grant: {grants:?}");

    // The same browser again: the backend creates the link token with the stored access
    // token (isAuthorized: true); the widget runs INTEGRATION only and answers null.
    open_widget(&b).await;
    let first = b
        .until("the widget to open", || async {
            for step in ["step-integration", "step-consent", "step-auth"] {
                if b.is_visible(step).await {
                    return Some(step);
                }
            }
            None
        })
        .await;
    b.shot("returning-first-step").await;
    // The grant already holds every scope the backend asks for: no sign-in, no consent.
    assert_eq!(first, "step-integration", "a returning user starts at the integrations");
    b.visible("step-integration").await;
    let listed = b
        .until("the wallet connected last time to be listed", || async {
            let n =
                b.js("return document.querySelectorAll('#added-list [data-testid^=\"added-\"]').length;", vec![]).await;
            n.as_u64().filter(|n| *n > 0)
        })
        .await;
    assert_eq!(listed, 1, "the workspace's one wallet is shown as connected");
    finish_widget(&b).await;
    wait_widget_gone(&b).await;
    let status =
        b.text_until("example-status", "the returning-user message", |t| t.contains("Already connected")).await;
    assert!(status.contains("nothing new to approve"), "onSuccess(null): {status}");
    assert_sandbox_holdings(&b).await;
    b.shot("returning-holdings").await;
    let steps = take_steps(&b).await;
    assert!(
        !steps.iter().any(|s| s == "auth" || s == "consent"),
        "INTEGRATION only for a returning user, no sign-in or consent: {steps:?}"
    );
    assert_eq!(steps.first().map(String::as_str), Some("integration"), "{steps:?}");
    assert_eq!(w.kryptos.node().grant_ids(&w.creds).await, grants, "no new grant: nothing was exchanged");

    // A reload: the page asks the backend, which still holds a working token.
    b.goto(&format!("{}/", w.site)).await;
    b.text_until("example-status", "the connected message", |t| t.contains("is connected")).await;
    assert_sandbox_holdings(&b).await;
    b.client.set_window_size(360, 780).await.expect("a 360 px wide window");
    b.shot("reloaded-360px").await;

    // The backend knows the browser by an HttpOnly cookie: page scripts cannot read it.
    let cookie = b.js("return document.cookie;", vec![]).await;
    assert_eq!(cookie, json!(""), "the user cookie is HttpOnly: {cookie}");
    b.assert_clean_console().await;
    b.close().await;
}
