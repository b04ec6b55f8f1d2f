//! Storage failures (SPEC §5 `SERVICE_UNAVAILABLE`, `INTERNAL_ERROR`; §8 audit): every store
//! call of every operation is made to fail in turn, which no real database does on demand.

use super::*;
use kc_api::{
    CheckSessionRequest, ConnectApi, ConsentRequest, CreateLinkTokenRequest, ExchangeRequest, HealthApi,
    LinkTokenCredential, ListGrantsQuery, RevokeRequest, WidgetApi,
};
use kc_ports::{
    AccessTokenGrant, ExchangeOutcome, RevokeOutcome, StoreError, StoreResult, UserRecord, WorkspaceRecord,
};

/// The store calls that can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    FindClient,
    FindAccessToken,
    InsertLinkSession,
    FindWorkspace,
    ExchangePublicToken,
    RevokeGrant,
    ListActiveGrants,
    FindLinkSession,
    FindUser,
    CreateGuestForSession,
    RecordConsent,
    CompleteLinkSession,
    Ping,
    ListClients,
    RecordAudit,
}

/// The operations of the service, each run on a store where everything it needs exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateLinkToken,
    ResumeLinkToken,
    CheckSession,
    Exchange,
    Revoke,
    ListGrants,
    WidgetSession,
    AuthAnonymous,
    Approve,
    Deny,
    Complete,
    Ready,
    IsRegisteredOrigin,
}

const ALL_OPS: [Op; 13] = [
    Op::CreateLinkToken,
    Op::ResumeLinkToken,
    Op::CheckSession,
    Op::Exchange,
    Op::Revoke,
    Op::ListGrants,
    Op::WidgetSession,
    Op::AuthAnonymous,
    Op::Approve,
    Op::Deny,
    Op::Complete,
    Op::Ready,
    Op::IsRegisteredOrigin,
];

/// Every store call each operation makes (audit writes aside).
const CASES: &[(Op, Call)] = &[
    (Op::CreateLinkToken, Call::FindClient),
    (Op::CreateLinkToken, Call::InsertLinkSession),
    (Op::ResumeLinkToken, Call::FindAccessToken),
    (Op::ResumeLinkToken, Call::InsertLinkSession),
    (Op::CheckSession, Call::FindClient),
    (Op::CheckSession, Call::FindAccessToken),
    (Op::CheckSession, Call::FindWorkspace),
    (Op::Exchange, Call::FindClient),
    (Op::Exchange, Call::ExchangePublicToken),
    (Op::Revoke, Call::FindClient),
    (Op::Revoke, Call::RevokeGrant),
    (Op::ListGrants, Call::FindClient),
    (Op::ListGrants, Call::ListActiveGrants),
    (Op::WidgetSession, Call::FindLinkSession),
    (Op::WidgetSession, Call::FindClient),
    (Op::WidgetSession, Call::FindUser),
    (Op::WidgetSession, Call::FindWorkspace),
    (Op::AuthAnonymous, Call::FindLinkSession),
    (Op::AuthAnonymous, Call::CreateGuestForSession),
    (Op::Approve, Call::FindClient),
    (Op::Approve, Call::RecordConsent),
    (Op::Deny, Call::RecordConsent),
    (Op::Deny, Call::CompleteLinkSession),
    (Op::Complete, Call::FindLinkSession),
    (Op::Complete, Call::CompleteLinkSession),
    (Op::Ready, Call::Ping),
    (Op::IsRegisteredOrigin, Call::ListClients),
];

/// What the failing store knows: one client, one of its grants, one link session.
struct World {
    client: ClientRecord,
    grant: GrantRecord,
    access: PlainToken,
    link: PlainToken,
    session: LinkSession,
}

impl World {
    /// A world in which `op` can succeed.
    fn for_op(op: Op) -> Self {
        let client = client();
        let fresh = link_session(&client.id);
        let session = match op {
            Op::AuthAnonymous => fresh,
            Op::WidgetSession | Op::Approve | Op::Deny => signed_in(fresh),
            _ => consented(fresh),
        };
        Self {
            grant: grant_of(&client.id),
            client,
            access: token(TokenKind::Access),
            link: token(TokenKind::Link),
            session,
        }
    }

    /// A store that answers every call as this world says, except `failing`, which returns `err()`.
    fn store(&self, failing: Option<Call>, err: MakeError) -> MockStore {
        fn answer<T>(fails: bool, err: MakeError, ok: T) -> StoreResult<T> {
            if fails {
                Err(err())
            } else {
                Ok(ok)
            }
        }
        let f = |call: Call| failing == Some(call);
        let mut s = MockStore::new();

        let (fails, c) = (f(Call::FindClient), self.client.clone());
        s.expect_find_client().returning(move |_| answer(fails, err, Some(c.clone())));
        let (fails, c) = (f(Call::ListClients), self.client.clone());
        s.expect_list_clients().returning(move || answer(fails, err, vec![c.clone()]));
        let fails = f(Call::Ping);
        s.expect_ping().returning(move || answer(fails, err, ()));
        let fails = f(Call::RecordAudit);
        s.expect_record_audit().returning(move |_| answer(fails, err, ()));

        let (fails, g) = (f(Call::FindAccessToken), self.grant.clone());
        s.expect_find_access_token().returning(move |_| {
            answer(fails, err, Some(AccessTokenGrant { token_expires_at: g.expires_at, grant: g.clone() }))
        });
        let fails = f(Call::InsertLinkSession);
        s.expect_insert_link_session().returning(move |_| answer(fails, err, ()));
        let fails = f(Call::FindWorkspace);
        s.expect_find_workspace()
            .returning(move |id| answer(fails, err, Some(WorkspaceRecord { id: id.clone(), name: "Main".into() })));
        let (fails, g) = (f(Call::ExchangePublicToken), self.grant.clone());
        s.expect_exchange_public_token()
            .returning(move |_, _, _, _| answer(fails, err, ExchangeOutcome::Issued(g.clone())));
        let (fails, g) = (f(Call::RevokeGrant), self.grant.clone());
        s.expect_revoke_grant().returning(move |_, _, _| answer(fails, err, RevokeOutcome::Revoked(g.clone())));
        let (fails, g) = (f(Call::ListActiveGrants), self.grant.clone());
        s.expect_list_active_grants().returning(move |_, _, _, _| answer(fails, err, vec![(1, g.clone())]));

        let (fails, session) = (f(Call::FindLinkSession), self.session.clone());
        s.expect_find_link_session().returning(move |_| answer(fails, err, Some(session.clone())));
        let fails = f(Call::FindUser);
        s.expect_find_user().returning(move |id| {
            let user =
                UserRecord { id: id.clone(), email: None, is_anonymous: true, name: None, language: "en".into() };
            answer(fails, err, Some(user))
        });
        let fails = f(Call::CreateGuestForSession);
        s.expect_create_guest_for_session().returning(move |_, _| answer(fails, err, true));
        let fails = f(Call::RecordConsent);
        s.expect_record_consent().returning(move |_, _| answer(fails, err, true));
        let fails = f(Call::CompleteLinkSession);
        s.expect_complete_link_session().returning(move |_, _, _| answer(fails, err, true));
        s
    }

    async fn run(&self, svc: &Service, op: Op) -> ApiResult<()> {
        let (cr, m) = (creds(&self.client), meta());
        let link = LinkTokenCredential::new(self.link.expose());
        match op {
            Op::CreateLinkToken => svc.create_link_token(&cr, &m, CreateLinkTokenRequest::default()).await.map(drop),
            Op::ResumeLinkToken => {
                let req =
                    CreateLinkTokenRequest { access_token: Some(self.access.expose().into()), ..Default::default() };
                svc.create_link_token(&cr, &m, req).await.map(drop)
            }
            Op::CheckSession => {
                let req = CheckSessionRequest { access_token: self.access.expose().into() };
                let res = svc.check_session(&cr, &m, req).await?;
                assert!(res.has_valid_session, "the world's token is live");
                Ok(())
            }
            Op::Exchange => {
                let req = ExchangeRequest { public_token: token(TokenKind::Public).expose().into() };
                svc.exchange_public_token(&cr, &m, req).await.map(drop)
            }
            Op::Revoke => svc.revoke_grant(&cr, &m, RevokeRequest { grant_id: self.grant.id.to_string() }).await,
            Op::ListGrants => svc.list_grants(&cr, &m, ListGrantsQuery::default()).await.map(drop),
            Op::WidgetSession => svc.session(&link, &m).await.map(drop),
            Op::AuthAnonymous => svc.auth_anonymous(&link, &m).await.map(drop),
            Op::Approve => svc.consent(&link, &m, ConsentRequest { approve: true }).await.map(drop),
            Op::Deny => svc.consent(&link, &m, ConsentRequest { approve: false }).await.map(drop),
            Op::Complete => svc.complete(&link, &m).await.map(drop),
            Op::Ready => svc.ready().await.map(drop),
            Op::IsRegisteredOrigin => svc.is_registered_origin(ORIGIN).await.map(drop),
        }
    }
}

/// The text a database error carries; none of it may reach the caller.
const CAUSE: &str = "relation \"grant\" does not exist; server 10.9.8.7:5432 user kc_admin";

/// Makes the error a failing call returns (`StoreError` is not `Clone`).
type MakeError = fn() -> StoreError;

fn unavailable() -> StoreError {
    StoreError::Unavailable(CAUSE.into())
}

#[tokio::test]
async fn every_operation_succeeds_when_the_store_does() {
    for op in ALL_OPS {
        let world = World::for_op(op);
        let (svc, _) = service(world.store(None, unavailable));

        let res = world.run(&svc, op).await;

        assert_eq!(res, Ok(()), "{op:?}: the baseline the failure cases start from");
    }
}

#[tokio::test]
async fn an_unreachable_database_is_service_unavailable_from_every_call() {
    for &(op, call) in CASES {
        let world = World::for_op(op);
        let (svc, _) = service(world.store(Some(call), unavailable));

        let err = expect_code(world.run(&svc, op).await, ErrorCode::ServiceUnavailable, &format!("{op:?} / {call:?}"));

        assert_eq!(err, ApiError::unavailable(), "{op:?} / {call:?}: the cause is logged, not returned");
    }
}

#[tokio::test]
async fn any_other_storage_error_is_internal_error_and_tells_nothing_of_its_cause() {
    let others: [(&str, MakeError); 3] = [
        ("other", || StoreError::Other(CAUSE.into())),
        ("conflict", || StoreError::Conflict(CAUSE.into())),
        ("corrupt row", || StoreError::Corrupt(CAUSE.into())),
    ];
    for (kind, err) in others {
        for &(op, call) in CASES {
            let case = format!("{kind}: {op:?} / {call:?}");
            let world = World::for_op(op);
            let (svc, _) = service(world.store(Some(call), err));

            let e = expect_code(world.run(&svc, op).await, ErrorCode::InternalError, &case);

            assert_eq!(e, ApiError::internal(), "{case}");
            for fragment in ["relation", "grant\"", "10.9.8.7", "kc_admin", "database"] {
                assert!(!e.message.contains(fragment), "{case}: leaks `{fragment}`: {}", e.message);
            }
        }
    }
}

#[tokio::test]
async fn a_failed_audit_write_never_fails_the_request() {
    let errors: [MakeError; 2] = [unavailable, || StoreError::Other(CAUSE.into())];
    for err in errors {
        for op in ALL_OPS {
            let world = World::for_op(op);
            let (svc, _) = service(world.store(Some(Call::RecordAudit), err));

            let res = world.run(&svc, op).await;

            assert_eq!(res, Ok(()), "{op:?} with {:?}", err());
        }
    }
}

#[tokio::test]
async fn a_failed_audit_write_does_not_change_the_answer_to_bad_credentials() {
    let c = client();
    let mut store = MockStore::new();
    knows_client(&mut store, &c);
    store.expect_record_audit().times(1).returning(|_| Err(unavailable()));
    let (svc, _) = service(store);

    let res =
        svc.list_grants(&ClientCredentials::new(c.id.as_str(), "kcs_wrong"), &meta(), ListGrantsQuery::default()).await;

    expect_code(res, ErrorCode::InvalidClient, "still INVALID_CLIENT, not SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn a_refused_exchange_keeps_its_code_when_the_audit_write_fails() {
    let c = client();
    let mut store = MockStore::new();
    knows_client(&mut store, &c);
    store
        .expect_exchange_public_token()
        .returning(|_, _, _, _| Ok(ExchangeOutcome::Refused(kc_domain::TokenRefusal::AlreadyUsed)));
    store.expect_record_audit().times(1).returning(|_| Err(StoreError::Other(CAUSE.into())));
    let (svc, _) = service(store);

    let res = svc
        .exchange_public_token(
            &creds(&c),
            &meta(),
            ExchangeRequest { public_token: token(TokenKind::Public).expose().into() },
        )
        .await;

    expect_code(res, ErrorCode::TokenAlreadyUsed, "the security event could not be stored; the answer stands");
}
