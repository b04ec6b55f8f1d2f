//! Project chores, run as `cargo xtask <command>` (the cargo-xtask pattern: plain Rust instead of
//! shell scripts, so every developer and CI run exactly the same steps).
//!
//! - `ci`: everything CI checks, in order, failing fast (see [`ci`]).
//! - `codegen [--check]`: rewrite (or check) committed generated files (see [`codegen`]).
//! - `bench [--seconds N] [--concurrency C] [--threads T] [--db sqlite|postgres|both] [--tokens N]
//!   [--soak S] [--no-cluster] [--only A,B]`: load figures for the release server over loopback,
//!   driven by wrk (see [`mod@bench`]).
//! - `cluster [--port N]`: two release nodes behind nginx on the local PostgreSQL (see [`cluster`]).

mod bench;
mod ci;
mod cluster;
mod codegen;

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                       fmt, clippy, dependency direction, codegen check, tests (what CI runs)
  codegen [--check]        regenerate committed generated files (--check: fail if stale)
  bench [options]          load figures for the release server over loopback (wrk; installed if missing)
      --seconds N          seconds per scenario (default 8)
      --concurrency C      concurrent connections (default 32)
      --threads T          wrk threads (default 1)
      --db sqlite|postgres|both   database(s) to measure (default both)
      --tokens N           public tokens per exchange run (default: 4000 per second of the run)
      --soak S             also run the write path for S seconds, sampling RSS
      --no-cluster         skip the two-process PostgreSQL run
      --only A,B           only scenarios whose label contains A or B (`--only ledger`: the ledger
                           ingest + cost basis + deep pages benchmark alone)
      --ledger-transactions N   transactions of the ledger benchmark (default 100000)
      --server PATH        measure this server binary instead of this checkout's build
  cluster [--port N]       nginx on 127.0.0.1:N (default 8080) in front of two release nodes on the
                           local PostgreSQL (the deploy/compose.yaml topology); Ctrl-C stops it
";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    std::env::set_current_dir(project_root()).context("cannot enter the repository root")?;
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        bail!("no command given");
    };
    match command.as_str() {
        "ci" => {
            Flags::parse(rest, &[])?;
            ci::run()
        }
        "codegen" => {
            let flags = Flags::parse(rest, &["--check"])?;
            codegen::codegen(flags.switch("--check"))
        }
        "bench" => bench::run(bench::Options::from_flags(&Flags::parse(
            rest,
            &[
                "--seconds=",
                "--concurrency=",
                "--threads=",
                "--db=",
                "--tokens=",
                "--soak=",
                "--no-cluster",
                "--only=",
                "--server=",
                "--ledger-transactions=",
            ],
        )?)?),
        "cluster" => cluster::run(&Flags::parse(rest, &["--port="])?),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            print!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}

/// Command-line flags: `--switch`, `--key value` or `--key=value`.
pub(crate) struct Flags(Vec<(String, Option<String>)>);

impl Flags {
    /// Parses `args` against `known` flags; a known name ending in `=` takes a value.
    fn parse(args: &[String], known: &[&str]) -> Result<Self> {
        let mut flags = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (arg.as_str(), None),
            };
            if known.contains(&name) && inline.is_none() {
                flags.push((name.to_owned(), None));
            } else if known.contains(&format!("{name}=").as_str()) {
                let value = match inline {
                    Some(v) => v,
                    None => args.next().with_context(|| format!("{name} needs a value"))?.clone(),
                };
                flags.push((name.to_owned(), Some(value)));
            } else {
                bail!("unknown argument `{arg}`\n\n{USAGE}");
            }
        }
        Ok(Self(flags))
    }

    /// Whether the switch `name` was given.
    fn switch(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// The last value given for `name`, parsed.
    pub(crate) fn value<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e| anyhow::anyhow!("{name} {v}: {e}")),
        }
    }
}

/// The repository root (the parent of this crate's directory).
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` at run time too; that one wins over the compile-time
/// value, which can name another checkout when a target dir is shared between checkouts.
pub(crate) fn project_root() -> PathBuf {
    let manifest =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map_or_else(|| manifest.clone(), Path::to_path_buf)
}

/// `cargo`: the one that runs us (`$CARGO`) when there is one.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Whether cargo commands get `--locked`: in CI (`CI=true`), when `Cargo.lock` is committed.
pub(crate) fn use_locked() -> bool {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    in_ci
        && Command::new("git")
            .args(["ls-files", "--error-unmatch", "Cargo.lock"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The command line as a shell would show it.
fn display(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs `cmd` with inherited output, printing it first; fails unless it exits successfully.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd.status().with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its standard output; fails (showing its stderr) unless it succeeds.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("cannot start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim_end());
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// Whether `cmd` runs and succeeds, with all output discarded.
pub(crate) fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}
