//! Races on one-shot transitions (SPEC §1 "stateless nodes", §4 "Exchange rules" and
//! "Revocation"): one public token, one link token, one grant, hit by many requests at the
//! same instant — on one in-process SQLite server, and across two real server processes
//! sharing one PostgreSQL database.
//!
//! Every racer gets its own HTTP connection, opened before the race, and all are released
//! together by a barrier, so the requests really overlap in the database.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

/// Concurrent exchanges of one public token.
const EXCHANGE_RACERS: usize = 50;
/// Public tokens raced per test, so a lucky interleaving cannot pass the test alone.
const ROUNDS: usize = 5;
/// Concurrent completions of one link token, and concurrent revocations of one grant.
const SMALL_RACERS: usize = 20;
/// Bound on one whole race (every racer answered).
const RACE_DEADLINE: Duration = Duration::from_secs(90);

/// One request of a race.
#[derive(Clone)]
struct Call {
    node: Node,
    method: Method,
    path: &'static str,
    creds: Option<Creds>,
    link: Option<String>,
    body: Option<Value>,
}

impl Call {
    fn post(node: &Node, path: &'static str, creds: &Creds, body: Value) -> Self {
        Self {
            node: node.clone(),
            method: Method::POST,
            path,
            creds: Some(creds.clone()),
            link: None,
            body: Some(body),
        }
    }

    fn widget(node: &Node, path: &'static str, link: &str) -> Self {
        Self { node: node.clone(), method: Method::POST, path, creds: None, link: Some(link.to_owned()), body: None }
    }
}

/// Fires every call at once: each racer opens its own connection (a `GET /api/health`),
/// then all wait on one barrier and send together. Answers come back in call order.
async fn race(calls: Vec<Call>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                // A private client with one pooled connection, warmed up before the start.
                let node = Node::new(&call.node.base);
                node.send(Method::GET, "/api/health", None, None, None).await;
                barrier.wait().await;
                node.send(call.method, call.path, call.creds.as_ref(), call.link.as_deref(), call.body).await
            })
        })
        .collect();
    tokio::time::timeout(RACE_DEADLINE, futures::future::join_all(tasks))
        .await
        .unwrap_or_else(|_| panic!("the race did not finish within {RACE_DEADLINE:?}"))
        .into_iter()
        .map(|r| r.expect("racer task"))
        .collect()
}

/// `status CODE` → how many answers had it (`CODE` empty for successes).
fn tally(answers: &[Answer]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for a in answers {
        *t.entry(format!("{} {}", a.status.as_u16(), a.code())).or_insert(0) += 1;
    }
    t
}

fn expected_tally(winners: usize, losers: usize, loser_code: &str) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    t.insert("200 ".to_owned(), winners);
    if losers > 0 {
        t.insert(format!("400 {loser_code}"), losers);
    }
    t
}

#[track_caller]
fn assert_no_5xx(answers: &[Answer], context: &str) {
    let failures: Vec<_> = answers.iter().filter(|a| a.status.is_server_error()).map(|a| &a.body).collect();
    assert!(
        failures.is_empty(),
        "{context}: {} server errors, e.g. {:?}; tally {:?}",
        failures.len(),
        failures.first(),
        tally(answers)
    );
}

/// Registers a client with the binary, then starts two server processes on `database_url`.
async fn two_processes(database_url: &str) -> (Creds, ServerProcess, ServerProcess) {
    // The CLI migrates the fresh database first, so the two servers start on a ready schema.
    let creds = cli_create_client(database_url, "Race app").await;
    let (a, b) = tokio::join!(ServerProcess::start(database_url), ServerProcess::start(database_url));
    assert_ne!(a.node.base, b.node.base, "two processes, two ports");
    (creds, a, b)
}

/// Races `ROUNDS` public tokens, `EXCHANGE_RACERS` exchanges each, spread round-robin over
/// `nodes`; checks exactly one access token per public token and one grant per round.
async fn exchange_races(nodes: &[&Node], creds: &Creds, context: &str) {
    let mut grants: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let issuer = nodes[round % nodes.len()];
        let public = issuer.public_token(creds).await;
        let calls: Vec<Call> = (0..EXCHANGE_RACERS)
            .map(|i| Call::post(nodes[i % nodes.len()], "/token/exchange", creds, json!({ "public_token": public })))
            .collect();
        let started = Instant::now();
        let answers = race(calls).await;
        let elapsed = started.elapsed();
        let ctx = format!("{context}, round {round}");
        assert_no_5xx(&answers, &ctx);
        assert_eq!(
            tally(&answers),
            expected_tally(1, EXCHANGE_RACERS - 1, "TOKEN_ALREADY_USED"),
            "{ctx}: exactly one exchange wins, every other one is TOKEN_ALREADY_USED"
        );
        let (winner_at, winner) =
            answers.iter().enumerate().find(|(_, a)| a.status == StatusCode::OK).expect("one winner");
        for loser in answers.iter().filter(|a| a.status != StatusCode::OK) {
            loser.assert_error(400, "TOKEN_ALREADY_USED");
        }
        let d = winner.data();
        let grant = d["grant_id"].as_str().unwrap_or_else(|| panic!("{ctx}: grant_id in {d}")).to_owned();
        let access = d["access_token"].as_str().unwrap_or_else(|| panic!("{ctx}: access_token in {d}")).to_owned();
        assert!(access.starts_with("cat_") && grant.starts_with("cgrant_"), "{ctx}: {d}");
        eprintln!(
            "{ctx}: 1 winner (racer {winner_at}, node {}), {} refused, {elapsed:?}",
            winner_at % nodes.len(),
            EXCHANGE_RACERS - 1
        );
        grants.push(grant.clone());
        grants.sort();
        for (n, node) in nodes.iter().enumerate() {
            assert_eq!(
                node.grant_ids(creds).await,
                grants,
                "{ctx}: node {n} lists exactly one grant per raced public token"
            );
            let check = node.check_session(creds, &access).await;
            assert_eq!(check.data()["has_valid_session"], json!(true), "{ctx}: node {n}: {}", check.body);
            assert_eq!(check.data()["grant_id"], json!(grant), "{ctx}: node {n}: {}", check.body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_exchanges_across_two_server_processes_yield_exactly_one_success() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let (creds, a, b) = two_processes(&url).await;
    exchange_races(&[&a.node, &b.node], &creds, "PostgreSQL, two processes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_exchanges_on_one_sqlite_server_yield_exactly_one_success_and_no_5xx() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let node = app.node();
    exchange_races(&[&node], &creds, "SQLite").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_grant_revoked_on_one_process_is_revoked_on_the_other_at_once() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let (creds, a, b) = two_processes(&url).await;
    let (a, b) = (&a.node, &b.node);

    for attempt in 0..3 {
        let ctx = format!("attempt {attempt}");
        let (access, grant) = a.access_token(&creds).await;
        let check = b.check_session(&creds, &access).await;
        assert_eq!(check.data()["has_valid_session"], json!(true), "{ctx}: B sees A's grant: {}", check.body);
        assert_eq!(check.data()["grant_id"], json!(grant), "{ctx}: {}", check.body);

        let revoked = a.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
        assert_eq!(revoked.status, StatusCode::OK, "{ctx}: {}", revoked.body);
        assert_eq!(revoked.body, json!({"success": true, "message": "Grant revoked successfully"}), "{ctx}");

        // No pause: the very next request on the other process sees the revocation.
        let check = b.check_session(&creds, &access).await;
        let d = check.data();
        assert_eq!(d["has_valid_session"], json!(false), "{ctx}: B after revoke on A: {d}");
        assert_eq!(d["reason"], json!("token_revoked"), "{ctx}: B after revoke on A: {d}");
        b.post("/link-token", &creds, json!({ "access_token": access })).await.assert_error(401, "INVALID_TOKEN");
        assert!(!b.grant_ids(&creds).await.contains(&grant), "{ctx}: B no longer lists the revoked grant");
        assert!(!a.grant_ids(&creds).await.contains(&grant), "{ctx}: A no longer lists the revoked grant");

        // Revoking again on the other process is not an error.
        let again = b.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
        assert_eq!(again.body, json!({"success": true, "message": "Grant revoked successfully"}), "{ctx}");
    }
}

/// `SMALL_RACERS` concurrent `POST /widget/complete` on one consented link token.
async fn completion_race(nodes: &[&Node], creds: &Creds, context: &str) {
    for round in 0..ROUNDS {
        let ctx = format!("{context}, round {round}");
        let link = nodes[0].consented_link(creds).await;
        let calls: Vec<Call> =
            (0..SMALL_RACERS).map(|i| Call::widget(nodes[i % nodes.len()], "/widget/complete", &link)).collect();
        let started = Instant::now();
        let answers = race(calls).await;
        let elapsed = started.elapsed();
        assert_no_5xx(&answers, &ctx);
        assert_eq!(
            tally(&answers),
            expected_tally(1, SMALL_RACERS - 1, "TOKEN_ALREADY_USED"),
            "{ctx}: exactly one completion wins"
        );
        for loser in answers.iter().filter(|a| a.status != StatusCode::OK) {
            loser.assert_error(400, "TOKEN_ALREADY_USED");
        }
        let winner = answers.iter().find(|a| a.status == StatusCode::OK).expect("one winner");
        let public = winner.data()["public_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{ctx}: public_token in {}", winner.body))
            .to_owned();
        eprintln!("{ctx}: 1 public token, {} refused, {elapsed:?}", SMALL_RACERS - 1);
        for node in nodes {
            node.send(Method::GET, "/widget/session", None, Some(&link), None)
                .await
                .assert_error(400, "TOKEN_ALREADY_USED");
        }
        // The single public token is a working one.
        let last = nodes[nodes.len() - 1];
        let exchanged = last.exchange(creds, &public).await;
        assert!(exchanged.data()["grant_id"].as_str().is_some(), "{ctx}: {}", exchanged.body);
        last.exchange(creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");
    }
    assert_eq!(nodes[0].grant_ids(creds).await.len(), ROUNDS, "{context}: one grant per completed link token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_widget_completions_issue_exactly_one_public_token_on_sqlite() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let node = app.node();
    completion_race(&[&node], &creds, "SQLite").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_widget_completions_across_two_processes_issue_exactly_one_public_token() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let (creds, a, b) = two_processes(&url).await;
    completion_race(&[&a.node, &b.node], &creds, "PostgreSQL, two processes").await;
}

/// `SMALL_RACERS` concurrent `POST /token/revoke` of one grant: all succeed, the grant is dead.
async fn revocation_race(nodes: &[&Node], creds: &Creds, context: &str) {
    for round in 0..ROUNDS {
        let ctx = format!("{context}, round {round}");
        let (access, grant) = nodes[0].access_token(creds).await;
        let calls: Vec<Call> = (0..SMALL_RACERS)
            .map(|i| Call::post(nodes[i % nodes.len()], "/token/revoke", creds, json!({ "grant_id": grant })))
            .collect();
        let started = Instant::now();
        let answers = race(calls).await;
        let elapsed = started.elapsed();
        assert_no_5xx(&answers, &ctx);
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.status, StatusCode::OK, "{ctx}: racer {i}: {}; tally {:?}", a.body, tally(&answers));
            assert_eq!(a.body, json!({"success": true, "message": "Grant revoked successfully"}), "{ctx}: racer {i}");
        }
        eprintln!("{ctx}: {SMALL_RACERS} revocations succeeded, {elapsed:?}");
        for (n, node) in nodes.iter().enumerate() {
            let check = node.check_session(creds, &access).await;
            assert_eq!(check.data()["has_valid_session"], json!(false), "{ctx}: node {n}: {}", check.body);
            assert_eq!(check.data()["reason"], json!("token_revoked"), "{ctx}: node {n}: {}", check.body);
            assert!(!node.grant_ids(creds).await.contains(&grant), "{ctx}: node {n} still lists the revoked grant");
            node.post("/link-token", creds, json!({ "access_token": access })).await.assert_error(401, "INVALID_TOKEN");
        }
    }
    assert!(nodes[0].grant_ids(creds).await.is_empty(), "{context}: every raced grant is revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_of_one_grant_all_succeed_on_sqlite() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let node = app.node();
    revocation_race(&[&node], &creds, "SQLite").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_of_one_grant_across_two_processes_all_succeed() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let (creds, a, b) = two_processes(&url).await;
    revocation_race(&[&a.node, &b.node], &creds, "PostgreSQL, two processes").await;
}

/// SPEC §1: "any number of identical processes may share one PostgreSQL database" — which
/// includes starting them together on a database nobody has migrated yet (a rollout).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_started_together_on_a_fresh_database_all_come_up_and_share_it() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let (a, b, c) = tokio::join!(ServerProcess::start(&url), ServerProcess::start(&url), ServerProcess::start(&url));
    let creds = cli_create_client(&url, "Rollout app").await;
    let (access, grant) = a.node.access_token(&creds).await;
    for (n, node) in [&a.node, &b.node, &c.node].into_iter().enumerate() {
        node.send(Method::GET, "/readyz", None, None, None).await.data();
        let check = node.check_session(&creds, &access).await;
        assert_eq!(check.data()["grant_id"], json!(grant), "process {n} shares the database: {}", check.body);
    }
}
