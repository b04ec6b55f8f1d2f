//! Steps shared by the design-review scenarios (accessibility, French on a phone, branding):
//! the widget opened directly in page mode, a walk through every screen with a checkpoint at
//! each, the layout check of a 360 px screen and a dark colour scheme for the top-level page.

use crate::axe::assert_accessible;
use crate::browser::Browser;
use crate::flows::*;
use crate::server::DemoServer;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{json, Value};

/// `POST /session/{id}/goog/cdp/execute`: a Chrome DevTools command on the current page.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Makes the page report `prefers-color-scheme: dark` (or light) from now on.
pub async fn emulate_color_scheme(b: &Browser, scheme: &str) {
    b.client
        .issue_cmd(Cdp(json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": { "features": [{ "name": "prefers-color-scheme", "value": scheme }] }
        })))
        .await
        .unwrap_or_else(|e| panic!("emulate prefers-color-scheme: {scheme}: {e}"));
}

/// Opens the widget page itself (page mode) for a fresh link token of the demo client;
/// `extra` is appended to the fragment (`theme=dark&lang=fr`…).
pub async fn open_page_widget(b: &Browser, server: &DemoServer, extra: &str) {
    let link = demo_link_token(server).await;
    let id = server.demo_creds().id;
    // From a blank page: the same path with a new fragment alone would not reload the widget.
    b.goto("about:blank").await;
    b.goto(&server.url(&format!("/connect?client_id={id}#link_token={link}&mode=page&{extra}"))).await;
}

/// Fails when something visible sticks out of the viewport horizontally, the page scrolls
/// sideways, or a text is cut off (ellipsis or clipped) inside its box.
pub async fn assert_fits(b: &Browser, what: &str) {
    let v = b
        .js(
            "var w = window.innerWidth, out = [], cut = []; \
             document.querySelectorAll('body *').forEach(function (el) { \
               var r = el.getBoundingClientRect(); \
               if (r.width < 1 || r.height < 1 || el.closest('[hidden], .kc-sr-only, .kc-sprite')) return; \
               var cs = getComputedStyle(el); \
               if (cs.visibility === 'hidden' || cs.position === 'absolute' && cs.clip !== 'auto') return; \
               if (r.left < -0.5 || r.right > w + 0.5) out.push((el.getAttribute('data-testid') || el.id || el.className || el.tagName) + ' [' + Math.round(r.left) + ',' + Math.round(r.right) + ']'); \
               var text = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); }); \
               if (text && el.tagName !== 'INPUT' && (cs.overflowX !== 'visible' || cs.textOverflow === 'ellipsis') && el.scrollWidth > el.clientWidth + 1) \
                 cut.push((el.getAttribute('data-testid') || el.id || el.className || el.tagName) + ': ' + el.textContent.trim().slice(0, 60)); \
             }); \
             var ctx = document.createElement('canvas').getContext('2d'); \
             document.querySelectorAll('input[placeholder]').forEach(function (i) { \
               if (i.value || i.closest('[hidden]') || i.getBoundingClientRect().width < 1) return; \
               var cs = getComputedStyle(i); ctx.font = cs.font; \
               var room = i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight); \
               if (ctx.measureText(i.placeholder).width > room + 1) cut.push('placeholder of ' + i.id + ': ' + i.placeholder); \
             }); \
             return { width: w, scroll: document.documentElement.scrollWidth, out: out, cut: cut };",
            vec![],
        )
        .await;
    assert!(
        v["scroll"].as_u64().zip(v["width"].as_u64()).is_some_and(|(s, w)| s <= w),
        "{what}: no horizontal scrolling: {v}"
    );
    assert_eq!(v["out"], json!([]), "{what}: nothing sticks out of the screen: {v}");
    assert_eq!(v["cut"], json!([]), "{what}: no text is cut off: {v}");
}

/// Scrolls `testid` to the middle of its scroll area (clear of the sticky buttons), then
/// clicks it.
pub async fn click_centered(b: &Browser, testid: &str) {
    let el = b.visible(testid).await;
    b.js(
        "arguments[0].scrollIntoView({ block: 'center' }); return true;",
        vec![serde_json::to_value(&el).expect("element")],
    )
    .await;
    b.click(testid).await;
}

/// What to verify at every screen of [`walk_every_step`].
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Run axe-core (zero violations).
    pub axe: bool,
    /// Nothing sticks out or is cut off (phones).
    pub fits: bool,
    /// The French words of every screen (no English label left).
    pub french: bool,
}

/// English words that must not appear on a French screen (labels the catalogue or the
/// markup could leak).
const ENGLISH: &[&str] = &[
    "Sign in",
    "Approve",
    "Connect",
    "Finish",
    "Loading",
    "Close",
    "Back",
    "Continue",
    "guest",
    "Email address",
    "Send code",
    "Verify",
    "Resend",
    "Allow",
    "Deny",
    "Wallet",
    "Exchange",
    "Name",
    "Search",
    "Queued",
    "Synced",
    "Syncing",
    "Failed",
    "Done",
    "Add another",
    "Sandbox",
    "address",
    "Please",
    "optional",
    "View your",
    "Secured by",
];

/// The checks of one screen: a screenshot, then what `checks` asks for.
pub async fn checkpoint(b: &Browser, step: &str, checks: Checks) {
    b.shot(step).await;
    if checks.fits {
        assert_fits(b, step).await;
    }
    if checks.french {
        let text = b
            .js(
                "var parts = [document.body.innerText]; \
                 document.querySelectorAll('[placeholder], [aria-label], [title]').forEach(function (el) { \
                   if (!el.closest('[hidden]')) parts.push(el.getAttribute('placeholder') || '', el.getAttribute('aria-label') || '', el.getAttribute('title') || ''); }); \
                 return parts.join('\\n');",
                vec![],
            )
            .await;
        let text = text.as_str().unwrap_or_default().to_owned();
        // Proper names and data are not words to translate.
        let scrubbed = text.replace("Kryptos Connect", "").replace("Kryptos Demo App", "").replace("Acme", "");
        for word in ENGLISH {
            // Whole words only ("Continue" is not in "Continuer").
            let found = scrubbed.match_indices(word).any(|(i, _)| {
                let before = scrubbed[..i].chars().next_back().is_some_and(char::is_alphabetic);
                let after = scrubbed[i + word.len()..].chars().next().is_some_and(char::is_alphabetic);
                !before && !after
            });
            assert!(!found, "{step}: the French screen still says “{word}”:\n{text}");
        }
    }
    if checks.axe {
        assert_accessible(b, step).await;
    }
}

/// Makes `email` a returning user in two workspaces (one owned, one administered), so that
/// signing in shows the workspace screen.
async fn user_in_two_workspaces(server: &DemoServer, email: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let conn = Database::connect(&server.app.database_url).await.expect("connect to the test database");
    let user = uuid::Uuid::new_v4();
    let (mine, team) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for sql in [
        format!("INSERT INTO users (id, email, is_anonymous, name, language, created_at) VALUES ('{user}', '{email}', false, NULL, 'en', 0)"),
        format!("INSERT INTO workspaces (id, name, created_at) VALUES ('{mine}', 'Personal portfolio', 0)"),
        format!("INSERT INTO workspaces (id, name, created_at) VALUES ('{team}', 'Family office', 0)"),
        format!("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ('{mine}', '{user}', 'owner', 0)"),
        format!("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ('{team}', '{user}', 'admin', 0)"),
    ] {
        conn.execute_unprepared(&sql).await.unwrap_or_else(|e| panic!("fixture SQL failed ({e}): {sql}"));
    }
}

/// Every screen of the widget in page mode, for the demo (sandbox) client: sign-in choice,
/// email form, code entry, a wrong code, the workspace choice of a user in two workspaces
/// and that user's consent; then a guest's consent (and its details), the provider list, a
/// provider form with a refused address, the connected list, the status screen until
/// synced, the done screen; and the error screen of a dead link. The server must deliver
/// mail to its SMTP sink (`DemoServer::start(true)`).
pub async fn walk_every_step(b: &Browser, server: &DemoServer, fragment: &str, checks: Checks) {
    let sink = server.smtp.as_ref().expect("walk_every_step reads the sign-in code from the SMTP sink");
    let email = "grace.hopper@example.com";
    user_in_two_workspaces(server, email).await;

    // Email sign-in: a wrong code, the right one, the workspace choice, consent.
    open_page_widget(b, server, fragment).await;
    b.visible("step-auth").await;
    checkpoint(b, "auth", checks).await;
    b.click("auth-email").await;
    b.visible("email-input").await;
    checkpoint(b, "email", checks).await;
    b.type_into("email-input", email).await;
    b.click("email-submit").await;
    b.visible("code-input").await;
    checkpoint(b, "code", checks).await;
    let mail = sink.wait_for(email, std::time::Duration::from_secs(15)).await;
    let code = mail.header("Subject").unwrap_or_default().split_whitespace().next().unwrap_or_default().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_into("code-input", wrong).await;
    b.click("code-submit").await;
    b.text_until("error", "the wrong-code message", |t| !t.is_empty()).await;
    checkpoint(b, "code-wrong", checks).await;
    b.type_into("code-input", &code).await;
    b.click("code-submit").await;
    b.visible("step-workspace").await;
    checkpoint(b, "workspace", checks).await;
    let choice = b
        .until("the workspace choices", || async {
            let v = b.js("var el = document.querySelector('#workspace-list button'); return el ? el.getAttribute('data-testid') : null;", vec![]).await;
            v.as_str().map(str::to_owned)
        })
        .await;
    b.click(&choice).await;
    b.visible("step-consent").await;
    checkpoint(b, "consent-email", checks).await;

    // A guest, through every later screen.
    open_page_widget(b, server, fragment).await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    checkpoint(b, "consent", checks).await;
    click_centered(b, "consent-details").await;
    b.visible("consent-raw").await;
    checkpoint(b, "consent-details", checks).await;
    b.click("consent-allow").await;
    b.visible("provider-ethereum").await;
    checkpoint(b, "providers", checks).await;
    b.click("provider-ethereum").await;
    b.visible("address-input").await;
    checkpoint(b, "provider-form", checks).await;
    b.type_into("address-input", "0x0000000000000000000000000000000000000001").await;
    b.click("integration-submit").await;
    b.text_until("error", "the sandbox message", |t| !t.is_empty()).await;
    checkpoint(b, "sandbox-error", checks).await;
    b.click("use-test-address").await;
    b.click("integration-submit").await;
    b.visible("integration-continue").await;
    checkpoint(b, "connected", checks).await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.until("the wallet to finish syncing", || async {
        let v = b.js("return document.querySelector('#status-list [data-status=\"synced\"]') !== null;", vec![]).await;
        (v == json!(true)).then_some(())
    })
    .await;
    checkpoint(b, "status", checks).await;
    b.click("status-done").await;
    b.visible("step-done").await;
    checkpoint(b, "done", checks).await;

    // A dead link.
    let id = server.demo_creds().id;
    b.goto("about:blank").await;
    b.goto(&server.url(&format!("/connect?client_id={id}#link_token=link_not-a-real-token&mode=page&{fragment}")))
        .await;
    b.visible("step-error").await;
    checkpoint(b, "error", checks).await;
}
