//! The bench's ceiling: a hello-world axum server (JSON in, JSON out) on the same runtime
//! settings as the real server. `cargo xtask bench` starts it with `127.0.0.1:PORT` and drives
//! it with the same load generator and connections as the real scenarios.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let app =
        Router::new().route("/", get(|| async { "ok" })).route("/echo", post(|Json(v): Json<Value>| async { Json(v) }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
