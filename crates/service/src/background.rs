//! The loop shared by background workers (sync workers, webhook dispatchers).

use kc_ports::StoreError;
use std::future::Future;
use std::time::Duration;

/// Runs `step` until `stop` turns true: back to back while it finds work (`Ok(true)`), every
/// `poll` when idle, and four times slower while storage is unreachable.
pub(crate) async fn poll_until_stopped<F, Fut>(
    what: &'static str,
    id: &str,
    poll: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, StoreError>>,
{
    loop {
        if *stop.borrow() {
            return;
        }
        let idle = match step().await {
            Ok(true) => Duration::ZERO,
            Ok(false) => poll,
            Err(e) => {
                tracing::warn!(error = %e, worker = %id, "{what} cannot reach storage");
                poll * 4
            }
        };
        if idle > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
