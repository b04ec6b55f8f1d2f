//! The conformance suite of the store ports: written once, run against every adapter
//! (`kc-store-memory`, `kc_store::SeaStore` on SQLite and on PostgreSQL, or your own), so a
//! store that passes keeps the contract the service relies on — the exactly-once transitions,
//! the leases, the transactional outbox and its order, the race cases, the error mapping.
//!
//! - [`core`]: the core capabilities ([`kc_ports::store::Store`]) and
//!   [`kc_ports::store::HotPathStore`]: [`run_core`], [`run_core_check`], [`CORE_CHECKS`], and
//!   [`core_tests!`] for one `#[tokio::test]` per check.
//! - [`extra`]: the capabilities kept apart (ledger, OpenID Connect, console, wallet proofs):
//!   [`run_extra`], [`run_extra_check`], [`EXTRA_CHECKS`].
//!
//! Every check takes a fresh, empty store and panics with the promise it broke.

pub mod core;
pub use crate::core::{run_core, run_core_check, CoreStore, CORE_CHECKS, RACERS};

pub mod extra;
pub use extra::{run_extra, run_extra_check, ExtraStore, EXTRA_CHECKS};

/// Runs each of `names` with `run` on a fresh store from `fresh`, every one even when an earlier
/// one failed; then panics naming each failed check and why.
async fn run_checks<S, F, Fut, R, RFut>(suite: &str, names: &'static [&'static str], fresh: F, run: R)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
    R: Fn(&'static str, S) -> RFut,
    RFut: std::future::Future<Output = bool>,
{
    use futures::FutureExt as _;
    let mut failed = Vec::new();
    for name in names {
        let store = fresh().await;
        match std::panic::AssertUnwindSafe(run(name, store)).catch_unwind().await {
            Ok(true) => {}
            Ok(false) => failed.push(format!("{name}: no such check")),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".to_owned());
                failed.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} {suite} conformance check(s) failed:\n{}", failed.len(), failed.join("\n"));
}
