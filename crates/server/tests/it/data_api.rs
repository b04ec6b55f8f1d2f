//! The Data API (SPEC §7) and the developer endpoints (SPEC §4), over HTTP, on SQLite and
//! PostgreSQL.
//!
//! - Every `/api/v1/*` call needs a live `cat_…` bearer token **and** the credentials of the
//!   client that owns it; anything else is `401 {"error":"unauthorized","message","details":[]}`.
//! - Each endpoint is gated by its scope (`403 forbidden`), `userinfo` claims follow
//!   `openid`/`profile`/`email`, `integrations` pages and searches, `holdings` values the
//!   synced balances exactly (JSON numbers with every digit).
//! - `POST /developer/integrations/{walletId}/resync` and
//!   `PATCH /developer/grants/{grantId}/transaction-limit` with their error codes.
//!
//! Email users sign in with the code the server really sends: the app's mailer is pointed
//! at a tiny SMTP sink on 127.0.0.1 (`mail.transport = "smtp"`, `smtp_security = "none"`).

use crate::helpers::*;
use crate::smtp::SmtpSink;
use crate::sync_worker::{FakeEvmNode, Holdings};
use kc_service::NewClient;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Shared vocabulary (also used by `sync_worker`).
// ---------------------------------------------------------------------------------------

/// How long a test waits for the sync workers to settle an integration.
pub(crate) const SYNC_DEADLINE: Duration = Duration::from_secs(15);

/// The sandbox test addresses (SPEC §6).
pub(crate) const SANDBOX_ETH: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
pub(crate) const SANDBOX_SOL: &str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";

/// The token ids of the sandbox balances.
const ETH_ID: &str = "ethereum";
const USDC_ID: &str = "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const SOL_ID: &str = "solana";

/// The three Data API endpoints behind authentication.
const ENDPOINTS: [&str; 3] = ["/api/v1/userinfo", "/api/v1/integrations", "/api/v1/holdings"];

/// The documented 401 and 403 messages.
const UNAUTHORIZED_MESSAGE: &str = "Invalid or missing authentication token";
const FORBIDDEN_MESSAGE: &str = "Insufficient scopes. Required scopes not met";

/// Spawns an app on a fresh `db` with fast-polling sync workers and the failed-auth budget
/// out of the way (these tests send bad credentials on purpose), then applies `adjust`.
pub(crate) async fn spawn_with(db: Db, adjust: impl FnOnce(&mut kc_service::config::Settings)) -> TestApp {
    let (url, dir) = fresh_database(db).await;
    spawn_app_on(&url, &dir, |s| {
        s.sync.poll_interval_ms = 20;
        s.security.auth_failures_per_minute = 100_000;
        adjust(s);
    })
    .await
}

/// Registers a production client (any valid address of any provider).
pub(crate) async fn production_client(app: &TestApp) -> Creds {
    app.client_with(NewClient { mode: kc_domain::ClientMode::Production, ..NewClient::sandbox("Production app") }).await
}

/// The body of `POST /widget/integrations` for a wallet.
pub(crate) fn wallet(provider: &str, address: &str) -> Value {
    json!({ "provider": provider, "address": address })
}

/// A completed connection: what the client's backend holds, plus ids for assertions.
#[derive(Debug, Clone)]
pub(crate) struct Connected {
    pub creds: Creds,
    pub access_token: String,
    pub grant_id: String,
    pub user_id: String,
    pub workspace_id: String,
    /// The `walletId`s of the connected integrations, in the order given.
    pub wallet_ids: Vec<String>,
}

/// Link token (with `scopes`, or the client's default) → guest → consent → `integrations`
/// → complete → exchange.
pub(crate) async fn connect_guest(
    app: &TestApp,
    creds: &Creds,
    scopes: Option<&str>,
    integrations: &[Value],
) -> Connected {
    let link = link_token_with(app, creds, scopes).await;
    let guest = app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await;
    let (user_id, workspace_id) = (str_of(guest.data(), "user_id"), str_of(guest.data(), "workspace_id"));
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    finish_connection(app, creds, &link, integrations, user_id, workspace_id).await
}

async fn link_token_with(app: &TestApp, creds: &Creds, scopes: Option<&str>) -> String {
    let body = scopes.map_or_else(|| json!({}), |s| json!({ "scopes": s }));
    let a = app.post("/link-token", creds, body).await;
    str_of(a.data(), "link_token")
}

/// Adds `integrations`, completes the widget and exchanges the public token.
async fn finish_connection(
    app: &TestApp,
    creds: &Creds,
    link: &str,
    integrations: &[Value],
    user_id: String,
    workspace_id: String,
) -> Connected {
    let mut wallet_ids = Vec::new();
    for body in integrations {
        let added = app.send(Method::POST, "/widget/integrations", None, Some(link), Some(body.clone())).await;
        assert_eq!(added.status.as_u16(), 200, "connect {body}: {}", added.body);
        wallet_ids.push(str_of(added.data(), "walletId"));
    }
    let done = app.send(Method::POST, "/widget/complete", None, Some(link), None).await;
    let public = str_of(done.data(), "public_token");
    let exchanged = app.exchange(creds, &public).await;
    let d = exchanged.data();
    Connected {
        creds: creds.clone(),
        access_token: str_of(d, "access_token"),
        grant_id: str_of(d, "grant_id"),
        user_id,
        workspace_id,
        wallet_ids,
    }
}

#[track_caller]
fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("a string `{key}` in {v}")).to_owned()
}

/// A Data API answer, with the raw text (to check numbers digit by digit).
#[derive(Debug)]
pub(crate) struct DataAnswer {
    pub status: u16,
    pub text: String,
    pub body: Value,
}

/// `GET path` with `Authorization: Bearer token` and the client headers, when given.
pub(crate) async fn data_get(app: &TestApp, path: &str, token: Option<&str>, creds: Option<&Creds>) -> DataAnswer {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    if let Some(c) = creds {
        headers.extend(client_headers(c));
    }
    get_with_headers(app, path, &headers).await
}

fn client_headers(c: &Creds) -> [(&'static str, String); 2] {
    [("X-Client-Id", c.id.clone()), ("X-Client-Secret", c.secret.clone())]
}

async fn get_with_headers(app: &TestApp, path: &str, headers: &[(&str, String)]) -> DataAnswer {
    let mut req = app.http.get(format!("{}{path}", app.base));
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("GET {path} reaches the server: {e}"));
    let status = res.status().as_u16();
    let text = res.text().await.expect("response body");
    DataAnswer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

/// Polls the Data API (at most [`SYNC_DEADLINE`]) until every integration of `c` has settled
/// (`COMPLETED` or `FAILED`); returns them.
pub(crate) async fn wait_until_settled(app: &TestApp, c: &Connected) -> Vec<Value> {
    let until = Instant::now() + SYNC_DEADLINE;
    loop {
        let a = data_get(app, "/api/v1/integrations?pageSize=200", Some(&c.access_token), Some(&c.creds)).await;
        assert_eq!(a.status, 200, "list integrations while waiting for the sync: {}", a.text);
        let data = a.body["data"].as_array().unwrap_or_else(|| panic!("a data array: {}", a.text)).clone();
        let settled = |i: &Value| ["COMPLETED", "PARTIALLY SYNCED", "FAILED"].iter().any(|s| i["status"] == *s);
        if !data.is_empty() && data.iter().all(settled) {
            return data;
        }
        assert!(Instant::now() < until, "the integrations did not settle within {SYNC_DEADLINE:?}: {}", a.text);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the first integration's last sync shows `Transactions: COMPLETED` (a history
/// read retried after a failure), and returns that integration.
pub(crate) async fn wait_for_history(app: &TestApp, c: &Connected) -> Value {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let now = wait_until_settled(app, c).await;
        if now[0]["lastSyncLog"]["Transactions"] == json!("COMPLETED") {
            return now[0].clone();
        }
        assert!(Instant::now() < until, "the history was not retried: {}", now[0]);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The holding of `symbol` in a holdings answer.
pub(crate) fn holding_of(holdings: &Value, symbol: &str) -> Value {
    holdings["holdings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["asset"]["symbol"] == json!(symbol))
        .cloned()
        .unwrap_or_else(|| panic!("a {symbol} holding: {holdings}"))
}

/// Asserts the Data API error shape `{"error", "message", "details": []}` — those fields
/// only — with `status` and `error`.
#[track_caller]
fn assert_data_error(a: &DataAnswer, status: u16, error: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: HTTP status; body {}", a.text);
    let fields = a.body.as_object().unwrap_or_else(|| panic!("{what}: a JSON object; got {}", a.text));
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["details", "error", "message"], "{what}: exactly the documented fields; body {}", a.text);
    assert_eq!(fields["error"], json!(error), "{what}: error code; body {}", a.text);
    if status == 400 {
        // Each bad parameter is named: `details[].path` is `[<parameter>]`.
        let details =
            fields["details"].as_array().unwrap_or_else(|| panic!("{what}: a details array; body {}", a.text));
        assert!(!details.is_empty(), "{what}: details name the bad parameter; body {}", a.text);
        for d in details {
            assert!(d["path"][0].as_str().is_some_and(|p| !p.is_empty()), "{what}: details[].path; body {}", a.text);
            assert!(
                d["code"].is_string() && d["message"].is_string(),
                "{what}: details[] code and message; {}",
                a.text
            );
        }
    } else {
        assert_eq!(fields["details"], json!([]), "{what}: details; body {}", a.text);
    }
    assert!(fields["message"].as_str().is_some_and(|m| !m.trim().is_empty()), "{what}: a message; body {}", a.text);
}

/// Asserts the Connect envelope `{"success": false, "error", "code"}` — those fields only.
#[track_caller]
fn assert_envelope_error(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status.as_u16(), status, "{what}: HTTP status; body {}", a.body);
    let fields = a.body.as_object().unwrap_or_else(|| panic!("{what}: a JSON object; got {}", a.body));
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "error", "success"], "{what}: exactly the envelope fields; body {}", a.body);
    assert_eq!(fields["success"], json!(false), "{what}: success flag; body {}", a.body);
    assert_eq!(fields["code"], json!(code), "{what}: error code; body {}", a.body);
    assert!(fields["error"].as_str().is_some_and(|m| !m.trim().is_empty()), "{what}: a message; body {}", a.body);
}

/// A request with a raw body (or none) and optional client credentials.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    creds: Option<&Creds>,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut req = app.http.request(method.clone(), format!("{}{path}", app.base));
    if let Some(c) = creds {
        req = req.header("X-Client-Id", &c.id).header("X-Client-Secret", &c.secret);
    }
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path} reaches the server: {e}"));
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("response body");
    Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
}

/// A request body as a test case states it: content type and raw text, either optional.
#[derive(Debug, Clone)]
struct Body {
    content_type: Option<&'static str>,
    text: Option<String>,
}

impl Body {
    /// `application/json` with `v`.
    fn json(v: Value) -> Self {
        Self::raw("application/json", &v.to_string())
    }

    /// Any text with any content type.
    fn raw(content_type: &'static str, text: &str) -> Self {
        Self { content_type: Some(content_type), text: Some(text.to_owned()) }
    }

    /// No body and no content type.
    fn none() -> Self {
        Self { content_type: None, text: None }
    }

    async fn send(&self, app: &TestApp, method: Method, path: &str, creds: Option<&Creds>) -> Answer {
        send_raw(app, method, path, creds, self.content_type, self.text.as_deref()).await
    }
}

/// The 6-digit code of the latest sign-in mail to `to` (its subject starts with it).
async fn code_for(sink: &SmtpSink, to: &str) -> String {
    let mail = sink.wait_for(to, std::time::Duration::from_secs(10)).await;
    let subject = mail.header("Subject").unwrap_or_else(|| panic!("a Subject header in {}", mail.data));
    let code = subject.split_whitespace().next().unwrap_or_default().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "a code in {subject:?}");
    code
}

/// An app whose mailer delivers to `sink`.
async fn spawn_with_mail(db: Db, sink: &SmtpSink) -> TestApp {
    let port = sink.port;
    spawn_with(db, move |s| {
        s.mail.transport = "smtp".into();
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = "none".into();
    })
    .await
}

/// Like [`connect_guest`], but the user signs in by email with the code the sink received.
async fn connect_email_user(
    app: &TestApp,
    sink: &SmtpSink,
    creds: &Creds,
    scopes: Option<&str>,
    email: &str,
) -> Connected {
    let link = link_token_with(app, creds, scopes).await;
    let started =
        app.send(Method::POST, "/widget/auth/email/start", None, Some(&link), Some(json!({"email": email}))).await;
    assert_eq!(started.status.as_u16(), 202, "email start: {}", started.body);
    let code = code_for(sink, email).await;
    let verified = app
        .send(Method::POST, "/widget/auth/email/verify", None, Some(&link), Some(json!({"email": email, "code": code})))
        .await;
    let user_id = str_of(verified.data(), "user_id");
    let workspace_id = str_of(&verified.data()["workspaces"][0], "workspace_id");
    let body = json!({ "workspace_id": workspace_id });
    app.send(Method::POST, "/widget/workspace", None, Some(&link), Some(body)).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    finish_connection(app, creds, &link, &[], user_id, workspace_id).await
}

// ---------------------------------------------------------------------------------------
// GET /api/health
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn health_answers_ok_with_service_version_and_environment_without_authentication() {
    // A configuration production accepts (see `kc_server::guards`).
    let app = spawn_with(Db::Sqlite, |s| {
        s.environment = "production".into();
        s.mail.transport = "smtp".into();
        s.server.public_url = "https://connect.example.com".into();
        s.security
            .credentials_keys
            .insert("k1".into(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned().into());
        s.security.credentials_active_key = "k1".into();
    })
    .await;
    for (what, headers) in
        [("no headers", vec![]), ("a garbage bearer token", vec![("Authorization", "Bearer nonsense".to_owned())])]
    {
        let a = get_with_headers(&app, "/api/health", &headers).await;
        assert_eq!(a.status, 200, "{what}: health needs no authentication; {}", a.text);
        let mut keys: Vec<&str> =
            a.body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, ["environment", "service", "status", "version"], "{what}: the documented fields; {}", a.text);
        assert_eq!(a.body["status"], json!("OK"), "{what}: status; {}", a.text);
        assert!(a.body["service"].as_str().is_some_and(|s| !s.is_empty()), "{what}: a service name; {}", a.text);
        assert_eq!(a.body["version"], json!(env!("CARGO_PKG_VERSION")), "{what}: the running version; {}", a.text);
        assert_eq!(a.body["environment"], json!("production"), "{what}: the configured environment; {}", a.text);
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Authentication: a live token and its owning client's credentials, or 401.
// ---------------------------------------------------------------------------------------

async fn every_call_needs_a_live_token_and_its_owning_clients_credentials(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let other = app.client().await;
    let c = connect_guest(&app, &creds, None, &[]).await;
    let foreign = connect_guest(&app, &other, None, &[]).await;
    let token = c.access_token.as_str();
    let bearer = |t: &str| ("Authorization", format!("Bearer {t}"));
    let [id, secret] = client_headers(&creds);
    let wrong_secret = ("X-Client-Secret", format!("{}x", creds.secret));
    let unknown_id = ("X-Client-Id", format!("kc_{}", "A".repeat(22)));

    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no Authorization header", vec![id.clone(), secret.clone()]),
        ("a bearer token but no client headers", vec![bearer(token)]),
        ("X-Client-Id without X-Client-Secret", vec![bearer(token), id.clone()]),
        ("X-Client-Secret without X-Client-Id", vec![bearer(token), secret.clone()]),
        ("a wrong client secret", vec![bearer(token), id.clone(), wrong_secret]),
        ("an unknown client id", vec![bearer(token), unknown_id, secret.clone()]),
        ("another client's credentials with this token", {
            let mut h = vec![bearer(token)];
            h.extend(client_headers(&other));
            h
        }),
        (
            "another client's token with these credentials",
            vec![bearer(&foreign.access_token), id.clone(), secret.clone()],
        ),
        ("an unknown well-formed token", vec![bearer(&format!("cat_{}", "A".repeat(43))), id.clone(), secret.clone()]),
        ("a malformed token", vec![bearer("cat_!!not-a-token!!"), id.clone(), secret.clone()]),
        ("a token of another kind", vec![bearer(&format!("public_{}", "A".repeat(43))), id.clone(), secret.clone()]),
        ("the grant id instead of the token", vec![bearer(&c.grant_id), id.clone(), secret.clone()]),
        (
            "the token under the Basic scheme",
            vec![("Authorization", format!("Basic {token}")), id.clone(), secret.clone()],
        ),
        ("the token without a scheme", vec![("Authorization", token.to_owned()), id.clone(), secret.clone()]),
        ("an empty bearer", vec![("Authorization", "Bearer ".to_owned()), id.clone(), secret.clone()]),
    ];
    for path in ENDPOINTS {
        let ok = data_get(&app, path, Some(token), Some(&creds)).await;
        assert_eq!(ok.status, 200, "{path}: the token with its own client's credentials works; {}", ok.text);
        for (what, headers) in &cases {
            let a = get_with_headers(&app, path, headers).await;
            let what = format!("{path} with {what}");
            assert_data_error(&a, 401, "unauthorized", &what);
            assert_eq!(a.body["message"], json!(UNAUTHORIZED_MESSAGE), "{what}: the documented message");
        }
    }
    // A disabled client's tokens and credentials stop working at once.
    app.service.disable_client(&creds.id).await.expect("disable client");
    for path in ENDPOINTS {
        let a = data_get(&app, path, Some(token), Some(&creds)).await;
        assert_data_error(&a, 401, "unauthorized", &format!("{path} for a disabled client"));
        let a = data_get(&app, path, Some(&foreign.access_token), Some(&other)).await;
        assert_eq!(a.status, 200, "{path}: another client is unaffected; {}", a.text);
    }
    app.stop().await;
}

#[tokio::test]
async fn every_call_needs_a_live_token_and_its_owning_clients_credentials_on_sqlite() {
    every_call_needs_a_live_token_and_its_owning_clients_credentials(Db::Sqlite).await;
}

#[tokio::test]
async fn every_call_needs_a_live_token_and_its_owning_clients_credentials_on_postgres() {
    every_call_needs_a_live_token_and_its_owning_clients_credentials(Db::Postgres).await;
}

async fn revoked_and_expired_tokens_are_unauthorized_at_once(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let revoked = connect_guest(&app, &creds, None, &[]).await;
    let kept = connect_guest(&app, &creds, None, &[]).await;

    let r = app.post("/token/revoke", &creds, json!({ "grant_id": revoked.grant_id })).await;
    assert_eq!(r.status.as_u16(), 200, "revoke: {}", r.body);
    for path in ENDPOINTS {
        let a = data_get(&app, path, Some(&revoked.access_token), Some(&creds)).await;
        assert_data_error(&a, 401, "unauthorized", &format!("{path} right after revocation"));
        let a = data_get(&app, path, Some(&kept.access_token), Some(&creds)).await;
        assert_eq!(a.status, 200, "{path}: another grant of the client is untouched; {}", a.text);
    }

    // The access token lives 15 years (`expires_in` = 473040000 s).
    let lifetime = time::Duration::seconds(473_040_000);
    app.clock.advance(lifetime - time::Duration::days(1));
    for path in ENDPOINTS {
        let a = data_get(&app, path, Some(&kept.access_token), Some(&creds)).await;
        assert_eq!(a.status, 200, "{path}: one day before the 15 years are up the token works; {}", a.text);
    }
    app.clock.advance(time::Duration::days(2));
    for path in ENDPOINTS {
        let a = data_get(&app, path, Some(&kept.access_token), Some(&creds)).await;
        assert_data_error(&a, 401, "unauthorized", &format!("{path} 15 years + 1 day after issue"));
    }
    app.stop().await;
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_unauthorized_at_once_on_sqlite() {
    revoked_and_expired_tokens_are_unauthorized_at_once(Db::Sqlite).await;
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_unauthorized_at_once_on_postgres() {
    revoked_and_expired_tokens_are_unauthorized_at_once(Db::Postgres).await;
}

#[tokio::test]
async fn repeated_authentication_failures_are_answered_429_rate_limit_exceeded() {
    const BUDGET: usize = 5;
    let app = spawn_with(Db::Sqlite, |s| s.security.auth_failures_per_minute = BUDGET as u32).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[]).await;
    let unknown = format!("cat_{}", "A".repeat(43));
    let mut refused_at = None;
    for n in 1..=BUDGET + 3 {
        let a = data_get(&app, "/api/v1/userinfo", Some(&unknown), Some(&creds)).await;
        if a.status == 429 {
            refused_at = Some(n);
            break;
        }
        assert_data_error(&a, 401, "unauthorized", &format!("failure {n} within the budget"));
    }
    let n = refused_at.unwrap_or_else(|| panic!("no 429 after {} failures with a budget of {BUDGET}", BUDGET + 3));
    // A quarter of the minute's budget may come at once.
    let burst = BUDGET.div_ceil(4);
    assert!(n > burst, "the first {burst} failures are answered 401 (429 came at {n})");
    // A correct secret and token are never refused, even from the limited address.
    let a = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(a.status, 200, "a good call from a limited caller: {}", a.text);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Scopes.
// ---------------------------------------------------------------------------------------

async fn each_endpoint_needs_its_scope(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    // (granted scopes, [userinfo, integrations, holdings] allowed?)
    let cases: [(Option<&str>, [bool; 3]); 5] = [
        (None, [true, true, true]),
        (Some("openid users:read"), [true, false, false]),
        (Some("openid integrations:read"), [false, true, false]),
        (Some("openid portfolios:read"), [false, false, true]),
        (Some("openid profile email offline_access"), [false, false, false]),
    ];
    for (scopes, allowed) in cases {
        let c = connect_guest(&app, &creds, scopes, &[]).await;
        for (path, allowed) in ENDPOINTS.into_iter().zip(allowed) {
            let what = format!("{path} with scopes {scopes:?}");
            let a = data_get(&app, path, Some(&c.access_token), Some(&creds)).await;
            if allowed {
                assert_eq!(a.status, 200, "{what}: allowed; {}", a.text);
            } else {
                assert_data_error(&a, 403, "forbidden", &what);
                assert_eq!(a.body["message"], json!(FORBIDDEN_MESSAGE), "{what}: the documented message");
                // Authentication comes first: bad credentials are 401 even without the scope.
                let bad = Creds { id: creds.id.clone(), secret: "wrong".into() };
                let a = data_get(&app, path, Some(&c.access_token), Some(&bad)).await;
                assert_data_error(&a, 401, "unauthorized", &format!("{what} and a wrong secret"));
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn each_endpoint_needs_its_scope_on_sqlite() {
    each_endpoint_needs_its_scope(Db::Sqlite).await;
}

#[tokio::test]
async fn each_endpoint_needs_its_scope_on_postgres() {
    each_endpoint_needs_its_scope(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/userinfo
// ---------------------------------------------------------------------------------------

/// Which optional claims a userinfo answer carries.
fn optional_claims(user_info: &Value) -> Vec<&'static str> {
    ["name", "preferred_username", "email", "email_verified"]
        .into_iter()
        .filter(|k| user_info.get(*k).is_some_and(|v| !v.is_null()))
        .collect()
}

async fn userinfo_claims_follow_the_openid_profile_and_email_scopes(db: Db) {
    let sink = SmtpSink::start().await;
    let app = spawn_with_mail(db, &sink).await;
    let creds = app.client().await;
    // (who, scopes, the optional claims that must be present). A claim outside the scopes
    // must be absent; a guest has no username, so `preferred_username` may be left out.
    let cases: [(&str, &str, &[&str]); 6] = [
        ("guest", "openid users:read", &[]),
        ("guest", "openid profile users:read", &["name"]),
        ("email", "openid users:read", &[]),
        ("email", "openid email users:read", &["email", "email_verified"]),
        ("email", "openid profile users:read", &["name", "preferred_username"]),
        ("email", "openid profile email users:read", &["name", "preferred_username", "email", "email_verified"]),
    ];
    for (n, (who, scopes, claims)) in cases.into_iter().enumerate() {
        let what = format!("{who} user with {scopes:?}");
        let email = format!("user{n}@example.com");
        let c = match who {
            "guest" => connect_guest(&app, &creds, Some(scopes), &[]).await,
            _ => connect_email_user(&app, &sink, &creds, Some(scopes), &email).await,
        };
        let a = data_get(&app, "/api/v1/userinfo", Some(&c.access_token), Some(&creds)).await;
        assert_eq!(a.status, 200, "{what}: {}", a.text);
        let info = &a.body["userInfo"];
        assert_eq!(info["sub"], json!(c.user_id), "{what}: sub is the user id; {}", a.text);
        let present = optional_claims(info);
        let granted: BTreeSet<&str> = scopes.split(' ').collect();
        let allowed: Vec<&str> = [("profile", ["name", "preferred_username"]), ("email", ["email", "email_verified"])]
            .into_iter()
            .filter(|(scope, _)| granted.contains(scope))
            .flat_map(|(_, claims)| claims)
            .collect();
        assert!(present.iter().all(|c| allowed.contains(c)), "{what}: only claims of granted scopes; {}", a.text);
        assert!(claims.iter().all(|c| present.contains(c)), "{what}: claims {claims:?} present; {}", a.text);
        // SPEC §7 lists `language` and `transaction_limit` without `?`: always present.
        assert_eq!(info["language"], json!("en"), "{what}: language defaults to en; {}", a.text);
        assert!(info.get("transaction_limit").is_some(), "{what}: transaction_limit is present; {}", a.text);
        if claims.contains(&"email") {
            assert_eq!(info["email"], json!(email), "{what}: the signed-in address; {}", a.text);
            assert_eq!(info["email_verified"], json!(true), "{what}: verified by the code; {}", a.text);
        }
        if claims.contains(&"name") {
            assert!(info["name"].as_str().is_some_and(|s| !s.is_empty()), "{what}: a name; {}", a.text);
        }
        let shown: BTreeSet<&str> =
            a.body["scopes"].as_array().map(|s| s.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        assert_eq!(shown, granted, "{what}: scopes lists exactly the granted scopes; {}", a.text);
        assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: a message; {}", a.text);
    }
    app.stop().await;
}

#[tokio::test]
async fn userinfo_claims_follow_the_openid_profile_and_email_scopes_on_sqlite() {
    userinfo_claims_follow_the_openid_profile_and_email_scopes(Db::Sqlite).await;
}

#[tokio::test]
async fn userinfo_claims_follow_the_openid_profile_and_email_scopes_on_postgres() {
    userinfo_claims_follow_the_openid_profile_and_email_scopes(Db::Postgres).await;
}

#[tokio::test]
async fn userinfo_answers_with_the_documented_message() {
    let app = spawn_with(Db::Sqlite, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[]).await;
    let a = data_get(&app, "/api/v1/userinfo", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(a.status, 200, "userinfo: {}", a.text);
    let mut keys: Vec<&str> = a.body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["message", "scopes", "userInfo"], "the documented top-level fields: {}", a.text);
    assert_eq!(
        a.body["message"],
        json!("User information retrieved successfully"),
        "the message of the reference (api--userinfo.md): {}",
        a.text
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/integrations
// ---------------------------------------------------------------------------------------

/// A non-test Ethereum address (no RPC endpoint is configured, so it never syncs).
const OTHER_ETH: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

async fn integrations_are_paged_and_searched(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = production_client(&app).await;
    let c = connect_guest(
        &app,
        &creds,
        None,
        &[
            json!({"provider": "ethereum", "address": SANDBOX_ETH, "alias": "Cold storage"}),
            json!({"provider": "solana", "address": SANDBOX_SOL, "alias": "Phone wallet"}),
            json!({"provider": "polygon", "address": OTHER_ETH, "alias": "DeFi"}),
        ],
    )
    .await;
    let all: BTreeSet<String> = c.wallet_ids.iter().cloned().collect();
    let get = |query: String| {
        let (app, c) = (&app, &c);
        async move {
            let a = data_get(app, &format!("/api/v1/integrations{query}"), Some(&c.access_token), Some(&c.creds)).await;
            assert_eq!(a.status, 200, "integrations{query}: {}", a.text);
            a
        }
    };
    let ids = |a: &DataAnswer| -> Vec<String> {
        a.body["data"].as_array().map(|d| d.iter().map(|i| str_of(i, "walletId")).collect()).unwrap_or_default()
    };

    // (query, page, pageSize, totalCount, hasNext, hasPrevious, items on the page)
    let pages: [(&str, u64, u64, u64, bool, bool, usize); 7] = [
        ("", 1, 25, 3, false, false, 3),
        ("?pageSize=2", 1, 2, 3, true, false, 2),
        ("?page=2&pageSize=2", 2, 2, 3, false, true, 1),
        ("?page=3&pageSize=2", 3, 2, 3, false, true, 0),
        ("?page=1&pageSize=3", 1, 3, 3, false, false, 3),
        ("?pageSize=200", 1, 200, 3, false, false, 3),
        ("?page=4294967295&pageSize=200", 4_294_967_295, 200, 3, false, true, 0),
    ];
    for (query, page, size, total, next, previous, items) in pages {
        let a = get(query.to_owned()).await;
        let p = &a.body["pagination"];
        assert_eq!(
            p,
            &json!({"page": page, "pageSize": size, "totalCount": total, "hasNextPage": next, "hasPreviousPage": previous}),
            "integrations{query}: pagination; {}",
            a.text
        );
        assert_eq!(ids(&a).len(), items, "integrations{query}: items on the page; {}", a.text);
        assert_eq!(a.body["user_id"], json!(c.user_id), "integrations{query}: user_id; {}", a.text);
        assert!(a.body["timestamp"].as_i64().is_some_and(|t| t > 0), "integrations{query}: timestamp; {}", a.text);
    }
    let first = ids(&get("?pageSize=2".into()).await);
    let second = ids(&get("?page=2&pageSize=2".into()).await);
    let seen: BTreeSet<String> = first.iter().chain(&second).cloned().collect();
    assert_eq!((seen.len(), &seen), (3, &all), "two pages list every integration once: {first:?} {second:?}");

    // Every item carries the documented fields.
    let a = get(String::new()).await;
    for i in a.body["data"].as_array().into_iter().flatten() {
        for key in [
            "provider",
            "providerPublicName",
            "publicAddress",
            "walletId",
            "logoUrl",
            "isContract",
            "alias",
            "status",
            "addedOn",
            "lastSyncedAt",
            "category",
            "type",
            "totalTransactions",
        ] {
            assert!(i.get(key).is_some(), "an integration has `{key}`: {i}");
        }
        assert_eq!((&i["category"], &i["type"]), (&json!("blockchain"), &json!("api")), "a wallet: {i}");
    }

    // searchedKey: alias, address, wallet id, provider name; case-insensitive.
    let polygon_id = c.wallet_ids[2].clone();
    let searches: Vec<(String, Vec<String>)> = vec![
        ("cold".into(), vec![c.wallet_ids[0].clone()]),
        ("PHONE%20WALLET".into(), vec![c.wallet_ids[1].clone()]),
        ("Solana".into(), vec![c.wallet_ids[1].clone()]),
        ("polygon".into(), vec![polygon_id.clone()]),
        ("5AAEB6053F".into(), vec![polygon_id.clone()]),
        (polygon_id.clone(), vec![polygon_id.clone()]),
        ("no-such-thing".into(), vec![]),
    ];
    for (key, expected) in searches {
        let a = get(format!("?searchedKey={key}")).await;
        assert_eq!(ids(&a), expected, "searchedKey={key}: {}", a.text);
        assert_eq!(
            a.body["pagination"]["totalCount"],
            json!(expected.len()),
            "searchedKey={key}: the total counts matches only"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn integrations_are_paged_and_searched_on_sqlite() {
    integrations_are_paged_and_searched(Db::Sqlite).await;
}

#[tokio::test]
async fn integrations_are_paged_and_searched_on_postgres() {
    integrations_are_paged_and_searched(Db::Postgres).await;
}

#[tokio::test]
async fn integrations_refuse_out_of_range_or_ill_typed_paging_parameters() {
    let app = spawn_with(Db::Sqlite, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    for query in [
        "pageSize=201",
        "pageSize=0",
        "page=0",
        "pageSize=abc",
        "page=abc",
        "page=-1",
        "pageSize=1.5",
        "pageSize=99999999999999999999",
        "page=4294967296",
    ] {
        let a = data_get(&app, &format!("/api/v1/integrations?{query}"), Some(&c.access_token), Some(&creds)).await;
        assert_data_error(&a, 400, "invalid_parameters", &format!("?{query}"));
        let named = query.split('=').next().unwrap_or_default();
        assert_eq!(a.body["details"][0]["path"], json!([named]), "?{query} names {named}: {}", a.text);
    }
    // Authentication is judged before the parameters.
    let a = data_get(&app, "/api/v1/integrations?pageSize=abc", None, Some(&creds)).await;
    assert_data_error(&a, 401, "unauthorized", "a bad pageSize without a token");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/holdings
// ---------------------------------------------------------------------------------------

/// The holding of `token_id` in a holdings answer.
fn holding<'a>(a: &'a DataAnswer, token_id: &str) -> &'a Value {
    a.body["holdings"]
        .as_array()
        .and_then(|h| h.iter().find(|x| x["asset"]["tokenId"] == token_id))
        .unwrap_or_else(|| panic!("a holding of {token_id}: {}", a.text))
}

async fn holdings_value_the_sandbox_wallets_exactly(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("solana", SANDBOX_SOL)]).await;
    let settled = wait_until_settled(&app, &c).await;
    for i in &settled {
        assert_eq!(i["status"], json!("COMPLETED"), "the sandbox wallets sync: {i}");
    }
    let (eth_wallet, sol_wallet) = (&c.wallet_ids[0], &c.wallet_ids[1]);

    let a = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(a.status, 200, "holdings: {}", a.text);
    let order: Vec<&str> =
        a.body["holdings"].as_array().into_iter().flatten().filter_map(|h| h["asset"]["tokenId"].as_str()).collect();
    assert_eq!(order, [ETH_ID, USDC_ID, SOL_ID], "every asset once, largest value first: {}", a.text);

    // (token id, symbol, chain, quantity, price, value, 24 h change, wallet)
    let expected = [
        (ETH_ID, "ETH", "ethereum", json!(1.5), json!(3000), json!(4500), json!(2.5), eth_wallet, "ethereum"),
        (USDC_ID, "USDC", "ethereum", json!(2500), json!(1), json!(2500), json!(0), eth_wallet, "ethereum"),
        (SOL_ID, "SOL", "solana", json!(12.5), json!(150), json!(1875), json!(-1.8), sol_wallet, "solana"),
    ];
    for (id, symbol, chain, quantity, price, value, change, wallet_id, provider) in expected {
        let h = holding(&a, id);
        assert_eq!(h["asset"]["symbol"], json!(symbol), "{id}: symbol; {h}");
        assert_eq!(h["asset"]["chainId"], json!(chain), "{id}: chainId; {h}");
        for key in ["publicName", "logoUrl", "type", "category"] {
            assert!(h["asset"][key].is_string(), "{id}: asset.{key}; {h}");
        }
        assert_eq!(h["totalQuantity"], quantity, "{id}: totalQuantity; {h}");
        assert_eq!(h["marketPrice"], price, "{id}: marketPrice; {h}");
        assert_eq!(h["marketValue"], value, "{id}: marketValue = quantity × price; {h}");
        assert_eq!(h["24hrChange"], change, "{id}: 24hrChange; {h}");
        assert_eq!(h["baseCurrency"], json!("USD"), "{id}: baseCurrency; {h}");
        // The sandbox history (README, "Data API"): FIFO lots left are 0.5 ETH @ 2000 + 1 ETH @ 2600,
        // 2500 USDC @ 1, 10 + 2.5 SOL @ 100.
        let (cost, pnl, roi) = match id {
            ETH_ID => (json!(3600), json!(900), json!(25)),
            USDC_ID => (json!(2500), json!(0), json!(0)),
            _ => (json!(1250), json!(625), json!(50)),
        };
        assert_eq!((&h["costbasis"], &h["unrealizedPnL"], &h["roi"]), (&cost, &pnl, &roi), "{id}: cost basis; {h}");
        assert_eq!(
            h["assetDistribution"],
            json!([{
                "quantity": quantity,
                "account": {"provider": provider, "walletId": wallet_id},
                "allocationPercentage": 100,
                "isCalculatedBalance": false,
            }]),
            "{id}: one wallet holds all of it; {h}"
        );
    }
    let s = &a.body["summary"];
    assert_eq!(s["totalValue"], json!(8875), "summary.totalValue = 4500 + 2500 + 1875; {}", a.text);
    assert_eq!(s["totalCostBasis"], json!(7350), "3600 + 2500 + 1250; {}", a.text);
    assert_eq!(s["totalUnrealizedPnL"], json!(1525), "8875 − 7350; {}", a.text);
    assert_eq!(s["roiPercentage"], json!(20.7483), "1525 / 7350 in percent, 4 decimals; {}", a.text);
    // Value-weighted 24 h change: (4500 × 2.5 + 2500 × 0 + 1875 × -1.8) / 8875 ≈ 0.8873 %.
    let change = s["total24hrChange"].as_f64().unwrap_or_else(|| panic!("summary.total24hrChange: {}", a.text));
    assert!((change - 7875.0 / 8875.0).abs() < 1e-3, "summary.total24hrChange ≈ 0.8873: {change}");
    assert_eq!(a.body["user_id"], json!(c.user_id), "user_id; {}", a.text);
    assert!(a.body["timestamp"].as_i64().is_some_and(|t| t > 0), "timestamp in ms; {}", a.text);
    // Numbers are JSON numbers with their exact digits, never strings or floats like 4500.0.
    for raw in [r#""totalQuantity":1.5"#, r#""marketValue":4500"#, r#""totalQuantity":12.5"#, r#""totalValue":8875"#] {
        assert!(a.text.contains(raw), "the raw JSON contains {raw}: {}", a.text);
    }
    assert!(!a.text.contains("4500.0") && !a.text.contains(r#""1.5""#), "no float or string spelling: {}", a.text);

    // isSpam=true includes spam assets; none of these is spam, so the answer is the same.
    let spam = data_get(&app, "/api/v1/holdings?isSpam=true", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(spam.body["holdings"], a.body["holdings"], "isSpam=true: {}", spam.text);

    // calculatedBalances=true: balances summed from the ledger — the sandbox history sums to
    // the served balances, so the same holdings, flagged as calculated.
    let calculated =
        data_get(&app, "/api/v1/holdings?calculatedBalances=true", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(calculated.status, 200, "calculatedBalances=true: {}", calculated.text);
    for (id, quantity) in [(ETH_ID, json!(1.5)), (USDC_ID, json!(2500)), (SOL_ID, json!(12.5))] {
        let h = holding(&calculated, id);
        assert_eq!(h["totalQuantity"], quantity, "calculated {id}; {h}");
        assert_eq!(h["hasCalculatedBalance"], json!(true), "calculated {id}; {h}");
        assert_eq!(h["assetDistribution"][0]["isCalculatedBalance"], json!(true), "calculated {id}; {h}");
    }
    assert_eq!(calculated.body["summary"]["totalValue"], json!(8875), "calculatedBalances=true: {}", calculated.text);
    assert_eq!(calculated.body["summary"]["totalCostBasis"], json!(7350), "calculated: {}", calculated.text);
    app.stop().await;
}

#[tokio::test]
async fn holdings_value_the_sandbox_wallets_exactly_on_sqlite() {
    holdings_value_the_sandbox_wallets_exactly(Db::Sqlite).await;
}

#[tokio::test]
async fn holdings_value_the_sandbox_wallets_exactly_on_postgres() {
    holdings_value_the_sandbox_wallets_exactly(Db::Postgres).await;
}

/// One asset in two wallets: the ETH sandbox address (1.5 ETH, read by the sandbox
/// provider) and a second Ethereum address holding 0.5 ETH on a fake RPC node. A sandbox
/// client can connect neither two Ethereum wallets (only the one test address, and a
/// workspace refuses duplicates) nor a non-test address, so this uses a production client.
#[tokio::test]
async fn holdings_split_an_asset_held_in_two_wallets_by_allocation() {
    let node = FakeEvmNode::start().await;
    node.hold(OTHER_ETH, Holdings { wei: 500_000_000_000_000_000, tokens: vec![] });
    let app = spawn_with(Db::Sqlite, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("ethereum", OTHER_ETH)]).await;
    for i in wait_until_settled(&app, &c).await {
        assert_eq!(i["status"], json!("COMPLETED"), "both wallets sync: {i}");
    }
    let a = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&creds)).await;
    assert_eq!(a.status, 200, "holdings: {}", a.text);
    let eth = holding(&a, ETH_ID);
    assert_eq!(eth["totalQuantity"], json!(2), "1.5 + 0.5 ETH; {eth}");
    assert_eq!(eth["marketValue"], json!(6000), "2 ETH × 3000; {eth}");
    let mut split: Vec<(String, Value, Value)> = eth["assetDistribution"]
        .as_array()
        .unwrap_or_else(|| panic!("an assetDistribution array: {eth}"))
        .iter()
        .map(|d| (str_of(&d["account"], "walletId"), d["quantity"].clone(), d["allocationPercentage"].clone()))
        .collect();
    split.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected =
        vec![(c.wallet_ids[0].clone(), json!(1.5), json!(75)), (c.wallet_ids[1].clone(), json!(0.5), json!(25))];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(split, expected, "each wallet's quantity and share of the ETH value; {eth}");
    let usdc = holding(&a, USDC_ID);
    assert_eq!(usdc["assetDistribution"][0]["allocationPercentage"], json!(100), "USDC is in one wallet; {usdc}");
    assert_eq!(a.body["summary"]["totalValue"], json!(8500), "6000 ETH + 2500 USDC; {}", a.text);
    app.stop().await;
}

/// api--integrations.md: `lastSyncLog` (per-stage status) and `lastSyncLogDetails` (per-stage
/// `{status, message?}`) are "omitted when no sync has run" and "emitted together", each
/// conveying the same stages and statuses.
#[tokio::test]
async fn a_synced_integration_reports_its_last_sync_log() {
    let app = spawn_with(Db::Sqlite, |s| s.sync.max_attempts = 1).await;
    let creds = production_client(&app).await;
    // One wallet the sandbox reads, one on a chain without an RPC endpoint.
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("polygon", OTHER_ETH)]).await;
    let settled = wait_until_settled(&app, &c).await;
    for i in &settled {
        let what = format!("{} ({})", i["provider"], i["status"]);
        let log = i["lastSyncLog"].as_object().unwrap_or_else(|| panic!("{what}: a lastSyncLog object: {i}"));
        let details =
            i["lastSyncLogDetails"].as_object().unwrap_or_else(|| panic!("{what}: a lastSyncLogDetails object: {i}"));
        assert!(!log.is_empty(), "{what}: at least one stage: {i}");
        let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(log), keys(details), "{what}: the same stages in both: {i}");
        for (stage, status) in log {
            assert_eq!(&details[stage]["status"], status, "{what}: {stage} has one status: {i}");
            let expected = if i["status"] == "COMPLETED" { "COMPLETED" } else { "FAILED" };
            assert_eq!(status, &json!(expected), "{what}: {stage} status: {i}");
        }
        if i["status"] == "FAILED" {
            assert!(
                details.values().any(|d| d["message"].as_str().is_some_and(|m| m.contains("No RPC endpoint"))),
                "{what}: the failed stage says why: {i}"
            );
        }
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// POST /developer/integrations/{walletId}/resync
// ---------------------------------------------------------------------------------------

fn resync_path(wallet_id: &str) -> String {
    format!("/developer/integrations/{wallet_id}/resync")
}

async fn resync_queues_a_granted_wallet_and_refuses_everything_else(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let first_sync = wait_until_settled(&app, &c).await[0]["lastSyncedAt"].clone();
    let wallet_id = c.wallet_ids[0].clone();

    for mode in ["latest", "from_start"] {
        app.clock.advance(time::Duration::minutes(1));
        let a = app.post(&resync_path(&wallet_id), &creds, json!({"user_id": c.user_id, "mode": mode})).await;
        assert_eq!(
            (a.status.as_u16(), &a.body),
            (
                202,
                &json!({"success": true, "data": {
                    "mode": mode, "integration_type": "blockchain", "wallet_id": wallet_id, "status": "queued"
                }})
            ),
            "resync {mode}: 202 with the queued job"
        );
        let settled = wait_until_settled(&app, &c).await;
        assert_eq!(settled[0]["status"], json!("COMPLETED"), "resync {mode}: synced again: {}", settled[0]);
        assert!(
            settled[0]["lastSyncedAt"].as_i64() > first_sync.as_i64(),
            "resync {mode}: the worker ran again (lastSyncedAt moved on from {first_sync}): {}",
            settled[0]
        );
        let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&creds)).await;
        assert_eq!(h.body["summary"]["totalValue"], json!(7000), "resync {mode}: balances intact: {}", h.text);
    }

    // Another client with its own guest and wallet; and a second user of this client.
    let other = app.client().await;
    let foreign = connect_guest(&app, &other, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let second = connect_guest(&app, &creds, None, &[]).await;
    let user = c.user_id.as_str();
    let ok_body = json!({"user_id": user, "mode": "latest"});
    let bad = "INVALID_REQUEST";
    let mine = resync_path(&wallet_id);
    let cases: Vec<(&str, String, Body, u16, &str)> = vec![
        ("an unknown mode", mine.clone(), Body::json(json!({"user_id": user, "mode": "full"})), 400, bad),
        ("an upper-case mode", mine.clone(), Body::json(json!({"user_id": user, "mode": "LATEST"})), 400, bad),
        ("no mode", mine.clone(), Body::json(json!({"user_id": user})), 400, bad),
        ("no user_id", mine.clone(), Body::json(json!({"mode": "latest"})), 400, bad),
        ("a numeric mode", mine.clone(), Body::json(json!({"user_id": user, "mode": 1})), 400, bad),
        ("an empty body", mine.clone(), Body::none(), 400, bad),
        ("malformed JSON", mine.clone(), Body::raw("application/json", "{\"user_id\":"), 400, bad),
        ("a JSON array", mine.clone(), Body::raw("application/json", "[]"), 400, bad),
        ("a text/plain body", mine.clone(), Body::raw("text/plain", &ok_body.to_string()), 400, bad),
        (
            "an unknown wallet",
            resync_path("wal_000000000000000000000000"),
            Body::json(ok_body.clone()),
            404,
            "WORKSPACE_NOT_FOUND",
        ),
        (
            "another client's user and wallet",
            resync_path(&foreign.wallet_ids[0]),
            Body::json(json!({"user_id": foreign.user_id, "mode": "latest"})),
            404,
            "WORKSPACE_NOT_FOUND",
        ),
        (
            "this client's wallet named with another of its users",
            mine.clone(),
            Body::json(json!({"user_id": second.user_id, "mode": "latest"})),
            404,
            "WORKSPACE_NOT_FOUND",
        ),
    ];
    for (what, path, body, status, code) in cases {
        let a = body.send(&app, Method::POST, &path, Some(&creds)).await;
        assert_envelope_error(&a, status, code, &format!("resync with {what}"));
    }
    let a = Body::json(ok_body.clone()).send(&app, Method::POST, &mine, None).await;
    assert_envelope_error(&a, 401, "INVALID_CLIENT", "resync without client credentials");

    // Once the grant is revoked the client may no longer touch the wallet.
    let r = app.post("/token/revoke", &creds, json!({ "grant_id": c.grant_id })).await;
    assert_eq!(r.status.as_u16(), 200, "revoke: {}", r.body);
    let a = app.post(&resync_path(&wallet_id), &creds, ok_body).await;
    assert_envelope_error(&a, 404, "WORKSPACE_NOT_FOUND", "resync after the grant was revoked");
    app.stop().await;
}

#[tokio::test]
async fn resync_queues_a_granted_wallet_and_refuses_everything_else_on_sqlite() {
    resync_queues_a_granted_wallet_and_refuses_everything_else(Db::Sqlite).await;
}

#[tokio::test]
async fn resync_queues_a_granted_wallet_and_refuses_everything_else_on_postgres() {
    resync_queues_a_granted_wallet_and_refuses_everything_else(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------
// PATCH /developer/grants/{grantId}/transaction-limit
// ---------------------------------------------------------------------------------------

fn limit_path(grant_id: &str) -> String {
    format!("/developer/grants/{grant_id}/transaction-limit")
}

async fn patch_limit(app: &TestApp, creds: &Creds, grant_id: &str, body: Value) -> Answer {
    app.send(Method::PATCH, &limit_path(grant_id), Some(creds), None, Some(body)).await
}

async fn transaction_limit_applies_to_guest_grants_only(db: Db) {
    let sink = SmtpSink::start().await;
    let app = spawn_with_mail(db, &sink).await;
    let creds = app.client().await;
    let guest = connect_guest(&app, &creds, None, &[]).await;

    let a = patch_limit(&app, &creds, &guest.grant_id, json!({"transactionLimit": 100})).await;
    let d = a.data();
    assert_eq!(
        (&d["grant_id"], &d["user_id"], &d["transaction_limit"]),
        (&json!(guest.grant_id), &json!(guest.user_id), &json!(100)),
        "the limit now in force: {d}"
    );
    let limiter = d["enable_limiter"].as_bool().unwrap_or_else(|| panic!("enable_limiter is a boolean: {d}"));
    let me = data_get(&app, "/api/v1/userinfo", Some(&guest.access_token), Some(&creds)).await;
    assert_eq!(me.body["userInfo"]["transaction_limit"], json!(100), "userinfo shows the new limit: {}", me.text);

    let a = patch_limit(&app, &creds, &guest.grant_id, json!({"enableLimiter": !limiter})).await;
    assert_eq!(
        (&a.data()["enable_limiter"], &a.data()["transaction_limit"]),
        (&json!(!limiter), &json!(100)),
        "enableLimiter alone flips the switch and keeps the limit: {}",
        a.body
    );
    let a = patch_limit(&app, &creds, &guest.grant_id, json!({"transactionLimit": 0, "enableLimiter": true})).await;
    assert_eq!(
        (&a.data()["transaction_limit"], &a.data()["enable_limiter"]),
        (&json!(0), &json!(true)),
        "both fields at once; 0 is a valid limit: {}",
        a.body
    );

    // The error cases.
    let email = connect_email_user(&app, &sink, &creds, None, "ada@example.com").await;
    let other = app.client().await;
    let foreign = connect_guest(&app, &other, None, &[]).await;
    let revoked = connect_guest(&app, &creds, None, &[]).await;
    let r = app.post("/token/revoke", &creds, json!({ "grant_id": revoked.grant_id })).await;
    assert_eq!(r.status.as_u16(), 200, "revoke: {}", r.body);
    let unknown = format!("cgrant_{}", "A".repeat(32));
    let g = guest.grant_id.as_str();
    let good = Body::json(json!({"transactionLimit": 5}));
    let bad = "INVALID_REQUEST";
    let cases: Vec<(&str, &str, Body, u16, &str)> = vec![
        ("an email user's grant", &email.grant_id, good.clone(), 400, "NOT_ANON_USER"),
        ("an empty object", g, Body::json(json!({})), 400, bad),
        ("an empty body", g, Body::none(), 400, bad),
        ("a negative limit", g, Body::json(json!({"transactionLimit": -1})), 400, bad),
        ("a string limit", g, Body::json(json!({"transactionLimit": "100"})), 400, bad),
        ("a fractional limit", g, Body::json(json!({"transactionLimit": 1.5})), 400, bad),
        ("a string enableLimiter", g, Body::json(json!({"enableLimiter": "yes"})), 400, bad),
        ("malformed JSON", g, Body::raw("application/json", "{\"transactionLimit\": 1"), 400, bad),
        ("a text/plain body", g, Body::raw("text/plain", "{\"transactionLimit\": 5}"), 400, bad),
        ("an unknown grant", &unknown, good.clone(), 400, "INVALID_GRANT"),
        ("a malformed grant id", "not-a-grant", good.clone(), 400, "INVALID_GRANT"),
        ("another client's grant", &foreign.grant_id, good.clone(), 400, "INVALID_GRANT"),
        ("a revoked grant", &revoked.grant_id, good.clone(), 400, "INVALID_GRANT"),
    ];
    for (what, grant, body, status, code) in cases {
        let a = body.send(&app, Method::PATCH, &limit_path(grant), Some(&creds)).await;
        assert_envelope_error(&a, status, code, &format!("transaction-limit for {what}"));
    }
    let a = good.send(&app, Method::PATCH, &limit_path(g), None).await;
    assert_envelope_error(&a, 401, "INVALID_CLIENT", "transaction-limit without client credentials");

    // None of the refused calls changed the guest's limit.
    let me = data_get(&app, "/api/v1/userinfo", Some(&guest.access_token), Some(&creds)).await;
    assert_eq!(me.body["userInfo"]["transaction_limit"], json!(0), "the last accepted limit stands: {}", me.text);
    app.stop().await;
}

#[tokio::test]
async fn transaction_limit_applies_to_guest_grants_only_on_sqlite() {
    transaction_limit_applies_to_guest_grants_only(Db::Sqlite).await;
}

#[tokio::test]
async fn transaction_limit_applies_to_guest_grants_only_on_postgres() {
    transaction_limit_applies_to_guest_grants_only(Db::Postgres).await;
}
