//! What is measured: one [`Scenario`] per request kind. To add one, write a function returning
//! it (next to the others) and list it in [`all`] (and in [`cluster`] for the two-node run).

use super::flows::Fixture;

/// One kind of request under load.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Method and path, as printed.
    pub(crate) label: &'static str,
    /// HTTP method.
    pub(crate) method: &'static str,
    /// Path and query.
    pub(crate) path: &'static str,
    /// Request headers (besides `Host`).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Request body. With [`Scenario::needs_public_tokens`], `{public_token}` in it is replaced
    /// by a fresh public token per request.
    pub(crate) body: Option<String>,
    /// A text every answer's body must contain (`None`: only the status is checked).
    pub(crate) expect: Option<&'static str>,
    /// Each request consumes a fresh public token (the exchange).
    pub(crate) needs_public_tokens: bool,
}

impl Scenario {
    fn get(label: &'static str, path: &'static str) -> Self {
        Self { label, method: "GET", path, headers: Vec::new(), body: None, expect: None, needs_public_tokens: false }
    }

    fn post(label: &'static str, path: &'static str, body: String) -> Self {
        Self {
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: Some(body),
            method: "POST",
            ..Self::get(label, path)
        }
    }

    fn client(mut self, f: &Fixture) -> Self {
        self.headers.push(("X-Client-Id", f.client_id.clone()));
        self.headers.push(("X-Client-Secret", f.client_secret.clone()));
        self
    }

    fn bearer(mut self, f: &Fixture) -> Self {
        self.headers.push(("Authorization", format!("Bearer {}", f.access_token)));
        self
    }

    fn expect(mut self, text: &'static str) -> Self {
        self.expect = Some(text);
        self
    }
}

/// Every scenario of a single-server run, in the order they run and are printed.
pub(crate) fn all(f: &Fixture) -> Vec<Scenario> {
    vec![health(), ready(), check_session(f), userinfo(f), holdings(f), exchange(f), link_token(f)]
}

/// The scenarios of the two-process PostgreSQL run.
pub(crate) fn cluster(f: &Fixture) -> Vec<Scenario> {
    vec![check_session(f), exchange(f)]
}

/// The hello-world baseline: a JSON body echoed back by a bare axum server.
pub(crate) fn baseline() -> Scenario {
    Scenario::post("POST /echo (hello-world axum)", "/echo", r#"{"hello":"world"}"#.to_owned()).expect("world")
}

/// `GET /api/health`: no database, no authentication.
pub(crate) fn health() -> Scenario {
    Scenario::get("GET /api/health", "/api/health")
}

/// `GET /readyz`: one trivial query.
pub(crate) fn ready() -> Scenario {
    Scenario::get("GET /readyz", "/readyz")
}

/// `POST /link-token/check-session` with a live access token.
pub(crate) fn check_session(f: &Fixture) -> Scenario {
    let body = format!(r#"{{"access_token":"{}"}}"#, f.access_token);
    Scenario::post("POST /link-token/check-session", "/link-token/check-session", body)
        .client(f)
        .expect(r#""has_valid_session":true"#)
}

/// `GET /api/v1/userinfo` with a live access token.
pub(crate) fn userinfo(f: &Fixture) -> Scenario {
    Scenario::get("GET /api/v1/userinfo", "/api/v1/userinfo").client(f).bearer(f).expect(r#""sub":"#)
}

/// `GET /api/v1/holdings` of a guest with two synced wallets.
pub(crate) fn holdings(f: &Fixture) -> Scenario {
    Scenario::get("GET /api/v1/holdings (2 wallets)", "/api/v1/holdings").client(f).bearer(f).expect(r#""holdings":[{"#)
}

/// `POST /token/exchange`, each request with a fresh public token.
pub(crate) fn exchange(f: &Fixture) -> Scenario {
    Scenario {
        needs_public_tokens: true,
        ..Scenario::post("POST /token/exchange", "/token/exchange", r#"{"public_token":"{public_token}"}"#.to_owned())
            .client(f)
            .expect(r#""access_token":"cat_"#)
    }
}

/// `POST /link-token` with `{}`.
pub(crate) fn link_token(f: &Fixture) -> Scenario {
    Scenario::post("POST /link-token", "/link-token", "{}".to_owned()).client(f).expect(r#""link_token":"link_"#)
}
