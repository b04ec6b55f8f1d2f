//! Test harness: spawn the application on a fresh database and talk to it over HTTP.

use kc_domain::ManualClock;
use kc_server::app::Overrides;
use kc_server::Application;
use kc_service::config::Settings;
use kc_service::{NewClient, Service};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The admin URL of the PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("KC_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database URL. PostgreSQL must be reachable: the test fails loudly if not.
pub async fn fresh_database(db: Db) -> (String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("kc-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    match db {
        Db::Sqlite => (format!("sqlite://{}?mode=rwc", dir.join("kryptos.db").display()), dir),
        Db::Postgres => {
            let admin = pg_admin_url();
            let conn = Database::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable ({e}); start it, tests never skip"));
            let name = format!("kc_test_{}", uuid::Uuid::new_v4().simple());
            conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("admin url has a database");
            (format!("{base}/{name}"), dir)
        }
    }
}

/// Settings for a test server on `database_url`, listening on a random port.
pub fn test_settings(database_url: &str, data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::load_with(None, []).expect("default settings");
    s.data_dir = data_dir.to_path_buf();
    s.database.url = database_url.to_owned();
    s.server.listen = "127.0.0.1:0".to_owned();
    s.security.pepper = "test-pepper-test-pepper-test-pepper".to_owned().into();
    s.demo.enabled = false;
    s
}

/// Client credentials a test registered.
#[derive(Debug, Clone)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

/// A running server and what a test needs to drive it.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub service: Service,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// The in-memory store of an embedded app ([`spawn_embedded`]), for fixtures.
    pub memory: Option<kc_store_memory::MemoryStore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Spawns the application on a fresh database of kind `db`, with a manual clock.
pub async fn spawn_app(db: Db) -> TestApp {
    let (url, dir) = fresh_database(db).await;
    spawn_app_on(&url, &dir, |_| {}).await
}

/// Spawns the application on an existing database, letting the test adjust settings.
pub async fn spawn_app_on(url: &str, dir: &std::path::Path, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let mut settings = test_settings(url, dir);
    adjust(&mut settings);
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let app =
        Application::build_with(&settings, Overrides { clock: Some(clock.clone()) }).await.expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let service = app.service().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::new(),
        clock,
        service,
        database_url: url.to_owned(),
        data_dir: dir.to_path_buf(),
        memory: None,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Kryptos Connect embedded as a host app embeds it: `kc_service::Embedded` on the in-memory
/// store, `kc_http::router` nested under `prefix` beside a host route, served by plain
/// `axum::serve` with `ConnectInfo`, its workers started beside it. `base` ends in `prefix`.
/// The failed-authentication budgets are raised out of the way as in the conformance suite.
pub async fn spawn_embedded(prefix: &str) -> TestApp {
    use std::net::SocketAddr;
    init_test_logging();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let base = format!("{origin}{prefix}");
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let memory = kc_store_memory::MemoryStore::default();
    let embedded = kc_service::Embedded::builder(Arc::new(memory.clone()), TEST_PEPPER.as_bytes().to_vec())
        .public_url(&base)
        .clock(clock.clone())
        .build()
        .expect("the embedded service builds");
    let service = embedded.service().clone();
    let options = kc_http::HttpOptions {
        public_origin: origin,
        public_url: base.clone(),
        auth_failures_per_minute: 10_000,
        ip_auth_failures_per_minute: 10_000,
        ..kc_http::HttpOptions::default()
    };
    let kryptos = kc_http::router(kc_http::AppState::new(Arc::new(service.clone()), options), axum::Router::new());
    let host = axum::Router::new().route("/", axum::routing::get(|| async { "host" })).nest(prefix, kryptos);
    let running = embedded.start();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, host.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        running.stop().await;
        served
    });
    TestApp {
        base,
        http: reqwest::Client::new(),
        clock,
        service,
        database_url: "memory:".to_owned(),
        data_dir: std::env::temp_dir(),
        memory: Some(memory),
        stop: Some(stop),
        task: Some(task),
    }
}

/// Logs only when `TEST_LOG` is set.
fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        kc_server::telemetry::init("pretty", "debug");
    }
}

/// An HTTP answer: status and parsed JSON body (`Value::Null` if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The `code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts an error envelope with `status` and `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.body);
        assert_eq!(self.body["success"], json!(false), "success flag; body: {}", self.body);
        assert_eq!(self.code(), code, "code; body: {}", self.body);
        assert!(self.body["error"].as_str().is_some_and(|m| !m.is_empty()), "a message; body: {}", self.body);
    }

    /// Asserts a success envelope and returns its `data`.
    #[track_caller]
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "status; body: {}", self.body);
        assert_eq!(self.body["success"], json!(true), "success flag; body: {}", self.body);
        &self.body["data"]
    }
}

impl TestApp {
    /// Registers a sandbox client with default scopes.
    pub async fn client(&self) -> Creds {
        self.client_with(NewClient::sandbox("Test app")).await
    }

    /// Registers a client.
    pub async fn client_with(&self, new: NewClient) -> Creds {
        let (c, secret) = self.service.register_client(new).await.expect("register client");
        Creds { id: c.id.to_string(), secret: secret.expose().to_owned() }
    }

    /// This app as a plain HTTP [`Node`] sharing the app's connection pool.
    fn as_node(&self) -> Node {
        Node { base: self.base.clone(), http: self.http.clone() }
    }

    /// Sends a request; `creds` become the client headers, `link` the `X-LINK-TOKEN`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        link: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.as_node().send(method, path, creds, link, body).await
    }

    /// Sends a raw body with a content type.
    pub async fn send_raw(&self, path: &str, creds: Option<&Creds>, content_type: &str, body: Vec<u8>) -> Answer {
        let mut req = self.http.post(format!("{}{}", self.base, path)).header("Content-Type", content_type).body(body);
        if let Some(c) = creds {
            req = req.header("X-Client-Id", &c.id).header("X-Client-Secret", &c.secret);
        }
        let res = req.send().await.expect("request reaches the server");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
    }

    /// `POST` with client credentials.
    pub async fn post(&self, path: &str, creds: &Creds, body: Value) -> Answer {
        self.as_node().post(path, creds, body).await
    }

    /// A fresh link token (new user).
    pub async fn link_token(&self, creds: &Creds) -> String {
        self.as_node().link_token(creds).await
    }

    /// Runs the widget as a new guest through consent; returns the link token, ready to complete.
    pub async fn consented_link(&self, creds: &Creds) -> String {
        self.as_node().consented_link(creds).await
    }

    /// A fresh public token from a full guest widget run.
    pub async fn public_token(&self, creds: &Creds) -> String {
        self.as_node().public_token(creds).await
    }

    /// Exchanges a public token; returns the answer.
    pub async fn exchange(&self, creds: &Creds, public_token: &str) -> Answer {
        self.as_node().exchange(creds, public_token).await
    }

    /// A fresh access token and grant id.
    pub async fn access_token(&self, creds: &Creds) -> (String, String) {
        self.as_node().access_token(creds).await
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Remote nodes and real server processes (used by `concurrency` and `resilience`).

/// The pepper every test server uses (the same as [`test_settings`]).
pub const TEST_PEPPER: &str = "test-pepper-test-pepper-test-pepper";

/// How long any single request of a [`Node`] may take before the test fails.
pub const NODE_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A server spoken to over HTTP only: an in-process [`TestApp`] or a [`ServerProcess`].
/// Cheap to clone; every request is bounded by [`NODE_REQUEST_TIMEOUT`].
#[derive(Debug, Clone)]
pub struct Node {
    pub base: String,
    pub http: reqwest::Client,
}

impl Node {
    /// A node at `base` (`http://127.0.0.1:PORT`) with its own connection pool.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().timeout(NODE_REQUEST_TIMEOUT).build().expect("http client");
        Self { base: base.to_owned(), http }
    }

    /// Like [`Node::send`], but a transport failure is returned instead of failing the test.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        link: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(c) = creds {
            req = req.header("X-Client-Id", &c.id).header("X-Client-Secret", &c.secret);
        }
        if let Some(l) = link {
            req = req.header("X-LINK-TOKEN", l);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers })
    }

    /// Sends a request; `creds` become the client headers, `link` the `X-LINK-TOKEN`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        link: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let what = format!("{method} {}{path}", self.base);
        self.try_send(method, path, creds, link, body)
            .await
            .unwrap_or_else(|e| panic!("{what} did not reach the server: {e}"))
    }

    /// `POST` with client credentials.
    pub async fn post(&self, path: &str, creds: &Creds, body: Value) -> Answer {
        self.send(Method::POST, path, Some(creds), None, Some(body)).await
    }

    /// A fresh link token (new user).
    pub async fn link_token(&self, creds: &Creds) -> String {
        let a = self.post("/link-token", creds, json!({})).await;
        a.data()["link_token"].as_str().expect("link_token").to_owned()
    }

    /// Runs the widget as a new guest through consent; returns the link token, ready to complete.
    pub async fn consented_link(&self, creds: &Creds) -> String {
        let link = self.link_token(creds).await;
        self.send(Method::POST, "/widget/auth/anonymous", None, Some(&link), None).await.data();
        self.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
        link
    }

    /// A fresh public token from a full guest widget run.
    pub async fn public_token(&self, creds: &Creds) -> String {
        let link = self.consented_link(creds).await;
        let a = self.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
        a.data()["public_token"].as_str().expect("public_token").to_owned()
    }

    /// Exchanges a public token; returns the answer.
    pub async fn exchange(&self, creds: &Creds, public_token: &str) -> Answer {
        self.post("/token/exchange", creds, json!({ "public_token": public_token })).await
    }

    /// A fresh access token and grant id.
    pub async fn access_token(&self, creds: &Creds) -> (String, String) {
        let pt = self.public_token(creds).await;
        let a = self.exchange(creds, &pt).await;
        let d = a.data();
        (d["access_token"].as_str().expect("token").to_owned(), d["grant_id"].as_str().expect("grant").to_owned())
    }

    /// `POST /link-token/check-session` for `access_token`.
    pub async fn check_session(&self, creds: &Creds, access_token: &str) -> Answer {
        self.post("/link-token/check-session", creds, json!({ "access_token": access_token })).await
    }

    /// The ids of the client's active grants (first page, up to 100), sorted.
    pub async fn grant_ids(&self, creds: &Creds) -> Vec<String> {
        let a = self.send(Method::GET, "/token/grants?limit=100", Some(creds), None, None).await;
        let d = a.data();
        let mut ids: Vec<String> = d["grants"]
            .as_array()
            .unwrap_or_else(|| panic!("grants array: {d}"))
            .iter()
            .map(|g| g["grant_id"].as_str().unwrap_or_else(|| panic!("grant_id: {g}")).to_owned())
            .collect();
        assert_eq!(d["count"], json!(ids.len()), "count matches the listed grants: {d}");
        ids.sort();
        ids
    }
}

impl TestApp {
    /// This app as a [`Node`] (its own connection pool, bounded requests).
    pub fn node(&self) -> Node {
        Node::new(&self.base)
    }
}

/// A command running the real `kryptos-connect` binary on `database_url` with the test
/// pepper, the demo off and `data_dir` as its data directory.
pub fn binary_command(database_url: &str, data_dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kryptos-connect"));
    cmd.arg("--database-url")
        .arg(database_url)
        .env("KRYPTOS__SECURITY__PEPPER", TEST_PEPPER)
        .env("KRYPTOS__DATA_DIR", data_dir)
        .env("KRYPTOS__DEMO__ENABLED", "false")
        .env("KRYPTOS__LOG__FILTER", if std::env::var_os("TEST_LOG").is_some() { "debug" } else { "warn" })
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Creates and migrates the database with `kryptos-connect migrate` (administration commands
/// never create one), registers a sandbox client with `kryptos-connect clients create --json`
/// and returns its credentials.
pub async fn cli_create_client(database_url: &str, name: &str) -> Creds {
    let dir = std::env::temp_dir().join(format!("kc-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let migrated = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        binary_command(database_url, &dir).arg("migrate").output(),
    )
    .await
    .expect("`migrate` finishes within 60 s")
    .expect("`migrate` starts");
    assert!(migrated.status.success(), "`migrate` failed: {}", String::from_utf8_lossy(&migrated.stderr));
    let mut cmd = binary_command(database_url, &dir);
    cmd.args(["clients", "create", "--name", name, "--json"]);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("`clients create` finishes within 60 s")
        .expect("`clients create` starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "`clients create` failed ({}): {stdout}\n{stderr}", out.status);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("`clients create --json` prints JSON ({e}): {stdout}"));
    Creds {
        id: v["client_id"].as_str().unwrap_or_else(|| panic!("client_id: {v}")).to_owned(),
        secret: v["client_secret"].as_str().unwrap_or_else(|| panic!("client_secret: {v}")).to_owned(),
    }
}

/// A real `kryptos-connect serve` process on a random port, killed on drop. Its log
/// (stderr) is kept and printed if the test panics.
pub struct ServerProcess {
    pub node: Node,
    pub data_dir: PathBuf,
    child: tokio::process::Child,
    log: Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

impl ServerProcess {
    /// Starts `kryptos-connect --database-url URL serve --listen 127.0.0.1:0` with its own
    /// data directory and waits (at most 60 s) for it to announce its address.
    pub async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// Like [`ServerProcess::start`], with extra environment variables (`KRYPTOS__…` settings).
    pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        const LOG_LINES: usize = 200;
        let data_dir = std::env::temp_dir().join(format!("kc-node-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data_dir).expect("create temp dir");
        let mut cmd = binary_command(database_url, &data_dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start the kryptos-connect binary");
        let log = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut l = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if l.len() == LOG_LINES {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let announce = "Kryptos Connect is listening on ";
        let found = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(base) = line.split_once(announce).map(|(_, b)| b.trim().to_owned()) {
                    return Some(base);
                }
            }
            None
        })
        .await;
        let mut me = Self { node: Node::new("http://unknown"), data_dir, child, log };
        let base = match found {
            Ok(Some(base)) => base,
            Ok(None) => {
                let status = tokio::time::timeout(std::time::Duration::from_secs(5), me.child.wait()).await;
                // Give the log reader a moment to take the last lines.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                panic!("the server exited before listening ({status:?}); log:\n{}", me.log_tail())
            }
            Err(_) => panic!("the server did not announce its address within 60 s; log:\n{}", me.log_tail()),
        };
        assert!(base.starts_with("http://127.0.0.1:"), "announced address {base}");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        me.node = Node::new(&base);
        me
    }

    /// The last lines the process logged.
    pub fn log_tail(&self) -> String {
        let l = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- log of the server at {} ---\n{}\n---", self.node.base, self.log_tail());
        }
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
