//! `cargo xtask codegen [--check]`: committed files generated from the code (OpenAPI document,
//! `.d.ts`, …). Without `--check` they are rewritten; with it, a stale file fails CI.

use crate::{cargo, output, run_cmd};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A committed file whose whole content is what a command prints on standard output.
///
/// The command itself is responsible for any "generated — do not edit" marker, in whatever
/// form the file's format allows (a comment, or e.g. an `x-generated` key in JSON).
struct Generated {
    /// Path relative to the repository root.
    path: &'static str,
    /// Program and arguments; the program `cargo` means the cargo running xtask.
    command: &'static [&'static str],
}

/// Every generated file. EXTENSION POINT: add one entry per generated file, e.g.
///
/// ```text
/// Generated {
///     path: "docs/openapi.json",
///     command: &["cargo", "run", "--quiet", "-p", "kryptos-connect", "--", "openapi"],
/// },
/// ```
const GENERATED: &[Generated] = &[Generated {
    path: "docs/openapi.json",
    command: &["cargo", "run", "--quiet", "-p", "kc-http", "--example", "openapi"],
}];

/// The npm workspace of the client SDKs; each package's committed `dist/` is its build output.
const SDK_WORKSPACE: &str = "sdk";

/// Regenerates every file in [`GENERATED`] and the SDK build outputs; with `check`, leaves
/// every committed file as it was and fails if any is stale.
pub(crate) fn codegen(check: bool) -> Result<()> {
    let mut stale: Vec<String> = Vec::new();
    sdk_builds(check, &mut stale)?;
    for file in GENERATED {
        let fresh = generate(file)?;
        let current = std::fs::read_to_string(file.path).unwrap_or_default();
        if current == fresh {
            println!("codegen: {} is up to date", file.path);
        } else if check {
            println!("codegen: {} is STALE", file.path);
            stale.push(file.path.to_owned());
        } else {
            std::fs::write(file.path, fresh).with_context(|| format!("cannot write {}", file.path))?;
            println!("codegen: updated {}", file.path);
        }
    }
    if !stale.is_empty() {
        bail!("generated file(s) out of date: {}; run `cargo xtask codegen` and commit the result", stale.join(", "));
    }
    Ok(())
}

/// The fresh content of `file`.
fn generate(file: &Generated) -> Result<String> {
    let Some((program, args)) = file.command.split_first() else {
        bail!("{}: no generator command", file.path);
    };
    let mut cmd = if *program == "cargo" { cargo() } else { Command::new(program) };
    cmd.args(args);
    output(&mut cmd).with_context(|| format!("cannot generate {}", file.path))
}

/// Every output of the SDK workspace: `sdk/<package>/dist` of each package.
fn sdk_outputs() -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(SDK_WORKSPACE).with_context(|| format!("cannot read {SDK_WORKSPACE}/"))? {
        let dir = entry?.path();
        if dir.join("package.json").is_file() {
            out.push(dir.join("dist"));
        }
    }
    out.sort();
    Ok(out)
}

/// Every file under `paths` (files or directories) with its content.
fn snapshot(paths: &[PathBuf]) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    fn walk(path: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) -> Result<()> {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))? {
                walk(&entry?.path(), out)?;
            }
        } else if path.is_file() {
            out.insert(
                path.to_owned(),
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            );
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    Ok(out)
}

/// Rebuilds the SDK workspace from its lockfile (`npm ci`, `npm run build` in every package)
/// and compares the outputs with what was there; with `check`, a difference is restored to the
/// committed state and reported in `stale`.
fn sdk_builds(check: bool, stale: &mut Vec<String>) -> Result<()> {
    let outputs = sdk_outputs()?;
    let before = snapshot(&outputs)?;
    let npm = |args: &[&str]| {
        let mut cmd = Command::new("npm");
        cmd.args(args).current_dir(SDK_WORKSPACE);
        run_cmd(&mut cmd).context("the SDK build needs node and npm (sdk/ is an npm workspace)")
    };
    npm(&["ci", "--no-audit", "--no-fund"])?;
    npm(&["run", "build", "--workspaces", "--if-present"])?;
    let after = snapshot(&outputs)?;
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if changed.is_empty() {
        println!("codegen: SDK build outputs are up to date ({} files)", after.len());
        return Ok(());
    }
    for p in &changed {
        println!("codegen: {} {}", p.display(), if check { "is STALE" } else { "updated" });
    }
    if check {
        for p in after.keys().filter(|p| !before.contains_key(*p)) {
            std::fs::remove_file(p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
        for (p, content) in &before {
            std::fs::write(p, content).with_context(|| format!("cannot restore {}", p.display()))?;
        }
        stale.extend(changed.iter().map(|p| p.display().to_string()));
    }
    Ok(())
}
