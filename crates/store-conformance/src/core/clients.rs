//! [`ClientStore`](kc_ports::store::ClientStore) and the CORS lookup of the hot path.

use super::fixtures::*;
use super::CoreStore;
use kc_domain::{ClientId, OsSecretRng};
use kc_ports::store::StoreError;

/// A client reads back as inserted; clients list oldest first; an unknown id is `None`.
pub async fn clients_insert_find_list<S: CoreStore>(s: S) {
    let a = new_client();
    let b = new_client();
    must(s.insert_client(&b, at(5)).await, "insert_client b");
    must(s.insert_client(&a, at(1)).await, "insert_client a");
    assert_eq!(
        must(s.find_client(&a.id).await, "find_client"),
        Some(a.clone()),
        "find_client returns the client as inserted"
    );
    let ids: Vec<ClientId> = must(s.list_clients().await, "list_clients").into_iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![a.id.clone(), b.id.clone()], "list_clients is oldest first");
    assert_eq!(
        must(s.find_client(&ClientId::generate(&OsSecretRng)).await, "find_client"),
        None,
        "an unknown client is None"
    );
    must(s.ping().await, "ping");
}

/// Registering a client id twice is `StoreError::Conflict`, and the first client stays.
pub async fn clients_duplicate_is_conflict<S: CoreStore>(s: S) {
    let a = client(&s).await;
    let mut again = new_client();
    again.id = a.id.clone();
    match s.insert_client(&again, at(1)).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("inserting a client id twice must be Conflict, got {other:?}"),
    }
    assert_eq!(must(s.find_client(&a.id).await, "find_client"), Some(a), "the first client is unchanged");
}

/// `update_client` is a compare-and-swap: it writes only over the state the caller read.
pub async fn clients_update_is_compare_and_swap<S: CoreStore>(s: S) {
    let current = client(&s).await;
    let mut first = current.clone();
    first.name = "renamed".into();
    first.allowed_origins = vec!["https://new.example".into()];
    first.logo_url = Some("https://new.example/logo.png".into());
    assert!(must(s.update_client(&current, &first).await, "update_client"), "an update over the current state applies");
    let mut stale = current.clone();
    stale.name = "lost update".into();
    assert!(
        !must(s.update_client(&current, &stale).await, "update_client"),
        "an update over a stale state must answer false"
    );
    assert_eq!(
        must(s.find_client(&current.id).await, "find_client"),
        Some(first.clone()),
        "the stale update changed nothing"
    );
    assert!(
        must(s.origin_registered("https://new.example").await, "origin_registered"),
        "the new origin is registered"
    );
    assert!(
        !must(s.origin_registered(&current.allowed_origins[0]).await, "origin_registered"),
        "the replaced origin is not"
    );
    let mut gone = new_client();
    gone.name = "x".into();
    assert!(!must(s.update_client(&gone, &first).await, "update_client"), "updating an unknown client answers false");
}

/// Secrets rotate, clients disable; both answer `false` for an unknown client; a disabled
/// client's origins are no longer registered.
pub async fn clients_secret_and_disable<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let unknown = ClientId::generate(&OsSecretRng);
    assert!(
        must(s.set_client_secret(&c.id, "new-digest").await, "set_client_secret"),
        "rotating a secret answers true"
    );
    assert!(
        !must(s.set_client_secret(&unknown, "x").await, "set_client_secret"),
        "rotating an unknown client's secret answers false"
    );
    let found = must(s.find_client(&c.id).await, "find_client").unwrap_or_else(|| panic!("client vanished"));
    assert_eq!(found.secret_digest, "new-digest", "the new secret digest is stored");
    assert!(
        must(s.origin_registered(&c.allowed_origins[0]).await, "origin_registered"),
        "an enabled client's origin is registered"
    );
    assert!(must(s.disable_client(&c.id, at(5)).await, "disable_client"), "disabling answers true");
    assert!(
        must(s.disable_client(&c.id, at(6)).await, "disable_client"),
        "disabling again still answers true (the client exists)"
    );
    assert!(
        !must(s.disable_client(&unknown, at(5)).await, "disable_client"),
        "disabling an unknown client answers false"
    );
    let found = must(s.find_client(&c.id).await, "find_client")
        .unwrap_or_else(|| panic!("a disabled client must still be found"));
    assert!(found.disabled, "the client reads back disabled");
    assert!(
        !must(s.origin_registered(&c.allowed_origins[0]).await, "origin_registered"),
        "a disabled client's origin is not registered"
    );
    assert!(
        !must(s.origin_registered("https://nobody.example").await, "origin_registered"),
        "an unknown origin is not registered"
    );
}

/// Of many concurrent updates over the same read state exactly one applies.
pub async fn clients_update_race_has_one_winner<S: CoreStore>(s: S) {
    let current = client(&s).await;
    let outcomes = super::fixtures::race(super::RACERS, |n| {
        let (s, current) = (s.clone(), current.clone());
        let mut updated = current.clone();
        updated.name = format!("rename {n}");
        async move { s.update_client(&current, &updated).await }
    })
    .await;
    let applied = outcomes.into_iter().filter(|o| matches!(o, Ok(true))).count();
    assert_eq!(applied, 1, "exactly one of {} concurrent compare-and-swap updates applies", super::RACERS);
}
