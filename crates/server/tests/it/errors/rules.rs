//! Rules followed through on SQLite, each through its positive and negative sides.

use super::*;

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
