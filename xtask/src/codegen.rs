//! `cargo xtask codegen [--check]`: committed files generated from the code (OpenAPI document,
//! `.d.ts`, …). Without `--check` they are rewritten; with it, a stale file fails CI.

use crate::{cargo, output};
use anyhow::{bail, Context, Result};
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

/// Regenerates every file in [`GENERATED`]; with `check`, writes nothing and fails if any is stale.
pub(crate) fn codegen(check: bool) -> Result<()> {
    if GENERATED.is_empty() {
        println!("codegen: nothing to check");
        return Ok(());
    }
    let mut stale = Vec::new();
    for file in GENERATED {
        let fresh = generate(file)?;
        let current = std::fs::read_to_string(file.path).unwrap_or_default();
        if current == fresh {
            println!("codegen: {} is up to date", file.path);
        } else if check {
            println!("codegen: {} is STALE", file.path);
            stale.push(file.path);
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
