//! The widget API (SPEC §6): link-token sessions step by step.

use super::*;
use kc_api::{ConsentRequest, LinkTokenCredential, WidgetApi, WidgetClient, WidgetUser, WidgetWorkspace};
use kc_ports::{ExtendOutcome, NewGuest, NewPublicToken, UserRecord, WorkspaceRecord};

/// The store finds `session` under the digest of `link`, and nothing under any other digest.
fn serves_link(store: &mut MockStore, link: &PlainToken, session: LinkSession) {
    let digest = link.digest();
    store.expect_find_link_session().returning(move |d| Ok((d == &digest).then(|| session.clone())));
}

/// A store that knows `c`, accepts audit events and serves `session` under `link`.
fn widget_store(c: &ClientRecord, link: &PlainToken, session: LinkSession) -> (MockStore, AuditLog) {
    let (mut store, log) = store_for(c);
    serves_link(&mut store, link, session);
    (store, log)
}

/// `session` resuming `grant` (a returning user): the grant's user and workspace, nothing decided.
fn resuming(mut session: LinkSession, grant: &GrantRecord) -> LinkSession {
    session.resumed_grant_id = Some(grant.id.clone());
    session.user_id = Some(grant.user_id.clone());
    session.workspace_id = Some(grant.workspace_id.clone());
    session
}

/// The store finds `grant` by its id, and no other grant.
fn knows_grant(store: &mut MockStore, grant: &GrantRecord) {
    let g = grant.clone();
    store.expect_find_grant().returning(move |id| Ok((id == &g.id).then(|| g.clone())));
}

fn cred(link: &PlainToken) -> LinkTokenCredential {
    LinkTokenCredential::new(link.expose())
}

/// Request metadata of a cross-origin browser call from `origin`.
fn from_origin(origin: &str) -> RequestMeta {
    RequestMeta { origin: Some(origin.to_owned()), ..meta() }
}

/// Every widget operation that needs a usable link token.
#[derive(Debug, Clone, Copy)]
enum Op {
    Session,
    AuthAnonymous,
    Consent,
    Complete,
}

impl Op {
    const ALL: [Op; 4] = [Op::Session, Op::AuthAnonymous, Op::Consent, Op::Complete];

    async fn call(self, svc: &Service, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<()> {
        match self {
            Op::Session => svc.session(link, meta).await.map(drop),
            Op::AuthAnonymous => svc.auth_anonymous(link, meta).await.map(drop),
            Op::Consent => svc.consent(link, meta, ConsentRequest { approve: true }).await.map(drop),
            Op::Complete => svc.complete(link, meta).await.map(drop),
        }
    }
}

/// A store in which nothing may change: only look-ups are allowed.
fn read_only(store: &mut MockStore) {
    store.expect_create_guest_for_session().never();
    store.expect_record_consent().never();
    store.expect_complete_link_session().never();
}

// ---------------------------------------------------------------------------------------------
// The link token and its client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dead_link_token_is_refused_by_every_widget_call() {
    let expired_at = T0 + time::Duration::minutes(30);
    for op in Op::ALL {
        for (case, completed, advance, code) in [
            ("expired", None, time::Duration::minutes(30), ErrorCode::TokenExpired),
            ("completed", Some(T0), time::Duration::ZERO, ErrorCode::TokenAlreadyUsed),
            ("completed and expired", Some(T0), time::Duration::hours(2), ErrorCode::TokenAlreadyUsed),
        ] {
            let case = format!("{op:?}, {case}");
            let c = client();
            let link = token(TokenKind::Link);
            let session =
                LinkSession { completed_at: completed, expires_at: expired_at, ..consented(link_session(&c.id)) };
            let (mut store, _log) = widget_store(&c, &link, session);
            read_only(&mut store);
            let (svc, clock) = service(store);
            clock.advance(advance);

            expect_code(op.call(&svc, &cred(&link), &meta()).await, code, &case);
        }
    }
}

#[tokio::test]
async fn an_unknown_or_malformed_link_token_is_invalid_token() {
    for op in Op::ALL {
        let c = client();
        let known = token(TokenKind::Link);
        let (mut store, _log) = widget_store(&c, &known, link_session(&c.id));
        read_only(&mut store);
        let (svc, _) = service(store);

        let unknown = token(TokenKind::Link);
        expect_code(op.call(&svc, &cred(&unknown), &meta()).await, ErrorCode::InvalidToken, &format!("{op:?} unknown"));
        for raw in ["", "link_abc", token(TokenKind::Public).expose()] {
            let res = op.call(&svc, &LinkTokenCredential::new(raw), &meta()).await;
            expect_code(res, ErrorCode::InvalidToken, &format!("{op:?} malformed {raw:?}"));
        }
    }
}

#[tokio::test]
async fn a_malformed_link_token_never_reaches_the_store() {
    let mut store = MockStore::new();
    store.expect_find_link_session().never();
    store.expect_find_client().never();
    let (svc, _) = service(store);

    let res = svc.session(&LinkTokenCredential::new(token(TokenKind::Access).expose()), &meta()).await;

    expect_code(res, ErrorCode::InvalidToken, "an access token is not a link token");
}

#[tokio::test]
async fn a_link_token_is_usable_until_its_30th_minute() {
    let c = client();
    let link = token(TokenKind::Link);
    let (store, _log) = widget_store(&c, &link, link_session(&c.id));
    let (svc, clock) = service(store);

    clock.advance(time::Duration::minutes(30) - time::Duration::seconds(1));
    assert!(svc.session(&cred(&link), &meta()).await.is_ok(), "usable at 29:59");
    clock.advance(time::Duration::seconds(1));
    expect_code(svc.session(&cred(&link), &meta()).await, ErrorCode::TokenExpired, "dead at 30:00");
}

#[tokio::test]
async fn the_link_token_of_a_disabled_or_vanished_client_is_invalid_client() {
    for op in Op::ALL {
        for (case, stored) in [("disabled", true), ("vanished", false)] {
            let c = client();
            let link = token(TokenKind::Link);
            let mut store = MockStore::new();
            serves_link(&mut store, &link, consented(link_session(&c.id)));
            let found = stored.then(|| ClientRecord { disabled: true, ..c.clone() });
            store.expect_find_client().returning(move |_| Ok(found.clone()));
            read_only(&mut store);
            let (svc, _) = service(store);

            expect_code(
                op.call(&svc, &cred(&link), &meta()).await,
                ErrorCode::InvalidClient,
                &format!("{op:?}, {case}"),
            );
        }
    }
}

#[tokio::test]
async fn a_cross_origin_call_from_an_origin_the_client_did_not_register_is_invalid_client() {
    for op in Op::ALL {
        for origin in [
            "https://evil.example.net",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.example.net",
            "null",
        ] {
            let c = client();
            let link = token(TokenKind::Link);
            let (mut store, _log) = widget_store(&c, &link, consented(link_session(&c.id)));
            read_only(&mut store);
            let (svc, _) = service(store);

            let res = op.call(&svc, &cred(&link), &from_origin(origin)).await;

            expect_code(res, ErrorCode::InvalidClient, &format!("{op:?} from {origin}"));
        }
    }
}

#[tokio::test]
async fn calls_from_a_registered_origin_or_from_the_same_origin_are_served() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, _log) = widget_store(&c, &link, link_session(&c.id));
    store.expect_find_user().never();
    let (svc, _) = service(store);

    assert!(svc.session(&cred(&link), &from_origin(ORIGIN)).await.is_ok(), "the registered origin");
    assert!(svc.session(&cred(&link), &meta()).await.is_ok(), "no Origin: same-origin (the widget page itself)");
}

// ---------------------------------------------------------------------------------------------
// GET /widget/session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_session_shows_the_client_the_requested_scopes_and_where_the_user_stands() {
    let c = client();
    let link = token(TokenKind::Link);
    let mut session = signed_in(link_session(&c.id));
    session.integration_name = Some("metamask".into());
    session.prefill_json = Some(r#"{"email":"ada@example.com"}"#.into());
    let (user, ws) = (session.user_id.clone().unwrap(), session.workspace_id.clone().unwrap());
    let (mut store, _log) = widget_store(&c, &link, session);
    let u = user.clone();
    store.expect_find_user().withf(move |id| id == &u).returning(|id| {
        Ok(Some(UserRecord { id: id.clone(), email: None, is_anonymous: true, name: None, language: "en".into() }))
    });
    let w = ws.clone();
    store
        .expect_find_workspace()
        .withf(move |id| id == &w)
        .returning(|id| Ok(Some(WorkspaceRecord { id: id.clone(), name: "Personal workspace".into() })));
    read_only(&mut store);
    let (svc, _) = service(store);

    let s = svc.session(&cred(&link), &from_origin(ORIGIN)).await.unwrap();

    assert_eq!(
        s.client,
        WidgetClient {
            name: "Acme Portfolio".into(),
            logo: Some("https://app.example.com/logo.png".into()),
            mode: "sandbox".into()
        }
    );
    assert_eq!(s.requested_scopes, "openid users:read portfolios:read");
    assert!(!s.is_authorized, "a new user goes through AUTH");
    assert_eq!(s.auth_methods, ["email", "anonymous"]);
    assert_eq!(s.user, Some(WidgetUser { user_id: user.to_string(), is_anonymous: true }));
    assert_eq!(s.workspace, Some(WidgetWorkspace { workspace_id: ws.to_string(), name: "Personal workspace".into() }));
    assert_eq!(s.consent, None);
    assert!(s.consent_required, "a new user approves every requested scope");
    assert_eq!(s.consent_scopes, "openid users:read portfolios:read");
    assert_eq!(s.integration_name.as_deref(), Some("metamask"));
    assert_eq!(s.prefill.unwrap()["email"], "ada@example.com");
    assert_eq!(s.expires_at, "2026-03-01T12:30:00Z");
    assert_eq!(s.allowed_origins, [ORIGIN]);
}

#[tokio::test]
async fn a_resumed_session_is_authorized_and_skips_auth() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id);
    let (mut store, _log) = widget_store(&c, &link, resuming(link_session(&c.id), &grant));
    knows_grant(&mut store, &grant);
    store.expect_find_user().returning(|_| Ok(None));
    store.expect_find_workspace().returning(|_| Ok(None));
    let (svc, _) = service(store);

    let s = svc.session(&cred(&link), &meta()).await.unwrap();

    assert!(s.is_authorized);
}

// ---------------------------------------------------------------------------------------------
// POST /widget/auth/anonymous
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn guest_sign_in_creates_a_user_with_a_personal_workspace_on_this_session() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, log) = widget_store(&c, &link, link_session(&c.id));
    let guests: Arc<Mutex<Vec<NewGuest>>> = Arc::default();
    let sink = guests.clone();
    store.expect_create_guest_for_session().withf(|id, g| *id == 7 && g.created_at == T0).times(1).returning(
        move |_, g| {
            sink.lock().unwrap().push(g.clone());
            Ok(true)
        },
    );
    let (svc, _) = service(store);

    let res = svc.auth_anonymous(&cred(&link), &meta()).await.unwrap();

    let guest = guests.lock().unwrap().pop().unwrap();
    assert_eq!(res.user_id, guest.user_id.to_string());
    assert_eq!(res.workspace_id, guest.workspace_id.to_string());
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("widget.auth.anonymous", "success"));
    assert_eq!(ev[0].user_id.as_deref(), Some(res.user_id.as_str()));
}

#[tokio::test]
async fn guest_sign_in_on_a_session_that_already_has_a_user_is_invalid_request() {
    for (case, session) in [
        ("signed in", signed_in(link_session(&ClientId::generate(&OsSecretRng)))),
        ("resumed", {
            let mut s = signed_in(link_session(&ClientId::generate(&OsSecretRng)));
            s.resumed_grant_id = Some(GrantId::generate(&OsSecretRng));
            s
        }),
    ] {
        let c = ClientRecord { id: session.client_id.clone(), ..client() };
        let link = token(TokenKind::Link);
        let grant = GrantRecord {
            id: session.resumed_grant_id.clone().unwrap_or_else(|| GrantId::generate(&OsSecretRng)),
            ..grant_of(&c.id)
        };
        let (mut store, _log) = widget_store(&c, &link, session);
        knows_grant(&mut store, &grant);
        store.expect_create_guest_for_session().never();
        let (svc, _) = service(store);

        expect_code(svc.auth_anonymous(&cred(&link), &meta()).await, ErrorCode::InvalidRequest, case);
    }
}

#[tokio::test]
async fn guest_sign_in_that_loses_a_race_for_the_session_is_invalid_request() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, log) = widget_store(&c, &link, link_session(&c.id));
    store.expect_create_guest_for_session().times(1).returning(|_, _| Ok(false));
    let (svc, _) = service(store);

    let res = svc.auth_anonymous(&cred(&link), &meta()).await;

    expect_code(res, ErrorCode::InvalidRequest, "another request attached a user first");
    assert!(events(&log).iter().all(|e| e.outcome != "success"), "no sign-in is recorded: {:?}", events(&log));
}

#[tokio::test]
async fn guest_sign_in_is_refused_when_the_server_does_not_offer_it() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, _log) = widget_store(&c, &link, link_session(&c.id));
    store.expect_create_guest_for_session().never();
    let (mut ports, _) = ports(store);
    ports.auth_methods = vec!["email".into()];
    let svc = Service::new(ports);

    expect_code(svc.auth_anonymous(&cred(&link), &meta()).await, ErrorCode::InvalidRequest, "email only");
}

// ---------------------------------------------------------------------------------------------
// POST /widget/consent
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn consent_before_sign_in_and_workspace_selection_is_invalid_request() {
    let mut user_without_workspace = signed_in(link_session(&ClientId::generate(&OsSecretRng)));
    user_without_workspace.workspace_id = None;
    for (case, session) in [
        ("nobody signed in", link_session(&ClientId::generate(&OsSecretRng))),
        ("no workspace", user_without_workspace),
    ] {
        let c = ClientRecord { id: session.client_id.clone(), ..client() };
        let link = token(TokenKind::Link);
        let (mut store, _log) = widget_store(&c, &link, session);
        read_only(&mut store);
        let (svc, _) = service(store);

        for approve in [true, false] {
            let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve }).await;
            expect_code(res, ErrorCode::InvalidRequest, &format!("{case}, approve {approve}"));
        }
    }
}

#[tokio::test]
async fn approving_records_consent_and_keeps_the_session_open() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, log) = widget_store(&c, &link, signed_in(link_session(&c.id)));
    store.expect_record_consent().withf(|id, approve| *id == 7 && *approve).times(1).returning(|_, _| Ok(true));
    store.expect_complete_link_session().never();
    let (svc, _) = service(store);

    let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: true }).await.unwrap();

    assert!(res.approved);
    assert_eq!(res.granted_scopes, "openid users:read portfolios:read", "exactly the requested scopes");
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("widget.consent", "success"));
}

#[tokio::test]
async fn denying_consent_ends_the_session_without_a_public_token() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, log) = widget_store(&c, &link, signed_in(link_session(&c.id)));
    store.expect_record_consent().withf(|id, approve| *id == 7 && !*approve).times(1).returning(|_, _| Ok(true));
    store
        .expect_complete_link_session()
        .withf(|id, now, public| *id == 7 && *now == T0 && public.is_none())
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (svc, _) = service(store);

    let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: false }).await.unwrap();

    assert!(!res.approved);
    assert_eq!(res.granted_scopes, "", "nothing granted");
    let ev = events(&log);
    assert_eq!((ev[0].outcome.as_str(), ev[0].detail.as_deref()), ("failure", Some("denied")));
}

#[tokio::test]
async fn consent_on_a_session_completed_meanwhile_is_token_already_used() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, _log) = widget_store(&c, &link, signed_in(link_session(&c.id)));
    store.expect_record_consent().times(1).returning(|_, _| Ok(false));
    store.expect_complete_link_session().never();
    let (svc, _) = service(store);

    let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: true }).await;

    expect_code(res, ErrorCode::TokenAlreadyUsed, "the session completed between the read and the write");
}

// ---------------------------------------------------------------------------------------------
// POST /widget/complete
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn completing_before_sign_in_or_approval_is_invalid_request() {
    let id = ClientId::generate(&OsSecretRng);
    let mut denied = signed_in(link_session(&id));
    denied.consent = Some(false);
    for (case, session) in [
        ("nobody signed in", link_session(&id)),
        ("no decision yet", signed_in(link_session(&id))),
        ("consent denied", denied),
    ] {
        let c = ClientRecord { id: id.clone(), ..client() };
        let link = token(TokenKind::Link);
        let (mut store, _log) = widget_store(&c, &link, session);
        read_only(&mut store);
        let (svc, _) = service(store);

        expect_code(svc.complete(&cred(&link), &meta()).await, ErrorCode::InvalidRequest, case);
    }
}

#[tokio::test]
async fn completing_a_new_users_session_issues_a_30_minute_public_token_stored_by_digest() {
    let c = client();
    let link = token(TokenKind::Link);
    let session = consented(link_session(&c.id));
    let (user, ws, scopes) =
        (session.user_id.clone().unwrap(), session.workspace_id.clone().unwrap(), session.scopes.clone());
    let (mut store, log) = widget_store(&c, &link, session);
    let stored: Arc<Mutex<Vec<Option<NewPublicToken>>>> = Arc::default();
    let sink = stored.clone();
    store.expect_complete_link_session().withf(|id, now, _| *id == 7 && *now == T0).times(1).returning(
        move |_, _, public| {
            sink.lock().unwrap().push(public);
            Ok(true)
        },
    );
    let (svc, _) = service(store);

    let res = svc.complete(&cred(&link), &meta()).await.unwrap();

    let public = res.public_token.expect("a new user gets a public token");
    assert!(PlainToken::parse(TokenKind::Public, &public).is_ok(), "a well-formed public_ token");
    let record = stored.lock().unwrap().pop().unwrap().expect("the public token is stored with the completion");
    assert_eq!(record.digest, kc_domain::TokenDigest::of(&public), "stored by digest");
    assert_eq!((record.user_id, record.workspace_id, record.scopes), (user, ws, scopes));
    assert_eq!((record.created_at, record.expires_at), (T0, T0 + time::Duration::minutes(30)));
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("widget.complete", "success"));
    assert!(!format!("{ev:?}").contains(&public), "the token is never audited");
}

#[tokio::test]
async fn completing_a_resumed_session_issues_no_public_token() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id);
    let mut session = resuming(link_session(&c.id), &grant);
    session.consent = Some(true);
    let (mut store, _log) = widget_store(&c, &link, session);
    knows_grant(&mut store, &grant);
    store
        .expect_complete_link_session()
        .withf(|id, _, public| *id == 7 && public.is_none())
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (svc, _) = service(store);

    let res = svc.complete(&cred(&link), &meta()).await.unwrap();

    assert_eq!(res.public_token, None, "the page gets null: the client already holds an access token");
}

#[tokio::test]
async fn completing_a_session_that_another_request_completed_first_is_token_already_used() {
    let c = client();
    let link = token(TokenKind::Link);
    let (mut store, log) = widget_store(&c, &link, consented(link_session(&c.id)));
    store.expect_complete_link_session().times(1).returning(|_, _, _| Ok(false));
    let (svc, _) = service(store);

    let res = svc.complete(&cred(&link), &meta()).await;

    expect_code(res, ErrorCode::TokenAlreadyUsed, "lost the race to complete");
    assert!(events(&log).is_empty(), "no completion is recorded: {:?}", events(&log));
}

// ---------------------------------------------------------------------------------------------
// A returning user (link token created with a live access token): INTEGRATION only
// ---------------------------------------------------------------------------------------------

/// A store serving `session` (resuming `grant`) under `link`, where users and workspaces are unknown.
fn resumed_store(
    c: &ClientRecord,
    link: &PlainToken,
    session: LinkSession,
    grant: &GrantRecord,
) -> (MockStore, AuditLog) {
    let (mut store, log) = widget_store(c, link, session);
    knows_grant(&mut store, grant);
    store.expect_find_user().returning(|_| Ok(None));
    store.expect_find_workspace().returning(|_| Ok(None));
    (store, log)
}

/// A link session of `client` asking for `scopes`.
fn asking(client: &ClientId, scopes: &str) -> LinkSession {
    LinkSession { scopes: scopes.parse().unwrap(), ..link_session(client) }
}

#[tokio::test]
async fn a_returning_user_within_the_grants_scopes_needs_no_consent_and_completes_with_null() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id); // openid users:read portfolios:read
    for asked in ["openid users:read portfolios:read", "portfolios:read"] {
        let (mut store, log) = resumed_store(&c, &link, resuming(asking(&c.id, asked), &grant), &grant);
        store.expect_record_consent().never();
        store.expect_extend_grant_for_session().never();
        store
            .expect_complete_link_session()
            .withf(|id, now, public| *id == 7 && *now == T0 && public.is_none())
            .times(1)
            .returning(|_, _, _| Ok(true));
        let (svc, _) = service(store);

        let s = svc.session(&cred(&link), &meta()).await.unwrap();
        assert!(s.is_authorized, "{asked}: no sign-in");
        assert!(!s.consent_required, "{asked}: no consent screen");
        assert_eq!(s.consent_scopes, "", "{asked}: nothing to approve");

        let done = svc.complete(&cred(&link), &meta()).await.unwrap();
        assert_eq!(done.public_token, None, "{asked}: the client already holds an access token");
        let ev = events(&log);
        assert_eq!(ev[0].detail.as_deref(), Some("session resumed"), "{asked}");
        assert_eq!(ev[0].grant_id.as_deref(), Some(grant.id.as_str()), "{asked}");
    }
}

#[tokio::test]
async fn a_returning_user_asked_for_more_scopes_is_asked_for_the_new_ones_only() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id);
    let session = resuming(asking(&c.id, "openid integrations:read users:read email"), &grant);
    let (mut store, _log) = resumed_store(&c, &link, session, &grant);
    read_only(&mut store);
    let (svc, _) = service(store);

    let s = svc.session(&cred(&link), &meta()).await.unwrap();
    assert!(s.is_authorized, "still no sign-in");
    assert!(s.consent_required);
    assert_eq!(s.consent_scopes, "integrations:read email", "only what the grant lacks, in the requested order");
    assert_eq!(s.requested_scopes, "openid integrations:read users:read email");

    let early = svc.complete(&cred(&link), &meta()).await;
    expect_code(early, ErrorCode::InvalidRequest, "completing before the new scopes are approved");
}

#[tokio::test]
async fn approving_more_scopes_extends_the_grant_with_exactly_the_new_ones() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id);
    let session = resuming(asking(&c.id, "openid integrations:read email"), &grant);
    let (mut store, log) = resumed_store(&c, &link, session, &grant);
    store.expect_record_consent().never();
    store.expect_complete_link_session().never();
    let (g, extended) = (grant.id.clone(), grant.clone());
    store
        .expect_extend_grant_for_session()
        .withf(move |id, gid, scopes, now| {
            *id == 7 && gid == &g && scopes.to_string() == "integrations:read email" && *now == T0
        })
        .times(1)
        .returning(move |_, _, scopes, _| {
            let grant = GrantRecord { scopes: extended.scopes.union(scopes), ..extended.clone() };
            Ok(ExtendOutcome::Extended { grant, changed: true })
        });
    let (svc, _) = service(store);

    let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: true }).await.unwrap();

    assert!(res.approved);
    assert_eq!(res.granted_scopes, "openid users:read portfolios:read integrations:read email", "the whole grant");
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("widget.consent", "success"));
    assert_eq!(ev[0].grant_id.as_deref(), Some(grant.id.as_str()));
    assert_eq!(ev[0].detail.as_deref(), Some("approved; grant extended with integrations:read email"));
}

#[tokio::test]
async fn denying_more_scopes_ends_the_session_and_leaves_the_grant_alone() {
    let c = client();
    let link = token(TokenKind::Link);
    let grant = grant_of(&c.id);
    let session = resuming(asking(&c.id, "openid integrations:read"), &grant);
    let (mut store, log) = resumed_store(&c, &link, session, &grant);
    store.expect_extend_grant_for_session().never();
    store.expect_record_consent().withf(|id, approve| *id == 7 && !*approve).times(1).returning(|_, _| Ok(true));
    store
        .expect_complete_link_session()
        .withf(|id, _, public| *id == 7 && public.is_none())
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (svc, _) = service(store);

    let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: false }).await.unwrap();

    assert!(!res.approved);
    assert_eq!(res.granted_scopes, "");
    assert_eq!(events(&log)[0].detail.as_deref(), Some("denied"));
}

#[tokio::test]
async fn an_extension_that_loses_to_completion_or_revocation_changes_nothing() {
    for (case, outcome, code) in [
        ("session completed meanwhile", ExtendOutcome::SessionClosed, ErrorCode::TokenAlreadyUsed),
        ("grant revoked meanwhile", ExtendOutcome::GrantGone, ErrorCode::InvalidGrant),
    ] {
        let c = client();
        let link = token(TokenKind::Link);
        let grant = grant_of(&c.id);
        let session = resuming(asking(&c.id, "openid integrations:read"), &grant);
        let (mut store, _log) = resumed_store(&c, &link, session, &grant);
        store.expect_extend_grant_for_session().times(1).returning(move |_, _, _, _| Ok(outcome.clone()));
        store.expect_complete_link_session().never();
        let (svc, _) = service(store);

        let res = svc.consent(&cred(&link), &meta(), ConsentRequest { approve: true }).await;

        expect_code(res, code, case);
    }
}

#[tokio::test]
async fn a_session_whose_resumed_grant_was_revoked_or_expired_is_invalid_grant_for_every_call() {
    for op in Op::ALL {
        for (case, revoked, advance) in
            [("revoked", true, time::Duration::ZERO), ("expired", false, lifetimes::ACCESS_TOKEN)]
        {
            let c = client();
            let link = token(TokenKind::Link);
            let mut grant = grant_of(&c.id);
            grant.revoked_at = revoked.then_some(T0 - time::Duration::seconds(1));
            let session =
                LinkSession { expires_at: T0 + lifetimes::ACCESS_TOKEN * 2, ..resuming(link_session(&c.id), &grant) };
            let (mut store, _log) = widget_store(&c, &link, session);
            knows_grant(&mut store, &grant);
            read_only(&mut store);
            store.expect_extend_grant_for_session().never();
            let (svc, clock) = service(store);
            clock.advance(advance);

            expect_code(
                op.call(&svc, &cred(&link), &meta()).await,
                ErrorCode::InvalidGrant,
                &format!("{op:?}, {case}"),
            );
        }
    }
}

#[tokio::test]
async fn a_grant_of_another_client_never_authorizes_a_session() {
    let c = client();
    let link = token(TokenKind::Link);
    let foreign = grant_of(&ClientId::generate(&OsSecretRng));
    let (mut store, _log) = widget_store(&c, &link, resuming(link_session(&c.id), &foreign));
    knows_grant(&mut store, &foreign);
    read_only(&mut store);
    let (svc, _) = service(store);

    expect_code(svc.complete(&cred(&link), &meta()).await, ErrorCode::InvalidGrant, "a foreign grant");
}

// ---------------------------------------------------------------------------------------------
// CORS preflights of widget routes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn only_origins_of_enabled_clients_are_registered() {
    let enabled = client();
    let disabled =
        ClientRecord { allowed_origins: vec!["https://gone.example.org".into()], disabled: true, ..client() };
    let mut store = MockStore::new();
    let all = vec![enabled, disabled];
    store.expect_list_clients().returning(move || Ok(all.clone()));
    let (svc, _) = service(store);

    assert_eq!(svc.is_registered_origin(ORIGIN).await, Ok(true));
    assert_eq!(svc.is_registered_origin("https://gone.example.org").await, Ok(false), "a disabled client's origin");
    assert_eq!(svc.is_registered_origin("https://app.example.com/").await, Ok(false), "exact match only");
    assert_eq!(svc.is_registered_origin("https://elsewhere.example").await, Ok(false));
}
