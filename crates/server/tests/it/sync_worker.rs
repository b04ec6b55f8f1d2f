//! The balance-sync worker seen from outside: a production client connects wallets through
//! the widget, the server's workers read them from a fake EVM JSON-RPC node (a real HTTP
//! server on 127.0.0.1 speaking batched `eth_getBalance` / `eth_call`), and the Data API
//! shows the outcome — exact balances, or a `FAILED` integration with a readable `message`.
//!
//! The worker runs on the application's manual clock, so retry backoff is crossed by moving
//! the clock, never by sleeping. Every wait is a bounded poll.
//!
//! [`FakeEvmNode`] is shared with `data_api` (a second wallet holding the same asset).

use crate::data_api::{
    connect_guest, data_get, production_client, spawn_with, wait_until_settled, wallet, Connected, SANDBOX_ETH,
    SYNC_DEADLINE,
};
use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------
// A fake EVM JSON-RPC node (also used by `data_api`).
// ---------------------------------------------------------------------------------------

/// How the fake node answers one HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// The balances it was given (unknown addresses hold nothing).
    Answer,
    /// A JSON-RPC error object for every call of the batch.
    RpcError,
    /// HTTP 200 with an HTML page instead of JSON.
    NotJson,
    /// Well-formed JSON-RPC whose results are numbers, not hex strings.
    NumericResults,
    /// HTTP 502 with a plain-text body.
    BadGateway,
    /// Accepts the request and never answers.
    Silent,
}

/// The JSON-RPC error the node sends in [`Behaviour::RpcError`].
pub(crate) const RPC_ERROR_CODE: i64 = -32005;
/// Its message.
pub(crate) const RPC_ERROR_MESSAGE: &str = "daily request limit reached";

/// What an address holds on the fake node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holdings {
    /// Native balance in wei.
    pub wei: u128,
    /// ERC-20 balances in the token's smallest unit, by contract (any case).
    pub tokens: Vec<(String, u128)>,
}

/// One `eth_getBalance` the node received: the URL path it came in on, and the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BalanceCall {
    pub path: String,
    pub address: String,
}

#[derive(Default)]
struct NodeState {
    holdings: HashMap<String, Holdings>,
    /// Behaviours for the next requests, in order; then `then`.
    script: VecDeque<Behaviour>,
    then: Option<Behaviour>,
    delay: Duration,
    balance_calls: Vec<BalanceCall>,
    requests: Vec<Value>,
}

/// A running fake node; it stops with the test's runtime.
#[derive(Clone)]
pub(crate) struct FakeEvmNode {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<Mutex<NodeState>>,
}

impl FakeEvmNode {
    /// A node on a random port that answers [`Behaviour::Answer`] and knows no address yet.
    pub(crate) async fn start() -> Self {
        let state = Arc::new(Mutex::new(NodeState::default()));
        let app = Router::new().route("/", post(on_rpc)).route("/{*path}", post(on_rpc)).with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake RPC node");
        let url = format!("http://{}", listener.local_addr().expect("fake node address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `address` holds `holdings` from now on.
    pub(crate) fn hold(&self, address: &str, holdings: Holdings) {
        self.lock().holdings.insert(address.to_ascii_lowercase(), holdings);
    }

    /// Every later request is answered with `b`.
    pub(crate) fn always(&self, b: Behaviour) {
        self.lock().then = Some(b);
    }

    /// The next request is answered with `b` (queued after earlier `next` calls).
    pub(crate) fn next(&self, b: Behaviour) {
        self.lock().script.push_back(b);
    }

    /// Every reply waits `d` first (to keep several workers busy at once).
    pub(crate) fn delay_replies(&self, d: Duration) {
        self.lock().delay = d;
    }

    /// Every `eth_getBalance` received so far, in arrival order.
    pub(crate) fn balance_calls(&self) -> Vec<BalanceCall> {
        self.lock().balance_calls.clone()
    }

    /// How many times each address's native balance was asked for.
    pub(crate) fn balance_calls_per_address(&self) -> HashMap<String, usize> {
        let mut n = HashMap::new();
        for c in self.balance_calls() {
            *n.entry(c.address).or_insert(0) += 1;
        }
        n
    }

    /// Every request body received so far (a batch is one body).
    pub(crate) fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }
}

fn rpc_ok(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn rpc_err(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

async fn on_rpc(State(state): State<Arc<Mutex<NodeState>>>, uri: Uri, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "request is not JSON").into_response();
    };
    let calls: Vec<Value> = match &body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let (behaviour, delay, holdings) = {
        let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.requests.push(body.clone());
        for c in &calls {
            if c["method"] == "eth_getBalance" {
                let address = c["params"][0].as_str().unwrap_or_default().to_ascii_lowercase();
                s.balance_calls.push(BalanceCall { path: uri.path().to_owned(), address });
            }
        }
        let b = s.script.pop_front().or(s.then).unwrap_or(Behaviour::Answer);
        (b, s.delay, s.holdings.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match behaviour {
        Behaviour::Silent => {
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes")
        }
        Behaviour::NotJson => {
            (StatusCode::OK, [("content-type", "text/html")], "<html><body>Welcome to nginx!</body></html>")
                .into_response()
        }
        Behaviour::BadGateway => (StatusCode::BAD_GATEWAY, "upstream unavailable").into_response(),
        Behaviour::NumericResults => {
            let replies: Vec<Value> = calls.iter().map(|c| rpc_ok(&c["id"], json!(12345))).collect();
            axum::Json(Value::Array(replies)).into_response()
        }
        Behaviour::RpcError => {
            let replies: Vec<Value> =
                calls.iter().map(|c| rpc_err(&c["id"], RPC_ERROR_CODE, RPC_ERROR_MESSAGE)).collect();
            axum::Json(Value::Array(replies)).into_response()
        }
        Behaviour::Answer => {
            let replies: Vec<Value> = calls
                .iter()
                .map(|c| {
                    let id = &c["id"];
                    match c["method"].as_str() {
                        Some("eth_getBalance") => {
                            let address = c["params"][0].as_str().unwrap_or_default().to_ascii_lowercase();
                            let wei = holdings.get(&address).map_or(0, |h| h.wei);
                            rpc_ok(id, json!(format!("0x{wei:x}")))
                        }
                        Some("eth_call") => {
                            let contract = c["params"][0]["to"].as_str().unwrap_or_default().to_ascii_lowercase();
                            let data = c["params"][0]["data"].as_str().unwrap_or_default().to_ascii_lowercase();
                            // balanceOf(address): the holder is the last 40 hex digits of the call data.
                            let holder = format!("0x{}", &data[data.len().saturating_sub(40)..]);
                            let units = holdings
                                .get(&holder)
                                .and_then(|h| h.tokens.iter().find(|(t, _)| t.eq_ignore_ascii_case(&contract)))
                                .map_or(0, |(_, u)| *u);
                            rpc_ok(id, json!(format!("0x{units:064x}")))
                        }
                        _ => rpc_err(id, -32601, "method not found"),
                    }
                })
                .rev() // answer in reverse order: replies are matched by id
                .collect();
            axum::Json(Value::Array(replies)).into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Vocabulary of these tests.
// ---------------------------------------------------------------------------------------

/// A valid, non-test Ethereum address (EIP-55 spelling) and its lowercase form.
const HOLDER: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const HOLDER_LOWER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
/// Well-known Ethereum tokens the server reads by default.
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const DAI: &str = "0x6b175474e89094c44da98b954eedeac495271d0f";
const WEI_PER_ETH: u128 = 1_000_000_000_000_000_000;

/// The one integration of `c`, as the Data API lists it.
async fn only_integration(app: &TestApp, c: &Connected) -> Value {
    let listed = data_get(app, "/api/v1/integrations", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(listed.status, 200, "list integrations: {}", listed.text);
    let data = listed.body["data"].as_array().unwrap_or_else(|| panic!("a data array: {}", listed.text)).clone();
    assert_eq!(data.len(), 1, "exactly one integration: {}", listed.text);
    data[0].clone()
}

/// Asserts that the server still answers its health check, readiness and the Data API.
async fn assert_still_serving(app: &TestApp, c: &Connected, what: &str) {
    let health = data_get(app, "/api/health", None, None).await;
    assert_eq!((health.status, &health.body["status"]), (200, &json!("OK")), "{what}: /api/health; {}", health.text);
    let ready = app.send(reqwest::Method::GET, "/readyz", None, None, None).await;
    assert_eq!(ready.status.as_u16(), 200, "{what}: /readyz; body {}", ready.body);
    let me = data_get(app, "/api/v1/userinfo", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(me.status, 200, "{what}: userinfo; {}", me.text);
    let holdings = data_get(app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(holdings.status, 200, "{what}: holdings; {}", holdings.text);
}

/// Polls (at most `deadline`) until `ok` holds, failing with `what` and the last value seen.
async fn eventually<T: std::fmt::Debug>(
    what: &str,
    deadline: Duration,
    mut probe: impl AsyncFnMut() -> T,
    ok: impl Fn(&T) -> bool,
) -> T {
    let until = Instant::now() + deadline;
    loop {
        let v = probe().await;
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < until, "{what}: not reached within {deadline:?}; last seen {v:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------
// (1) A configured RPC node: the exact balances reach the Data API.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wallet_on_a_configured_rpc_node_syncs_its_exact_balances() {
    let node = FakeEvmNode::start().await;
    node.hold(
        HOLDER,
        Holdings {
            wei: 2_250_000_000_000_000_000,
            // 1234.56789 USDC (6 decimals) and a single wei-sized unit of DAI (18 decimals).
            tokens: vec![(USDC.to_owned(), 1_234_567_890), (DAI.to_owned(), 1)],
        },
    );
    let app = spawn_with(Db::Sqlite, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", HOLDER)]).await;

    let listed = wait_until_settled(&app, &c).await;
    let i = &listed[0];
    assert_eq!(i["status"], json!("COMPLETED"), "the integration synced: {i}");
    assert_eq!(i["publicAddress"], json!(HOLDER_LOWER), "the address is stored normalized: {i}");
    assert!(i.get("message").is_none(), "no error message after a good sync: {i}");
    assert!(i["lastSyncedAt"].as_i64().is_some_and(|t| t > 0), "lastSyncedAt is set: {i}");

    // What the node was asked: one batch with the native balance and every default token.
    let calls = node.balance_calls();
    assert_eq!(calls.len(), 1, "one eth_getBalance per sync: {calls:?}");
    assert_eq!(calls[0].address, HOLDER_LOWER, "the balance of the connected address was read");
    let batch = node.requests().remove(0);
    let items = batch.as_array().unwrap_or_else(|| panic!("the node got a JSON-RPC batch: {batch}"));
    assert_eq!(items[0]["params"], json!([HOLDER_LOWER, "latest"]), "eth_getBalance at latest: {batch}");
    let balance_of = format!("0x70a08231{:0>64}", HOLDER_LOWER.trim_start_matches("0x"));
    assert!(
        items.iter().skip(1).all(|c| c["method"] == "eth_call" && c["params"][0]["data"] == json!(balance_of)),
        "every other call is balanceOf(holder): {batch}"
    );
    assert_eq!(items.len(), 6, "native + the five well-known Ethereum tokens: {batch}");

    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(h.status, 200, "holdings: {}", h.text);
    let rows: Vec<(String, Value, Value, Value)> = h.body["holdings"]
        .as_array()
        .unwrap_or_else(|| panic!("a holdings array: {}", h.text))
        .iter()
        .map(|x| {
            (
                x["asset"]["symbol"].as_str().unwrap_or_default().to_owned(),
                x["totalQuantity"].clone(),
                x["marketPrice"].clone(),
                x["marketValue"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["ETH", "USDC", "DAI"],
        "zero-balance tokens are left out, largest value first: {}",
        h.text
    );
    assert_eq!((&rows[0].1, &rows[0].2, &rows[0].3), (&json!(2.25), &json!(3000), &json!(6750)), "ETH: {}", h.text);
    assert_eq!((&rows[1].2, &rows[1].3), (&json!(1), &json!(1234.56789)), "USDC price and value: {}", h.text);
    for exact in [
        r#""totalQuantity":2.25"#,
        r#""totalQuantity":1234.56789"#,
        // 1 unit of an 18-decimals token: an f64 would print 1e-18.
        r#""totalQuantity":0.000000000000000001"#,
        r#""totalValue":7984.56789"#,
    ] {
        assert!(h.text.contains(exact), "the raw JSON carries {exact} with every digit: {}", h.text);
    }
    assert_still_serving(&app, &c, "after a good sync").await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// (2) A broken node: the integration fails for good with a readable message.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_broken_rpc_node_fails_the_integration_with_a_readable_message_and_the_server_keeps_serving() {
    let cases = [
        (Behaviour::RpcError, "RPC error -32005: daily request limit reached"),
        (Behaviour::NotJson, "reply is not JSON"),
        (Behaviour::NumericResults, "eth_getBalance returned a number, not a hex string"),
        (Behaviour::BadGateway, "HTTP 502"),
        (Behaviour::Silent, "no reply within 1s"),
    ];
    for (behaviour, expected) in cases {
        let what = format!("{behaviour:?}");
        let node = FakeEvmNode::start().await;
        node.always(behaviour);
        let app = spawn_with(Db::Sqlite, |s| {
            s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
            s.chains.timeout_secs = 1;
            s.sync.max_attempts = 1;
        })
        .await;
        let creds = production_client(&app).await;
        let c = connect_guest(&app, &creds, None, &[wallet("ethereum", HOLDER)]).await;

        let listed = wait_until_settled(&app, &c).await;
        let i = &listed[0];
        assert_eq!(i["status"], json!("FAILED"), "{what}: one attempt allowed, so the integration failed: {i}");
        let message = i["message"].as_str().unwrap_or_else(|| panic!("{what}: a message: {i}"));
        assert!(message.contains(expected), "{what}: the message says why ({expected:?}): {message}");
        assert!(
            !message.contains("127.0.0.1") && !message.contains(&node.url),
            "{what}: the message never shows the RPC URL (it may hold a key): {message}"
        );
        assert!(i.get("lastSyncedAt").is_none_or(Value::is_null), "{what}: never synced: {i}");
        assert_eq!(node.balance_calls().len(), 1, "{what}: max_attempts = 1 means one try");

        let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
        assert_eq!(h.body["holdings"], json!([]), "{what}: a failed wallet holds nothing: {}", h.text);
        assert_still_serving(&app, &c, &what).await;
        // A second, healthy workspace on the same server is unaffected.
        let sandbox = app.client().await;
        let other = connect_guest(&app, &sandbox, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
        let listed = wait_until_settled(&app, &other).await;
        assert_eq!(listed[0]["status"], json!("COMPLETED"), "{what}: other syncs still run: {}", listed[0]);
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------
// (3) A transient failure is retried after the backoff.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_transient_rpc_failure_is_retried_after_the_backoff_and_then_syncs() {
    let node = FakeEvmNode::start().await;
    node.hold(HOLDER, Holdings { wei: 3 * WEI_PER_ETH / 4, tokens: vec![] });
    node.next(Behaviour::RpcError);
    let app = spawn_with(Db::Sqlite, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
        s.sync.max_attempts = 2;
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", HOLDER)]).await;

    // The first attempt fails; the integration waits for its retry, showing why.
    let i = eventually(
        "the first attempt is recorded",
        SYNC_DEADLINE,
        async || only_integration(&app, &c).await,
        |i| i["message"].is_string(),
    )
    .await;
    assert_eq!(i["status"], json!("ONGOING"), "queued again for a retry (a sync has run), not failed: {i}");
    assert!(i["message"].as_str().is_some_and(|m| m.contains(RPC_ERROR_MESSAGE)), "why it is retried: {i}");

    // The clock has not moved: the 5 s backoff holds the retry back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(node.balance_calls().len(), 1, "no retry before the backoff elapsed");
    app.clock.advance(time::Duration::seconds(4));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(node.balance_calls().len(), 1, "no retry 4 s after the failure");

    app.clock.advance(time::Duration::seconds(1));
    let listed = wait_until_settled(&app, &c).await;
    let i = &listed[0];
    assert_eq!(i["status"], json!("COMPLETED"), "the second attempt synced: {i}");
    assert!(i.get("message").is_none(), "the old error is cleared: {i}");
    assert_eq!(node.balance_calls().len(), 2, "exactly one retry");
    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(h.body["holdings"][0]["totalQuantity"], json!(0.75), "the balance of the retry: {}", h.text);
    app.stop().await;
}

/// A worker stuck on a node past its 120 s lease loses the job to another worker; when its
/// late answer (here: a timeout) finally comes, it must not overwrite the job's outcome.
#[tokio::test]
async fn a_worker_that_outlives_its_lease_cannot_overwrite_the_job_another_worker_took_over() {
    let node = FakeEvmNode::start().await;
    node.hold(HOLDER, Holdings { wei: WEI_PER_ETH, tokens: vec![] });
    node.next(Behaviour::Silent);
    let app = spawn_with(Db::Sqlite, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
        s.chains.timeout_secs = 2;
        s.sync.workers = 2;
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", HOLDER)]).await;

    eventually(
        "the first worker is waiting on the node",
        SYNC_DEADLINE,
        async || node.balance_calls().len(),
        |n| *n == 1,
    )
    .await;
    // The lease (120 s on the worker's clock) lapses: the other worker takes the job over.
    app.clock.advance(time::Duration::seconds(121));
    let listed = wait_until_settled(&app, &c).await;
    assert_eq!(listed[0]["status"], json!("COMPLETED"), "the second worker synced it: {}", listed[0]);
    assert_eq!(node.balance_calls().len(), 2, "read once by each worker");

    // The first worker times out (2 s) afterwards; its failure must be discarded.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let i = only_integration(&app, &c).await;
        assert_eq!(i["status"], json!("COMPLETED"), "the late failure does not overwrite the sync: {i}");
        assert!(i.get("message").is_none(), "no stale error message appears: {i}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(node.balance_calls().len(), 2, "the stale worker's failure queued no retry");
    let h = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(h.body["holdings"][0]["totalQuantity"], json!(1), "the balances stand: {}", h.text);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// (4) Nothing to read a chain with.
// ---------------------------------------------------------------------------------------

/// A valid Solana address that is not the sandbox test address (the System Program id).
const SOLANA_OTHER: &str = "11111111111111111111111111111111";
/// The genesis block's P2PKH address.
const BITCOIN_GENESIS: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";

#[tokio::test]
async fn a_chain_without_an_rpc_endpoint_fails_with_a_no_rpc_endpoint_message() {
    // No `chains.rpc_urls` at all: only the sandbox test addresses can be read.
    let app = spawn_with(Db::Sqlite, |_| {}).await;
    let creds = production_client(&app).await;
    let cases = [
        ("ethereum", HOLDER, "No RPC endpoint is configured for ethereum"),
        // The sandbox address is only special on the chains it was documented for.
        ("polygon", SANDBOX_ETH, "No RPC endpoint is configured for polygon"),
        ("solana", SOLANA_OTHER, "No RPC endpoint is configured for solana"),
        ("bitcoin", BITCOIN_GENESIS, "No RPC endpoint is configured for bitcoin"),
    ];
    for (provider, address, expected) in cases {
        let what = format!("{provider} {address}");
        let c = connect_guest(&app, &creds, None, &[wallet(provider, address)]).await;
        let listed = wait_until_settled(&app, &c).await;
        let i = &listed[0];
        assert_eq!(i["status"], json!("FAILED"), "{what}: fails (for good, at once): {i}");
        assert!(
            i["message"].as_str().is_some_and(|m| m.contains(expected)),
            "{what}: the message names the missing endpoint ({expected:?}): {i}"
        );
        assert_still_serving(&app, &c, &what).await;
    }
    // An exchange without a connector on this server (KuCoin) is refused when added, saying
    // so; exchanges with one are checked against the exchange (tests/it/exchanges.rs).
    let link = app.post("/link-token", &creds, json!({})).await.data()["link_token"].as_str().map(str::to_owned);
    let link = link.expect("a link token");
    app.send(reqwest::Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
    app.send(reqwest::Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    let kucoin = json!({"provider": "kucoin", "apiKey": "k", "secretKey": "s", "password": "p"});
    let refused = app.send(reqwest::Method::POST, "/widget/integrations", None, Some(&link), Some(kucoin)).await;
    assert_eq!(refused.status.as_u16(), 400, "an exchange without a connector: {}", refused.body);
    assert!(refused.body.to_string().contains("cannot be connected on this server"), "{}", refused.body);
    // The sandbox test address still syncs on a production server without endpoints.
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let listed = wait_until_settled(&app, &c).await;
    assert_eq!(listed[0]["status"], json!("COMPLETED"), "the sandbox address: {}", listed[0]);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// (5) Several workers in several nodes drain one queue, each job exactly once.
// ---------------------------------------------------------------------------------------

/// The `n`-th distinct test address (all lowercase, so no checksum applies).
fn address(n: usize) -> String {
    format!("0x{:040x}", 0xabc0_0000_u64 + n as u64)
}

/// Connects `count` wallets (each a distinct address holding `n/10` ETH on `node`) through
/// the first app, lets every app's workers drain the queue, and checks each address was read
/// exactly once and every integration synced.
async fn drain_once(apps: &[&TestApp], node: &FakeEvmNode, count: usize) {
    let first = apps[0];
    let addresses: Vec<String> = (1..=count).map(address).collect();
    for (n, a) in addresses.iter().enumerate() {
        node.hold(a, Holdings { wei: (n as u128 + 1) * WEI_PER_ETH / 10, tokens: vec![] });
    }
    // Every reply takes a while, so all workers are busy at once and the queue backs up.
    node.delay_replies(Duration::from_millis(100));
    let creds = production_client(first).await;
    let wallets: Vec<Value> = addresses.iter().map(|a| wallet("ethereum", a)).collect();
    let c = connect_guest(first, &creds, None, &wallets).await;

    let listed = wait_until_settled(first, &c).await;
    assert_eq!(listed.len(), count, "every integration is listed");
    for i in &listed {
        assert_eq!(i["status"], json!("COMPLETED"), "every integration synced: {i}");
    }
    let per_address = node.balance_calls_per_address();
    for a in &addresses {
        assert_eq!(per_address.get(a), Some(&1), "{a} was read exactly once; all reads: {per_address:?}");
    }
    assert_eq!(node.balance_calls().len(), count, "no read beyond one per integration");
    // Every app served some of the work (each app's node URL has its own path).
    if apps.len() > 1 {
        for (n, _) in apps.iter().enumerate() {
            let path = format!("/node{n}");
            let served = node.balance_calls().iter().filter(|c| c.path == path).count();
            assert!(served > 0, "the workers of node {n} took part; reads: {:?}", node.balance_calls());
        }
    }

    // The holdings add the wallets up exactly: 0.1 + 0.2 + … + count/10 ETH.
    let h = data_get(first, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    let eth = &h.body["holdings"][0];
    let total_tenths: usize = (1..=count).sum();
    let expected = format!(r#""totalQuantity":{}"#, kc_chain::Decimal::new(total_tenths as i64, 1).normalize());
    assert!(h.text.contains(&expected), "ETH summed over all wallets ({expected}): {}", h.text);
    assert_eq!(
        eth["assetDistribution"].as_array().map(Vec::len),
        Some(count),
        "one distribution entry per wallet: {}",
        h.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_database_sync_every_queued_integration_exactly_once() {
    let node = FakeEvmNode::start().await;
    let (url, dir) = fresh_database(Db::Postgres).await;
    let settings = |n: usize| {
        let rpc = format!("{}/node{n}", node.url);
        move |s: &mut kc_service::config::Settings| {
            s.chains.rpc_urls.insert("ethereum".into(), rpc);
            s.sync.workers = 2;
            s.sync.poll_interval_ms = 20;
        }
    };
    let a = spawn_app_on(&url, &dir, settings(0)).await;
    let b = spawn_app_on(&url, &dir, settings(1)).await;
    drain_once(&[&a, &b], &node, 20).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_on_sqlite_sync_every_queued_integration_exactly_once() {
    let node = FakeEvmNode::start().await;
    let app = spawn_with(Db::Sqlite, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), format!("{}/node0", node.url));
        s.sync.workers = 4;
    })
    .await;
    drain_once(&[&app], &node, 12).await;
    app.stop().await;
}
