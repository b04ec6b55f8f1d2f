//! The admin API (`/admin/api`, issue 19) on SQLite and PostgreSQL: operator tokens created by
//! the real `kryptos-connect operators tokens create` (scoped, expiring, revocable, hashed at
//! rest), console sessions signed in by emailed code (CSRF on writes), every endpoint used,
//! 401 without or with a bad credential, 403 for missing scopes and for a viewer's writes, and
//! 404 for everything of another organisation (ids enumerated across two orgs). Every change
//! is in the audit trail with who made it.

use crate::helpers::*;
use crate::smtp::SmtpSink;
use crate::webhooks::{run_cli, Receiver};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A caller of the admin API.
#[derive(Clone)]
enum Who {
    Nobody,
    Token(String),
    /// Session cookie and CSRF token.
    Session(String, String),
    /// Session cookie without the CSRF token.
    SessionNoCsrf(String),
}

async fn call(app: &TestApp, who: &Who, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut req = app.http.request(method, format!("{}{}", app.base, path));
    match who {
        Who::Nobody => {}
        Who::Token(t) => req = req.bearer_auth(t),
        Who::Session(s, csrf) => req = req.header("Cookie", format!("kc_console={s}")).header("X-CSRF-Token", csrf),
        Who::SessionNoCsrf(s) => req = req.header("Cookie", format!("kc_console={s}")),
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request reaches the server");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
}

/// Signs `email` in to the console by emailed code; returns the session as a caller.
async fn sign_in(app: &TestApp, sink: &SmtpSink, email: &str) -> Who {
    use kc_api::AdminApi;
    let meta = kc_api::RequestMeta { ip: Some([127, 0, 0, 1].into()), ..Default::default() };
    let before = sink.mails().len();
    app.service
        .console_sign_in_start(&meta, kc_api::ConsoleSignInStart { email: email.into() })
        .await
        .expect("a code is sent");
    let until = Instant::now() + Duration::from_secs(10);
    let code = loop {
        let found = sink.mails().into_iter().skip(before).find(|m| m.to.iter().any(|t| t.contains(email)));
        if let Some(m) = found {
            let subject = m.header("Subject").expect("subject");
            assert!(subject.contains("console code"), "the console's own message: {subject}");
            break subject.split_whitespace().next().expect("code").to_owned();
        }
        assert!(Instant::now() < until, "a code mail to {email}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wrong = app.service.console_sign_in_verify(&meta, email, "000000").await;
    if code != "000000" {
        assert!(wrong.is_err(), "a wrong code is refused");
    }
    let opened = app.service.console_sign_in_verify(&meta, email, &code).await.expect("the code signs in");
    let token = secrecy::ExposeSecret::expose_secret(&opened.token).to_owned();
    let me = call(app, &Who::SessionNoCsrf(token.clone()), Method::GET, "/admin/api/me", None).await;
    let csrf = me.data()["csrf_token"].as_str().expect("a CSRF token").to_owned();
    Who::Session(token, csrf)
}

/// `operators tokens create … --json` through the real binary: the token.
async fn cli_token(url: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["operators", "tokens", "create", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = run_cli(url, &[], &all).await;
    assert!(ok, "tokens create: {out}\n{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("JSON ({e}): {out}"));
    (v["id"].as_str().expect("id").to_owned(), v["token"].as_str().expect("token").to_owned())
}

/// Every endpoint that names an app, as (method, path, body) for app `c`.
fn app_endpoints(c: &str) -> Vec<(Method, String, Option<Value>, bool)> {
    let w = "wh_00000000000000000000";
    vec![
        (Method::GET, format!("/admin/api/clients/{c}"), None, false),
        (Method::PATCH, format!("/admin/api/clients/{c}"), Some(json!({"name": "Stolen"})), true),
        (Method::POST, format!("/admin/api/clients/{c}/rotate-secret"), None, true),
        (Method::POST, format!("/admin/api/clients/{c}/disable"), None, true),
        (Method::POST, format!("/admin/api/clients/{c}/mode"), Some(json!({"mode": "production"})), true),
        (Method::GET, format!("/admin/api/clients/{c}/webhooks"), None, false),
        (
            Method::POST,
            format!("/admin/api/clients/{c}/webhooks"),
            Some(json!({"url": "https://h.example.com/x"})),
            true,
        ),
        (Method::PATCH, format!("/admin/api/clients/{c}/webhooks/{w}"), Some(json!({"description": "x"})), true),
        (Method::DELETE, format!("/admin/api/clients/{c}/webhooks/{w}"), None, true),
        (Method::POST, format!("/admin/api/clients/{c}/webhooks/{w}/rotate-secret"), None, true),
        (Method::POST, format!("/admin/api/clients/{c}/webhooks/{w}/test"), None, true),
        (Method::GET, format!("/admin/api/clients/{c}/deliveries"), None, false),
        (Method::POST, format!("/admin/api/clients/{c}/deliveries/whd_x/redeliver"), None, true),
        (Method::GET, format!("/admin/api/clients/{c}/grants"), None, false),
        (Method::POST, format!("/admin/api/clients/{c}/grants/cgrant_x/revoke"), None, true),
        (Method::GET, format!("/admin/api/clients/{c}/usage"), None, false),
        (Method::GET, format!("/admin/api/audit?client_id={c}"), None, false),
    ]
}

async fn admin_api(db: Db) {
    let (app, sink, url) = crate::console::spawn_with_mail(db, None).await;

    // --- 401: nothing, garbage, a session without the cookie's token.
    for who in [Who::Nobody, Who::Token("kcop_nope".into()), Who::Token(format!("kcop_{}", "0".repeat(64)))] {
        call(&app, &who, Method::GET, "/admin/api/me", None).await.assert_error(401, "INVALID_TOKEN");
        call(&app, &who, Method::GET, "/admin/api/clients", None).await.assert_error(401, "INVALID_TOKEN");
    }
    call(&app, &Who::SessionNoCsrf("kccs_forged".into()), Method::GET, "/admin/api/me", None)
        .await
        .assert_error(401, "INVALID_TOKEN");

    // --- Two organisations, each with its own app.
    let alice = sign_in(&app, &sink, "alice@example.com").await;
    let bob = sign_in(&app, &sink, "bob@example.com").await;
    let Who::Session(alice_cookie, _) = alice.clone() else { unreachable!() };
    call(&app, &Who::SessionNoCsrf(alice_cookie), Method::POST, "/admin/api/orgs", Some(json!({"name": "Acme"})))
        .await
        .assert_error(403, "INSUFFICIENT_PERMISSIONS");
    let org_a = call(&app, &alice, Method::POST, "/admin/api/orgs", Some(json!({"name": "Acme"}))).await;
    let org_a = org_a.data()["id"].as_str().expect("org id").to_owned();
    let org_b = call(&app, &bob, Method::POST, "/admin/api/orgs", Some(json!({"name": "Globex"}))).await;
    let org_b = org_b.data()["id"].as_str().expect("org id").to_owned();
    call(&app, &alice, Method::POST, "/admin/api/orgs", Some(json!({"name": ""})))
        .await
        .assert_error(400, "INVALID_REQUEST");

    let created = call(
        &app,
        &alice,
        Method::POST,
        "/admin/api/clients",
        Some(json!({"name": "Shop", "org_id": org_a, "origins": ["https://shop.example.com"]})),
    )
    .await;
    let d = created.data();
    assert_eq!(created.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let app_a = d["client"]["client_id"].as_str().expect("id").to_owned();
    let secret_a = d["client_secret"].as_str().expect("secret shown once").to_owned();
    assert_eq!(d["client"]["mode"], "sandbox");
    assert_eq!(d["client"]["org_id"], json!(org_a));
    let shown = call(&app, &alice, Method::GET, &format!("/admin/api/clients/{app_a}"), None).await;
    assert!(!shown.body.to_string().contains(&secret_a), "the secret is never shown again");
    let app_b =
        call(&app, &bob, Method::POST, "/admin/api/clients", Some(json!({"name": "Globex app", "org_id": org_b})))
            .await
            .data()["client"]["client_id"]
            .as_str()
            .expect("id")
            .to_owned();
    call(&app, &bob, Method::POST, "/admin/api/clients", Some(json!({"name": "Sneaky", "org_id": org_a})))
        .await
        .assert_error(404, "INVALID_REQUEST");
    call(
        &app,
        &alice,
        Method::POST,
        "/admin/api/clients",
        Some(json!({"name": "Bad", "org_id": org_a, "origins": ["https://x.example.com/path"]})),
    )
    .await
    .assert_error(400, "INVALID_REQUEST");

    // --- Cross-organisation isolation: Bob sees nothing of Acme, for every endpoint.
    let bobs = call(&app, &bob, Method::GET, "/admin/api/clients", None).await;
    let ids: Vec<&str> = bobs.data().as_array().expect("list").iter().filter_map(|c| c["client_id"].as_str()).collect();
    assert_eq!(ids, vec![app_b.as_str()], "Bob lists only Globex's app");
    for (m, path, body, _) in app_endpoints(&app_a) {
        let a = call(&app, &bob, m.clone(), &path, body).await;
        assert_eq!(a.status.as_u16(), 404, "Bob: {m} {path} → 404; got {}", a.body);
    }
    for path in [format!("/admin/api/orgs/{org_a}/members"), format!("/admin/api/orgs/{org_a}/invitations")] {
        call(&app, &bob, Method::GET, &path, None).await.assert_error(404, "INVALID_REQUEST");
    }
    let audit_b = call(&app, &bob, Method::GET, "/admin/api/audit", None).await;
    assert!(!audit_b.body.to_string().contains(&app_a), "Bob's audit holds nothing of Acme: {}", audit_b.body);

    // --- Operator tokens from the command line: scoped to Acme, read-only, unscoped.
    let (_, acme_token) = cli_token(&url, &["--name", "acme bot", "--scope", "*", "--org", &org_a]).await;
    let (ro_id, read_only) =
        cli_token(&url, &["--name", "reader", "--scope", "clients:read webhooks:read grants:read audit:read"]).await;
    let (op_id, operator) = cli_token(&url, &["--name", "ops", "--scope", "*", "--expires", "1d"]).await;
    let acme = Who::Token(acme_token.clone());
    let (ro, op) = (Who::Token(read_only), Who::Token(operator.clone()));
    let (ok, out, _) = run_cli(&url, &[], &["operators", "tokens", "list", "--json"]).await;
    assert!(ok && out.contains(&op_id) && !out.contains(&operator), "listed without the token itself: {out}");
    let (bad, _, err) = run_cli(&url, &[], &["operators", "tokens", "create", "--scope", "root"]).await;
    assert!(!bad && err.contains("unknown scope"), "unknown scopes are refused: {err}");
    for (m, path, body, _) in app_endpoints(&app_b) {
        let a = call(&app, &acme, m.clone(), &path, body).await;
        assert_eq!(a.status.as_u16(), 404, "Acme's token: {m} {path} → 404; got {}", a.body);
    }
    for (m, path, body, write) in app_endpoints(&app_a) {
        if write {
            let a = call(&app, &ro, m.clone(), &path, body).await;
            assert_eq!(a.status.as_u16(), 403, "read-only token: {m} {path} → 403; got {}", a.body);
        }
    }
    call(&app, &ro, Method::GET, &format!("/admin/api/clients/{app_a}"), None).await.data();

    // --- Roles: a viewer may look, never change.
    let invited = call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/orgs/{org_a}/invitations"),
        Some(json!({"email": "carol@example.com", "role": "viewer"})),
    )
    .await;
    let inv = invited.data()["id"].as_str().expect("invitation").to_owned();
    let invite_mail = sink.wait_for("carol@example.com", Duration::from_secs(10)).await;
    assert!(invite_mail.body().contains("Acme"), "the invitation names the org: {}", invite_mail.body());
    let carol = sign_in(&app, &sink, "carol@example.com").await;
    let mine = call(&app, &carol, Method::GET, "/admin/api/invitations", None).await;
    assert_eq!(mine.data()[0]["id"], json!(inv));
    call(&app, &bob, Method::POST, &format!("/admin/api/invitations/{inv}/accept"), None)
        .await
        .assert_error(404, "INVALID_REQUEST");
    let joined = call(&app, &carol, Method::POST, &format!("/admin/api/invitations/{inv}/accept"), None).await;
    assert_eq!(joined.data()["role"], "viewer");
    call(&app, &carol, Method::GET, &format!("/admin/api/clients/{app_a}"), None).await.data();
    for (m, path, body, write) in app_endpoints(&app_a) {
        let a = call(&app, &carol, m.clone(), &path, body).await;
        let want = if write { 403 } else { 200 };
        assert_eq!(a.status.as_u16(), want, "viewer: {m} {path} → {want}; got {}", a.body);
    }
    let members = call(&app, &carol, Method::GET, &format!("/admin/api/orgs/{org_a}/members"), None).await;
    let carol_id =
        members.data().as_array().expect("members").iter().find(|m| m["email"] == "carol@example.com").expect("carol")
            ["user_id"]
            .as_str()
            .expect("id")
            .to_owned();
    call(
        &app,
        &carol,
        Method::POST,
        &format!("/admin/api/orgs/{org_a}/invitations"),
        Some(json!({"email": "d@example.com", "role": "admin"})),
    )
    .await
    .assert_error(403, "INSUFFICIENT_PERMISSIONS");
    call(
        &app,
        &alice,
        Method::PATCH,
        &format!("/admin/api/orgs/{org_a}/members/{carol_id}"),
        Some(json!({"role": "developer"})),
    )
    .await
    .data();
    call(
        &app,
        &alice,
        Method::PATCH,
        &format!("/admin/api/orgs/{org_a}/members/{carol_id}"),
        Some(json!({"role": "god"})),
    )
    .await
    .assert_error(400, "INVALID_REQUEST");
    call(&app, &carol, Method::PATCH, &format!("/admin/api/clients/{app_a}"), Some(json!({"name": "Shop 2"})))
        .await
        .data();
    // A developer changes apps but does not disable them: admins, owners and operators do.
    call(&app, &carol, Method::POST, &format!("/admin/api/clients/{app_a}/disable"), None)
        .await
        .assert_error(403, "INSUFFICIENT_PERMISSIONS");
    // Withdrawing an invitation: not by a developer, 404 for another organisation, then gone.
    let pending = call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/orgs/{org_a}/invitations"),
        Some(json!({"email": "dave@example.com", "role": "developer"})),
    )
    .await;
    let pending = pending.data()["id"].as_str().expect("invitation").to_owned();
    let withdraw = format!("/admin/api/orgs/{org_a}/invitations/{pending}");
    call(&app, &carol, Method::DELETE, &withdraw, None).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
    call(&app, &bob, Method::DELETE, &withdraw, None).await.assert_error(404, "INVALID_REQUEST");
    assert_eq!(call(&app, &alice, Method::DELETE, &withdraw, None).await.data()["done"], json!(true));
    let open = call(&app, &alice, Method::GET, &format!("/admin/api/orgs/{org_a}/invitations"), None).await;
    assert!(!open.body.to_string().contains(&pending), "withdrawn: {}", open.body);
    call(&app, &alice, Method::DELETE, &withdraw, None).await.assert_error(404, "INVALID_REQUEST");
    call(&app, &alice, Method::DELETE, &format!("/admin/api/orgs/{org_a}/members/{carol_id}"), None).await.data();
    call(&app, &carol, Method::GET, &format!("/admin/api/clients/{app_a}"), None)
        .await
        .assert_error(404, "INVALID_REQUEST");

    // --- Apps: update with validation, rotate, production request and approval.
    let upd = call(
        &app,
        &acme,
        Method::PATCH,
        &format!("/admin/api/clients/{app_a}"),
        Some(json!({"add_origins": ["https://app.example.com"], "add_redirect_uris": ["https://app.example.com/done"], "logo_url": "https://app.example.com/logo.png"})),
    )
    .await;
    assert_eq!(upd.data()["origins"], json!(["https://shop.example.com", "https://app.example.com"]));
    call(&app, &acme, Method::PATCH, &format!("/admin/api/clients/{app_a}"), Some(json!({"add_origins": ["nope"]})))
        .await
        .assert_error(400, "INVALID_REQUEST");
    call(&app, &acme, Method::PATCH, &format!("/admin/api/clients/{app_a}"), Some(json!({"scopes": "root"})))
        .await
        .assert_error(400, "INVALID_REQUEST");
    let rotated = call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/rotate-secret"), None).await;
    let secret = rotated.data()["client_secret"].as_str().expect("new secret").to_owned();
    let old = Creds { id: app_a.clone(), secret: secret_a.clone() };
    app.post("/link-token", &old, json!({})).await.assert_error(401, "INVALID_CLIENT");
    let creds = Creds { id: app_a.clone(), secret };
    let asked = call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/clients/{app_a}/mode"),
        Some(json!({"mode": "production"})),
    )
    .await;
    assert_eq!(
        (asked.data()["mode"].clone(), asked.data()["production_requested"].clone()),
        (json!("sandbox"), json!(true))
    );
    let approved =
        call(&app, &op, Method::POST, &format!("/admin/api/clients/{app_a}/mode"), Some(json!({"mode": "production"})))
            .await;
    assert_eq!(
        (approved.data()["mode"].clone(), approved.data()["production_requested"].clone()),
        (json!("production"), json!(false))
    );
    call(&app, &op, Method::POST, &format!("/admin/api/clients/{app_a}/mode"), Some(json!({"mode": "sandbox"})))
        .await
        .data();
    let all = call(&app, &op, Method::GET, "/admin/api/clients", None).await;
    assert_eq!(all.data().as_array().expect("all").len(), 2, "an operator sees every org's apps");

    // --- Webhooks: add, update, disable, test event, delivery log, redelivery, rotate, remove.
    let receiver = Receiver::start().await;
    let added = call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/clients/{app_a}/webhooks"),
        Some(json!({"url": receiver.url, "events": ["grant.revoked"], "description": "Orders"})),
    )
    .await;
    let wh = added.data()["webhook"]["id"].as_str().expect("wh").to_owned();
    assert!(added.data()["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")), "secret shown once");
    assert_eq!(added.data()["webhook"]["description"], "Orders");
    call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/clients/{app_a}/webhooks"),
        Some(json!({"url": "http://10.0.0.1/x"})),
    )
    .await
    .assert_error(400, "INVALID_REQUEST");
    call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/clients/{app_a}/webhooks"),
        Some(json!({"url": receiver.url, "events": ["nope"]})),
    )
    .await
    .assert_error(400, "INVALID_REQUEST");
    let listed = call(&app, &acme, Method::GET, &format!("/admin/api/clients/{app_a}/webhooks"), None).await;
    assert!(!listed.body.to_string().contains("whsec_"), "secrets are never listed");
    let changed = call(
        &app,
        &alice,
        Method::PATCH,
        &format!("/admin/api/clients/{app_a}/webhooks/{wh}"),
        Some(json!({"events": ["grant.revoked", "grant.created"], "description": "Orders service"})),
    )
    .await;
    assert_eq!(changed.data()["events"], json!(["grant.revoked", "grant.created"]));
    let off = call(
        &app,
        &alice,
        Method::PATCH,
        &format!("/admin/api/clients/{app_a}/webhooks/{wh}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(off.data()["disabled"], json!(true));
    let (_, grant_off) = app.access_token(&creds).await;
    receiver.assert_quiet(0, Duration::from_millis(700), "a disabled endpoint gets nothing").await;
    call(
        &app,
        &alice,
        Method::PATCH,
        &format!("/admin/api/clients/{app_a}/webhooks/{wh}"),
        Some(json!({"disabled": false})),
    )
    .await
    .data();
    let test = call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/webhooks/{wh}/test"), None).await;
    let test_id = test.data()["id"].as_str().expect("delivery").to_owned();
    let hits = receiver.wait_for(1, Duration::from_secs(10), "the test event").await;
    assert_eq!((hits[0].event(), hits[0].id()), ("webhook.test".to_owned(), test_id.clone()));
    let until = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let log = call(&app, &ro, Method::GET, &format!("/admin/api/clients/{app_a}/deliveries"), None).await;
        let row = log.data().as_array().expect("log").iter().find(|d| d["id"] == json!(test_id)).cloned();
        if let Some(r) = row.filter(|r| r["status"] == "delivered") {
            break r;
        }
        assert!(Instant::now() < until, "the test delivery is logged as delivered: {}", log.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(logged["response_status"], json!(200));
    assert!(logged["duration_ms"].as_i64().is_some(), "timing: {logged}");
    call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/deliveries/{test_id}/redeliver"), None)
        .await
        .data();
    let again = receiver.wait_for(2, Duration::from_secs(10), "the redelivery").await;
    assert_eq!(again[1].id(), test_id, "redelivered with the same X-Webhook-Id");
    call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/deliveries/whd_nope/redeliver"), None)
        .await
        .assert_error(404, "INVALID_REQUEST");
    let rot =
        call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/webhooks/{wh}/rotate-secret"), None)
            .await;
    assert!(rot.data()["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));

    // --- Grants: list, search, revoke (with its webhook), and the audit says who.
    let (_, grant) = app.access_token(&creds).await;
    let grants = call(&app, &ro, Method::GET, &format!("/admin/api/clients/{app_a}/grants"), None).await;
    assert_eq!(grants.data().as_array().expect("grants").len(), 2);
    let found =
        call(&app, &ro, Method::GET, &format!("/admin/api/clients/{app_a}/grants?q={}", &grant[7..20]), None).await;
    assert_eq!(found.data().as_array().expect("found").len(), 1);
    assert_eq!(found.data()[0]["grant_id"], json!(grant));
    call(&app, &alice, Method::POST, &format!("/admin/api/clients/{app_a}/grants/{grant}/revoke"), None).await.data();
    call(
        &app,
        &alice,
        Method::POST,
        &format!("/admin/api/clients/{app_a}/grants/cgrant_{}/revoke", "x".repeat(25)),
        None,
    )
    .await
    .assert_error(404, "INVALID_REQUEST");
    let events: Vec<String> = receiver
        .wait_for(4, Duration::from_secs(10), "grant.created, grant.revoked")
        .await
        .iter()
        .map(|h| h.event())
        .collect();
    assert_eq!(events[2..], ["grant.created".to_owned(), "grant.revoked".to_owned()], "{events:?}");
    let _ = grant_off;
    let Who::Session(_, _) = &alice else { unreachable!() };
    let me = call(&app, &alice, Method::GET, "/admin/api/me", None).await;
    let alice_id = me.data()["actor"].as_str().expect("actor").to_owned();
    let trail = call(&app, &acme, Method::GET, &format!("/admin/api/audit?client_id={app_a}"), None).await;
    let events = trail.data().as_array().expect("events").clone();
    let revoke =
        events.iter().find(|e| e["kind"] == "grant.revoke" && e["grant_id"] == json!(grant)).expect("revoke audited");
    assert_eq!(revoke["user_id"], json!(alice_id), "who revoked: {revoke}");
    let approval = events.iter().find(|e| e["detail"] == "mode set to production").expect("approval audited");
    assert_eq!(approval["user_id"], json!(op_id), "who approved: {approval}");
    assert!(events.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains(&format!("webhook {wh} added")))));
    call(&app, &op, Method::GET, "/admin/api/audit?since=yesterday", None).await.assert_error(400, "INVALID_REQUEST");

    // --- Usage: the last 30 days, with the funnel.
    let usage = call(&app, &ro, Method::GET, &format!("/admin/api/clients/{app_a}/usage"), None).await;
    assert_eq!(usage.data()["days"].as_array().expect("days").len(), 30);
    let f = &usage.data()["funnel"];
    assert!(f["link_tokens"].as_u64() >= Some(2) && f["exchanges"].as_u64() >= Some(2), "funnel: {f}");

    // --- Remove the endpoint; disable the app (an operator may disable any app).
    call(&app, &alice, Method::DELETE, &format!("/admin/api/clients/{app_a}/webhooks/{wh}"), None).await.data();
    call(&app, &alice, Method::DELETE, &format!("/admin/api/clients/{app_a}/webhooks/{wh}"), None)
        .await
        .assert_error(404, "INVALID_REQUEST");
    let disabled = call(&app, &op, Method::POST, &format!("/admin/api/clients/{app_b}/disable"), None).await;
    assert_eq!(disabled.data()["disabled"], json!(true));

    // --- Revoked and expired tokens stop at once.
    let (ok, _, err) = run_cli(&url, &[], &["operators", "tokens", "revoke", &ro_id]).await;
    assert!(ok, "revoke: {err}");
    call(&app, &ro, Method::GET, "/admin/api/me", None).await.assert_error(401, "INVALID_TOKEN");
    app.clock.advance(time::Duration::days(2));
    call(&app, &op, Method::GET, "/admin/api/me", None).await.assert_error(401, "INVALID_TOKEN");
    call(&app, &alice, Method::GET, "/admin/api/me", None).await.assert_error(401, "INVALID_TOKEN");
    app.stop().await;
}

#[tokio::test]
async fn admin_api_on_sqlite() {
    admin_api(Db::Sqlite).await;
}

#[tokio::test]
async fn admin_api_on_postgres() {
    admin_api(Db::Postgres).await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_admin_api() {
    let doc: Value = serde_json::from_str(&kc_http::openapi::committed_json()).expect("JSON");
    for path in ["/admin/api/clients", "/admin/api/clients/{id}/webhooks/{wh}/test", "/admin/api/audit"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["securitySchemes"]["operator_token"].is_object());
}
