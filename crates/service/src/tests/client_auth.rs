//! Client authentication (SPEC §4, §5 `INVALID_CLIENT`, §8 audit of failed client auth).

use super::*;
use kc_api::{
    CheckSessionRequest, ConnectApi, CreateLinkTokenRequest, ExchangeRequest, ListGrantsQuery, RevokeRequest,
};

/// Calls one Connect API operation with `creds`, reducing the result to its error.
#[derive(Debug, Clone, Copy)]
enum Op {
    CreateLinkToken,
    CheckSession,
    Exchange,
    Revoke,
    ListGrants,
}

impl Op {
    const ALL: [Op; 5] = [Op::CreateLinkToken, Op::CheckSession, Op::Exchange, Op::Revoke, Op::ListGrants];

    async fn call(self, svc: &Service, creds: &ClientCredentials) -> ApiResult<()> {
        let m = meta();
        match self {
            Op::CreateLinkToken => svc.create_link_token(creds, &m, CreateLinkTokenRequest::default()).await.map(drop),
            Op::CheckSession => svc
                .check_session(
                    creds,
                    &m,
                    CheckSessionRequest { access_token: token(TokenKind::Access).expose().into() },
                )
                .await
                .map(drop),
            Op::Exchange => svc
                .exchange_public_token(
                    creds,
                    &m,
                    ExchangeRequest { public_token: token(TokenKind::Public).expose().into() },
                )
                .await
                .map(drop),
            Op::Revoke => {
                svc.revoke_grant(creds, &m, RevokeRequest { grant_id: GrantId::generate(&OsSecretRng).to_string() })
                    .await
            }
            Op::ListGrants => svc.list_grants(creds, &m, ListGrantsQuery::default()).await.map(drop),
        }
    }
}

/// A client that fails authentication, and why the audit trail should say it failed.
struct BadCreds {
    case: &'static str,
    creds: fn(&ClientRecord) -> ClientCredentials,
    /// The client the store holds under the presented id (`None`: unknown id).
    stored: fn(&ClientRecord) -> Option<ClientRecord>,
    /// Whether the id is well-formed, so the store is asked at all and the event names it.
    well_formed_id: bool,
    detail: &'static str,
}

fn bad_credentials() -> Vec<BadCreds> {
    vec![
        BadCreds {
            case: "unknown client id",
            creds: |_| ClientCredentials::new(ClientId::generate(&OsSecretRng).as_str(), SECRET),
            stored: |_| None,
            well_formed_id: true,
            detail: "unknown client",
        },
        BadCreds {
            case: "malformed client id",
            creds: |_| ClientCredentials::new("client-123; DROP TABLE clients", SECRET),
            stored: |_| None,
            well_formed_id: false,
            detail: "unknown client",
        },
        BadCreds {
            case: "wrong secret",
            creds: |c| ClientCredentials::new(c.id.as_str(), "kcs_a-guessed-secret"),
            stored: |c| Some(c.clone()),
            well_formed_id: true,
            detail: "wrong secret",
        },
        BadCreds {
            case: "empty secret",
            creds: |c| ClientCredentials::new(c.id.as_str(), ""),
            stored: |c| Some(c.clone()),
            well_formed_id: true,
            detail: "wrong secret",
        },
        BadCreds {
            case: "disabled client, right secret",
            creds,
            stored: |c| Some(ClientRecord { disabled: true, ..c.clone() }),
            well_formed_id: true,
            detail: "client disabled",
        },
    ]
}

#[tokio::test]
async fn bad_credentials_are_invalid_client_and_audited_as_failures_on_every_connect_operation() {
    for op in Op::ALL {
        for bad in bad_credentials() {
            let case = format!("{op:?} with {}", bad.case);
            let c = client();
            let presented = (bad.creds)(&c);
            let mut store = MockStore::new();
            let stored = (bad.stored)(&c);
            store.expect_find_client().times(usize::from(bad.well_formed_id)).returning(move |_| Ok(stored.clone()));
            let log = audit_log(&mut store);
            let (svc, _) = service(store);

            let err = expect_code(op.call(&svc, &presented).await, ErrorCode::InvalidClient, &case);
            assert_eq!(err, ApiError::invalid_client(), "{case}: one message for every cause, telling nothing");

            let events = events(&log);
            assert_eq!(events.len(), 1, "{case}: exactly one audit event: {events:?}");
            let e = &events[0];
            assert_eq!((e.kind.as_str(), e.outcome.as_str()), ("client.auth", "failure"), "{case}");
            assert_eq!(e.detail.as_deref(), Some(bad.detail), "{case}");
            let expected_id = bad.well_formed_id.then(|| presented.client_id.clone());
            assert_eq!(e.client_id, expected_id, "{case}: only a well-formed id is recorded");
            assert_eq!(e.ip.as_deref(), Some("203.0.113.9"), "{case}");
            assert_eq!(e.request_id.as_deref(), Some("req-test-1"), "{case}");
            assert_eq!(e.at, T0, "{case}: stamped by the injected clock");
            let text = format!("{e:?}");
            assert!(
                presented.secret().is_empty() || !text.contains(presented.secret()),
                "{case}: the presented secret is never audited: {text}"
            );
        }
    }
}

#[tokio::test]
async fn the_right_secret_authenticates_and_is_checked_against_the_peppered_digest() {
    let c = client();
    let (mut store, log) = store_for(&c);
    store.expect_insert_link_session().times(1).returning(|_| Ok(()));
    let (svc, _) = service(store);

    let res = svc.create_link_token(&creds(&c), &meta(), CreateLinkTokenRequest::default()).await;

    assert!(res.is_ok(), "the right secret works: {res:?}");
    assert!(
        events(&log).iter().all(|e| e.kind != "client.auth"),
        "a successful authentication is not a failure event: {:?}",
        events(&log)
    );
}

#[tokio::test]
async fn a_digest_made_with_another_pepper_does_not_verify() {
    let mut c = client();
    c.secret_digest =
        SecretPepper::new(b"some-other-server's-pepper-bytes".to_vec()).digest(&ClientSecret::from_input(SECRET));
    let (store, _log) = store_for(&c);
    let (svc, _) = service(store);

    let res = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery::default()).await;

    expect_code(res, ErrorCode::InvalidClient, "the pepper is part of the key");
}

#[tokio::test]
async fn the_plaintext_secret_stored_as_if_it_were_a_digest_does_not_verify() {
    let mut c = client();
    c.secret_digest = SECRET.to_owned();
    let (store, _log) = store_for(&c);
    let (svc, _) = service(store);

    let res = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery::default()).await;

    expect_code(res, ErrorCode::InvalidClient, "only the keyed digest matches");
}
