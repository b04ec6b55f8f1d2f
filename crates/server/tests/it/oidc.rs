//! The OAuth 2.0 / OpenID Connect provider over HTTP, on SQLite and PostgreSQL: the whole code
//! flow through the widget's API, the grant behaving like every other grant, and every refusal
//! (RFC 6749 §4.1.2.1 and §5.2, RFC 7636, RFC 7009, RFC 7662).

use crate::helpers::*;
use base64::Engine as _;
use kc_service::NewClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

const REDIRECT: &str = "https://app.example/callback";
const SCOPE: &str = "openid profile email offline_access users:read portfolios:read";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier";

fn challenge(verifier: &str) -> String {
    kc_domain::s256_challenge(verifier)
}

/// A server whose public URL is where it listens (the issuer is `{public_url}/oidc`).
async fn spawn_oidc_app(db: Db) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let (url, dir) = fresh_database(db).await;
    spawn_app_on(&url, &dir, |s| {
        s.server.listen = format!("127.0.0.1:{port}");
        s.server.public_url = format!("http://127.0.0.1:{port}");
        // Refusal tests fail client authentication on purpose.
        s.security.auth_failures_per_minute = 10_000;
        s.security.ip_auth_failures_per_minute = 10_000;
        s.security.auth_failure_max_delay_ms = 0;
    })
    .await
}

async fn oidc_client(app: &TestApp) -> Creds {
    app.client_with(NewClient { redirect_uris: vec![REDIRECT.to_owned()], ..NewClient::sandbox("OIDC app") }).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The query (or fragment) parameters of `url`.
fn params_of(url: &str, fragment: bool) -> std::collections::HashMap<String, String> {
    let u = url::Url::parse(url).unwrap_or_else(|e| panic!("{url} is a URL: {e}"));
    let raw = if fragment { u.fragment().unwrap_or("").to_owned() } else { u.query().unwrap_or("").to_owned() };
    url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

/// `GET /oidc/auth` with `query`: the status and `Location`.
async fn authorize(app: &TestApp, query: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
    let mut u = url::Url::parse(&format!("{}/oidc/auth", app.base)).expect("url");
    u.query_pairs_mut().extend_pairs(query);
    let res = no_redirects().get(u).send().await.expect("reaches the server");
    let status = res.status();
    let location = res.headers().get("location").map(|v| v.to_str().expect("ascii").to_owned());
    (status, location, res.text().await.unwrap_or_default())
}

fn auth_query<'a>(creds: &'a Creds, challenge: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", creds.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Runs `/oidc/auth` and the widget (guest, consent, complete) and follows the callback:
/// the client's redirect with `code`, `state` and `iss`.
async fn authorization_code(app: &TestApp, creds: &Creds) -> String {
    authorization_code_and_session(app, creds).await.0
}

/// Like [`authorization_code`], with the `Set-Cookie` of the browser session the callback starts.
async fn authorization_code_and_session(app: &TestApp, creds: &Creds) -> (String, String) {
    let (code, session) = authorization_code_from(app, creds, true).await;
    (code, session.expect("the browser that started the authorization gets a session"))
}

/// Runs the authorization; the callback carries the request-binding cookie `/oidc/auth` set
/// only when `same_browser`. The code, and the browser session's `Set-Cookie` if one started.
async fn authorization_code_from(app: &TestApp, creds: &Creds, same_browser: bool) -> (String, Option<String>) {
    let ch = challenge(VERIFIER);
    let mut u = url::Url::parse(&format!("{}/oidc/auth", app.base)).expect("url");
    u.query_pairs_mut().extend_pairs(&auth_query(creds, &ch));
    let res = no_redirects().get(u).send().await.expect("reaches the server");
    assert_eq!(res.status(), StatusCode::FOUND);
    let binding = res.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    for attr in ["Path=/oidc/callback", "HttpOnly", "SameSite=Lax", "Max-Age=1800"] {
        assert!(binding.split("; ").any(|a| a == attr), "{attr} in {binding}");
    }
    let widget = res.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(widget.starts_with(&format!("{}/connect#", app.base)), "to the widget page: {widget}");
    let f = params_of(&widget, true);
    assert_eq!(f["mode"], "page");
    let link = f["link_token"].clone();
    let callback = f["redirect_uri"].clone();
    let session = app.send(Method::GET, "/widget/session", None, Some(&link), None).await;
    assert_eq!(session.data()["redirect_uris"], json!([callback]), "the widget may only return to the provider");
    assert_eq!(session.data()["requested_scopes"], json!(SCOPE));
    app.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("public token").to_owned();
    let mut req = no_redirects().get(format!("{callback}?public_token={public}"));
    if same_browser {
        req = req.header("cookie", cookie_pair(&binding));
    }
    let back = req.send().await.expect("callback reaches the server");
    assert_eq!(back.status(), StatusCode::FOUND);
    let set_cookie = back.headers().get("set-cookie").map(|v| v.to_str().expect("ascii").to_owned());
    let to = back.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(to.starts_with(&format!("{REDIRECT}?")), "{to}");
    let q = params_of(&to, false);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], format!("{}/oidc", app.base));
    // The callback answers once.
    let again = no_redirects().get(format!("{callback}?public_token={public}")).send().await.expect("reaches");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a callback is answered once");
    assert!(again.headers().get("set-cookie").is_none(), "a refused callback starts no session");
    (q["code"].clone(), set_cookie)
}

/// `POST` a form to `path`, with `client_secret_post` credentials when `creds` is given.
async fn form(
    app: &TestApp,
    path: &str,
    creds: Option<&Creds>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if let Some(c) = creds {
        all.push(("client_id", &c.id));
        all.push(("client_secret", &c.secret));
    }
    let res = app.http.post(format!("{}{path}", app.base)).form(&all).send().await.expect("reaches the server");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body, headers)
}

async fn exchange(
    app: &TestApp,
    creds: &Creds,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    form(
        app,
        "/oidc/token",
        Some(creds),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[track_caller]
fn assert_oauth_error(status: StatusCode, body: &Value, expected_status: u16, error: &str) {
    assert_eq!(status.as_u16(), expected_status, "status; body: {body}");
    assert_eq!(body["error"], json!(error), "error; body: {body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "a description: {body}");
}

async fn introspect(app: &TestApp, creds: &Creds, token: &str) -> Value {
    let (status, body, _) = form(app, "/oidc/token/introspection", Some(creds), &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn data_api_status(app: &TestApp, creds: &Creds, token: &str) -> StatusCode {
    app.http
        .get(format!("{}/api/v1/userinfo", app.base))
        .bearer_auth(token)
        .header("X-Client-Id", &creds.id)
        .header("X-Client-Secret", &creds.secret)
        .send()
        .await
        .expect("reaches")
        .status()
}

async fn userinfo_status(app: &TestApp, token: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let res = app.http.get(format!("{}/oidc/userinfo", app.base)).bearer_auth(token).send().await.expect("reaches");
    let status = res.status();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_databases!(
    an_oauth_grant_is_an_ordinary_grant,
    codes_are_single_use_bound_and_short_lived,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    the_authorization_endpoint_refuses_what_it_must,
    token_endpoint_errors_are_rfc_6749_section_5_2,
    unsigned_and_foreign_tokens_are_refused,
    signing_keys_rotate_with_overlap,
    client_credentials_tokens_act_for_the_client_alone,
    a_browser_session_answers_prompt_none_until_it_ends,
    the_cli_rotates_and_lists_signing_keys,
);

async fn an_oauth_grant_is_an_ordinary_grant(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let code = authorization_code(&app, &creds).await;
    let (status, tokens, headers) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 86_400);
    assert_eq!(tokens["scope"], SCOPE);
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("refresh token (offline_access)").to_owned();
    assert!(tokens["id_token"].as_str().is_some_and(|t| t.starts_with("eyJ")), "{tokens}");

    let info = introspect(&app, &creds, &access).await;
    assert_eq!(info["active"], true, "{info}");
    let grant_id = info["grant_id"].as_str().expect("grant id").to_owned();
    assert_eq!(app.node().grant_ids(&creds).await, vec![grant_id.clone()], "listed in /token/grants");
    assert_eq!(data_api_status(&app, &creds, &access).await, StatusCode::OK, "the Data API takes it like a cat_ token");
    let session = app.node().check_session(&creds, &access).await;
    assert_eq!(session.data()["has_valid_session"], true);
    assert_eq!(session.data()["grant_id"], json!(grant_id));
    let (status, claims, _) = userinfo_status(&app, &access).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], info["sub"]);
    assert_eq!(claims["users_access"], true);
    assert_eq!(claims["tax_access"], false);

    // Another client's credentials see nothing (foreign token).
    let other = oidc_client(&app).await;
    assert_eq!(introspect(&app, &other, &access).await, json!({"active": false}));
    assert_eq!(data_api_status(&app, &other, &access).await, StatusCode::UNAUTHORIZED);

    // /token/revoke ends every token of the grant at once.
    app.post("/token/revoke", &creds, json!({ "grant_id": grant_id })).await;
    assert_eq!(data_api_status(&app, &creds, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_status(&app, &access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&app, &creds, &access).await, json!({"active": false}));
    assert_eq!(introspect(&app, &creds, &refresh).await, json!({"active": false}));
    let (status, body, _) =
        form(&app, "/oidc/token", Some(&creds), &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_oauth_error(status, &body, 400, "invalid_grant");

    // RFC 7009 revocation of a refresh token does the same to a second grant.
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, _, _) = form(&app, "/oidc/token/revocation", Some(&creds), &[("token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(introspect(&app, &creds, &access).await["active"], false, "the access token died with its grant");
    assert!(app.node().grant_ids(&creds).await.is_empty(), "revoked grants leave the list");
    let (status, _, _) = form(&app, "/oidc/token/revocation", Some(&creds), &[("token", "unknown")]).await;
    assert_eq!(status, StatusCode::OK, "an unknown token answers 200 (RFC 7009 §2.2)");
    app.stop().await;
}

async fn codes_are_single_use_bound_and_short_lived(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let other = oidc_client(&app).await;

    // Wrong PKCE verifier, another client, a redirect URI differing by one character: refused,
    // and the code stays good for its owner.
    let code = authorization_code(&app, &creds).await;
    let (s, b, _) = exchange(&app, &creds, &code, &format!("{VERIFIER}x")).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    let (s, b, _) = exchange(&app, &other, &code, VERIFIER).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    let (s, b, _) = form(
        &app,
        "/oidc/token",
        Some(&creds),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/callbacK"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    let (s, b, _) = form(
        &app,
        "/oidc/token",
        Some(&creds),
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert_oauth_error(s, &b, 400, "invalid_request");

    // Redeemed once; the replay is refused and revokes what the code issued.
    let (s, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    assert_eq!(introspect(&app, &creds, &access).await["active"], true);
    let (s, b, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    assert_eq!(introspect(&app, &creds, &access).await["active"], false, "a replayed code revokes its tokens");
    assert_eq!(data_api_status(&app, &creds, &access).await, StatusCode::UNAUTHORIZED);

    // Ten minutes: just inside works, just past is refused.
    let code = authorization_code(&app, &creds).await;
    app.clock.advance(Duration::minutes(10) + Duration::seconds(1));
    let (s, b, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    let code = authorization_code(&app, &creds).await;
    app.clock.advance(Duration::minutes(9));
    let (s, b, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.stop().await;
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let first = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let refresh = |t: String| {
        let app = &app;
        let creds = &creds;
        async move { form(app, "/oidc/token", Some(creds), &[("grant_type", "refresh_token"), ("refresh_token", &t)]).await }
    };
    let (s, rotated, h) = refresh(first.clone()).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_eq!(h["cache-control"], "no-store");
    let second = rotated["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(second, first, "rotated");
    assert!(rotated["id_token"].is_string(), "openid: a fresh ID token");
    let access = rotated["access_token"].as_str().expect("access").to_owned();

    // A narrower scope is allowed, a wider one is invalid_scope.
    let (s, narrow, _) = form(
        &app,
        "/oidc/token",
        Some(&creds),
        &[("grant_type", "refresh_token"), ("refresh_token", &second), ("scope", "openid tax:read")],
    )
    .await;
    assert_oauth_error(s, &narrow, 400, "invalid_scope");
    let (s, narrow, _) = form(
        &app,
        "/oidc/token",
        Some(&creds),
        &[("grant_type", "refresh_token"), ("refresh_token", &second), ("scope", "openid portfolios:read")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{narrow}");
    assert_eq!(narrow["scope"], "openid portfolios:read");
    let narrow_access = narrow["access_token"].as_str().expect("access").to_owned();
    assert_eq!(
        data_api_status(&app, &creds, &narrow_access).await,
        StatusCode::FORBIDDEN,
        "users:read not in this token"
    );
    let third = narrow["refresh_token"].as_str().expect("refresh").to_owned();

    // Reusing a rotated token: refused, and the whole family (grant) is revoked.
    let (s, b, _) = refresh(first).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    let (s, b, _) = refresh(third).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    assert_eq!(introspect(&app, &creds, &access).await["active"], false);

    // Thirty days.
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let t = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    app.clock.advance(Duration::days(30));
    let (s, b, _) = refresh(t).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    app.stop().await;
}

async fn the_authorization_endpoint_refuses_what_it_must(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let ch = challenge(VERIFIER);
    let with = |k: &'static str, v: &'static str| {
        let mut q: Vec<(&str, String)> = auth_query(&creds, &ch).into_iter().map(|(a, b)| (a, b.to_owned())).collect();
        q.retain(|(a, _)| *a != k);
        if !v.is_empty() {
            q.push((k, v.to_owned()));
        }
        q
    };
    let run = |q: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let q: Vec<(&str, &str)> = q.iter().map(|(a, b)| (*a, b.as_str())).collect();
            authorize(app, &q).await
        }
    };
    // Unregistered, or one character off: shown, never redirected.
    for uri in ["https://evil.example/callback", "https://app.example/callbacks", "https://app.example/Callback"] {
        let (s, loc, body) = run(with("redirect_uri", uri)).await;
        assert_eq!((s, loc), (StatusCode::BAD_REQUEST, None), "{uri}");
        assert!(body.contains("invalid_request"), "{body}");
    }
    let (s, loc, _) = run(with("client_id", "kc_AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!((s, loc), (StatusCode::BAD_REQUEST, None));
    // Everything else: back to the client with error and state.
    for (k, v, error) in [
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge_method", "", "invalid_request"),
        ("code_challenge", "", "invalid_request"),
        ("code_challenge", "tooshort", "invalid_request"),
        ("response_type", "token", "unsupported_response_type"),
        ("scope", "openid nonsense:read", "invalid_scope"),
        ("prompt", "none", "login_required"),
    ] {
        let (s, loc, _) = run(with(k, v)).await;
        assert_eq!(s, StatusCode::FOUND, "{k}={v}");
        let loc = loc.expect("redirect");
        assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
        let q = params_of(&loc, false);
        assert_eq!(q["error"], error, "{k}={v}: {loc}");
        assert_eq!(q["state"], "st-123");
        assert!(!q["error_description"].is_empty());
    }
    // A scope the client is not allowed.
    let narrow = app
        .client_with(NewClient {
            redirect_uris: vec![REDIRECT.to_owned()],
            scopes: Some("openid users:read".to_owned()),
            ..NewClient::sandbox("narrow")
        })
        .await;
    let q = auth_query(&narrow, &ch);
    let (_, loc, _) = authorize(&app, &q).await;
    assert_eq!(params_of(&loc.expect("redirect"), false)["error"], "invalid_scope");

    // The user closes the widget: access_denied at the client, and the request is answered once.
    let (_, loc, _) = authorize(&app, &auth_query(&creds, &ch)).await;
    let callback = params_of(&loc.expect("widget"), true)["redirect_uri"].clone();
    let back = no_redirects().get(format!("{callback}?error=USER_CLOSED")).send().await.expect("reaches");
    let q = params_of(back.headers()["location"].to_str().expect("ascii"), false);
    assert_eq!(q["error"], "access_denied");
    let again = no_redirects().get(format!("{callback}?error=USER_CLOSED")).send().await.expect("reaches");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

async fn token_endpoint_errors_are_rfc_6749_section_5_2(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let wrong = Creds { id: creds.id.clone(), secret: "kcs_wrong".to_owned() };
    let (s, b, h) = form(&app, "/oidc/token", Some(&wrong), &[("grant_type", "refresh_token")]).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
    assert!(h["www-authenticate"].to_str().expect("ascii").starts_with("Basic"), "{h:?}");
    let (s, b, _) = form(&app, "/oidc/token", None, &[("grant_type", "refresh_token")]).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
    let (s, b, _) = form(&app, "/oidc/token", Some(&creds), &[]).await;
    assert_oauth_error(s, &b, 400, "invalid_request");
    let (s, b, _) = form(&app, "/oidc/token", Some(&creds), &[("grant_type", "password")]).await;
    assert_oauth_error(s, &b, 400, "unsupported_grant_type");
    let (s, b, _) =
        form(&app, "/oidc/token", Some(&creds), &[("grant_type", "client_credentials"), ("scope", "openid")]).await;
    assert_oauth_error(s, &b, 400, "invalid_scope");
    let (s, b, h) = form(
        &app,
        "/oidc/token",
        Some(&creds),
        &[
            ("grant_type", "authorization_code"),
            ("code", "kcoc_nope"),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    assert_eq!(h["cache-control"], "no-store");

    // client_secret_basic works like client_secret_post.
    let code = authorization_code(&app, &creds).await;
    let res = app
        .http
        .post(format!("{}/oidc/token", app.base))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("reaches");
    assert_eq!(res.status(), StatusCode::OK);
    // A client without offline_access may not refresh.
    let no_offline = app
        .client_with(NewClient {
            redirect_uris: vec![REDIRECT.to_owned()],
            scopes: Some("openid users:read".to_owned()),
            ..NewClient::sandbox("online only")
        })
        .await;
    let (s, b, _) =
        form(&app, "/oidc/token", Some(&no_offline), &[("grant_type", "refresh_token"), ("refresh_token", "kcrt_x")])
            .await;
    assert_oauth_error(s, &b, 400, "unauthorized_client");
    app.stop().await;
}

/// A JWT with `header` and `claims` and no (or a junk) signature.
fn forged(header: Value, claims: Value, signature: &str) -> String {
    let b = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{signature}", b(&header), b(&claims))
}

async fn unsigned_and_foreign_tokens_are_refused(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let parts: Vec<&str> = access.split('.').collect();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).expect("base64"))
            .expect("claims");
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[0]).expect("base64"))
            .expect("header");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    for (what, token) in [
        ("alg none", forged(json!({"alg": "none", "typ": "at+jwt"}), claims.clone(), "")),
        (
            "alg none with kid",
            forged(json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}), claims.clone(), ""),
        ),
        (
            "HS256 with the public key as secret",
            forged(json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]}), claims.clone(), "c2ln"),
        ),
        ("another key", forged(header.clone(), claims.clone(), &parts[2].chars().rev().collect::<String>())),
        ("altered claims", {
            let mut c = claims.clone();
            c["sub"] = json!("someone-else");
            format!(
                "{}.{}.{}",
                parts[0],
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string()),
                parts[2]
            )
        }),
    ] {
        assert_eq!(introspect(&app, &creds, &token).await, json!({"active": false}), "{what}");
        let (s, b, h) = userinfo_status(&app, &token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {b}");
        assert_eq!(b["error"], "invalid_token", "{what}");
        assert!(h["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"), "{what}");
        assert_eq!(data_api_status(&app, &creds, &token).await, StatusCode::UNAUTHORIZED, "{what}");
    }
    // The ID token is not an access token.
    let id = tokens["id_token"].as_str().expect("id token");
    assert_eq!(introspect(&app, &creds, id).await, json!({"active": false}));
    assert_eq!(userinfo_status(&app, id).await.0, StatusCode::UNAUTHORIZED);
    // And the real one still works; it expires after 24 hours.
    assert_eq!(userinfo_status(&app, &access).await.0, StatusCode::OK);
    app.clock.advance(Duration::hours(24));
    assert_eq!(userinfo_status(&app, &access).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn signing_keys_rotate_with_overlap(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let discovery: Value = app
        .http
        .get(format!("{}/oidc/.well-known/openid-configuration", app.base))
        .send()
        .await
        .expect("reaches")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], format!("{}/oidc", app.base));
    assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
    let spelled: Value = app
        .http
        .get(format!("{}/oidc/.well-known/openid_configuration", app.base))
        .send()
        .await
        .expect("reaches")
        .json()
        .await
        .expect("json");
    assert_eq!(spelled, discovery, "the reference's spelling too");
    let jwks = |app: &TestApp| {
        let url = format!("{}/oidc/jwks", app.base);
        let http = app.http.clone();
        async move {
            let v: Value = http.get(url).send().await.expect("reaches").json().await.expect("json");
            v["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| (k["kid"].as_str().expect("kid").to_owned(), k["alg"].as_str().expect("alg").to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let before = jwks(&app).await;
    assert_eq!(before.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>(), ["RS256", "EdDSA"], "{before:?}");
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let old_access = tokens["access_token"].as_str().expect("access").to_owned();

    app.service.rotate_oidc_keys().await.expect("rotate");
    let during = jwks(&app).await;
    assert_eq!(during.len(), 4, "old and new keys are both published: {during:?}");
    assert_eq!(introspect(&app, &creds, &old_access).await["active"], true, "tokens of the old key still verify");
    let code = authorization_code(&app, &creds).await;
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let new_access = tokens["access_token"].as_str().expect("access").to_owned();
    let kid_of = |t: &str| -> String {
        let h: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t.split('.').next().expect("header"))
                .expect("b64"),
        )
        .expect("json");
        h["kid"].as_str().expect("kid").to_owned()
    };
    assert_ne!(kid_of(&new_access), kid_of(&old_access), "new tokens are signed with the new key");

    app.clock.advance(Duration::days(2) + Duration::minutes(6));
    let after = jwks(&app).await;
    assert_eq!(after.len(), 2, "the overlap is over: {after:?}");
    assert!(after.iter().all(|k| !before.contains(k)), "only the new keys remain");
    assert_eq!(introspect(&app, &creds, &old_access).await["active"], false, "expired anyway, and its key is retired");
    app.stop().await;
}

async fn client_credentials_tokens_act_for_the_client_alone(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let other = oidc_client(&app).await;
    let discovery: Value = app
        .http
        .get(format!("{}/oidc/.well-known/openid-configuration", app.base))
        .send()
        .await
        .expect("reaches")
        .json()
        .await
        .expect("json");
    assert_eq!(
        discovery["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );

    // Without a scope: every data scope the client is allowed, none of the user's.
    let (s, all, h) = form(&app, "/oidc/token", Some(&creds), &[("grant_type", "client_credentials")]).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(all["token_type"], "Bearer");
    assert_eq!(all["expires_in"], 3600, "{all}");
    assert!(all.get("refresh_token").is_none() && all.get("id_token").is_none(), "RFC 6749 §4.4.3: {all}");
    let granted: Vec<&str> = all["scope"].as_str().expect("scope").split(' ').collect();
    assert!(granted.contains(&"portfolios:read") && granted.contains(&"users:read"), "{all}");
    for user_scope in ["openid", "profile", "email", "offline_access"] {
        assert!(!granted.contains(&user_scope), "{user_scope} in {all}");
    }

    // With a scope (client_secret_basic this time): exactly that.
    let res = app
        .http
        .post(format!("{}/oidc/token", app.base))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "portfolios:read")])
        .send()
        .await
        .expect("reaches");
    assert_eq!(res.status(), StatusCode::OK);
    let narrow: Value = res.json().await.expect("json");
    assert_eq!(narrow["scope"], "portfolios:read");
    let token = narrow["access_token"].as_str().expect("access token").to_owned();

    // Refusals: beyond the allowed scopes, a user's scope, no or wrong client authentication.
    for scope in ["portfolios:write", "offline_access", "profile portfolios:read", "nonsense:read"] {
        let (s, b, _) =
            form(&app, "/oidc/token", Some(&creds), &[("grant_type", "client_credentials"), ("scope", scope)]).await;
        assert_oauth_error(s, &b, 400, "invalid_scope");
    }
    let (s, b, h) = form(&app, "/oidc/token", None, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(s, &b, 401, "invalid_client");
    assert!(h.contains_key("www-authenticate"));
    let wrong = Creds { id: creds.id.clone(), secret: "cs_wrong".to_owned() };
    let (s, b, _) = form(&app, "/oidc/token", Some(&wrong), &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(s, &b, 401, "invalid_client");

    // Introspection by its client describes it: the client itself, no user, no grant.
    let i = introspect(&app, &creds, &token).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["sub"], json!(creds.id));
    assert_eq!(i["client_id"], json!(creds.id));
    assert_eq!(i["scope"], "portfolios:read");
    assert!(i.get("grant_id").is_none() && i.get("workspace_id").is_none(), "{i}");
    assert_eq!(introspect(&app, &other, &token).await, json!({"active": false}), "another client learns nothing");

    // No user's data: the Data API and userinfo refuse it.
    assert_eq!(data_api_status(&app, &creds, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_status(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    // A user's access token is still a user's: introspection names its grant.
    let code = authorization_code(&app, &creds).await;
    let (_, user_tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    let user_access = user_tokens["access_token"].as_str().expect("access");
    let described = introspect(&app, &creds, user_access).await;
    assert!(described["grant_id"].as_str().is_some_and(|g| !g.is_empty()), "{described}");
    assert_ne!(described["sub"], json!(creds.id), "{described}");

    // It belongs to no grant: revocation says so (RFC 7009 §2.2.1) rather than pretending.
    let (s, b, _) = form(&app, "/oidc/token/revocation", Some(&creds), &[("token", &token)]).await;
    assert_oauth_error(s, &b, 400, "unsupported_token_type");
    assert_eq!(introspect(&app, &creds, &token).await["active"], true);

    // It lives one hour.
    app.clock.advance(Duration::minutes(59));
    assert_eq!(introspect(&app, &creds, &token).await["active"], true);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(introspect(&app, &creds, &token).await["active"], false);
    app.stop().await;
}

/// The `name=value` of a `Set-Cookie` header, for a `Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("name=value").trim().to_owned()
}

/// `GET /oidc/auth` with `prompt` and the browser's `cookie`: the status and `Location`.
async fn authorize_with(
    app: &TestApp,
    creds: &Creds,
    scope: &str,
    prompt: &str,
    cookie: Option<&str>,
) -> (StatusCode, String) {
    let ch = challenge(VERIFIER);
    let mut q = auth_query(creds, &ch);
    q.retain(|(k, _)| *k != "scope");
    q.push(("scope", scope));
    q.push(("prompt", prompt));
    let mut u = url::Url::parse(&format!("{}/oidc/auth", app.base)).expect("url");
    u.query_pairs_mut().extend_pairs(&q);
    let mut req = no_redirects().get(u);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("reaches the server");
    let status = res.status();
    (status, res.headers().get("location").map(|v| v.to_str().expect("ascii").to_owned()).unwrap_or_default())
}

/// The `error` (or `code`) a `prompt=none` authorization came back with.
async fn silent(app: &TestApp, creds: &Creds, scope: &str, cookie: Option<&str>) -> Result<String, String> {
    let (status, location) = authorize_with(app, creds, scope, "none", cookie).await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    assert!(location.starts_with(&format!("{REDIRECT}?")), "never a page: {location}");
    let q = params_of(&location, false);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], format!("{}/oidc", app.base));
    match (q.get("code"), q.get("error")) {
        (Some(code), None) => Ok(code.clone()),
        (None, Some(error)) => Err(error.clone()),
        _ => panic!("a code or an error: {location}"),
    }
}

async fn a_browser_session_answers_prompt_none_until_it_ends(db: Db) {
    let app = spawn_oidc_app(db).await;
    let creds = oidc_client(&app).await;
    let other = oidc_client(&app).await;
    let login = || Err::<String, String>("login_required".to_owned());

    // A callback reached by another browser than the one that started the authorization (a
    // link handed to someone) still answers the client, but starts no session (login CSRF).
    let (code, none) = authorization_code_from(&app, &creds, false).await;
    assert_eq!(none, None);
    assert_eq!(exchange(&app, &creds, &code, VERIFIER).await.0, StatusCode::OK);

    // Signing in through the widget starts the session: an opaque HttpOnly, SameSite=Lax cookie
    // on /oidc (not Secure: this server's public URL is http).
    let (code, set_cookie) = authorization_code_and_session(&app, &creds).await;
    assert!(set_cookie.starts_with("kc_oidc_session=kcbs_"), "{set_cookie}");
    for attr in ["Path=/oidc", "HttpOnly", "SameSite=Lax", "Max-Age=43200"] {
        assert!(set_cookie.split("; ").any(|a| a == attr), "{attr} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let cookie = cookie_pair(&set_cookie);
    let (s, first, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{first}");

    // prompt=none: a code at once, for scopes the live grant covers; it redeems like any code.
    let code = silent(&app, &creds, "openid users:read", Some(&cookie)).await.expect("a silent code");
    let (s, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid users:read");
    let (s, info, _) = userinfo_status(&app, tokens["access_token"].as_str().expect("access")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, first_info, _) = userinfo_status(&app, first["access_token"].as_str().expect("access")).await;
    assert_eq!(info["sub"], first_info["sub"], "the same user");

    // What it does not cover, another client without a grant, no or a forged cookie, and
    // prompt=none with anything else: refused, back at the redirect URI.
    assert_eq!(silent(&app, &creds, "openid transactions:read", Some(&cookie)).await, Err("consent_required".into()));
    assert_eq!(silent(&app, &other, "openid users:read", Some(&cookie)).await, Err("consent_required".into()));
    assert_eq!(silent(&app, &creds, "openid users:read", None).await, login());
    let forged = format!("kc_oidc_session=kcbs_{}", "A".repeat(43));
    assert_eq!(silent(&app, &creds, "openid users:read", Some(&forged)).await, login());
    let (status, location) = authorize_with(&app, &creds, "openid", "none login", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(params_of(&location, false)["error"], "invalid_request");
    // prompt=login (or no prompt) runs the widget, which signs in again, whatever the session.
    for prompt in ["login", "consent"] {
        let (status, location) = authorize_with(&app, &creds, "openid users:read", prompt, Some(&cookie)).await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(location.starts_with(&format!("{}/connect#", app.base)), "prompt={prompt}: {location}");
    }

    // Replaying the silent code revokes the grant it issued, which ends the session.
    let (s, b, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    assert_eq!(silent(&app, &creds, "openid users:read", Some(&cookie)).await, login());

    // Signing out ends it (POST only; the answer clears the cookie).
    let (code, set_cookie) = authorization_code_and_session(&app, &creds).await;
    let cookie = cookie_pair(&set_cookie);
    exchange(&app, &creds, &code, VERIFIER).await;
    assert!(silent(&app, &creds, "openid users:read", Some(&cookie)).await.is_ok());
    let res = no_redirects()
        .post(format!("{}/oidc/logout", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("reaches");
    assert_eq!(res.status(), StatusCode::OK);
    let cleared = res.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(cleared.starts_with("kc_oidc_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(silent(&app, &creds, "openid users:read", Some(&cookie)).await, login());
    let get = no_redirects().get(format!("{}/oidc/logout", app.base)).send().await.expect("reaches");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED, "no sign-out by a link or an image");

    // Revoking the client's grant ends the session too.
    let (code, set_cookie) = authorization_code_and_session(&app, &creds).await;
    let cookie = cookie_pair(&set_cookie);
    let (_, tokens, _) = exchange(&app, &creds, &code, VERIFIER).await;
    assert!(silent(&app, &creds, "openid", Some(&cookie)).await.is_ok());
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let (s, _, _) = form(&app, "/oidc/token/revocation", Some(&creds), &[("token", refresh)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(silent(&app, &creds, "openid", Some(&cookie)).await, login());
    // It stays ended.
    assert_eq!(silent(&app, &creds, "openid", Some(&cookie)).await, login());

    // Idle expiry: an hour without an authorization.
    let (code, set_cookie) = authorization_code_and_session(&app, &creds).await;
    let cookie = cookie_pair(&set_cookie);
    exchange(&app, &creds, &code, VERIFIER).await;
    app.clock.advance(Duration::minutes(59));
    assert!(silent(&app, &creds, "openid", Some(&cookie)).await.is_ok(), "each use restarts the idle hour");
    app.clock.advance(Duration::minutes(59));
    assert!(silent(&app, &creds, "openid", Some(&cookie)).await.is_ok());
    app.clock.advance(Duration::minutes(61));
    assert_eq!(silent(&app, &creds, "openid", Some(&cookie)).await, login());

    // Absolute expiry: 12 hours after sign-in, however active.
    let (code, set_cookie) = authorization_code_and_session(&app, &creds).await;
    let cookie = cookie_pair(&set_cookie);
    exchange(&app, &creds, &code, VERIFIER).await;
    for _ in 0..13 {
        app.clock.advance(Duration::minutes(55));
        assert!(silent(&app, &creds, "openid", Some(&cookie)).await.is_ok());
    }
    app.clock.advance(Duration::minutes(55));
    assert_eq!(silent(&app, &creds, "openid", Some(&cookie)).await, login(), "past 12 hours");
    app.stop().await;
}

async fn the_cli_rotates_and_lists_signing_keys(db: Db) {
    let app = spawn_oidc_app(db).await;
    // The server made its first keys when asked for them.
    let jwks = |app: &TestApp| {
        let url = format!("{}/oidc/jwks", app.base);
        let http = app.http.clone();
        async move {
            let v: Value = http.get(url).send().await.expect("reaches").json().await.expect("json");
            v["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| k["kid"].as_str().expect("kid").to_owned())
                .collect::<Vec<_>>()
        }
    };
    let before = jwks(&app).await;
    assert_eq!(before.len(), 2);
    let cli = |args: &'static [&'static str]| {
        let mut cmd = binary_command(&app.database_url, &app.data_dir);
        cmd.args(args);
        async move {
            let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
                .await
                .expect("the command finishes within 60 s")
                .expect("the command starts");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            stdout
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("JSON line ({e}): {l}")))
                .collect::<Vec<_>>()
        }
    };
    let listed = cli(&["oidc", "keys", "--json"]).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|k| k["state"] == "signing" && k["generation"] == 1 && k["published_until"].is_null()));
    assert!(listed.iter().all(|k| k.get("private_key").is_none() && !k.to_string().contains("PRIVATE")));

    let rotated = cli(&["oidc", "rotate-keys", "--json"]).await;
    assert_eq!(rotated.len(), 4, "{rotated:?}");
    let state_of = |keys: &[Value], alg: &str, generation: i64| -> (String, Value) {
        let k = keys
            .iter()
            .find(|k| k["alg"] == alg && k["generation"] == generation)
            .unwrap_or_else(|| panic!("{alg} generation {generation} in {keys:?}"));
        (k["state"].as_str().expect("state").to_owned(), k["published_until"].clone())
    };
    for alg in ["RS256", "EdDSA"] {
        assert_eq!(state_of(&rotated, alg, 2).0, "signing");
        let (state, until) = state_of(&rotated, alg, 1);
        assert_eq!(state, "published", "the old key stays for the overlap");
        assert!(until.as_str().is_some_and(|t| !t.is_empty()), "{until}");
    }
    // The running server picks the new keys up (it reloads the table within 5 minutes) and
    // publishes the old ones beside them.
    app.clock.advance(Duration::minutes(6));
    let during = jwks(&app).await;
    assert_eq!(during.len(), 4, "{during:?}");
    assert!(before.iter().all(|k| during.contains(k)));
    // A second rotation right away retires nothing that signed less than the overlap ago.
    let twice = cli(&["oidc", "rotate-keys", "--json"]).await;
    assert_eq!(twice.len(), 6);
    assert_eq!(state_of(&twice, "EdDSA", 1).0, "published");
    app.stop().await;
}
