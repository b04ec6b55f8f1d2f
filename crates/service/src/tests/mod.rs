//! Unit tests of the service on a mocked store, and (`on_memory`) on the in-memory store.
//!
//! They read as the business rules of SPEC §2–§6 and §8, and inject the storage failures a
//! real database cannot easily be made to produce (lost races, outages, corrupt rows).
//! Everything else is tested against real databases in `kc-server`'s integration tests.
//!
//! A mocked method that a test did not expect panics when called, so a test that sets up
//! only `find_client` also asserts that nothing else reaches the store.
#![allow(clippy::unwrap_used)]

mod admin;
mod client_auth;
mod connect;
mod on_memory;
mod storage_failures;
mod widget;

use crate::{Ports, Service};
use kc_api::{ApiError, ApiResult, ClientCredentials, ErrorCode, RequestMeta};
use kc_domain::{
    lifetimes, ClientId, ClientMode, ClientRecord, ClientSecret, GrantId, GrantRecord, LinkSession, ManualClock,
    OsSecretRng, PlainToken, ScopeSet, SecretPepper, TokenKind, UserId, WorkspaceId,
};
use kc_ports::{AuditEvent, MockStore};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use time::macros::datetime;
use time::OffsetDateTime;

/// The server pepper every fixture service uses.
const PEPPER: &[u8] = b"unit-test-pepper-of-32-bytes-ok!";
/// The test client's secret, in plaintext.
const SECRET: &str = "kcs_the-one-right-secret-of-the-test-client";
/// The instant every fixture clock starts at.
const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);
/// The origin the test client registered.
const ORIGIN: &str = "https://app.example.com";

fn pepper() -> SecretPepper {
    SecretPepper::new(PEPPER.to_vec())
}

/// The ports of a fixture service: `store`, a manual clock at [`T0`], OS randomness,
/// the test pepper, and both sign-in methods.
fn ports(store: MockStore) -> (Ports, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    // Start from the system ports so adapters added later get their defaults; then pin what
    // the rules depend on.
    let mut ports = Ports::system(Arc::new(store), PEPPER.to_vec());
    ports.clock = clock.clone();
    ports.rng = Arc::new(OsSecretRng);
    ports.auth_methods = vec!["email".to_owned(), "anonymous".to_owned()];
    (ports, clock)
}

/// A service on `store`, with the clock that drives it.
fn service(store: MockStore) -> (Service, Arc<ManualClock>) {
    let (ports, clock) = ports(store);
    (Service::new(ports), clock)
}

/// An enabled sandbox client with the default scopes, one origin, and [`SECRET`] as its secret.
fn client() -> ClientRecord {
    ClientRecord {
        id: ClientId::generate(&OsSecretRng),
        name: "Acme Portfolio".to_owned(),
        mode: ClientMode::Sandbox,
        allowed_scopes: ScopeSet::default_client(),
        allowed_origins: vec![ORIGIN.to_owned()],
        redirect_uris: Vec::new(),
        logo_url: Some("https://app.example.com/logo.png".to_owned()),
        secret_digest: pepper().digest(&ClientSecret::from_input(SECRET)),
        disabled: false,
    }
}

/// The right credentials of `c`.
fn creds(c: &ClientRecord) -> ClientCredentials {
    ClientCredentials::new(c.id.as_str(), SECRET)
}

/// Request metadata with an IP and a request id, as the HTTP layer fills it in.
fn meta() -> RequestMeta {
    RequestMeta { ip: Some([203, 0, 113, 9].into()), request_id: Some("req-test-1".to_owned()), origin: None }
}

/// The store knows `c` (and no other client).
fn knows_client(store: &mut MockStore, c: &ClientRecord) {
    let c = c.clone();
    store.expect_find_client().returning(move |id| Ok((id == &c.id).then(|| c.clone())));
}

/// Every audit event the service writes, in order.
type AuditLog = Arc<Mutex<Vec<AuditEvent>>>;

/// The store accepts audit events, and keeps them for the test to read.
fn audit_log(store: &mut MockStore) -> AuditLog {
    let log = AuditLog::default();
    let sink = log.clone();
    store.expect_record_audit().returning(move |e| {
        sink.lock().unwrap().push(e.clone());
        Ok(())
    });
    log
}

/// The events written so far.
fn events(log: &AuditLog) -> Vec<AuditEvent> {
    log.lock().unwrap().clone()
}

/// A store that knows `c` and accepts audit events: the start of most tests.
fn store_for(c: &ClientRecord) -> (MockStore, AuditLog) {
    let mut store = MockStore::new();
    knows_client(&mut store, c);
    let log = audit_log(&mut store);
    (store, log)
}

/// An active grant of `client`, created a day before [`T0`], for 15 years.
fn grant_of(client: &ClientId) -> GrantRecord {
    let created_at = T0 - time::Duration::days(1);
    GrantRecord {
        id: GrantId::generate(&OsSecretRng),
        client_id: client.clone(),
        user_id: UserId::generate(&OsSecretRng),
        workspace_id: WorkspaceId::generate(&OsSecretRng),
        scopes: "openid users:read portfolios:read".parse().unwrap(),
        created_at,
        expires_at: created_at + lifetimes::ACCESS_TOKEN,
        revoked_at: None,
    }
}

/// A fresh link session of `client`, opened at [`T0`]: nobody signed in yet.
fn link_session(client: &ClientId) -> LinkSession {
    LinkSession {
        id: 7,
        client_id: client.clone(),
        scopes: "openid users:read portfolios:read".parse().unwrap(),
        expires_at: T0 + lifetimes::LINK_TOKEN,
        completed_at: None,
        resumed_grant_id: None,
        user_id: None,
        workspace_id: None,
        consent: None,
        integration_name: None,
        prefill_json: None,
    }
}

/// `session` after a guest signed in (with a personal workspace).
fn signed_in(mut session: LinkSession) -> LinkSession {
    session.user_id = Some(UserId::generate(&OsSecretRng));
    session.workspace_id = Some(WorkspaceId::generate(&OsSecretRng));
    session
}

/// `session` after sign-in and approval of the scopes.
fn consented(session: LinkSession) -> LinkSession {
    let mut s = signed_in(session);
    s.consent = Some(true);
    s
}

/// A fresh, well-formed token of `kind`.
fn token(kind: TokenKind) -> PlainToken {
    PlainToken::generate(kind, &OsSecretRng)
}

/// Asserts `result` failed with `code`, and returns the error.
#[track_caller]
fn expect_code<T: Debug>(result: ApiResult<T>, code: ErrorCode, case: &str) -> ApiError {
    match result {
        Ok(v) => panic!("{case}: expected {code}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.code, code, "{case}: wrong code ({})", e.message);
            e
        }
    }
}
