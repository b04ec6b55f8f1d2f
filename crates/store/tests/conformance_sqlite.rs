//! `SeaStore` on SQLite against the store conformance suite: one test per check (core and extra), each on
//! a fresh, migrated database file (a file, not `:memory:`, so the pool and the hot-path
//! writer connection are the ones production runs).

#![cfg(feature = "sqlite")]

use kc_store::{DatabaseSettings, SeaStore};
use std::sync::atomic::{AtomicU64, Ordering};

async fn fresh() -> SeaStore {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("kc-conformance-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.join("kryptos.db").display());
    let store = SeaStore::connect(&DatabaseSettings::new(url)).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    store
}

kc_store_conformance::core_tests!(fresh);
kc_store_conformance::extra_tests!(fresh);
