//! Operating behind proxies (issue 12): the client IP comes from `X-Forwarded-For` /
//! `Forwarded` only when the TCP peer is a trusted proxy; request ids from callers are
//! accepted only when short and plain; HSTS is sent for an `https` public URL only.

use crate::errors::{assert_envelope, ok_data, Call};
use crate::helpers::*;
use kc_service::NewClient;
use serde_json::json;
use std::net::IpAddr;

/// An HTTP client whose connections come from `ip`.
fn http_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().expect("client with a source address")
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

fn wrong_secret(creds: &Creds) -> Call {
    Call::post("/link-token").header("X-Client-Id", &creds.id).header("X-Client-Secret", "kcs_wrong").json(json!({}))
}

/// The IP the audit trail recorded for the client's most recent event.
async fn last_audited_ip(app: &TestApp, creds: &Creds) -> Option<String> {
    let events = app.service.audit_events(Some(creds.id.clone()), None, 1000).await.expect("audit events");
    events.last().and_then(|e| e.ip.clone())
}

/// A server trusting the proxy at 127.0.0.5, with a failure budget of one at a time.
async fn behind_proxy(header: &'static str) -> TestApp {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    spawn_app_on(&url, &dir, move |s| {
        s.server.trusted_proxies = vec!["127.0.0.5/32".into(), "10.0.0.0/8".into()];
        s.server.forwarded_header = header.into();
        s.security.auth_failures_per_minute = 3;
        s.security.ip_auth_failures_per_minute = 3;
        s.security.auth_failure_max_delay_ms = 10;
    })
    .await
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let app = behind_proxy("x-forwarded-for").await;
    let creds = app.client().await;
    let proxy = http_from([127, 0, 0, 5]);
    let stranger = http_from([127, 0, 0, 6]);

    // Through the proxy: the client is the rightmost hop the proxy did not write itself.
    let ok = Call::post("/link-token").creds(&creds).json(json!({})).header("X-Forwarded-For", "203.0.113.7, 10.1.2.3");
    ok_data(&ok.send_with(&proxy, &app.base).await, "a call through the trusted proxy");
    assert_eq!(last_audited_ip(&app, &creds).await.as_deref(), Some("203.0.113.7"), "the client behind the proxy");

    // From an untrusted peer the header is ignored: the peer is the client.
    let spoofed = Call::post("/link-token").creds(&creds).json(json!({})).header("X-Forwarded-For", "198.51.100.1");
    ok_data(&spoofed.send_with(&stranger, &app.base).await, "a call from an untrusted peer");
    assert_eq!(last_audited_ip(&app, &creds).await.as_deref(), Some("127.0.0.6"), "a spoofed header is ignored");

    // A stranger cannot escape its budget by inventing a new X-Forwarded-For every time.
    let first = wrong_secret(&creds).header("X-Forwarded-For", "198.51.100.10").send_with(&stranger, &app.base).await;
    assert_envelope(&first, 401, "INVALID_CLIENT", "the stranger's first failure");
    let second = wrong_secret(&creds).header("X-Forwarded-For", "198.51.100.11").send_with(&stranger, &app.base).await;
    assert_envelope(&second, 429, "RATE_LIMITED", "a spoofed new address does not reset the stranger's budget");

    // Behind the proxy, each client has its own budget, and a spoofed prefix changes nothing.
    let via = |xff: &str| wrong_secret(&creds).header("X-Forwarded-For", xff.to_owned());
    assert_envelope(&via("203.0.113.20").send_with(&proxy, &app.base).await, 401, "INVALID_CLIENT", "client A fails");
    assert_envelope(&via("203.0.113.20").send_with(&proxy, &app.base).await, 429, "RATE_LIMITED", "client A again");
    assert_envelope(
        &via("6.6.6.6, 203.0.113.20").send_with(&proxy, &app.base).await,
        429,
        "RATE_LIMITED",
        "client A claiming another address in front of its own",
    );
    assert_envelope(
        &via("203.0.113.21").send_with(&proxy, &app.base).await,
        401,
        "INVALID_CLIENT",
        "client B behind the same proxy has its own budget",
    );
    app.stop().await;
}

#[tokio::test]
async fn the_forwarded_header_is_read_when_configured_and_x_forwarded_for_then_ignored() {
    let app = behind_proxy("forwarded").await;
    let creds = app.client().await;
    let proxy = http_from([127, 0, 0, 5]);
    let call = Call::post("/link-token")
        .creds(&creds)
        .json(json!({}))
        .header("Forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.0.0.9"#)
        .header("X-Forwarded-For", "198.51.100.99");
    ok_data(&call.send_with(&proxy, &app.base).await, "a call through the proxy");
    assert_eq!(last_audited_ip(&app, &creds).await.as_deref(), Some("2001:db8::7"), "the rightmost untrusted `for=`");
    app.stop().await;
}

#[tokio::test]
async fn only_short_plain_request_ids_are_echoed_and_logged() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let creds = cli_create_client(&url, "Request ids").await;
    let server = ServerProcess::start_with(&url, &[("KRYPTOS__LOG__FILTER", "info")]).await;
    let node = &server.node;
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let send = |id: String| {
        let node = node.clone();
        let creds = creds.clone();
        async move {
            let res = node
                .http
                .post(format!("{}/link-token", node.base))
                .header("X-Client-Id", &creds.id)
                .header("X-Client-Secret", &creds.secret)
                .header("X-Request-Id", id)
                .json(&json!({}))
                .send()
                .await
                .expect("reaches the server");
            let status = res.status();
            let id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            (status, id)
        }
    };

    let good = format!("ok-{marker}.1:A_b");
    let (status, echoed) = send(good.clone()).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(echoed, good, "a plain id is echoed");
    let longest = format!("{marker}{}", "x".repeat(128 - marker.len()));
    assert_eq!(send(longest.clone()).await.1, longest, "128 characters are accepted");

    let rejected = [
        format!("{marker}{}", "y".repeat(129 - marker.len())),
        format!("bad-{marker} status=200 user=admin"),
        format!("bad-{marker}\"quoted\""),
        format!("bad-{marker}/slash"),
    ];
    for bad in &rejected {
        let (status, echoed) = send(bad.clone()).await;
        assert!(status.is_success(), "{status}");
        assert_ne!(&echoed, bad, "an unsafe id is replaced");
        assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "by a generated one: {echoed}");
    }
    // The log shows the accepted id and never the rejected ones.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !server.log_tail().contains(&good) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = server.log_tail();
    assert!(log.contains(&good), "the accepted id is logged with its request:\n{log}");
    for bad in &rejected {
        assert!(!log.contains(bad.as_str()), "a rejected id never reaches the log: {bad}");
    }
    assert!(!log.contains(&format!("bad-{marker}")), "no part of a rejected id is logged");
}

#[tokio::test]
async fn hsts_is_sent_only_for_an_https_public_url() {
    let cases: [(&str, u64, Option<&str>); 4] = [
        ("https://connect.example.com", 31_536_000, Some("max-age=31536000")),
        ("https://connect.example.com", 600, Some("max-age=600")),
        ("https://connect.example.com", 0, None),
        ("http://127.0.0.1:8080", 31_536_000, None),
    ];
    for (public_url, max_age, expected) in cases {
        let (url, dir) = fresh_database(Db::Sqlite).await;
        let app = spawn_app_on(&url, &dir, |s| {
            s.server.public_url = public_url.into();
            s.server.hsts_max_age_secs = max_age;
        })
        .await;
        let creds = app.client_with(NewClient::sandbox("HSTS")).await;
        for (what, call) in [
            ("health", Call::get("/api/health")),
            ("an error", Call::get("/no/such/route")),
            ("a Connect call", Call::post("/link-token").creds(&creds).json(json!({}))),
        ] {
            let answer = call.send(&app).await;
            assert_eq!(
                header(&answer, "strict-transport-security"),
                expected,
                "{what} with public_url {public_url} and max-age {max_age}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn the_per_ip_budget_works_under_a_hosts_own_axum_serve() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let options = kc_http::HttpOptions {
        auth_failures_per_minute: 3,
        ip_auth_failures_per_minute: 3,
        auth_failure_max_delay: std::time::Duration::ZERO,
        ..kc_http::HttpOptions::default()
    };
    let state = kc_http::AppState::new(std::sync::Arc::new(app.service.clone()), options);
    let router = kc_http::router(state, axum::Router::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
    let served = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });

    let first = http_from([127, 0, 0, 7]);
    assert_envelope(&wrong_secret(&creds).send_with(&first, &base).await, 401, "INVALID_CLIENT", "a first failure");
    assert_envelope(&wrong_secret(&creds).send_with(&first, &base).await, 429, "RATE_LIMITED", "the same IP again");
    let other = http_from([127, 0, 0, 8]);
    assert_envelope(
        &wrong_secret(&creds).send_with(&other, &base).await,
        401,
        "INVALID_CLIENT",
        "another IP: own budget",
    );
    let own = Call::post("/link-token").creds(&creds).json(json!({})).send_with(&first, &base).await;
    ok_data(&own, "the correct secret from the limited IP");
    served.abort();
    app.stop().await;
}
