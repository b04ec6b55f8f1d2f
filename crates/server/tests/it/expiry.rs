//! Token lifetimes (SPEC §2) judged by the server's clock, which tests move by hand:
//! link and public tokens live 30 minutes, access tokens 15 years (473,040,000 s).

use crate::errors::{assert_envelope, assert_revoked, ok_data, spawn_unthrottled_app, Call};
use crate::helpers::*;
use serde_json::json;
use time::Duration;

/// Just inside a 30-minute lifetime.
const JUST_BEFORE_30_MIN: Duration = Duration::seconds(30 * 60 - 1);
/// Past a 30-minute lifetime.
const PAST_30_MIN: Duration = Duration::minutes(31);
/// An access token's lifetime.
const FIFTEEN_YEARS: Duration = Duration::seconds(473_040_000);

/// The four widget calls, each with a body it accepts.
fn widget_calls(link: &str) -> [(&'static str, Call); 4] {
    [
        ("GET /widget/session", Call::get("/widget/session").link(link)),
        ("POST /widget/auth/anonymous", Call::post("/widget/auth/anonymous").link(link)),
        ("POST /widget/consent", Call::post("/widget/consent").link(link).json(json!({"approve": true}))),
        ("POST /widget/complete", Call::post("/widget/complete").link(link)),
    ]
}

#[tokio::test]
async fn a_link_token_past_30_minutes_is_expired_on_every_widget_call() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let untouched = app.link_token(&creds).await;
    let consented = app.consented_link(&creds).await;

    app.clock.advance(PAST_30_MIN);

    for link in [&untouched, &consented] {
        for (name, call) in widget_calls(link) {
            assert_envelope(&call.send(&app).await, 400, "TOKEN_EXPIRED", &format!("{name} after 31 minutes"));
        }
    }
    let fresh = app.link_token(&creds).await;
    let session = Call::get("/widget/session").link(&fresh).send(&app).await;
    ok_data(&session, "a link token created after the clock moved is fresh");
    app.stop().await;
}

#[tokio::test]
async fn a_link_token_that_expires_mid_flow_cannot_finish() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let link = app.link_token(&creds).await;
    ok_data(&Call::post("/widget/auth/anonymous").link(&link).send(&app).await, "sign in at minute 0");

    app.clock.advance(PAST_30_MIN);

    let consent = Call::post("/widget/consent").link(&link).json(json!({"approve": true})).send(&app).await;
    assert_envelope(&consent, 400, "TOKEN_EXPIRED", "consent at minute 31");
    let complete = Call::post("/widget/complete").link(&link).send(&app).await;
    assert_envelope(&complete, 400, "TOKEN_EXPIRED", "complete at minute 31");
    app.stop().await;
}

#[tokio::test]
async fn a_link_token_just_before_30_minutes_still_completes() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let link = app.link_token(&creds).await;

    app.clock.advance(JUST_BEFORE_30_MIN);

    ok_data(&Call::get("/widget/session").link(&link).send(&app).await, "session at 29:59");
    ok_data(&Call::post("/widget/auth/anonymous").link(&link).send(&app).await, "sign in at 29:59");
    ok_data(&Call::post("/widget/consent").link(&link).json(json!({"approve": true})).send(&app).await, "consent at 29:59");
    let done = Call::post("/widget/complete").link(&link).send(&app).await;
    let public = ok_data(&done, "complete at 29:59")["public_token"].as_str().expect("public token").to_owned();
    ok_data(&app.exchange(&creds, &public).await, "the public token issued at 29:59 is fresh");
    app.stop().await;
}

#[tokio::test]
async fn a_public_token_past_30_minutes_is_expired_and_issues_nothing() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let public = app.public_token(&creds).await;

    app.clock.advance(PAST_30_MIN);

    assert_envelope(&app.exchange(&creds, &public).await, 400, "TOKEN_EXPIRED", "exchange after 31 minutes");
    let body_creds = Call::post("/token/exchange")
        .json(json!({"public_token": public, "client_id": creds.id, "client_secret": creds.secret}));
    assert_envelope(&body_creds.send(&app).await, 400, "TOKEN_EXPIRED", "exchange with body credentials after 31 minutes");
    let grants = Call::get("/token/grants").creds(&creds).send(&app).await;
    assert_eq!(ok_data(&grants, "grants")["count"], json!(0), "an expired public token creates no grant");
    app.stop().await;
}

#[tokio::test]
async fn a_public_token_just_before_30_minutes_still_exchanges() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let public = app.public_token(&creds).await;

    app.clock.advance(JUST_BEFORE_30_MIN);

    let answer = app.exchange(&creds, &public).await;
    assert!(
        ok_data(&answer, "exchange at 29:59")["access_token"].as_str().is_some_and(|t| t.starts_with("cat_")),
        "an access token: {}",
        answer.body
    );
    app.stop().await;
}

#[tokio::test]
async fn an_access_token_past_15_years_has_no_session_and_cannot_resume() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;

    app.clock.advance(FIFTEEN_YEARS + Duration::seconds(1));

    let check = Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    assert_eq!(
        ok_data(&check, "check-session after 15 years"),
        &json!({"has_valid_session": false, "reason": "token_expired"}),
        "an expired access token has no session"
    );
    let resume = Call::post("/link-token").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    assert_envelope(&resume, 401, "INVALID_TOKEN", "resuming with an expired access token");
    let grants = Call::get("/token/grants").creds(&creds).send(&app).await;
    let grants = ok_data(&grants, "grants after 15 years");
    assert_eq!(grants["count"], json!(0), "an expired grant is not active, so not listed: {grants}");
    assert!(!grants.to_string().contains(&grant), "the expired grant is absent: {grants}");
    app.stop().await;
}

#[tokio::test]
async fn an_access_token_just_before_15_years_still_works() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;

    app.clock.advance(FIFTEEN_YEARS - Duration::seconds(1));

    let check = Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    let check = ok_data(&check, "check-session a second before 15 years");
    assert_eq!(check["has_valid_session"], json!(true), "{check}");
    assert_eq!(check["grant_id"], json!(grant), "{check}");
    let resume = Call::post("/link-token").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    assert_eq!(ok_data(&resume, "resume")["has_existing_grant"], json!(true), "the session resumes");
    app.stop().await;
}

#[tokio::test]
async fn revocation_outranks_expiry_in_check_session() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;
    assert_revoked(&Call::post("/token/revoke").creds(&creds).json(json!({"grant_id": grant})).send(&app).await, "revoke");

    app.clock.advance(FIFTEEN_YEARS + Duration::days(1));

    let check = Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    assert_eq!(
        ok_data(&check, "check-session of a revoked, later expired token")["reason"],
        json!("token_revoked"),
        "the client revoked it; that is the reason it reports"
    );
    app.stop().await;
}
