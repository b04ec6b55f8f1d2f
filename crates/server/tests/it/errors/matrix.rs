//! The core matrix: every malformed, foreign, expired or replayed request against every
//! endpoint, with the exact status and code each must get, on SQLite and PostgreSQL.

use super::*;

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
pub(super) struct Case {
    what: String,
    call: Call,
    status: u16,
    code: &'static str,
}

pub(super) fn case(what: impl Into<String>, call: Call, status: u16, code: &'static str) -> Case {
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
pub(super) async fn check_all(app: &TestApp, cases: &[Case]) {
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
