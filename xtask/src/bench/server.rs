//! The processes under load: the release server (one or two nodes, on SQLite or a fresh
//! PostgreSQL database) and the hello-world baseline; each is killed when dropped.

use super::wrk::Target;
use super::Db;
use crate::output;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The PostgreSQL server bench databases are created on.
const PG_HOST: &str = "127.0.0.1";
/// The database `psql` connects to for `CREATE DATABASE`.
const PG_ADMIN_DB: &str = "test";

/// 64 random bits as hex, from std's randomly keyed hasher (no rand dependency needed).
pub(super) fn random_hex() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{:016x}", h.finish())
}

/// Where the server keeps its data: a temporary directory, plus a fresh PostgreSQL database.
/// Both are removed when dropped (after the servers using them).
pub(super) struct Backend {
    /// The database.
    db: Db,
    /// `kc_bench_<random>` on PostgreSQL.
    pg_name: Option<String>,
    /// Data dirs, logs, the SQLite file.
    dir: PathBuf,
    /// The pepper every node shares.
    pepper: String,
}

impl Backend {
    /// A fresh data dir and, for PostgreSQL, a fresh database.
    pub(super) fn create(db: Db) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("kc-bench-{}", random_hex()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let pg_name = match db {
            Db::Sqlite => None,
            Db::Postgres => {
                let name = format!("kc_bench_{}", random_hex());
                psql(&format!("CREATE DATABASE {name}"))
                    .context("cannot create the bench database (is PostgreSQL up?)")?;
                Some(name)
            }
        };
        let pepper = format!("{}{}{}{}", random_hex(), random_hex(), random_hex(), random_hex());
        Ok(Self { db, pg_name, dir, pepper })
    }

    /// The server's `--database-url` (none: the SQLite file in the data dir).
    fn url(&self) -> Option<String> {
        self.pg_name.as_ref().map(|n| format!("postgres://postgres@{PG_HOST}:5432/{n}"))
    }

    /// A `kryptos-connect` command on this backend; `node` names its data dir.
    fn command(&self, bin: &Path, node: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KRYPTOS__") {
                cmd.env_remove(key);
            }
        }
        if let Some(url) = self.url() {
            cmd.arg("--database-url").arg(url);
        }
        // On SQLite both nodes would have to share the file; the bench runs one SQLite node.
        let data_dir = if self.db == Db::Sqlite { self.dir.join("data") } else { self.dir.join(node) };
        cmd.args(args)
            .env("KRYPTOS__DATA_DIR", data_dir)
            .env("KRYPTOS__DEMO__ENABLED", "false")
            .env("KRYPTOS__LOG__FILTER", "warn")
            .env("KRYPTOS__SECURITY__AUTH_FAILURES_PER_MINUTE", "100000")
            .env("KRYPTOS__SECURITY__PEPPER", &self.pepper)
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
                eprintln!("warning: could not drop bench database {name}: {e:#}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
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

/// A free loopback port.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .context("no free loopback port")
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    /// `VmRSS` in KiB.
    pub(crate) rss_kib: u64,
    /// `VmHWM` (peak RSS) in KiB.
    pub(crate) hwm_kib: u64,
}

impl Memory {
    /// Reads `/proc/<pid>/status` (zeros when it cannot be read).
    pub(super) fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Self { rss_kib: field("VmRSS:"), hwm_kib: field("VmHWM:") }
    }

    /// RSS in MiB, for the report.
    pub(crate) fn rss(&self) -> String {
        format!("{:.1} MiB", self.rss_kib as f64 / 1024.0)
    }

    /// Peak RSS in MiB.
    pub(crate) fn peak(&self) -> String {
        format!("{:.1} MiB", self.hwm_kib as f64 / 1024.0)
    }
}

/// A release server process; killed when dropped.
pub(super) struct Server {
    /// The process.
    child: Child,
    /// Its port on 127.0.0.1.
    pub(super) port: u16,
    /// Client credentials registered for the bench.
    pub(super) client_id: String,
    /// Secret of `client_id`.
    pub(super) client_secret: String,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

impl Server {
    /// Starts node `node` on `backend` on a free port, waits for it, registers a client.
    pub(super) fn start(bin: &Path, backend: &Backend, node: &str) -> Result<Self> {
        let mut server = Self::spawn(bin, backend, node)?;
        let created = output(&mut backend.command(
            bin,
            node,
            &[
                "clients",
                "create",
                "--name",
                "bench",
                "--mode",
                "sandbox",
                "--redirect-uri",
                super::oidc::REDIRECT,
                "--json",
            ],
        ))?;
        let created: Value = serde_json::from_str(&created).context("`clients create --json` printed invalid JSON")?;
        let field = |k: &str| created[k].as_str().map(str::to_owned).with_context(|| format!("no {k} in {created}"));
        server.client_id = field("client_id")?;
        server.client_secret = field("client_secret")?;
        println!("server {node} up at 127.0.0.1:{} ({:?}), client {}", server.port, backend.db, server.client_id);
        Ok(server)
    }

    /// Starts a second node on the database of `first`, using `first`'s client.
    pub(super) fn start_sharing(bin: &Path, backend: &Backend, first: &Server, node: &str) -> Result<Self> {
        let mut server = Self::spawn(bin, backend, node)?;
        server.client_id.clone_from(&first.client_id);
        server.client_secret.clone_from(&first.client_secret);
        println!("server {node} up at 127.0.0.1:{} (same database)", server.port);
        Ok(server)
    }

    fn spawn(bin: &Path, backend: &Backend, node: &str) -> Result<Self> {
        let port = free_port()?;
        let log = backend.dir.join(format!("server-{node}.log"));
        let log_file = File::create(&log).context("cannot create the server log")?;
        let child = backend
            .command(bin, node, &["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = Self { child, port, client_id: String::new(), client_secret: String::new(), log };
        wait_healthy(&mut server.child, port, "/api/health")
            .with_context(|| format!("server did not come up; log tail:\n{}", server.log_tail()))?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`.
    pub(super) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What wrk is pointed at.
    pub(super) fn target(&self) -> Target {
        Target { port: self.port, pid: self.child.id() }
    }

    /// Its resident memory now.
    pub(super) fn memory(&self) -> Memory {
        Memory::of(self.child.id())
    }

    /// The last lines of the server's output.
    pub(super) fn log_tail(&self) -> String {
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

/// The hello-world axum server (`bench-baseline`); killed when dropped.
pub(super) struct Baseline {
    /// The process.
    child: Child,
    /// Its port.
    port: u16,
}

impl Baseline {
    /// Starts it on a free port and waits until it answers.
    pub(super) fn start(bin: &Path) -> Result<Self> {
        let port = free_port()?;
        let child = Command::new(bin)
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut baseline = Self { child, port };
        wait_healthy(&mut baseline.child, port, "/")?;
        Ok(baseline)
    }

    /// What wrk is pointed at.
    pub(super) fn target(&self) -> Target {
        Target { port: self.port, pid: self.child.id() }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET path` for up to 30 s; fails at once if the process exits.
fn wait_healthy(child: &mut Child, port: u16, path: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("process exited early ({status})");
        }
        if answers_200(port, path) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no answer from 127.0.0.1:{port}{path} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a plain blocking `GET path` on 127.0.0.1:`port` answers 200.
fn answers_200(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let addr = format!("127.0.0.1:{port}");
    let Ok(mut stream) = std::net::TcpStream::connect(&addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}
