//! `SeaStore` on PostgreSQL against the store conformance suite: one test per check (core and extra), each
//! on a fresh database created on the server of `KC_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and migrated. PostgreSQL must be running: the
//! tests fail loudly when it is not, they never skip.

#![cfg(feature = "postgres")]

use kc_store::{DatabaseSettings, SeaStore};
use sea_orm::{ConnectionTrait, Database};
use std::sync::atomic::{AtomicU64, Ordering};

fn admin_url() -> String {
    std::env::var("KC_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn fresh() -> SeaStore {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let admin = admin_url();
    let conn = Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable ({e}); start it, these tests never skip"));
    let name = format!("kc_conformance_{}_{nanos}_{n}", std::process::id());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
    drop(conn);
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("KC_TEST_PG_URL names a database");
    let store = SeaStore::connect(&DatabaseSettings::new(format!("{base}/{name}")))
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate PostgreSQL");
    store
}

kc_store_conformance::core_tests!(fresh);
kc_store_conformance::extra_tests!(fresh);
