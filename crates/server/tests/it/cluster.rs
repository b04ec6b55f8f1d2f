//! Two real nodes behind nginx on one PostgreSQL — the topology of `deploy/compose.yaml`,
//! started by the same code as `cargo xtask cluster` (`tests/support/cluster.rs`) — driven
//! through the proxy only: readiness, exactly-once exchange under concurrent requests that
//! nginx spreads over both nodes, revocation seen at once whichever node answers, and the
//! failed-authentication limiter keyed on the client address nginx forwards.

use crate::cluster_support::{repository_root, Cluster, ClusterSpec};
use crate::helpers::*;
use crate::limiter::node_from;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Barrier;

/// Concurrent exchanges of one public token through the proxy.
const RACERS: usize = 40;
/// Public tokens raced.
const ROUNDS: usize = 3;

/// Starts the cluster on a fresh PostgreSQL database with the test pepper (blocking work on a
/// blocking thread).
async fn start_cluster(database_url: &str) -> Cluster {
    let root = repository_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).expect("the repository root");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_kryptos-connect").into(),
        database_url: database_url.to_owned(),
        work_dir: std::env::temp_dir().join(format!("kc-cluster-{}", uuid::Uuid::new_v4().simple())),
        proxy_port: 0,
        template: root.join("deploy/nginx/kryptos-connect.conf.template"),
        env: vec![
            ("KRYPTOS__SECURITY__PEPPER".into(), TEST_PEPPER.into()),
            ("KRYPTOS__LOG__FILTER".into(), "warn".into()),
        ],
    };
    tokio::task::spawn_blocking(move || Cluster::start(&spec))
        .await
        .expect("start task")
        .unwrap_or_else(|e| panic!("the cluster starts (nginx must be installed: cargo xtask ci installs it): {e}"))
}

/// `kc_http_requests_total` for `route` on one node's metrics listener, summed over statuses.
async fn served(metrics_url: &str, route: &str) -> f64 {
    let text = reqwest::get(metrics_url).await.expect("metrics").text().await.expect("body");
    text.lines()
        .filter(|l| l.starts_with("kc_http_requests_total{") && l.contains(&format!("route=\"{route}\"")))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_behind_nginx_exchange_exactly_once_and_see_revocations_at_once() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let creds = cli_create_client(&url, "Cluster app").await;
    let cluster = start_cluster(&url).await;
    let proxy = Node::new(&cluster.url);

    // Readiness through the proxy, and the proxy hides /metrics.
    proxy.send(reqwest::Method::GET, "/readyz", None, None, None).await.data();
    let hidden = proxy.send(reqwest::Method::GET, "/metrics", None, None, None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "metrics are not served through the proxy");

    // Exactly-once exchange, racers spread over both nodes by nginx.
    let before: Vec<f64> =
        futures::future::join_all(cluster.nodes.iter().map(|n| served(&n.metrics, "/token/exchange"))).await;
    for round in 0..ROUNDS {
        let public = proxy.public_token(&creds).await;
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let (barrier, base, creds, public) =
                    (barrier.clone(), cluster.url.clone(), creds.clone(), public.clone());
                tokio::spawn(async move {
                    let node = Node::new(&base);
                    node.send(reqwest::Method::GET, "/api/health", None, None, None).await;
                    barrier.wait().await;
                    node.exchange(&creds, &public).await
                })
            })
            .collect();
        let answers: Vec<Answer> =
            futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("racer")).collect();
        let winners = answers.iter().filter(|a| a.status == StatusCode::OK).count();
        assert_eq!(
            winners,
            1,
            "round {round}: exactly one exchange wins: {:?}",
            answers.iter().map(|a| (a.status, a.code().to_owned())).collect::<Vec<_>>()
        );
        for a in answers.iter().filter(|a| a.status != StatusCode::OK) {
            a.assert_error(400, "TOKEN_ALREADY_USED");
        }
    }
    let after: Vec<f64> =
        futures::future::join_all(cluster.nodes.iter().map(|n| served(&n.metrics, "/token/exchange"))).await;
    let per_node: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        per_node.iter().sum::<f64>(),
        (RACERS * ROUNDS) as f64,
        "every exchange reached a node once: {per_node:?}"
    );
    assert!(per_node.iter().all(|n| *n > 0.0), "nginx spread the exchanges over both nodes: {per_node:?}");
    assert_eq!(proxy.grant_ids(&creds).await.len(), ROUNDS, "one grant per raced public token");

    // Revocation on one node is seen at once through the proxy, whichever node answers.
    let direct_a = Node::new(&cluster.nodes[0].base);
    for attempt in 0..3 {
        let (access, grant) = proxy.access_token(&creds).await;
        let revoked = direct_a.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
        assert_eq!(revoked.status, StatusCode::OK, "attempt {attempt}: {}", revoked.body);
        for i in 0..6 {
            let check = proxy.check_session(&creds, &access).await;
            let d = check.data();
            assert_eq!(d["has_valid_session"], json!(false), "attempt {attempt}, check {i}: {d}");
            assert_eq!(d["reason"], json!("token_revoked"), "attempt {attempt}, check {i}: {d}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_nginx_a_flood_from_one_address_is_limited_by_that_address_and_never_refuses_the_owner() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let creds = cli_create_client(&url, "Cluster app").await;
    let cluster = start_cluster(&url).await;
    let proxy = Node::new(&cluster.url);
    // Both nodes trust nginx (127.0.0.1) and take the client address from X-Forwarded-For.
    let attacker = node_from(&proxy, [127, 0, 0, 2]);
    let owner = node_from(&proxy, [127, 0, 0, 3]);
    let neighbour = node_from(&proxy, [127, 0, 0, 4]);
    let (access, _) = owner.access_token(&creds).await;
    let wrong = Creds { id: creds.id.clone(), secret: "kcs_wrong".to_owned() };

    let (mut unauthorized, mut limited) = (0, 0);
    let started = std::time::Instant::now();
    for attempt in 0..40 {
        let a = attacker.post("/link-token", &wrong, json!({})).await;
        match (a.status.as_u16(), a.code()) {
            (401, "INVALID_CLIENT") => unauthorized += 1,
            (429, "RATE_LIMITED") => {
                let retry = a.headers.get("retry-after").and_then(|v| v.to_str().ok()).unwrap_or("");
                assert!(
                    retry.parse::<u64>().is_ok_and(|s| s >= 1),
                    "attempt {attempt}: 429 with Retry-After: {retry:?}"
                );
                limited += 1;
            }
            other => panic!("attempt {attempt}: the flood gets only 401 or 429, got {other:?}: {}", a.body),
        }
        if attempt % 4 == 0 {
            let check = owner.check_session(&creds, &access).await;
            let d = check.data();
            assert_eq!(d["has_valid_session"], json!(true), "attempt {attempt}: the owner is never refused: {d}");
            let link = owner.post("/link-token", &creds, json!({})).await;
            assert_eq!(link.status, StatusCode::OK, "attempt {attempt}: the owner's link token: {}", link.body);
        }
    }
    assert!(limited > 0, "the flooding address was limited through the proxy ({unauthorized} × 401, {limited} × 429)");
    // The default budget per (client id, address): a burst of 5, then 20 a minute (one per 3 s).
    let ceiling = 5 + (started.elapsed().as_secs_f64() / 3.0).ceil() as usize + 1;
    assert!(
        unauthorized <= ceiling,
        "at most {ceiling} failures admitted in {:?}: {unauthorized} × 401, {limited} × 429",
        started.elapsed()
    );

    // The budget is the forwarded address's, not nginx's: another address's typo is a plain 401.
    let typo = neighbour.post("/link-token", &wrong, json!({})).await;
    typo.assert_error(401, "INVALID_CLIENT");
}
