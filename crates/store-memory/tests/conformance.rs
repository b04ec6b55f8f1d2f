//! `MemoryStore` against the store conformance suite: one test per check (core and extra), each on a
//! fresh store.

use kc_store_memory::MemoryStore;

async fn fresh() -> MemoryStore {
    MemoryStore::new()
}

kc_store_conformance::core_tests!(fresh);

/// `run_core` (what an adapter without the macro calls) runs the same checks, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_core_runs_every_check() {
    kc_store_conformance::run_core(fresh).await;
    assert!(!kc_store_conformance::run_core_check("no_such_check", MemoryStore::new()).await);
}

kc_store_conformance::extra_tests!(fresh);

/// The names `extra_tests!` generates and `run_extra` runs are one list.
#[tokio::test]
async fn run_extra_knows_every_check() {
    for name in kc_store_conformance::EXTRA_CHECKS {
        assert!(kc_store_conformance::run_extra_check(name, MemoryStore::new()).await, "{name} is not dispatched");
    }
    assert!(!kc_store_conformance::run_extra_check("no_such_check", MemoryStore::new()).await);
}
