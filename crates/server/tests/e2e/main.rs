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

mod browser;
mod flows;
mod server;
mod smtp;

mod demo_flow;
mod email;
mod redirect;
mod sandbox;
mod theme;

/// Serialises the browser scenarios of this binary (each starts its own Chromium).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Holds the browser-test lock until dropped.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}
