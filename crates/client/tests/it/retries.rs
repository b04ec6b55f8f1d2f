//! Which calls are repeated, and which never are once sent.

use crate::mock::{hang_up_after_reading, Mock, Script};
use kc_client::api::{ClientCredentials, CreateLinkTokenRequest, ErrorCode};
use kc_client::{Client, ClientError, ConnectClient, RetryPolicy};
use serde_json::json;
use std::time::Duration;

fn fast_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) }
}

fn connect(base: &str, retry: RetryPolicy) -> ConnectClient {
    Client::builder(base)
        .retry(retry)
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client")
        .with_credentials(ClientCredentials::new("client-1", "secret-1"))
}

fn unavailable() -> Script {
    Script::json(
        503,
        json!({"success": false, "error": "Service temporarily unavailable", "code": "SERVICE_UNAVAILABLE"}),
    )
}

#[tokio::test]
async fn a_503_is_retried_for_reads_and_never_for_state_changes() {
    let mock = Mock::start(|_| unavailable()).await;
    let kryptos = connect(&mock.base, fast_retries());

    let e = kryptos.exchange_public_token("public_abc").await.expect_err("503");
    assert!(matches!(e, ClientError::Api { status: 503, code: ErrorCode::ServiceUnavailable, .. }), "{e:?}");
    assert_eq!(mock.hits("/token/exchange"), 1, "an exchange is sent at most once");
    kryptos.create_link_token(CreateLinkTokenRequest::default()).await.expect_err("503");
    assert_eq!(mock.hits("/link-token"), 1, "link-token creation is not repeated");
    kryptos.revoke_grant("cgrant_x").await.expect_err("503");
    assert_eq!(mock.hits("/token/revoke"), 1, "revocation is not repeated");

    kryptos.list_grants(Default::default()).await.expect_err("503");
    assert_eq!(mock.hits("/token/grants"), 3, "a read is tried max_attempts times");
    kryptos.check_session(&kc_client::api::BearerToken::new("cat_x")).await.expect_err("503");
    assert_eq!(mock.hits("/link-token/check-session"), 3, "check-session only reads");
    kryptos.public_providers().await.expect_err("503");
    assert_eq!(mock.hits("/integrations/public/list"), 3);
}

#[tokio::test]
async fn a_retried_read_succeeds_when_the_server_recovers() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    let mock = Mock::start(move |_| {
        if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            unavailable()
        } else {
            Script::json(200, json!({"success": true, "data": {"grants": [], "count": 0}}))
        }
    })
    .await;
    let kryptos = connect(&mock.base, fast_retries());
    let page = kryptos.list_grants(Default::default()).await.expect("the second attempt succeeds");
    assert_eq!(page.count, 0);
    assert_eq!(mock.hits("/token/grants"), 2);
}

#[tokio::test]
async fn errors_that_are_answers_are_not_retried() {
    let mock = Mock::start(|_| {
        Script::json(401, json!({"success": false, "error": "Invalid client credentials", "code": "INVALID_CLIENT"}))
    })
    .await;
    let kryptos = connect(&mock.base, fast_retries());
    let e = kryptos.list_grants(Default::default()).await.expect_err("401");
    assert_eq!(e.code(), Some(ErrorCode::InvalidClient));
    assert_eq!(mock.hits("/token/grants"), 1, "a refusal is final");
}

#[tokio::test]
async fn a_connection_lost_after_sending_repeats_reads_only() {
    let (base, count) = hang_up_after_reading().await;
    let kryptos = connect(&base, fast_retries());
    let e = kryptos.exchange_public_token("public_abc").await.expect_err("no answer");
    assert!(matches!(e, ClientError::Transport(_)), "{e:?}");
    assert_eq!(*count.lock().expect("count"), 1, "the exchange reached the server once and is not repeated");
    kryptos.list_grants(Default::default()).await.expect_err("no answer");
    assert_eq!(*count.lock().expect("count"), 4, "the read was tried three times");
    let api: kc_client::api::ApiError = e.into();
    assert_eq!(api.code, ErrorCode::ServiceUnavailable);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_an_exchange() {
    // Reserve a port, then close it: connecting is refused until the server appears there.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = probe.local_addr().expect("addr");
    drop(probe);
    let base = format!("http://{addr}");
    let kryptos = connect(
        &base,
        RetryPolicy { max_attempts: 40, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(50) },
    );
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind the reserved port");
        let app = axum::Router::new().fallback(|| async {
            axum::Json(json!({"success": true, "data": {
                "access_token": "cat_x", "grant_id": "cgrant_x", "token_type": "Bearer",
                "expires_in": 473040000, "scope": "openid", "workspace_id": "w"
            }}))
        });
        let _ = axum::serve(listener, app).await;
    });
    let grant = kryptos.exchange_public_token("public_abc").await.expect("sent once the server is up");
    assert_eq!(grant.grant_id, "cgrant_x");
    server.abort();
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let mock = Mock::start(|_| Script { delay: Duration::from_secs(3), ..unavailable() }).await;
    let kryptos = Client::builder(&mock.base)
        .timeout(Duration::from_millis(150))
        .retry(fast_retries())
        .build()
        .expect("client")
        .with_credentials(ClientCredentials::new("client-1", "secret-1"));
    let started = std::time::Instant::now();
    let e = kryptos.exchange_public_token("public_abc").await.expect_err("timeout");
    assert!(matches!(e, ClientError::Timeout), "{e:?}");
    assert_eq!(mock.hits("/token/exchange"), 1, "a timed-out exchange is not repeated");
    let e = kryptos.list_grants(Default::default()).await.expect_err("timeout");
    assert!(matches!(e, ClientError::Timeout), "{e:?}");
    assert_eq!(mock.hits("/token/grants"), 3, "a timed-out read is repeated");
    assert!(started.elapsed() < Duration::from_secs(3), "bounded by the timeout, not the server");
}
