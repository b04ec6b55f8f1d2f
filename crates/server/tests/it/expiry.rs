//! Token lifetimes (SPEC §2) judged by the server's clock, which tests move by hand:
//! link and public tokens live 30 minutes, access tokens 15 years (473,040,000 s).

use crate::errors::{assert_envelope, assert_revoked, ok_data, spawn_unthrottled_app, widget_calls, Call};
use crate::helpers::*;
use kc_domain::Clock;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Just inside a 30-minute lifetime.
const JUST_BEFORE_30_MIN: Duration = Duration::seconds(30 * 60 - 1);
/// Past a 30-minute lifetime.
const PAST_30_MIN: Duration = Duration::minutes(31);
/// An access token's lifetime.
const FIFTEEN_YEARS: Duration = Duration::seconds(473_040_000);

#[track_caller]
fn instant(v: &serde_json::Value, what: &str) -> OffsetDateTime {
    let text = v.as_str().unwrap_or_else(|| panic!("{what}: an RFC 3339 string, got {v}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{what}: `{text}` is RFC 3339: {e}"))
}

/// `t` to the whole second, as the API reports instants.
fn whole_second(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).expect("valid")
}

#[tokio::test]
async fn the_advertised_expiry_times_match_the_documented_lifetimes() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let now = whole_second(app.clock.now());

    let created = Call::post("/link-token").creds(&creds).json(json!({})).send(&app).await;
    let created = ok_data(&created, "link token");
    let link = created["link_token"].as_str().expect("link").to_owned();
    let link_expiry = instant(&created["expires_at"], "link expires_at");
    assert_eq!(link_expiry, now + Duration::minutes(30), "a link token lives 30 minutes: {created}");
    let session = Call::get("/widget/session").link(&link).send(&app).await;
    assert_eq!(
        instant(&ok_data(&session, "session")["expires_at"], "session expires_at"),
        link_expiry,
        "the widget shows the link token's expiry"
    );

    let (_, grant) = app.access_token(&creds).await;
    let grants = Call::get("/token/grants").creds(&creds).send(&app).await;
    let listed = &ok_data(&grants, "grants")["grants"][0];
    assert_eq!(listed["grant_id"], json!(grant), "{listed}");
    let created_at = instant(&listed["created_at"], "grant created_at");
    assert_eq!(created_at, now, "the grant was created now: {listed}");
    assert_eq!(
        instant(&listed["expires_at"], "grant expires_at"),
        now + FIFTEEN_YEARS,
        "a grant lives 15 years: {listed}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_link_token_past_30_minutes_is_expired_on_every_widget_call() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let untouched = app.link_token(&creds).await;
    let consented = app.consented_link(&creds).await;

    app.clock.advance(PAST_30_MIN);

    for link in [&untouched, &consented] {
        for (name, call) in widget_calls() {
            assert_envelope(
                &call.link(link).send(&app).await,
                400,
                "TOKEN_EXPIRED",
                &format!("{name} after 31 minutes"),
            );
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
    ok_data(
        &Call::post("/widget/consent").link(&link).json(json!({"approve": true})).send(&app).await,
        "consent at 29:59",
    );
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
    assert_envelope(
        &body_creds.send(&app).await,
        400,
        "TOKEN_EXPIRED",
        "exchange with body credentials after 31 minutes",
    );
    let grants = Call::get("/token/grants").creds(&creds).send(&app).await;
    assert_eq!(ok_data(&grants, "grants")["count"], json!(0), "an expired public token creates no grant");
    app.stop().await;
}

#[tokio::test]
async fn a_public_token_lives_30_minutes_from_its_issue_not_from_its_link_token() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let link = app.consented_link(&creds).await;

    app.clock.advance(Duration::minutes(29));
    let done = Call::post("/widget/complete").link(&link).send(&app).await;
    let public = ok_data(&done, "complete at minute 29")["public_token"].as_str().expect("public").to_owned();
    app.clock.advance(Duration::minutes(20));

    let answer = app.exchange(&creds, &public).await;
    ok_data(&answer, "exchange 20 minutes after issue, 49 after the link token was created");
    app.stop().await;
}

#[tokio::test]
async fn another_clients_expired_public_token_is_invalid_not_expired() {
    let app = spawn_app(Db::Sqlite).await;
    let mine = app.client().await;
    let theirs = app.client_with(kc_service::NewClient::sandbox("Theirs")).await;
    let public = app.public_token(&theirs).await;

    app.clock.advance(PAST_30_MIN);

    let answer = app.exchange(&mine, &public).await;
    assert_envelope(&answer, 400, "INVALID_TOKEN", "a foreign token reveals nothing of its state, expiry included");
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

    let check =
        Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
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

    let check =
        Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
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
    assert_revoked(
        &Call::post("/token/revoke").creds(&creds).json(json!({"grant_id": grant})).send(&app).await,
        "revoke",
    );

    app.clock.advance(FIFTEEN_YEARS + Duration::days(1));

    let check =
        Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(&app).await;
    assert_eq!(
        ok_data(&check, "check-session of a revoked, later expired token")["reason"],
        json!("token_revoked"),
        "the client revoked it; that is the reason it reports"
    );
    app.stop().await;
}
