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

/// A server on a fresh `db` whose mail goes to the returned SMTP sink (sign-in codes,
/// invitations); `public_url` replaces the server's own when given.
pub(crate) async fn spawn_with_mail(db: Db, public_url: Option<&'static str>) -> (TestApp, SmtpSink, String) {
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
    (app, sink, url)
}

async fn console(db: Db, public_url: Option<&'static str>) {
    let (app, sink, _) = spawn_with_mail(db, public_url).await;
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
    let viewer_hooks = get(&app, r, &format!("/console/apps/{app_a}/webhooks")).await.body;
    assert!(
        !viewer_hooks.contains("Add endpoint")
            && !viewer_hooks.contains("/rotate-secret")
            && !viewer_hooks.contains("/redeliver"),
        "a viewer is offered no webhook changes: {viewer_hooks}"
    );
    assert!(!get(&app, r, &format!("/console/apps/{app_a}")).await.body.contains("/disable"), "nor disabling");
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

/// The role form of member `email` on an organisation page: its action.
fn role_form_of(body: &str, email: &str) -> Option<String> {
    body.split("<form").filter(|f| f.contains(&format!("Change the role of {email}"))).find_map(|f| {
        let action = f.split("action=\"").nth(1)?.split('"').next()?;
        Some(action.to_owned())
    })
}

/// The selected role in member `email`'s role form.
fn selected_role(body: &str, email: &str) -> Option<String> {
    let form = body.split("<form").find(|f| f.contains(&format!("Change the role of {email}")))?;
    let before = form.split(" selected>").next()?;
    Some(before.rsplit("value=\"").next()?.split('"').next()?.to_owned())
}

/// A signed-in user's CSRF token again (after joining an organisation the page is the same).
async fn refreshed(app: &TestApp, u: &User) -> User {
    let home = get(app, Some(&u.cookie), "/console").await;
    User { csrf: csrf_of(&home.body), cookie: u.cookie.clone() }
}

/// Organisation pages (members, roles, invitations sent, accepted and revoked), the webhook
/// endpoint actions (rotate, disable, enable, delete, confirmed), app disable (admins and
/// owners only), and Data API calls per day in the usage view.
async fn console_members_webhooks_and_disable(db: Db) {
    let (app, sink, _) = spawn_with_mail(db, None).await;
    let alice = sign_in(&app, &sink, "alice@example.com", false).await;
    let a = Some(alice.cookie.as_str());
    assert_eq!(post(&app, a, "/console/orgs", &with_csrf(&alice, &[("name", "Acme")])).await.status, 303);
    let home = get(&app, a, "/console").await;
    let org = home.body.split("/console/orgs/").nth(1).expect("a link to the org page").split('"').next().expect("id");
    let org = org.to_owned();
    let alice = refreshed(&app, &alice).await;
    let created = post(&app, a, "/console/apps", &with_csrf(&alice, &[("org_id", &org), ("name", "Shop")])).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = created.body.split("data-secret>").nth(1).expect("secret").split('<').next().expect("secret");
    let app_id = created.body.split("/console/apps/").nth(1).expect("link").split('"').next().expect("id");
    let creds = Creds { id: app_id.to_owned(), secret: secret.to_owned() };
    let org_page = format!("/console/orgs/{org}");

    // --- The organisation page: members, no invitations, the invite form for the owner.
    let page = get(&app, a, &org_page).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("alice@example.com") && page.body.contains("(you)"), "{}", page.body);
    assert!(page.body.contains("No open invitations.") && page.body.contains("<label for=\"invite-email\">"));
    let invites = format!("{org_page}/invitations");
    let bad = post(&app, a, &invites, &with_csrf(&alice, &[("email", "nope"), ("role", "viewer")])).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"invite-error\"") && bad.body.contains("value=\"nope\""), "{}", bad.body);
    let bad_role = post(&app, a, &invites, &with_csrf(&alice, &[("email", "x@example.com"), ("role", "king")])).await;
    assert_eq!(bad_role.status, 400, "an unknown role is refused inline");
    for (email, role) in [("bob@example.com", "developer"), ("carol@example.com", "viewer")] {
        let sent = post(&app, a, &invites, &with_csrf(&alice, &[("email", email), ("role", role)])).await;
        assert_eq!((sent.status.as_u16(), sent.location.as_deref()), (303, Some(&*format!("{org_page}#invitations"))));
        sink.wait_for(email, Duration::from_secs(10)).await;
    }
    let page = get(&app, a, &org_page).await;
    assert!(page.body.contains("bob@example.com") && page.body.contains("carol@example.com"));
    // Revoke Carol's invitation: it is gone, and Carol finds nothing to accept.
    let carol_inv = page.body.split("Revoke the invitation of carol@example.com").next().expect("carol's row");
    let carol_revoke = carol_inv.rsplit("action=\"").next().expect("form").split('"').next().expect("action");
    assert!(carol_revoke.contains("/invitations/") && carol_revoke.ends_with("/revoke"), "{carol_revoke}");
    assert_eq!(post(&app, a, carol_revoke, &with_csrf(&alice, &[])).await.status, 303);
    assert!(!get(&app, a, &org_page).await.body.contains("carol@example.com"), "the invitation is revoked");
    let carol = sign_in(&app, &sink, "carol@example.com", false).await;
    let carol_home = get(&app, Some(&carol.cookie), "/console").await;
    assert!(!carol_home.body.contains("my-invitations"), "nothing to accept: {}", carol_home.body);
    assert_eq!(get(&app, Some(&carol.cookie), &org_page).await.status, 404, "Carol is no member");

    // --- Bob accepts from the overview and is a developer: no member management, no disable.
    let bob = sign_in(&app, &sink, "bob@example.com", false).await;
    let b = Some(bob.cookie.as_str());
    let bob_home = get(&app, b, "/console").await;
    assert!(bob_home.body.contains("Join <strong>Acme</strong>"), "the invitation names the org: {}", bob_home.body);
    let accept =
        bob_home.body.split("/console/invitations/").nth(1).expect("accept form").split('"').next().expect("a");
    let accepted = post(&app, b, &format!("/console/invitations/{accept}"), &with_csrf(&bob, &[])).await;
    assert_eq!((accepted.status.as_u16(), accepted.location.as_deref()), (303, Some(org_page.as_str())));
    let bob = refreshed(&app, &bob).await;
    let page = get(&app, b, &org_page).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&format!("action=\"{invites}\"")), "a developer cannot invite");
    assert!(role_form_of(&page.body, "alice@example.com").is_none(), "nor change roles");
    let forbidden =
        post(&app, b, &invites, &with_csrf(&bob, &[("email", "eve@example.com"), ("role", "viewer")])).await;
    assert_eq!(forbidden.status, 403);
    let disable = format!("/console/apps/{app_id}/disable");
    assert!(
        !get(&app, b, &format!("/console/apps/{app_id}")).await.body.contains(&disable),
        "no disable for a developer"
    );
    assert_eq!(post(&app, b, &disable, &with_csrf(&bob, &[("confirm", "yes")])).await.status, 403);

    // --- Alice makes Bob an admin; Bob may then manage members but not owners.
    let page = get(&app, a, &org_page).await;
    let bob_role = role_form_of(&page.body, "bob@example.com").expect("Bob's role form");
    assert_eq!(selected_role(&page.body, "bob@example.com").as_deref(), Some("developer"));
    assert_eq!(post(&app, a, &bob_role, &with_csrf(&alice, &[("role", "admin")])).await.status, 303);
    assert_eq!(selected_role(&get(&app, a, &org_page).await.body, "bob@example.com").as_deref(), Some("admin"));
    let page = get(&app, b, &org_page).await;
    assert!(page.body.contains(&format!("action=\"{invites}\"")), "an admin invites");
    assert!(!page.body.contains("<option value=\"owner\""), "an admin cannot hand out owner");
    assert!(role_form_of(&page.body, "alice@example.com").is_none(), "an admin cannot touch the owner");
    let alice_role = role_form_of(&get(&app, a, &org_page).await.body, "alice@example.com").expect("own role form");
    assert_eq!(post(&app, b, &alice_role, &with_csrf(&bob, &[("role", "viewer")])).await.status, 403);
    assert_eq!(post(&app, b, &bob_role, &with_csrf(&bob, &[("role", "owner")])).await.status, 403);
    // The last owner cannot step down: said next to the members.
    let last = post(&app, a, &alice_role, &with_csrf(&alice, &[("role", "admin")])).await;
    assert_eq!(last.status, 400);
    assert!(last.body.contains("id=\"members-error\""), "{}", last.body);

    // --- Webhook endpoint actions, each destructive one confirmed first.
    let hooks = format!("/console/apps/{app_id}/webhooks");
    let added = post(&app, a, &hooks, &with_csrf(&alice, &[("url", "https://hooks.example.com/kc")])).await;
    assert_eq!(added.status, 200);
    let first = added.body.split("data-secret>").nth(1).expect("secret").split('<').next().expect("s").to_owned();
    let wh = added.body.split("/webhooks/").nth(1).expect("endpoint").split('/').next().expect("id").to_owned();
    let rotate = format!("{hooks}/{wh}/rotate-secret");
    let ask = post(&app, a, &rotate, &with_csrf(&alice, &[])).await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("name=\"confirm\" value=\"yes\"") && !ask.body.contains("data-secret"), "{}", ask.body);
    assert!(ask.body.contains("https://hooks.example.com/kc"), "the question names the endpoint");
    let rotated = post(&app, a, &rotate, &with_csrf(&alice, &[("confirm", "yes")])).await;
    assert_eq!(rotated.status, 200);
    let second = rotated.body.split("data-secret>").nth(1).expect("new secret").split('<').next().expect("s");
    assert!(second.starts_with("whsec_") && second != first, "a new secret, shown once");
    assert!(!get(&app, a, &hooks).await.body.contains(second), "and never again");
    let off = format!("{hooks}/{wh}/disable");
    assert!(post(&app, a, &off, &with_csrf(&alice, &[])).await.body.contains("Disable endpoint"));
    assert_eq!(post(&app, a, &off, &with_csrf(&alice, &[("confirm", "yes")])).await.status, 303);
    let page = get(&app, a, &hooks).await;
    assert!(page.body.contains("badge bad\">disabled") && page.body.contains(&format!("{hooks}/{wh}/enable")));
    assert_eq!(post(&app, a, &format!("{hooks}/{wh}/enable"), &with_csrf(&alice, &[])).await.status, 303);
    assert!(!get(&app, a, &hooks).await.body.contains("badge bad\">disabled"), "enabled again");
    let del = format!("{hooks}/{wh}/delete");
    assert!(post(&app, a, &del, &with_csrf(&alice, &[])).await.body.contains("Delete endpoint"));
    assert!(get(&app, a, &hooks).await.body.contains("https://hooks.example.com/kc"), "asking deletes nothing");
    assert_eq!(post(&app, a, &del, &with_csrf(&alice, &[("confirm", "yes")])).await.status, 303);
    assert!(get(&app, a, &hooks).await.body.contains("No endpoints yet."));
    // Carol (no member) and a forged id get 404; without the CSRF token 403.
    let carol = refreshed(&app, &carol).await;
    let cc = Some(carol.cookie.as_str());
    for p in [rotate.clone(), off.clone(), del.clone(), disable.clone(), format!("{org_page}/members/x/remove")] {
        assert_eq!(post(&app, cc, &p, &with_csrf(&carol, &[("confirm", "yes")])).await.status, 404, "Carol: {p}");
        assert_eq!(post(&app, a, &p, &[("confirm", "yes")]).await.status, 403, "no CSRF: {p}");
    }

    // --- Data API calls per day: counted per client, shown in the usage view.
    let (token, _grant) = app.access_token(&creds).await;
    for _ in 0..3 {
        let r = crate::data_api::data_get(&app, "/api/v1/userinfo", Some(&token), Some(&creds)).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let usage = get(&app, a, &format!("/console/apps/{app_id}/usage")).await;
    assert_eq!(usage.status, 200);
    assert!(usage.body.contains("Data API calls"), "{}", usage.body);
    assert!(usage.body.contains("<td data-label=\"Data API calls\">3</td>"), "three calls today: {}", usage.body);

    // --- Removing a member is confirmed; Bob then sees nothing of Acme.
    let remove = format!(
        "{org_page}/members/{}/remove",
        bob_role.split("/members/").nth(1).expect("id").split('/').next().expect("u")
    );
    let ask = post(&app, a, &remove, &with_csrf(&alice, &[])).await;
    assert!(ask.body.contains("bob@example.com") && ask.body.contains("Remove member"), "{}", ask.body);
    assert_eq!(post(&app, a, &remove, &with_csrf(&alice, &[("confirm", "yes")])).await.status, 303);
    assert_eq!(get(&app, b, &org_page).await.status, 404, "Bob is out");
    assert_eq!(get(&app, b, &format!("/console/apps/{app_id}")).await.status, 404);

    // --- The owner disables the app (confirmed): its credentials stop working at once.
    let ask = post(&app, a, &disable, &with_csrf(&alice, &[])).await;
    assert!(ask.body.contains("Disable app") && ask.body.contains(app_id), "{}", ask.body);
    assert_eq!(app.post("/link-token", &creds, serde_json::json!({})).await.status, 200, "not yet");
    assert_eq!(post(&app, a, &disable, &with_csrf(&alice, &[("confirm", "yes")])).await.status, 303);
    let shown = get(&app, a, &format!("/console/apps/{app_id}")).await;
    assert!(shown.body.contains("badge bad\">disabled") && !shown.body.contains(&disable), "{}", shown.body);
    app.post("/link-token", &creds, serde_json::json!({})).await.assert_error(401, "INVALID_CLIENT");
}

#[tokio::test]
async fn console_members_webhooks_and_disable_on_sqlite() {
    console_members_webhooks_and_disable(Db::Sqlite).await;
}

#[tokio::test]
async fn console_members_webhooks_and_disable_on_postgres() {
    console_members_webhooks_and_disable(Db::Postgres).await;
}
