//! A scripted HTTP server that records every request it receives.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The answer to give: status, JSON body, extra delay.
#[derive(Debug, Clone)]
pub struct Script {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Script {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, body: body.to_string(), delay: Duration::ZERO }
    }
}

/// A running mock server.
pub struct Mock {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    /// Serves `answer(request)` for every request.
    pub async fn start(answer: impl Fn(&Seen) -> Script + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let answer = answer.clone();
            async move {
                let req = Seen {
                    method,
                    path_and_query: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    headers,
                    body,
                };
                log.lock().expect("log").push(req.clone());
                let script = answer(&req);
                tokio::time::sleep(script.delay).await;
                let status = StatusCode::from_u16(script.status).expect("status");
                let res: Response = (status, [("content-type", "application/json")], script.body).into_response();
                res
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, seen }
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }

    /// How many requests hit `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path_and_query.split('?').next() == Some(path)).count()
    }
}

/// A server that reads each request in full and then drops the connection without answering
/// (a crash after the request arrived). Returns its base URL and the request count.
pub async fn hang_up_after_reading() -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(Mutex::new(0usize));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(end) = find(&buf, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                *c.lock().expect("count") += 1;
                let _ = socket.shutdown().await;
            });
        }
    });
    (base, count)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
