//! Two real nodes behind nginx on one PostgreSQL — the topology of `deploy/compose.yaml`,
//! started by the same code as `cargo xtask cluster` (`tests/support/cluster.rs`) — driven
//! through the proxy only: readiness, exactly-once exchange under concurrent requests that
//! nginx spreads over both nodes, and revocation seen at once whichever node answers.

use crate::cluster_support::{repository_root, Cluster, ClusterSpec};
use crate::helpers::*;
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
