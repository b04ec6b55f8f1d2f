//! The database goes away and comes back (SPEC §5 `SERVICE_UNAVAILABLE`: "database
//! unreachable; the process stays up").
//!
//! The app reaches PostgreSQL through a TCP proxy owned by the test. Cutting the proxy
//! closes every open database connection at once and then either closes each new
//! connection as soon as it is accepted (`Cut::Reset`) or stops listening altogether
//! (`Cut::Refuse`: connection refused), or silently swallows everything (`Cut::Blackhole`,
//! a network partition). Restoring it lets connections through again; the
//! app must recover on its own, without a restart and without losing data.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The PostgreSQL server the proxy forwards to.
fn upstream() -> String {
    let admin = pg_admin_url();
    let rest = admin.split_once("://").map_or(admin.as_str(), |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split('/').next().expect("host:port in the PostgreSQL URL");
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The app's connection-acquire timeout in these tests.
const ACQUIRE_TIMEOUT_SECS: u64 = 1;
/// The app's request timeout: a 503 must come from the database check, well before this.
const REQUEST_TIMEOUT_SECS: u64 = 15;
/// How fast an outage must be reported.
const PROMPT: Duration = Duration::from_secs(5);
/// Recovery polling: every 200 ms for at most 15 s.
const POLL_EVERY: Duration = Duration::from_millis(200);
const RECOVERY_DEADLINE: Duration = Duration::from_secs(15);

/// How the proxy behaves while cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Accept new connections and close them at once.
    Reset,
    /// Stop listening: new connections are refused.
    Refuse,
    /// A network partition: open connections stay open but nothing gets through, and new
    /// connections are accepted and never answered. All are closed on restore.
    Blackhole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyState {
    Up,
    Down(Cut),
}

/// A TCP proxy from `127.0.0.1:<port>` to PostgreSQL, with a switch.
struct PgProxy {
    port: u16,
    desired: watch::Sender<ProxyState>,
    applied: watch::Receiver<ProxyState>,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (desired, desired_rx) = watch::channel(ProxyState::Up);
        let (applied_tx, applied) = watch::channel(ProxyState::Up);
        let open = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(listener, port, desired_rx, applied_tx, open.clone(), accepted.clone()));
        Self { port, desired, applied, open, accepted, task }
    }

    /// `database_url` (a URL on the real server) rewritten to go through the proxy.
    fn url_for(&self, database_url: &str) -> String {
        let (base, name) = database_url.rsplit_once('/').expect("a database name");
        let (scheme, rest) = base.split_once("://").expect("a URL scheme");
        let user = rest.rsplit_once('@').map_or(String::new(), |(u, _)| format!("{u}@"));
        format!("{scheme}://{user}127.0.0.1:{}/{name}", self.port)
    }

    async fn set(&mut self, state: ProxyState) {
        self.desired.send_replace(state);
        tokio::time::timeout(Duration::from_secs(10), self.applied.wait_for(|s| *s == state))
            .await
            .unwrap_or_else(|_| panic!("the proxy did not switch to {state:?} within 10 s"))
            .expect("proxy task alive");
    }

    /// Cuts every open connection and refuses new ones as `how` says; returns once no
    /// connection is open any more (for a blackhole: once nothing is forwarded).
    async fn cut(&mut self, how: Cut) {
        self.set(ProxyState::Down(how)).await;
        if how == Cut::Blackhole {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "proxied connections still open 10 s after the cut");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets connections through again.
    async fn restore(&mut self) {
        self.set(ProxyState::Up).await;
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.desired.send_replace(ProxyState::Down(Cut::Reset));
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    port: u16,
    mut desired: watch::Receiver<ProxyState>,
    applied: watch::Sender<ProxyState>,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
) {
    let mut listener = Some(listener);
    loop {
        let state = *desired.borrow_and_update();
        if state == ProxyState::Down(Cut::Refuse) {
            listener = None;
        } else if listener.is_none() {
            // Listen again on the same port (SO_REUSEADDR is set by tokio on Unix).
            let mut tries = 0;
            listener = loop {
                match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => break Some(l),
                    Err(e) if tries < 50 => {
                        tries += 1;
                        tracing::warn!(%e, "proxy rebind failed, retrying");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("the proxy cannot listen on port {port} again: {e}"),
                }
            };
        }
        applied.send_replace(state);
        let Some(l) = listener.as_ref() else {
            if desired.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            changed = desired.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            conn = l.accept() => {
                let Ok((inbound, _)) = conn else { continue };
                let now = *desired.borrow();
                match now {
                    ProxyState::Up => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        open.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(pipe(inbound, desired.clone(), open.clone()));
                    }
                    ProxyState::Down(Cut::Blackhole) => {
                        // Accepted, never answered, closed on restore.
                        let mut state = desired.clone();
                        tokio::spawn(async move {
                            let _ = state.wait_for(|s| *s == ProxyState::Up).await;
                            drop(inbound);
                        });
                    }
                    ProxyState::Down(_) => drop(inbound), // Cut::Reset: accepted and closed at once.
                }
            }
        }
    }
}

/// Forwards one connection until either side closes or the proxy is cut.
async fn pipe(mut inbound: TcpStream, mut state: watch::Receiver<ProxyState>, open: Arc<AtomicUsize>) {
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _count = Count(open);
    let Ok(mut outbound) = TcpStream::connect(upstream()).await else { return };
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => None,
        s = state.wait_for(|s| *s != ProxyState::Up) => s.ok().map(|s| *s),
    };
    if cut == Some(ProxyState::Down(Cut::Blackhole)) {
        // Partitioned: hold both sockets silently until the network heals.
        let _ = state.wait_for(|s| *s == ProxyState::Up).await;
    }
    // Both sockets close here, cutting the conversation mid-stream.
}

/// A fresh PostgreSQL database, the proxy in front of it, and the app connected through
/// the proxy with a 1 s acquire timeout. Also returns the direct URL.
async fn app_behind_proxy() -> (TestApp, PgProxy, String) {
    app_behind_proxy_with(REQUEST_TIMEOUT_SECS).await
}

/// As [`app_behind_proxy`], with another request timeout.
async fn app_behind_proxy_with(request_timeout_secs: u64) -> (TestApp, PgProxy, String) {
    let (direct_url, dir) = fresh_database(Db::Postgres).await;
    let proxy = PgProxy::start().await;
    let via_proxy = proxy.url_for(&direct_url);
    let app = spawn_app_on(&via_proxy, &dir, |s| {
        s.database.acquire_timeout_secs = ACQUIRE_TIMEOUT_SECS;
        s.server.request_timeout_secs = request_timeout_secs;
    })
    .await;
    assert!(proxy.accepted.load(Ordering::SeqCst) > 0, "the app reaches the database through the proxy");
    (app, proxy, direct_url)
}

/// Sends and measures; the request itself is bounded by the node's timeout.
async fn timed(
    node: &Node,
    method: Method,
    path: &str,
    creds: Option<&Creds>,
    body: Option<serde_json::Value>,
) -> (Answer, Duration) {
    let started = Instant::now();
    let a = node.send(method, path, creds, None, body).await;
    (a, started.elapsed())
}

#[track_caller]
fn assert_unavailable(a: &Answer, took: Duration, what: &str) {
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{what}: status; body {}", a.body);
    a.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        took < PROMPT,
        "{what}: 503 after {took:?}; must be well under the {REQUEST_TIMEOUT_SECS} s request timeout"
    );
}

/// Polls `POST /link-token` every 200 ms until it succeeds; returns how long it took.
/// Every answer before that must be a 503 `SERVICE_UNAVAILABLE`.
async fn wait_for_recovery(node: &Node, creds: &Creds, what: &str) -> (Duration, usize) {
    let started = Instant::now();
    for attempt in 1.. {
        let a = node.post("/link-token", creds, json!({})).await;
        if a.status == StatusCode::OK {
            return (started.elapsed(), attempt);
        }
        a.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(
            started.elapsed() < RECOVERY_DEADLINE,
            "{what}: still failing {RECOVERY_DEADLINE:?} after the database came back ({attempt} attempts): {}",
            a.body
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_keeps_the_process_up_and_recovers_without_restart() {
    let (app, mut proxy, _) = app_behind_proxy().await;
    let node = app.node();
    let creds = app.client().await;
    let (access, grant) = node.access_token(&creds).await;
    assert_eq!(node.grant_ids(&creds).await, vec![grant.clone()]);
    node.send(Method::GET, "/readyz", None, None, None).await.data();

    for (cycle, how) in [Cut::Reset, Cut::Refuse, Cut::Blackhole, Cut::Reset].into_iter().enumerate() {
        let ctx = format!("cycle {cycle} ({how:?})");
        let pending = node.public_token(&creds).await;
        proxy.cut(how).await;

        let outage: [(Method, &str, Option<&Creds>, Option<serde_json::Value>); 5] = [
            (Method::POST, "/link-token", Some(&creds), Some(json!({}))),
            (Method::POST, "/link-token/check-session", Some(&creds), Some(json!({ "access_token": access }))),
            (Method::POST, "/token/exchange", Some(&creds), Some(json!({ "public_token": pending }))),
            (Method::GET, "/token/grants", Some(&creds), None),
            (Method::GET, "/readyz", None, None),
        ];
        let mut slowest = Duration::ZERO;
        for (method, path, c, body) in outage {
            let what = format!("{ctx}: {method} {path}");
            let (a, took) = timed(&node, method, path, c, body).await;
            assert_unavailable(&a, took, &what);
            slowest = slowest.max(took);
        }
        let (a, took) = timed(&node, Method::GET, "/api/health", None, None).await;
        assert_eq!(a.status, StatusCode::OK, "{ctx}: the process stays up: {}", a.body);
        assert_eq!(a.body["status"], json!("OK"), "{ctx}: {}", a.body);
        assert!(took < PROMPT, "{ctx}: /api/health took {took:?}");
        eprintln!("{ctx}: outage reported as 503, slowest in {slowest:?}; /api/health 200 in {took:?}");

        proxy.restore().await;
        let (after, attempts) = wait_for_recovery(&node, &creds, &ctx).await;
        eprintln!("{ctx}: recovered {after:?} after restore ({attempts} attempts)");

        node.send(Method::GET, "/readyz", None, None, None).await.data();
        let check = node.check_session(&creds, &access).await;
        assert_eq!(check.data()["has_valid_session"], json!(true), "{ctx}: the old grant survived: {}", check.body);
        assert_eq!(check.data()["grant_id"], json!(grant), "{ctx}");
        assert!(node.grant_ids(&creds).await.contains(&grant), "{ctx}: the grant made before the outage is listed");
        // The exchange refused during the outage committed nothing: the token still works once.
        let late = node.exchange(&creds, &pending).await;
        assert!(late.data()["grant_id"].as_str().is_some(), "{ctx}: {}", late.body);
        node.exchange(&creds, &pending).await.assert_error(400, "TOKEN_ALREADY_USED");
        // A whole new flow works again.
        let (new_access, _) = node.access_token(&creds).await;
        assert_eq!(node.check_session(&creds, &new_access).await.data()["has_valid_session"], json!(true), "{ctx}");
    }
    assert_eq!(node.grant_ids(&creds).await.len(), 9, "the first grant and two per outage");
    drop(proxy);
    app.stop().await;
}

/// Waits until some backend of the test database waits on a lock.
async fn wait_for_lock_waiter(direct: &sea_orm::DatabaseConnection) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = direct
            .query_one(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::bigint AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("query pg_stat_activity")
            .expect("a row");
        let n: i64 = row.try_get("", "n").expect("count");
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the exchange never reached the database lock within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An exchange blocked inside its transaction (the test holds a lock on `public_tokens`
/// through a direct connection) when the proxy is cut `how`: it must answer 503 within
/// `within` of the cut, commit nothing, and the public token must work once afterwards.
async fn exchange_in_flight_during_a_cut(how: Cut, request_timeout_secs: u64, within: Duration) {
    let (app, mut proxy, direct_url) = app_behind_proxy_with(request_timeout_secs).await;
    let node = app.node();
    let creds = app.client().await;
    let (_, earlier_grant) = node.access_token(&creds).await;
    let public = node.public_token(&creds).await;

    // Hold the public-token table so the exchange blocks inside its transaction.
    let direct = Database::connect(&direct_url).await.expect("direct connection");
    let lock = direct.begin().await.expect("begin");
    lock.execute_unprepared("LOCK TABLE public_tokens IN EXCLUSIVE MODE").await.expect("lock public_tokens");

    let (answer, cut_at) = tokio::join!(
        async {
            let a = node.exchange(&creds, &public).await;
            (a, Instant::now())
        },
        async {
            wait_for_lock_waiter(&direct).await;
            let at = Instant::now();
            proxy.cut(how).await;
            at
        }
    );
    let (answer, answered_at) = answer;
    let took = answered_at.saturating_duration_since(cut_at);
    assert_ne!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "never 500: {}", answer.body);
    answer.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        took < within,
        "{how:?}: the in-flight exchange answered {took:?} after the cut; expected under {within:?}"
    );
    eprintln!("{how:?}: in-flight exchange answered 503 {took:?} after the cut");

    lock.rollback().await.expect("release the lock");
    proxy.restore().await;
    let (after, attempts) = wait_for_recovery(&node, &creds, "after the in-flight cut").await;
    eprintln!("{how:?}: recovered {after:?} after restore ({attempts} attempts)");

    // All or nothing: the cut exchange left the public token unused and created no grant.
    assert_eq!(node.grant_ids(&creds).await, vec![earlier_grant.clone()], "no grant from the cut exchange");
    let retried = node.exchange(&creds, &public).await;
    let new_grant = retried.data()["grant_id"].as_str().expect("grant").to_owned();
    node.exchange(&creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");
    let mut expected = vec![earlier_grant, new_grant];
    expected.sort();
    assert_eq!(node.grant_ids(&creds).await, expected);
    drop(proxy);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exchange_in_flight_when_the_connection_drops_gets_503_at_once_and_commits_nothing() {
    exchange_in_flight_during_a_cut(Cut::Reset, REQUEST_TIMEOUT_SECS, PROMPT).await;
}

/// In a partition nothing tells the app its query is lost, so the request timeout answers
/// (503 as well); afterwards the pool must not be poisoned by the abandoned transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exchange_in_flight_during_a_network_partition_gets_503_and_commits_nothing() {
    const SHORT_REQUEST_TIMEOUT_SECS: u64 = 3;
    exchange_in_flight_during_a_cut(
        Cut::Blackhole,
        SHORT_REQUEST_TIMEOUT_SECS,
        Duration::from_secs(SHORT_REQUEST_TIMEOUT_SECS) + PROMPT,
    )
    .await;
}

/// What the storm workers saw so far.
#[derive(Default, Debug)]
struct Seen {
    ok: AtomicUsize,
    unavailable: AtomicUsize,
    other: std::sync::Mutex<Vec<String>>,
}

impl Seen {
    /// Records one answer; `true` if the flow may go on.
    fn step(&self, a: &Answer, what: &str) -> bool {
        if a.status == StatusCode::OK {
            self.ok.fetch_add(1, Ordering::SeqCst);
            true
        } else if a.status == StatusCode::SERVICE_UNAVAILABLE && a.code() == "SERVICE_UNAVAILABLE" {
            self.unavailable.fetch_add(1, Ordering::SeqCst);
            false
        } else {
            self.odd(format!("{what}: {} {}", a.status, a.body));
            false
        }
    }

    /// Records an answer that is neither a success nor a 503.
    fn odd(&self, what: String) {
        self.other.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(what);
    }

    /// Waits until `counter` grew by `n` (bounded by the recovery deadline).
    async fn wait_for(&self, counter: fn(&Seen) -> &AtomicUsize, n: usize, what: &str) {
        let target = counter(self).load(Ordering::SeqCst) + n;
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        while counter(self).load(Ordering::SeqCst) < target {
            assert!(Instant::now() < deadline, "{what}: not reached within {RECOVERY_DEADLINE:?}; seen {self:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One guest flow plus a session check, stopping at the first step that fails. Each step
/// is a fresh request on a fresh link token, so nothing is retried after an outage.
async fn one_flow(node: &Node, creds: &Creds, seen: &Seen) {
    let a = node.post("/link-token", creds, json!({})).await;
    if !seen.step(&a, "POST /link-token") {
        return;
    }
    let link = a.body["data"]["link_token"].as_str().unwrap_or_default().to_owned();
    for (path, body) in [("/widget/auth/anonymous", None), ("/widget/consent", Some(json!({"approve": true})))] {
        let a = node.send(Method::POST, path, None, Some(&link), body).await;
        if !seen.step(&a, path) {
            return;
        }
    }
    let a = node.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    if !seen.step(&a, "/widget/complete") {
        return;
    }
    let public = a.body["data"]["public_token"].as_str().unwrap_or_default().to_owned();
    let a = node.exchange(creds, &public).await;
    if !seen.step(&a, "/token/exchange") {
        return;
    }
    let access = a.body["data"]["access_token"].as_str().unwrap_or_default().to_owned();
    let a = node.check_session(creds, &access).await;
    if seen.step(&a, "check-session") && a.body["data"]["has_valid_session"] != json!(true) {
        seen.odd(format!("check-session of a fresh token: {}", a.body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_racing_database_cuts_get_success_or_503_never_500() {
    const WORKERS: usize = 8;
    let (app, mut proxy, _) = app_behind_proxy().await;
    let node = app.node();
    let creds = app.client().await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (node, creds, stop, seen) = (node.clone(), creds.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                // Bounded: at most 5000 flows each; the test stops them far sooner.
                for _ in 0..5000 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    one_flow(&node, &creds, &seen).await;
                }
            })
        })
        .collect();

    let started = Instant::now();
    for (cycle, how) in [Cut::Reset, Cut::Refuse, Cut::Reset, Cut::Refuse, Cut::Reset].into_iter().enumerate() {
        let ctx = format!("cycle {cycle} ({how:?})");
        seen.wait_for(|s| &s.ok, 20, &format!("{ctx}: 20 successes before the cut")).await;
        proxy.cut(how).await;
        seen.wait_for(|s| &s.unavailable, 20, &format!("{ctx}: 20 × 503 during the outage")).await;
        proxy.restore().await;
        seen.wait_for(|s| &s.ok, 20, &format!("{ctx}: 20 successes after the restore")).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w).await.expect("workers stop").expect("worker task");
    }
    let other = seen.other.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    eprintln!(
        "storm: {} successes, {} × 503 over {:?}, other answers: {other:?}",
        seen.ok.load(Ordering::SeqCst),
        seen.unavailable.load(Ordering::SeqCst),
        started.elapsed(),
    );
    assert!(other.is_empty(), "every answer is a success or 503 SERVICE_UNAVAILABLE: {other:#?}");
    drop(proxy);
    app.stop().await;
}
