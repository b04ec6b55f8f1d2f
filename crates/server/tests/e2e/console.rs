//! The developer console in Chromium (issue 19): sign in by emailed code → create an
//! organisation and an app (secret shown once) → add an origin → add a webhook to a local
//! receiver → send a test event → see the delivery → revoke a grant made through the demo →
//! see it in the audit trail. axe-core runs on every page; screenshots in light, dark and at
//! 360 px go to `target/e2e/console*/`.

use crate::axe::assert_accessible;
use crate::browser::{Browser, Viewport};
use crate::design::emulate_color_scheme;
use crate::flows::*;
use crate::server::DemoServer;
use fantoccini::elements::Element;
use fantoccini::Locator;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PHONE: Viewport = Viewport::Phone { width: 360, height: 740 };

/// A local webhook receiver answering 200 to everything; counts what it got.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let c = counter.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}/hook"), hits)
}

async fn find(b: &Browser, css: &str) -> Element {
    b.until(&format!("{css} on the page"), || async { b.client.find(Locator::Css(css)).await.ok() }).await
}

async fn fill(b: &Browser, css: &str, text: &str) {
    let el = find(b, css).await;
    el.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
    el.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn press(b: &Browser, css: &str) {
    find(b, css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn body_text(b: &Browser) -> String {
    b.js("return document.body.innerText", vec![]).await.as_str().unwrap_or_default().to_owned()
}

async fn heading(b: &Browser) -> String {
    find(b, "h1").await.text().await.unwrap_or_default()
}

/// Signs `email` in through the console's pages with the code from the SMTP sink.
async fn sign_in(b: &Browser, server: &DemoServer, email: &str) {
    let sink = server.smtp.as_ref().expect("the SMTP sink");
    let before = sink.mails().len();
    b.goto(&server.url("/console")).await;
    assert_eq!(heading(b).await, "Sign in");
    assert_accessible(b, "sign-in").await;
    b.shot("sign-in").await;
    fill(b, "#email", email).await;
    press(b, "form[action='/console/sign-in'] button").await;
    find(b, "#code").await;
    assert_accessible(b, "code").await;
    let until = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(m) = sink.mails().into_iter().skip(before).find(|m| m.to.iter().any(|t| t == email)) {
            break m.header("Subject").expect("subject").split_whitespace().next().expect("code").to_owned();
        }
        assert!(Instant::now() < until, "a console code mail to {email}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    fill(b, "#code", &code).await;
    press(b, "form[action='/console/sign-in/verify'] button").await;
    b.until("the apps page", || async { (heading(b).await == "Your apps").then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_from_sign_in_to_audit() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let email = "ops@example.com";
    // An operator: sees every organisation, so also the demo client whose grant is revoked.
    server.app.service.set_console_operator(email, true).await.expect("operator");
    let (hook_url, hits) = receiver().await;
    let b = Browser::start("console", Viewport::Desktop).await;

    sign_in(&b, &server, email).await;
    assert_accessible(&b, "apps (no organisation)").await;
    fill(&b, "#org-name", "Acme").await;
    press(&b, "form[action='/console/orgs'] button").await;
    let app_name = find(&b, "input[name='name'][id^='app-name-']").await;
    app_name.send_keys("Shop").await.expect("type the app name");
    assert_accessible(&b, "apps").await;
    b.shot("apps").await;
    press(&b, "form[action='/console/apps'] button").await;

    // The secret, this once.
    let secret = find(&b, "[data-secret]").await.text().await.expect("secret");
    assert!(secret.starts_with("kcs_"), "{secret}");
    assert_accessible(&b, "app created").await;
    b.shot("app-created").await;
    press(&b, "a.button.primary").await;
    b.until("the app page", || async { (heading(&b).await == "Shop").then_some(()) }).await;
    assert!(!body_text(&b).await.contains(&secret), "the secret is not shown again");
    let app_url = b.client.current_url().await.expect("url").to_string();
    let client_id = app_url.rsplit('/').next().expect("id").to_owned();

    // Origins: a bad one is refused inline, the server's own is added.
    fill(&b, "#add-origin", "https://shop.example.com/path").await;
    press(&b, "form[action$='/origins'].row button").await;
    let err = find(&b, "#origin-error").await.text().await.expect("error");
    assert!(!err.is_empty());
    assert_accessible(&b, "app with an origin error").await;
    b.shot("origin-error").await;
    fill(&b, "#add-origin", &server.app.base).await;
    press(&b, "form[action$='/origins'].row button").await;
    b.until("the origin listed", || async {
        b.client.find(Locator::Css("ul.items code")).await.ok()?.text().await.ok().filter(|t| *t == server.app.base)
    })
    .await;
    assert_accessible(&b, "app").await;
    b.shot("app").await;

    // Webhooks: add one to the local receiver, send a test event, see it delivered.
    b.goto(&server.url(&format!("/console/apps/{client_id}/webhooks"))).await;
    assert_accessible(&b, "webhooks (empty)").await;
    fill(&b, "#wh-url", &hook_url).await;
    fill(&b, "#wh-desc", "Orders backend").await;
    press(&b, "#ev-grant\\.revoked").await;
    press(&b, "form[action$='/webhooks'].stack button").await;
    let wh_secret = find(&b, "[data-secret]").await.text().await.expect("secret");
    assert!(wh_secret.starts_with("whsec_"), "{wh_secret}");
    press(&b, "form[action$='/test'] button").await;
    b.until("a delivered test event", || async {
        b.goto(&server.url(&format!("/console/apps/{client_id}/webhooks"))).await;
        let t = body_text(&b).await;
        (t.contains("delivered") && t.contains("200")).then_some(())
    })
    .await;
    assert!(hits.load(Ordering::SeqCst) >= 1, "the receiver got the test event");
    let before = hits.load(Ordering::SeqCst);
    press(&b, "form[action$='/redeliver'] button").await;
    b.until("the redelivery received", || async { (hits.load(Ordering::SeqCst) > before).then_some(()) }).await;
    b.goto(&server.url(&format!("/console/apps/{client_id}/webhooks#log"))).await;
    assert_accessible(&b, "webhooks with a delivery").await;
    b.shot("webhooks-log").await;

    // A grant of the demo client, made by a guest through the real widget, revoked here.
    let grant = connect_new_guest(&b, &server).await;
    let demo = server.demo_creds().id;
    b.goto(&server.url(&format!("/console/apps/{demo}/grants?q={grant}"))).await;
    assert!(body_text(&b).await.contains(&grant), "the search finds {grant}");
    assert_accessible(&b, "grants").await;
    b.shot("grants").await;
    press(&b, &format!("form[action$='/grants/{grant}/revoke'] button")).await;
    b.until("the grant gone", || async { (!body_text(&b).await.contains(&grant)).then_some(()) }).await;
    assert!(!active_grants(&server).await.contains(&grant), "the Connect API no longer lists it");

    // Usage: the demo's link token and exchange drawn as charts.
    b.goto(&server.url(&format!("/console/apps/{demo}/usage"))).await;
    let funnel = find(&b, "svg.chart title").await.text().await.unwrap_or_default();
    let usage = body_text(&b).await;
    assert!(
        !usage.contains("No activity") && find(&b, "svg.chart rect.bar").await.is_displayed().await.unwrap_or(false),
        "usage drawn ({funnel}):\n{usage}"
    );
    assert_accessible(&b, "usage").await;
    b.shot("usage").await;

    // The audit trail shows the revocation.
    b.goto(&server.url(&format!("/console/audit?client_id={demo}"))).await;
    let audit = body_text(&b).await;
    assert!(audit.contains("grant.revoke") && audit.contains(&grant), "the revocation is audited:\n{audit}");
    assert_accessible(&b, "audit").await;
    b.shot("audit").await;

    // Dark: every page again, axe-clean.
    emulate_color_scheme(&b, "dark").await;
    for path in [
        "/console".to_owned(),
        format!("/console/apps/{client_id}"),
        format!("/console/apps/{client_id}/webhooks#log"),
        format!("/console/apps/{demo}/grants"),
        format!("/console/apps/{demo}/usage"),
        "/console/audit".to_owned(),
    ] {
        b.goto(&server.url(&path)).await;
        assert_accessible(&b, &format!("{path} (dark)")).await;
        let step = path.trim_start_matches('/').replace(['/', '?', '=', '#'], "-");
        b.shot(&format!("dark-{step}")).await;
    }
    let session = b.client.get_named_cookie("kc_console").await.expect("the session cookie");
    assert!(session.http_only().unwrap_or(false), "HttpOnly");
    b.close().await;

    // 360 px: the same pages fit and stay axe-clean (a fresh browser, the same session: a
    // second code within 30 s would be throttled).
    let p = Browser::start("console_phone", PHONE).await;
    p.goto(&server.url("/console/sign-in")).await;
    assert_accessible(&p, "sign-in at 360 px").await;
    p.shot("phone-sign-in").await;
    p.client.add_cookie(session).await.expect("set the session cookie");
    for (path, scheme) in [
        ("/console".to_owned(), "light"),
        (format!("/console/apps/{client_id}"), "light"),
        (format!("/console/apps/{client_id}/webhooks#log"), "dark"),
        (format!("/console/apps/{demo}/usage"), "dark"),
        (format!("/console/audit?client_id={demo}"), "light"),
    ] {
        emulate_color_scheme(&p, scheme).await;
        p.goto(&server.url(&path)).await;
        crate::design::assert_fits(&p, &path).await;
        assert_accessible(&p, &format!("{path} at 360 px")).await;
        let step = path.trim_start_matches('/').replace(['/', '?', '=', '#'], "-");
        p.shot(&format!("phone-{scheme}-{step}")).await;
    }
    p.close().await;
}

/// A one-page site on its own loopback port (another origin than the server): serves `html`
/// as it is when asked (set once the app and its link token exist).
async fn host_page() -> (String, Arc<std::sync::Mutex<String>>) {
    let html = Arc::new(std::sync::Mutex::new(String::new()));
    let shared = html.clone();
    let app = axum::Router::new().fallback(move || {
        let page = shared.lock().map(|h| h.clone()).unwrap_or_default();
        async move { axum::response::Html(page) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the host page");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, html)
}

/// The integrator's page: `connect.js` from the server, a connect button with the new app's
/// client id and link token; the public token it gets is kept for the test.
fn integrator_page(server: &str, client_id: &str, link_token: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dev App</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{server}/sdk/connect.js"></script></head>
<body><main><h1>Dev App</h1><div id="slot"></div><p id="result" data-testid="result"></p></main>
<script>
  KryptosConnect.init({{ clientId: "{client_id}", appName: "Dev App" }});
  var button = KryptosConnect.createButton({{
    generateLinkToken: function () {{ return {{ link_token: "{link_token}" }}; }},
    onConnectSuccess: function (c) {{ window.__kcPublic = c && c.public_token; document.getElementById("result").textContent = "connected"; }},
    onConnectError: function (e) {{ document.getElementById("result").textContent = "error " + e.code; }}
  }});
  button.setAttribute("data-testid", "connect");
  document.getElementById("slot").appendChild(button);
</script></body></html>"#
    )
}

/// Posts the confirmation form of a confirmation page (its `confirm=yes` button).
async fn confirm(b: &Browser, what: &str) {
    find(b, "form input[name='confirm'][value='yes']").await;
    assert_accessible(b, &format!("confirm {what}")).await;
    b.shot(&format!("confirm-{}", what.replace(' ', "-"))).await;
    press(b, "form:has(input[name='confirm']) button[type='submit']").await;
}

/// Signs in, creates an organisation and an app; returns (client id, secret).
async fn new_org_and_app(b: &Browser, org: &str, app: &str) -> (String, String) {
    fill(b, "#org-name", org).await;
    press(b, "form[action='/console/orgs'] button").await;
    let name = find(b, "input[name='name'][id^='app-name-']").await;
    name.send_keys(app).await.expect("type the app name");
    press(b, "form[action='/console/apps'] button").await;
    let secret = find(b, "[data-secret]").await.text().await.expect("secret");
    press(b, "a.button.primary").await;
    b.until("the app page", || async { (heading(b).await == app).then_some(()) }).await;
    let url = b.client.current_url().await.expect("url").to_string();
    (url.rsplit('/').next().expect("id").to_owned(), secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_developer_gets_the_widget_working_from_their_own_origin() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let (host, page) = host_page().await;
    let b = Browser::start("console_new_app", Viewport::Desktop).await;

    // Nothing but a browser: sign up by emailed code, an organisation, an app, an origin.
    sign_in(&b, &server, "dev@newco.example").await;
    let (client_id, secret) = new_org_and_app(&b, "NewCo", "Dev App").await;
    assert!(secret.starts_with("kcs_"), "{secret}");
    fill(&b, "#add-origin", &host).await;
    press(&b, "form[action$='/origins'].row button").await;
    b.until("the origin listed", || async {
        b.client.find(Locator::Css("ul.items code")).await.ok()?.text().await.ok().filter(|t| *t == host)
    })
    .await;
    b.shot("origin-registered").await;

    // The integrator's backend makes a link token with the new secret; their page (another
    // origin) opens the widget with the new client id; a guest connects the sandbox wallet.
    let creds = crate::helpers::Creds { id: client_id.clone(), secret: secret.clone() };
    let link = server.app.link_token(&creds).await;
    *page.lock().expect("page") = integrator_page(&server.app.base, &client_id, &link);
    b.goto(&format!("{host}/")).await;
    b.visible("connect").await;
    b.shot("integrator-page").await;
    b.click("connect").await;
    b.enter_widget().await;
    guest_widget_flow(&b).await;
    wait_overlay_gone(&b).await;
    b.text_until("result", "connected", |t| t == "connected").await;
    let public = b.js("return window.__kcPublic;", vec![]).await;
    let public = public.as_str().unwrap_or_else(|| panic!("a public token in onConnectSuccess: {public}")).to_owned();
    let exchanged = server.app.exchange(&creds, &public).await;
    let grant = exchanged.data()["grant_id"].as_str().expect("grant_id").to_owned();
    // The integrator's backend reads the user's data once (a Data API call, counted per day).
    let access = exchanged.data()["access_token"].as_str().expect("access_token").to_owned();
    let info = server
        .app
        .http
        .get(server.url("/api/v1/userinfo"))
        .bearer_auth(&access)
        .header("X-Client-Id", &creds.id)
        .header("X-Client-Secret", &creds.secret)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(info.status(), 200, "the Data API answers the new app");
    assert_eq!(server.app.node().grant_ids(&creds).await, vec![grant.clone()], "one grant of the new app");
    b.shot("integrator-connected").await;

    // The console shows it: the grant, and the link token, completion and exchange in usage.
    b.goto(&server.url(&format!("/console/apps/{client_id}/grants"))).await;
    assert!(body_text(&b).await.contains(&grant), "the new app's grant is listed");
    b.goto(&server.url(&format!("/console/apps/{client_id}/usage"))).await;
    let usage = body_text(&b).await;
    assert!(!usage.contains("No activity") && usage.contains("Data API calls: 1"), "usage of the new app:\n{usage}");
    assert_accessible(&b, "usage of the new app").await;
    b.shot("usage").await;

    // Webhooks: add, rotate the secret (confirmed, shown once), disable, enable, delete.
    let (hook_url, _hits) = receiver().await;
    b.goto(&server.url(&format!("/console/apps/{client_id}/webhooks"))).await;
    fill(&b, "#wh-url", &hook_url).await;
    press(&b, "form[action$='/webhooks'].stack button").await;
    let first = find(&b, "[data-secret]").await.text().await.expect("secret");
    press(&b, "form[action$='/rotate-secret'] button").await;
    confirm(&b, "rotate webhook secret").await;
    let rotated = find(&b, "[data-secret]").await.text().await.expect("rotated secret");
    assert!(rotated.starts_with("whsec_") && rotated != first, "a new signing secret: {rotated}");
    assert_accessible(&b, "webhook secret rotated").await;
    b.shot("webhook-rotated").await;
    press(&b, "form[action$='/disable'] button").await;
    confirm(&b, "disable webhook").await;
    find(&b, "form[action$='/enable'] button").await;
    assert!(body_text(&b).await.contains("disabled"), "the endpoint is marked disabled");
    assert_accessible(&b, "webhook disabled").await;
    b.shot("webhook-disabled").await;
    press(&b, "form[action$='/enable'] button").await;
    find(&b, "form[action$='/disable'] button").await;
    press(&b, "form[action$='/delete'] button").await;
    confirm(&b, "delete webhook").await;
    b.until("the endpoint gone", || async { body_text(&b).await.contains("No endpoints yet.").then_some(()) }).await;

    // The owner disables the app (confirmed): its credentials make no more link tokens.
    b.goto(&server.url(&format!("/console/apps/{client_id}"))).await;
    press(&b, "form[action$='/disable'] button").await;
    confirm(&b, "disable app").await;
    b.until("the app disabled", || async {
        b.client.find(Locator::Css("#creds ~ dl .badge.bad")).await.ok()?;
        Some(())
    })
    .await;
    assert_accessible(&b, "app disabled").await;
    b.shot("app-disabled").await;
    let refused = server.app.post("/link-token", &creds, serde_json::json!({})).await;
    refused.assert_error(401, "INVALID_CLIENT");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_invited_accept_and_change_roles_in_the_console() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let owner = Browser::start("console_members", Viewport::Desktop).await;
    sign_in(&owner, &server, "owner@team.example").await;
    new_org_and_app(&owner, "Team", "Team App").await;
    owner.goto(&server.url("/console")).await;
    press(&owner, "a[href^='/console/orgs/']").await;
    let org_url = owner.client.current_url().await.expect("url").to_string();
    assert_accessible(&owner, "members (owner alone)").await;
    owner.shot("members").await;

    // A bad address is refused inline; a good one is invited as a viewer (and mailed).
    fill(&owner, "#invite-email", "not-an-address").await;
    owner.js("document.getElementById('invite-email').setAttribute('type', 'text')", vec![]).await;
    press(&owner, "form[action$='/invitations'] button").await;
    find(&owner, "#invite-error").await;
    assert_accessible(&owner, "invite error").await;
    owner.shot("invite-error").await;
    fill(&owner, "#invite-email", "dana@team.example").await;
    find(&owner, "#invite-role option[value='viewer']").await.click().await.expect("choose viewer");
    press(&owner, "form[action$='/invitations'] button").await;
    owner
        .until("the open invitation", || async { body_text(&owner).await.contains("dana@team.example").then_some(()) })
        .await;
    server.smtp.as_ref().expect("sink").wait_for("dana@team.example", Duration::from_secs(10)).await;
    assert_accessible(&owner, "members with an invitation").await;
    owner.shot("invited").await;

    // Dana signs in (another browser), accepts on the overview and sees the organisation.
    let dana = Browser::start("console_members_invitee", Viewport::Desktop).await;
    sign_in(&dana, &server, "dana@team.example").await;
    find(&dana, "#my-invitations").await;
    assert!(body_text(&dana).await.contains("Join Team"), "the invitation names the organisation");
    assert_accessible(&dana, "invitation for you").await;
    dana.shot("invitation").await;
    press(&dana, "form[action$='/accept'] button").await;
    dana.until("the organisation page", || async { heading(&dana).await.starts_with("Team").then_some(()) }).await;
    assert!(body_text(&dana).await.contains("viewer"), "Dana joined as a viewer");
    assert!(dana.client.find(Locator::Css("form[action$='/invitations']")).await.is_err(), "a viewer cannot invite");
    dana.shot("joined").await;
    dana.close().await;

    // The owner makes Dana an admin, then removes her (confirmed).
    owner.goto(&org_url).await;
    let row = "form[action*='/members/'][action$='/role']";
    let dana_form = owner
        .until("Dana's role form", || async {
            for f in owner.client.find_all(Locator::Css(row)).await.ok()? {
                let label = f.find(Locator::Css("button")).await.ok()?.attr("aria-label").await.ok()??;
                if label.contains("dana@team.example") {
                    return Some(f);
                }
            }
            None
        })
        .await;
    dana_form.find(Locator::Css("option[value='admin']")).await.expect("admin option").click().await.expect("choose");
    dana_form.find(Locator::Css("button")).await.expect("button").click().await.expect("change");
    owner
        .until("Dana an admin", || async {
            let role = owner
                .js(
                    "var f = Array.from(document.querySelectorAll(\"form[action$='/role']\")).find(function (f) { \
                       return f.querySelector('button').getAttribute('aria-label').indexOf('dana@team.example') >= 0; }); \
                     return f ? f.querySelector('select').value : null;",
                    vec![],
                )
                .await;
            (role.as_str() == Some("admin")).then_some(())
        })
        .await;
    assert_accessible(&owner, "members after the role change").await;
    owner.shot("role-changed").await;
    emulate_color_scheme(&owner, "dark").await;
    owner.goto(&org_url).await;
    assert_accessible(&owner, "members (dark)").await;
    owner.shot("dark-members").await;
    emulate_color_scheme(&owner, "light").await;
    press(&owner, "form[action$='/remove'] button[aria-label*='dana']").await;
    confirm(&owner, "remove member").await;
    owner.until("Dana gone", || async { (!body_text(&owner).await.contains("dana@team.example")).then_some(()) }).await;

    // 360 px, light and dark: the members page and a confirmation fit and stay axe-clean.
    fill(&owner, "#invite-email", "erin@team.example").await;
    press(&owner, "form[action$='/invitations'] button").await;
    owner.until("Erin invited", || async { body_text(&owner).await.contains("erin@team.example").then_some(()) }).await;
    let session = owner.client.get_named_cookie("kc_console").await.expect("the session cookie");
    owner.close().await;
    let p = Browser::start("console_members_phone", PHONE).await;
    p.goto(&server.url("/console/sign-in")).await;
    p.client.add_cookie(session).await.expect("set the session cookie");
    for scheme in ["light", "dark"] {
        emulate_color_scheme(&p, scheme).await;
        p.goto(&org_url).await;
        find(&p, "#invitations").await;
        crate::design::assert_fits(&p, "members at 360 px").await;
        assert_accessible(&p, &format!("members at 360 px ({scheme})")).await;
        p.shot(&format!("phone-{scheme}-members")).await;
    }
    press(&p, "form[action$='/remove'] button").await;
    find(&p, "form input[name='confirm'][value='yes']").await;
    crate::design::assert_fits(&p, "a confirmation at 360 px").await;
    assert_accessible(&p, "a confirmation at 360 px (dark)").await;
    p.shot("phone-dark-confirm").await;
    p.close().await;
}
