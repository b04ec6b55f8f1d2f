//! `SeaStore` on PostgreSQL against the store conformance suite: one test per check (core and extra), each
//! on a fresh database created on the server of `KC_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and migrated. PostgreSQL must be running: the
//! tests fail loudly when it is not, they never skip.

#![cfg(feature = "postgres")]

use kc_store::{DatabaseSettings, SeaStore};

#[path = "support/postgres.rs"]
mod support;

async fn fresh() -> SeaStore {
    let url = support::fresh_database_url("kc_conformance").await;
    let store = SeaStore::connect(&DatabaseSettings::new(url)).await.expect("connect to the test database");
    store.migrate().await.expect("migrate PostgreSQL");
    store
}

kc_store_conformance::core_tests!(fresh);
kc_store_conformance::extra_tests!(fresh);
