//! One ledger processing per workspace at a time within this process. Processing loads the
//! workspace's whole ledger and replaces its outcome; two sync jobs of one workspace (its
//! Ethereum and Solana wallets, say) finishing together would otherwise race, and the one
//! that loaded first could store its older outcome last. Across processes the store's
//! [`kc_ports::LedgerStore::lock_processing`] does the same.

use kc_domain::WorkspaceId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per workspace being processed (or waited for); idle ones are dropped.
static LOCKS: LazyLock<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>> = LazyLock::new(Default::default);

/// Waits until no other task of this process processes `workspace`, and keeps it so until
/// the guard drops.
pub(crate) async fn hold(workspace: &WorkspaceId) -> OwnedMutexGuard<()> {
    let lock = {
        let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map holds an idle lock: nobody holds or awaits it.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(workspace.as_str().to_owned()).or_default().clone()
    };
    lock.lock_owned().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ws(id: &str) -> WorkspaceId {
        WorkspaceId::from_stored(id.to_owned())
    }

    #[tokio::test]
    async fn a_workspace_is_processed_by_one_task_at_a_time_and_others_are_not_held_up() {
        let first = hold(&ws("ws_lock_a")).await;
        let waiting = tokio::spawn(async { drop(hold(&ws("ws_lock_a")).await) });
        let other = tokio::time::timeout(Duration::from_secs(5), hold(&ws("ws_lock_b"))).await;
        assert!(other.is_ok(), "another workspace does not wait");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the same workspace waits while the first holds it");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiter gets the lock once the first drops it")
            .expect("the waiter did not panic");
    }

    #[tokio::test]
    async fn idle_locks_are_forgotten() {
        drop(hold(&ws("ws_lock_idle")).await);
        drop(hold(&ws("ws_lock_other")).await);
        let locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(!locks.contains_key("ws_lock_idle"), "a lock nobody holds is dropped at the next hold");
    }
}
