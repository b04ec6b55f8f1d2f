//! The example backend against a spawned Kryptos Connect server (SQLite, in a temp directory):
//! new user, returning user, a Data API call, and a grant revoked behind the backend's back.

use kc_client::api::{
    ClientCredentials, ConsentRequest, CreateIntegrationRequest, LinkTokenCredential, RequestMeta, WidgetApi,
};
use kc_client::{Client, ConnectClient};
use serde_json::{json, Value};

struct World {
    kryptos: ConnectClient,
    backend: String,
    http: reqwest::Client,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts Kryptos Connect and the example backend (API only) on random ports.
async fn start() -> World {
    start_serving(false).await
}

/// Like [`start`], the backend also serving a static directory (`index.html`, `app.js`).
async fn start_with_static() -> World {
    start_serving(true).await
}

async fn start_serving(with_static: bool) -> World {
    let dir = std::env::temp_dir().join(format!(
        "kc-example-backend-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut settings = kc_service::config::Settings::load_with(None, []).expect("default settings");
    settings.data_dir = dir.clone();
    settings.database.url = format!("sqlite://{}?mode=rwc", dir.join("kryptos.db").display());
    settings.server.listen = "127.0.0.1:0".to_owned();
    settings.security.pepper = "example-pepper-example-pepper-example".to_owned().into();
    settings.demo.enabled = false;
    let app = kc_server::Application::build(&settings).await.expect("Kryptos Connect builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (client, secret) =
        app.service().register_client(kc_service::NewClient::sandbox("Example backend")).await.expect("register");
    tokio::spawn(app.run_until(std::future::pending()));

    let kryptos = Client::new(base)
        .expect("client")
        .with_credentials(ClientCredentials::new(client.id.to_string(), secret.expose().to_owned()));
    let site = dir.join("site");
    if with_static {
        std::fs::create_dir_all(&site).expect("site dir");
        std::fs::write(site.join("index.html"), "<h1>app</h1>").expect("index.html");
        std::fs::write(site.join("app.js"), "console.log(1)").expect("app.js");
    }
    let backend = kc_example_backend::Backend::new(kryptos.clone());
    let router = kc_example_backend::app(backend, with_static.then_some(site.as_path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let backend = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    World { kryptos, backend, http: reqwest::Client::new(), _dir: TempDir(dir) }
}

impl World {
    async fn call(&self, method: reqwest::Method, path: &str, user: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.backend)).header("X-User-Id", user);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the backend answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn create_link_token(&self, user: &str) -> (String, bool) {
        let (status, body) = self.call(reqwest::Method::POST, "/api/kryptos/create-link-token", user, None).await;
        assert_eq!(status, 200, "{body}");
        let token = body["link_token"].as_str().unwrap_or_else(|| panic!("link_token: {body}")).to_owned();
        assert!(token.starts_with("link_"), "{body}");
        (token, body["isAuthorized"].as_bool().unwrap_or_else(|| panic!("isAuthorized: {body}")))
    }

    /// The user's browser: the widget, run headlessly; returns `onConnectSuccess`'s public token.
    async fn widget(&self, link_token: &str, new_user: bool) -> Option<String> {
        let widget = self.kryptos.client();
        let (l, m) = (LinkTokenCredential::new(link_token), RequestMeta::default());
        let session = widget.session(&l, &m).await.expect("widget session");
        assert_eq!(session.is_authorized, !new_user, "isAuthorized matches the widget's view");
        if new_user {
            widget.auth_anonymous(&l, &m).await.expect("guest sign-in");
        }
        let wallet = CreateIntegrationRequest {
            provider: "ethereum".to_owned(),
            address: Some("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa".to_owned()),
            ..Default::default()
        };
        if new_user {
            widget.create_integration(&l, &m, wallet).await.expect("wallet");
        }
        if session.consent != Some(true) {
            widget.consent(&l, &m, ConsentRequest { approve: true }).await.expect("consent");
        }
        widget.complete(&l, &m).await.expect("complete").public_token
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_returning_user_data_call_and_revoked_grant() {
    let w = start().await;
    let post = reqwest::Method::POST;

    // First connection: no stored token.
    let (link, authorized) = w.create_link_token("alice").await;
    assert!(!authorized, "a new user goes through sign-in");
    let public = w.widget(&link, true).await.expect("a new user gets a public token");
    let (status, body) =
        w.call(post.clone(), "/api/kryptos/exchange-token", "alice", Some(json!({ "public_token": public }))).await;
    assert_eq!((status, &body), (200, &json!({ "success": true })));
    let (status, body) =
        w.call(post.clone(), "/api/kryptos/exchange-token", "alice", Some(json!({ "public_token": public }))).await;
    assert_eq!((status, &body), (500, &json!({ "error": "Failed to exchange token" })), "a public token works once");

    // Returning user: the stored token resumes the session; no new token.
    let (link, authorized) = w.create_link_token("alice").await;
    assert!(authorized, "a returning user skips sign-in");
    assert_eq!(w.widget(&link, false).await, None, "onConnectSuccess receives null");

    // A Data API call with the stored token.
    let (status, body) = w.call(reqwest::Method::GET, "/api/kryptos/holdings", "alice", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["holdings"].is_array() && body["summary"].is_object(), "{body}");
    let (status, body) = w.call(reqwest::Method::GET, "/api/kryptos/session", "alice", None).await;
    assert_eq!((status, body["connected"].clone()), (200, json!(true)), "{body}");

    // The grant is revoked elsewhere (e.g. by the user in another app of this client).
    let page = w.kryptos.list_grants(Default::default()).await.expect("grants");
    assert_eq!(page.count, 1);
    w.kryptos.revoke_grant(&page.grants[0].grant_id).await.expect("revoke");
    let (status, body) = w.call(reqwest::Method::GET, "/api/kryptos/holdings", "alice", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body, json!({ "error": "Access revoked. Please reconnect your account.", "reconnect": true }));
    // The token is forgotten: the next link starts a new connection.
    let (link, authorized) = w.create_link_token("alice").await;
    assert!(!authorized, "after a revocation the user links again");
    let public = w.widget(&link, true).await.expect("a public token");
    let (status, _) =
        w.call(post.clone(), "/api/kryptos/exchange-token", "alice", Some(json!({ "public_token": public }))).await;
    assert_eq!(status, 200);
    let (status, _) = w.call(reqwest::Method::GET, "/api/kryptos/holdings", "alice", None).await;
    assert_eq!(status, 200, "connected again");

    // Disconnecting revokes the grant.
    let (status, body) = w.call(post.clone(), "/api/kryptos/disconnect", "alice", None).await;
    assert_eq!((status, body), (200, json!({ "success": true })));
    assert_eq!(w.kryptos.list_grants(Default::default()).await.expect("grants").count, 0, "no active grant");
    let (status, body) = w.call(reqwest::Method::GET, "/api/kryptos/session", "alice", None).await;
    assert_eq!((status, body), (200, json!({ "connected": false })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_before_the_next_link_is_forgotten_not_an_error() {
    let w = start().await;
    let (link, _) = w.create_link_token("bob").await;
    let public = w.widget(&link, true).await.expect("public token");
    let (status, _) = w
        .call(reqwest::Method::POST, "/api/kryptos/exchange-token", "bob", Some(json!({ "public_token": public })))
        .await;
    assert_eq!(status, 200);
    let grant = w.kryptos.list_grants(Default::default()).await.expect("grants").grants.remove(0);
    w.kryptos.revoke_grant(&grant.grant_id).await.expect("revoke");
    // Kryptos refuses to resume a revoked token (INVALID_TOKEN): the backend links afresh.
    let (_, authorized) = w.create_link_token("bob").await;
    assert!(!authorized);
    // Users are kept apart; unknown users have nothing stored.
    let (status, body) = w.call(reqwest::Method::GET, "/api/kryptos/holdings", "carol", None).await;
    assert_eq!((status, body["reconnect"].clone()), (401, json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_is_a_user_by_its_cookie_and_static_files_are_served() {
    let w = start_with_static().await;
    // A first request without a user gets a cookie naming a fresh user.
    let res = w.http.get(format!("{}/", w.backend)).send().await.expect("answer");
    assert_eq!(res.status().as_u16(), 200);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("a user cookie for a new browser");
    assert!(cookie.starts_with("kc_example_user=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert_eq!(res.text().await.expect("body"), "<h1>app</h1>", "the static index.html");
    let user = cookie.split(';').next().expect("name=value").to_owned();
    // Unknown paths get index.html (client-side routes); files are served as they are.
    let res = w.http.get(format!("{}/some/route", w.backend)).send().await.expect("answer");
    assert_eq!(res.text().await.expect("body"), "<h1>app</h1>");
    let res = w.http.get(format!("{}/app.js", w.backend)).send().await.expect("answer");
    assert_eq!(res.headers()["content-type"], "text/javascript");

    // The cookie is the user: connect, then the same browser is a returning user.
    let call = |path: &str| w.http.post(format!("{}{path}", w.backend)).header("cookie", &user);
    let body: Value = call("/api/kryptos/create-link-token").send().await.expect("answer").json().await.expect("json");
    assert_eq!(body["isAuthorized"], json!(false), "{body}");
    let public = w.widget(body["link_token"].as_str().expect("link_token"), true).await.expect("public token");
    let res =
        call("/api/kryptos/exchange-token").json(&json!({ "public_token": public })).send().await.expect("answer");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("set-cookie").is_none(), "a known browser keeps its cookie");
    let body: Value = call("/api/kryptos/create-link-token").send().await.expect("answer").json().await.expect("json");
    assert_eq!(body["isAuthorized"], json!(true), "the same browser is a returning user: {body}");
    let res = w.http.get(format!("{}/api/kryptos/holdings", w.backend)).header("cookie", &user).send().await;
    assert_eq!(res.expect("answer").status().as_u16(), 200);

    // Another browser is another user.
    let res = w.http.post(format!("{}/api/kryptos/create-link-token", w.backend)).send().await.expect("answer");
    assert!(res.headers().get("set-cookie").is_some(), "a new browser gets its own user");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["isAuthorized"], json!(false), "{body}");
}
