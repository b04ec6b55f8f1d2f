//! On PostgreSQL, concurrent `create_link_session` calls are written together (`sea::batch`):
//! many sessions, far fewer statements — and every session and audit event lands. Needs the
//! PostgreSQL of `KC_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); fails
//! loudly when it is not running.

#![cfg(feature = "postgres")]

use kc_domain::{ClientId, ClientMode, ClientRecord, OsSecretRng, PlainToken, ScopeSet, TokenKind};
use kc_store::{
    AuditEvent, AuditStore, ClientStore, DatabaseSettings, HotPathStore, LinkSessionStore, NewLinkSession, SeaStore,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

/// Sessions written at once.
const SESSIONS: usize = 200;

#[path = "support/postgres.rs"]
mod support;

async fn fresh_store() -> SeaStore {
    let url = support::fresh_database_url("kc_batching").await;
    let store = SeaStore::connect(&DatabaseSettings::new(url)).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_link_sessions_share_statements_and_all_land() {
    let mut store = fresh_store().await;
    let statements = Arc::new(AtomicUsize::new(0));
    let seen = statements.clone();
    store.observe_statements(Arc::new(move |sql: &str| {
        if sql.contains("INSERT INTO \"link_tokens\"") {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let now = OffsetDateTime::now_utc();
    let client = ClientRecord {
        id: ClientId::generate(&OsSecretRng),
        name: "Batching".into(),
        mode: ClientMode::Sandbox,
        allowed_scopes: ScopeSet::default_client(),
        allowed_origins: vec!["https://batching.example".into()],
        redirect_uris: Vec::new(),
        logo_url: None,
        secret_digest: "digest".into(),
        disabled: false,
    };
    store.insert_client(&client, now).await.expect("client");

    let store = Arc::new(store);
    let gate = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut tasks = Vec::new();
    for n in 0..SESSIONS {
        let (store, gate, client_id) = (store.clone(), gate.clone(), client.id.clone());
        tasks.push(tokio::spawn(async move {
            let session = NewLinkSession {
                digest: PlainToken::generate(TokenKind::Link, &OsSecretRng).digest(),
                client_id: client_id.clone(),
                scopes: ScopeSet::from_stored("openid"),
                created_at: now,
                expires_at: now + time::Duration::minutes(30),
                resumed: None,
                integration_name: None,
                prefill_json: None,
            };
            let audit = AuditEvent {
                at: now,
                kind: "link_token.create".into(),
                outcome: "success".into(),
                client_id: Some(client_id.to_string()),
                grant_id: None,
                user_id: None,
                ip: None,
                request_id: Some(format!("req-{n}")),
                detail: None,
            };
            gate.wait().await;
            store.create_link_session(&session, &audit).await.expect("session written");
            session.digest
        }));
    }
    let mut digests = Vec::new();
    for task in tasks {
        digests.push(task.await.expect("task"));
    }
    for d in &digests {
        assert!(store.find_link_session(d).await.expect("read").is_some(), "every session landed");
    }
    let audited = store.list_audit(Some(client.id.to_string()), None, 1000).await.expect("audit").len();
    assert_eq!(audited, SESSIONS, "one audit event per session");
    let sent = statements.load(Ordering::SeqCst);
    assert!(sent >= 1, "the sessions were written by some statement");
    assert!(
        sent <= SESSIONS / 4,
        "{SESSIONS} concurrent sessions took {sent} statements: they were not written together"
    );
}
