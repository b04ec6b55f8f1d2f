//! The ledger target of `cargo xtask bench` (`--only ledger`, also part of a full run): builds
//! `crates/store/examples/ledger_bench.rs` in release and runs it on each database asked
//! (`--db`), with `--ledger-transactions N` (default 100 000) across 10 wallets. It ingests and
//! processes the ledger, compares deep pages of the transactions list by offset and by keyset,
//! and times the Data API's transactions page and holdings (the service calls the HTTP handlers
//! make) on an empty, a one-page and the big ledger; see the example's docs for each figure.

use super::Options;
use crate::{cargo, run_cmd, use_locked};
use anyhow::{Context, Result};
use std::process::Command;

/// Builds and runs the ledger benchmark on every database of `opts`.
pub(crate) fn run(opts: &Options) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "kc-store", "--example", "ledger_bench"]);
    if use_locked() {
        build.arg("--locked");
    }
    run_cmd(&mut build)?;
    let bin = super::target_dir()?.join("release").join("examples").join("ledger_bench");
    for db in &opts.dbs {
        println!("\n==> ledger bench on {}: {} transactions, 10 wallets", db.name(), opts.ledger_transactions);
        let mut cmd = Command::new(&bin);
        cmd.args(["--db", db.name(), "--transactions", &opts.ledger_transactions.to_string(), "--wallets", "10"]);
        run_cmd(&mut cmd).with_context(|| format!("the ledger bench on {} failed", db.name()))?;
    }
    Ok(())
}
