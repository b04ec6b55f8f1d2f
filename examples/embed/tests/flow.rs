//! The host app of this example, served as a host would serve it (`axum::serve` with
//! `ConnectInfo`), driven from outside over HTTP: Kryptos Connect answers under `/kryptos`
//! exactly as a standalone server does, beside the host's own routes.

use kc_client::api::{
    ClientCredentials, ConsentRequest, CreateIntegrationRequest, CreateLinkTokenRequest, HoldingsQuery,
    LinkTokenCredential, RequestMeta, WidgetApi,
};
use kc_client::{Client, ClientError, ConnectClient};
use std::net::SocketAddr;
use std::time::Duration;

struct Host {
    origin: String,
    kryptos: ConnectClient,
    credentials: (String, String),
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

async fn start_host() -> Host {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let (router, embedded) = kc_example_embed::host(&origin).expect("the host builds");
    let (id, secret) = kc_example_embed::sandbox_app(embedded.service(), "Embed test").await.expect("app");
    let running = embedded.start();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        running.stop().await;
    });
    let kryptos = Client::new(format!("{origin}/kryptos"))
        .expect("client")
        .with_credentials(ClientCredentials::new(id.clone(), secret.clone()));
    Host { origin, kryptos, credentials: (id, secret), stop, served }
}

impl Host {
    async fn finish(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.served).await.expect("drains").expect("joins");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_runs_under_the_prefix_beside_the_hosts_routes() {
    let host = start_host().await;
    let http = reqwest::Client::new();
    let home = http.get(format!("{}/", host.origin)).send().await.expect("home");
    assert!(home.text().await.expect("body").contains("host application"), "the host keeps its own routes");

    let link = host.kryptos.create_link_token(CreateLinkTokenRequest::default()).await.expect("link token");
    let (widget, meta) = (host.kryptos.client(), RequestMeta::default());
    let lt = LinkTokenCredential::new(&link.link_token);
    widget.auth_anonymous(&lt, &meta).await.expect("guest");
    widget.consent(&lt, &meta, ConsentRequest { approve: true }).await.expect("consent");
    let wallet = CreateIntegrationRequest {
        provider: "ethereum".to_owned(),
        address: Some("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa".to_owned()), // the sandbox test address
        ..Default::default()
    };
    widget.create_integration(&lt, &meta, wallet).await.expect("sandbox wallet");
    let public = widget.complete(&lt, &meta).await.expect("complete").public_token.expect("a new user");
    let grant = host.kryptos.exchange_public_token(&public).await.expect("exchange");
    let again = host.kryptos.exchange_public_token(&public).await.expect_err("a public token works once");
    assert!(matches!(again, ClientError::Api { status: 400, .. }), "{again:?}");

    let info = host.kryptos.userinfo(&grant.access_token).await.expect("userinfo");
    assert!(!info.user_info.sub.is_empty(), "{info:?}");
    // The sync worker the host started reads the sandbox wallet's balances.
    let mut holdings = Vec::new();
    for _ in 0..100 {
        holdings =
            host.kryptos.holdings(&grant.access_token, HoldingsQuery::default()).await.expect("holdings").holdings;
        if !holdings.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(holdings.iter().any(|h| h.asset.symbol == "ETH"), "the worker synced the sandbox wallet: {holdings:?}");

    host.kryptos.revoke_grant(&grant.grant_id).await.expect("revoke");
    let dead = host.kryptos.userinfo(&grant.access_token).await.expect_err("revocation is immediate");
    assert!(matches!(dead, ClientError::Api { status: 401, .. }), "{dead:?}");
    host.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_page_points_under_the_prefix() {
    let host = start_host().await;
    let page = reqwest::get(format!("{}/kryptos/connect", host.origin)).await.expect("widget page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/kryptos/"), "the widget page names its assets under the prefix");
    for attr in ["src=\"/assets", "href=\"/assets", "src=\"/widget", "href=\"/widget"] {
        assert!(!html.contains(attr), "no root-relative {attr} left: the host owns the root");
    }
    let asset = reqwest::get(format!("{}/kryptos/sdk/connect.js", host.origin)).await.expect("connect.js");
    assert_eq!(asset.status(), 200, "the Web SDK script is served under the prefix");
    host.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failed_auth_limiter_works_under_axum_serve() {
    let host = start_host().await;
    let (id, _) = &host.credentials;
    let wrong = Client::new(format!("{}/kryptos", host.origin))
        .expect("client")
        .with_credentials(ClientCredentials::new(id.clone(), "wrong-secret".to_owned()));
    let mut statuses = Vec::new();
    for _ in 0..40 {
        match wrong.create_link_token(CreateLinkTokenRequest::default()).await {
            Err(ClientError::Api { status, .. }) => statuses.push(status),
            other => panic!("a wrong secret is refused: {other:?}"),
        }
        if statuses.last() == Some(&429) {
            break;
        }
    }
    assert_eq!(statuses.first(), Some(&401), "first refusals are 401: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "the per-IP budget runs out under axum::serve: {statuses:?}");
    // The owner of the client id is never locked out by a stranger's failures.
    host.kryptos.create_link_token(CreateLinkTokenRequest::default()).await.expect("the correct secret still works");
    host.finish().await;
}
