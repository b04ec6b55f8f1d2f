//! `kryptos-connect clients update` through the real binary, on SQLite and PostgreSQL, with two
//! nodes serving the same database (the in-process app and a `serve` process): an origin added
//! is accepted by the widget's CORS and `frame-ancestors` on the next request of every node, a
//! removed one is refused; invalid values are refused with a clear message and change nothing.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

const ORIGIN: &str = "https://shop.example.com";
const OTHER: &str = "https://blog.example.com";

/// Runs `kryptos-connect ARGS…` on `url`; returns (success, stdout, stderr).
async fn cli(url: &str, args: &[&str]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("kc-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let mut cmd = binary_command(url, &dir);
    cmd.args(args);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the command finishes within 60 s")
        .expect("the command starts");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `clients update ID ARGS… --json`, which must succeed; returns the printed client.
async fn update(url: &str, id: &str, args: &[&str]) -> Value {
    let mut all = vec!["clients", "update", id];
    all.extend_from_slice(args);
    all.push("--json");
    let (ok, out, err) = cli(url, &all).await;
    assert!(ok, "`clients update {args:?}` succeeds: {out}\n{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("--json prints JSON ({e}): {out}"))
}

/// `clients show ID --json`.
async fn show(url: &str, id: &str) -> Value {
    let (ok, out, err) = cli(url, &["clients", "show", id, "--json"]).await;
    assert!(ok, "`clients show` succeeds: {out}\n{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("--json prints JSON ({e}): {out}"))
}

/// What a node answers a browser on `origin`: the widget's CORS preflight allows it, the widget
/// page may be framed by it, and a widget call from it is served.
async fn accepts(node: &Node, creds: &Creds, origin: &str) -> (bool, bool, bool) {
    let preflight = node
        .http
        .request(Method::OPTIONS, format!("{}/widget/session", node.base))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-link-token")
        .send()
        .await
        .expect("preflight reaches the node");
    let cors = preflight.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()) == Some(origin);
    let page = node.http.get(format!("{}/connect?client_id={}", node.base, creds.id)).send().await.expect("page");
    let csp = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let ancestors = csp.split(';').find_map(|d| d.trim().strip_prefix("frame-ancestors ")).unwrap_or("").to_owned();
    let framed = ancestors.split(' ').any(|a| a == origin);
    let link = node.link_token(creds).await;
    let call = node
        .http
        .get(format!("{}/widget/session", node.base))
        .header("X-LINK-TOKEN", &link)
        .header("Origin", origin)
        .send()
        .await
        .expect("widget call reaches the node");
    (cors, framed, call.status().is_success())
}

async fn origins_follow_updates_on_every_node(db: Db) {
    let app = spawn_app(db).await;
    let url = app.database_url.clone();
    let creds = cli_create_client(&url, "Shop").await;
    let other = ServerProcess::start(&url).await;
    let nodes = [app.node(), other.node.clone()];
    for n in &nodes {
        assert_eq!(accepts(n, &creds, ORIGIN).await, (false, false, false), "{}: not registered yet", n.base);
    }

    let c = update(&url, &creds.id, &["--add-origin", ORIGIN, "--add-origin", OTHER]).await;
    assert_eq!(c["origins"], json!([ORIGIN, OTHER]), "{c}");
    assert_eq!(c["client_id"], json!(creds.id));
    assert!(c.get("client_secret").is_none(), "the secret is never printed again: {c}");
    for n in &nodes {
        assert_eq!(accepts(n, &creds, ORIGIN).await, (true, true, true), "{}: accepted on the next request", n.base);
    }

    let c = update(&url, &creds.id, &["--remove-origin", ORIGIN]).await;
    assert_eq!(c["origins"], json!([OTHER]), "{c}");
    for n in &nodes {
        assert_eq!(accepts(n, &creds, ORIGIN).await, (false, false, false), "{}: refused on the next request", n.base);
        assert_eq!(accepts(n, &creds, OTHER).await, (true, true, true), "{}: the other origin stays", n.base);
    }
    // The refused call is the documented error.
    let link = nodes[1].link_token(&creds).await;
    let refused = nodes[1]
        .http
        .get(format!("{}/widget/session", nodes[1].base))
        .header("X-LINK-TOKEN", &link)
        .header("Origin", ORIGIN)
        .send()
        .await
        .expect("reaches the node");
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["code"], json!("INVALID_CLIENT"), "{body}");
    drop(other);
    app.stop().await;
}

#[tokio::test]
async fn origins_follow_clients_update_on_every_node_on_sqlite() {
    origins_follow_updates_on_every_node(Db::Sqlite).await;
}

#[tokio::test]
async fn origins_follow_clients_update_on_every_node_on_postgres() {
    origins_follow_updates_on_every_node(Db::Postgres).await;
}

async fn name_logo_scopes_and_redirect_uris_can_be_changed(db: Db) {
    let app = spawn_app(db).await;
    let url = app.database_url.clone();
    let creds = cli_create_client(&url, "Shop").await;

    let c = update(
        &url,
        &creds.id,
        &[
            "--name",
            "  Shop Deluxe ",
            "--logo",
            "https://shop.example.com/logo.png",
            "--scope",
            "openid users:read",
            "--scope",
            "portfolios:read",
            "--add-redirect-uri",
            "https://shop.example.com/done",
            "--add-redirect-uri",
            "https://shop.example.com/other",
        ],
    )
    .await;
    assert_eq!(c["name"], json!("Shop Deluxe"), "trimmed, as create does: {c}");
    assert_eq!(c["logo_url"], json!("https://shop.example.com/logo.png"));
    assert_eq!(c["scopes"], json!("openid users:read portfolios:read"));
    assert_eq!(c["redirect_uris"], json!(["https://shop.example.com/done", "https://shop.example.com/other"]));
    assert_eq!(show(&url, &creds.id).await, c, "`show` prints what `update` printed");

    // The next widget session and link token see it.
    let link = app.link_token(&creds).await;
    let s = app.send(Method::GET, "/widget/session", None, Some(&link), None).await;
    let s = s.data();
    assert_eq!(s["client"]["name"], json!("Shop Deluxe"));
    assert_eq!(s["client"]["logo"], json!("https://shop.example.com/logo.png"));
    assert_eq!(s["requested_scopes"], json!("openid users:read portfolios:read"), "defaults to the new set");
    assert_eq!(s["redirect_uris"], c["redirect_uris"]);
    let outside = app.post("/link-token", &creds, json!({ "scopes": "openid email" })).await;
    outside.assert_error(400, "INVALID_SCOPE");

    let c = update(&url, &creds.id, &["--remove-redirect-uri", "https://shop.example.com/done", "--remove-logo"]).await;
    assert_eq!(c["redirect_uris"], json!(["https://shop.example.com/other"]));
    assert_eq!(c["logo_url"], json!(null));
    // Adding what is there already keeps it once.
    let c = update(&url, &creds.id, &["--add-redirect-uri", "https://shop.example.com/other"]).await;
    assert_eq!(c["redirect_uris"], json!(["https://shop.example.com/other"]));

    let (ok, out, _) = cli(&url, &["clients", "update", &creds.id, "--name", "Plain"]).await;
    assert!(ok && out.contains("name:") && out.contains("Plain"), "human output: {out}");
    app.stop().await;
}

#[tokio::test]
async fn name_logo_scopes_and_redirect_uris_can_be_changed_on_sqlite() {
    name_logo_scopes_and_redirect_uris_can_be_changed(Db::Sqlite).await;
}

#[tokio::test]
async fn name_logo_scopes_and_redirect_uris_can_be_changed_on_postgres() {
    name_logo_scopes_and_redirect_uris_can_be_changed(Db::Postgres).await;
}

async fn invalid_updates_are_refused_and_change_nothing(db: Db) {
    let app = spawn_app(db).await;
    let url = app.database_url.clone();
    let creds = cli_create_client(&url, "Shop").await;
    update(&url, &creds.id, &["--add-origin", ORIGIN, "--add-redirect-uri", "https://shop.example.com/done"]).await;
    let before = show(&url, &creds.id).await;

    let id = creds.id.as_str();
    let cases: [(&[&str], &str); 10] = [
        (&["--add-origin", "https://shop.example.com/path"], "must look like https://app.example.com"),
        (&["--add-origin", "*"], "must look like https://app.example.com"),
        // One bad value refuses the whole command: the good origin is not added either.
        (&["--add-origin", OTHER, "--add-origin", "shop.example.com"], "must look like"),
        (&["--remove-origin", OTHER], "is not registered for this client"),
        (&["--remove-redirect-uri", "https://shop.example.com/never"], "is not registered for this client"),
        (&["--add-redirect-uri", "shop.example.com/done"], "must be an http(s) URL"),
        (&["--logo", "ftp://shop.example.com/logo.png"], "must be an http(s) URL"),
        (&["--scope", "nft:delete"], "unknown scope `nft:delete`"),
        (&["--name", "   "], "name must be 1 to 100 characters"),
        (&[], "nothing to change"),
    ];
    for (args, message) in cases {
        let mut all = vec!["clients", "update", id];
        all.extend_from_slice(args);
        let (ok, out, err) = cli(&url, &all).await;
        assert!(!ok, "{args:?} is refused: {out}");
        assert!(err.contains(message), "{args:?}: a clear message containing `{message}`: {err}");
        assert_eq!(show(&url, id).await, before, "{args:?} changed nothing");
    }
    let (ok, _, err) = cli(&url, &["clients", "update", "kc_nosuchclient", "--name", "X"]).await;
    assert!(!ok && err.contains("no client with id kc_nosuchclient"), "{err}");
    let (ok, _, err) =
        cli(&url, &["clients", "update", id, "--logo", "https://a.example/l.png", "--remove-logo"]).await;
    assert!(!ok && err.contains("cannot be used with"), "clap refuses contradictory flags: {err}");
    assert_eq!(show(&url, id).await, before);
    assert_eq!(accepts(&app.node(), &creds, ORIGIN).await, (true, true, true), "the registered origin still works");
    app.stop().await;
}

#[tokio::test]
async fn invalid_updates_are_refused_and_change_nothing_on_sqlite() {
    invalid_updates_are_refused_and_change_nothing(Db::Sqlite).await;
}

#[tokio::test]
async fn invalid_updates_are_refused_and_change_nothing_on_postgres() {
    invalid_updates_are_refused_and_change_nothing(Db::Postgres).await;
}
