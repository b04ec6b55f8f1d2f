//! The OpenID Connect rows of the bench: `POST /oidc/token` (`grant_type=refresh_token`, each
//! request with a fresh refresh token, since every use rotates it) and
//! `POST /oidc/token/introspection` of a live JWT access token, beside check-session.
//!
//! Refresh tokens are prepared through the provider's own flow over HTTP (authorize → widget
//! as a guest → callback → code exchange): eight requests each, not measured.

use super::scenarios::Scenario;
use super::server::Server;
use super::{wrk, Options, Row};
use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The redirect URI the bench client registers.
pub(super) const REDIRECT: &str = "http://127.0.0.1:9/oidc-bench/callback";
/// A fixed PKCE verifier (the bench needs no secrecy) and its S256 challenge.
const VERIFIER: &str = "bench-verifier-bench-verifier-bench-verifier-0123";
/// At most this many refresh tokens are prepared per run (the rate is measured until they run out).
const MAX_REFRESH_TOKENS: usize = 6000;

/// `BASE64URL(SHA256(VERIFIER))` (RFC 7636 S256).
const CHALLENGE: &str = "kGjPCYjQVOltW8AKjvm5kW-9XDXQ14UHfkPa2I4oE1I";

#[derive(Clone)]
struct Conn {
    http: reqwest::Client,
    base: String,
    id: String,
    secret: String,
}

fn query_of(url: &str, fragment: bool) -> Vec<(String, String)> {
    let part = if fragment { url.split_once('#').map(|(_, f)| f) } else { url.split_once('?').map(|(_, q)| q) };
    url::form_urlencoded::parse(part.unwrap_or("").as_bytes()).into_owned().collect()
}

fn get(pairs: &[(String, String)], key: &str) -> Result<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).with_context(|| format!("no {key} in {pairs:?}"))
}

async fn location(res: reqwest::Response) -> Result<String> {
    let status = res.status();
    ensure!(status.as_u16() == 302, "HTTP {status}: {}", res.text().await.unwrap_or_default());
    Ok(res.headers()["location"].to_str().context("Location is not ASCII")?.to_owned())
}

/// One authorization through the widget as a guest; the token response.
async fn tokens(c: &Conn) -> Result<Value> {
    let res = c
        .http
        .get(format!("{}/oidc/auth", c.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access users:read"),
            ("state", "bench"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    let widget = query_of(&location(res).await?, true);
    let link = get(&widget, "link_token")?;
    let callback = get(&widget, "redirect_uri")?;
    let handle = callback.rsplit('/').next().context("callback handle")?.to_owned();
    for (path, body) in [("/widget/auth/anonymous", None), ("/widget/consent", Some(json!({"approve": true})))] {
        let mut req = c.http.post(format!("{}{path}", c.base)).header("X-LINK-TOKEN", &link);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        ensure!(res.status().is_success(), "{path}: HTTP {}", res.status());
    }
    let done: Value =
        c.http.post(format!("{}/widget/complete", c.base)).header("X-LINK-TOKEN", &link).send().await?.json().await?;
    let public = done["data"]["public_token"].as_str().context("no public token")?;
    let res = c.http.get(format!("{}/oidc/callback/{handle}?public_token={public}", c.base)).send().await?;
    let code = get(&query_of(&location(res).await?, false), "code")?;
    let res = c
        .http
        .post(format!("{}/oidc/token", c.base))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    ensure!(status.is_success(), "POST /oidc/token: HTTP {status}: {body}");
    Ok(body)
}

/// `n` fresh refresh tokens, from `concurrency` parallel authorizations.
async fn refresh_tokens(c: &Conn, n: usize, concurrency: usize) -> Result<Vec<String>> {
    let started = Instant::now();
    let remaining = Arc::new(AtomicUsize::new(n));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.clamp(1, 16) {
        let (c, remaining) = (c.clone(), remaining.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1)).is_ok() {
                let t = tokens(&c).await?;
                out.push(t["refresh_token"].as_str().context("no refresh_token")?.to_owned());
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    println!("prepared {} refresh tokens in {:.1} s (8 requests each)", all.len(), started.elapsed().as_secs_f64());
    Ok(all)
}

/// The `Authorization: Basic …` value of the client (`client_secret_basic`), as reqwest writes it.
fn basic(c: &Conn) -> Result<String> {
    let req = c.http.post(&c.base).basic_auth(&c.id, Some(&c.secret)).build()?;
    Ok(req.headers()["authorization"].to_str().context("Authorization is not ASCII")?.to_owned())
}

fn form_post(
    label: &'static str,
    path: &'static str,
    c: &Conn,
    body: String,
    expect: &'static str,
) -> Result<Scenario> {
    Ok(Scenario {
        label,
        method: "POST",
        path,
        headers: vec![("Content-Type", "application/x-www-form-urlencoded".to_owned()), ("Authorization", basic(c)?)],
        body: Some(body),
        expect: Some(expect),
        needs_public_tokens: false,
    })
}

/// Measures the token endpoint (refresh) and introspection on `server`, adding a row each.
pub(super) fn measure(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    opts: &Options,
    db: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let c = Conn {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?,
        base: server.base(),
        id: server.client_id.clone(),
        secret: server.client_secret.clone(),
    };
    let introspection_label = "POST /oidc/token/introspection";
    if opts.selected(introspection_label) {
        let first = rt.block_on(tokens(&c))?;
        let access = first["access_token"].as_str().context("no access_token")?.to_owned();
        let scenario = form_post(
            introspection_label,
            "/oidc/token/introspection",
            &c,
            format!("token={access}"),
            r#""active":true"#,
        )?;
        let run = wrk::run(&[server.target()], &scenario, opts, opts.duration)
            .with_context(|| format!("{introspection_label} on {db}; server log tail:\n{}", server.log_tail()))?;
        println!("{:<44} {}", scenario.label, run.summary());
        rows.push(Row::new(db, scenario.label, run));
    }
    let refresh_label = "POST /oidc/token (refresh_token)";
    if opts.selected(refresh_label) {
        let n = opts.exchange_tokens(opts.duration).min(MAX_REFRESH_TOKENS);
        let list = rt.block_on(refresh_tokens(&c, n, opts.concurrency))?;
        let files = wrk::token_files(&[list])?;
        let scenario = Scenario {
            needs_public_tokens: true,
            ..form_post(
                refresh_label,
                "/oidc/token",
                &c,
                "grant_type=refresh_token&refresh_token={public_token}".to_owned(),
                r#""refresh_token":"kcrt_"#,
            )?
        };
        let run = wrk::run_with_tokens(&[server.target()], &scenario, opts, opts.duration, &files)
            .with_context(|| format!("{refresh_label} on {db}; server log tail:\n{}", server.log_tail()))?;
        println!("{:<44} {}", scenario.label, run.summary());
        rows.push(Row::new(db, scenario.label, run));
    }
    Ok(())
}
