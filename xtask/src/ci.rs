//! `cargo xtask ci`: the steps CI runs, in order, each under a header, failing fast.

use crate::{cargo, output, run_cmd, succeeds, use_locked};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The PostgreSQL server the tests create their databases on (overridable with `KC_TEST_PG_URL`).
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One CI step: a name for the header and the summary, and what it does.
struct Step {
    name: &'static str,
    run: fn(&Ctx) -> Result<()>,
}

/// What every step needs to know.
struct Ctx {
    /// Pass `--locked` to cargo (CI with a committed `Cargo.lock`).
    locked: bool,
}

impl Ctx {
    /// `cargo <sub>`, with `--locked` when required. Children inherit our environment, so
    /// `CARGO_TERM_COLOR` (and `CI`) reach every cargo run.
    fn cargo(&self, sub: &str) -> Command {
        let mut cmd = cargo();
        cmd.arg(sub);
        if self.locked {
            cmd.arg("--locked");
        }
        cmd
    }
}

const STEPS: &[Step] = &[
    Step { name: "install", run: install },
    Step { name: "fmt", run: fmt },
    Step { name: "clippy", run: clippy },
    Step { name: "dependency direction", run: dependency_direction },
    Step { name: "codegen --check", run: |_| crate::codegen::codegen(true) },
    Step { name: "sdk tests", run: sdk_tests },
    Step { name: "docs", run: docs },
    Step { name: "tests", run: run_tests },
    Step { name: "contract fuzzing", run: contract_fuzz },
];

/// Runs every step in order; prints a header per step and one summary line at the end.
pub(crate) fn run() -> Result<()> {
    let ctx = Ctx { locked: use_locked() };
    let started = Instant::now();
    let mut passed: Vec<String> = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        println!("\n==> ci [{}/{}] {}", i + 1, STEPS.len(), step.name);
        let t = Instant::now();
        if let Err(e) = (step.run)(&ctx) {
            println!(
                "\nci: FAILED at step `{}` after {} (passed before it: {})",
                step.name,
                secs(started.elapsed()),
                if passed.is_empty() { "none".to_owned() } else { passed.join(", ") }
            );
            return Err(e.context(format!("ci step `{}` failed", step.name)));
        }
        println!("<== {} ok in {}", step.name, secs(t.elapsed()));
        passed.push(format!("{} {}", step.name, secs(t.elapsed())));
    }
    println!("\nci: OK, all {} steps in {} ({})", STEPS.len(), secs(started.elapsed()), passed.join(", "));
    Ok(())
}

/// `12.3s`.
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Ensures what the tests need: Chromium + ChromeDriver, a running PostgreSQL, rustfmt and clippy.
fn install(_: &Ctx) -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        println!("chromium and chromedriver present");
    } else {
        let apt = |args: &[&str]| {
            let mut cmd = Command::new("apt-get");
            cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            run_cmd(&mut cmd)
        };
        apt(&["update"])?;
        apt(&["install", "-y", "chromium", "chromium-driver"]).context("cannot install chromium for browser tests")?;
    }

    ensure_postgres()?;
    // nginx for the two-node cluster test behind a reverse proxy.
    crate::cluster::ensure_nginx()?;

    // axe-core, injected by the browser tests' accessibility checks, from its lockfile.
    run_cmd(
        Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir("crates/server/tests/e2e/axe"),
    )
    .context("cannot install axe-core for the browser tests (npm ci in crates/server/tests/e2e/axe)")?;

    // The client SDKs' npm workspace (build tools, unit tests; the SDK tarball test needs React).
    run_cmd(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir("sdk"))
        .context("cannot install the SDK workspace (npm ci in sdk/)")?;

    if succeeds(cargo().arg("fmt").arg("--version")) && succeeds(cargo().arg("clippy").arg("--version")) {
        println!("rustfmt and clippy present");
    } else {
        run_cmd(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// Starts the local PostgreSQL cluster(s) if 127.0.0.1:5432 does not answer, and waits up to 30 s.
pub(crate) fn ensure_postgres() -> Result<()> {
    let ready = || succeeds(Command::new("pg_isready").args(["-q", "-h", "127.0.0.1", "-p", "5432"]));
    if ready() {
        println!("postgresql accepting connections on 127.0.0.1:5432");
    } else {
        let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
            .context("PostgreSQL is down and /etc/postgresql is missing: is PostgreSQL installed?")?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        versions.sort();
        for v in &versions {
            run_cmd(Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", v, "main", "start"]))?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready() {
            if Instant::now() > deadline {
                bail!("PostgreSQL is still not accepting connections on 127.0.0.1:5432 after 30 s; tests need it");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        println!("postgresql started");
    }
    // The default test URL names the `test` database; create it if a fresh cluster lacks it.
    if std::env::var_os("KC_TEST_PG_URL").is_none()
        && !succeeds(Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc", "select 1"]))
    {
        run_cmd(Command::new("createdb").args(["-h", "127.0.0.1", "-U", "postgres", "test"]))?;
    }
    Ok(())
}

/// The SDK packages' own checks: type-check and unit tests of every package (`npm test`).
fn sdk_tests(_: &Ctx) -> Result<()> {
    run_cmd(Command::new("npm").args(["test", "--workspaces", "--if-present"]).current_dir("sdk"))
}

/// `cargo fmt --check` over the workspace.
fn fmt(_: &Ctx) -> Result<()> {
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"])).context("code is not formatted: run `cargo fmt --all`")
}

/// Clippy on every target, warnings denied.
fn clippy(ctx: &Ctx) -> Result<()> {
    run_cmd(ctx.cargo("clippy").args([
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
        "-D",
        "clippy::dbg_macro",
        "-D",
        "clippy::todo",
    ]))?;
    // The optional OTLP trace export of the binary (feature `otlp`) must keep compiling too.
    run_cmd(ctx.cargo("clippy").args(["-p", "kryptos-connect", "--features", "otlp", "--", "-D", "warnings"]))?;
    // Each feature set a library user can pick builds on its own (workspace builds unify features).
    for args in FEATURE_SETS {
        run_cmd(ctx.cargo("clippy").args(*args).args(["--", "-D", "warnings"]))?;
    }
    Ok(())
}

/// Feature sets built once each: one database backend at a time, the API crate and the Rust
/// SDK without the OpenAPI schemas, the service without any adapter.
const FEATURE_SETS: &[&[&str]] = &[
    &["-p", "kc-store", "--no-default-features", "--features", "sqlite"],
    &["-p", "kc-store", "--no-default-features", "--features", "postgres"],
    &["-p", "kc-api"],
    &["-p", "kc-client"],
    &["-p", "kc-service"],
];

/// Crates that must never appear among a crate's normal (non-dev, non-build) dependencies.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("kc-domain", &["sea-orm", "sqlx", "axum", "reqwest", "tokio", "hyper"]),
    ("kc-api", &["sea-orm", "sqlx", "axum", "reqwest", "hyper"]),
    // The ports and the service know no database driver, HTTP client or server: adapters do.
    ("kc-ports", &["sea-orm", "sqlx", "reqwest", "axum", "hyper", "tokio", "kc-store", "kc-chain"]),
    ("kc-service", &["sea-orm", "sqlx", "reqwest", "axum", "hyper", "kc-store", "kc-chain", "kc-webhook-sender"]),
    ("kc-store-memory", &["sea-orm", "sqlx", "reqwest", "axum", "hyper"]),
    ("kc-http", &["sea-orm", "sqlx", "kc-store", "kc-chain"]),
    ("kc-store", &["axum", "reqwest", "hyper", "kc-service", "kc-chain"]),
    ("kc-chain", &["sea-orm", "sqlx", "kc-store", "kc-service"]),
    ("kc-client", &["sea-orm", "sqlx", "axum", "kc-store", "kc-service", "openssl-sys", "native-tls"]),
];

/// Fails if a layer depends, directly or transitively, on a crate it must not know.
fn dependency_direction(ctx: &Ctx) -> Result<()> {
    let mut violations = Vec::new();
    for (krate, forbidden) in FORBIDDEN {
        let mut cmd = ctx.cargo("tree");
        cmd.args(["-p", krate, "-e", "normal", "--prefix", "depth", "--color", "never"]);
        let tree = output(&mut cmd)?;
        let found = forbidden_paths(&tree, forbidden);
        println!("{krate}: {}", if found.is_empty() { "ok".to_owned() } else { format!("{} forbidden", found.len()) });
        violations.extend(found);
    }
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("forbidden dependency: {v}");
        }
        bail!("{} forbidden dependency edge(s); see `cargo tree -p <crate> -e normal -i <dep>`", violations.len());
    }
    Ok(())
}

/// In a `cargo tree --prefix depth` listing, the path to the first occurrence of each forbidden
/// crate, e.g. `kc-domain -> sea-query -> sea-orm`.
fn forbidden_paths(tree: &str, forbidden: &[&str]) -> Vec<String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut found: Vec<(&str, String)> = Vec::new();
    for line in tree.lines() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let (Ok(depth), Some(name)) = (line[..digits].parse::<usize>(), line[digits..].split_whitespace().next())
        else {
            continue;
        };
        stack.truncate(depth);
        stack.push(name);
        if forbidden.contains(&name) && !found.iter().any(|(n, _)| *n == name) {
            found.push((name, stack.join(" -> ")));
        }
    }
    found.into_iter().map(|(_, path)| path).collect()
}

/// Every test target, then the doc tests; PostgreSQL tests use `KC_TEST_PG_URL`, browser tests
/// the chromedriver that `install` ensured.
fn run_tests(ctx: &Ctx) -> Result<()> {
    let pg_url = std::env::var("KC_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    println!("KC_TEST_PG_URL={pg_url}");
    drop_test_databases(&pg_url)?;
    // --no-fail-fast: one CI run reports every failing test binary, not just the first.
    run_cmd(ctx.cargo("test").args(["--workspace", "--all-targets", "--no-fail-fast"]).env("KC_TEST_PG_URL", &pg_url))?;
    run_cmd(ctx.cargo("test").args(["--workspace", "--doc"]).env("KC_TEST_PG_URL", &pg_url))
}

/// Names of the databases tests and the ledger benchmark create (each test its own, left for
/// inspection when it fails).
const TEST_DATABASES: &str = "^kc_(test|conformance|batching|ledger_bench)_[0-9a-z_]+$";

/// Drops the databases earlier test runs left on `pg_url`'s server, so that repeated runs do
/// not fill its disk (one run leaves about 300, 3 GB).
fn drop_test_databases(pg_url: &str) -> Result<()> {
    let list = format!("SELECT datname FROM pg_database WHERE datname ~ '{TEST_DATABASES}'");
    let names = output(Command::new("psql").args([pg_url, "-v", "ON_ERROR_STOP=1", "-Atc", &list]))?;
    let names: Vec<&str> = names.lines().map(str::trim).filter(|n| !n.is_empty()).collect();
    for name in &names {
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        output(Command::new("psql").args([pg_url, "-v", "ON_ERROR_STOP=1", "-qc", &drop]))?;
    }
    println!("databases left by earlier test runs, dropped: {}", names.len());
    Ok(())
}

/// `cargo doc` with warnings denied: every crate's page builds, with no broken links.
fn docs(ctx: &Ctx) -> Result<()> {
    run_cmd(ctx.cargo("doc").args(["--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))
}

/// Schemathesis against the running server's OpenAPI document: no 5xx, every response matches
/// the schema (bounded in examples and time; loopback only).
fn contract_fuzz(_: &Ctx) -> Result<()> {
    run_cmd(Command::new("bash").args(["scripts/contract-fuzz.sh", "--max-examples", "25", "--max-time", "180"]))
}

#[cfg(test)]
mod tests {
    use super::forbidden_paths;

    #[test]
    fn finds_the_path_to_a_forbidden_crate() {
        let tree = "0kc-domain v0.1.0 (/x)\n1serde v1.0.0\n1sea-query v0.32.0\n2sea-orm v1.1.0\n1time v0.3.0\n";
        assert_eq!(forbidden_paths(tree, &["sea-orm"]), ["kc-domain -> sea-query -> sea-orm"]);
        assert!(forbidden_paths(tree, &["axum", "tokio"]).is_empty(), "no false positives");
        assert!(forbidden_paths(tree, &["sea"]).is_empty(), "names match exactly");
    }
}
