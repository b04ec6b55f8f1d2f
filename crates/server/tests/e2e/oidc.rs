//! OpenID Connect with client libraries nobody here wrote: a relying party on npm
//! `openid-client` and one on PyPI `authlib` (`tests/oidc-clients/`) each discover the provider,
//! build the authorization URL with PKCE and listen for their callback; headless Chromium runs
//! the widget (guest sign-in, consent, a sandbox wallet) from that URL to the callback; the
//! library then exchanges the code, validates the ID token, and calls userinfo, the Data API,
//! refresh, introspection and revocation, and finally the `client_credentials` grant. The Node
//! project installs from its lockfile (`npm ci`); the Python one into `target/oidc-clients-venv`
//! from requirements pinned with hashes (`pip install --require-hashes`). One run of each library
//! is against the in-process server; one more runs both against the real binary, started as a
//! separate process (`kryptos-connect serve --config <temp>/kc.toml`): `KC_SERVER_BINARY` names
//! it (e.g. `target/release/kryptos-connect` after `cargo build --release`), else the binary
//! this test was built with.

use crate::browser::{free_port, target_dir, Browser, Viewport};
use crate::flows::*;
use crate::helpers::Creds;
use crate::server::DemoServer;
use kc_service::NewClient;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a relying party may take for any one step.
const RP_WAIT: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("oidc-clients")
}

async fn run_ok(cmd: &mut Command, what: &str) {
    let out =
        cmd.output().await.unwrap_or_else(|e| panic!("{what}: cannot run ({e}); it is required, tests never skip"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `npm ci` from the committed lockfile.
async fn node_rp() -> Command {
    run_ok(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(clients_dir()),
        "npm ci in tests/oidc-clients",
    )
    .await;
    let mut cmd = Command::new("node");
    cmd.arg("rp.mjs").current_dir(clients_dir());
    cmd
}

/// A venv under `target/` with the pinned requirements.
async fn python_rp() -> Command {
    let venv = target_dir().join("oidc-clients-venv");
    if !venv.join("bin").join("python").exists() {
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv").await;
    }
    run_ok(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--only-binary",
                ":all:",
                "-r",
            ])
            .arg(clients_dir().join("requirements.txt")),
        "pip install --require-hashes -r tests/oidc-clients/requirements.txt",
    )
    .await;
    let mut cmd = Command::new(venv.join("bin").join("python"));
    cmd.arg(clients_dir().join("rp.py"));
    cmd
}

/// The next JSON line the relying party prints (its stderr is inherited, for diagnosis).
async fn next_json(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>, what: &str) -> Value {
    let line = tokio::time::timeout(RP_WAIT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{what}: the relying party said nothing for {RP_WAIT:?}"))
        .expect("read the relying party's output")
        .unwrap_or_else(|| panic!("{what}: the relying party exited early"));
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"));
    assert!(v.get("error").is_none(), "{what}: the relying party failed:\n{}", v["error"].as_str().unwrap_or(""));
    v
}

/// A `kryptos-connect serve` process with its own configuration file, data directory and
/// SQLite database in a temporary directory; killed on drop.
struct BinaryServer {
    base: String,
    dir: PathBuf,
    _child: Child,
}

impl BinaryServer {
    fn command(config: &std::path::Path) -> Command {
        let mut cmd = Command::new(Self::binary());
        cmd.arg("--config").arg(config).env_remove("RUST_LOG").kill_on_drop(true);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("KRYPTOS__") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    fn binary() -> PathBuf {
        std::env::var_os("KC_SERVER_BINARY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kryptos-connect")))
    }

    /// Migrates, registers a client whose redirect URI is `redirect` (with the CLI), and serves.
    async fn start(redirect: &str) -> (Self, Creds) {
        let dir = std::env::temp_dir().join(format!("kc-oidc-binary-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let config = dir.join("kc.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {dir:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n\
                 [database]\nurl = \"sqlite://{}?mode=rwc\"\n[security]\npepper = \"{}\"\n[demo]\nenabled = false\n\
                 [log]\nfilter = \"warn\"\n",
                dir.join("kc.db").display(),
                crate::helpers::TEST_PEPPER,
                dir = dir.display().to_string(),
            ),
        )
        .expect("write the configuration");
        run_ok(BinaryServer::command(&config).arg("migrate"), "kryptos-connect migrate").await;
        let out = BinaryServer::command(&config)
            .args(["clients", "create", "--name", "OIDC relying party", "--redirect-uri", redirect, "--json"])
            .output()
            .await
            .expect("kryptos-connect clients create");
        assert!(out.status.success(), "clients create: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("clients create --json prints JSON");
        let creds = Creds {
            id: v["client_id"].as_str().expect("client_id").to_owned(),
            secret: v["client_secret"].as_str().expect("client_secret").to_owned(),
        };
        let mut child = BinaryServer::command(&config)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kryptos-connect serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let announced = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Kryptos Connect is listening on") {
                    return Some(line);
                }
            }
            None
        })
        .await
        .expect("the server announces itself within 60 s")
        .expect("the server exited before listening");
        assert!(announced.ends_with(&base), "{announced}");
        // Keep reading its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (Self { base, dir, _child: child }, creds)
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The widget, from its first screen to its return: guest sign-in, consent, a sandbox wallet.
async fn drive_widget(b: &Browser) {
    b.visible("step-auth").await;
    b.shot("auth").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.shot("consent").await;
    b.click("consent-allow").await;
    add_ethereum(b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.click("status-done").await;
}

/// Answers every request on `listener` with a plain page (the relying party's callback, once it is gone).
async fn answer_callbacks(listener: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((mut conn, _)) = listener.accept().await {
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).await;
        let body = "<!doctype html><title>RP</title><h1>callback</h1>";
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(format!("{head}{body}").as_bytes()).await;
    }
}

/// The parameters of an authorization request with PKCE over `verifier`.
fn auth_params<'a>(
    creds: &'a Creds,
    redirect: &'a str,
    verifier: &str,
    state: &'a str,
    prompt: Option<&'a str>,
) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("response_type", "code".to_owned()),
        ("client_id", creds.id.clone()),
        ("redirect_uri", redirect.to_owned()),
        ("scope", "openid users:read".to_owned()),
        ("state", state.to_owned()),
        ("code_challenge", kc_domain::s256_challenge(verifier)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(prompt) = prompt {
        p.push(("prompt", prompt.to_owned()));
    }
    p
}

/// The query the browser reached the redirect URI with, for the request of `state`.
async fn landed(b: &Browser, redirect: &str, state: &str) -> std::collections::HashMap<String, String> {
    let marker = format!("state={state}&");
    let url = b
        .until("the answer at the redirect URI", || async {
            let u = b.client.current_url().await.ok()?;
            (u.as_str().starts_with(redirect) && format!("{}&", u.as_str()).contains(&marker)).then(|| u.to_string())
        })
        .await;
    url::Url::parse(&url).expect("url").query_pairs().into_owned().collect()
}

/// Sends the browser to `/oidc/auth` and returns where it was redirected (a page-less answer).
async fn authorize_in(
    b: &Browser,
    base: &str,
    creds: &Creds,
    redirect: &str,
    verifier: &str,
    state: &str,
    prompt: Option<&str>,
) -> std::collections::HashMap<String, String> {
    let mut u = url::Url::parse(&format!("{base}/oidc/auth")).expect("url");
    u.query_pairs_mut().extend_pairs(auth_params(creds, redirect, verifier, state, prompt));
    b.goto(u.as_str()).await;
    landed(b, redirect, state).await
}

/// Redeems `code` for tokens (HTTP 200 required).
async fn redeem(base: &str, creds: &Creds, redirect: &str, code: &str, verifier: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}/oidc/token"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("reaches the server");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert_eq!(status, reqwest::StatusCode::OK, "the code redeems: {body}");
    body
}

/// Runs one relying party through the whole flow against the server at `base` and returns its report.
async fn run_relying_party_on(
    name: &str,
    mut cmd: Command,
    base: &str,
    creds: &Creds,
    redirect: &str,
    port: u16,
) -> Value {
    let mut child: Child = cmd
        .env("KC_ISSUER", format!("{base}/oidc"))
        .env("KC_CLIENT_ID", &creds.id)
        .env("KC_CLIENT_SECRET", &creds.secret)
        .env("KC_CALLBACK_PORT", port.to_string())
        .env("KC_API_BASE", base)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start the {name} relying party: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let start = next_json(&mut lines, name).await;
    let auth_url = start["auth_url"].as_str().expect("auth_url").to_owned();
    assert!(auth_url.starts_with(&format!("{base}/oidc/auth?")), "{auth_url}");
    assert!(auth_url.contains("code_challenge_method=S256"), "{auth_url}");

    let b = Browser::start(&format!("oidc_{name}"), Viewport::Desktop).await;
    b.goto(&auth_url).await;
    drive_widget(&b).await;
    // The widget returns to the provider, which redirects to the relying party's callback.
    b.until("the browser to reach the relying party's callback", || async {
        let u = b.client.current_url().await.ok()?;
        u.as_str().starts_with(redirect).then_some(())
    })
    .await;
    b.visible("rp-done").await;
    b.shot("callback").await;
    let report = next_json(&mut lines, name).await;
    let status =
        tokio::time::timeout(RP_WAIT, child.wait()).await.expect("the relying party exits").expect("exit status");
    assert!(status.success(), "{name} relying party exit status {status}");

    // The same browser, later. The relying party revoked its grant, which ended the browser
    // session: `prompt=none` now needs a sign-in.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the callback port again");
    let answering = tokio::spawn(answer_callbacks(listener));
    let verifier = "silent-verifier-silent-verifier-silent-verifier-0123";
    let q = authorize_in(&b, base, creds, redirect, verifier, "after-revocation", Some("none")).await;
    assert_eq!(q.get("error").map(String::as_str), Some("login_required"), "{q:?}");
    // Sign in again through the widget (a new session cookie), then `prompt=none` is answered at
    // once from it, without any page; both codes redeem.
    let mut u = url::Url::parse(&format!("{base}/oidc/auth")).expect("url");
    u.query_pairs_mut().extend_pairs(auth_params(creds, redirect, verifier, "again", None));
    b.goto(u.as_str()).await;
    drive_widget(&b).await;
    let q = landed(&b, redirect, "again").await;
    redeem(base, creds, redirect, q.get("code").unwrap_or_else(|| panic!("a code: {q:?}")), verifier).await;
    let q = authorize_in(&b, base, creds, redirect, verifier, "silent", Some("none")).await;
    let tokens =
        redeem(base, creds, redirect, q.get("code").unwrap_or_else(|| panic!("a silent code: {q:?}")), verifier).await;
    assert!(tokens["id_token"].as_str().is_some_and(|t| !t.is_empty()), "{tokens}");
    b.close().await;
    answering.abort();
    report["report"].clone()
}

/// Runs one relying party through the whole flow against the in-process server.
async fn run_relying_party(name: &str, cmd: Command) -> (Value, Creds, DemoServer) {
    let server = DemoServer::start(false).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let creds = server
        .app
        .client_with(NewClient { redirect_uris: vec![redirect.clone()], ..NewClient::sandbox("OIDC relying party") })
        .await;
    let report = run_relying_party_on(name, cmd, &server.url(""), &creds, &redirect, port).await;
    (report, creds, server)
}

/// What both libraries report of the `client_credentials` grant.
#[track_caller]
fn assert_client_credentials(r: &Value, creds: &Creds) {
    assert_eq!(r["cc_scope"], "portfolios:read", "{r}");
    // openid-client reports what is left of the lifetime (whole seconds, counted down from receipt).
    let left = r["cc_expires_in"].as_i64().unwrap_or_else(|| panic!("cc_expires_in: {r}"));
    assert!((3590..=3600).contains(&left), "one hour: {r}");
    assert_eq!(r["cc_refresh_token"], false, "no refresh token (RFC 6749 §4.4.3): {r}");
    assert_eq!(r["cc_id_token"], false, "no ID token: {r}");
    assert_eq!(r["cc_introspection_active"], true, "{r}");
    assert_eq!(r["cc_introspection_sub"], creds.id, "the client itself: {r}");
    assert_eq!(r["cc_data_api_status"], 401, "no user's data without a user's grant: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_for_node_completes_the_whole_flow() {
    let _serial = crate::serial().await;
    let (r, creds, server) = run_relying_party("openid-client", node_rp().await).await;
    assert_eq!(r["issuer"], server.url("/oidc"), "{r}");
    assert_eq!(r["state_ok"], true, "{r}");
    assert_eq!(r["id_token_alg"], "RS256", "{r}");
    assert_eq!(r["aud"], creds.id, "{r}");
    assert_eq!(r["nonce_ok"], true, "{r}");
    // What is left of 24 hours when the library reads it (it counts down from receipt).
    let left = r["expires_in"].as_i64().unwrap_or_else(|| panic!("expires_in: {r}"));
    assert!((86_390..=86_400).contains(&left), "{r}");
    assert_eq!(r["scope"], "openid profile email offline_access users:read portfolios:read", "{r}");
    assert_eq!(r["userinfo_sub"], r["sub"], "{r}");
    assert_eq!(r["userinfo_users_access"], true, "{r}");
    assert_eq!(r["data_api_status"], 200, "the Data API accepts the OAuth access token: {r}");
    assert_eq!(r["refreshed_sub"], r["sub"], "{r}");
    assert_eq!(r["refresh_rotated"], true, "{r}");
    assert_eq!(r["introspection_active"], true, "{r}");
    assert_eq!(r["introspection_client_id"], creds.id, "{r}");
    assert_eq!(r["introspection_after_revocation"], false, "{r}");
    assert_eq!(r["userinfo_after_revocation"], "invalid_token", "{r}");
    assert_eq!(r["reuse_error"], "invalid_grant", "{r}");
    assert_client_credentials(&r, &creds);
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_for_python_completes_the_whole_flow() {
    let _serial = crate::serial().await;
    let (r, creds, server) = run_relying_party("authlib", python_rp().await).await;
    assert_eq!(r["issuer"], server.url("/oidc"), "{r}");
    assert_eq!(r["id_token_alg"], "RS256", "{r}");
    assert_eq!(r["access_token_alg"], "EdDSA", "{r}");
    assert_eq!(r["aud"], creds.id, "{r}");
    assert_eq!(r["nonce_ok"], true, "{r}");
    assert_eq!(r["expires_in"], 86_400, "{r}");
    assert_eq!(r["userinfo_sub"], r["sub"], "{r}");
    assert_eq!(r["data_api_status"], 200, "{r}");
    assert_eq!(r["refresh_rotated"], true, "{r}");
    assert_eq!(r["introspection_active"], true, "{r}");
    assert_eq!(r["revocation_status"], 200, "{r}");
    assert_eq!(r["introspection_after_revocation"], false, "{r}");
    assert_eq!(r["userinfo_after_revocation"], 401, "{r}");
    assert_eq!(r["reuse_error"], "invalid_grant", "{r}");
    assert_client_credentials(&r, &creds);
    server.app.stop().await;
}

/// Both libraries against the real binary, started as its own process from a configuration file
/// (`KC_SERVER_BINARY=target/release/kryptos-connect` for the release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_libraries_complete_the_flow_against_a_separately_started_binary() {
    let _serial = crate::serial().await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let (server, creds) = BinaryServer::start(&redirect).await;
    let node =
        run_relying_party_on("openid-client-binary", node_rp().await, &server.base, &creds, &redirect, port).await;
    assert_eq!(node["issuer"], format!("{}/oidc", server.base), "{node}");
    assert_eq!(node["id_token_alg"], "RS256", "{node}");
    assert_eq!(node["nonce_ok"], true, "{node}");
    assert_eq!(node["data_api_status"], 200, "{node}");
    assert_eq!(node["refresh_rotated"], true, "{node}");
    assert_eq!(node["introspection_after_revocation"], false, "{node}");
    assert_eq!(node["reuse_error"], "invalid_grant", "{node}");
    assert_client_credentials(&node, &creds);
    let python = run_relying_party_on("authlib-binary", python_rp().await, &server.base, &creds, &redirect, port).await;
    assert_eq!(python["issuer"], format!("{}/oidc", server.base), "{python}");
    assert_eq!(python["access_token_alg"], "EdDSA", "{python}");
    assert_eq!(python["nonce_ok"], true, "{python}");
    assert_eq!(python["data_api_status"], 200, "{python}");
    assert_eq!(python["introspection_after_revocation"], false, "{python}");
    assert_eq!(python["reuse_error"], "invalid_grant", "{python}");
    assert_client_credentials(&python, &creds);
}
