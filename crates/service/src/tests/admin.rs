//! Client administration (SPEC §10, §8 secrets at rest).

use super::*;
use crate::{AdminError, ClientUpdate, NewClient};
use kc_ports::StoreError;

/// The store accepts new clients, and keeps them for the test to read.
fn accepts_clients(store: &mut MockStore) -> Arc<Mutex<Vec<ClientRecord>>> {
    let kept: Arc<Mutex<Vec<ClientRecord>>> = Arc::default();
    let sink = kept.clone();
    store.expect_insert_client().withf(|_, now| *now == T0).returning(move |c, _| {
        sink.lock().unwrap().push(c.clone());
        Ok(())
    });
    kept
}

/// A service whose store must not be written to.
fn refusing_service() -> Service {
    let mut store = MockStore::new();
    store.expect_insert_client().never();
    store.expect_record_audit().never();
    service(store).0
}

#[track_caller]
fn expect_invalid<T: Debug>(res: Result<T, AdminError>, case: &str) {
    assert!(matches!(res, Err(AdminError::Invalid(_))), "{case}: expected Invalid, got {res:?}");
}

#[tokio::test]
async fn registering_a_client_stores_only_the_peppered_digest_of_its_secret() {
    let mut store = MockStore::new();
    let kept = accepts_clients(&mut store);
    let log = audit_log(&mut store);
    let (svc, _) = service(store);

    let (record, secret) = svc.register_client(NewClient::sandbox("My app")).await.unwrap();

    let stored = kept.lock().unwrap().pop().unwrap();
    assert_eq!(stored, record, "what is returned is what is stored");
    assert!(secret.expose().len() >= 43, "at least 256 bits, URL-safe: {} chars", secret.expose().len());
    assert_ne!(stored.secret_digest, secret.expose());
    assert!(!stored.secret_digest.contains(secret.expose()), "no plaintext at rest");
    assert!(pepper().verify(&secret, &stored.secret_digest), "the digest is the pepper's HMAC of the secret");
    assert!(
        !SecretPepper::new(b"another-pepper-another-pepper-xx".to_vec()).verify(&secret, &stored.secret_digest),
        "keyed: another pepper does not verify it"
    );
    assert!(stored.id.as_str().parse::<ClientId>().is_ok(), "a well-formed client id");
    assert_eq!(stored.name, "My app");
    assert_eq!(stored.mode, ClientMode::Sandbox);
    assert_eq!(stored.allowed_scopes, ScopeSet::default_client(), "default scopes");
    assert!(!stored.disabled);
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].detail.as_deref()), ("client.admin", Some("created")));
    assert!(!format!("{ev:?}").contains(secret.expose()), "the secret is never audited");
}

#[tokio::test]
async fn two_registrations_get_different_ids_and_secrets() {
    let mut store = MockStore::new();
    accepts_clients(&mut store);
    audit_log(&mut store);
    let (svc, _) = service(store);

    let (a, sa) = svc.register_client(NewClient::sandbox("A")).await.unwrap();
    let (b, sb) = svc.register_client(NewClient::sandbox("B")).await.unwrap();

    assert_ne!(a.id, b.id);
    assert_ne!(sa.expose(), sb.expose());
    assert_ne!(a.secret_digest, b.secret_digest);
}

#[tokio::test]
async fn a_client_name_must_be_1_to_100_characters_after_trimming() {
    for (case, name) in [("empty", String::new()), ("blank", "   ".into()), ("101 characters", "n".repeat(101))] {
        expect_invalid(refusing_service().register_client(NewClient::sandbox(name)).await, case);
    }

    let mut store = MockStore::new();
    let kept = accepts_clients(&mut store);
    audit_log(&mut store);
    let (svc, _) = service(store);
    svc.register_client(NewClient::sandbox("  Acme  ")).await.unwrap();
    svc.register_client(NewClient::sandbox("n".repeat(100))).await.unwrap();
    let names: Vec<usize> = kept.lock().unwrap().iter().map(|c| c.name.len()).collect();
    assert_eq!(kept.lock().unwrap()[0].name, "Acme", "trimmed");
    assert_eq!(names, [4, 100]);
}

#[tokio::test]
async fn client_scopes_must_be_known() {
    for (case, scopes) in [("unknown", "openid wallet:read"), ("empty", ""), ("bad access level", "nft:delete")] {
        let new = NewClient { scopes: Some(scopes.into()), ..NewClient::sandbox("App") };
        expect_invalid(refusing_service().register_client(new).await, case);
    }

    let mut store = MockStore::new();
    let kept = accepts_clients(&mut store);
    audit_log(&mut store);
    let (svc, _) = service(store);
    let new = NewClient { scopes: Some("openid nft:write".into()), ..NewClient::sandbox("App") };
    svc.register_client(new).await.unwrap();
    assert_eq!(kept.lock().unwrap()[0].allowed_scopes.to_string(), "openid nft:write");
}

#[tokio::test]
async fn an_origin_is_a_bare_http_or_https_scheme_host_and_port() {
    for origin in [
        "app.example.com",
        "*",
        "null",
        "",
        "https://",
        "ftp://app.example.com",
        "javascript:alert(1)",
        "https://app.example.com/",
        "https://app.example.com/callback",
        "https://app.example.com?x=1",
        "https://app.example.com#frag",
        "https://app example.com",
    ] {
        let new = NewClient { origins: vec![origin.into()], ..NewClient::sandbox("App") };
        expect_invalid(refusing_service().register_client(new).await, origin);
    }

    let good = ["https://app.example.com", "http://127.0.0.1:3000", "http://localhost:8080", "https://[::1]:8443"];
    let mut store = MockStore::new();
    let kept = accepts_clients(&mut store);
    audit_log(&mut store);
    let (svc, _) = service(store);
    let new = NewClient { origins: good.iter().map(|s| (*s).to_owned()).collect(), ..NewClient::sandbox("App") };
    svc.register_client(new).await.unwrap();
    assert_eq!(kept.lock().unwrap()[0].allowed_origins, good, "kept verbatim, for exact matching");
}

#[tokio::test]
async fn an_origin_carries_no_credentials_and_only_a_numeric_port() {
    // Browsers never send these in `Origin`; accepted, they would configure an origin that can
    // never match and a `postMessage` target that throws.
    let mut store = MockStore::new();
    accepts_clients(&mut store);
    audit_log(&mut store);
    let (svc, _) = service(store);
    let mut accepted = Vec::new();
    for origin in [
        "https://user:password@app.example.com",
        "https://user@app.example.com",
        "https://app.example.com:",
        "https://app.example.com:https",
        "https://:443",
    ] {
        let new = NewClient { origins: vec![origin.into()], ..NewClient::sandbox("App") };
        match svc.register_client(new).await {
            Err(AdminError::Invalid(_)) => {}
            other => accepted.push(format!("{origin} -> {:?}", other.map(|(c, _)| c.allowed_origins))),
        }
    }
    assert!(accepted.is_empty(), "not bare origins, yet accepted: {accepted:#?}");
}

#[tokio::test]
async fn redirect_uris_and_logos_must_be_http_urls() {
    for (case, new) in [
        (
            "javascript redirect",
            NewClient { redirect_uris: vec!["javascript:alert(1)".into()], ..NewClient::sandbox("A") },
        ),
        ("bare scheme redirect", NewClient { redirect_uris: vec!["https://".into()], ..NewClient::sandbox("A") }),
        ("data: logo", NewClient { logo_url: Some("data:image/png;base64,AAAA".into()), ..NewClient::sandbox("A") }),
        (
            "logo with a space",
            NewClient { logo_url: Some("https://cdn.example.com/a b.png".into()), ..NewClient::sandbox("A") },
        ),
    ] {
        expect_invalid(refusing_service().register_client(new).await, case);
    }
}

#[tokio::test]
async fn a_storage_conflict_on_registration_is_a_store_error() {
    let mut store = MockStore::new();
    store.expect_insert_client().times(1).returning(|_, _| Err(StoreError::Conflict("clients.id".into())));
    store.expect_record_audit().never();
    let (svc, _) = service(store);

    let res = svc.register_client(NewClient::sandbox("App")).await;

    assert!(matches!(res, Err(AdminError::Store(StoreError::Conflict(_)))), "{res:?}");
}

#[tokio::test]
async fn rotating_replaces_the_digest_with_that_of_a_new_secret() {
    let c = client();
    let mut store = MockStore::new();
    knows_client(&mut store, &c);
    let log = audit_log(&mut store);
    let digests: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = digests.clone();
    let id = c.id.clone();
    store.expect_set_client_secret().withf(move |i, _| i == &id).times(1).returning(move |_, d| {
        sink.lock().unwrap().push(d.to_owned());
        Ok(true)
    });
    let (svc, _) = service(store);

    let secret = svc.rotate_client_secret(c.id.as_str()).await.unwrap();

    let digest = digests.lock().unwrap().pop().unwrap();
    assert_ne!(secret.expose(), SECRET, "a new secret");
    assert!(pepper().verify(&secret, &digest), "stored as the peppered digest of the new secret");
    assert!(!pepper().verify(&ClientSecret::from_input(SECRET), &digest), "the old secret stops working");
    assert!(!digest.contains(secret.expose()));
    let ev = events(&log);
    assert_eq!(ev[0].detail.as_deref(), Some("secret rotated"));
    assert!(!format!("{ev:?}").contains(secret.expose()), "the secret is never audited");
}

#[tokio::test]
async fn rotating_or_disabling_an_unknown_client_is_not_found() {
    for (case, id) in [("unknown", ClientId::generate(&OsSecretRng).to_string()), ("malformed", "not-a-client".into())]
    {
        let mut store = MockStore::new();
        store.expect_find_client().times(2 * usize::from(case == "unknown")).returning(|_| Ok(None));
        store.expect_set_client_secret().never();
        store.expect_disable_client().never();
        store.expect_record_audit().never();
        let (svc, _) = service(store);

        let rotated = svc.rotate_client_secret(&id).await;
        assert!(matches!(&rotated, Err(AdminError::NotFound(i)) if *i == id), "{case} rotate: {rotated:?}");
        let disabled = svc.disable_client(&id).await;
        assert!(matches!(&disabled, Err(AdminError::NotFound(i)) if *i == id), "{case} disable: {disabled:?}");
    }
}

#[tokio::test]
async fn disabling_a_client_records_when() {
    let c = client();
    let mut store = MockStore::new();
    knows_client(&mut store, &c);
    let log = audit_log(&mut store);
    let id = c.id.clone();
    store.expect_disable_client().withf(move |i, now| i == &id && *now == T0).times(1).returning(|_, _| Ok(true));
    let (svc, _) = service(store);

    svc.disable_client(c.id.as_str()).await.unwrap();

    assert_eq!(events(&log)[0].detail.as_deref(), Some("disabled"));
}

// ---------------------------------------------------------------------------------------------
// clients update
// ---------------------------------------------------------------------------------------------

/// A store that knows `c` and must not be written to.
fn unchangeable(c: &ClientRecord) -> Service {
    let mut store = MockStore::new();
    knows_client(&mut store, c);
    store.expect_update_client().never();
    store.expect_record_audit().never();
    service(store).0
}

#[tokio::test]
async fn an_update_is_validated_exactly_like_a_registration_and_refused_whole() {
    let c = client();
    let svc = unchangeable(&c);
    let cases = [
        ("empty name", ClientUpdate { name: Some("  ".into()), ..ClientUpdate::default() }),
        ("long name", ClientUpdate { name: Some("x".repeat(101)), ..ClientUpdate::default() }),
        ("unknown scope", ClientUpdate { scopes: Some("openid wallet:read".into()), ..ClientUpdate::default() }),
        ("no scope", ClientUpdate { scopes: Some(" ".into()), ..ClientUpdate::default() }),
        (
            "an origin with a path, beside a good one",
            ClientUpdate {
                add_origins: vec!["https://ok.example".into(), "https://app.example.com/x".into()],
                ..ClientUpdate::default()
            },
        ),
        (
            "a redirect URI",
            ClientUpdate { add_redirect_uris: vec!["app.example.com".into()], ..ClientUpdate::default() },
        ),
        ("a logo", ClientUpdate { logo_url: Some(Some("javascript:alert(1)".into())), ..ClientUpdate::default() }),
        ("nothing to change", ClientUpdate::default()),
        (
            "an origin not registered",
            ClientUpdate { remove_origins: vec!["https://no.example".into()], ..ClientUpdate::default() },
        ),
        (
            "a redirect URI not registered",
            ClientUpdate { remove_redirect_uris: vec!["https://no.example/cb".into()], ..ClientUpdate::default() },
        ),
    ];
    for (case, update) in cases {
        expect_invalid(svc.update_client(c.id.as_str(), update).await, case);
    }
}

#[tokio::test]
async fn an_update_writes_the_changed_record_conditional_on_the_one_it_read() {
    let c = client();
    let mut store = MockStore::new();
    knows_client(&mut store, &c);
    let log = audit_log(&mut store);
    let before = c.clone();
    store
        .expect_update_client()
        .withf(move |current, next| {
            current == &before
                && next.allowed_origins == ["https://shop.example"]
                && next.redirect_uris == ["https://shop.example/cb"]
                && next.name == "New name"
                && next.logo_url.is_none()
                && next.allowed_scopes.to_string() == "openid users:read"
                && (next.id.clone(), next.secret_digest.clone(), next.mode, next.disabled)
                    == (before.id.clone(), before.secret_digest.clone(), before.mode, before.disabled)
        })
        .times(1)
        .returning(|_, _| Ok(true));
    let (svc, _) = service(store);

    let update = ClientUpdate {
        name: Some(" New name ".into()),
        scopes: Some("openid users:read".into()),
        add_origins: vec!["https://shop.example".into()],
        remove_origins: vec![ORIGIN.into()],
        add_redirect_uris: vec!["https://shop.example/cb".into()],
        logo_url: Some(None),
        ..ClientUpdate::default()
    };
    let updated = svc.update_client(c.id.as_str(), update).await.unwrap();

    assert_eq!(updated.allowed_origins, ["https://shop.example"]);
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].detail.as_deref()), ("client.admin", Some("updated")));
    assert_eq!(ev[0].client_id.as_deref(), Some(c.id.as_str()));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let c = client();
    let svc = unchangeable(&c);

    let same = ClientUpdate { add_origins: vec![ORIGIN.into()], ..ClientUpdate::default() };
    let res = svc.update_client(c.id.as_str(), same).await.unwrap();

    assert_eq!(res, c, "an origin already registered is kept once");
}

#[tokio::test]
async fn an_update_that_loses_a_race_is_reapplied_to_what_the_other_one_wrote() {
    let c = client();
    let theirs = ClientRecord { allowed_origins: vec![ORIGIN.into(), "https://theirs.example".into()], ..c.clone() };
    let mut store = MockStore::new();
    let reads = Arc::new(Mutex::new(vec![theirs.clone(), c.clone()]));
    store.expect_find_client().times(2).returning(move |_| Ok(reads.lock().unwrap().pop()));
    let mut seq = mockall::Sequence::new();
    store.expect_update_client().times(1).in_sequence(&mut seq).returning(|_, _| Ok(false));
    let expected = theirs.clone();
    store
        .expect_update_client()
        .withf(move |current, next| {
            current == &expected && next.allowed_origins == [ORIGIN, "https://theirs.example", "https://mine.example"]
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    audit_log(&mut store);
    let (svc, _) = service(store);

    let mine = ClientUpdate { add_origins: vec!["https://mine.example".into()], ..ClientUpdate::default() };
    let res = svc.update_client(c.id.as_str(), mine).await.unwrap();

    assert_eq!(res.allowed_origins, [ORIGIN, "https://theirs.example", "https://mine.example"], "neither is lost");
}

#[tokio::test]
async fn updating_an_unknown_client_is_not_found() {
    let mut store = MockStore::new();
    store.expect_find_client().returning(|_| Ok(None));
    store.expect_update_client().never();
    let (svc, _) = service(store);

    let update = ClientUpdate { name: Some("X".into()), ..ClientUpdate::default() };
    let res = svc.update_client("kc_unknown", update).await;

    assert!(matches!(res, Err(AdminError::NotFound(_))), "{res:?}");
}
