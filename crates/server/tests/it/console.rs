//! The developer console's pages (`/console`, issue 19) on SQLite and PostgreSQL, spoken to as
//! a browser without JavaScript would: sign-in by emailed code sets an HttpOnly, SameSite=Strict
//! cookie (Secure when the public URL is https); every form POST needs the session's CSRF
//! token (403 without it or with a wrong one); a viewer gets 403 on every write form; another
//! organisation's app ids answer 404 on every page and form; validation errors are shown inline.

use crate::helpers::*;
use crate::smtp::SmtpSink;
use reqwest::StatusCode;
use std::time::Duration;

/// A browser-like client that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// An answer: status, `Location`, `Set-Cookie` and the body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    csp: Option<String>,
    body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Page {
    let res = req.send().await.expect("request reaches the server");
    let h = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, location, set_cookie, csp) =
        (res.status(), h("location"), h("set-cookie"), h("content-security-policy"));
    Page { status, location, set_cookie, csp, body: res.text().await.expect("body") }
}

/// A signed-in console user: the cookie's value and the CSRF token from its pages.
struct User {
    cookie: String,
    csrf: String,
}

async fn get(app: &TestApp, cookie: Option<&str>, path: &str) -> Page {
    let mut req = browser().get(format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("kc_console={c}"));
    }
    send(req).await
}

async fn post(app: &TestApp, cookie: Option<&str>, path: &str, form: &[(&str, &str)]) -> Page {
    let mut req = browser().post(format!("{}{path}", app.base)).form(form);
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("kc_console={c}"));
    }
    send(req).await
}

/// The value of the first hidden `_csrf` field of a page.
fn csrf_of(body: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let at = body.find(marker).expect("a CSRF field") + marker.len();
    body[at..].split('"').next().expect("value").to_owned()
}

/// Signs `email` in through the sign-in pages; checks the cookie's flags.
async fn sign_in(app: &TestApp, sink: &SmtpSink, email: &str, secure: bool) -> User {
    let before = sink.mails().len();
    let start = post(app, None, "/console/sign-in", &[("email", email)]).await;
    assert_eq!(start.status, 200, "{}", start.body);
    assert!(start.body.contains("name=\"code\""), "the code form: {}", start.body);
    let code = {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = sink.mails().into_iter().skip(before).find(|m| m.to.iter().any(|t| t.contains(email)));
            if let Some(m) = found {
                break m.header("Subject").expect("subject").split_whitespace().next().expect("code").to_owned();
            }
            assert!(std::time::Instant::now() < until, "a code mail to {email}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if code != "000000" {
        let wrong = post(app, None, "/console/sign-in/verify", &[("email", email), ("code", "000000")]).await;
        assert_eq!(wrong.status, 400);
        assert!(wrong.body.contains("role=\"alert\""), "the error is shown inline: {}", wrong.body);
        assert!(wrong.set_cookie.is_none());
    }
    let ok = post(app, None, "/console/sign-in/verify", &[("email", email), ("code", &code)]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/console"));
    let cookie = ok.set_cookie.expect("a session cookie");
    assert!(cookie.starts_with("kc_console=kccs_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert_eq!(cookie.contains("; Secure"), secure, "Secure iff the public URL is https: {cookie}");
    let value = cookie.trim_start_matches("kc_console=").split(';').next().expect("value").to_owned();
    let home = get(app, Some(&value), "/console").await;
    assert_eq!(home.status, 200, "{}", home.body);
    User { csrf: csrf_of(&home.body), cookie: value }
}

/// `form` plus the user's CSRF token.
fn with_csrf<'a>(u: &'a User, form: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("_csrf", u.csrf.as_str())];
    f.extend_from_slice(form);
    f
}

/// An admin API call with a console session (JSON, `X-CSRF-Token`).
async fn admin(app: &TestApp, u: &User, path: &str, body: serde_json::Value) -> serde_json::Value {
    let res = browser()
        .post(format!("{}{path}", app.base))
        .header("Cookie", format!("kc_console={}", u.cookie))
        .header("X-CSRF-Token", &u.csrf)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("JSON")
}

/// Every write form of an app page, as (path, fields).
fn app_forms(c: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (format!("/console/apps/{c}/settings"), vec![("name", "Stolen"), ("scopes", ""), ("logo_url", "")]),
        (format!("/console/apps/{c}/origins"), vec![("add", "https://evil.example.com")]),
        (format!("/console/apps/{c}/redirect-uris"), vec![("add", "https://evil.example.com/cb")]),
        (format!("/console/apps/{c}/rotate-secret"), vec![("confirm", "yes")]),
        (format!("/console/apps/{c}/mode"), vec![("mode", "production")]),
        (format!("/console/apps/{c}/webhooks"), vec![("url", "https://evil.example.com/h")]),
        (format!("/console/apps/{c}/webhooks/wh_00000000000000000000/test"), vec![]),
        (format!("/console/apps/{c}/deliveries/whd_x/redeliver"), vec![]),
        (format!("/console/apps/{c}/grants/cgrant_x/revoke"), vec![]),
    ]
}

fn app_pages(c: &str) -> Vec<String> {
    vec![
        format!("/console/apps/{c}"),
        format!("/console/apps/{c}/webhooks"),
        format!("/console/apps/{c}/grants"),
        format!("/console/apps/{c}/usage"),
        format!("/console/audit?client_id={c}"),
    ]
}

async fn console(db: Db, public_url: Option<&'static str>) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let (url, dir) = fresh_database(db).await;
    let app = spawn_app_on(&url, &dir, move |s| {
        s.mail.transport = "smtp".into();
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = "none".into();
        if let Some(u) = public_url {
            s.server.public_url = u.into();
        }
    })
    .await;
    let secure = public_url.is_some_and(|u| u.starts_with("https://"));

    // --- Signed out: every page leads to the sign-in page, which needs no JavaScript.
    let out = get(&app, None, "/console").await;
    assert_eq!((out.status.as_u16(), out.location.as_deref()), (303, Some("/console/sign-in")));
    let page = get(&app, None, "/console/sign-in").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<label for=\"email\">"), "labelled: {}", page.body);
    assert!(!page.body.contains("<script"), "no script");
    let csp = page.csp.expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    let css = get(&app, None, "/console/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.body.contains("prefers-color-scheme: dark"));
    let forged = get(&app, Some("kccs_forged"), "/console").await;
    assert_eq!(forged.location.as_deref(), Some("/console/sign-in"));

    // --- Alice: an organisation, an app (secret shown once), origins, rotation.
    let alice = sign_in(&app, &sink, "alice@example.com", secure).await;
    let c = Some(alice.cookie.as_str());
    for form in [vec![("name", "Acme")], vec![("_csrf", "wrong"), ("name", "Acme")]] {
        let r = post(&app, c, "/console/orgs", &form).await;
        assert_eq!(r.status, 403, "no or a wrong CSRF token: {}", r.body);
    }
    let bad = post(&app, c, "/console/orgs", &with_csrf(&alice, &[("name", "")])).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("role=\"alert\""), "inline error: {}", bad.body);
    let made = post(&app, c, "/console/orgs", &with_csrf(&alice, &[("name", "Acme")])).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let home = get(&app, c, "/console").await;
    assert!(home.body.contains("Acme"));
    let org_a = home.body.split("name=\"org_id\" value=\"").nth(1).expect("org field").split('"').next().expect("id");
    let org_a = org_a.to_owned();
    let created = post(&app, c, "/console/apps", &with_csrf(&alice, &[("org_id", &org_a), ("name", "Shop")])).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret =
        created.body.split("data-secret>").nth(1).expect("secret shown").split('<').next().expect("secret").to_owned();
    assert!(secret.starts_with("kcs_"), "{secret}");
    let app_a = created.body.split("/console/apps/").nth(1).expect("link").split('"').next().expect("id").to_owned();
    let shown = get(&app, c, &format!("/console/apps/{app_a}")).await;
    assert_eq!(shown.status, 200);
    assert!(!shown.body.contains(&secret), "the secret is never shown again");
    let origins = format!("/console/apps/{app_a}/origins");
    let invalid = post(&app, c, &origins, &with_csrf(&alice, &[("add", "https://shop.example.com/path")])).await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.body.contains("id=\"origin-error\""), "the error sits by the origins form: {}", invalid.body);
    let added = post(&app, c, &origins, &with_csrf(&alice, &[("add", "https://shop.example.com")])).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert!(get(&app, c, &format!("/console/apps/{app_a}")).await.body.contains("https://shop.example.com"));
    let rotate = format!("/console/apps/{app_a}/rotate-secret");
    let unconfirmed = post(&app, c, &rotate, &with_csrf(&alice, &[])).await;
    assert_eq!(unconfirmed.status, 400, "rotation needs the confirmation");
    let rotated = post(&app, c, &rotate, &with_csrf(&alice, &[("confirm", "yes")])).await;
    assert_eq!(rotated.status, 200);
    assert!(rotated.body.contains("data-secret>kcs_") && !rotated.body.contains(&secret), "a new secret, once");

    // --- Webhooks: add with events and description, send a test event, see it in the log.
    let hooks = format!("/console/apps/{app_a}/webhooks");
    let refused = post(&app, c, &hooks, &with_csrf(&alice, &[("url", "ftp://x.example.com")])).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("id=\"wh-error\""), "{}", refused.body);
    let form = with_csrf(
        &alice,
        &[
            ("url", "https://hooks.example.com/kc"),
            ("description", "Orders"),
            ("events", "grant.created"),
            ("events", "grant.revoked"),
        ],
    );
    let hook = post(&app, c, &hooks, &form).await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    assert!(hook.body.contains("data-secret>whsec_"), "the signing secret, once");
    assert!(hook.body.contains("grant.created, grant.revoked") && hook.body.contains("Orders"));
    let wh = hook.body.split("/webhooks/").nth(1).expect("test form").split('/').next().expect("id").to_owned();
    let sent = post(&app, c, &format!("{hooks}/{wh}/test"), &with_csrf(&alice, &[])).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let log = get(&app, c, &hooks).await;
    assert!(log.body.contains("Delivery log") && log.body.contains("/redeliver"), "{}", log.body);
    let grants = get(&app, c, &format!("/console/apps/{app_a}/grants?q=nothing")).await;
    assert_eq!(grants.status, 200);
    assert!(grants.body.contains("No grants."));
    let usage = get(&app, c, &format!("/console/apps/{app_a}/usage")).await;
    assert_eq!(usage.status, 200);
    assert!(usage.body.contains("<svg class=\"chart\"") && usage.body.contains("0 link tokens"), "{}", usage.body);
    let audit = get(&app, c, &format!("/console/audit?client_id={app_a}")).await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("client.admin"), "console changes are audited: {}", audit.body);

    // --- Bob, another organisation: Acme's app is 404 on every page and form.
    let bob = sign_in(&app, &sink, "bob@example.com", secure).await;
    let b = Some(bob.cookie.as_str());
    assert_eq!(post(&app, b, "/console/orgs", &with_csrf(&bob, &[("name", "Globex")])).await.status, 303);
    let bob = User { csrf: csrf_of(&get(&app, b, "/console").await.body), cookie: bob.cookie.clone() };
    assert!(!get(&app, b, "/console").await.body.contains("Shop"), "Bob lists none of Acme's apps");
    for p in app_pages(&app_a) {
        assert_eq!(get(&app, b, &p).await.status, 404, "Bob: GET {p}");
    }
    for (p, f) in app_forms(&app_a) {
        let mut form = f.clone();
        form.push(("_csrf", &bob.csrf));
        assert_eq!(post(&app, b, &p, &form).await.status, 404, "Bob: POST {p}");
    }
    let sneaky = post(&app, b, "/console/apps", &with_csrf(&bob, &[("org_id", &org_a), ("name", "Sneaky")])).await;
    assert_eq!(sneaky.status, 404);

    // --- Carol, a viewer of Acme: every page opens, every write form is 403.
    let inv = admin(
        &app,
        &alice,
        &format!("/admin/api/orgs/{org_a}/invitations"),
        serde_json::json!({"email": "carol@example.com", "role": "viewer"}),
    )
    .await;
    let inv = inv["data"]["id"].as_str().expect("invitation").to_owned();
    sink.wait_for("carol@example.com", Duration::from_secs(10)).await;
    let carol = sign_in(&app, &sink, "carol@example.com", secure).await;
    admin(&app, &carol, &format!("/admin/api/invitations/{inv}/accept"), serde_json::json!({})).await;
    let r = Some(carol.cookie.as_str());
    let carol = User { csrf: csrf_of(&get(&app, r, "/console").await.body), cookie: carol.cookie.clone() };
    let home = get(&app, r, "/console").await;
    assert!(home.body.contains("Shop") && !home.body.contains("Create app"), "a viewer sees no create form");
    for p in app_pages(&app_a) {
        assert_eq!(get(&app, r, &p).await.status, 200, "viewer: GET {p}");
    }
    for (p, f) in app_forms(&app_a) {
        let mut form = f.clone();
        form.push(("_csrf", &carol.csrf));
        assert_eq!(post(&app, r, &p, &form).await.status, 403, "viewer: POST {p}");
    }
    let viewer_app = post(&app, r, "/console/apps", &with_csrf(&carol, &[("org_id", &org_a), ("name", "V")])).await;
    assert_eq!(viewer_app.status, 403);

    // --- Sign-out needs the CSRF token, then the cookie no longer opens anything.
    assert_eq!(post(&app, c, "/console/sign-out", &[]).await.status, 403);
    let bye = post(&app, c, "/console/sign-out", &with_csrf(&alice, &[])).await;
    assert_eq!(bye.status, 303);
    assert!(bye.set_cookie.expect("cleared").contains("Max-Age=0"));
    assert_eq!(get(&app, c, "/console").await.location.as_deref(), Some("/console/sign-in"));
}

#[tokio::test]
async fn console_on_sqlite() {
    console(Db::Sqlite, None).await;
}

#[tokio::test]
async fn console_on_postgres_behind_https() {
    console(Db::Postgres, Some("https://console.example.com")).await;
}
