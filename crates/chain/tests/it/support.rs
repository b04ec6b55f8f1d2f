//! Local fake servers speaking the real wire formats, on 127.0.0.1:0.

use axum::body::Bytes;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// What a fake answers: status, content type and raw body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn json(value: Value) -> Self {
        Self { status: 200, content_type: "application/json", body: value.to_string() }
    }

    pub fn raw(status: u16, content_type: &'static str, body: &str) -> Self {
        Self { status, content_type, body: body.to_owned() }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [("content-type", self.content_type)], self.body).into_response()
    }
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub body: Value,
    pub query: Option<String>,
    pub headers: HeaderMap,
}

type Handler = dyn Fn(&Value) -> Reply + Send + Sync;

#[derive(Clone)]
struct FakeState {
    handler: Arc<Handler>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A running fake server; it stops with the test's runtime.
pub struct Fake {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }

    pub fn hits(&self) -> usize {
        self.seen.lock().expect("seen lock").len()
    }
}

async fn record(state: &FakeState, body: Value, query: Option<String>, headers: HeaderMap) -> Reply {
    let reply = (state.handler)(&body);
    state.seen.lock().expect("seen lock").push(Seen { body, query, headers });
    reply
}

async fn on_post(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return Reply::raw(400, "text/plain", "request is not JSON");
    };
    record(&state, body, None, headers).await
}

async fn on_get(State(state): State<FakeState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Reply {
    record(&state, Value::Null, query, headers).await
}

/// A fake answering every POST to `/` (JSON-RPC) and GET to `/simple/price` with `handler`.
pub async fn fake(handler: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = FakeState { handler: Arc::new(handler), seen: seen.clone() };
    let app = Router::new()
        .route("/", post(on_post))
        .route("/{*path}", post(on_post))
        .route("/simple/price", get(on_get))
        .with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let addr = listener.local_addr().expect("fake addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake { addr, seen }
}

type GetHandler = dyn Fn(&str, &std::collections::HashMap<String, String>) -> Reply + Send + Sync;

#[derive(Clone)]
struct GetState {
    handler: Arc<GetHandler>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn on_any_get(State(state): State<GetState>, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Reply {
    let query = uri.query().map(str::to_owned);
    let pairs = query_pairs(query.as_deref().unwrap_or_default());
    let reply = (state.handler)(uri.path(), &pairs);
    state.seen.lock().expect("seen lock").push(Seen { body: Value::String(uri.path().to_owned()), query, headers });
    reply
}

/// A fake answering every GET with `handler(path, query pairs)`: explorer and price APIs.
/// [`Seen::body`] is the path as a JSON string.
pub async fn fake_get(
    handler: impl Fn(&str, &std::collections::HashMap<String, String>) -> Reply + Send + Sync + 'static,
) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = GetState { handler: Arc::new(handler), seen: seen.clone() };
    let app = Router::new().route("/", get(on_any_get)).route("/{*path}", get(on_any_get)).with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let addr = listener.local_addr().expect("fake addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake { addr, seen }
}

/// The pairs of a query string, decoded.
pub fn query_pairs(query: &str) -> std::collections::HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// A server that accepts connections and never answers.
pub async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind silent");
    let addr = listener.local_addr().expect("silent addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// An address on which nothing listens.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A JSON-RPC success reply.
pub fn ok(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A JSON-RPC error reply.
pub fn err(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The requests of a batch (or the single request) as a list.
pub fn requests(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}
