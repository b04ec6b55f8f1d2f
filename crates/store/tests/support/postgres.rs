//! A fresh PostgreSQL database per test, on the server of `KC_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). PostgreSQL must be running: the tests fail
//! loudly when it is not, they never skip. `cargo xtask ci` drops what earlier runs left.

use sea_orm::{ConnectionTrait, Database};
use std::sync::atomic::{AtomicU64, Ordering};

/// The URL of a new, empty database named `<prefix>_<pid>_<nanos>_<n>`.
pub async fn fresh_database_url(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let admin =
        std::env::var("KC_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let conn = Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable ({e}); start it, these tests never skip"));
    let name = format!("{prefix}_{}_{nanos}_{n}", std::process::id());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("KC_TEST_PG_URL names a database");
    format!("{base}/{name}")
}
