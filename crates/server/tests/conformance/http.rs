//! What only an HTTP client observes: statuses next to codes, rate limiting, redaction, the
//! served OpenAPI document and reference page — and regression cases for server bugs that
//! contract fuzzing found.

use crate::helpers::{fresh_database, spawn_app, spawn_app_on, Db, TestApp};
use kc_api::*;
use kc_client::{Client, ClientError, ConnectClient};
use reqwest::Method;
use serde_json::json;

async fn connect(app: &TestApp) -> ConnectClient {
    let c = app.client().await;
    Client::new(app.base.clone()).expect("client").with_credentials(ClientCredentials::new(c.id, c.secret))
}

#[track_caller]
fn expect_api(r: Result<impl std::fmt::Debug, ClientError>, status: u16, code: ErrorCode, what: &str) -> ClientError {
    let e = r.expect_err(what);
    assert!(
        matches!(&e, ClientError::Api { status: s, code: c, message } if *s == status && *c == code && !message.is_empty()),
        "{what}: expected {code} with HTTP {status}, got {e:?}"
    );
    e
}

/// A guest's public token from a headless widget run through the client's `WidgetApi`.
async fn public_token(kryptos: &ConnectClient, scopes: Option<&str>) -> String {
    let req = CreateLinkTokenRequest { scopes: scopes.map(str::to_owned), ..Default::default() };
    let link = kryptos.create_link_token(req).await.expect("link token");
    let l = LinkTokenCredential::new(link.link_token);
    let m = RequestMeta::default();
    let widget = kryptos.client();
    widget.auth_anonymous(&l, &m).await.expect("guest");
    widget.consent(&l, &m, ConsentRequest { approve: true }).await.expect("consent");
    widget.complete(&l, &m).await.expect("complete").public_token.expect("public token")
}

#[tokio::test]
async fn typed_errors_carry_the_status_and_the_code() {
    let app = spawn_app(Db::Sqlite).await;
    let kryptos = connect(&app).await;

    let public = public_token(&kryptos, None).await;
    let grant = kryptos.exchange_public_token(&public).await.expect("exchange");
    let again =
        expect_api(kryptos.exchange_public_token(&public).await, 400, ErrorCode::TokenAlreadyUsed, "second exchange");
    assert!(!again.is_unauthorized());
    expect_api(kryptos.exchange_public_token("public_nope").await, 400, ErrorCode::InvalidToken, "exchange: 400");

    let resume = CreateLinkTokenRequest { access_token: Some("cat_nope".into()), ..Default::default() };
    expect_api(kryptos.create_link_token(resume).await, 401, ErrorCode::InvalidToken, "resume: 401");
    let scope = CreateLinkTokenRequest { scopes: Some("bogus".into()), ..Default::default() };
    expect_api(kryptos.create_link_token(scope).await, 400, ErrorCode::InvalidScope, "scope");
    expect_api(kryptos.revoke_grant("cgrant_nope").await, 400, ErrorCode::InvalidGrant, "revoke unknown");

    let wrong = kryptos.client().with_credentials(ClientCredentials::new(kryptos.client_id(), "wrong"));
    let e = expect_api(wrong.list_grants(Default::default()).await, 401, ErrorCode::InvalidClient, "wrong secret");
    assert!(e.is_unauthorized());

    // The Data API's own error shape, mapped onto the same codes.
    let narrow = kryptos.exchange_public_token(&public_token(&kryptos, Some("openid")).await).await.expect("narrow");
    let e = expect_api(kryptos.userinfo(&narrow.access_token).await, 403, ErrorCode::InsufficientPermissions, "scope");
    assert!(e.to_string().contains("Insufficient scopes. Required scopes not met"), "{e}");
    kryptos.userinfo(&grant.access_token).await.expect("userinfo");
    kryptos.revoke_grant(&grant.grant_id).await.expect("revoke");
    let e = expect_api(kryptos.userinfo(&grant.access_token).await, 401, ErrorCode::InvalidToken, "revoked");
    assert!(e.is_unauthorized(), "the seed's revoked-grant signal: HTTP 401");
    let e = expect_api(
        kryptos.integrations(&narrow.access_token, IntegrationsQuery { page: Some(0), ..Default::default() }).await,
        403,
        ErrorCode::InsufficientPermissions,
        "scope is checked before parameters",
    );
    drop(e);
    app.stop().await;
}

#[tokio::test]
async fn repeated_failed_authentication_is_rate_limited() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| s.security.auth_failures_per_minute = 3).await;
    let kryptos = connect(&app).await;
    let wrong = kryptos.client().with_credentials(ClientCredentials::new(kryptos.client_id(), "wrong"));
    let mut last = None;
    for _ in 0..6 {
        let e = wrong.list_grants(Default::default()).await.expect_err("wrong secret");
        if e.code() == Some(ErrorCode::RateLimited) {
            last = Some(e);
            break;
        }
        assert_eq!(e.code(), Some(ErrorCode::InvalidClient), "{e:?}");
    }
    let e = last.expect("the caller is blocked after a few failures");
    assert_eq!(e.status(), Some(429), "{e:?}");
    app.stop().await;
}

#[tokio::test]
async fn no_secret_reaches_debug_output() {
    let app = spawn_app(Db::Sqlite).await;
    let kryptos = connect(&app).await;
    let public = public_token(&kryptos, None).await;
    let grant = kryptos.exchange_public_token(&public).await.expect("exchange");
    let secret_id = app.client().await;
    let bound =
        kryptos.client().with_credentials(ClientCredentials::new(secret_id.id.clone(), secret_id.secret.clone()));
    let err = kryptos.exchange_public_token(&public).await.expect_err("used");
    let all = format!("{kryptos:?} {bound:?} {grant:?} {err:?} {:?}", kryptos.client());
    for secret in [grant.access_token.expose(), secret_id.secret.as_str(), public.as_str()] {
        assert!(!all.contains(secret), "a secret in Debug output: {all}");
    }
    assert!(all.contains(&grant.grant_id), "the grant id is not a secret: {all}");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_and_the_reference_page_are_served() {
    let app = spawn_app(Db::Sqlite).await;
    let node = app.node();
    let doc = node.send(Method::GET, "/openapi.json", None, None, None).await;
    assert_eq!(doc.status, 200);
    let served: serde_json::Value = doc.body.clone();
    let committed: serde_json::Value =
        serde_json::from_str(&kc_http::openapi::committed_json()).expect("the document is JSON");
    assert_eq!(served, committed, "GET /openapi.json is the generated document");
    assert_eq!(served["openapi"], json!("3.1.0"));

    let page = app.http.get(format!("{}/docs", app.base)).send().await.expect("docs");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("http"), "no third-party script: {csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains("/docs/docs.js") && html.contains("/docs/docs.css"), "{html}");
    assert!(!html.contains("cdn") && !html.contains("https://"), "assets are embedded, not fetched from a CDN");
    for (path, kind) in [("/docs/docs.js", "javascript"), ("/docs/docs.css", "css")] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.expect("asset");
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap_or("").contains(kind), "{path}");
        let body = r.text().await.expect("body");
        assert!(!body.contains("https://"), "{path} loads nothing from elsewhere");
    }
    app.stop().await;
}

/// A TCP server that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    base
}

/// Regression (found while documenting the Data API's error answers): a request that times
/// out in the middleware is answered with the Connect envelope on every route, but SPEC §5
/// gives the Data API its own error shape, `{"error", "message", "details"}`.
#[tokio::test]
async fn a_data_api_request_that_times_out_keeps_the_data_api_error_shape() {
    let prices = black_hole().await;
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.server.request_timeout_secs = 1;
        s.sync.poll_interval_ms = 20;
        s.prices.source = "coingecko".to_owned();
        s.prices.base_url = prices;
        s.prices.timeout_secs = 30;
    })
    .await;
    let c = app.client().await;
    let kryptos =
        Client::new(app.base.clone()).expect("client").with_credentials(ClientCredentials::new(&c.id, &c.secret));
    let link = kryptos.create_link_token(Default::default()).await.expect("link token");
    let (l, m) = (LinkTokenCredential::new(link.link_token), RequestMeta::default());
    let widget = kryptos.client();
    widget.auth_anonymous(&l, &m).await.expect("guest");
    let wallet = CreateIntegrationRequest {
        provider: "ethereum".to_owned(),
        address: Some("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa".to_owned()),
        ..Default::default()
    };
    widget.create_integration(&l, &m, wallet).await.expect("wallet");
    widget.consent(&l, &m, ConsentRequest { approve: true }).await.expect("consent");
    let public = widget.complete(&l, &m).await.expect("complete").public_token.expect("public");
    let grant = kryptos.exchange_public_token(&public).await.expect("exchange");
    // Wait for the sandbox balances, so that holdings asks the (hanging) price source.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = kryptos.integrations(&grant.access_token, Default::default()).await.expect("integrations");
        if page.data.iter().all(|i| i.status == "COMPLETED") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the wallet synced: {page:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = app
        .http
        .get(format!("{}/api/v1/holdings", app.base))
        .bearer_auth(grant.access_token.expose())
        .header("X-Client-Id", &c.id)
        .header("X-Client-Secret", &c.secret)
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status().as_u16(), 503, "the request timed out");
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(body["error"], json!("service_unavailable"), "the Data API error shape: {body}");
    assert!(body["message"].is_string() && body["details"] == json!([]), "the Data API error shape: {body}");
    app.stop().await;
}
