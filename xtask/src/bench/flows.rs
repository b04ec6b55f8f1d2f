//! The data scenarios need, made through the server's own HTTP API before anything is timed
//! (reqwest; these requests are not measured).

use super::server::Server;
use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sandbox Ethereum address (syncs without an RPC endpoint).
const SANDBOX_ETH: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
/// The sandbox Solana address.
const SANDBOX_SOL: &str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";

/// How to reach the server as the bench client.
#[derive(Clone)]
struct Conn {
    /// Connection pool to the server.
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Client id header.
    client_id: String,
    /// Client secret header.
    client_secret: String,
}

impl Conn {
    fn new(server: &Server) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: server.base(),
            client_id: server.client_id.clone(),
            client_secret: server.client_secret.clone(),
        })
    }

    /// `POST path` with client credentials.
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-Client-Id", &self.client_id)
            .header("X-Client-Secret", &self.client_secret)
    }

    /// `POST path` of the widget API with a link token.
    fn widget(&self, path: &str, link: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).header("X-LINK-TOKEN", link)
    }
}

/// Sends `req` and returns the `data` of a success envelope, or why it is not one.
async fn call(req: reqwest::RequestBuilder) -> Result<Value> {
    let res = req.send().await?;
    let status = res.status().as_u16();
    let body = res.bytes().await?;
    let mut v: Value = serde_json::from_slice(&body)
        .with_context(|| format!("HTTP {status}, not JSON: {}", String::from_utf8_lossy(&body)))?;
    ensure!(status == 200 && v["success"] == json!(true), "HTTP {status}: {v}");
    Ok(v["data"].take())
}

/// The headless widget flow: link token → guest → consent → (`wallets`) → complete; the public token.
async fn public_token(conn: &Conn, wallets: &[Value]) -> Result<String> {
    let data = call(conn.post("/link-token").json(&json!({}))).await.context("POST /link-token")?;
    let link = data["link_token"].as_str().context("no link_token")?.to_owned();
    call(conn.widget("/widget/auth/anonymous", &link)).await.context("POST /widget/auth/anonymous")?;
    call(conn.widget("/widget/consent", &link).json(&json!({ "approve": true })))
        .await
        .context("POST /widget/consent")?;
    for wallet in wallets {
        call(conn.widget("/widget/integrations", &link).json(wallet)).await.context("POST /widget/integrations")?;
    }
    let data = call(conn.widget("/widget/complete", &link)).await.context("POST /widget/complete")?;
    Ok(data["public_token"].as_str().context("no public_token")?.to_owned())
}

/// What the read scenarios use: the client and a live access token of a guest with two synced
/// wallets (Ethereum and Solana sandbox addresses).
pub(crate) struct Fixture {
    /// Client id.
    pub(crate) client_id: String,
    /// Its secret.
    pub(crate) client_secret: String,
    /// A live `cat_…` token of the client.
    pub(crate) access_token: String,
}

impl Fixture {
    /// Connects a guest with two wallets, exchanges its public token and waits until the
    /// wallets' balances are synced (holdings not empty).
    pub(crate) async fn prepare(server: &Server) -> Result<Self> {
        let conn = Conn::new(server)?;
        let wallets = [
            json!({"provider": "ethereum", "address": SANDBOX_ETH, "alias": "Cold storage"}),
            json!({"provider": "solana", "address": SANDBOX_SOL, "alias": "Phone wallet"}),
        ];
        let public = public_token(&conn, &wallets).await?;
        let exchanged = call(conn.post("/token/exchange").json(&json!({ "public_token": public }))).await?;
        let access_token = exchanged["access_token"].as_str().context("no access_token")?.to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let res = conn
                .http
                .get(format!("{}/api/v1/holdings", conn.base))
                .header("X-Client-Id", &conn.client_id)
                .header("X-Client-Secret", &conn.client_secret)
                .bearer_auth(&access_token)
                .send()
                .await?;
            let body: Value = res.json().await?;
            if body["holdings"].as_array().is_some_and(|h| h.len() >= 2) {
                break;
            }
            if Instant::now() > deadline {
                bail!("the two sandbox wallets did not sync within 60 s: {body}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Self { client_id: conn.client_id, client_secret: conn.client_secret, access_token })
    }
}

/// `n` fresh public tokens of `server`'s client, produced by `concurrency` parallel widget flows.
pub(crate) async fn public_tokens(server: &Server, n: usize, concurrency: usize) -> Result<Vec<String>> {
    let conn = Conn::new(server)?;
    let started = Instant::now();
    let remaining = Arc::new(AtomicUsize::new(n));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(16) {
        let (conn, remaining) = (conn.clone(), remaining.clone());
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            while remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1)).is_ok() {
                tokens.push(public_token(&conn, &[]).await?);
            }
            anyhow::Ok(tokens)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await??);
    }
    println!("prepared {} public tokens in {:.1} s (4 requests each)", all.len(), started.elapsed().as_secs_f64());
    Ok(all)
}
