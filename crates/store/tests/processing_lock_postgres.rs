//! On PostgreSQL, `lock_processing` keeps one ledger processing per workspace across
//! processes: two stores with their own pools on one database (as two nodes) exclude each
//! other for the same workspace, never for different ones, and a lock is free again as soon
//! as its holder drops it — or as soon as a waiter gives up. Needs the PostgreSQL of
//! `KC_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); fails loudly when it
//! is not running.

#![cfg(feature = "postgres")]

use kc_domain::WorkspaceId;
use kc_store::{DatabaseSettings, LedgerStore, SeaStore};
use std::time::Duration;

/// Long enough for a lock that is free to be taken many times over.
const PATIENCE: Duration = Duration::from_secs(10);

#[path = "support/postgres.rs"]
mod support;

/// Two stores (two pools, as two nodes) on one fresh database.
async fn two_nodes() -> (SeaStore, SeaStore) {
    let url = support::fresh_database_url("kc_test_lock").await;
    let a = SeaStore::connect(&DatabaseSettings::new(url.clone())).await.expect("connect a");
    a.migrate().await.expect("migrate");
    let b = SeaStore::connect(&DatabaseSettings::new(url)).await.expect("connect b");
    (a, b)
}

fn ws(id: &str) -> WorkspaceId {
    WorkspaceId::from_stored(id.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_processing_per_workspace_across_nodes() {
    let (a, b) = two_nodes().await;
    let held = a.lock_processing(&ws("ws_one")).await.expect("node a locks ws_one");

    // Another workspace is not held up, on either node.
    let other = tokio::time::timeout(PATIENCE, b.lock_processing(&ws("ws_two"))).await;
    drop(other.expect("another workspace does not wait").expect("node b locks ws_two"));

    // The same workspace on the other node waits while a holds it...
    let waiter = tokio::spawn(async move { b.lock_processing(&ws("ws_one")).await.map(drop) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "node b must wait while node a processes ws_one");
    // ...and gets it once a drops it.
    drop(held);
    tokio::time::timeout(PATIENCE, waiter)
        .await
        .expect("node b gets the lock once node a drops it")
        .expect("the waiter did not panic")
        .expect("node b locks ws_one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_gives_up_leaves_the_lock_free() {
    let (a, b) = two_nodes().await;
    let held = a.lock_processing(&ws("ws_given_up")).await.expect("node a locks");
    let gave_up = tokio::time::timeout(Duration::from_millis(300), b.lock_processing(&ws("ws_given_up"))).await;
    assert!(gave_up.is_err(), "node b waits (and gives up) while node a holds the lock");
    drop(held);
    // Had b's abandoned attempt kept the lock once a released it, this would wait forever.
    let again = tokio::time::timeout(PATIENCE, a.lock_processing(&ws("ws_given_up"))).await;
    drop(again.expect("the lock is free again").expect("node a locks again"));
    let from_b = tokio::time::timeout(PATIENCE, b.lock_processing(&ws("ws_given_up"))).await;
    drop(from_b.expect("and node b can take it too").expect("node b locks"));
}
