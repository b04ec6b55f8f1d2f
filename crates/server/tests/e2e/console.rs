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
