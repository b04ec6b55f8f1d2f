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
    let app = Application::build_with(&settings, Overrides { clock: Some(clock.clone()) })
        .await
        .expect("application builds");
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

    /// Sends a request; `creds` become the client headers, `link` the `X-LINK-TOKEN`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        link: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
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
        let res = req.send().await.expect("request reaches the server");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
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
