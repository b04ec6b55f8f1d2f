//! The full-page widget's return trip: `mode=page&redirect_uri=…` navigates to the
//! redirect URI with the public token only when that URI is exactly one the client
//! registered; any other URI is never visited (it would hand the token to whoever built
//! the link).

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::helpers::Creds;
use crate::server::DemoServer;
use kc_service::NewClient;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long, after the widget shows its done step, an unregistered redirect URI must stay
/// unvisited (the widget redirects 1.2 s after "done").
const NO_REDIRECT_WAIT: Duration = Duration::from_secs(4);

/// A tiny HTTP server on 127.0.0.1 standing for a client's "return" page: it answers every
/// request with a small HTML page and records each request target (path and query).
struct Landing {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Landing {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the landing server");
        let base = format!("http://{}", listener.local_addr().expect("landing server address"));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    // A bare preconnect sends nothing: only real requests are recorded.
                    let Some(target) = head.lines().next().and_then(|l| l.split_whitespace().nth(1)) else {
                        return;
                    };
                    log.lock().unwrap_or_else(PoisonError::into_inner).push(target.to_owned());
                    let (status, body) = if target.starts_with("/favicon") {
                        ("404 Not Found", String::new())
                    } else {
                        (
                            "200 OK",
                            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Client app</title></head>\
                             <body style=\"font:16px sans-serif;padding:2rem\"><h1 data-testid=\"landing\">\
                             Back at the client app</h1><p id=\"query\"></p><script>\
                             document.getElementById('query').textContent = location.search;</script></body></html>"
                                .to_owned(),
                        )
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self { base, seen, task }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request target received so far.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits (at most 15 s) for a request to `path`; returns its full target.
    async fn wait_for(&self, path: &str) -> String {
        let deadline = Instant::now() + crate::browser::WAIT;
        loop {
            let hit = self.seen().into_iter().find(|t| t.split('?').next() == Some(path));
            if let Some(t) = hit {
                return t;
            }
            assert!(Instant::now() < deadline, "the landing server never got {path}; it saw {:?}", self.seen());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens the widget page for `creds` in page mode with `redirect_uri` (a fresh link token),
/// and runs a new guest through it up to the done step.
async fn run_page_flow(b: &Browser, server: &DemoServer, creds: &Creds, redirect_uri: &str) {
    let link = server.app.link_token(creds).await;
    let redirect: String = url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect();
    b.goto(
        &server.url(&format!("/connect?client_id={}#link_token={link}&mode=page&redirect_uri={redirect}", creds.id)),
    )
    .await;
    b.visible("step-auth").await;
    let url = b.client.current_url().await.expect("current url");
    assert!(url.fragment().is_none(), "the widget removes the link token from the address bar: {url}");
    b.shot("auth").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.shot("consent").await;
    b.click("consent-allow").await;
    add_ethereum(b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;
    b.shot("connected-list").await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.shot("status").await;
    b.click("status-done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_mode_redirects_only_to_a_registered_redirect_uri() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let registered = Landing::start().await;
    let stranger = Landing::start().await;
    let back = registered.url("/back");
    let creds = server
        .app
        .client_with(NewClient { redirect_uris: vec![back.clone()], ..NewClient::sandbox("Redirect app") })
        .await;
    let b = Browser::start("page_redirect", Viewport::Desktop).await;

    // 1. The registered redirect URI: the browser lands there with the public token.
    run_page_flow(&b, &server, &creds, &back).await;
    let target = registered.wait_for("/back").await;
    let query = url::Url::parse(&format!("{}{target}", registered.base)).expect("the landing request as a URL");
    let pairs: Vec<(String, String)> = query.query_pairs().into_owned().collect();
    assert_eq!(pairs.len(), 1, "only the public token is appended to the registered URI: {target}");
    let (key, public) = pairs[0].clone();
    assert_eq!(key, "public_token", "the landing page gets a public_token: {target}");
    assert!(public.starts_with("public_"), "a public token: {public}");
    let url = b
        .until("the browser to arrive at the registered redirect URI", || async {
            let u = b.client.current_url().await.ok()?;
            u.as_str().starts_with(&back).then_some(u)
        })
        .await;
    assert_eq!(url.path(), "/back", "on the registered page: {url}");
    assert_eq!(
        url.query_pairs().into_owned().collect::<Vec<_>>(),
        vec![("public_token".to_owned(), public.clone())],
        "the address bar carries the same public token: {url}"
    );
    b.visible("landing").await;
    b.shot("registered-landing").await;

    let exchanged = server.app.exchange(&creds, &public).await;
    let d = exchanged.data();
    assert!(d["access_token"].as_str().is_some_and(|t| t.starts_with("cat_")), "an access token: {d}");
    assert!(d["grant_id"].as_str().is_some_and(|t| t.starts_with("cgrant_")), "a grant: {d}");
    server.app.exchange(&creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");
    assert_eq!(
        registered.seen().iter().filter(|t| !t.starts_with("/favicon")).count(),
        1,
        "one landing request: {:?}",
        registered.seen()
    );

    // 2. A URI the client never registered (another local server): never visited.
    let evil = stranger.url("/steal");
    run_page_flow(&b, &server, &creds, &evil).await;
    b.visible("step-done").await;
    b.try_shot("done-unregistered").await;
    let done_at = Instant::now();
    while done_at.elapsed() < NO_REDIRECT_WAIT {
        assert!(stranger.seen().is_empty(), "the unregistered URI got requests: {:?}", stranger.seen());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stranger.seen().is_empty(), "the unregistered URI got requests: {:?}", stranger.seen());
    let url = b.client.current_url().await.expect("current url");
    assert_eq!(url.as_str().split('?').next(), Some(server.url("/connect").as_str()), "still on the widget: {url}");
    assert!(b.is_visible("step-done").await, "the widget still shows its done step");
    b.shot("unregistered-stays").await;
    assert_eq!(
        registered.seen().iter().filter(|t| !t.starts_with("/favicon")).count(),
        1,
        "the registered page was not visited again either: {:?}",
        registered.seen()
    );
    // One grant only: the first run's exchange; the second run's token was never delivered.
    assert_eq!(server.app.node().grant_ids(&creds).await, vec![d["grant_id"].as_str().expect("grant").to_owned()]);
    b.assert_clean_console().await;
    b.close().await;
}
