//! The returning user (SPEC §6, the seed's backend guide): a link token created with a live
//! access token runs INTEGRATION only — no sign-in, and no consent while the requested scopes
//! are within the grant's. Asked for more, the user approves only the new scopes, which
//! extends the grant (with a `grant.updated` webhook); a denial leaves the grant as it was.
//! A revoked grant's access token cannot resume: `INVALID_TOKEN`, and the backend starts the
//! new-user flow without it. On SQLite and PostgreSQL.

use crate::data_api::data_get;
use crate::helpers::*;
use crate::webhooks::{assert_signed, Receiver};
use kc_domain::SANDBOX_ETHEREUM_ADDRESS;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// The grant a guest gave the client for `scopes`: access token, grant id.
async fn grant_for(app: &TestApp, creds: &Creds, scopes: &str) -> (String, String) {
    let a = app.post("/link-token", creds, json!({ "scopes": scopes })).await;
    let link = a.data()["link_token"].as_str().expect("link_token").to_owned();
    app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("public token").to_owned();
    let ex = app.exchange(creds, &public).await;
    let d = ex.data();
    assert_eq!(d["scope"], json!(scopes), "the grant holds what was approved");
    (d["access_token"].as_str().expect("token").to_owned(), d["grant_id"].as_str().expect("grant").to_owned())
}

/// A link token resuming `access` (the backend's `isAuthorized: true` path), asking for `scopes`.
async fn resume(app: &TestApp, creds: &Creds, access: &str, scopes: Option<&str>) -> String {
    let mut body = json!({ "access_token": access });
    if let Some(s) = scopes {
        body["scopes"] = json!(s);
    }
    let a = app.post("/link-token", creds, body).await;
    assert_eq!(a.data()["has_existing_grant"], json!(true), "{}", a.body);
    a.data()["link_token"].as_str().expect("link_token").to_owned()
}

async fn session(app: &TestApp, link: &str) -> Value {
    app.send(Method::GET, "/widget/session", None, Some(link), None).await.data().clone()
}

async fn consent(app: &TestApp, link: &str, approve: bool) -> Answer {
    app.send(Method::POST, "/widget/consent", None, Some(link), Some(json!({ "approve": approve }))).await
}

async fn complete(app: &TestApp, link: &str) -> Answer {
    app.send(Method::POST, "/widget/complete", None, Some(link), None).await
}

/// The client's active grants as `(grant_id, scopes)`.
async fn grants(app: &TestApp, creds: &Creds) -> Vec<(String, String)> {
    let a = app.send(Method::GET, "/token/grants", Some(creds), None, None).await;
    a.data()["grants"]
        .as_array()
        .unwrap_or_else(|| panic!("grants: {}", a.body))
        .iter()
        .map(|g| (g["grant_id"].as_str().expect("id").to_owned(), g["scopes"].as_str().expect("scopes").to_owned()))
        .collect()
}

/// The events of the client's webhook deliveries, oldest first (read from the outbox).
async fn outbox_events(app: &TestApp, creds: &Creds) -> Vec<String> {
    let mut d = app.service.webhook_deliveries(&creds.id, 100).await.expect("deliveries");
    d.reverse();
    d.into_iter().map(|d| d.event).collect()
}

async fn returning_user_within_the_grant_sees_neither_sign_in_nor_consent(db: Db) {
    let app = spawn_app(db).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add the endpoint");
    let (access, grant) = app.access_token(&creds).await;
    let before = grants(&app, &creds).await;

    // The seed's backend sends its usual scopes (here: the client's defaults, what the grant holds).
    let link = resume(&app, &creds, &access, None).await;
    let s = session(&app, &link).await;
    assert_eq!(s["is_authorized"], json!(true), "no sign-in: {s}");
    assert_eq!(s["consent_required"], json!(false), "no consent screen: {s}");
    assert_eq!(s["consent_scopes"], json!(""), "nothing to approve: {s}");

    // INTEGRATION → STATUS, straight away.
    let body = json!({ "provider": "ethereum", "address": SANDBOX_ETHEREUM_ADDRESS });
    app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(body)).await.data();
    let done = complete(&app, &link).await;
    assert_eq!(done.data(), &json!({ "public_token": null }), "a returning user gets null");

    assert_eq!(grants(&app, &creds).await, before, "the grant is unchanged, and no grant was added");
    assert_eq!(before[0].0, grant);
    let check = app.node().check_session(&creds, &access).await;
    assert_eq!(check.data()["has_valid_session"], json!(true));
    let events = outbox_events(&app, &creds).await;
    assert!(!events.iter().any(|e| e == "grant.updated"), "no grant.updated: {events:?}");

    // A narrower request is within the grant too.
    let link = resume(&app, &creds, &access, Some("portfolios:read")).await;
    assert_eq!(session(&app, &link).await["consent_required"], json!(false));
    assert_eq!(complete(&app, &link).await.data(), &json!({ "public_token": null }));
    app.stop().await;
}

#[tokio::test]
async fn a_returning_user_within_the_grant_sees_neither_sign_in_nor_consent_on_sqlite() {
    returning_user_within_the_grant_sees_neither_sign_in_nor_consent(Db::Sqlite).await;
}

#[tokio::test]
async fn a_returning_user_within_the_grant_sees_neither_sign_in_nor_consent_on_postgres() {
    returning_user_within_the_grant_sees_neither_sign_in_nor_consent(Db::Postgres).await;
}

async fn approving_more_scopes_extends_the_grant(db: Db) {
    let (url, dir) = fresh_database(db).await;
    let app = spawn_app_on(&url, &dir, |s| s.webhooks.poll_interval_ms = 20).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    let (_, secret) = app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add the endpoint");
    let (access, grant) = grant_for(&app, &creds, "openid users:read").await;
    let holdings = data_get(&app, "/api/v1/holdings", Some(&access), Some(&creds)).await;
    assert_eq!(holdings.status, 403, "portfolios:read is not granted yet: {}", holdings.text);

    let asked = "openid users:read portfolios:read integrations:read";
    let link = resume(&app, &creds, &access, Some(asked)).await;
    let s = session(&app, &link).await;
    assert_eq!(s["is_authorized"], json!(true), "still no sign-in: {s}");
    assert_eq!(s["consent_required"], json!(true), "{s}");
    assert_eq!(s["consent_scopes"], json!("portfolios:read integrations:read"), "only the new scopes: {s}");
    complete(&app, &link).await.assert_error(400, "INVALID_REQUEST");

    let approved = consent(&app, &link, true).await;
    assert_eq!(approved.data(), &json!({ "approved": true, "granted_scopes": asked }), "the whole grant now");
    assert_eq!(grants(&app, &creds).await, [(grant.clone(), asked.to_owned())], "extended in place, no new grant");
    let check = app.node().check_session(&creds, &access).await;
    assert_eq!(check.data()["granted_scopes"], json!(asked));
    let holdings = data_get(&app, "/api/v1/holdings", Some(&access), Some(&creds)).await;
    assert_eq!(holdings.status, 200, "the same access token reads holdings at once: {}", holdings.text);
    let integrations = data_get(&app, "/api/v1/integrations", Some(&access), Some(&creds)).await;
    assert_eq!(integrations.status, 200, "{}", integrations.text);
    assert_eq!(complete(&app, &link).await.data(), &json!({ "public_token": null }));

    let hits = rx.wait_for(2, WAIT, "grant.created, then grant.updated").await;
    let events: Vec<String> = hits.iter().map(|h| h.event()).collect();
    assert_eq!(events, ["grant.created", "grant.updated"], "in order");
    let updated = assert_signed(&hits[1], secret.expose(), None);
    let d = &updated["data"];
    assert_eq!(d["grant_id"], json!(grant), "{d}");
    assert_eq!(d["scopes"], json!(asked), "{d}");
    assert!(d["uid"].as_str().is_some() && d["workspace_id"].as_str().is_some() && d.get("revoked_at").is_none());
    rx.assert_quiet(2, Duration::from_millis(800), "one grant.updated").await;

    // Now within the grant: the next visit asks nothing.
    let link = resume(&app, &creds, &access, Some(asked)).await;
    assert_eq!(session(&app, &link).await["consent_required"], json!(false));
    app.stop().await;
}

#[tokio::test]
async fn approving_more_scopes_extends_the_grant_on_sqlite() {
    approving_more_scopes_extends_the_grant(Db::Sqlite).await;
}

#[tokio::test]
async fn approving_more_scopes_extends_the_grant_on_postgres() {
    approving_more_scopes_extends_the_grant(Db::Postgres).await;
}

async fn denying_more_scopes_leaves_the_grant_as_it_was(db: Db) {
    let app = spawn_app(db).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add the endpoint");
    let (access, grant) = grant_for(&app, &creds, "openid users:read").await;

    let link = resume(&app, &creds, &access, Some("openid users:read portfolios:read")).await;
    let denied = consent(&app, &link, false).await;
    assert_eq!(denied.data(), &json!({ "approved": false, "granted_scopes": "" }));
    complete(&app, &link).await.assert_error(400, "TOKEN_ALREADY_USED");

    assert_eq!(grants(&app, &creds).await, [(grant, "openid users:read".to_owned())], "unchanged");
    let holdings = data_get(&app, "/api/v1/holdings", Some(&access), Some(&creds)).await;
    assert_eq!(holdings.status, 403, "still not granted: {}", holdings.text);
    let check = app.node().check_session(&creds, &access).await;
    assert_eq!(check.data()["has_valid_session"], json!(true), "the grant lives on");
    assert_eq!(outbox_events(&app, &creds).await, ["grant.created"], "no grant.updated");
    app.stop().await;
}

#[tokio::test]
async fn denying_more_scopes_leaves_the_grant_as_it_was_on_sqlite() {
    denying_more_scopes_leaves_the_grant_as_it_was(Db::Sqlite).await;
}

#[tokio::test]
async fn denying_more_scopes_leaves_the_grant_as_it_was_on_postgres() {
    denying_more_scopes_leaves_the_grant_as_it_was(Db::Postgres).await;
}

async fn concurrent_extensions_of_one_grant_keep_every_scope(db: Db) {
    let app = spawn_app(db).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add the endpoint");
    let (access, grant) = grant_for(&app, &creds, "openid").await;
    let a = resume(&app, &creds, &access, Some("openid portfolios:read")).await;
    let b = resume(&app, &creds, &access, Some("openid integrations:read")).await;

    let (ra, rb) = tokio::join!(consent(&app, &a, true), consent(&app, &b, true));
    assert_eq!(ra.data()["approved"], json!(true));
    assert_eq!(rb.data()["approved"], json!(true));

    let now = grants(&app, &creds).await;
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, grant);
    let mut scopes: Vec<&str> = now[0].1.split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["integrations:read", "openid", "portfolios:read"], "neither extension was lost");
    let events = outbox_events(&app, &creds).await;
    assert_eq!(events, ["grant.created", "grant.updated", "grant.updated"], "one update per extension");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_extensions_of_one_grant_keep_every_scope_on_sqlite() {
    concurrent_extensions_of_one_grant_keep_every_scope(Db::Sqlite).await;
}

#[tokio::test]
async fn concurrent_extensions_of_one_grant_keep_every_scope_on_postgres() {
    concurrent_extensions_of_one_grant_keep_every_scope(Db::Postgres).await;
}

async fn a_revoked_grant_cannot_be_resumed(db: Db) {
    let app = spawn_app(db).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;
    // A link token made while the grant was live, used after the revocation.
    let early = resume(&app, &creds, &access, None).await;
    let revoked = app.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
    assert_eq!(revoked.status.as_u16(), 200, "{}", revoked.body);

    // The documented error: a revoked token never silently starts a new user.
    let again = app.post("/link-token", &creds, json!({ "access_token": access })).await;
    again.assert_error(401, "INVALID_TOKEN");
    assert!(again.body["error"].as_str().is_some_and(|m| m.contains("token_revoked")), "{}", again.body);
    let check = app.node().check_session(&creds, &access).await;
    assert_eq!(check.data()["reason"], json!("token_revoked"));

    // The open session dies with the grant: nothing more is added under it.
    app.send(Method::GET, "/widget/session", None, Some(&early), None).await.assert_error(400, "INVALID_GRANT");
    let body = json!({ "provider": "ethereum", "address": SANDBOX_ETHEREUM_ADDRESS });
    let add = app.send(Method::POST, "/widget/integrations", None, Some(&early), Some(body)).await;
    add.assert_error(400, "INVALID_GRANT");
    complete(&app, &early).await.assert_error(400, "INVALID_GRANT");

    // What the backend does next: the new-user flow, without the access token.
    let (fresh, new_grant) = app.access_token(&creds).await;
    assert_ne!(new_grant, grant);
    assert_eq!(app.node().check_session(&creds, &fresh).await.data()["has_valid_session"], json!(true));
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_grant_cannot_be_resumed_on_sqlite() {
    a_revoked_grant_cannot_be_resumed(Db::Sqlite).await;
}

#[tokio::test]
async fn a_revoked_grant_cannot_be_resumed_on_postgres() {
    a_revoked_grant_cannot_be_resumed(Db::Postgres).await;
}
