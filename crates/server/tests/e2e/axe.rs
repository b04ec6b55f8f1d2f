//! Accessibility checks with axe-core (the npm package pinned in `axe/package-lock.json`):
//! its `axe.min.js` is injected into the current document (top-level page or the widget
//! iframe) through WebDriver, which is not subject to the page's Content-Security-Policy, and
//! every WCAG 2.x A/AA rule must pass.

use crate::browser::Browser;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `crates/server/tests/e2e/axe`: the package.json and lockfile of axe-core.
fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/axe")
}

/// The text of `axe.min.js`; installs the locked package with `npm ci` first when
/// `cargo xtask ci` has not (a missing npm fails the test, it never skips).
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = package_dir();
        let script = dir.join("node_modules/axe-core/axe.min.js");
        if !script.exists() {
            // flock: another test binary (or a second cargo run) may install at the same time.
            let status = Command::new("flock")
                .arg(std::env::temp_dir().join("kc-e2e-axe.lock"))
                .args(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .unwrap_or_else(|e| panic!("run `npm ci` in {} (Node and npm are required): {e}", dir.display()));
            assert!(status.success(), "`npm ci` in {} failed: {status}", dir.display());
        }
        std::fs::read_to_string(&script).unwrap_or_else(|e| panic!("read {}: {e}", script.display()))
    })
}

/// Runs axe-core on the current document (light or dark, whatever is applied) and fails
/// with a readable list when any WCAG 2.x A/AA rule is violated. `what` names the screen.
pub async fn assert_accessible(b: &Browser, what: &str) {
    // Settle fades first: axe measures colours as painted.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let loaded = b.js("return typeof window.axe === 'object';", vec![]).await;
    if loaded != json!(true) {
        b.js(&format!("{}\n;return true;", axe_source()), vec![]).await;
    }
    let result: Value = b
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1]; \
             window.axe.run(document, { \
               runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }, \
               resultTypes: ['violations'], iframes: false \
             }).then(function (r) { \
               done(r.violations.map(function (v) { \
                 return { id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) { \
                   return { target: n.target.join(' '), summary: n.failureSummary }; }) }; \
               })); \
             }, function (e) { done({ error: String(e) }); });",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("axe-core on {what}: {e}"));
    assert!(result.get("error").is_none(), "axe-core failed to run on {what}: {result}");
    let violations = result.as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "{what}: {} axe-core violation(s):\n{}",
        violations.len(),
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}
