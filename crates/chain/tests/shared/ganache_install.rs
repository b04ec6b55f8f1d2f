//! The ganache CLI for the tests that run a real local EVM node (kc-chain's and the server's:
//! this file is included by both with `#[path]`): installed with npm under the target directory
//! on first use, failing loudly when node or npm is missing.

use std::path::{Path, PathBuf};

/// `<target>/ganache/node_modules/ganache/dist/node/cli.js`, installed with npm on first use.
pub(crate) fn ganache_cli(target: &Path) -> PathBuf {
    // One install per process at a time; across processes the rename below decides.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let prefix = target.join("ganache");
    let cli = prefix.join("node_modules/ganache/dist/node/cli.js");
    if cli.exists() {
        return cli;
    }
    // Installed beside and renamed into place: `<target>/ganache` only ever holds a whole
    // install (two npm runs into one prefix, or one interrupted, left a tree that cannot start).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let staging = target.join(format!("ganache-install-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&staging).expect("create a ganache staging directory");
    let output = std::process::Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&staging)
        .args(["ganache@7", "--no-audit", "--no-fund", "--loglevel=error"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm to install ganache (is Node.js/npm installed?): {e}"));
    assert!(
        output.status.success() && staging.join("node_modules/ganache/dist/node/cli.js").exists(),
        "npm install ganache@7 into {} failed ({}): {}",
        staging.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    if prefix.exists() {
        // A broken earlier install (no cli.js), or another process's finished one: replaced
        // only when broken.
        if !cli.exists() {
            std::fs::remove_dir_all(&prefix).expect("remove a broken ganache install");
        }
    }
    if std::fs::rename(&staging, &prefix).is_err() {
        // Another process renamed its install first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(cli.exists(), "ganache is not at {} after its install", cli.display());
    cli
}
