//! Kryptos Connect embedded in a host app: the service built with `build_service` on a fresh
//! SQLite file, its router (`kc_http::router`) nested under `/kryptos` in a host `Router` that
//! has routes of its own, served by plain `axum::serve` with
//! `into_make_service_with_connect_info::<SocketAddr>()` — no `kc_http::serve`, no
//! `Application`. Everything is spoken to over HTTP through the prefix:
//!
//! - the whole Connect flow: link token, the widget API (guest, consent, sandbox wallet,
//!   complete), exchange, the Data API (userinfo, holdings after a real sync), revoke;
//! - every page (widget, docs, console) and asset reference, redirect and cookie path under
//!   `/kryptos`; OIDC discovery, provider logos and `connect.js` under it too;
//! - the per-IP failed-authentication limiter keyed on the TCP peer `axum::serve` reports.

use crate::helpers::*;
use crate::host_support::*;
use axum::Router;
use reqwest::Method;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The sandbox Ethereum test address (SPEC §6).
const SANDBOX_ETH: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";

#[track_caller]
fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("a string `{key}` in {v}")).to_owned()
}

/// `GET url` with a bearer token and the client headers: status and JSON.
async fn data_get(node: &Node, path: &str, token: &str, c: &Creds) -> (u16, Value) {
    let res = node
        .http
        .get(format!("{}{path}", node.base))
        .bearer_auth(token)
        .header("X-Client-Id", &c.id)
        .header("X-Client-Secret", &c.secret)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The root-relative values of the URL attributes (`href`, `src`, `action`) of a page.
fn root_relative_urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [" href=\"", " src=\"", " action=\""] {
        for (i, _) in html.match_indices(attr) {
            let value = &html[i + attr.len()..];
            let value = &value[..value.find('"').expect("a closed attribute")];
            if value.starts_with('/') {
                out.push(value.to_owned());
            }
        }
    }
    out
}

/// Asserts every root-relative URL of `html` is under the prefix; returns them.
#[track_caller]
fn assert_page_urls_under_prefix(html: &str, what: &str) -> Vec<String> {
    let urls = root_relative_urls(html);
    assert!(!urls.is_empty(), "{what} references URLs of ours: {html}");
    for u in &urls {
        assert!(u.starts_with(&format!("{PREFIX}/")), "{what} references {u}, outside {PREFIX}/");
    }
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_works_through_a_router_nested_under_a_prefix() {
    let host = start_host(|_| {}, Router::new()).await;
    let creds = host_client(&host).await;
    let kc = &host.kc;

    // The host's own routes stay its own.
    let home = kc.http.get(host.url("/")).send().await.expect("GET /");
    assert_eq!(home.status(), 200);
    assert_eq!(home.text().await.expect("body"), HOST_HOME);
    let health = kc.http.get(host.kc_url("/api/health")).send().await.expect("health");
    assert_eq!(health.status(), 200, "the service answers under the prefix");
    let outside = kc.http.get(host.url("/link-token")).send().await.expect("outside");
    assert_eq!(outside.status(), 404, "and not outside it");

    // Link token → guest → consent → sandbox wallet → complete, all through /kryptos.
    let link = kc.link_token(&creds).await;
    let session = kc.send(Method::GET, "/widget/session", None, Some(&link), None).await;
    assert_eq!(session.data()["client"]["mode"], json!("sandbox"));
    let guest = kc.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await;
    let user_id = str_of(guest.data(), "user_id");
    kc.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let providers = kc.send(Method::GET, "/widget/providers", None, Some(&link), None).await;
    let list = providers.data()["providers"].as_array().unwrap_or_else(|| panic!("providers: {}", providers.body));
    let eth = list.iter().find(|p| p["id"] == json!("ethereum")).unwrap_or_else(|| panic!("ethereum: {list:?}"));
    let logo = eth["logo"].as_str().unwrap_or_else(|| panic!("a logo URL: {eth}")).to_owned();
    assert_eq!(logo, host.kc_url("/logos/ethereum.svg"), "logos are served under the prefix");
    let svg = kc.http.get(&logo).send().await.expect("GET logo");
    assert_eq!(svg.status(), 200, "{logo}");
    let added = kc
        .send(
            Method::POST,
            "/widget/integrations",
            None,
            Some(&link),
            Some(json!({ "provider": "ethereum", "address": SANDBOX_ETH })),
        )
        .await;
    let wallet_id = str_of(added.data(), "walletId");
    let done = kc.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = str_of(done.data(), "public_token");

    // Exchange, then the Data API with the access token.
    let exchanged = kc.exchange(&creds, &public).await;
    let (token, grant) = (str_of(exchanged.data(), "access_token"), str_of(exchanged.data(), "grant_id"));
    assert_eq!(kc.grant_ids(&creds).await, vec![grant.clone()]);
    let (status, info) = data_get(kc, "/api/v1/userinfo", &token, &creds).await;
    assert_eq!(status, 200, "userinfo: {info}");
    assert_eq!(info["userInfo"]["sub"], json!(user_id), "{info}");

    // The sync worker the host runs settles the sandbox wallet: 1.5 ETH at the sandbox 3000 USD.
    let until = Instant::now() + Duration::from_secs(20);
    let eth = loop {
        let (status, body) = data_get(kc, "/api/v1/holdings", &token, &creds).await;
        assert_eq!(status, 200, "holdings: {body}");
        let found = body["holdings"].as_array().and_then(|h| h.iter().find(|x| x["asset"]["tokenId"] == "ethereum"));
        if let Some(h) = found {
            break h.clone();
        }
        assert!(Instant::now() < until, "the sandbox wallet's holdings did not arrive: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((&eth["totalQuantity"], &eth["marketValue"]), (&json!(1.5), &json!(4500)), "{eth}");
    let (status, integrations) = data_get(kc, "/api/v1/integrations", &token, &creds).await;
    assert_eq!(status, 200, "integrations: {integrations}");
    assert!(integrations.to_string().contains(&wallet_id), "the connected wallet is listed: {integrations}");

    // Revoke: the grant and its token are dead.
    let revoked = kc.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
    assert_eq!(revoked.status, 200, "revoke: {}", revoked.body);
    let (status, body) = data_get(kc, "/api/v1/userinfo", &token, &creds).await;
    assert_eq!(status, 401, "a revoked token is refused: {body}");
    let check = kc.check_session(&creds, &token).await;
    assert_eq!(check.data()["has_valid_session"], json!(false), "{}", check.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_asset_redirect_and_url_stays_under_the_prefix() {
    let host = start_host(|_| {}, Router::new()).await;
    let creds = host_client(&host).await;
    let http = &host.kc.http;

    // The widget page: its stylesheet and script under /kryptos, the base path for its fetches.
    let res = http.get(host.kc_url(&format!("/connect?client_id={}", creds.id))).send().await.expect("widget");
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().expect("CSP").to_owned();
    assert!(csp.contains(&format!("frame-ancestors 'self' {}", host.origin)), "the host may frame it: {csp}");
    let html = res.text().await.expect("widget html");
    assert!(html.contains(&format!("<meta name=\"kc-base\" content=\"{PREFIX}\">")), "{html}");
    let urls = assert_page_urls_under_prefix(&html, "the widget page");
    for want in ["/kryptos/connect/widget.css", "/kryptos/connect/widget.js"] {
        assert!(urls.iter().any(|u| u == want), "{want} in {urls:?}");
    }
    for u in &urls {
        let a = http.get(host.url(u)).send().await.expect("asset");
        assert_eq!(a.status(), 200, "{u}");
    }
    let sdk = http.get(host.kc_url("/sdk/connect.js")).send().await.expect("connect.js");
    assert_eq!(sdk.status(), 200);
    assert!(sdk.text().await.expect("js").contains("baseFromScriptUrl"), "connect.js finds its prefix");

    // The API reference.
    let docs = http.get(host.kc_url("/docs")).send().await.expect("docs").text().await.expect("html");
    assert!(docs.contains(&format!("<meta name=\"kc-base\" content=\"{PREFIX}\">")), "{docs}");
    let urls = assert_page_urls_under_prefix(&docs, "the docs page");
    assert!(urls.iter().any(|u| u == "/kryptos/openapi.json"), "{urls:?}");
    for u in &urls {
        assert_eq!(http.get(host.url(u)).send().await.expect("docs asset").status(), 200, "{u}");
    }

    // The console: redirects, forms and stylesheet under the prefix.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let res = no_redirects.get(host.kc_url("/console")).send().await.expect("console");
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/kryptos/console/sign-in");
    let sign_in = no_redirects.get(host.kc_url("/console/sign-in")).send().await.expect("sign-in");
    assert_eq!(sign_in.status(), 200);
    let html = sign_in.text().await.expect("html");
    let urls = assert_page_urls_under_prefix(&html, "the console sign-in page");
    for want in ["/kryptos/console/console.css", "/kryptos/console/sign-in"] {
        assert!(urls.iter().any(|u| u == want), "{want} in {urls:?}");
    }
    let posted = no_redirects
        .post(host.kc_url("/console/sign-in"))
        .form(&[("email", "dev@example.com")])
        .send()
        .await
        .expect("sign-in post");
    assert!(posted.status().is_success(), "the sign-in form posts under the prefix: {}", posted.status());
    let html = posted.text().await.expect("html");
    let urls = assert_page_urls_under_prefix(&html, "the console code page");
    assert!(urls.iter().any(|u| u == "/kryptos/console/sign-in/verify"), "{urls:?}");

    // OIDC: the issuer and every endpoint under the prefix, and they answer there.
    let d: Value = http
        .get(host.kc_url("/oidc/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    assert_eq!(d["issuer"], json!(host.kc_url("/oidc")), "{d}");
    for key in ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"] {
        let u = d[key].as_str().unwrap_or_else(|| panic!("{key} in {d}"));
        assert!(u.starts_with(&host.kc_url("/oidc/")), "{key} = {u}");
    }
    let jwks = http.get(d["jwks_uri"].as_str().expect("jwks_uri")).send().await.expect("jwks");
    assert_eq!(jwks.status(), 200);

    // Unknown paths under the prefix get the service's own 404 envelope.
    let missing = host.kc.send(Method::GET, "/no/such/thing", None, None, None).await;
    missing.assert_error(404, "INVALID_REQUEST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_limiter_keys_on_the_peer_axum_serve_reports() {
    let host = start_host(
        |s| {
            // Bursts of 2 failures per IP (a quarter of 8 per minute), no delay.
            s.security.auth_failures_per_minute = 8;
            s.security.ip_auth_failures_per_minute = 8;
            s.security.auth_failure_max_delay_ms = 0;
        },
        Router::new(),
    )
    .await;
    let creds = host_client(&host).await;
    let wrong = Creds { id: creds.id.clone(), secret: "wrong-secret".to_owned() };
    let from = |ip: [u8; 4]| {
        let http = reqwest::Client::builder()
            .local_address(IpAddr::from(ip))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Node { base: host.kc.base.clone(), http }
    };
    let a = from([127, 0, 0, 1]);
    let b = from([127, 0, 0, 2]);

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(a.post("/link-token", &wrong, json!({})).await.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429], "127.0.0.1 is limited after its failure budget");
    let limited = a.post("/link-token", &wrong, json!({})).await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.headers.contains_key("retry-after"), "with Retry-After");

    // Another peer address has its own budget: the limiter sees the real peer, not one
    // shared "unknown" bucket.
    let other = b.post("/link-token", &wrong, json!({})).await;
    assert_eq!(other.status.as_u16(), 401, "127.0.0.2 is not limited by 127.0.0.1's failures: {}", other.body);
    // A correct secret is never refused, even from the limited address.
    let ok = a.post("/link-token", &creds, json!({})).await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_and_works_under_the_prefix_with_its_cookie_scoped_there() {
    let sink = crate::smtp::SmtpSink::start().await;
    let port = sink.port;
    let host = start_host(
        move |s| {
            s.mail.transport = "smtp".into();
            s.mail.smtp_host = "127.0.0.1".into();
            s.mail.smtp_port = port;
            s.mail.smtp_security = "none".into();
        },
        Router::new(),
    )
    .await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let email = "dev@example.com";

    let start = browser.post(host.kc_url("/console/sign-in")).form(&[("email", email)]).send().await.expect("start");
    assert_eq!(start.status(), 200);
    let html = start.text().await.expect("html");
    assert!(html.contains(&format!("action=\"{PREFIX}/console/sign-in/verify\"")), "{html}");
    let until = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(m) = sink.mails().into_iter().find(|m| m.to.iter().any(|t| t.contains(email))) {
            break m.header("Subject").expect("subject").split_whitespace().next().expect("code").to_owned();
        }
        assert!(Instant::now() < until, "a code mail to {email}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ok = browser
        .post(host.kc_url("/console/sign-in/verify"))
        .form(&[("email", email), ("code", code.as_str())])
        .send()
        .await
        .expect("verify");
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/kryptos/console", "back to the console, under the prefix");
    let cookie = ok.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(cookie.starts_with("kc_console=kccs_"), "{cookie}");
    assert!(cookie.split("; ").any(|a| a == "Path=/kryptos"), "the session is scoped to the prefix: {cookie}");
    let session = cookie.split(';').next().expect("pair").to_owned();

    // Signed in: the overview's links and forms, and the admin API with the same cookie.
    let home = browser.get(host.kc_url("/console")).header("Cookie", &session).send().await.expect("home");
    assert_eq!(home.status(), 200);
    let html = home.text().await.expect("html");
    let urls = assert_page_urls_under_prefix(&html, "the console overview");
    for want in ["/kryptos/console/orgs", "/kryptos/console/sign-out", "/kryptos/console/audit"] {
        assert!(urls.iter().any(|u| u == want), "{want} in {urls:?}");
    }
    let csrf = html.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("a CSRF field");
    let created = browser
        .post(host.kc_url("/console/orgs"))
        .header("Cookie", &session)
        .form(&[("_csrf", csrf), ("name", "Host org")])
        .send()
        .await
        .expect("create org");
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/kryptos/console");
    let me: Value = browser
        .get(host.kc_url("/admin/api/me"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("JSON");
    assert!(me.to_string().contains("Host org"), "the admin API sees the same session: {me}");

    // Signing out clears the cookie on the same path.
    let out = browser
        .post(host.kc_url("/console/sign-out"))
        .header("Cookie", &session)
        .form(&[("_csrf", csrf)])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/kryptos/console/sign-in");
    let cleared = out.headers()["set-cookie"].to_str().expect("cookie");
    assert!(cleared.contains("Max-Age=0") && cleared.split("; ").any(|a| a == "Path=/kryptos"), "{cleared}");
}
