//! Webhooks (SPEC §9, issue 7): a real local HTTP receiver checks signatures, headers, bodies
//! and the order of each grant's events; retries on 503 with exponential backoff, and gives
//! up after three attempts; a server killed after the commit (or mid-send) delivers after a
//! restart; two processes deliver every event exactly once; the `clients webhooks` commands.
//!
//! In-process apps run on a manual clock, so backoff is crossed by moving the clock, never
//! by sleeping it out; real server processes use the system clock with short settings.

use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kc_domain::{verify_webhook, CredentialCipher, OsSecretRng, SANDBOX_ETHEREUM_ADDRESS};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------
// The receiver.

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// Answer with this status.
    Status(u16),
    /// Never answer (until the sender goes away).
    Hang,
}

/// One request the receiver got, exactly as sent.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    #[track_caller]
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} on {}", self.text()))
            .to_str()
            .expect("an ASCII header")
            .to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("a JSON body ({e}): {}", self.text()))
    }

    pub fn id(&self) -> String {
        self.json()["id"].as_str().unwrap_or_default().to_owned()
    }

    pub fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or_default().to_owned()
    }

    /// The grant the delivery concerns (`grant_id` of grant events, `grantId` of integration events).
    pub fn grant(&self) -> String {
        let d = &self.json()["data"];
        d["grant_id"].as_str().or_else(|| d["grantId"].as_str()).unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    hits: Mutex<Vec<Hit>>,
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<u16>>,
    delay: Mutex<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn receive(State(st): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    lock(&st.hits).push(Hit { headers, body });
    let reply = lock(&st.script).pop_front().unwrap_or(Reply::Status(lock(&st.fallback).unwrap_or(200)));
    let delay = *lock(&st.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match reply {
        Reply::Status(s) => StatusCode::from_u16(s).expect("a valid status"),
        Reply::Hang => std::future::pending::<StatusCode>().await,
    }
}

/// A webhook receiver on 127.0.0.1 that records every request and answers as scripted
/// (200 once the script is used up, unless [`Receiver::always`] says otherwise).
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().expect("receiver address").port());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state, task }
    }

    /// The next requests get these replies, in order.
    pub fn then(&self, replies: &[Reply]) {
        lock(&self.state.script).extend(replies.iter().copied());
    }

    /// Once the script is used up, answer `status` to everything.
    pub fn always(&self, status: u16) {
        *lock(&self.state.fallback) = Some(status);
    }

    /// Wait this long before answering each request.
    pub fn delay(&self, d: Duration) {
        *lock(&self.state.delay) = d;
    }

    pub fn hits(&self) -> Vec<Hit> {
        lock(&self.state.hits).clone()
    }

    /// Waits (at most `within`) until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration, what: &str) -> Vec<Hit> {
        let until = Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < until,
                "{what}: expected {n} deliveries within {within:?}, got {}: {:?}",
                hits.len(),
                hits.iter().map(|h| h.event()).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that after `quiet` there are still exactly `n` requests.
    pub async fn assert_quiet(&self, n: usize, quiet: Duration, what: &str) {
        tokio::time::sleep(quiet).await;
        let hits = self.hits();
        assert_eq!(
            hits.len(),
            n,
            "{what}: no further deliveries expected; got {:?}",
            hits.iter().map(|h| (h.event(), h.grant())).collect::<Vec<_>>()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Asserts the delivery's headers match its body and its signature verifies with `secret`
/// (against `now`, or the delivery's own timestamp when the sender runs on a manual clock).
#[track_caller]
pub fn assert_signed(hit: &Hit, secret: &str, now: Option<OffsetDateTime>) -> Value {
    let body = hit.json();
    let what = hit.text();
    assert_eq!(hit.header("content-type"), "application/json", "{what}");
    let (id, event, ts) =
        (hit.header("x-webhook-id"), hit.header("x-webhook-event"), hit.header("x-webhook-timestamp"));
    assert!(id.starts_with("whd_") && id.len() > 8, "delivery id {id}");
    assert_eq!(body["id"], json!(id), "X-Webhook-Id is the body's id: {what}");
    assert_eq!(body["event"], json!(event), "X-Webhook-Event is the body's event: {what}");
    assert_eq!(body["timestamp"], json!(ts), "X-Webhook-Timestamp is the body's timestamp: {what}");
    let at = OffsetDateTime::parse(&ts, &Rfc3339).unwrap_or_else(|e| panic!("ISO 8601 timestamp {ts}: {e}"));
    assert!(ts.ends_with('Z') && ts.len() == 24, "UTC with milliseconds: {ts}");
    let keys: Vec<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "event", "timestamp", "data"], "the documented body: {what}");
    assert!(body["data"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "data.uid: {what}");
    let sig = hit.header("x-webhook-signature");
    assert_eq!(sig.len(), 64, "hex HMAC-SHA256: {sig}");
    verify_webhook(secret, &hit.body, &sig, &ts, now.unwrap_or(at), time::Duration::minutes(5))
        .unwrap_or_else(|e| panic!("the signature verifies ({e}): {what}"));
    assert!(
        verify_webhook("whsec_wrong", &hit.body, &sig, &ts, at, time::Duration::minutes(5)).is_err(),
        "a wrong secret does not verify"
    );
    body
}

// ---------------------------------------------------------------------------------------
// Driving an in-process app.

/// A guest connected through the widget and exchanged: the client's grant.
#[derive(Debug, Clone)]
struct Linked {
    access_token: String,
    grant_id: String,
    user_id: String,
    workspace_id: String,
}

async fn link_guest(app: &TestApp, creds: &Creds) -> Linked {
    let (access_token, grant_id) = app.access_token(creds).await;
    let s = app.post("/link-token/check-session", creds, json!({ "access_token": access_token })).await;
    let d = s.data();
    Linked {
        user_id: d["user_id"].as_str().expect("user_id").to_owned(),
        workspace_id: d["workspace_id"].as_str().expect("workspace_id").to_owned(),
        access_token,
        grant_id,
    }
}

/// A returning user connects the sandbox Ethereum wallet; returns its wallet id.
async fn add_wallet(app: &TestApp, creds: &Creds, g: &Linked) -> String {
    let a = app.post("/link-token", creds, json!({ "access_token": g.access_token })).await;
    let link = a.data()["link_token"].as_str().expect("link_token").to_owned();
    let body = json!({ "provider": "ethereum", "address": SANDBOX_ETHEREUM_ADDRESS });
    let added = app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(body)).await;
    added.data()["walletId"].as_str().expect("walletId").to_owned()
}

/// Waits until the grant's integrations are synced.
async fn wait_synced(app: &TestApp, creds: &Creds, g: &Linked) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let res = app
            .http
            .get(format!("{}/api/v1/integrations", app.base))
            .bearer_auth(&g.access_token)
            .header("X-Client-Id", &creds.id)
            .header("X-Client-Secret", &creds.secret)
            .send()
            .await
            .expect("the Data API answers");
        let v: Value = res.json().await.expect("JSON");
        if v["data"].as_array().is_some_and(|d| !d.is_empty() && d.iter().all(|i| i["status"] == "COMPLETED")) {
            return;
        }
        assert!(Instant::now() < until, "the wallet did not sync: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn revoke(app: &TestApp, creds: &Creds, grant_id: &str) {
    let a = app.post("/token/revoke", creds, json!({ "grant_id": grant_id })).await;
    assert_eq!(a.status.as_u16(), 200, "revoke: {}", a.body);
}

async fn spawn_fast(db: Db) -> TestApp {
    let (url, dir) = fresh_database(db).await;
    spawn_app_on(&url, &dir, |s| {
        s.sync.poll_interval_ms = 20;
        s.webhooks.poll_interval_ms = 20;
    })
    .await
}

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(1200);

// ---------------------------------------------------------------------------------------
// Signatures, headers, bodies, order.

async fn deliveries_are_signed_and_in_order_per_grant(db: Db) {
    let app = spawn_fast(db).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    let (endpoint, secret) = app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add the endpoint");
    assert!(endpoint.events.is_empty(), "no filter: every event");
    let secret = secret.expose().to_owned();

    // Grant 1's first delivery is refused, so everything after it for grant 1 must wait.
    rx.then(&[Reply::Status(503)]);
    let g1 = link_guest(&app, &creds).await;
    let refused = rx.wait_for(1, WAIT, "grant 1 created").await.remove(0);
    wait_recorded(&app, &creds.id, &refused.id(), 1).await;
    let wallet = add_wallet(&app, &creds, &g1).await;
    wait_synced(&app, &creds, &g1).await;
    // Order is per grant: grant 2 goes out while grant 1 waits for its retry.
    let g2 = link_guest(&app, &creds).await;
    let hits = rx.wait_for(2, WAIT, "grant 2 created").await;
    assert_eq!((hits[1].event(), hits[1].grant()), ("grant.created".to_owned(), g2.grant_id.clone()));
    revoke(&app, &creds, &g1.grant_id).await;
    rx.assert_quiet(2, QUIET, "grant 1's later events wait behind its first").await;

    // The retry is due one second (the first backoff) later.
    app.clock.advance(time::Duration::seconds(2));
    let hits = rx.wait_for(10, WAIT, "grant 1's events after the retry").await;
    rx.assert_quiet(10, QUIET, "each delivery once").await;
    // Processing events name the user (`uid`), not the grant.
    let g1_hits: Vec<&Hit> =
        hits.iter().filter(|h| h.grant() == g1.grant_id || h.json()["data"]["uid"] == json!(g1.user_id)).collect();
    let events: Vec<String> = g1_hits.iter().map(|h| h.event()).collect();
    assert_eq!(
        events,
        [
            "grant.created",
            "grant.created",
            "integration.created",
            "transfer_detection.started",
            "transfer_detection.completed",
            "costbasis.started",
            "costbasis.completed",
            "integration.updated",
            "grant.revoked"
        ],
        "grant 1's events in order, the refused one retried first; the sync's ledger processing before its update"
    );
    let bodies: Vec<Value> = hits.iter().map(|h| assert_signed(h, &secret, None)).collect();
    assert_eq!(g1_hits[0].id(), g1_hits[1].id(), "a retry keeps the delivery id");
    assert_ne!(g1_hits[0].header("x-webhook-timestamp"), g1_hits[1].header("x-webhook-timestamp"), "re-signed");
    let ids: HashSet<String> = g1_hits[1..].iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), 8, "distinct ids for distinct events");

    let b1: Vec<&Value> = bodies.iter().filter(|b| b["data"]["grant_id"] == json!(g1.grant_id)).collect();
    let created = &b1[0]["data"];
    assert_eq!(created["uid"], json!(g1.user_id));
    assert_eq!(created["workspace_id"], json!(g1.workspace_id));
    assert!(created["scopes"].as_str().is_some_and(|s| s.contains("openid")), "{created}");
    assert!(created["created_at"].as_str().is_some() && created["expires_at"].as_str().is_some(), "{created}");
    assert!(created.get("revoked_at").is_none(), "{created}");
    let revoked = &b1.last().expect("revoked")["data"];
    assert_eq!(revoked["uid"], json!(g1.user_id));
    assert!(revoked["revoked_at"].as_str().is_some(), "{revoked}");

    let integration: Vec<&Value> =
        bodies.iter().filter(|b| b["event"].as_str().is_some_and(|e| e.starts_with("integration."))).collect();
    assert_eq!(integration.len(), 2, "only grant 1's workspace has a wallet");
    for b in &integration {
        let d = &b["data"];
        assert_eq!(d["uid"], json!(g1.user_id), "{d}");
        assert_eq!(d["walletId"], json!(wallet), "{d}");
        assert_eq!(d["provider"], json!("ethereum"), "{d}");
        assert_eq!(d["providerPublicName"], json!("Ethereum"), "the catalogue's name: {d}");
        assert!(d["logoUrl"].as_str().is_some_and(|l| l.ends_with("/logos/ethereum.svg")), "{d}");
        assert_eq!(d["publicAddress"].as_str().map(str::to_lowercase), Some(SANDBOX_ETHEREUM_ADDRESS.to_lowercase()));
        assert_eq!(d["isContract"], json!(false));
        assert_eq!(d["category"], json!("blockchain"));
        assert_eq!(d["type"], json!("api"));
        assert!(d["addedOn"].as_i64().is_some(), "{d}");
        assert_eq!(d["workspaceId"], json!(g1.workspace_id));
        assert_eq!(d["grantId"], json!(g1.grant_id));
    }
    assert_eq!(integration[0]["data"]["status"], json!("active"), "not yet synced");
    assert_eq!(integration[1]["data"]["status"], json!("COMPLETED"));
    assert!(integration[1]["data"]["lastSyncedAt"].as_i64().is_some());

    // webhooks--events.md: `{uid, action, status, reason, timestamp}`.
    let processing: Vec<&Value> = bodies
        .iter()
        .filter(|b| {
            b["event"].as_str().is_some_and(|e| e.starts_with("transfer_detection.") || e.starts_with("costbasis."))
        })
        .collect();
    assert_eq!(processing.len(), 4, "one sync: detection and cost basis, started and completed");
    for b in processing {
        let d = &b["data"];
        let action = if b["event"].as_str().is_some_and(|e| e.starts_with("costbasis.")) {
            "ACCOUNT_MANAGER"
        } else {
            "DETECT_TRANSFER"
        };
        let status = b["event"].as_str().and_then(|e| e.split('.').nth(1)).unwrap_or_default();
        assert_eq!(
            (&d["uid"], &d["action"], &d["status"], &d["reason"]),
            (&json!(g1.user_id), &json!(action), &json!(status), &Value::Null),
            "{d}"
        );
        assert!(d["timestamp"].as_i64().is_some_and(|t| t > 0), "{d}");
    }

    let list = app.service.webhook_deliveries(&creds.id, 50).await.expect("deliveries");
    assert_eq!(list.len(), 9, "one row per event: {list:?}");
    assert!(list.iter().all(|d| d.status == "delivered"), "{list:?}");
    let retried = list.iter().find(|d| d.id == g1_hits[0].id()).expect("the retried delivery");
    assert_eq!((retried.attempts, retried.last_status), (2, Some(200)));
}

#[tokio::test]
async fn deliveries_are_signed_and_in_order_per_grant_on_sqlite() {
    deliveries_are_signed_and_in_order_per_grant(Db::Sqlite).await;
}

#[tokio::test]
async fn deliveries_are_signed_and_in_order_per_grant_on_postgres() {
    deliveries_are_signed_and_in_order_per_grant(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------
// Retries.

#[tokio::test]
async fn a_503_is_retried_with_exponential_backoff_and_a_delivery_gives_up_after_three_attempts() {
    let app = spawn_fast(Db::Sqlite).await;
    let creds = app.client().await;
    let rx = Receiver::start().await;
    let (_, secret) = app.service.add_webhook(&creds.id, &rx.url, &[]).await.expect("add");
    let secret = secret.expose().to_owned();

    // 503, then success.
    rx.then(&[Reply::Status(503)]);
    let g = link_guest(&app, &creds).await;
    let id = rx.wait_for(1, WAIT, "first attempt").await[0].id();
    wait_recorded(&app, &creds.id, &id, 1).await;
    rx.assert_quiet(1, QUIET, "no retry before the backoff has passed").await;
    app.clock.advance(time::Duration::milliseconds(1100));
    let hits = rx.wait_for(2, WAIT, "second attempt").await;
    rx.assert_quiet(2, QUIET, "delivered: no third attempt").await;
    assert_eq!(hits[0].id(), hits[1].id());
    for h in &hits {
        assert_signed(h, &secret, None);
        assert_eq!(h.grant(), g.grant_id);
    }
    let d = &app.service.webhook_deliveries(&creds.id, 10).await.expect("deliveries")[0];
    assert_eq!((d.status.as_str(), d.attempts, d.last_status), ("delivered", 2, Some(200)), "{d:?}");

    // Always 503: attempts at +0, +1 s, +3 s (backoff 1 s then 2 s), then failed.
    rx.always(503);
    revoke(&app, &creds, &g.grant_id).await;
    let id = rx.wait_for(3, WAIT, "revocation, first attempt").await[2].id();
    wait_recorded(&app, &creds.id, &id, 1).await;
    app.clock.advance(time::Duration::milliseconds(1100));
    rx.wait_for(4, WAIT, "second attempt after 1 s").await;
    wait_recorded(&app, &creds.id, &id, 2).await;
    app.clock.advance(time::Duration::milliseconds(1100));
    rx.assert_quiet(4, QUIET, "the second backoff is 2 s, not 1 s").await;
    app.clock.advance(time::Duration::milliseconds(1000));
    let hits = rx.wait_for(5, WAIT, "third attempt after 2 s more").await;
    wait_recorded(&app, &creds.id, &id, 3).await;
    app.clock.advance(time::Duration::hours(1));
    rx.assert_quiet(5, QUIET, "no fourth attempt").await;
    assert!(hits[2..].iter().all(|h| h.event() == "grant.revoked" && h.id() == hits[2].id()));
    let d = &app.service.webhook_deliveries(&creds.id, 10).await.expect("deliveries")[0];
    assert_eq!((d.event.as_str(), d.status.as_str(), d.attempts), ("grant.revoked", "failed", 3), "{d:?}");
    assert_eq!(d.last_status, Some(503));
    assert!(d.last_error.as_deref().is_some_and(|e| e.contains("503")), "{d:?}");
}

#[tokio::test]
async fn other_statuses_are_not_retried_while_network_errors_and_timeouts_are() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.webhooks.poll_interval_ms = 20;
        s.webhooks.timeout_secs = 1;
    })
    .await;
    // A 400 fails at once.
    let refusing = app.client().await;
    let rx = Receiver::start().await;
    rx.always(400);
    app.service.add_webhook(&refusing.id, &rx.url, &[]).await.expect("add");
    link_guest(&app, &refusing).await;
    rx.wait_for(1, WAIT, "the only attempt").await;
    app.clock.advance(time::Duration::hours(1));
    rx.assert_quiet(1, QUIET, "a 400 is not retried").await;
    let d = &app.service.webhook_deliveries(&refusing.id, 10).await.expect("deliveries")[0];
    assert_eq!((d.status.as_str(), d.attempts, d.last_status), ("failed", 1, Some(400)), "{d:?}");

    // Nobody listening: three attempts, then failed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let unreachable = app.client().await;
    app.service.add_webhook(&unreachable.id, &format!("http://127.0.0.1:{closed}/hook"), &[]).await.expect("add");
    link_guest(&app, &unreachable).await;
    let d = wait_for_delivery_attempts(&app, &unreachable.id, 1).await;
    assert_eq!(d.status, "pending", "{d:?}");
    app.clock.advance(time::Duration::seconds(1));
    wait_for_delivery_attempts(&app, &unreachable.id, 2).await;
    app.clock.advance(time::Duration::seconds(2));
    let d = wait_for_delivery_attempts(&app, &unreachable.id, 3).await;
    assert!(d.last_error.as_deref().is_some_and(|e| e.contains("connection")), "{d:?}");
    assert_eq!(wait_for_status(&app, &unreachable.id, "failed").await.attempts, 3);

    // No answer within the timeout counts as a failed attempt too.
    let slow = app.client().await;
    let rx = Receiver::start().await;
    rx.then(&[Reply::Hang]);
    app.service.add_webhook(&slow.id, &rx.url, &[]).await.expect("add");
    link_guest(&app, &slow).await;
    rx.wait_for(1, WAIT, "the hanging attempt").await;
    let d = wait_for_status(&app, &slow.id, "pending").await;
    assert!(d.last_error.as_deref().is_some_and(|e| e.contains("no answer")), "{d:?}");
    app.clock.advance(time::Duration::seconds(1));
    rx.wait_for(2, WAIT, "retried after the timeout").await;
    assert_eq!(wait_for_status(&app, &slow.id, "delivered").await.attempts, 2);
}

/// Waits until delivery `id` has `attempts` attempts recorded and is no longer being sent:
/// the clock may only move once the dispatcher has scheduled the retry.
async fn wait_recorded(app: &TestApp, client: &str, id: &str, attempts: i32) -> kc_store::WebhookDeliveryRecord {
    let until = Instant::now() + WAIT;
    loop {
        let list = app.service.webhook_deliveries(client, 50).await.expect("deliveries");
        if let Some(d) = list.iter().find(|d| d.id == id && d.attempts == attempts && d.status != "sending") {
            return d.clone();
        }
        assert!(Instant::now() < until, "{id}: {attempts} attempts recorded: {list:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_for_delivery_attempts(app: &TestApp, client: &str, n: i32) -> kc_store::WebhookDeliveryRecord {
    let until = Instant::now() + WAIT;
    loop {
        let list = app.service.webhook_deliveries(client, 10).await.expect("deliveries");
        if let Some(d) = list.first().filter(|d| d.attempts >= n && d.status != "sending") {
            return d.clone();
        }
        assert!(Instant::now() < until, "{n} attempts expected: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_status(app: &TestApp, client: &str, status: &str) -> kc_store::WebhookDeliveryRecord {
    let until = Instant::now() + WAIT;
    loop {
        let list = app.service.webhook_deliveries(client, 10).await.expect("deliveries");
        if let Some(d) = list.first().filter(|d| d.status == status) {
            return d.clone();
        }
        assert!(Instant::now() < until, "status {status} expected: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Administration takes effect.

#[tokio::test]
async fn rotation_removal_event_filters_and_foreign_grants_take_effect() {
    let app = spawn_fast(Db::Sqlite).await;
    let creds = app.client().await;
    let other = app.client().await;
    let (all, only_revoked) = (Receiver::start().await, Receiver::start().await);
    let (ep, old_secret) = app.service.add_webhook(&creds.id, &all.url, &[]).await.expect("add");
    let (_, revoked_secret) =
        app.service.add_webhook(&creds.id, &only_revoked.url, &["grant.revoked".to_owned()]).await.expect("add");
    let others = Receiver::start().await;
    app.service.add_webhook(&other.id, &others.url, &[]).await.expect("add");

    let g = link_guest(&app, &creds).await;
    let hit = all.wait_for(1, WAIT, "grant.created").await.remove(0);
    assert_signed(&hit, old_secret.expose(), None);

    let new_secret = app.service.rotate_webhook_secret(&creds.id, &ep.id).await.expect("rotate");
    assert_ne!(new_secret.expose(), old_secret.expose());
    revoke(&app, &creds, &g.grant_id).await;
    let hit = all.wait_for(2, WAIT, "grant.revoked").await.remove(1);
    assert_signed(&hit, new_secret.expose(), None);
    let at = OffsetDateTime::parse(&hit.header("x-webhook-timestamp"), &Rfc3339).expect("timestamp");
    assert!(
        verify_webhook(
            old_secret.expose(),
            &hit.body,
            &hit.header("x-webhook-signature"),
            &hit.header("x-webhook-timestamp"),
            at,
            time::Duration::minutes(5)
        )
        .is_err(),
        "the old secret no longer signs"
    );
    let filtered = only_revoked.wait_for(1, WAIT, "the filtered endpoint").await;
    assert_eq!(filtered[0].event(), "grant.revoked");
    assert_signed(&filtered[0], revoked_secret.expose(), None);
    only_revoked.assert_quiet(1, QUIET, "grant.created is filtered out").await;
    others.assert_quiet(0, Duration::ZERO, "another client's grants are not delivered to this one").await;

    assert!(app.service.remove_webhook(&other.id, &ep.id).await.is_err(), "another client cannot remove it");
    app.service.remove_webhook(&creds.id, &ep.id).await.expect("remove");
    assert!(app.service.remove_webhook(&creds.id, &ep.id).await.is_err(), "removing twice is an error");
    link_guest(&app, &creds).await;
    all.assert_quiet(2, QUIET, "a removed endpoint gets nothing").await;
    let listed = app.service.list_webhooks(&creds.id).await.expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
}

// ---------------------------------------------------------------------------------------
// Real processes: crashes and several dispatchers.

/// Settings every process of a test shares: one credentials key (so all can open the
/// endpoint secrets) and fast webhook timings.
fn shared_env() -> Vec<(String, String)> {
    let key = CredentialCipher::generate_key(&OsSecretRng);
    vec![
        ("KRYPTOS__SECURITY__CREDENTIALS_KEYS__WHTEST".into(), key),
        ("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY".into(), "whtest".into()),
        ("KRYPTOS__WEBHOOKS__TIMEOUT_SECS".into(), "3".into()),
        ("KRYPTOS__WEBHOOKS__FIRST_BACKOFF_MS".into(), "200".into()),
        ("KRYPTOS__WEBHOOKS__POLL_INTERVAL_MS".into(), "50".into()),
    ]
}

/// Runs `kryptos-connect ARGS` on `database_url` with `env`; returns (success, stdout, stderr).
pub async fn run_cli(database_url: &str, env: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("kc-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let mut cmd = binary_command(database_url, &dir);
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).args(args);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("`{}` finishes within 60 s", args.join(" ")))
        .expect("the binary starts");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `clients webhooks add --json`: the endpoint's id and secret.
async fn cli_add_webhook(database_url: &str, env: &[(String, String)], client: &str, url: &str) -> (String, String) {
    let (ok, out, err) =
        run_cli(database_url, env, &["clients", "webhooks", "add", "--client", client, "--url", url, "--json"]).await;
    assert!(ok, "webhooks add: {out}\n{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("JSON ({e}): {out}"));
    (v["id"].as_str().expect("id").to_owned(), v["secret"].as_str().expect("secret").to_owned())
}

async fn cli_deliveries(database_url: &str, env: &[(String, String)], client: &str) -> Vec<Value> {
    let (ok, out, err) =
        run_cli(database_url, env, &["clients", "webhooks", "deliveries", "--client", client, "--json"]).await;
    assert!(ok, "webhooks deliveries: {out}\n{err}");
    serde_json::from_str::<Value>(out.trim())
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_else(|| panic!("{out}"))
}

/// A `kryptos-connect serve` process with extra environment, killed (SIGKILL) on drop or by
/// [`Proc::kill`].
struct Proc {
    node: Node,
    child: tokio::process::Child,
    dir: PathBuf,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    async fn start(database_url: &str, env: &[(String, String)]) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let dir = std::env::temp_dir().join(format!("kc-wh-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let mut cmd = binary_command(database_url, &dir);
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("start the binary");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut l = lock(&sink);
                if l.len() == 200 {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some((_, b)) = line.split_once("Kryptos Connect is listening on ") {
                    return Some(b.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!("the server did not start; log:\n{}", lock(&log).iter().cloned().collect::<Vec<_>>().join("\n"))
        });
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        Self { node: Node::new(&base), child, dir, log }
    }

    /// SIGKILL: no graceful shutdown, no chance to finish anything.
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- log of {} ---\n{}",
                self.node.base,
                lock(&self.log).iter().cloned().collect::<Vec<_>>().join("\n")
            );
        }
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_delivery_committed_by_a_server_killed_before_sending_goes_out_after_restart() {
    let (url, _dir) = fresh_database(Db::Sqlite).await;
    let env = shared_env();
    let creds = cli_create_client(&url, "Crash app").await;
    let rx = Receiver::start().await;
    let (_, secret) = cli_add_webhook(&url, &env, &creds.id, &rx.url).await;

    // A process that commits grants but sends nothing, killed right after the exchange.
    let mut quiet_env = env.clone();
    quiet_env.push(("KRYPTOS__WEBHOOKS__DISPATCHERS".into(), "0".into()));
    let a = Proc::start(&url, &quiet_env).await;
    let (_, grant) = a.node.access_token(&creds).await;
    a.kill().await;
    rx.assert_quiet(0, Duration::from_millis(300), "nothing sent before the crash").await;

    let b = Proc::start(&url, &env).await;
    let hits = rx.wait_for(1, Duration::from_secs(30), "delivered by the restarted server").await;
    assert_eq!((hits[0].event(), hits[0].grant()), ("grant.created".to_owned(), grant));
    assert_signed(&hits[0], &secret, Some(OffsetDateTime::now_utc()));
    rx.assert_quiet(1, QUIET, "once").await;
    drop(b);
}

#[tokio::test]
async fn a_delivery_in_flight_when_its_server_is_killed_is_sent_again_after_the_lease_lapses() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let env = shared_env();
    let creds = cli_create_client(&url, "Crash app").await;
    let rx = Receiver::start().await;
    let (_, secret) = cli_add_webhook(&url, &env, &creds.id, &rx.url).await;
    rx.then(&[Reply::Hang]);

    let a = Proc::start(&url, &env).await;
    let (_, grant) = a.node.access_token(&creds).await;
    let first = rx.wait_for(1, Duration::from_secs(30), "the first attempt reaches the receiver").await;
    a.kill().await; // mid-request: the receiver never answered

    let b = Proc::start(&url, &env).await;
    let hits = rx.wait_for(2, Duration::from_secs(40), "sent again once the lease lapsed").await;
    assert_eq!(hits[1].id(), first[0].id(), "the same delivery, deduplicable by X-Webhook-Id");
    assert_eq!((hits[1].event(), hits[1].grant()), ("grant.created".to_owned(), grant));
    assert_signed(&hits[1], &secret, Some(OffsetDateTime::now_utc()));
    let until = Instant::now() + WAIT;
    loop {
        let list = cli_deliveries(&url, &env, &creds.id).await;
        if list.first().is_some_and(|d| d["status"] == "delivered") {
            assert_eq!(list.len(), 1, "{list:?}");
            break;
        }
        assert!(Instant::now() < until, "recorded as delivered: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(b);
}

#[tokio::test]
async fn two_processes_deliver_each_event_exactly_once() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let mut env = shared_env();
    env.push(("KRYPTOS__WEBHOOKS__DISPATCHERS".into(), "3".into()));
    let creds = cli_create_client(&url, "Busy app").await;
    let rx = Receiver::start().await;
    rx.delay(Duration::from_millis(30));
    let (_, secret) = cli_add_webhook(&url, &env, &creds.id, &rx.url).await;
    let (a, b) = tokio::join!(Proc::start(&url, &env), Proc::start(&url, &env));
    let nodes = [&a.node, &b.node];
    let creds = &creds;

    const GRANTS: usize = 12;
    let grants: Vec<String> =
        futures::future::join_all((0..GRANTS).map(|i| async move { nodes[i % 2].access_token(creds).await.1 })).await;
    futures::future::join_all(grants.iter().enumerate().map(|(i, g)| async move {
        let a = nodes[(i + 1) % 2].post("/token/revoke", creds, json!({ "grant_id": g })).await;
        assert_eq!(a.status.as_u16(), 200, "revoke {g}: {}", a.body);
    }))
    .await;

    let hits = rx.wait_for(2 * GRANTS, Duration::from_secs(60), "every event").await;
    rx.assert_quiet(2 * GRANTS, Duration::from_secs(2), "no event twice").await;
    let now = OffsetDateTime::now_utc();
    let mut by_grant: HashMap<String, Vec<String>> = HashMap::new();
    let mut ids = HashSet::new();
    for h in &hits {
        assert_signed(h, &secret, Some(now));
        assert!(ids.insert(h.id()), "delivery {} sent twice", h.id());
        by_grant.entry(h.grant()).or_default().push(h.event());
    }
    for g in &grants {
        assert_eq!(
            by_grant.get(g).map(Vec::as_slice),
            Some(&["grant.created".to_owned(), "grant.revoked".to_owned()][..]),
            "{g}"
        );
    }
    let list = cli_deliveries(&url, &env, &creds.id).await;
    assert_eq!(list.len(), 2 * GRANTS);
    assert!(list.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{list:?}");
}

// ---------------------------------------------------------------------------------------
// The command line.

#[tokio::test]
async fn the_webhooks_cli_adds_lists_rotates_and_removes_endpoints() {
    let (url, _dir) = fresh_database(Db::Sqlite).await;
    let env = shared_env();
    let sandbox = cli_create_client(&url, "Sandbox app").await;
    let (ok, out, err) =
        run_cli(&url, &env, &["clients", "create", "--name", "Prod app", "--mode", "production", "--json"]).await;
    assert!(ok, "{out}{err}");
    let production: Value = serde_json::from_str(out.trim()).expect("JSON");
    let production = production["client_id"].as_str().expect("client_id").to_owned();

    // Adding: the secret is shown once, with the endpoint.
    let (ok, out, err) = run_cli(
        &url,
        &env,
        &["clients", "webhooks", "add", "--client", &sandbox.id, "--url", "http://127.0.0.1:9/hook", "--json"],
    )
    .await;
    assert!(ok, "sandbox + http://127.0.0.1: {out}{err}");
    let added: Value = serde_json::from_str(out.trim()).expect("JSON");
    let (id, secret) =
        (added["id"].as_str().expect("id").to_owned(), added["secret"].as_str().expect("secret").to_owned());
    assert!(id.starts_with("wh_") && secret.starts_with("whsec_") && secret.len() >= 49, "{added}");
    assert_eq!((added["all_events"].clone(), added["events"].clone()), (json!(true), json!([])));
    assert_eq!(added["client_id"], json!(sandbox.id));
    let (ok, out, err) = run_cli(
        &url,
        &env,
        &[
            "clients",
            "webhooks",
            "add",
            "--client",
            &sandbox.id,
            "--url",
            "https://hooks.example.com/k",
            "--event",
            "grant.created",
            "--event",
            "integration.failed",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("secret:     whsec_") && out.contains("grant.created, integration.failed"), "{out}");
    assert!(out.contains("shown only once"), "{out}");

    // Refusals, each with a reason.
    let cases: [(&str, &str, &[&str], &str); 5] = [
        ("sandbox, plain http elsewhere", &sandbox.id, &["--url", "http://hooks.example.com/"], "https"),
        ("production, http to localhost", &production, &["--url", "http://127.0.0.1:9/hook"], "https"),
        (
            "unknown event",
            &sandbox.id,
            &["--url", "https://x.example.com/", "--event", "grant.deleted"],
            "unknown event",
        ),
        ("not a URL", &sandbox.id, &["--url", "hooks"], "not a URL"),
        ("unknown client", "kc_AAAAAAAAAAAAAAAAAAAAAA", &["--url", "https://x.example.com/"], "no client"),
    ];
    for (case, client, extra, reason) in cases {
        let mut args = vec!["clients", "webhooks", "add", "--client", client];
        args.extend_from_slice(extra);
        let (ok, out, err) = run_cli(&url, &env, &args).await;
        assert!(!ok, "{case}: refused; got {out}");
        assert!(err.contains(reason), "{case}: says `{reason}`: {err}");
    }
    let (ok, out, err) = run_cli(
        &url,
        &env,
        &["clients", "webhooks", "add", "--client", &production, "--url", "https://hooks.example.com/p", "--json"],
    )
    .await;
    assert!(ok, "production + https: {out}{err}");

    // Listing never shows a secret.
    let (ok, out, _) = run_cli(&url, &env, &["clients", "webhooks", "list", "--client", &sandbox.id, "--json"]).await;
    assert!(ok);
    let list: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert!(!out.contains("whsec_") && list[0].get("secret").is_none(), "{out}");
    assert_eq!(list[0]["id"], json!(id));
    assert_eq!(list[1]["events"], json!(["grant.created", "integration.failed"]));
    let (ok, out, _) = run_cli(&url, &env, &["clients", "webhooks", "list", "--client", &sandbox.id]).await;
    assert!(ok && out.contains(&id) && out.contains("events: all") && !out.contains("whsec_"), "{out}");

    // Rotation prints a new secret once.
    let (ok, out, err) =
        run_cli(&url, &env, &["clients", "webhooks", "rotate-secret", "--client", &sandbox.id, "--id", &id, "--json"])
            .await;
    assert!(ok, "{out}{err}");
    let rotated: Value = serde_json::from_str(out.trim()).expect("JSON");
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret, "{rotated}");
    let (ok, _, err) =
        run_cli(&url, &env, &["clients", "webhooks", "rotate-secret", "--client", &production, "--id", &id]).await;
    assert!(!ok && err.contains("no webhook"), "another client's endpoint: {err}");

    // Removal.
    let (ok, out, err) =
        run_cli(&url, &env, &["clients", "webhooks", "remove", "--client", &sandbox.id, "--id", &id]).await;
    assert!(ok && out.contains("removed"), "{out}{err}");
    let (ok, _, err) =
        run_cli(&url, &env, &["clients", "webhooks", "remove", "--client", &sandbox.id, "--id", &id]).await;
    assert!(!ok && err.contains("no webhook"), "removing twice: {err}");
    let (_, out, _) = run_cli(&url, &env, &["clients", "webhooks", "list", "--client", &sandbox.id, "--json"]).await;
    let list: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(cli_deliveries(&url, &env, &sandbox.id).await.is_empty());
}
