//! [`MemoryStore`]: every store port of `kc-ports` in one process's memory.
//!
//! What it is for:
//! - **embedding and demos**: a host application (see `examples/embed`) runs Kryptos Connect
//!   with no database at all;
//! - **fast tests**: service and HTTP tests run against the real store contract without
//!   migrating a SQLite file;
//! - **a reference**: it keeps exactly the semantics of `kc_store::SeaStore`, and
//!   `kc-store-conformance` checks both against the same suite.
//!
//! Its limits: one process (two processes never share it, so run one node), nothing is
//! persisted (everything is gone when the process exits), nothing is ever evicted but what
//! the store's own purges delete (`purge_audit`, `purge_webhook_deliveries`, …), lookups scan
//! (fine for demos and tests, not for millions of rows), and times are kept as given (SeaStore
//! keeps milliseconds). `pool_stats` reports no pool.
//!
//! Every call takes one lock over the whole `State`, checks its conditions,
//! then writes: each transition (an exchange, a completion, a claim with its lease, a change
//! and the webhook delivery that reports it) is atomic, and concurrent calls are serialised.
//!
//! ```
//! use kc_ports::store::prelude::*;
//! # tokio_block_on(async {
//! let store = kc_store_memory::MemoryStore::new();
//! store.ping().await.unwrap();
//! assert!(store.list_clients().await.unwrap().is_empty());
//! # });
//! # fn tokio_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

mod core;
mod extra;
mod state;

use kc_ports::store::{StoreError, StoreResult};
use state::State;
use std::sync::{Arc, Mutex};

/// Every store port of `kc-ports`, in memory. Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `user_id` a plain member of a new workspace `workspace_id` named `name`: what an
    /// administrator does outside the API (no API creates a shared workspace), for fixtures and
    /// seeding. `Conflict` if the workspace exists; `Corrupt` for a malformed id.
    pub fn add_team_workspace(&self, workspace_id: &str, name: &str, user_id: &str) -> StoreResult<()> {
        let id: kc_domain::WorkspaceId =
            workspace_id.parse().map_err(|_| StoreError::Corrupt(format!("not a workspace id: {workspace_id}")))?;
        self.with(|st| {
            if st.workspaces.contains_key(workspace_id) {
                return Err(StoreError::Conflict(format!("workspace {workspace_id} exists")));
            }
            let record = kc_ports::WorkspaceRecord { id: id.clone(), name: name.to_owned() };
            st.workspaces.insert(workspace_id.to_owned(), state::WorkspaceRow { record });
            let seq = st.next_id();
            st.memberships.push(state::MembershipRow {
                seq,
                workspace_id: workspace_id.to_owned(),
                user_id: user_id.to_owned(),
                role: kc_domain::WorkspaceRole::Member,
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            });
            Ok(())
        })
    }

    /// Runs `f` with the store's state locked: one atomic step. `f` must check before it
    /// writes (a call that fails must leave the state as it found it). The lock is released
    /// when `f` returns, so no `.await` ever runs under it.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> StoreResult<R>) -> StoreResult<R> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| StoreError::Other("memory store: a call panicked while holding the state".into()))?;
        f(&mut guard)
    }
}
