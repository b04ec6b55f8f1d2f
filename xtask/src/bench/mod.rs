//! `cargo xtask bench`: throughput, latency and memory of the release server, driven over
//! loopback by **wrk** (a C load generator that is not the bottleneck here: it reaches several
//! times the server's own rates on the same cores).
//!
//! One run measures, in order:
//!
//! 1. a hello-world axum server (`xtask/src/bin/bench-baseline.rs`, built in release with the
//!    server): the ceiling of an HTTP round trip on this machine with this load generator, and
//!    the denominator of every ratio printed;
//! 2. per database (SQLite, then PostgreSQL on a fresh database), the release server on a fresh
//!    data dir: every [`scenarios`] entry, with RSS idle and under load (`/proc/<pid>/status`);
//! 3. two server processes on one fresh PostgreSQL database, each driven by its own wrk, for
//!    check-session and exchange (what two nodes behind a balancer sustain together);
//! 4. optionally (`--soak SECONDS`) a longer run of the write path, sampling RSS, to show that
//!    memory does not grow without bound;
//! 5. the ledger ([`ledger`]): ingest and process `--ledger-transactions` (100 000) across 10
//!    wallets, and deep pages by offset and keyset. `--only ledger` runs this alone (no wrk).
//!
//! Module map: [`server`] starts and stops servers and databases, [`flows`] prepares the data a
//! scenario needs (client, access token, public tokens, wallets) through the HTTP API,
//! [`scenarios`] lists what is measured, [`wrk`] runs the load, [`report`] prints the tables.

mod flows;
mod ledger;
mod oidc;
mod report;
mod scenarios;
mod server;
mod wrk;

use crate::{cargo, output, run_cmd, use_locked, Flags};
use anyhow::{bail, ensure, Context, Result};
use report::Row;
use server::{Backend, Server};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// What `cargo xtask bench` was asked to do.
pub(crate) struct Options {
    /// Length of each scenario.
    duration: Duration,
    /// Concurrent connections.
    concurrency: usize,
    /// wrk threads.
    threads: usize,
    /// Databases to measure, in order.
    dbs: Vec<Db>,
    /// Public tokens prepared per exchange run; `None`: enough for the run at 4,000/s.
    tokens: Option<usize>,
    /// Length of the soak run (none by default).
    soak: Option<Duration>,
    /// Whether to run the two-process PostgreSQL scenarios.
    cluster: bool,
    /// Only scenarios whose label contains one of these (all when empty).
    only: Vec<String>,
    /// A server binary to measure instead of building this checkout's (to compare builds).
    server: Option<PathBuf>,
    /// Transactions of the ledger target.
    ledger_transactions: usize,
}

impl Options {
    /// From `--seconds`, `--concurrency`, `--threads`, `--db`, `--tokens`, `--soak`,
    /// `--no-cluster`, `--only` and `--server`.
    pub(crate) fn from_flags(flags: &Flags) -> Result<Self> {
        let seconds: u64 = flags.value("--seconds")?.unwrap_or(8);
        let concurrency: usize = flags.value("--concurrency")?.unwrap_or(32);
        let threads: usize = flags.value("--threads")?.unwrap_or(1);
        let tokens: Option<usize> = flags.value("--tokens")?;
        let soak: Option<u64> = flags.value("--soak")?;
        let dbs = match flags.value::<String>("--db")?.as_deref().unwrap_or("both") {
            "sqlite" => vec![Db::Sqlite],
            "postgres" => vec![Db::Postgres],
            "both" => vec![Db::Sqlite, Db::Postgres],
            other => bail!("--db must be sqlite, postgres or both, not `{other}`"),
        };
        ensure!(seconds > 0 && concurrency > 0 && threads > 0, "--seconds, --concurrency and --threads must be > 0");
        ensure!(concurrency >= threads, "--concurrency must be at least --threads (wrk needs a connection per thread)");
        ensure!(tokens != Some(0), "--tokens must be > 0");
        let only = flags
            .value::<String>("--only")?
            .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            duration: Duration::from_secs(seconds),
            concurrency,
            threads,
            dbs,
            tokens,
            soak: soak.filter(|s| *s > 0).map(Duration::from_secs),
            cluster: !flags.switch("--no-cluster"),
            only,
            server: flags.value::<String>("--server")?.map(PathBuf::from),
            ledger_transactions: flags.value("--ledger-transactions")?.unwrap_or(100_000),
        })
    }

    /// Public tokens to prepare for one exchange run of `seconds`.
    fn exchange_tokens(&self, duration: Duration) -> usize {
        self.tokens.unwrap_or_else(|| (duration.as_secs_f64() * 4000.0).ceil() as usize)
    }

    /// Whether the scenario `label` is selected by `--only`.
    fn selected(&self, label: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| label.contains(o.as_str()))
    }
}

/// A database backend of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Db {
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

/// Builds the release server and the baseline, then measures everything (see the module docs).
pub(crate) fn run(opts: Options) -> Result<()> {
    if !opts.only.is_empty() && opts.only.iter().all(|o| o == "ledger") {
        return ledger::run(&opts);
    }
    wrk::ensure_installed()?;
    let mut build = cargo();
    build.args(["build", "--release"]);
    if opts.server.is_none() {
        build.args(["-p", "kryptos-connect", "--bin", "kryptos-connect"]);
    }
    build.args(["-p", "xtask", "--bin", "bench-baseline"]);
    if use_locked() {
        build.arg("--locked");
    }
    run_cmd(&mut build)?;
    let release = target_dir()?.join("release");
    let bin = opts.server.clone().unwrap_or_else(|| release.join("kryptos-connect"));
    let baseline_bin = release.join("bench-baseline");
    let version = output(Command::new(&bin).arg("--version"))?;

    println!("\nmachine: {} CPUs, {}, load average {}", cpus(), cpu_model(), load_average());
    println!("server:  {}", version.trim());
    println!("commit:  {}", commit());
    println!(
        "load:    wrk, {} thread(s), {} connections, {} s per scenario",
        opts.threads,
        opts.concurrency,
        opts.duration.as_secs()
    );

    let rt = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    let mut rows: Vec<Row> = Vec::new();

    // 1. The ceiling: hello-world axum, same load generator, same connections.
    let baseline = server::Baseline::start(&baseline_bin)?;
    let ceiling = wrk::run(&[baseline.target()], &scenarios::baseline(), &opts, opts.duration)?;
    drop(baseline);
    let ceiling_rate = ceiling.rate();
    rows.push(Row::new("baseline", scenarios::baseline().label, ceiling));
    println!("baseline: {ceiling_rate:.0} req/s");

    // 2. Each database on its own.
    let mut memory = Vec::new();
    for db in &opts.dbs {
        println!("\n==> bench on {}", db.name());
        let backend = Backend::create(*db)?;
        let server = Server::start(&bin, &backend, "a")?;
        let fixture = rt.block_on(flows::Fixture::prepare(&server)).with_context(|| {
            format!("preparing data on {} failed; server log tail:\n{}", db.name(), server.log_tail())
        })?;
        let idle = server.memory();
        for scenario in scenarios::all(&fixture) {
            if !opts.selected(scenario.label) {
                continue;
            }
            let run = if scenario.needs_public_tokens {
                let n = opts.exchange_tokens(opts.duration);
                let tokens = rt.block_on(flows::public_tokens(&server, n, opts.concurrency))?;
                let files = wrk::token_files(&[tokens])?;
                wrk::run_with_tokens(&[server.target()], &scenario, &opts, opts.duration, &files)
            } else {
                wrk::run(&[server.target()], &scenario, &opts, opts.duration)
            }
            .with_context(|| format!("{} on {}; server log tail:\n{}", scenario.label, db.name(), server.log_tail()))?;
            println!("{:<44} {}", scenario.label, run.summary());
            rows.push(Row::new(db.name(), scenario.label, run));
        }
        oidc::measure(&rt, &server, &opts, db.name(), &mut rows)?;
        let loaded = server.memory();
        if let Some(soak) = opts.soak {
            soak_run(&server, &fixture, &opts, soak)?;
        }
        memory.push((db.name().to_owned(), idle, loaded, server.memory()));
        drop(server);
        drop(backend);
    }

    // 3. Two processes on one PostgreSQL database.
    if opts.cluster && opts.dbs.contains(&Db::Postgres) {
        println!("\n==> bench on two processes sharing one PostgreSQL database");
        let backend = Backend::create(Db::Postgres)?;
        let a = Server::start(&bin, &backend, "a")?;
        let b = Server::start_sharing(&bin, &backend, &a, "b")?;
        let fixture = rt.block_on(flows::Fixture::prepare(&a))?;
        for scenario in scenarios::cluster(&fixture) {
            if !opts.selected(scenario.label) {
                continue;
            }
            let targets = [a.target(), b.target()];
            let run = if scenario.needs_public_tokens {
                let n = opts.exchange_tokens(opts.duration);
                let tokens = rt.block_on(flows::public_tokens(&a, n, opts.concurrency))?;
                let (first, second) = tokens.split_at(tokens.len() / 2);
                let files = wrk::token_files(&[first.to_vec(), second.to_vec()])?;
                wrk::run_with_tokens(&targets, &scenario, &opts, opts.duration, &files)
            } else {
                wrk::run(&targets, &scenario, &opts, opts.duration)
            }
            .with_context(|| format!("{} on two nodes; logs:\n{}\n{}", scenario.label, a.log_tail(), b.log_tail()))?;
            println!("{:<44} {}", scenario.label, run.summary());
            rows.push(Row::new("postgres ×2", scenario.label, run));
        }
    }

    report::print(&rows, ceiling_rate, &memory, &opts);
    println!("\nload average after the run: {}", load_average());
    if opts.selected("ledger") {
        ledger::run(&opts)?;
    }
    Ok(())
}

/// Runs link-token creation (the write path) for `soak` in 30 s chunks, printing RSS after each.
fn soak_run(server: &Server, fixture: &flows::Fixture, opts: &Options, soak: Duration) -> Result<()> {
    let scenario = scenarios::link_token(fixture);
    let chunk = Duration::from_secs(30).min(soak);
    let mut done = Duration::ZERO;
    println!("soak: {} s of {} in {} s chunks", soak.as_secs(), scenario.label, chunk.as_secs());
    while done < soak {
        let run = wrk::run(&[server.target()], &scenario, opts, chunk)?;
        done += chunk;
        let m = server.memory();
        println!("  after {:>4} s: {}; RSS {} (peak {})", done.as_secs(), run.summary(), m.rss(), m.peak());
    }
    Ok(())
}

/// The cargo target directory (honours `CARGO_TARGET_DIR` and cargo configuration).
pub(crate) fn target_dir() -> Result<PathBuf> {
    let meta = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let meta: serde_json::Value = serde_json::from_str(&meta).context("cargo metadata printed invalid JSON")?;
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

/// `git rev-parse HEAD`, with a note when the work tree has uncommitted changes.
fn commit() -> String {
    let head = output(Command::new("git").args(["rev-parse", "HEAD"])).map(|s| s.trim().to_owned());
    let dirty = output(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]))
        .is_ok_and(|s| !s.trim().is_empty());
    match head {
        Ok(h) if dirty => format!("{h} + uncommitted changes"),
        Ok(h) => h,
        Err(_) => "unknown (not a git checkout)".to_owned(),
    }
}
