//! Browser end-to-end tests: headless Chromium (through a `chromedriver` child process)
//! drives the real widget, SDK and demo site of an in-process server on a fresh SQLite
//! database. Every scenario saves a screenshot per step under `target/e2e/<test>/`.
//!
//! Chromium and ChromeDriver are required (`cargo xtask ci` installs Debian's `chromium`
//! and `chromium-driver`): a missing browser fails the tests, it never skips them. The
//! scenarios run one at a time (a process-wide lock) to keep a small machine responsive.
#![allow(dead_code)]

#[path = "../it/helpers.rs"]
mod helpers;
/// A host app mounting Kryptos Connect under `/kryptos` (shared with `tests/it/prefix.rs`).
#[path = "../support/host.rs"]
mod host_support;

mod axe;
mod browser;
mod design;
mod flows;
mod server;
mod smtp;

mod a11y;
mod branding;
mod consent;
mod console;
mod demo_flow;
mod demo_users;
mod email;
mod email_code;
mod exchanges;
mod french_phone;
mod oidc;
mod prefix;
mod providers;
mod react_example;
mod redirect;
mod returning_user;
mod sandbox;
mod theme;
mod unregistered_origin;
mod wallets;
mod webview_contract;

/// Serialises the browser scenarios of this binary (each starts its own Chromium).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Holds the browser-test lock until dropped.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}
