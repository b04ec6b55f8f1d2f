//! Every way a Connect or widget request can be wrong, and the exact answer SPEC §5 gives it:
//! the envelope `{"success": false, "error": "<message>", "code": "<CODE>"}` — those three
//! fields and no others — with the documented status, and never a 500.
//!
//! `the_error_matrix_holds_on_*` is the table-driven core, run on SQLite and PostgreSQL; the
//! other tests follow one rule through its positive and negative sides on SQLite.

use crate::helpers::*;
use kc_service::NewClient;
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Shared vocabulary (also used by `security` and `expiry`).
// ---------------------------------------------------------------------------------------

/// The default request body cap (SPEC §8, `server.body_limit_bytes`).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A request as a test case describes it: method, path, headers and an optional raw body.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call {
    /// `method path`, with no headers and no body.
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), headers: Vec::new(), body: None }
    }

    /// `GET path`.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path`.
    pub(crate) fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// `X-Client-Id` and `X-Client-Secret`.
    pub(crate) fn creds(self, c: &Creds) -> Self {
        self.header("X-Client-Id", &c.id).header("X-Client-Secret", &c.secret)
    }

    /// `X-LINK-TOKEN`.
    pub(crate) fn link(self, link: &str) -> Self {
        self.header("X-LINK-TOKEN", link)
    }

    /// A JSON body with `Content-Type: application/json`.
    pub(crate) fn json(self, body: Value) -> Self {
        self.raw(Some("application/json"), body.to_string())
    }

    /// A raw body, with the given content type (or none).
    pub(crate) fn raw(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        if let Some(ct) = content_type {
            self = self.header("Content-Type", ct);
        }
        self.body = Some(body.into());
        self
    }

    /// Sends the request to `app`.
    pub(crate) async fn send(&self, app: &TestApp) -> Answer {
        self.send_with(&app.http, &app.base).await
    }

    /// Sends the request with `http` (e.g. a client bound to another source address) to `base`.
    pub(crate) async fn send_with(&self, http: &reqwest::Client, base: &str) -> Answer {
        let mut req = http.request(self.method.clone(), format!("{base}{}", self.path));
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &self.body {
            req = req.body(body.clone());
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{} {} reaches the server: {e}", self.method, self.path));
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("response body");
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
    }
}

/// Asserts the exact SPEC §5 error envelope: `status`, `code`, a non-empty message, and no
/// other field.
#[track_caller]
pub(crate) fn assert_envelope(answer: &Answer, status: u16, code: &str, what: &str) {
    assert!(
        answer.status.as_u16() < 500 || status >= 500,
        "{what}: a server error ({}); body: {}",
        answer.status,
        answer.body
    );
    assert_eq!(answer.status.as_u16(), status, "{what}: HTTP status; body: {}", answer.body);
    let Some(fields) = answer.body.as_object() else {
        panic!("{what}: the body is a JSON object; got {}", answer.body)
    };
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "error", "success"], "{what}: exactly the envelope fields; body: {}", answer.body);
    assert_eq!(fields["success"], json!(false), "{what}: success flag; body: {}", answer.body);
    assert_eq!(fields["code"], json!(code), "{what}: error code; body: {}", answer.body);
    assert!(
        fields["error"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "{what}: a human-readable message; body: {}",
        answer.body
    );
}

/// Asserts a `{"success": true, "data": …}` answer with 200 and returns `data`.
#[track_caller]
pub(crate) fn ok_data<'a>(answer: &'a Answer, what: &str) -> &'a Value {
    assert_eq!(answer.status.as_u16(), 200, "{what}: HTTP status; body: {}", answer.body);
    assert_eq!(answer.body["success"], json!(true), "{what}: success flag; body: {}", answer.body);
    assert!(answer.body.get("data").is_some(), "{what}: a data field; body: {}", answer.body);
    &answer.body["data"]
}

/// Asserts the documented revoke success: `{"success": true, "message": "Grant revoked successfully"}`.
#[track_caller]
pub(crate) fn assert_revoked(answer: &Answer, what: &str) {
    assert_eq!(
        (answer.status.as_u16(), &answer.body),
        (200, &json!({"success": true, "message": "Grant revoked successfully"})),
        "{what}: the revoke success shape"
    );
}

/// A well-formed token of `prefix` that the server never issued.
pub(crate) fn unknown_token(prefix: &str) -> String {
    format!("{prefix}{}", "A".repeat(43))
}

/// A well-formed grant id that names no grant.
pub(crate) fn unknown_grant() -> String {
    format!("cgrant_{}", "A".repeat(32))
}

/// A well-formed client id that names no client.
pub(crate) fn unknown_client_id() -> String {
    format!("kc_{}", "A".repeat(22))
}

/// A JSON object of exactly `len` bytes: `{"pad":"xxx…"}` plus `extra` fields before it.
pub(crate) fn json_of_len(extra: &str, len: usize) -> Vec<u8> {
    let head = if extra.is_empty() { r#"{"pad":""#.to_owned() } else { format!(r#"{{{extra},"pad":""#) };
    let tail = r#""}"#;
    let pad = len.checked_sub(head.len() + tail.len()).expect("len leaves room for the padding");
    format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
}

/// An application whose failed-authentication budget is out of the way, for tests that
/// send many bad credentials on purpose (the limiter has its own tests in `security`).
pub(crate) async fn spawn_unthrottled_app(db: Db) -> TestApp {
    let (url, dir) = fresh_database(db).await;
    spawn_app_on(&url, &dir, |s| s.security.auth_failures_per_minute = 100_000).await
}

/// Creates a link token that resumes the session of `access_token`.
async fn resume_link(app: &TestApp, creds: &Creds, access_token: &str) -> Answer {
    Call::post("/link-token").creds(creds).json(json!({ "access_token": access_token })).send(app).await
}

async fn revoke(app: &TestApp, creds: &Creds, grant_id: &str) -> Answer {
    Call::post("/token/revoke").creds(creds).json(json!({ "grant_id": grant_id })).send(app).await
}

async fn check_session(app: &TestApp, creds: &Creds, access_token: &str) -> Answer {
    Call::post("/link-token/check-session").creds(creds).json(json!({ "access_token": access_token })).send(app).await
}

// ---------------------------------------------------------------------------------------
// The core matrix.
// ---------------------------------------------------------------------------------------

/// Two clients (and one with narrow scopes) with tokens in every state the matrix needs.
struct World {
    app: TestApp,
    /// The client under test (default scopes).
    a: Creds,
    /// Another client, whose tokens and grants are foreign to `a`.
    b: Creds,
    /// A client allowed only `openid users:read`.
    narrow: Creds,
    a_access: String,
    a_revoked_access: String,
    a_used_public: String,
    b_access: String,
    b_public: String,
    b_grant: String,
    /// A link token nobody has used yet.
    fresh_link: String,
    /// A link token with a signed-in guest, no consent yet.
    signed_in_link: String,
    /// A link token whose widget completed.
    completed_link: String,
    /// A link token whose user denied consent.
    denied_link: String,
}

impl World {
    async fn build(db: Db) -> Self {
        let app = spawn_unthrottled_app(db).await;
        let a = app.client().await;
        let b = app.client_with(NewClient::sandbox("Other app")).await;
        let narrow =
            app.client_with(NewClient { scopes: Some("openid users:read".into()), ..NewClient::sandbox("x") }).await;

        let (a_access, _) = app.access_token(&a).await;
        let (a_revoked_access, a_revoked_grant) = app.access_token(&a).await;
        assert_revoked(&revoke(&app, &a, &a_revoked_grant).await, "setup: revoke");
        let a_used_public = app.public_token(&a).await;
        ok_data(&app.exchange(&a, &a_used_public).await, "setup: first exchange");
        let (b_access, b_grant) = app.access_token(&b).await;
        let b_public = app.public_token(&b).await;

        let fresh_link = app.link_token(&a).await;
        let signed_in_link = app.link_token(&a).await;
        ok_data(&Call::post("/widget/auth/anonymous").link(&signed_in_link).send(&app).await, "setup: sign in");
        let completed_link = app.consented_link(&a).await;
        ok_data(&Call::post("/widget/complete").link(&completed_link).send(&app).await, "setup: complete");
        let denied_link = app.link_token(&a).await;
        ok_data(&Call::post("/widget/auth/anonymous").link(&denied_link).send(&app).await, "setup: sign in");
        let denied = Call::post("/widget/consent").link(&denied_link).json(json!({"approve": false})).send(&app).await;
        assert_eq!(
            ok_data(&denied, "setup: deny consent"),
            &json!({"approved": false, "granted_scopes": ""}),
            "a denial approves nothing"
        );

        Self {
            app,
            a,
            b,
            narrow,
            a_access,
            a_revoked_access,
            a_used_public,
            b_access,
            b_public,
            b_grant,
            fresh_link,
            signed_in_link,
            completed_link,
            denied_link,
        }
    }
}

/// One row of the matrix: what is sent and the status and code it must get.
struct Case {
    what: String,
    call: Call,
    status: u16,
    code: &'static str,
}

fn case(what: impl Into<String>, call: Call, status: u16, code: &'static str) -> Case {
    Case { what: what.into(), call, status, code }
}

/// The JSON endpoints, each with a body that is well-formed for it and the string field it reads.
fn json_endpoints(w: &World) -> Vec<(&'static str, Call, Value, &'static str)> {
    vec![
        ("POST /link-token", Call::post("/link-token").creds(&w.a), json!({}), "integration_name"),
        (
            "POST /link-token/check-session",
            Call::post("/link-token/check-session").creds(&w.a),
            json!({"access_token": w.a_access}),
            "access_token",
        ),
        (
            "POST /token/exchange",
            Call::post("/token/exchange").creds(&w.a),
            json!({"public_token": w.b_public}),
            "public_token",
        ),
        ("POST /token/revoke", Call::post("/token/revoke").creds(&w.a), json!({"grant_id": w.b_grant}), "grant_id"),
        (
            "POST /widget/consent",
            Call::post("/widget/consent").link(&w.signed_in_link),
            json!({"approve": true}),
            "approve",
        ),
        (
            "POST /widget/auth/email/start",
            Call::post("/widget/auth/email/start").link(&w.fresh_link),
            json!({"email": "a@example.com"}),
            "email",
        ),
        (
            "POST /widget/auth/email/verify",
            Call::post("/widget/auth/email/verify").link(&w.fresh_link),
            json!({"email": "a@example.com", "code": "123456"}),
            "code",
        ),
        (
            "POST /widget/workspace",
            Call::post("/widget/workspace").link(&w.signed_in_link),
            json!({"workspace_id": "6f1d2a34-1c6e-4d8e-9a57-0d9f3f3b2a10"}),
            "workspace_id",
        ),
        (
            "POST /widget/integrations",
            Call::post("/widget/integrations").link(&w.signed_in_link),
            json!({"provider": "ethereum", "address": "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"}),
            "provider",
        ),
    ]
}

fn malformed_body_cases(w: &World) -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, call, valid, field) in json_endpoints(w) {
        let valid = valid.to_string();
        let mut bad_utf8 = format!("{{\"{field}\":\"").into_bytes();
        bad_utf8.extend_from_slice(b"\xff\xfe\"}");
        let bodies: [(&str, Option<&str>, Vec<u8>); 8] = [
            ("truncated JSON", Some("application/json"), b"{\"x\":".to_vec()),
            ("not JSON at all", Some("application/json"), b"hello".to_vec()),
            ("JSON null", Some("application/json"), b"null".to_vec()),
            ("a JSON string", Some("application/json"), b"\"{}\"".to_vec()),
            ("invalid UTF-8 in a field", Some("application/json"), bad_utf8),
            ("valid JSON sent as text/plain", Some("text/plain"), valid.clone().into_bytes()),
            ("valid JSON without a content type", None, valid.clone().into_bytes()),
            ("a form-encoded body", Some("application/x-www-form-urlencoded"), b"approve=true&public_token=x".to_vec()),
        ];
        for (how, ct, body) in bodies {
            cases.push(case(format!("{name}: {how}"), call.clone().raw(ct, body), 400, "INVALID_REQUEST"));
        }
        let huge = json_of_len("", BODY_LIMIT + 1);
        cases.push(case(
            format!("{name}: a body one byte over 64 KiB"),
            call.clone().raw(Some("application/json"), huge),
            413,
            "INVALID_REQUEST",
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        cases.push(case(
            format!("{name}: deeply nested JSON"),
            call.clone().raw(Some("application/json"), deep),
            400,
            "INVALID_REQUEST",
        ));
    }
    cases
}

fn missing_and_ill_typed_field_cases(w: &World) -> Vec<Case> {
    let a = &w.a;
    let required = [
        ("POST /link-token/check-session", Call::post("/link-token/check-session").creds(a)),
        ("POST /token/exchange", Call::post("/token/exchange").creds(a)),
        ("POST /token/revoke", Call::post("/token/revoke").creds(a)),
        ("POST /widget/consent", Call::post("/widget/consent").link(&w.signed_in_link)),
        ("POST /widget/auth/email/start", Call::post("/widget/auth/email/start").link(&w.fresh_link)),
        ("POST /widget/auth/email/verify", Call::post("/widget/auth/email/verify").link(&w.fresh_link)),
        ("POST /widget/workspace", Call::post("/widget/workspace").link(&w.signed_in_link)),
        ("POST /widget/integrations", Call::post("/widget/integrations").link(&w.signed_in_link)),
    ];
    let mut cases = Vec::new();
    for (name, call) in required {
        cases.push(case(format!("{name}: {{}}"), call.clone().json(json!({})), 400, "INVALID_REQUEST"));
        cases.push(case(format!("{name}: an empty body"), call.clone().raw(None, ""), 400, "INVALID_REQUEST"));
        cases.push(case(
            format!("{name}: an empty JSON body"),
            call.clone().raw(Some("application/json"), ""),
            400,
            "INVALID_REQUEST",
        ));
        cases.push(case(
            format!("{name}: a whitespace body"),
            call.clone().raw(Some("application/json"), "  \n"),
            400,
            "INVALID_REQUEST",
        ));
    }
    let ill_typed = [
        ("POST /token/exchange", Call::post("/token/exchange").creds(a), json!({"public_token": 5})),
        ("POST /token/exchange", Call::post("/token/exchange").creds(a), json!({"public_token": null})),
        ("POST /token/exchange", Call::post("/token/exchange").creds(a), json!({"public_token": ["public_x"]})),
        (
            "POST /token/exchange",
            Call::post("/token/exchange"),
            json!({"public_token": w.b_public, "client_id": 5, "client_secret": a.secret}),
        ),
        ("POST /widget/consent", Call::post("/widget/consent").link(&w.signed_in_link), json!({"approve": "yes"})),
        ("POST /widget/consent", Call::post("/widget/consent").link(&w.signed_in_link), json!({"approve": 1})),
        ("POST /widget/consent", Call::post("/widget/consent").link(&w.signed_in_link), json!({"approve": null})),
        ("POST /link-token", Call::post("/link-token").creds(a), json!({"scopes": ["a"]})),
        ("POST /link-token", Call::post("/link-token").creds(a), json!({"scopes": 7})),
        ("POST /link-token", Call::post("/link-token").creds(a), json!({"access_token": 5})),
        ("POST /link-token", Call::post("/link-token").creds(a), json!({"integration_name": 5})),
        ("POST /link-token", Call::post("/link-token").creds(a), json!({"prefill": "email=a@b.c"})),
        (
            "POST /link-token/check-session",
            Call::post("/link-token/check-session").creds(a),
            json!({"access_token": 5}),
        ),
        ("POST /token/revoke", Call::post("/token/revoke").creds(a), json!({"grant_id": true})),
        ("POST /token/revoke", Call::post("/token/revoke").creds(a), json!({"grant_id": {"id": w.b_grant}})),
    ];
    for (name, call, body) in ill_typed {
        cases.push(case(format!("{name}: ill-typed {body}"), call.json(body), 400, "INVALID_REQUEST"));
    }
    cases
}

fn invalid_client_cases(w: &World) -> Vec<Case> {
    let (a, b) = (&w.a, &w.b);
    let endpoints = [
        ("POST /link-token", Call::post("/link-token"), Some(json!({}))),
        (
            "POST /link-token/check-session",
            Call::post("/link-token/check-session"),
            Some(json!({"access_token": w.a_access})),
        ),
        ("POST /token/exchange", Call::post("/token/exchange"), Some(json!({"public_token": w.b_public}))),
        ("POST /token/revoke", Call::post("/token/revoke"), Some(json!({"grant_id": w.b_grant}))),
        ("GET /token/grants", Call::get("/token/grants"), None),
    ];
    let credentials: [(&str, Vec<(&str, String)>); 8] = [
        ("no credentials", vec![]),
        ("X-Client-Id only", vec![("X-Client-Id", a.id.clone())]),
        ("X-Client-Secret only", vec![("X-Client-Secret", a.secret.clone())]),
        ("another client's secret", vec![("X-Client-Id", a.id.clone()), ("X-Client-Secret", b.secret.clone())]),
        ("a wrong secret", vec![("X-Client-Id", a.id.clone()), ("X-Client-Secret", format!("{}x", a.secret))]),
        ("an unknown client id", vec![("X-Client-Id", unknown_client_id()), ("X-Client-Secret", a.secret.clone())]),
        (
            "a malformed client id",
            vec![("X-Client-Id", "kc_' OR 1=1 --".into()), ("X-Client-Secret", a.secret.clone())],
        ),
        ("empty credentials", vec![("X-Client-Id", String::new()), ("X-Client-Secret", String::new())]),
    ];
    let mut cases = Vec::new();
    for (name, call, body) in endpoints {
        for (how, headers) in &credentials {
            let mut c = call.clone();
            for (h, v) in headers {
                c = c.header(h, v.clone());
            }
            if let Some(body) = &body {
                c = c.json(body.clone());
            }
            cases.push(case(format!("{name}: {how}"), c, 401, "INVALID_CLIENT"));
        }
    }
    let body_creds = [
        ("a wrong client_secret", json!({"public_token": w.b_public, "client_id": a.id, "client_secret": b.secret})),
        ("client_id without client_secret", json!({"public_token": w.b_public, "client_id": a.id})),
        ("client_secret without client_id", json!({"public_token": w.b_public, "client_secret": a.secret})),
        (
            "an unknown client_id",
            json!({"public_token": w.b_public, "client_id": unknown_client_id(), "client_secret": a.secret}),
        ),
    ];
    for (how, body) in body_creds {
        cases.push(case(
            format!("POST /token/exchange with credentials in the body: {how}"),
            Call::post("/token/exchange").json(body),
            401,
            "INVALID_CLIENT",
        ));
    }
    cases
}

fn scope_cases(w: &World) -> Vec<Case> {
    let asks = [
        (&w.a, "the unknown scope `foo`", "foo"),
        (&w.a, "an unknown action `portfolios:delete`", "openid portfolios:delete"),
        (&w.a, "an unknown resource `wallets:read`", "wallets:read"),
        (&w.a, "`balances:read`, known but not a default client scope", "openid balances:read"),
        (&w.a, "`portfolios:write`, known but not a default client scope", "portfolios:write"),
        (&w.a, "a scope in the wrong case", "OPENID"),
        (&w.narrow, "`portfolios:read`, outside the client's `openid users:read`", "portfolios:read"),
        (&w.narrow, "`profile`, outside the client's `openid users:read`", "openid users:read profile"),
    ];
    asks.into_iter()
        .map(|(creds, what, scopes)| {
            case(
                format!("POST /link-token asking for {what}"),
                Call::post("/link-token").creds(creds).json(json!({ "scopes": scopes })),
                400,
                "INVALID_SCOPE",
            )
        })
        .collect()
}

fn token_cases(w: &World) -> Vec<Case> {
    let a = &w.a;
    let mut cases = Vec::new();
    let not_resumable = [
        ("garbage", "nope".to_owned()),
        ("an empty string", String::new()),
        ("a public token (wrong prefix)", w.b_public.clone()),
        ("a well-formed unknown cat_ token", unknown_token("cat_")),
        ("a cat_ token of the wrong length", "cat_short".to_owned()),
        ("a revoked access token", w.a_revoked_access.clone()),
        ("another client's access token", w.b_access.clone()),
    ];
    for (what, token) in not_resumable {
        cases.push(case(
            format!("POST /link-token resuming with {what}"),
            Call::post("/link-token").creds(a).json(json!({ "access_token": token })),
            401,
            "INVALID_TOKEN",
        ));
    }
    let not_exchangeable = [
        ("garbage", "nope".to_owned()),
        ("an empty string", String::new()),
        ("a public_ token of the wrong length", "public_short".to_owned()),
        ("a well-formed unknown public_ token", unknown_token("public_")),
        ("an access token (wrong prefix)", w.a_access.clone()),
        ("a link token (wrong prefix)", w.fresh_link.clone()),
        ("another client's public token", w.b_public.clone()),
    ];
    for (what, token) in not_exchangeable {
        cases.push(case(
            format!("POST /token/exchange of {what}"),
            Call::post("/token/exchange").creds(a).json(json!({ "public_token": token })),
            400,
            "INVALID_TOKEN",
        ));
    }
    cases.push(case(
        "POST /token/exchange of a public token already exchanged",
        Call::post("/token/exchange").creds(a).json(json!({ "public_token": w.a_used_public })),
        400,
        "TOKEN_ALREADY_USED",
    ));
    cases.push(case(
        "POST /token/exchange (body credentials) of another client's public token",
        Call::post("/token/exchange")
            .json(json!({"public_token": w.b_public, "client_id": a.id, "client_secret": a.secret})),
        400,
        "INVALID_TOKEN",
    ));
    let not_revocable = [
        ("garbage", "nope".to_owned()),
        ("an empty string", String::new()),
        ("a well-formed unknown grant", unknown_grant()),
        ("a grant id with SQL in it", "cgrant_' OR '1'='1".to_owned()),
        ("another client's grant", w.b_grant.clone()),
    ];
    for (what, grant) in not_revocable {
        cases.push(case(
            format!("POST /token/revoke of {what}"),
            Call::post("/token/revoke").creds(a).json(json!({ "grant_id": grant })),
            400,
            "INVALID_GRANT",
        ));
    }
    cases
}

/// Every widget call (SPEC §6), each with a body it would accept; add `X-LINK-TOKEN` to use.
pub(crate) fn widget_calls() -> Vec<(&'static str, Call)> {
    let address = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
    vec![
        ("GET /widget/session", Call::get("/widget/session")),
        ("POST /widget/auth/anonymous", Call::post("/widget/auth/anonymous")),
        (
            "POST /widget/auth/email/start",
            Call::post("/widget/auth/email/start").json(json!({"email": "a@example.com"})),
        ),
        (
            "POST /widget/auth/email/verify",
            Call::post("/widget/auth/email/verify").json(json!({"email": "a@example.com", "code": "123456"})),
        ),
        (
            "POST /widget/workspace",
            Call::post("/widget/workspace").json(json!({"workspace_id": "6f1d2a34-1c6e-4d8e-9a57-0d9f3f3b2a10"})),
        ),
        ("POST /widget/consent", Call::post("/widget/consent").json(json!({"approve": true}))),
        ("GET /widget/providers", Call::get("/widget/providers")),
        ("GET /widget/integrations", Call::get("/widget/integrations")),
        (
            "POST /widget/integrations",
            Call::post("/widget/integrations").json(json!({"provider": "ethereum", "address": address})),
        ),
        ("POST /widget/complete", Call::post("/widget/complete")),
    ]
}

fn widget_cases(w: &World) -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, call) in widget_calls() {
        cases.push(case(format!("{name} without X-LINK-TOKEN"), call.clone(), 401, "INVALID_TOKEN"));
        cases.push(case(format!("{name} with an empty X-LINK-TOKEN"), call.clone().link(""), 401, "INVALID_TOKEN"));
        cases.push(case(format!("{name} with a garbage link token"), call.clone().link("nope"), 401, "INVALID_TOKEN"));
        cases.push(case(
            format!("{name} with a well-formed unknown link token"),
            call.clone().link(&unknown_token("link_")),
            401,
            "INVALID_TOKEN",
        ));
        cases.push(case(
            format!("{name} with a public token as link token"),
            call.clone().link(&w.b_public),
            401,
            "INVALID_TOKEN",
        ));
        cases.push(case(
            format!("{name} after the widget completed"),
            call.clone().link(&w.completed_link),
            400,
            "TOKEN_ALREADY_USED",
        ));
        cases.push(case(
            format!("{name} after the user denied consent"),
            call.clone().link(&w.denied_link),
            400,
            "TOKEN_ALREADY_USED",
        ));
    }
    let out_of_order = [
        (
            "POST /widget/consent before sign-in",
            Call::post("/widget/consent").link(&w.fresh_link).json(json!({"approve": true})),
        ),
        (
            "POST /widget/consent (deny) before sign-in",
            Call::post("/widget/consent").link(&w.fresh_link).json(json!({"approve": false})),
        ),
        ("POST /widget/complete before sign-in", Call::post("/widget/complete").link(&w.fresh_link)),
        ("POST /widget/complete before consent", Call::post("/widget/complete").link(&w.signed_in_link)),
        ("POST /widget/auth/anonymous a second time", Call::post("/widget/auth/anonymous").link(&w.signed_in_link)),
    ];
    for (what, call) in out_of_order {
        cases.push(case(what, call, 400, "INVALID_REQUEST"));
    }
    cases
}

fn grants_query_cases(w: &World) -> Vec<Case> {
    let negative_cursor = "ZzE6LTU"; // base64url("g1:-5")
    let queries = [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=99999999999",
        "cursor=not-a-cursor",
        "cursor=Zm9v",
        "cursor=%00%01",
    ];
    let mut cases: Vec<Case> = queries
        .into_iter()
        .map(|q| {
            case(
                format!("GET /token/grants?{q}"),
                Call::get(format!("/token/grants?{q}")).creds(&w.a),
                400,
                "INVALID_REQUEST",
            )
        })
        .collect();
    cases.push(case(
        "GET /token/grants with a cursor of a negative position",
        Call::get(format!("/token/grants?cursor={negative_cursor}")).creds(&w.a),
        400,
        "INVALID_REQUEST",
    ));
    cases
}

fn routing_cases(w: &World) -> Vec<Case> {
    let mut cases = Vec::new();
    for path in ["/nope", "/link-token/nope", "/token", "/token/grants/x", "/widget/nope", "/api/nope", "/link-token/"]
    {
        cases.push(case(format!("GET {path} (no such route)"), Call::get(path).creds(&w.a), 404, "INVALID_REQUEST"));
        cases.push(case(
            format!("POST {path} (no such route)"),
            Call::post(path).creds(&w.a).json(json!({})),
            404,
            "INVALID_REQUEST",
        ));
    }
    let wrong_methods = [
        (Method::GET, "/link-token"),
        (Method::PUT, "/link-token"),
        (Method::GET, "/link-token/check-session"),
        (Method::GET, "/token/exchange"),
        (Method::DELETE, "/token/revoke"),
        (Method::POST, "/token/grants"),
        (Method::DELETE, "/token/grants"),
        (Method::POST, "/widget/session"),
        (Method::GET, "/widget/auth/anonymous"),
        (Method::GET, "/widget/consent"),
        (Method::GET, "/widget/complete"),
        (Method::POST, "/api/health"),
        (Method::PATCH, "/api/health"),
        (Method::GET, "/widget/auth/email/start"),
        (Method::GET, "/widget/auth/email/verify"),
        (Method::GET, "/widget/workspace"),
        (Method::POST, "/widget/providers"),
        (Method::DELETE, "/widget/integrations"),
        (Method::POST, "/integrations/public/list"),
    ];
    for (method, path) in wrong_methods {
        let what = format!("{method} {path} (wrong method)");
        cases.push(case(what, Call::new(method, path).creds(&w.a).link(&w.fresh_link), 405, "INVALID_REQUEST"));
    }
    cases
}

/// Sends every case and fails once, listing every case that did not get exactly its envelope.
async fn check_all(app: &TestApp, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let answer = c.call.send(app).await;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_envelope(&answer, c.status, c.code, &c.what);
        }));
        if outcome.is_err() {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                c.what,
                c.status,
                c.code,
                answer.status.as_u16(),
                answer.body
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Every case of the matrix gets exactly its status and code, and the failures change nothing.
async fn error_matrix(db: Db) {
    let w = World::build(db).await;
    let cases: Vec<Case> = [
        malformed_body_cases(&w),
        missing_and_ill_typed_field_cases(&w),
        invalid_client_cases(&w),
        scope_cases(&w),
        token_cases(&w),
        widget_cases(&w),
        grants_query_cases(&w),
        routing_cases(&w),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(cases.len() > 200, "the matrix is as broad as intended ({} cases)", cases.len());

    check_all(&w.app, &cases).await;

    // None of those failures consumed or changed anything.
    let app = &w.app;
    let fresh = Call::get("/widget/session").link(&w.fresh_link).send(app).await;
    let fresh = ok_data(&fresh, "the fresh link token still opens its session");
    assert_eq!(fresh["user"], Value::Null, "no one signed in on the fresh link token: {fresh}");
    assert_eq!(fresh["consent"], Value::Null, "no consent was recorded on the fresh link token: {fresh}");
    let signed_in = Call::get("/widget/session").link(&w.signed_in_link).send(app).await;
    assert_eq!(ok_data(&signed_in, "signed-in session")["consent"], Value::Null, "no consent was recorded");
    let live = check_session(app, &w.a, &w.a_access).await;
    assert_eq!(ok_data(&live, "check-session")["has_valid_session"], json!(true), "a's access token is still live");
    let foreign = app.exchange(&w.b, &w.b_public).await;
    ok_data(&foreign, "b's public token survived a's attempts and still exchanges for b");
    let b_live = check_session(app, &w.b, &w.b_access).await;
    assert_eq!(ok_data(&b_live, "check-session")["has_valid_session"], json!(true), "b's grant survived a's revoke");
    w.app.stop().await;
}

#[tokio::test]
async fn the_error_matrix_holds_on_sqlite() {
    error_matrix(Db::Sqlite).await;
}

#[tokio::test]
async fn the_error_matrix_holds_on_postgres() {
    error_matrix(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------
// Rules followed through on SQLite.
// ---------------------------------------------------------------------------------------

/// The five Connect API calls with `creds`, each with a body it accepts.
fn connect_calls(creds: &Creds, access_token: &str, grant_id: &str) -> Vec<(&'static str, Call)> {
    vec![
        ("POST /link-token", Call::post("/link-token").creds(creds).json(json!({}))),
        (
            "POST /link-token/check-session",
            Call::post("/link-token/check-session").creds(creds).json(json!({ "access_token": access_token })),
        ),
        (
            "POST /token/exchange",
            Call::post("/token/exchange").creds(creds).json(json!({ "public_token": unknown_token("public_") })),
        ),
        ("POST /token/revoke", Call::post("/token/revoke").creds(creds).json(json!({ "grant_id": grant_id }))),
        ("GET /token/grants", Call::get("/token/grants").creds(creds)),
    ]
}

#[tokio::test]
async fn a_disabled_client_is_refused_everywhere_with_invalid_client() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let other = app.client_with(NewClient::sandbox("Still enabled")).await;
    let (access, grant) = app.access_token(&creds).await;
    let link = app.link_token(&creds).await;
    let consented = app.consented_link(&creds).await;
    let public = app.public_token(&creds).await;

    app.service.disable_client(&creds.id).await.expect("disable client");

    for (name, call) in connect_calls(&creds, &access, &grant) {
        assert_envelope(&call.send(&app).await, 401, "INVALID_CLIENT", &format!("{name} by a disabled client"));
    }
    let body_creds = Call::post("/token/exchange")
        .json(json!({"public_token": public, "client_id": creds.id, "client_secret": creds.secret}));
    assert_envelope(
        &body_creds.send(&app).await,
        401,
        "INVALID_CLIENT",
        "exchange with a disabled client's body credentials",
    );
    for (name, call) in widget_calls() {
        let answer = call.clone().link(&link).send(&app).await;
        assert_envelope(&answer, 401, "INVALID_CLIENT", &format!("{name} with a disabled client's link token"));
    }
    let answer = Call::post("/widget/complete").link(&consented).send(&app).await;
    assert_envelope(&answer, 401, "INVALID_CLIENT", "completing a disabled client's consented session issues nothing");

    let fine = Call::post("/link-token").creds(&other).json(json!({})).send(&app).await;
    ok_data(&fine, "other clients are unaffected");
    app.stop().await;
}

#[tokio::test]
async fn a_rotated_away_secret_is_refused_and_the_new_one_works() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let old = app.client().await;
    let (access, grant) = app.access_token(&old).await;

    let secret = app.service.rotate_client_secret(&old.id).await.expect("rotate");
    let new = Creds { id: old.id.clone(), secret: secret.expose().to_owned() };
    assert_ne!(new.secret, old.secret, "rotation changes the secret");

    for (name, call) in connect_calls(&old, &access, &grant) {
        assert_envelope(&call.send(&app).await, 401, "INVALID_CLIENT", &format!("{name} with the rotated-away secret"));
    }
    let public = app.public_token(&new).await;
    let body_creds = Call::post("/token/exchange")
        .json(json!({"public_token": public, "client_id": old.id, "client_secret": old.secret}));
    assert_envelope(&body_creds.send(&app).await, 401, "INVALID_CLIENT", "exchange with the old secret in the body");

    let checked = check_session(&app, &new, &access).await;
    let checked = ok_data(&checked, "check-session with the new secret");
    assert_eq!(checked["has_valid_session"], json!(true), "grants outlive a secret rotation: {checked}");
    assert_eq!(checked["grant_id"], json!(grant), "the same grant: {checked}");
    ok_data(&app.exchange(&new, &public).await, "the new secret exchanges");
    app.stop().await;
}

#[tokio::test]
async fn exchange_accepts_client_credentials_in_the_json_body() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let public = app.public_token(&creds).await;

    let answer = Call::post("/token/exchange")
        .json(json!({"public_token": public, "client_id": creds.id, "client_secret": creds.secret}))
        .send(&app)
        .await;
    let data = ok_data(&answer, "exchange with body credentials");
    assert!(data["access_token"].as_str().is_some_and(|t| t.starts_with("cat_")), "an access token: {data}");
    assert_eq!(data["token_type"], json!("Bearer"), "token type: {data}");
    assert_eq!(data["expires_in"], json!(473_040_000), "15 years: {data}");

    let again = Call::post("/token/exchange")
        .json(json!({"public_token": public, "client_id": creds.id, "client_secret": creds.secret}))
        .send(&app)
        .await;
    assert_envelope(&again, 400, "TOKEN_ALREADY_USED", "the second exchange with body credentials");
    app.stop().await;
}

#[tokio::test]
async fn scopes_are_checked_against_the_known_set_and_the_clients_allowance() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let narrow =
        app.client_with(NewClient { scopes: Some("openid users:read".into()), ..NewClient::sandbox("x") }).await;
    let wide = app.client().await;

    let allowed =
        Call::post("/link-token").creds(&narrow).json(json!({"scopes": "openid users:read"})).send(&app).await;
    let link =
        ok_data(&allowed, "a narrow client asking for its own scopes")["link_token"].as_str().expect("link").to_owned();
    let session = Call::get("/widget/session").link(&link).send(&app).await;
    assert_eq!(ok_data(&session, "session")["requested_scopes"], json!("openid users:read"), "the scopes asked for");

    let omitted = Call::post("/link-token").creds(&narrow).json(json!({})).send(&app).await;
    let link = ok_data(&omitted, "scopes omitted")["link_token"].as_str().expect("link").to_owned();
    let session = Call::get("/widget/session").link(&link).send(&app).await;
    assert_eq!(
        ok_data(&session, "session")["requested_scopes"],
        json!("openid users:read"),
        "omitted scopes mean the client's allowed scopes"
    );

    for scopes in ["portfolios:read", "openid users:read email", "nope", "users:admin"] {
        let refused = Call::post("/link-token").creds(&narrow).json(json!({ "scopes": scopes })).send(&app).await;
        assert_envelope(&refused, 400, "INVALID_SCOPE", &format!("narrow client asking for `{scopes}`"));
    }
    let subset =
        Call::post("/link-token").creds(&wide).json(json!({"scopes": "openid portfolios:read"})).send(&app).await;
    ok_data(&subset, "a subset of the default scopes");
    for scopes in ["balances:read", "defi:read", "nft:read", "workspace:write", "openid unknown"] {
        let refused = Call::post("/link-token").creds(&wide).json(json!({ "scopes": scopes })).send(&app).await;
        assert_envelope(&refused, 400, "INVALID_SCOPE", &format!("default client asking for `{scopes}`"));
    }
    app.stop().await;
}

#[tokio::test]
async fn check_session_tells_why_a_token_has_no_session_and_always_answers_200() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let other = app.client_with(NewClient::sandbox("Other app")).await;
    let (access, grant) = app.access_token(&creds).await;
    let (other_access, _) = app.access_token(&other).await;
    let public = app.public_token(&creds).await;

    let live = check_session(&app, &creds, &access).await;
    let data = ok_data(&live, "a live token");
    assert_eq!(data["has_valid_session"], json!(true), "{data}");
    assert_eq!(data["grant_id"], json!(grant), "{data}");
    assert_eq!(data["granted_scopes"], json!(kc_domain::DEFAULT_CLIENT_SCOPES), "{data}");
    for field in ["user_id", "workspace_id", "workspace_name"] {
        assert!(data[field].as_str().is_some_and(|v| !v.is_empty()), "{field} of a valid session: {data}");
    }
    assert!(data.get("reason").is_none(), "no reason for a valid session: {data}");

    let invalid = [
        ("garbage", "nope".to_owned()),
        ("an empty string", String::new()),
        ("a well-formed unknown token", unknown_token("cat_")),
        ("a public token", public),
        ("another client's access token", other_access),
    ];
    for (what, token) in invalid {
        let answer = check_session(&app, &creds, &token).await;
        assert_eq!(
            ok_data(&answer, what),
            &json!({"has_valid_session": false, "reason": "invalid_token"}),
            "{what}: invalid_token and nothing about the grant"
        );
    }

    assert_revoked(&revoke(&app, &creds, &grant).await, "revoke");
    let answer = check_session(&app, &creds, &access).await;
    assert_eq!(
        ok_data(&answer, "a revoked token"),
        &json!({"has_valid_session": false, "reason": "token_revoked"}),
        "a revoked grant's token"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_twice_succeeds_and_the_grant_stays_dead() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;
    for attempt in ["first", "second", "third"] {
        let answer = revoke(&app, &creds, &grant).await;
        assert_eq!(
            (answer.status.as_u16(), &answer.body),
            (200, &json!({"success": true, "message": "Grant revoked successfully"})),
            "the {attempt} revocation"
        );
    }
    let answer = check_session(&app, &creds, &access).await;
    assert_eq!(ok_data(&answer, "check-session")["reason"], json!("token_revoked"), "the token is revoked");
    let resumed = resume_link(&app, &creds, &access).await;
    assert_envelope(&resumed, 401, "INVALID_TOKEN", "a revoked token cannot resume a session");
    app.stop().await;
}

#[tokio::test]
async fn grants_are_listed_page_by_page_with_an_opaque_cursor() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let other = app.client_with(NewClient::sandbox("Other app")).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(app.access_token(&creds).await.1);
    }
    let (_, foreign) = app.access_token(&other).await;

    let first = Call::get("/token/grants?limit=2").creds(&creds).send(&app).await;
    let first = ok_data(&first, "first page").clone();
    assert_eq!(first["count"], json!(2), "two grants on the first page: {first}");
    assert_eq!(grant_ids(&first), mine[..2], "oldest first: {first}");
    let cursor = first["next_cursor"].as_str().expect("a next_cursor when more remain").to_owned();
    assert!(!cursor.contains(&mine[1]) && cursor.parse::<i64>().is_err(), "the cursor is opaque: {cursor}");

    let second = Call::get(format!("/token/grants?limit=2&cursor={cursor}")).creds(&creds).send(&app).await;
    let second = ok_data(&second, "second page").clone();
    assert_eq!(second["count"], json!(1), "one grant left: {second}");
    assert_eq!(grant_ids(&second), mine[2..], "the third grant: {second}");
    assert!(second.get("next_cursor").is_none(), "no next_cursor on the last page: {second}");

    let all = Call::get("/token/grants").creds(&creds).send(&app).await;
    let all = ok_data(&all, "default page").clone();
    assert_eq!(grant_ids(&all), mine, "the default page holds all three: {all}");
    assert!(all.get("next_cursor").is_none(), "no next_cursor: {all}");
    assert!(!grant_ids(&all).contains(&foreign), "another client's grant is never listed: {all}");
    for g in all["grants"].as_array().expect("grants") {
        let mut keys: Vec<&str> = g.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["created_at", "expires_at", "grant_id", "scopes", "workspace_id"], "grant fields: {g}");
    }
    for limit in [1, 100] {
        let page = Call::get(format!("/token/grants?limit={limit}")).creds(&creds).send(&app).await;
        let n = ok_data(&page, &format!("limit={limit}"))["count"].as_u64().expect("count");
        assert_eq!(n, limit.min(3), "limit={limit} is accepted and honoured");
    }

    assert_revoked(&revoke(&app, &creds, &mine[1]).await, "revoke the middle grant");
    let after = Call::get("/token/grants").creds(&creds).send(&app).await;
    let after = ok_data(&after, "after revocation").clone();
    assert_eq!(grant_ids(&after), [mine[0].clone(), mine[2].clone()], "a revoked grant disappears: {after}");
    assert_eq!(after["count"], json!(2), "count follows: {after}");

    let others = Call::get("/token/grants").creds(&other).send(&app).await;
    assert_eq!(grant_ids(ok_data(&others, "other client's list")), [foreign], "each client sees only its own");
    app.stop().await;
}

fn grant_ids(page: &Value) -> Vec<String> {
    page["grants"]
        .as_array()
        .expect("a grants array")
        .iter()
        .map(|g| g["grant_id"].as_str().expect("grant_id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_valid_access_token_resumes_the_session_and_completes_without_a_public_token() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;
    let checked = check_session(&app, &creds, &access).await;
    let checked = ok_data(&checked, "check-session").clone();

    let created = resume_link(&app, &creds, &access).await;
    let data = ok_data(&created, "link token resuming a session");
    assert_eq!(data["has_existing_grant"], json!(true), "{data}");
    assert_eq!(data["user_id"], checked["user_id"], "the grant's user: {data}");
    assert_eq!(data["workspace_id"], checked["workspace_id"], "the grant's workspace: {data}");
    let link = data["link_token"].as_str().expect("link token").to_owned();

    let session = Call::get("/widget/session").link(&link).send(&app).await;
    let session = ok_data(&session, "resumed widget session");
    assert_eq!(session["is_authorized"], json!(true), "the AUTH step is skipped: {session}");
    assert_eq!(session["user"]["user_id"], checked["user_id"], "the returning user: {session}");

    let again = Call::post("/widget/auth/anonymous").link(&link).send(&app).await;
    assert_envelope(&again, 400, "INVALID_REQUEST", "signing in on a resumed session");

    let consent = Call::post("/widget/consent").link(&link).json(json!({"approve": true})).send(&app).await;
    assert_eq!(ok_data(&consent, "consent")["approved"], json!(true), "consent recorded");
    let done = Call::post("/widget/complete").link(&link).send(&app).await;
    assert_eq!(ok_data(&done, "complete"), &json!({"public_token": null}), "a returning user gets public_token: null");

    let dead = Call::get("/widget/session").link(&link).send(&app).await;
    assert_envelope(&dead, 400, "TOKEN_ALREADY_USED", "the link token is dead after completion");
    let grants = Call::get("/token/grants").creds(&creds).send(&app).await;
    assert_eq!(grant_ids(ok_data(&grants, "grants")), [grant], "no new grant was created");
    let still = check_session(&app, &creds, &access).await;
    assert_eq!(ok_data(&still, "check-session")["has_valid_session"], json!(true), "the grant lives on");
    app.stop().await;
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read_and_judged_on_its_content() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let body = json_of_len(r#""public_token":"nope""#, BODY_LIMIT - 1);
    let answer = Call::post("/token/exchange").creds(&creds).raw(Some("application/json"), body).send(&app).await;
    assert_envelope(&answer, 400, "INVALID_TOKEN", "a body under 64 KiB reaches the exchange rules");
    let body = json_of_len(r#""public_token":"nope""#, BODY_LIMIT + 1);
    let answer = Call::post("/token/exchange").creds(&creds).raw(Some("application/json"), body).send(&app).await;
    assert_envelope(&answer, 413, "INVALID_REQUEST", "a body over 64 KiB is refused before parsing");
    app.stop().await;
}

#[tokio::test]
async fn a_body_must_be_a_well_formed_json_object() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let (access, grant) = app.access_token(&creds).await;
    let public = app.public_token(&creds).await;
    let link = app.link_token(&creds).await;
    ok_data(&Call::post("/widget/auth/anonymous").link(&link).send(&app).await, "sign in");

    let mut ignored_bad_utf8 = br#"{"pad":""#.to_vec();
    ignored_bad_utf8.extend_from_slice(b"\xff\xfe\"}");
    let json = |call: Call, body: Vec<u8>| call.raw(Some("application/json"), body);
    let cases = [
        case(
            "POST /link-token: an empty JSON array",
            json(Call::post("/link-token").creds(&creds), b"[]".to_vec()),
            400,
            "INVALID_REQUEST",
        ),
        (case(
            "POST /link-token: a JSON array of scopes",
            json(Call::post("/link-token").creds(&creds), br#"["openid"]"#.to_vec()),
            400,
            "INVALID_REQUEST",
        )),
        case(
            "POST /link-token: invalid UTF-8 in an unknown field",
            json(Call::post("/link-token").creds(&creds), ignored_bad_utf8),
            400,
            "INVALID_REQUEST",
        ),
        case(
            "POST /link-token/check-session: a JSON array",
            json(Call::post("/link-token/check-session").creds(&creds), json!([access]).to_string().into_bytes()),
            400,
            "INVALID_REQUEST",
        ),
        case(
            "POST /token/exchange: a JSON array",
            json(Call::post("/token/exchange").creds(&creds), json!([public]).to_string().into_bytes()),
            400,
            "INVALID_REQUEST",
        ),
        case(
            "POST /token/revoke: a JSON array",
            json(Call::post("/token/revoke").creds(&creds), json!([grant]).to_string().into_bytes()),
            400,
            "INVALID_REQUEST",
        ),
        case(
            "POST /widget/consent: a JSON array",
            json(Call::post("/widget/consent").link(&link), b"[true]".to_vec()),
            400,
            "INVALID_REQUEST",
        ),
    ];
    check_all(&app, &cases).await;
    let session = Call::get("/widget/session").link(&link).send(&app).await;
    assert_eq!(ok_data(&session, "session")["consent"], Value::Null, "no consent was recorded from an array body");
    app.stop().await;
}

#[tokio::test]
async fn json_content_types_with_parameters_or_other_case_are_accepted() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    for ct in
        ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"]
    {
        let answer = Call::post("/link-token").creds(&creds).raw(Some(ct), "{}").send(&app).await;
        ok_data(&answer, &format!("Content-Type: {ct}"));
    }
    let empty = Call::post("/link-token").creds(&creds).raw(None, "").send(&app).await;
    ok_data(&empty, "an empty body where every field is optional");
    app.stop().await;
}

#[tokio::test]
async fn health_answers_its_documented_unenveloped_shape() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let health = Call::get("/api/health").send(&app).await;
    assert_eq!(health.status.as_u16(), 200, "health status; body: {}", health.body);
    assert_eq!(health.body["status"], json!("OK"), "status field: {}", health.body);
    for field in ["service", "version", "environment"] {
        assert!(health.body[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {}", health.body);
    }
    assert!(health.body.get("success").is_none(), "health is not enveloped: {}", health.body);
    app.stop().await;
}

#[tokio::test]
async fn hostile_inputs_never_cause_a_server_error() {
    let app = spawn_unthrottled_app(Db::Sqlite).await;
    let creds = app.client().await;
    let long = "a".repeat(8 * 1024);
    let nasty_strings = [
        "\u{0}".to_owned(),
        "link_\u{0}".to_owned(),
        "😀".repeat(20),
        "' OR 1=1 --".to_owned(),
        "%00%2e%2e/".to_owned(),
        long.clone(),
        format!("cat_{long}"),
        format!("public_{}", "😀".repeat(43)),
        format!("cgrant_{}", "é".repeat(32)),
    ];
    let mut calls = Vec::new();
    for s in &nasty_strings {
        calls.push(Call::post("/link-token").creds(&creds).json(json!({"access_token": s})));
        calls.push(Call::post("/link-token").creds(&creds).json(json!({"scopes": s})));
        calls.push(Call::post("/link-token").creds(&creds).json(json!({"integration_name": s})));
        calls.push(Call::post("/link-token/check-session").creds(&creds).json(json!({"access_token": s})));
        calls.push(Call::post("/token/exchange").creds(&creds).json(json!({"public_token": s})));
        calls.push(Call::post("/token/revoke").creds(&creds).json(json!({"grant_id": s})));
        calls.push(Call::post("/token/exchange").json(json!({"public_token": s, "client_id": s, "client_secret": s})));
        if !s.contains('\u{0}') && s.is_ascii() {
            calls.push(Call::get("/widget/session").link(s));
            calls.push(
                Call::post("/token/revoke")
                    .header("X-Client-Id", s.clone())
                    .header("X-Client-Secret", s.clone())
                    .json(json!({"grant_id": "x"})),
            );
        }
        let q: String = url_escape(s);
        calls.push(Call::get(format!("/token/grants?cursor={q}")).creds(&creds));
        calls.push(Call::get(format!("/token/grants?limit={q}")).creds(&creds));
    }
    calls.push(Call::post("/link-token").creds(&creds).json(json!({"prefill": {"big": "x".repeat(10_000)}})));
    calls.push(Call::post("/link-token").creds(&creds).json(json!({"scopes": ""})));
    calls.push(Call::post("/link-token").creds(&creds).json(json!({"scopes": "   "})));
    calls.push(Call::post("/link-token").creds(&creds).json(json!({"integration_name": ""})));
    calls.push(Call::post("/link-token").creds(&creds).json(json!({"unknown_field": 1})));
    calls.push(Call::post("/link-token").creds(&creds).raw(Some("application/json; charset=utf-8"), "{}"));
    calls.push(Call::post("/link-token").creds(&creds).raw(Some("application/vnd.api+json"), "{}"));
    calls.push(
        Call::post("/link-token").creds(&creds).raw(Some("application/json"), "{\"scopes\": \"openid\"} trailing"),
    );
    calls.push(
        Call::post("/link-token")
            .creds(&creds)
            .raw(Some("application/json"), "{\"scopes\":\"openid\",\"scopes\":\"email\"}"),
    );

    for call in &calls {
        let answer = call.send(&app).await;
        assert!(answer.status.as_u16() < 500, "{call:?} must not fail the server: {} {}", answer.status, answer.body);
        if !answer.status.is_success() {
            let code = answer.body["code"].as_str().unwrap_or("").to_owned();
            assert_envelope(&answer, answer.status.as_u16(), &code, &format!("{call:?}"));
            assert!(
                kc_api::ErrorCode::parse(&code).is_some(),
                "{call:?}: `{code}` is a SPEC §5 code; body: {}",
                answer.body
            );
        }
    }
    app.stop().await;
}

/// Percent-encodes every byte outside the unreserved set.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
