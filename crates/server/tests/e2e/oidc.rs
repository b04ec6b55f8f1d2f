//! OpenID Connect with client libraries nobody here wrote: a relying party on npm
//! `openid-client` and one on PyPI `authlib` (`tests/oidc-clients/`) each discover the provider,
//! build the authorization URL with PKCE and listen for their callback; headless Chromium runs
//! the widget (guest sign-in, consent, a sandbox wallet) from that URL to the callback; the
//! library then exchanges the code, validates the ID token, and calls userinfo, the Data API,
//! refresh, introspection and revocation. The Node project installs from its lockfile
//! (`npm ci`); the Python one into `target/oidc-clients-venv` from pinned requirements.

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
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(clients_dir().join("requirements.txt")),
        "pip install -r tests/oidc-clients/requirements.txt",
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

/// Runs one relying party through the whole flow and returns its report.
async fn run_relying_party(name: &str, mut cmd: Command) -> (Value, Creds, DemoServer) {
    let server = DemoServer::start(false).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let creds = server
        .app
        .client_with(NewClient { redirect_uris: vec![redirect.clone()], ..NewClient::sandbox("OIDC relying party") })
        .await;
    let mut child: Child = cmd
        .env("KC_ISSUER", server.url("/oidc"))
        .env("KC_CLIENT_ID", &creds.id)
        .env("KC_CLIENT_SECRET", &creds.secret)
        .env("KC_CALLBACK_PORT", port.to_string())
        .env("KC_API_BASE", server.url(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start the {name} relying party: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let start = next_json(&mut lines, name).await;
    let auth_url = start["auth_url"].as_str().expect("auth_url").to_owned();
    assert!(auth_url.starts_with(&server.url("/oidc/auth?")), "{auth_url}");
    assert!(auth_url.contains("code_challenge_method=S256"), "{auth_url}");

    let b = Browser::start(&format!("oidc_{name}"), Viewport::Desktop).await;
    b.goto(&auth_url).await;
    b.visible("step-auth").await;
    b.shot("auth").await;
    b.click("auth-anonymous").await;
    b.visible("step-consent").await;
    b.shot("consent").await;
    b.click("consent-allow").await;
    add_ethereum(&b, SANDBOX_ETH).await;
    b.visible("integration-continue").await;
    b.click("integration-continue").await;
    b.visible("step-status").await;
    b.click("status-done").await;
    // The widget returns to the provider, which redirects to the relying party's callback.
    b.until("the browser to reach the relying party's callback", || async {
        let u = b.client.current_url().await.ok()?;
        u.as_str().starts_with(&redirect).then_some(())
    })
    .await;
    b.visible("rp-done").await;
    b.shot("callback").await;
    let report = next_json(&mut lines, name).await;
    let status =
        tokio::time::timeout(RP_WAIT, child.wait()).await.expect("the relying party exits").expect("exit status");
    assert!(status.success(), "{name} relying party exit status {status}");
    b.close().await;
    (report["report"].clone(), creds, server)
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
    assert_eq!(r["expires_in"], 86_400, "{r}");
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
    server.app.stop().await;
}
