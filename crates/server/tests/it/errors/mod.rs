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

mod matrix;
pub(crate) use matrix::widget_calls;
use matrix::{case, check_all};
mod rules;
