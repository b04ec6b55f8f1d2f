//! `cargo xtask bench`: throughput and latency of the release server, driven over loopback.
//!
//! For each database the release binary runs as its own process on a free loopback port, with a
//! fresh data dir (and, for PostgreSQL, a fresh database). The load generator runs here: a fixed
//! number of connections, each sending its next request as soon as the previous one is answered,
//! for a fixed time per scenario. `GET /api/health` is the baseline: every other scenario is also
//! given as a fraction of its throughput, which cancels out much of the machine's speed.

use crate::{cargo, output, run_cmd, use_locked, Flags};
use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The PostgreSQL server bench databases are created on, and its admin database.
const PG_HOST: &str = "127.0.0.1";
/// The database `psql` connects to for `CREATE DATABASE`.
const PG_ADMIN_DB: &str = "test";

/// What `cargo xtask bench` was asked to do.
pub(crate) struct Options {
    /// Length of each scenario.
    duration: Duration,
    /// Concurrent connections.
    concurrency: usize,
    /// Databases to measure, in order.
    dbs: Vec<Db>,
    /// Public tokens prepared for the exchange scenario (it stops early when they run out).
    tokens: usize,
}

impl Options {
    /// From `--seconds`, `--concurrency`, `--db` and `--tokens`.
    pub(crate) fn from_flags(flags: &Flags) -> Result<Self> {
        let seconds: u64 = flags.value("--seconds")?.unwrap_or(10);
        let concurrency: usize = flags.value("--concurrency")?.unwrap_or(16);
        let tokens: usize = flags.value("--tokens")?.unwrap_or(2000);
        let dbs = match flags.value::<String>("--db")?.as_deref().unwrap_or("both") {
            "sqlite" => vec![Db::Sqlite],
            "postgres" => vec![Db::Postgres],
            "both" => vec![Db::Sqlite, Db::Postgres],
            other => bail!("--db must be sqlite, postgres or both, not `{other}`"),
        };
        ensure!(seconds > 0 && concurrency > 0 && tokens > 0, "--seconds, --concurrency and --tokens must be > 0");
        Ok(Self { duration: Duration::from_secs(seconds), concurrency, dbs, tokens })
    }
}

/// A database backend of the server.
#[derive(Clone, Copy, Debug)]
enum Db {
    /// The embedded SQLite file in the data dir.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

impl Db {
    /// Lower-case name.
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

/// Builds the release server, then measures every scenario on each requested database.
pub(crate) fn run(opts: Options) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "kryptos-connect"]);
    if use_locked() {
        build.arg("--locked");
    }
    run_cmd(&mut build)?;
    let bin = target_dir()?.join("release").join("kryptos-connect");
    let version = output(Command::new(&bin).arg("--version"))?;

    println!("\nmachine: {} CPUs, {}, load average {}", cpus(), cpu_model(), load_average());
    println!("server:  {}", version.trim());
    println!(
        "load:    {} s per scenario, {} connections, {} public tokens prepared for the exchange",
        opts.duration.as_secs(),
        opts.concurrency,
        opts.tokens
    );

    let rt = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    for db in &opts.dbs {
        println!("\n==> bench on {}", db.name());
        let server = Server::start(&bin, *db)?;
        let rows = rt
            .block_on(bench_server(&server, &opts))
            .with_context(|| format!("bench on {} failed; server log tail:\n{}", db.name(), server.log_tail()))?;
        drop(server);
        print_table(*db, &opts, &rows);
        println!("load average after the run: {}", load_average());
    }
    Ok(())
}

/// The cargo target directory (honours `CARGO_TARGET_DIR` and cargo configuration).
fn target_dir() -> Result<PathBuf> {
    let meta = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let meta: Value = serde_json::from_str(&meta).context("cargo metadata printed invalid JSON")?;
    let dir = meta["target_directory"].as_str().context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(dir))
}

/// Number of CPUs this process may use.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPU model from `/proc/cpuinfo`.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`: other work skews the figures.
fn load_average() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = avg.split_whitespace().take(3).collect();
    if parts.is_empty() {
        "unknown".to_owned()
    } else {
        parts.join(" ")
    }
}

/// 64 random bits as hex, from std's randomly keyed hasher (no rand dependency needed).
fn random_hex() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{:016x}", h.finish())
}

/// A fresh PostgreSQL database, dropped with this value.
struct TempDatabase {
    /// `kc_bench_<random>`.
    name: String,
}

impl TempDatabase {
    /// Creates `kc_bench_<random>` with `psql`.
    fn create() -> Result<Self> {
        let name = format!("kc_bench_{}", random_hex());
        psql(&format!("CREATE DATABASE {name}")).context("cannot create the bench database (is PostgreSQL up?)")?;
        Ok(Self { name })
    }

    /// The server's `--database-url`.
    fn url(&self) -> String {
        format!("postgres://postgres@{PG_HOST}:5432/{}", self.name)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("warning: could not drop bench database {}: {e:#}", self.name);
        }
    }
}

/// Runs one SQL statement on the admin database.
fn psql(sql: &str) -> Result<String> {
    output(Command::new("psql").args([
        "-h",
        PG_HOST,
        "-U",
        "postgres",
        "-d",
        PG_ADMIN_DB,
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        sql,
    ]))
}

/// A temporary directory, removed with this value.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The release server running as a child process; killed (and its data removed) when dropped.
struct Server {
    /// The server process.
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Client credentials registered for the bench.
    client_id: String,
    /// Secret of `client_id`.
    client_secret: String,
    /// Where the server's stdout and stderr go.
    log: PathBuf,
    /// Dropped after the process is killed (fields drop after `Drop::drop`).
    _database: Option<TempDatabase>,
    /// Data dir: SQLite file, log.
    _dir: TempDir,
}

impl Server {
    /// Starts the server on a fresh database and a free port, waits for it, registers a client.
    fn start(bin: &Path, db: Db) -> Result<Self> {
        let dir = TempDir(std::env::temp_dir().join(format!("kc-bench-{}", random_hex())));
        std::fs::create_dir_all(&dir.0).with_context(|| format!("cannot create {}", dir.0.display()))?;
        let database = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(TempDatabase::create()?),
        };
        let pepper = format!("{}{}{}{}", random_hex(), random_hex(), random_hex(), random_hex());
        let (database_url, data_dir) = (database.as_ref().map(TempDatabase::url), dir.0.clone());
        let command = move |args: &[&str]| {
            let mut cmd = Command::new(bin);
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("KRYPTOS__") {
                    cmd.env_remove(key);
                }
            }
            if let Some(url) = &database_url {
                cmd.arg("--database-url").arg(url);
            }
            cmd.args(args)
                .env("KRYPTOS__DATA_DIR", &data_dir)
                .env("KRYPTOS__DEMO__ENABLED", "false")
                .env("KRYPTOS__LOG__FILTER", "warn")
                .env("KRYPTOS__SECURITY__AUTH_FAILURES_PER_MINUTE", "100000")
                .env("KRYPTOS__SECURITY__PEPPER", &pepper)
                .stdin(Stdio::null());
            cmd
        };

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("no free loopback port")?
            .port();
        let log = dir.0.join("server.log");
        let log_file = File::create(&log).context("cannot create the server log")?;
        let child = command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client_id: String::new(),
            client_secret: String::new(),
            log,
            _database: database,
            _dir: dir,
        };
        server.wait_healthy().with_context(|| format!("server did not come up; log tail:\n{}", server.log_tail()))?;

        let created = output(&mut command(&["clients", "create", "--name", "bench", "--mode", "sandbox", "--json"]))?;
        let created: Value = serde_json::from_str(&created).context("`clients create --json` printed invalid JSON")?;
        let field = |k: &str| created[k].as_str().map(str::to_owned).with_context(|| format!("no {k} in {created}"));
        server.client_id = field("client_id")?;
        server.client_secret = field("client_secret")?;
        println!("server up at {} ({}), client {}", server.base, db.name(), server.client_id);
        Ok(server)
    }

    /// Polls `GET /api/health` for up to 30 s; fails at once if the process exits.
    fn wait_healthy(&mut self) -> Result<()> {
        let url = format!("{}/api/health", self.base);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("server exited early ({status})");
            }
            if health_ok(&url) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no answer from {url} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines of the server's output.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a plain blocking `GET` of `url` (http://127.0.0.1:PORT/path) answers 200.
fn health_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let Some((addr, path)) = rest.split_once('/') else { return false };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// One kind of request under load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// `GET /api/health`: no database, no auth; the baseline.
    Health,
    /// `POST /link-token/check-session` with a valid access token.
    CheckSession,
    /// `POST /token/exchange`, each request with a fresh public token.
    Exchange,
    /// `POST /link-token` with `{}`.
    LinkToken,
}

/// In the order they run and are printed.
const SCENARIOS: [Scenario; 4] = [Scenario::Health, Scenario::CheckSession, Scenario::Exchange, Scenario::LinkToken];

impl Scenario {
    /// Method and path.
    fn label(self) -> &'static str {
        match self {
            Scenario::Health => "GET /api/health",
            Scenario::CheckSession => "POST /link-token/check-session",
            Scenario::Exchange => "POST /token/exchange",
            Scenario::LinkToken => "POST /link-token",
        }
    }
}

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

/// Everything the load workers share.
struct Load {
    /// The server.
    conn: Conn,
    /// A valid access token of the client, for check-session.
    access_token: String,
    /// Fresh public tokens for the exchange scenario.
    public_tokens: Vec<String>,
    /// Index of the next unused public token.
    next_token: AtomicUsize,
}

impl Load {
    /// The request `scenario` sends next; `None` when the exchange pool is used up.
    fn request(&self, scenario: Scenario) -> Option<reqwest::RequestBuilder> {
        let conn = &self.conn;
        Some(match scenario {
            Scenario::Health => conn.http.get(format!("{}/api/health", conn.base)),
            Scenario::CheckSession => {
                conn.post("/link-token/check-session").json(&json!({ "access_token": self.access_token }))
            }
            Scenario::Exchange => {
                let token = self.public_tokens.get(self.next_token.fetch_add(1, Ordering::Relaxed))?;
                conn.post("/token/exchange").json(&json!({ "public_token": token }))
            }
            Scenario::LinkToken => conn.post("/link-token").json(&json!({})),
        })
    }
}

/// Sends `req` and returns the `data` of a success envelope, or why it is not one.
async fn call(req: reqwest::RequestBuilder) -> Result<Value> {
    let res = req.send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    envelope_data(status.as_u16(), &body)
}

/// The `data` of a 200 success envelope.
fn envelope_data(status: u16, body: &[u8]) -> Result<Value> {
    let mut v: Value = serde_json::from_slice(body)
        .with_context(|| format!("HTTP {status}, not JSON: {}", String::from_utf8_lossy(body)))?;
    ensure!(status == 200 && v["success"] == json!(true), "HTTP {status}: {v}");
    Ok(v["data"].take())
}

/// Whether an answer is the one `scenario` expects.
fn check_answer(scenario: Scenario, status: u16, body: &[u8]) -> Result<()> {
    if scenario == Scenario::Health {
        ensure!(status == 200, "HTTP {status}: {}", String::from_utf8_lossy(body));
        return Ok(());
    }
    let data = envelope_data(status, body)?;
    let expected = match scenario {
        Scenario::CheckSession => data["has_valid_session"] == json!(true),
        Scenario::Exchange => data["access_token"].as_str().is_some_and(|t| t.starts_with("cat_")),
        Scenario::LinkToken => data["link_token"].as_str().is_some_and(|t| t.starts_with("link_")),
        Scenario::Health => true,
    };
    ensure!(expected, "unexpected data: {data}");
    Ok(())
}

/// Runs the headless widget flow once: link token → guest → consent → complete; the public token.
async fn public_token(conn: &Conn) -> Result<String> {
    let data = call(conn.post("/link-token").json(&json!({}))).await.context("POST /link-token")?;
    let link = data["link_token"].as_str().context("no link_token")?.to_owned();
    call(conn.widget("/widget/auth/anonymous", &link)).await.context("POST /widget/auth/anonymous")?;
    call(conn.widget("/widget/consent", &link).json(&json!({ "approve": true })))
        .await
        .context("POST /widget/consent")?;
    let data = call(conn.widget("/widget/complete", &link)).await.context("POST /widget/complete")?;
    Ok(data["public_token"].as_str().context("no public_token")?.to_owned())
}

/// `n` public tokens, produced by `concurrency` parallel widget flows.
async fn prepare_public_tokens(conn: &Conn, n: usize, concurrency: usize) -> Result<Vec<String>> {
    let started = Instant::now();
    let remaining = Arc::new(AtomicUsize::new(n));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (conn, remaining) = (conn.clone(), remaining.clone());
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            while remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1)).is_ok() {
                tokens.push(public_token(&conn).await?);
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

/// What one scenario measured.
struct Row {
    /// The scenario.
    scenario: Scenario,
    /// Requests answered (successfully or not).
    requests: usize,
    /// Answers that were not what the scenario expects, and transport errors.
    errors: usize,
    /// From the start until the last worker finished.
    elapsed: Duration,
    /// Every request's latency in microseconds, sorted.
    latencies_us: Vec<u64>,
    /// The first error seen, for the report.
    first_error: Option<String>,
}

impl Row {
    /// Requests per second.
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency in ms (nearest rank).
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        self.latencies_us[rank.clamp(1, self.latencies_us.len()) - 1] as f64 / 1000.0
    }
}

/// Prepares tokens, then runs every scenario against `server` in turn.
async fn bench_server(server: &Server, opts: &Options) -> Result<Vec<Row>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(opts.concurrency)
        .build()
        .context("cannot build the HTTP client")?;
    let conn = Conn {
        http,
        base: server.base.clone(),
        client_id: server.client_id.clone(),
        client_secret: server.client_secret.clone(),
    };
    // One flow for the check-session token, then the exchange pool.
    let first = public_token(&conn).await?;
    let exchanged = call(conn.post("/token/exchange").json(&json!({ "public_token": first }))).await?;
    let access_token = exchanged["access_token"].as_str().context("no access_token")?.to_owned();
    let public_tokens = prepare_public_tokens(&conn, opts.tokens, opts.concurrency).await?;
    let load = Arc::new(Load { conn, access_token, public_tokens, next_token: AtomicUsize::new(0) });

    let mut rows = Vec::new();
    for scenario in SCENARIOS {
        let row = measure(&load, scenario, opts).await?;
        println!(
            "{:<32} {:>8} requests in {:>5.1} s, {} errors",
            scenario.label(),
            row.requests,
            row.elapsed.as_secs_f64(),
            row.errors
        );
        rows.push(row);
    }
    Ok(rows)
}

/// Runs `scenario` with `opts.concurrency` closed-loop workers for `opts.duration`.
async fn measure(load: &Arc<Load>, scenario: Scenario, opts: &Options) -> Result<Row> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.duration;
    let mut workers = Vec::new();
    for _ in 0..opts.concurrency {
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut first_error) = (0, None);
            while tokio::time::Instant::now() < deadline {
                let Some(req) = load.request(scenario) else { break };
                let t = Instant::now();
                let outcome = match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        match res.bytes().await {
                            Ok(body) => check_answer(scenario, status, &body),
                            Err(e) => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                };
                latencies.push(t.elapsed().as_micros() as u64);
                if let Err(e) = outcome {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut row =
        Row { scenario, requests: 0, errors: 0, elapsed: Duration::ZERO, latencies_us: Vec::new(), first_error: None };
    for worker in workers {
        let (latencies, errors, first_error) = worker.await.context("load worker panicked")?;
        row.latencies_us.extend(latencies);
        row.errors += errors;
        row.first_error = row.first_error.or(first_error);
    }
    row.elapsed = started.elapsed();
    row.requests = row.latencies_us.len();
    row.latencies_us.sort_unstable();
    Ok(row)
}

/// The result table of one database.
fn print_table(db: Db, opts: &Options, rows: &[Row]) {
    let baseline = rows.iter().find(|r| r.scenario == Scenario::Health).map_or(0.0, Row::rate);
    println!(
        "\n{} — {} s per scenario, {} connections, {} CPUs ({})",
        db.name(),
        opts.duration.as_secs(),
        opts.concurrency,
        cpus(),
        cpu_model()
    );
    println!(
        "{:<32} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "scenario", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "/ health"
    );
    for r in rows {
        println!(
            "{:<32} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>9.3}",
            r.scenario.label(),
            r.requests,
            r.rate(),
            r.percentile_ms(50.0),
            r.percentile_ms(90.0),
            r.percentile_ms(99.0),
            r.percentile_ms(100.0),
            r.errors,
            if baseline > 0.0 { r.rate() / baseline } else { 0.0 }
        );
    }
    for r in rows {
        if r.scenario == Scenario::Exchange && r.elapsed + Duration::from_millis(500) < opts.duration {
            println!("note: the exchange pool ({} tokens) ran out after {:.1} s", opts.tokens, r.elapsed.as_secs_f64());
        }
        if let Some(e) = &r.first_error {
            println!("note: first error in {}: {e}", r.scenario.label());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let row = Row {
            scenario: Scenario::Health,
            requests: 100,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
            first_error: None,
        };
        assert_eq!(row.percentile_ms(50.0), 50.0, "p50");
        assert_eq!(row.percentile_ms(99.0), 99.0, "p99");
        assert_eq!(row.percentile_ms(100.0), 100.0, "max");
        assert_eq!(row.rate(), 100.0, "rate");
    }

    #[test]
    fn answers_are_checked_per_scenario() {
        let ok = br#"{"success":true,"data":{"has_valid_session":true}}"#;
        assert!(check_answer(Scenario::CheckSession, 200, ok).is_ok(), "valid session");
        let revoked = br#"{"success":true,"data":{"has_valid_session":false,"reason":"token_revoked"}}"#;
        assert!(check_answer(Scenario::CheckSession, 200, revoked).is_err(), "invalid session is an error");
        let failed = br#"{"success":false,"error":"x","code":"INVALID_CLIENT"}"#;
        assert!(check_answer(Scenario::LinkToken, 401, failed).is_err(), "error envelope");
        assert!(check_answer(Scenario::Health, 200, b"{}").is_ok(), "health needs only 200");
    }
}
