//! The failed-authentication limiter across two real server processes on one PostgreSQL
//! (issue 12): a stranger flooding wrong secrets for a client id never locks its owner out,
//! and the two nodes spend from one budget, exactly at the configured rate.
//!
//! Distinct source IPs are loopback aliases (127.0.0.2, 127.0.0.3, …): the client socket is
//! bound to them with reqwest's `local_address`.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A node spoken to from source address `ip`.
pub(crate) fn node_from(node: &Node, ip: [u8; 4]) -> Node {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .timeout(NODE_REQUEST_TIMEOUT)
        .build()
        .expect("client with a source address");
    Node { base: node.base.clone(), http }
}

/// Two `kryptos-connect serve` processes on a fresh PostgreSQL database with `env`, and a
/// client registered with the CLI.
async fn two_nodes(env: &[(&str, &str)]) -> (Creds, ServerProcess, ServerProcess) {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let creds = cli_create_client(&url, "Limited app").await;
    let (a, b) = tokio::join!(ServerProcess::start_with(&url, env), ServerProcess::start_with(&url, env));
    (creds, a, b)
}

/// What a flood of wrong secrets got back.
#[derive(Debug, Default)]
struct Flood {
    unauthorized: AtomicUsize,
    limited: AtomicUsize,
    other: AtomicUsize,
}

/// Sends wrong secrets for `client_id` from every node in `nodes` (`per_node` concurrent
/// senders each) until `stop` is set; every 429 must carry `Retry-After`.
fn flood(
    nodes: &[Node],
    client_id: &str,
    per_node: usize,
    stop: Arc<AtomicBool>,
    tally: Arc<Flood>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let wrong = Creds { id: client_id.to_owned(), secret: "kcs_wrong".to_owned() };
    let mut tasks = Vec::new();
    for node in nodes {
        for _ in 0..per_node {
            let (node, wrong, stop, tally) = (node.clone(), wrong.clone(), stop.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let a = node.post("/link-token", &wrong, json!({})).await;
                    match (a.status.as_u16(), a.code()) {
                        (401, "INVALID_CLIENT") => tally.unauthorized.fetch_add(1, Ordering::Relaxed),
                        (429, "RATE_LIMITED") => {
                            let retry = a.headers.get("retry-after").and_then(|v| v.to_str().ok()).unwrap_or("");
                            assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "429 with Retry-After: {retry:?}");
                            tally.limited.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => tally.other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
    }
    tasks
}

#[tokio::test]
async fn a_flood_of_wrong_secrets_from_one_ip_never_refuses_the_owner_on_either_node() {
    let (creds, a, b) = two_nodes(&[("KRYPTOS__SECURITY__AUTH_FAILURE_MAX_DELAY_MS", "200")]).await;
    let attacker = [node_from(&a.node, [127, 0, 0, 2]), node_from(&b.node, [127, 0, 0, 2])];
    let owner = [node_from(&a.node, [127, 0, 0, 3]), node_from(&b.node, [127, 0, 0, 3])];
    // The owner's backend behind the same NAT address as the attacker.
    let neighbour = [node_from(&a.node, [127, 0, 0, 2]), node_from(&b.node, [127, 0, 0, 2])];
    let (access, _) = owner[0].access_token(&creds).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Flood::default());
    let flooders = flood(&attacker, &creds.id, 4, stop.clone(), tally.clone());
    // Let the flood exhaust the budget first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let limited_before = tally.limited.load(Ordering::Relaxed);

    let mut answered = 0;
    let started = Instant::now();
    for round in 0..30 {
        for (who, nodes) in [("owner", &owner), ("owner behind the attacker's IP", &neighbour)] {
            let node = &nodes[round % 2];
            let calls: [(&str, Answer); 4] = [
                ("POST /link-token", node.post("/link-token", &creds, json!({})).await),
                ("POST /link-token/check-session", node.check_session(&creds, &access).await),
                ("GET /token/grants", node.send(Method::GET, "/token/grants", Some(&creds), None, None).await),
                ("GET /api/v1/userinfo", {
                    let res = node
                        .http
                        .get(format!("{}/api/v1/userinfo", node.base))
                        .header("X-Client-Id", &creds.id)
                        .header("X-Client-Secret", &creds.secret)
                        .header("Authorization", format!("Bearer {access}"))
                        .send()
                        .await
                        .expect("userinfo reaches the server");
                    let status = res.status();
                    let headers = res.headers().clone();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    Answer { status, body, headers }
                }),
            ];
            for (what, answer) in calls {
                assert!(
                    answer.status.is_success(),
                    "{who}, round {round}, {what} on {}: {} {} (flood so far: {tally:?})",
                    node.base,
                    answer.status,
                    answer.body
                );
                answered += 1;
            }
        }
    }
    let owner_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in flooders {
        t.await.expect("flooder");
    }
    assert_eq!(tally.other.load(Ordering::Relaxed), 0, "the flood got only 401 and 429: {tally:?}");
    assert!(limited_before > 0, "the attacker was limited before the owner's calls: {tally:?}");
    let unauthorized = tally.unauthorized.load(Ordering::Relaxed);
    // Budget: burst 5 + 20/min over the test; the attacker never gets more failures admitted.
    let elapsed = owner_time + Duration::from_secs(2);
    let ceiling = 5 + (elapsed.as_secs_f64() / 3.0).ceil() as usize + 1;
    assert!(unauthorized <= ceiling, "at most {ceiling} failures admitted in {elapsed:?} across both nodes: {tally:?}");
    println!(
        "victim lockout: owner {answered}/{answered} calls 2xx in {owner_time:?} while the attacker got {unauthorized} × 401 \
         and {} × 429 across two nodes",
        tally.limited.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn two_nodes_spend_one_budget_at_the_configured_rate() {
    const PER_MINUTE: u32 = 120;
    const BURST: f64 = 30.0; // a quarter of the minute's budget
    const WINDOW: Duration = Duration::from_secs(30);
    let (creds, a, b) = two_nodes(&[
        ("KRYPTOS__SECURITY__AUTH_FAILURES_PER_MINUTE", "120"),
        ("KRYPTOS__SECURITY__IP_AUTH_FAILURES_PER_MINUTE", "120"),
        ("KRYPTOS__SECURITY__AUTH_FAILURE_MAX_DELAY_MS", "0"),
    ])
    .await;
    let attacker = [node_from(&a.node, [127, 0, 0, 4]), node_from(&b.node, [127, 0, 0, 4])];
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Flood::default());
    let started = Instant::now();
    let flooders = flood(&attacker, &creds.id, 3, stop.clone(), tally.clone());
    tokio::time::sleep(WINDOW).await;
    stop.store(true, Ordering::Relaxed);
    for t in flooders {
        t.await.expect("flooder");
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(tally.other.load(Ordering::Relaxed), 0, "only 401 and 429: {tally:?}");
    let admitted = tally.unauthorized.load(Ordering::Relaxed) as f64;
    let limited = tally.limited.load(Ordering::Relaxed);
    assert!(limited as f64 > 2.0 * admitted, "the flood really exceeded the budget: {tally:?}");
    let rate_per_minute = (admitted - BURST) / elapsed * 60.0;
    let expected = f64::from(PER_MINUTE);
    println!(
        "shared budget: {admitted} failures admitted ({limited} refused) in {elapsed:.1} s over two nodes: \
         {rate_per_minute:.1}/min after the burst of {BURST}, configured {expected}/min"
    );
    assert!(
        (rate_per_minute - expected).abs() <= expected * 0.10,
        "two nodes together admit {rate_per_minute:.1}/min after the burst; configured {expected}/min (±10 %): {tally:?}"
    );
}
