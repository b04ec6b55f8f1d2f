//! Security rules (SPEC §8): request ids and cache headers on every answer, server errors
//! that leak nothing, rate limiting of failed client authentications, CORS only for each
//! client's own origins, no plaintext secret at rest, and an audit trail without secrets.

use crate::errors::{
    assert_envelope, assert_revoked, json_of_len, ok_data, unknown_client_id, widget_calls, Call, BODY_LIMIT,
};
use crate::helpers::*;
use kc_service::NewClient;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;
use std::net::IpAddr;

const APP_ORIGIN: &str = "https://app.example.com";
const OTHER_ORIGIN: &str = "https://other.example.com";
const EVIL_ORIGIN: &str = "https://evil.example.net";

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------
// Headers on every answer.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_answer_carries_a_request_id_and_cache_control_no_store() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client_with(NewClient { origins: vec![APP_ORIGIN.into()], ..NewClient::sandbox("Web app") }).await;
    let link = app.link_token(&creds).await;
    let calls = [
        ("a success", Call::post("/link-token").creds(&creds).json(json!({}))),
        ("a widget success", Call::get("/widget/session").link(&link)),
        ("health", Call::get("/api/health")),
        ("a 400", Call::post("/token/exchange").creds(&creds).json(json!({"public_token": "nope"}))),
        ("a 401", Call::get("/token/grants")),
        ("a widget 401", Call::get("/widget/session")),
        ("a 404", Call::get("/no/such/route")),
        ("a 405", Call::new(Method::DELETE, "/link-token")),
        (
            "a 413",
            Call::post("/link-token").creds(&creds).raw(Some("application/json"), json_of_len("", BODY_LIMIT + 1)),
        ),
        (
            "a CORS preflight",
            Call::new(Method::OPTIONS, "/widget/session")
                .header("Origin", APP_ORIGIN)
                .header("Access-Control-Request-Method", "GET"),
        ),
    ];
    for (what, call) in calls {
        let answer = call.clone().send(&app).await;
        assert!(answer.status.as_u16() < 500, "{what}: no server error: {} {}", answer.status, answer.body);
        let id = header(&answer, "x-request-id");
        assert!(id.is_some_and(|v| !v.is_empty()), "{what}: an x-request-id header; headers: {:?}", answer.headers);
        assert_eq!(
            header(&answer, "cache-control"),
            Some("no-store"),
            "{what}: cache-control; headers: {:?}",
            answer.headers
        );

        let mine = format!("req-{}", uuid::Uuid::new_v4().simple());
        let echoed = call.header("X-Request-Id", mine.clone()).send(&app).await;
        assert_eq!(header(&echoed, "x-request-id"), Some(mine.as_str()), "{what}: the caller's X-Request-Id is echoed");
    }

    let first = Call::get("/api/health").send(&app).await;
    let second = Call::get("/api/health").send(&app).await;
    assert_ne!(
        header(&first, "x-request-id"),
        header(&second, "x-request-id"),
        "generated request ids differ from request to request"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Server errors.
// ---------------------------------------------------------------------------------------

/// Runs one SQL statement on the test's SQLite database behind the server's back, with
/// foreign keys off so that it can break references.
async fn execute_sql(app: &TestApp, sql: &str) {
    let db = Database::connect(&app.database_url).await.expect("open the test database");
    let script = format!("PRAGMA foreign_keys = OFF; {sql}");
    db.execute_unprepared(&script).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.expect("close");
}

#[tokio::test]
async fn a_server_error_answers_internal_error_and_leaks_nothing() {
    let app = spawn_app(Db::Sqlite).await;
    let broken = app.client().await;
    let dangling = app.client_with(NewClient::sandbox("Dangling")).await;
    let (access, grant) = app.access_token(&dangling).await;

    // Damage the stored data so that reading it fails inside the store.
    let marker = "ZZmarkerZZ";
    execute_sql(&app, &format!("UPDATE clients SET mode = '{marker}-mode' WHERE id = '{}'", broken.id)).await;
    let missing_grant = format!("cgrant_{marker}{}", "Q".repeat(22));
    execute_sql(&app, &format!("UPDATE access_tokens SET grant_id = '{missing_grant}' WHERE grant_id = '{grant}'"))
        .await;

    let answers = [
        ("a client whose stored mode is unreadable", Call::post("/link-token").creds(&broken).json(json!({}))),
        (
            "an access token whose grant is missing",
            Call::post("/link-token/check-session").creds(&dangling).json(json!({"access_token": access})),
        ),
    ];
    for (what, call) in answers {
        let answer = call.send(&app).await;
        assert_envelope(&answer, 500, "INTERNAL_ERROR", what);
        let text = answer.body.to_string().to_lowercase();
        for internal in [
            marker.to_lowercase().as_str(),
            "corrupt",
            "sql",
            "database",
            "store",
            "mode",
            "grant",
            "panick",
            "select ",
            "error:",
            "access_tokens",
            "clients",
            &missing_grant.to_lowercase(),
            &broken.id.to_lowercase(),
        ] {
            assert!(!text.contains(internal), "{what}: the body leaks `{internal}`: {}", answer.body);
        }
        assert!(
            header(&answer, "x-request-id").is_some_and(|v| !v.is_empty()),
            "{what}: a request id to correlate with the logs"
        );
        assert_eq!(header(&answer, "cache-control"), Some("no-store"), "{what}: cache-control");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Rate limiting of failed client authentication.
// ---------------------------------------------------------------------------------------

/// A failed authentication: the right id with a wrong secret.
fn wrong_secret(creds: &Creds) -> Call {
    Call::post("/link-token").header("X-Client-Id", &creds.id).header("X-Client-Secret", "kcs_wrong").json(json!({}))
}

#[track_caller]
fn assert_rate_limited(answer: &Answer, what: &str) {
    assert_envelope(answer, 429, "RATE_LIMITED", what);
    let retry = header(answer, "retry-after").unwrap_or_else(|| panic!("{what}: a Retry-After header"));
    let secs: u64 = retry.parse().unwrap_or_else(|_| panic!("{what}: Retry-After is whole seconds, got `{retry}`"));
    assert!((1..=60).contains(&secs), "{what}: Retry-After within the one-minute window, got {secs}");
    let message = answer.body["error"].as_str().unwrap_or("");
    assert!(message.contains(&format!("retry in {secs} s")), "{what}: the message says when to retry: {message}");
    assert!(header(answer, "x-request-id").is_some_and(|v| !v.is_empty()), "{what}: a request id");
    assert_eq!(header(answer, "cache-control"), Some("no-store"), "{what}: cache-control");
}

/// An HTTP client whose connections come from `ip` (any 127/8 address reaches the server).
fn http_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().expect("client with a source address")
}

/// Sends `call` until it is answered 429 (at most `tries` times); every earlier answer must be
/// `401 INVALID_CLIENT`. Returns how many 401s came first and the 429.
async fn fail_until_limited(call: &Call, http: &reqwest::Client, app: &TestApp, tries: usize) -> (usize, Answer) {
    for n in 0..tries {
        let answer = call.send_with(http, &app.base).await;
        if answer.status.as_u16() == 429 {
            return (n, answer);
        }
        assert_envelope(&answer, 401, "INVALID_CLIENT", &format!("failed authentication #{}", n + 1));
    }
    panic!("no 429 after {tries} failed authentications");
}

#[tokio::test]
async fn the_default_budget_answers_429_to_failures_but_never_to_a_correct_secret() {
    let app = spawn_app(Db::Sqlite).await;
    let victim = app.client().await;
    let honest = app.client_with(NewClient::sandbox("Honest")).await;
    let attacker = http_from([127, 0, 0, 1]);

    // 20 a minute for one client id from one IP, a quarter of it (5) at once; the budget
    // refills one every 3 s, and the progressive delay (up to 1 s) lets one or two refill.
    let (allowed, limited) = fail_until_limited(&wrong_secret(&victim), &attacker, &app, 10).await;
    assert!((5..=7).contains(&allowed), "5 failures at once (+ refills during the delays), got {allowed}");
    assert_rate_limited(&limited, "past the default budget");

    for (what, creds) in [("the attacked client's own secret", &victim), ("another client's secret", &honest)] {
        let answer = Call::post("/link-token").creds(creds).json(json!({})).send_with(&attacker, &app.base).await;
        ok_data(&answer, &format!("{what} from the limited IP is never refused"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_limited_ip_keeps_every_endpoint_working_for_correct_credentials() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.security.auth_failures_per_minute = 3;
        s.security.ip_auth_failures_per_minute = 3;
        s.security.auth_failure_max_delay_ms = 50;
    })
    .await;
    let victim = app.client().await;
    let honest = app.client_with(NewClient::sandbox("Honest")).await;
    let (access, grant) = app.access_token(&honest).await;
    let (victim_access, _) = app.access_token(&victim).await;
    let link = app.link_token(&honest).await;

    // Every kind of failed authentication counts against the IP (burst 1, then 1 per 20 s).
    let failures = [
        Call::post("/link-token").json(json!({})),
        wrong_secret(&victim),
        Call::get("/token/grants").header("X-Client-Id", unknown_client_id()).header("X-Client-Secret", "kcs_x"),
        Call::post("/token/exchange")
            .json(json!({"public_token": "public_x", "client_id": "bad id", "client_secret": "x"})),
    ];
    assert_envelope(&failures[0].send(&app).await, 401, "INVALID_CLIENT", "the first failure is within the budget");
    for call in &failures[1..] {
        assert_rate_limited(&call.send(&app).await, "a failure past the budget of the IP");
    }

    let honest_calls = [
        ("POST /link-token", Call::post("/link-token").creds(&honest).json(json!({}))),
        (
            "POST /link-token/check-session",
            Call::post("/link-token/check-session").creds(&honest).json(json!({"access_token": access})),
        ),
        ("GET /token/grants", Call::get("/token/grants").creds(&honest)),
        ("victim: POST /link-token", Call::post("/link-token").creds(&victim).json(json!({}))),
        (
            "victim: POST /link-token/check-session",
            Call::post("/link-token/check-session").creds(&victim).json(json!({"access_token": victim_access})),
        ),
        ("POST /token/revoke", Call::post("/token/revoke").creds(&honest).json(json!({"grant_id": grant}))),
    ];
    for (name, call) in honest_calls {
        let answer = call.send(&app).await;
        assert!(
            answer.status.is_success(),
            "{name}: correct credentials from the limited IP: {} {}",
            answer.status,
            answer.body
        );
    }
    // Correct credentials with a bad token are not an authentication failure of the client.
    let exchange =
        Call::post("/token/exchange").creds(&honest).json(json!({"public_token": "public_x"})).send(&app).await;
    assert_envelope(&exchange, 400, "INVALID_TOKEN", "exchange with correct credentials from the limited IP");
    let body_creds = Call::post("/token/exchange")
        .json(json!({"public_token": "public_x", "client_id": honest.id, "client_secret": honest.secret}))
        .send(&app)
        .await;
    assert_envelope(&body_creds, 400, "INVALID_TOKEN", "exchange with body credentials from the limited IP");
    let revoked = Call::post("/link-token/check-session").creds(&honest).json(json!({"access_token": access}));
    assert_eq!(
        ok_data(&revoked.send(&app).await, "check-session after the revoke")["has_valid_session"],
        json!(false),
        "the revoke from the limited IP happened"
    );
    ok_data(
        &Call::get("/widget/session").link(&link).send(&app).await,
        "widget calls authenticate by link token, not by client",
    );
    app.stop().await;
}

#[tokio::test]
async fn guessing_one_client_id_from_many_ips_never_locks_its_owner_out() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.security.auth_failures_per_minute = 3;
        s.security.auth_failure_max_delay_ms = 50;
    })
    .await;
    let victim = app.client().await;

    for ip in [[127, 0, 0, 11], [127, 0, 0, 12], [127, 0, 0, 13], [127, 0, 0, 14], [127, 0, 0, 15]] {
        let http = http_from(ip);
        let (allowed, limited) = fail_until_limited(&wrong_secret(&victim), &http, &app, 4).await;
        assert_eq!(allowed, 1, "each IP has its own budget for the client id (burst 1)");
        assert_rate_limited(&limited, "the same IP again");
        let own = Call::post("/link-token").creds(&victim).json(json!({})).send_with(&http, &app.base).await;
        ok_data(&own, "the owner's secret from the guessing IP itself");
    }
    let own = Call::post("/link-token")
        .creds(&victim)
        .json(json!({}))
        .send_with(&http_from([127, 0, 0, 20]), &app.base)
        .await;
    ok_data(&own, "the attacked client id, from a fresh IP");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// CORS.
// ---------------------------------------------------------------------------------------

fn preflight(path: &str, origin: &str, method: &str) -> Call {
    Call::new(Method::OPTIONS, path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "content-type,x-link-token")
}

#[tokio::test]
async fn widget_preflights_are_allowed_only_for_registered_client_origins() {
    let app = spawn_app(Db::Sqlite).await;
    app.client_with(NewClient { origins: vec![APP_ORIGIN.into()], ..NewClient::sandbox("Web app") }).await;
    let disabled =
        app.client_with(NewClient { origins: vec![OTHER_ORIGIN.into()], ..NewClient::sandbox("Gone") }).await;
    app.service.disable_client(&disabled.id).await.expect("disable");

    for (name, _) in widget_calls() {
        let (method, path) = name.split_once(' ').expect("`METHOD /path`");
        let answer = preflight(path, APP_ORIGIN, method).send(&app).await;
        assert!(answer.status.is_success(), "{path}: preflight from a registered origin succeeds: {}", answer.status);
        assert_eq!(
            header(&answer, "access-control-allow-origin"),
            Some(APP_ORIGIN),
            "{path}: the registered origin is allowed, exactly; headers: {:?}",
            answer.headers
        );
        let allowed_headers = header(&answer, "access-control-allow-headers").unwrap_or("").to_ascii_lowercase();
        assert!(allowed_headers.contains("x-link-token"), "{path}: X-LINK-TOKEN may be sent: `{allowed_headers}`");
        let allowed_methods = header(&answer, "access-control-allow-methods").unwrap_or("").to_ascii_uppercase();
        assert!(allowed_methods.contains(method), "{path}: {method} is allowed: `{allowed_methods}`");

        for (who, origin) in [
            ("an unregistered origin", EVIL_ORIGIN),
            ("a disabled client's origin", OTHER_ORIGIN),
            ("the literal null origin", "null"),
        ] {
            let answer = preflight(path, origin, method).send(&app).await;
            assert!(answer.status.as_u16() < 500, "{path}, {who}: no server error");
            assert_eq!(
                header(&answer, "access-control-allow-origin"),
                None,
                "{path}: {who} gets no Access-Control-Allow-Origin; headers: {:?}",
                answer.headers
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_widget_call_from_another_clients_origin_is_refused() {
    let app = spawn_app(Db::Sqlite).await;
    let mine = app.client_with(NewClient { origins: vec![APP_ORIGIN.into()], ..NewClient::sandbox("Mine") }).await;
    app.client_with(NewClient { origins: vec![OTHER_ORIGIN.into()], ..NewClient::sandbox("Theirs") }).await;
    let link = app.link_token(&mine).await;

    for origin in [OTHER_ORIGIN, EVIL_ORIGIN] {
        for (name, call) in widget_calls() {
            let answer = call.link(&link).header("Origin", origin).send(&app).await;
            assert_envelope(&answer, 401, "INVALID_CLIENT", &format!("{name} from {origin} with my link token"));
        }
    }
    // The widget page is served by the server itself: its calls are same-origin.
    let own = Call::get("/widget/session").link(&link).header("Origin", app.base.clone()).send(&app).await;
    ok_data(&own, "a call from the server's own origin (the widget page)");
    let answer = Call::get("/widget/session").link(&link).header("Origin", APP_ORIGIN).send(&app).await;
    let session = ok_data(&answer, "the client's own origin");
    assert_eq!(session["user"], json!(null), "the refused calls changed nothing: {session}");
    assert_eq!(
        header(&answer, "access-control-allow-origin"),
        Some(APP_ORIGIN),
        "the response is readable by that origin"
    );
    app.stop().await;
}

#[tokio::test]
async fn connect_api_routes_never_send_access_control_allow_origin() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client_with(NewClient { origins: vec![APP_ORIGIN.into()], ..NewClient::sandbox("Web app") }).await;
    let (access, grant) = app.access_token(&creds).await;
    let calls = [
        preflight("/link-token", APP_ORIGIN, "POST"),
        preflight("/link-token/check-session", APP_ORIGIN, "POST"),
        preflight("/token/exchange", APP_ORIGIN, "POST"),
        preflight("/token/revoke", APP_ORIGIN, "POST"),
        preflight("/token/grants", APP_ORIGIN, "GET"),
        Call::post("/link-token").creds(&creds).json(json!({})),
        Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})),
        Call::post("/token/exchange").creds(&creds).json(json!({"public_token": "public_x"})),
        Call::get("/token/grants").creds(&creds),
        Call::post("/token/revoke").creds(&creds).json(json!({"grant_id": grant})),
    ];
    for call in calls {
        let answer = call.clone().header("Origin", APP_ORIGIN).send(&app).await;
        assert!(answer.status.as_u16() < 500, "{call:?}: no server error: {}", answer.status);
        assert_eq!(
            header(&answer, "access-control-allow-origin"),
            None,
            "{call:?}: a Connect API route is for servers, never for browsers; headers: {:?}",
            answer.headers
        );
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Secrets at rest and in the audit trail.
// ---------------------------------------------------------------------------------------

/// Every plaintext secret a typical life of a client produces, by name.
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(value.len() > 20, "{what} looks like a real secret: {value}");
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// The secret part of each value (what follows its `prefix_`), which must appear nowhere.
    fn bodies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(what, v)| (what.as_str(), v.split_once('_').map_or(v.as_str(), |(_, body)| body)))
    }

    fn find_in<'a>(&'a self, text: &str) -> Option<&'a str> {
        self.bodies().find(|(_, body)| text.contains(body)).map(|(what, _)| what)
    }
}

/// Drives a client through every token kind and records each plaintext the server handed out.
async fn a_full_life(app: &TestApp) -> (Creds, Secrets) {
    let mut s = Secrets(Vec::new());
    let first = app.client().await;
    s.add("the client secret", &first.secret);
    let rotated = app.service.rotate_client_secret(&first.id).await.expect("rotate");
    let creds = Creds { id: first.id.clone(), secret: rotated.expose().to_owned() };
    s.add("the rotated client secret", &creds.secret);
    let wrong = format!("kcs_{}", "W".repeat(43));
    assert_envelope(
        &Call::post("/link-token")
            .header("X-Client-Id", &creds.id)
            .header("X-Client-Secret", &wrong)
            .json(json!({}))
            .send(app)
            .await,
        401,
        "INVALID_CLIENT",
        "a guess",
    );
    s.add("a guessed client secret", &wrong);

    let unused_link = app.link_token(&creds).await;
    s.add("an unused link token", &unused_link);
    let completed_link = app.consented_link(&creds).await;
    let done = Call::post("/widget/complete").link(&completed_link).send(app).await;
    let public = ok_data(&done, "complete")["public_token"].as_str().expect("public").to_owned();
    s.add("a completed link token", &completed_link);
    s.add("an exchanged public token", &public);
    let exchanged = app.exchange(&creds, &public).await;
    let access = ok_data(&exchanged, "exchange")["access_token"].as_str().expect("access").to_owned();
    let grant = ok_data(&exchanged, "exchange")["grant_id"].as_str().expect("grant").to_owned();
    s.add("an access token", &access);
    assert_envelope(&app.exchange(&creds, &public).await, 400, "TOKEN_ALREADY_USED", "a replay");
    let pending = app.public_token(&creds).await;
    s.add("an unexchanged public token", &pending);

    let resumed = Call::post("/link-token").creds(&creds).json(json!({"access_token": access})).send(app).await;
    let resumed_link = ok_data(&resumed, "resume")["link_token"].as_str().expect("link").to_owned();
    s.add("a resuming link token", &resumed_link);
    let check =
        Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": access})).send(app).await;
    ok_data(&check, "check-session");
    let (other_access, other_grant) = app.access_token(&creds).await;
    s.add("a revoked access token", &other_access);
    assert_revoked(
        &Call::post("/token/revoke").creds(&creds).json(json!({"grant_id": other_grant})).send(app).await,
        "revoke",
    );
    let denied = app.link_token(&creds).await;
    ok_data(&Call::post("/widget/auth/anonymous").link(&denied).send(app).await, "sign in");
    ok_data(&Call::post("/widget/consent").link(&denied).json(json!({"approve": false})).send(app).await, "deny");
    s.add("a denied link token", &denied);
    let _ = grant;
    (creds, s)
}

/// `(table, column, value)` for every non-null value of every column of every table,
/// read as text.
async fn every_stored_value(database_url: &str) -> Vec<(String, String, String)> {
    let db = Database::connect(database_url).await.expect("open the SQLite file");
    let sql = |s: String| Statement::from_string(DbBackend::Sqlite, s);
    let tables =
        db.query_all(sql("SELECT name FROM sqlite_master WHERE type = 'table'".into())).await.expect("list tables");
    let mut values = Vec::new();
    for t in tables {
        let table: String = t.try_get("", "name").expect("table name");
        let columns =
            db.query_all(sql(format!("SELECT name FROM pragma_table_info('{table}')"))).await.expect("columns");
        for c in columns {
            let column: String = c.try_get("", "name").expect("column name");
            let rows = db
                .query_all(sql(format!("SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\"")))
                .await
                .expect("read column");
            for r in rows {
                if let Some(v) = r.try_get::<Option<String>>("", "v").expect("text value") {
                    values.push((table.clone(), column.clone(), v));
                }
            }
        }
    }
    db.close().await.expect("close");
    values
}

#[tokio::test]
async fn the_database_holds_no_plaintext_token_or_secret() {
    let app = spawn_app(Db::Sqlite).await;
    let (creds, secrets) = a_full_life(&app).await;

    let values = every_stored_value(&app.database_url).await;
    assert!(
        values.iter().any(|(t, _, v)| t == "clients" && v == &creds.id),
        "the scan reads real data (it finds the client id)"
    );
    for table in ["link_tokens", "public_tokens", "access_tokens", "grants", "audit_events"] {
        assert!(values.iter().any(|(t, _, _)| t == table), "the scan covers `{table}`");
    }
    for (table, column, value) in &values {
        if let Some(what) = secrets.find_in(value) {
            panic!("{what} is stored in plaintext in {table}.{column}");
        }
    }

    // The same, byte by byte, over the database files (WAL included).
    for entry in std::fs::read_dir(&app.data_dir).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read file");
        let text = String::from_utf8_lossy(&bytes);
        if let Some(what) = secrets.find_in(&text) {
            panic!("{what} is in plaintext in {}", path.display());
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_audit_trail_records_replays_and_failed_authentication_without_secrets() {
    let app = spawn_app(Db::Sqlite).await;
    let (creds, secrets) = a_full_life(&app).await;
    let events = app.service.audit_events(None, None, 100).await.expect("audit events");

    let has = |kind: &str, outcome: &str| {
        events
            .iter()
            .any(|e| e.kind == kind && e.outcome == outcome && e.client_id.as_deref() == Some(creds.id.as_str()))
    };
    let kinds: Vec<String> = events.iter().map(|e| format!("{}:{}", e.kind, e.outcome)).collect();
    assert!(has("token.exchange", "security"), "a replayed public token is a security event: {kinds:?}");
    assert!(has("client.auth", "failure"), "a failed client authentication is recorded: {kinds:?}");
    for kind in ["link_token.create", "token.exchange", "grant.revoke", "widget.auth.anonymous"] {
        assert!(has(kind, "success"), "`{kind}` is audited (SPEC §8): {kinds:?}");
    }
    let replay = events.iter().find(|e| e.outcome == "security").expect("the replay event");
    assert_eq!(replay.detail.as_deref(), Some("TOKEN_ALREADY_USED"), "the replay names what happened: {replay:?}");

    for e in &events {
        let text = format!("{e:?}");
        if let Some(what) = secrets.find_in(&text) {
            panic!("{what} appears in the audit event {text}");
        }
    }
    app.stop().await;
}
