//! The Connect API (SPEC §3, §4): link tokens, check-session, exchange, revocation, grant listing.

use super::*;
use base64::Engine as _;
use kc_api::{
    CheckSessionRequest, CheckSessionResponse, ConnectApi, CreateLinkTokenRequest, ExchangeRequest, ListGrantsQuery,
    RevokeRequest,
};
use kc_domain::{TokenDigest, TokenRefusal};
use kc_ports::{AccessTokenGrant, ExchangeOutcome, IssueGrant, NewLinkSession, RevokeOutcome, WorkspaceRecord};

/// What the store was handed, for the test to inspect afterwards.
type Captured<T> = Arc<Mutex<Vec<T>>>;

fn taken<T: Clone>(c: &Captured<T>) -> Vec<T> {
    c.lock().unwrap().clone()
}

/// The store accepts link sessions and keeps them.
fn accepts_link_sessions(store: &mut MockStore) -> Captured<NewLinkSession> {
    let cap = Captured::default();
    let sink = cap.clone();
    store.expect_insert_link_session().returning(move |s| {
        sink.lock().unwrap().push(s.clone());
        Ok(())
    });
    cap
}

/// The store finds `found` under the digest of `access`.
fn finds_access_token(store: &mut MockStore, access: &PlainToken, found: Option<AccessTokenGrant>) {
    let digest = access.digest();
    store.expect_find_access_token().withf(move |d| d == &digest).times(1).returning(move |_| Ok(found.clone()));
}

fn live(grant: GrantRecord) -> AccessTokenGrant {
    AccessTokenGrant { token_expires_at: grant.expires_at, grant }
}

fn link_req() -> CreateLinkTokenRequest {
    CreateLinkTokenRequest::default()
}

// ---------------------------------------------------------------------------------------------
// POST /link-token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_link_token_is_issued_for_30_minutes_and_stored_by_digest_only() {
    let c = client();
    let (mut store, log) = store_for(&c);
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);

    let res = svc.create_link_token(&creds(&c), &meta(), link_req()).await.unwrap();

    assert!(PlainToken::parse(TokenKind::Link, &res.link_token).is_ok(), "a well-formed link_ token");
    assert_eq!(res.expires_at, "2026-03-01T12:30:00Z", "now + 30 min, RFC 3339 in UTC with Z");
    assert_eq!((res.user_id, res.workspace_id, res.has_existing_grant), (None, None, None), "not a resume");
    let stored = taken(&sessions);
    assert_eq!(stored.len(), 1);
    let s = &stored[0];
    assert_eq!(s.digest, TokenDigest::of(&res.link_token), "looked up by the token's digest");
    assert_ne!(s.digest.as_str(), res.link_token, "never the plaintext");
    assert_eq!(s.client_id, c.id);
    assert_eq!((s.created_at, s.expires_at), (T0, T0 + time::Duration::minutes(30)));
    assert_eq!(s.resumed, None);
    let ev = events(&log);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("link_token.create", "success"));
    assert_eq!(ev[0].client_id.as_deref(), Some(c.id.as_str()));
    assert!(!format!("{ev:?}").contains(&res.link_token), "the token is never audited");
}

#[tokio::test]
async fn expires_at_has_whole_seconds_even_when_the_clock_does_not() {
    let c = client();
    let (mut store, _log) = store_for(&c);
    accepts_link_sessions(&mut store);
    let (svc, clock) = service(store);
    clock.advance(time::Duration::milliseconds(750));

    let res = svc.create_link_token(&creds(&c), &meta(), link_req()).await.unwrap();

    assert_eq!(res.expires_at, "2026-03-01T12:30:00Z");
}

#[tokio::test]
async fn omitted_scopes_default_to_everything_the_client_is_allowed() {
    let mut c = client();
    c.allowed_scopes = "openid users:read nft:read".parse().unwrap();
    let (mut store, _log) = store_for(&c);
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);

    svc.create_link_token(&creds(&c), &meta(), link_req()).await.unwrap();

    assert_eq!(taken(&sessions)[0].scopes, c.allowed_scopes);
}

#[tokio::test]
async fn requested_scopes_within_the_allowed_set_are_stored_as_asked() {
    let c = client();
    let (mut store, _log) = store_for(&c);
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);

    let req = CreateLinkTokenRequest { scopes: Some("users:read openid users:read".into()), ..link_req() };
    svc.create_link_token(&creds(&c), &meta(), req).await.unwrap();

    assert_eq!(taken(&sessions)[0].scopes.to_string(), "users:read openid", "duplicates collapse, order kept");
}

#[tokio::test]
async fn unknown_or_not_allowed_scopes_are_invalid_scope_and_open_no_session() {
    for (case, scopes) in [
        ("unknown scope", "openid wallet:read"),
        ("unknown access level", "nft:delete"),
        ("known but not allowed for this client", "openid nft:write"),
        ("allowed scope in the wrong case", "OPENID"),
    ] {
        let c = client();
        let (mut store, _log) = store_for(&c);
        store.expect_insert_link_session().never();
        let (svc, _) = service(store);

        let req = CreateLinkTokenRequest { scopes: Some(scopes.into()), ..link_req() };
        let err = expect_code(svc.create_link_token(&creds(&c), &meta(), req).await, ErrorCode::InvalidScope, case);
        assert!(
            err.message.contains(scopes.split(' ').next_back().unwrap()),
            "{case}: names the scope: {}",
            err.message
        );
    }
}

#[tokio::test]
async fn a_live_access_token_of_this_client_resumes_its_grant() {
    let c = client();
    let grant = grant_of(&c.id);
    let access = token(TokenKind::Access);
    let (mut store, log) = store_for(&c);
    finds_access_token(&mut store, &access, Some(live(grant.clone())));
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);

    let req = CreateLinkTokenRequest { access_token: Some(access.expose().into()), ..link_req() };
    let res = svc.create_link_token(&creds(&c), &meta(), req).await.unwrap();

    assert_eq!(res.has_existing_grant, Some(true));
    assert_eq!(res.user_id.as_deref(), Some(grant.user_id.as_str()));
    assert_eq!(res.workspace_id.as_deref(), Some(grant.workspace_id.as_str()));
    assert_eq!(taken(&sessions)[0].resumed, Some(grant.clone()), "the session resumes that grant");
    let ev = events(&log);
    assert_eq!(ev[0].grant_id.as_deref(), Some(grant.id.as_str()));
    assert!(!format!("{ev:?}").contains(access.expose()), "the access token is never audited");
}

/// An access token that cannot resume a session, and what the store says about it.
fn dead_access_tokens(c: &ClientRecord) -> Vec<(&'static str, Option<AccessTokenGrant>)> {
    let revoked = GrantRecord { revoked_at: Some(T0 - time::Duration::hours(1)), ..grant_of(&c.id) };
    let expired = GrantRecord { expires_at: T0, ..grant_of(&c.id) };
    let foreign = grant_of(&ClientId::generate(&OsSecretRng));
    vec![
        ("revoked grant", Some(live(revoked))),
        ("expired grant", Some(live(expired))),
        ("token expired before its grant", Some(AccessTokenGrant { grant: grant_of(&c.id), token_expires_at: T0 })),
        ("another client's token", Some(live(foreign))),
        ("unknown token", None),
    ]
}

#[tokio::test]
async fn a_dead_or_foreign_access_token_is_invalid_token_and_never_starts_a_new_user() {
    let c = client();
    for (case, found) in dead_access_tokens(&c) {
        let access = token(TokenKind::Access);
        let (mut store, _log) = store_for(&c);
        finds_access_token(&mut store, &access, found);
        store.expect_insert_link_session().never();
        let (svc, _) = service(store);

        let req = CreateLinkTokenRequest { access_token: Some(access.expose().into()), ..link_req() };
        expect_code(svc.create_link_token(&creds(&c), &meta(), req).await, ErrorCode::InvalidToken, case);
    }
}

#[tokio::test]
async fn a_malformed_access_token_is_invalid_token_without_a_lookup() {
    let c = client();
    for (case, raw) in [
        ("empty", String::new()),
        ("a public token", token(TokenKind::Public).expose().to_owned()),
        ("a link token", token(TokenKind::Link).expose().to_owned()),
        ("truncated", token(TokenKind::Access).expose()[..20].to_owned()),
        ("bad alphabet", format!("cat_{}", "!".repeat(43))),
    ] {
        let (mut store, _log) = store_for(&c);
        store.expect_find_access_token().never();
        store.expect_insert_link_session().never();
        let (svc, _) = service(store);

        let req = CreateLinkTokenRequest { access_token: Some(raw), ..link_req() };
        expect_code(svc.create_link_token(&creds(&c), &meta(), req).await, ErrorCode::InvalidToken, case);
    }
}

#[tokio::test]
async fn prefill_is_capped_at_4096_bytes_of_json() {
    fn prefill(value_len: usize) -> serde_json::Map<String, serde_json::Value> {
        // `{"k":"…"}` is 8 bytes plus the value.
        let mut m = serde_json::Map::new();
        m.insert("k".into(), serde_json::Value::String("x".repeat(value_len)));
        m
    }
    let c = client();
    let (mut store, _log) = store_for(&c);
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);

    let at_cap = CreateLinkTokenRequest { prefill: Some(prefill(4088)), ..link_req() };
    svc.create_link_token(&creds(&c), &meta(), at_cap).await.unwrap();
    let over = CreateLinkTokenRequest { prefill: Some(prefill(4089)), ..link_req() };
    let err = svc.create_link_token(&creds(&c), &meta(), over).await;

    expect_code(err, ErrorCode::InvalidRequest, "4097 bytes of prefill");
    let stored = taken(&sessions);
    assert_eq!(stored.len(), 1, "only the request at the cap opened a session");
    assert_eq!(stored[0].prefill_json.as_ref().map(String::len), Some(4096));
}

#[tokio::test]
async fn integration_name_must_be_1_to_64_characters() {
    let c = client();
    for (case, name) in [("empty", String::new()), ("65 characters", "m".repeat(65))] {
        let (mut store, _log) = store_for(&c);
        store.expect_insert_link_session().never();
        let (svc, _) = service(store);

        let req = CreateLinkTokenRequest { integration_name: Some(name), ..link_req() };
        expect_code(svc.create_link_token(&creds(&c), &meta(), req).await, ErrorCode::InvalidRequest, case);
    }

    let (mut store, _log) = store_for(&c);
    let sessions = accepts_link_sessions(&mut store);
    let (svc, _) = service(store);
    let req = CreateLinkTokenRequest { integration_name: Some("metamask".into()), ..link_req() };
    svc.create_link_token(&creds(&c), &meta(), req).await.unwrap();
    assert_eq!(taken(&sessions)[0].integration_name.as_deref(), Some("metamask"));
}

// ---------------------------------------------------------------------------------------------
// POST /link-token/check-session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn check_session_describes_a_live_grant() {
    let c = client();
    let grant = grant_of(&c.id);
    let access = token(TokenKind::Access);
    let (mut store, _log) = store_for(&c);
    finds_access_token(&mut store, &access, Some(live(grant.clone())));
    let ws = grant.workspace_id.clone();
    store
        .expect_find_workspace()
        .withf(move |id| id == &ws)
        .returning(|id| Ok(Some(WorkspaceRecord { id: id.clone(), name: "Treasury".into() })));
    let (svc, _) = service(store);

    let res = svc
        .check_session(&creds(&c), &meta(), CheckSessionRequest { access_token: access.expose().into() })
        .await
        .unwrap();

    assert_eq!(
        res,
        CheckSessionResponse {
            has_valid_session: true,
            reason: None,
            user_id: Some(grant.user_id.to_string()),
            workspace_id: Some(grant.workspace_id.to_string()),
            workspace_name: Some("Treasury".into()),
            granted_scopes: Some("openid users:read portfolios:read".into()),
            grant_id: Some(grant.id.to_string()),
        }
    );
}

#[tokio::test]
async fn check_session_gives_the_reason_a_token_is_dead_and_still_succeeds() {
    let c = client();
    let revoked_and_expired = GrantRecord {
        revoked_at: Some(T0 - time::Duration::hours(1)),
        expires_at: T0 - time::Duration::minutes(1),
        ..grant_of(&c.id)
    };
    let mut cases: Vec<(&str, Option<AccessTokenGrant>, &str)> = dead_access_tokens(&c)
        .into_iter()
        .zip(["token_revoked", "token_expired", "token_expired", "invalid_token", "invalid_token"])
        .map(|((case, found), reason)| (case, found, reason))
        .collect();
    cases.push(("revoked and expired: revocation wins", Some(live(revoked_and_expired)), "token_revoked"));

    for (case, found, reason) in cases {
        let access = token(TokenKind::Access);
        let (mut store, _log) = store_for(&c);
        finds_access_token(&mut store, &access, found);
        store.expect_find_workspace().never();
        let (svc, _) = service(store);

        let res =
            svc.check_session(&creds(&c), &meta(), CheckSessionRequest { access_token: access.expose().into() }).await;

        let res = res.unwrap_or_else(|e| panic!("{case}: check-session never fails for a bad token: {e}"));
        assert!(!res.has_valid_session, "{case}");
        assert_eq!(res.reason.as_deref(), Some(reason), "{case}");
        assert_eq!((res.user_id, res.grant_id, res.granted_scopes), (None, None, None), "{case}: nothing leaks");
    }
}

#[tokio::test]
async fn check_session_answers_invalid_token_for_a_malformed_token_without_a_lookup() {
    let c = client();
    let (mut store, _log) = store_for(&c);
    store.expect_find_access_token().never();
    let (svc, _) = service(store);

    let res = svc
        .check_session(&creds(&c), &meta(), CheckSessionRequest { access_token: "Bearer cat_abc".into() })
        .await
        .unwrap();

    assert_eq!((res.has_valid_session, res.reason.as_deref()), (false, Some("invalid_token")));
}

#[tokio::test]
async fn an_access_token_expires_when_the_clock_reaches_its_expiry() {
    let c = client();
    let access = token(TokenKind::Access);
    let found = AccessTokenGrant { grant: grant_of(&c.id), token_expires_at: T0 + time::Duration::hours(1) };
    let (mut store, _log) = store_for(&c);
    let digest = access.digest();
    store.expect_find_access_token().withf(move |d| d == &digest).returning(move |_| Ok(Some(found.clone())));
    store.expect_find_workspace().returning(|_| Ok(None));
    let (svc, clock) = service(store);
    let req = || CheckSessionRequest { access_token: access.expose().into() };

    clock.advance(time::Duration::minutes(59));
    let before = svc.check_session(&creds(&c), &meta(), req()).await.unwrap();
    clock.advance(time::Duration::minutes(1));
    let at = svc.check_session(&creds(&c), &meta(), req()).await.unwrap();

    assert!(before.has_valid_session, "valid a minute before expiry");
    assert_eq!((at.has_valid_session, at.reason.as_deref()), (false, Some("token_expired")), "dead at expiry");
}

// ---------------------------------------------------------------------------------------------
// POST /token/exchange
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_exchange_issues_a_15_year_bearer_token_whose_digest_is_what_the_store_keeps() {
    let c = client();
    let public = token(TokenKind::Public);
    let (mut store, log) = store_for(&c);
    let issued: Captured<IssueGrant> = Captured::default();
    let sink = issued.clone();
    let (pd, cid) = (public.digest(), c.id.clone());
    store
        .expect_exchange_public_token()
        .withf(move |digest, client, now, _| digest == &pd && client == &cid && *now == T0)
        .times(1)
        .returning(move |_, client, now, issue| {
            sink.lock().unwrap().push(issue.clone());
            Ok(ExchangeOutcome::Issued(GrantRecord {
                id: issue.grant_id.clone(),
                client_id: client.clone(),
                user_id: UserId::generate(&OsSecretRng),
                workspace_id: WorkspaceId::generate(&OsSecretRng),
                scopes: "openid users:read".parse().unwrap(),
                created_at: now,
                expires_at: issue.expires_at,
                revoked_at: None,
            }))
        });
    let (svc, _) = service(store);

    let res = svc
        .exchange_public_token(&creds(&c), &meta(), ExchangeRequest { public_token: public.expose().into() })
        .await
        .unwrap();

    let issue = taken(&issued).pop().unwrap();
    assert_eq!(res.token_type, "Bearer");
    assert_eq!(res.expires_in, 473_040_000);
    assert!(PlainToken::parse(TokenKind::Access, &res.access_token).is_ok(), "a well-formed cat_ token");
    assert_eq!(TokenDigest::of(&res.access_token), issue.access_digest, "the store keeps the token's digest");
    assert_ne!(issue.access_digest.as_str(), res.access_token, "never the plaintext");
    assert_eq!(res.grant_id, issue.grant_id.to_string());
    assert!(res.grant_id.parse::<GrantId>().is_ok(), "a well-formed cgrant_ id");
    assert_eq!(res.scope, "openid users:read");
    assert_eq!((issue.created_at, issue.expires_at), (T0, T0 + time::Duration::seconds(473_040_000)));
    let ev = events(&log);
    assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("token.exchange", "success"));
    assert_eq!(ev[0].grant_id.as_deref(), Some(res.grant_id.as_str()));
    let text = format!("{ev:?}");
    assert!(!text.contains(&res.access_token) && !text.contains(public.expose()), "no token is audited");
}

#[tokio::test]
async fn a_refused_exchange_maps_onto_its_code_and_a_replay_is_a_security_event() {
    for (refusal, code, outcome) in [
        (TokenRefusal::AlreadyUsed, ErrorCode::TokenAlreadyUsed, "security"),
        (TokenRefusal::Expired, ErrorCode::TokenExpired, "failure"),
        (TokenRefusal::Invalid, ErrorCode::InvalidToken, "failure"),
    ] {
        let case = format!("{refusal:?}");
        let c = client();
        let (mut store, log) = store_for(&c);
        store
            .expect_exchange_public_token()
            .times(1)
            .returning(move |_, _, _, _| Ok(ExchangeOutcome::Refused(refusal)));
        let (svc, _) = service(store);

        let res = svc
            .exchange_public_token(
                &creds(&c),
                &meta(),
                ExchangeRequest { public_token: token(TokenKind::Public).expose().into() },
            )
            .await;

        expect_code(res, code, &case);
        let ev = events(&log);
        assert_eq!(ev.len(), 1, "{case}: {ev:?}");
        assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("token.exchange", outcome), "{case}");
        assert_eq!(ev[0].detail.as_deref(), Some(code.as_str()), "{case}");
        assert_eq!(ev[0].client_id.as_deref(), Some(c.id.as_str()), "{case}");
    }
}

#[tokio::test]
async fn a_malformed_public_token_is_invalid_token_without_reaching_the_store() {
    let c = client();
    for (case, raw) in [
        ("empty", String::new()),
        ("an access token", token(TokenKind::Access).expose().to_owned()),
        ("a link token", token(TokenKind::Link).expose().to_owned()),
        ("too short", "public_abc".to_owned()),
        ("with whitespace", format!(" {}", token(TokenKind::Public).expose())),
    ] {
        let (mut store, _log) = store_for(&c);
        store.expect_exchange_public_token().never();
        let (svc, _) = service(store);

        let res = svc.exchange_public_token(&creds(&c), &meta(), ExchangeRequest { public_token: raw }).await;

        expect_code(res, ErrorCode::InvalidToken, case);
    }
}

// ---------------------------------------------------------------------------------------------
// POST /token/revoke
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_grant_and_revoking_it_again_both_succeed() {
    let c = client();
    let grant = grant_of(&c.id);
    for (case, outcome) in
        [("first revocation", RevokeOutcome::Revoked(grant.clone())), ("again", RevokeOutcome::AlreadyRevoked)]
    {
        let (mut store, log) = store_for(&c);
        let (gid, cid) = (grant.id.clone(), c.id.clone());
        store
            .expect_revoke_grant()
            .withf(move |g, client, now| g == &gid && client == &cid && *now == T0)
            .times(1)
            .returning(move |_, _, _| Ok(outcome.clone()));
        let (svc, _) = service(store);

        let res = svc.revoke_grant(&creds(&c), &meta(), RevokeRequest { grant_id: grant.id.to_string() }).await;

        assert_eq!(res, Ok(()), "{case}");
        let ev = events(&log);
        assert_eq!((ev[0].kind.as_str(), ev[0].outcome.as_str()), ("grant.revoke", "success"), "{case}");
        assert_eq!(ev[0].grant_id.as_deref(), Some(grant.id.as_str()), "{case}");
    }
}

#[tokio::test]
async fn revoking_an_unknown_or_foreign_grant_is_invalid_grant() {
    let c = client();
    let (mut store, log) = store_for(&c);
    store.expect_revoke_grant().times(1).returning(|_, _, _| Ok(RevokeOutcome::NotFound));
    let (svc, _) = service(store);

    let res = svc
        .revoke_grant(&creds(&c), &meta(), RevokeRequest { grant_id: GrantId::generate(&OsSecretRng).to_string() })
        .await;

    expect_code(res, ErrorCode::InvalidGrant, "the store has no such grant for this client");
    assert_eq!(events(&log)[0].outcome, "failure");
}

#[tokio::test]
async fn a_malformed_grant_id_is_invalid_grant_without_reaching_the_store() {
    let c = client();
    for (case, raw) in [
        ("empty", String::new()),
        ("no prefix", "grant_123".to_owned()),
        ("too short", "cgrant_abc".to_owned()),
        ("an access token", token(TokenKind::Access).expose().to_owned()),
    ] {
        let (mut store, _log) = store_for(&c);
        store.expect_revoke_grant().never();
        let (svc, _) = service(store);

        let res = svc.revoke_grant(&creds(&c), &meta(), RevokeRequest { grant_id: raw }).await;

        expect_code(res, ErrorCode::InvalidGrant, case);
    }
}

// ---------------------------------------------------------------------------------------------
// GET /token/grants
// ---------------------------------------------------------------------------------------------

/// `n` grants of `client` at positions 10, 20, 30, …
fn rows(client: &ClientId, n: usize) -> Vec<(i64, GrantRecord)> {
    (1..=n).map(|i| (i64::try_from(i).unwrap() * 10, grant_of(client))).collect()
}

#[tokio::test]
async fn the_page_size_must_be_1_to_100() {
    let c = client();
    for limit in [0, 101, u32::MAX] {
        let (mut store, _log) = store_for(&c);
        store.expect_list_active_grants().never();
        let (svc, _) = service(store);

        let res = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit: Some(limit), cursor: None }).await;

        expect_code(res, ErrorCode::InvalidRequest, &format!("limit {limit}"));
    }
    for (limit, asked) in [(None, 51), (Some(1), 2), (Some(100), 101)] {
        let (mut store, _log) = store_for(&c);
        let cid = c.id.clone();
        store
            .expect_list_active_grants()
            .withf(move |client, now, after, l| client == &cid && *now == T0 && after.is_none() && *l == asked)
            .times(1)
            .returning(|_, _, _, _| Ok(Vec::new()));
        let (svc, _) = service(store);

        let page = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit, cursor: None }).await.unwrap();

        assert_eq!(
            (page.count, page.next_cursor),
            (0, None),
            "limit {limit:?}: asks the store for one more than a page"
        );
    }
}

#[tokio::test]
async fn a_cursor_that_was_not_issued_by_the_service_is_invalid_request() {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let c = client();
    for (case, cursor) in [
        ("garbage", "not-a-cursor".to_owned()),
        ("empty", String::new()),
        ("not base64", "%%%".to_owned()),
        ("a negative position", b64("g1:-4")),
        ("another version", b64("g2:40")),
        ("not a number", b64("g1:forty")),
        ("overflowing", b64("g1:99999999999999999999")),
    ] {
        let (mut store, _log) = store_for(&c);
        store.expect_list_active_grants().never();
        let (svc, _) = service(store);

        let res = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit: None, cursor: Some(cursor) }).await;

        expect_code(res, ErrorCode::InvalidRequest, case);
    }
}

#[tokio::test]
async fn a_full_page_has_a_next_cursor_that_continues_after_its_last_grant() {
    let c = client();
    let (mut store, _log) = store_for(&c);
    let page1 = rows(&c.id, 3);
    let page2 = vec![(40, grant_of(&c.id))];
    let first_two: Vec<GrantRecord> = page1.iter().take(2).map(|(_, g)| g.clone()).collect();
    store
        .expect_list_active_grants()
        .withf(|_, _, after, limit| after.is_none() && *limit == 3)
        .times(1)
        .returning(move |_, _, _, _| Ok(page1.clone()));
    store
        .expect_list_active_grants()
        .withf(|_, _, after, limit| *after == Some(20) && *limit == 3)
        .times(1)
        .returning(move |_, _, _, _| Ok(page2.clone()));
    let (svc, _) = service(store);

    let one = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit: Some(2), cursor: None }).await.unwrap();
    let cursor = one.next_cursor.clone().expect("more remain after a full page");
    let two =
        svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit: Some(2), cursor: Some(cursor) }).await.unwrap();

    assert_eq!(one.count, 2, "only `limit` grants");
    let ids: Vec<&str> = one.grants.iter().map(|g| g.grant_id.as_str()).collect();
    let want: Vec<&str> = first_two.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, want, "the first `limit` rows, in order");
    assert_eq!((two.count, two.next_cursor), (1, None), "the last page has no cursor");
}

#[tokio::test]
async fn exactly_a_page_of_grants_has_no_next_cursor() {
    let c = client();
    let (mut store, _log) = store_for(&c);
    let r = rows(&c.id, 2);
    store.expect_list_active_grants().returning(move |_, _, _, _| Ok(r.clone()));
    let (svc, _) = service(store);

    let page = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery { limit: Some(2), cursor: None }).await.unwrap();

    assert_eq!((page.count, page.next_cursor), (2, None));
}

#[tokio::test]
async fn a_listed_grant_shows_its_id_workspace_scopes_and_rfc3339_times() {
    let c = client();
    let g = grant_of(&c.id);
    let (mut store, _log) = store_for(&c);
    let r = vec![(1, g.clone())];
    store.expect_list_active_grants().returning(move |_, _, _, _| Ok(r.clone()));
    let (svc, _) = service(store);

    let page = svc.list_grants(&creds(&c), &meta(), ListGrantsQuery::default()).await.unwrap();

    let s = &page.grants[0];
    assert_eq!(s.grant_id, g.id.to_string());
    assert_eq!(s.workspace_id, g.workspace_id.to_string());
    assert_eq!(s.scopes, "openid users:read portfolios:read");
    assert_eq!(s.created_at, "2026-02-28T12:00:00Z");
    assert_eq!(s.expires_at, "2041-02-24T12:00:00Z");
}
