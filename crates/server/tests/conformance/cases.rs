//! The cases: SPEC §2–§7 as seen through the api traits. Every case takes a fresh [`World`]
//! and speaks to the adapter under test only (`w.api`).

use crate::harness::{expect_code, expect_unauthorized, link, meta, World};
use kc_api::*;
use kc_domain::{ClientMode, Clock, DEFAULT_CLIENT_SCOPES};
use kc_service::NewClient;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const ETH_TEST_ADDRESS: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
const SOL_TEST_ADDRESS: &str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";
const FIFTEEN_YEARS: i64 = 473_040_000;

fn rfc3339(s: &str, what: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{what}: `{s}` is RFC 3339: {e}"))
}

fn integration(provider: &str, address: &str) -> CreateIntegrationRequest {
    CreateIntegrationRequest { provider: provider.to_owned(), address: Some(address.to_owned()), ..Default::default() }
}

pub async fn link_token_for_a_new_user(w: &World) {
    let creds = w.client().await;
    let now = w.app.clock.now();
    let created =
        w.api.create_link_token(&creds, &meta(), CreateLinkTokenRequest::default()).await.expect("link token");
    assert!(created.link_token.starts_with("link_"), "prefix: {}", created.link_token);
    assert!(created.link_token.len() >= 5 + 43, "≥ 256 bits of randomness: {}", created.link_token.len());
    let expires = rfc3339(&created.expires_at, "expires_at");
    assert!((expires - now - Duration::minutes(30)).abs() <= Duration::seconds(1), "30 minutes: {expires} vs {now}");
    assert_eq!(created.user_id, None, "a new user has no id yet");
    assert_eq!(created.workspace_id, None);
    assert_eq!(created.has_existing_grant, None, "a fresh session has no grant");

    let session = w.api.session(&link(&created.link_token), &meta()).await.expect("widget session");
    assert_eq!(session.requested_scopes, DEFAULT_CLIENT_SCOPES, "omitted scopes = the client's allowed scopes");
    assert!(!session.is_authorized, "a new user signs in");
    assert_eq!(session.client.mode, "sandbox");
    assert!(session.user.is_none() && session.workspace.is_none(), "{session:?}");
    assert_eq!(rfc3339(&session.expires_at, "session expires_at"), expires);

    let other = w.link_token(&creds, None).await;
    assert_ne!(other, created.link_token, "every link token is new");
}

pub async fn link_token_scopes(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, Some("openid users:read")).await;
    let session = w.api.session(&link(&token), &meta()).await.expect("session");
    assert_eq!(session.requested_scopes, "openid users:read", "the requested scopes, as asked");

    let grant = w.grant(&creds, Some("openid profile users:read")).await;
    assert_eq!(grant.scope, "openid profile users:read", "the grant carries exactly the approved scopes");
    let checked = w.check(&creds, &grant.access_token).await;
    assert_eq!(checked.granted_scopes.as_deref(), Some("openid profile users:read"));
}

pub async fn invalid_scope(w: &World) {
    let creds = w.client().await;
    for (what, scopes) in
        [("unknown scope", "openid bogus:read"), ("unknown resource action", "portfolios:delete"), ("garbage", "!!!")]
    {
        let req = CreateLinkTokenRequest { scopes: Some(scopes.to_owned()), ..Default::default() };
        expect_code(w.api.create_link_token(&creds, &meta(), req).await, ErrorCode::InvalidScope, what);
    }
    let narrow = w
        .register(NewClient { scopes: Some("openid users:read".to_owned()), ..NewClient::sandbox("Narrow app") })
        .await;
    let req = CreateLinkTokenRequest { scopes: Some("openid portfolios:read".to_owned()), ..Default::default() };
    expect_code(w.api.create_link_token(&narrow, &meta(), req).await, ErrorCode::InvalidScope, "a scope not allowed");
    let session = w.link_token(&narrow, None).await;
    let s = w.api.session(&link(&session), &meta()).await.expect("session");
    assert_eq!(s.requested_scopes, "openid users:read", "omitted = the client's allowed scopes");
}

pub async fn invalid_client(w: &World) {
    let creds = w.client().await;
    let grant = w.grant(&creds, None).await;
    let wrong = ClientCredentials::new(creds.client_id.clone(), "not-the-secret");
    let m = meta();
    let bad = ErrorCode::InvalidClient;
    expect_code(w.api.create_link_token(&wrong, &m, Default::default()).await, bad, "link token, wrong secret");
    let check = CheckSessionRequest { access_token: grant.access_token.clone() };
    expect_code(w.api.check_session(&wrong, &m, check.clone()).await, bad, "check-session, wrong secret");
    let ex = ExchangeRequest { public_token: "public_whatever".to_owned() };
    expect_code(w.api.exchange_public_token(&wrong, &m, ex).await, bad, "exchange, wrong secret");
    let rv = RevokeRequest { grant_id: grant.grant_id.clone() };
    expect_code(w.api.revoke_grant(&wrong, &m, rv).await, bad, "revoke, wrong secret");
    expect_code(w.api.list_grants(&wrong, &m, Default::default()).await, bad, "grants, wrong secret");
    let tl = TransactionLimitRequest { transaction_limit: Some(5), enable_limiter: None };
    expect_code(w.api.set_transaction_limit(&wrong, &m, &grant.grant_id, tl).await, bad, "transaction limit");

    let unknown = ClientCredentials::new("no-such-client", "secret");
    expect_code(w.api.create_link_token(&unknown, &m, Default::default()).await, bad, "unknown client id");

    w.app.service.disable_client(&creds.client_id).await.expect("disable");
    expect_code(w.api.create_link_token(&creds, &m, Default::default()).await, bad, "disabled client");
    expect_code(w.api.check_session(&creds, &m, check).await, bad, "disabled client: check-session");
    let token = BearerToken::new(grant.access_token.clone());
    expect_unauthorized(w.api.userinfo(&creds, &token, &m).await, "disabled client: Data API");
}

pub async fn whole_lifecycle_of_a_new_user(w: &World) {
    let creds = w.client().await;
    let m = meta();
    // 1. The backend creates a link token.
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    // 2. The widget: guest sign-in, providers, an integration, consent, completion.
    let guest = w.api.auth_anonymous(&l, &m).await.expect("guest");
    let session = w.api.session(&l, &m).await.expect("session after sign-in");
    assert_eq!(session.user.as_ref().map(|u| u.user_id.as_str()), Some(guest.user_id.as_str()));
    assert!(session.user.as_ref().is_some_and(|u| u.is_anonymous), "a guest");
    assert_eq!(session.workspace.as_ref().map(|x| x.workspace_id.as_str()), Some(guest.workspace_id.as_str()));
    let providers = w.api.providers(&l, &m).await.expect("providers");
    let mut ids: Vec<&str> = providers.providers.iter().map(|p| p.provider.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ethereum", "solana"], "a sandbox client sees the two test chains only");
    let wallet = w.api.create_integration(&l, &m, integration("ethereum", ETH_TEST_ADDRESS)).await.expect("wallet");
    assert_eq!(wallet.provider, "ethereum");
    assert_eq!(wallet.public_address.as_deref().map(str::to_lowercase).as_deref(), Some(ETH_TEST_ADDRESS));
    let listed = w.api.list_integrations(&l, &m).await.expect("integrations");
    assert_eq!(listed.integrations.len(), 1);
    assert_eq!(listed.integrations[0].wallet_id, wallet.wallet_id);
    let consent = w.api.consent(&l, &m, ConsentRequest { approve: true }).await.expect("consent");
    assert!(consent.approved);
    assert_eq!(consent.granted_scopes, DEFAULT_CLIENT_SCOPES);
    let public = w.api.complete(&l, &m).await.expect("complete").public_token.expect("a public token");
    assert!(public.starts_with("public_"), "{public}");
    // 3. The backend exchanges it.
    let grant = w.exchange(&creds, &public).await.expect("exchange");
    assert!(grant.access_token.starts_with("cat_"), "{}", grant.access_token);
    assert!(grant.grant_id.starts_with("cgrant_"), "{}", grant.grant_id);
    assert_eq!(grant.token_type, "Bearer");
    assert_eq!(grant.expires_in, FIFTEEN_YEARS);
    assert_eq!(grant.scope, DEFAULT_CLIENT_SCOPES);
    assert_eq!(grant.workspace_id, guest.workspace_id);
    // 4. The session is valid and the grant listed.
    let checked = w.check(&creds, &grant.access_token).await;
    assert!(checked.has_valid_session, "{checked:?}");
    assert_eq!(checked.reason, None);
    assert_eq!(checked.user_id.as_deref(), Some(guest.user_id.as_str()));
    assert_eq!(checked.workspace_id.as_deref(), Some(guest.workspace_id.as_str()));
    assert_eq!(checked.grant_id.as_deref(), Some(grant.grant_id.as_str()));
    assert_eq!(checked.granted_scopes.as_deref(), Some(DEFAULT_CLIENT_SCOPES));
    assert!(checked.workspace_name.is_some_and(|n| !n.is_empty()));
    assert_eq!(w.grant_ids(&creds).await, vec![grant.grant_id.clone()]);
    let page = w.api.list_grants(&creds, &m, Default::default()).await.expect("grants");
    let summary = &page.grants[0];
    assert_eq!(summary.workspace_id, guest.workspace_id);
    assert_eq!(summary.scopes, DEFAULT_CLIENT_SCOPES);
    let created = rfc3339(&summary.created_at, "created_at");
    assert_eq!(rfc3339(&summary.expires_at, "expires_at") - created, Duration::seconds(FIFTEEN_YEARS));
    // 5. The Data API answers for the grant.
    let token = BearerToken::new(grant.access_token.clone());
    let me = w.api.userinfo(&creds, &token, &m).await.expect("userinfo");
    assert_eq!(me.user_info.sub, guest.user_id);
    assert!(me.scopes.iter().any(|s| s == "users:read"), "{me:?}");
    let integrations = w.api.integrations(&creds, &token, &m, Default::default()).await.expect("integrations");
    assert_eq!(integrations.user_id, guest.user_id);
    assert_eq!(integrations.pagination.total_count, 1);
    assert_eq!(integrations.data[0].wallet_id, wallet.wallet_id);
    let holdings = w.api.holdings(&creds, &token, &m, Default::default()).await.expect("holdings");
    assert_eq!(holdings.user_id, guest.user_id);
    // 6. Revocation kills the token at once; revoking twice is fine.
    w.revoke(&creds, &grant.grant_id).await.expect("revoke");
    let after = w.check(&creds, &grant.access_token).await;
    assert!(!after.has_valid_session);
    assert_eq!(after.reason.as_deref(), Some("token_revoked"));
    assert!(w.grant_ids(&creds).await.is_empty(), "a revoked grant is not listed");
    expect_unauthorized(w.api.userinfo(&creds, &token, &m).await, "Data API after revocation");
    expect_unauthorized(w.api.holdings(&creds, &token, &m, Default::default()).await, "holdings after revocation");
    w.revoke(&creds, &grant.grant_id).await.expect("revoking twice is not an error");
}

pub async fn public_token_is_exchanged_once(w: &World) {
    let creds = w.client().await;
    let public = w.public_token(&creds, None).await;
    let first = w.exchange(&creds, &public).await.expect("first exchange");
    let again = expect_code(w.exchange(&creds, &public).await, ErrorCode::TokenAlreadyUsed, "second exchange");
    assert!(!again.message.contains(&public), "the message does not echo the token");
    assert_eq!(w.grant_ids(&creds).await, vec![first.grant_id], "one grant");
}

pub async fn concurrent_exchanges_yield_one_access_token(w: &World) {
    let creds = w.client().await;
    let public = w.public_token(&creds, None).await;
    let attempts = (0..6).map(|_| w.exchange(&creds, &public));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "exactly one exchange wins: {results:?}");
    for r in results.into_iter().filter(Result::is_err) {
        expect_code(r, ErrorCode::TokenAlreadyUsed, "a losing concurrent exchange");
    }
    assert_eq!(w.grant_ids(&creds).await.len(), 1, "one grant");
}

pub async fn public_token_expires_after_30_minutes(w: &World) {
    let creds = w.client().await;
    let fresh = w.public_token(&creds, None).await;
    let stale = w.public_token(&creds, None).await;
    w.advance(Duration::minutes(29));
    w.exchange(&creds, &fresh).await.expect("inside 30 minutes");
    w.advance(Duration::minutes(2));
    expect_code(w.exchange(&creds, &stale).await, ErrorCode::TokenExpired, "past 30 minutes");
}

pub async fn bad_public_tokens_are_invalid_token(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let foreign = w.public_token(&other, None).await;
    let grant = w.grant(&creds, None).await;
    let link_token = w.link_token(&creds, None).await;
    for (what, token) in [
        ("unknown", "public_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        ("malformed", "public_".to_owned()),
        ("wrong prefix: an access token", grant.access_token.clone()),
        ("wrong prefix: a link token", link_token),
        ("empty", String::new()),
        ("another client's", foreign.clone()),
    ] {
        expect_code(w.exchange(&creds, &token).await, ErrorCode::InvalidToken, what);
    }
    w.exchange(&other, &foreign).await.expect("a failed foreign attempt does not burn the owner's token");
}

pub async fn returning_user_resumes_the_session(w: &World) {
    let creds = w.client().await;
    let (token, guest) = w.consented(&creds, None).await;
    let public = w.api.complete(&link(&token), &meta()).await.expect("complete").public_token.expect("public");
    let grant = w.exchange(&creds, &public).await.expect("exchange");

    let req = CreateLinkTokenRequest { access_token: Some(grant.access_token.clone()), ..Default::default() };
    let resumed = w.api.create_link_token(&creds, &meta(), req).await.expect("resume");
    assert_eq!(resumed.has_existing_grant, Some(true));
    assert_eq!(resumed.user_id.as_deref(), Some(guest.user_id.as_str()));
    assert_eq!(resumed.workspace_id.as_deref(), Some(guest.workspace_id.as_str()));
    let l = link(&resumed.link_token);
    let session = w.api.session(&l, &meta()).await.expect("session");
    assert!(session.is_authorized, "the widget skips sign-in");
    assert_eq!(session.user.as_ref().map(|u| u.user_id.as_str()), Some(guest.user_id.as_str()));
    expect_code(w.api.auth_anonymous(&l, &meta()).await, ErrorCode::InvalidRequest, "no second sign-in");
    w.api.create_integration(&l, &meta(), integration("solana", SOL_TEST_ADDRESS)).await.expect("more integrations");
    assert!(!session.consent_required, "INTEGRATION only: the grant already holds the requested scopes");
    assert_eq!(session.consent_scopes, "", "nothing to approve");
    let done = w.api.complete(&l, &meta()).await.expect("complete without consent");
    assert_eq!(done.public_token, None, "a returning user gets no new token");
    assert_eq!(w.grant_ids(&creds).await, vec![grant.grant_id.clone()], "still one grant");
    let token = BearerToken::new(grant.access_token);
    let page = w.api.integrations(&creds, &token, &meta(), Default::default()).await.expect("integrations");
    assert_eq!(page.pagination.total_count, 1, "the new integration is in the same workspace");
}

pub async fn dead_access_token_cannot_resume(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let revoked = w.grant(&creds, None).await;
    w.revoke(&creds, &revoked.grant_id).await.expect("revoke");
    let foreign = w.grant(&other, None).await;
    let public = w.public_token(&creds, None).await;
    for (what, token) in [
        ("revoked", revoked.access_token),
        ("another client's", foreign.access_token),
        ("unknown", "cat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        ("wrong prefix", public),
        ("garbage", "nonsense".to_owned()),
    ] {
        let req = CreateLinkTokenRequest { access_token: Some(token), ..Default::default() };
        expect_code(w.api.create_link_token(&creds, &meta(), req).await, ErrorCode::InvalidToken, what);
    }
}

pub async fn check_session_reasons(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let live = w.grant(&creds, None).await;
    let revoked = w.grant(&creds, None).await;
    w.revoke(&creds, &revoked.grant_id).await.expect("revoke");
    let foreign = w.grant(&other, None).await;
    assert!(w.check(&creds, &live.access_token).await.has_valid_session);
    for (what, token, reason) in [
        ("revoked", revoked.access_token.as_str(), "token_revoked"),
        ("another client's", foreign.access_token.as_str(), "invalid_token"),
        ("unknown", "cat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "invalid_token"),
        ("wrong prefix", "link_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "invalid_token"),
        ("empty", "", "invalid_token"),
    ] {
        let c = w.check(&creds, token).await;
        assert!(!c.has_valid_session, "{what}: {c:?}");
        assert_eq!(c.reason.as_deref(), Some(reason), "{what}");
        assert!(c.user_id.is_none() && c.grant_id.is_none(), "{what}: nothing leaks: {c:?}");
    }
}

pub async fn access_token_expires_after_15_years(w: &World) {
    let creds = w.client().await;
    let grant = w.grant(&creds, None).await;
    w.advance(Duration::seconds(FIFTEEN_YEARS - 60));
    assert!(w.check(&creds, &grant.access_token).await.has_valid_session, "alive just before 15 years");
    w.advance(Duration::seconds(120));
    let c = w.check(&creds, &grant.access_token).await;
    assert!(!c.has_valid_session);
    assert_eq!(c.reason.as_deref(), Some("token_expired"));
    let token = BearerToken::new(grant.access_token);
    expect_unauthorized(w.api.userinfo(&creds, &token, &meta()).await, "Data API with an expired token");
}

pub async fn revoke_rules(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let mine = w.grant(&creds, None).await;
    let theirs = w.grant(&other, None).await;
    for (what, id) in [
        ("unknown", "cgrant_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("malformed", "not-a-grant"),
        ("another client's", theirs.grant_id.as_str()),
    ] {
        expect_code(w.revoke(&creds, id).await, ErrorCode::InvalidGrant, what);
    }
    assert!(w.check(&other, &theirs.access_token).await.has_valid_session, "a foreign attempt changes nothing");
    w.revoke(&creds, &mine.grant_id).await.expect("revoke");
    w.revoke(&creds, &mine.grant_id).await.expect("twice");
    let t = TransactionLimitRequest { transaction_limit: Some(1), enable_limiter: None };
    expect_code(
        w.api.set_transaction_limit(&creds, &meta(), &mine.grant_id, t).await,
        ErrorCode::InvalidGrant,
        "a revoked grant",
    );
}

pub async fn grants_are_listed_per_client_and_paged(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(w.grant(&creds, None).await.grant_id);
    }
    let theirs = w.grant(&other, None).await.grant_id;
    let m = meta();
    let first = w.api.list_grants(&creds, &m, ListGrantsQuery { limit: Some(2), cursor: None }).await.expect("page 1");
    assert_eq!(first.count, 2);
    let cursor = first.next_cursor.clone().expect("more remain");
    let second =
        w.api.list_grants(&creds, &m, ListGrantsQuery { limit: Some(2), cursor: Some(cursor) }).await.expect("page 2");
    assert_eq!(second.count, 1);
    assert_eq!(second.next_cursor, None, "the last page");
    let listed: Vec<String> = first.grants.iter().chain(&second.grants).map(|g| g.grant_id.clone()).collect();
    assert_eq!(listed, mine, "oldest first, each once");
    assert!(!listed.contains(&theirs), "only this client's grants");
    assert_eq!(w.grant_ids(&other).await, vec![theirs]);
    for (what, q) in [
        ("limit 0", ListGrantsQuery { limit: Some(0), cursor: None }),
        ("limit 101", ListGrantsQuery { limit: Some(101), cursor: None }),
        ("a garbage cursor", ListGrantsQuery { limit: None, cursor: Some("garbage!".to_owned()) }),
    ] {
        expect_code(w.api.list_grants(&creds, &m, q).await, ErrorCode::InvalidRequest, what);
    }
}

pub async fn link_token_dies_when_the_widget_completes(w: &World) {
    let creds = w.client().await;
    let (token, _) = w.consented(&creds, None).await;
    let l = link(&token);
    w.api.complete(&l, &meta()).await.expect("complete");
    let used = ErrorCode::TokenAlreadyUsed;
    expect_code(w.api.session(&l, &meta()).await, used, "session after completion");
    expect_code(w.api.complete(&l, &meta()).await, used, "a second completion");
    expect_code(w.api.consent(&l, &meta(), ConsentRequest { approve: true }).await, used, "consent after completion");
    expect_code(w.api.providers(&l, &meta()).await, used, "providers after completion");
    let req = integration("ethereum", ETH_TEST_ADDRESS);
    expect_code(w.api.create_integration(&l, &meta(), req).await, used, "integration after completion");
}

pub async fn integrations_are_removed_from_the_sessions_workspace_only(w: &World) {
    let creds = w.client().await;
    let invalid = ErrorCode::InvalidRequest;
    let fresh = link(&w.link_token(&creds, None).await);
    expect_code(w.api.delete_integration(&fresh, &meta(), "wal_00").await, invalid, "before sign-in");

    let (token, _) = w.consented(&creds, None).await;
    let l = link(&token);
    let eth = w.api.create_integration(&l, &meta(), integration("ethereum", ETH_TEST_ADDRESS)).await.expect("eth");
    let sol = w.api.create_integration(&l, &meta(), integration("solana", SOL_TEST_ADDRESS)).await.expect("sol");
    let (other, _) = w.consented(&creds, None).await;
    let foreign =
        w.api.create_integration(&link(&other), &meta(), integration("ethereum", ETH_TEST_ADDRESS)).await.expect("x");

    let missing = ErrorCode::WorkspaceNotFound;
    expect_code(w.api.delete_integration(&l, &meta(), &foreign.wallet_id).await, missing, "another workspace's");
    expect_code(w.api.delete_integration(&l, &meta(), "wal_0123456789abcdef").await, missing, "an unknown wallet");
    w.api.delete_integration(&l, &meta(), &eth.wallet_id).await.expect("remove");
    expect_code(w.api.delete_integration(&l, &meta(), &eth.wallet_id).await, missing, "a second removal");
    let listed = w.api.list_integrations(&l, &meta()).await.expect("list");
    let ids: Vec<&str> = listed.integrations.iter().map(|i| i.wallet_id.as_str()).collect();
    assert_eq!(ids, [sol.wallet_id.as_str()], "only the other wallet is left");
    let theirs = w.api.list_integrations(&link(&other), &meta()).await.expect("list");
    assert_eq!(theirs.integrations.len(), 1, "the other workspace keeps its wallet");

    w.api.complete(&l, &meta()).await.expect("complete");
    let used = ErrorCode::TokenAlreadyUsed;
    expect_code(w.api.delete_integration(&l, &meta(), &sol.wallet_id).await, used, "after completion");
}

pub async fn link_token_expires_after_30_minutes(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    w.advance(Duration::minutes(29));
    w.api.session(&l, &meta()).await.expect("inside 30 minutes");
    w.advance(Duration::minutes(2));
    expect_code(w.api.session(&l, &meta()).await, ErrorCode::TokenExpired, "session past 30 minutes");
    expect_code(w.api.auth_anonymous(&l, &meta()).await, ErrorCode::TokenExpired, "sign-in past 30 minutes");
}

pub async fn bad_link_tokens_are_invalid_token(w: &World) {
    let creds = w.client().await;
    let grant = w.grant(&creds, None).await;
    for (what, token) in [
        ("unknown", "link_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("malformed", "link_"),
        ("wrong prefix", grant.access_token.as_str()),
        ("empty", ""),
    ] {
        expect_code(w.api.session(&link(token), &meta()).await, ErrorCode::InvalidToken, what);
        expect_code(w.api.complete(&link(token), &meta()).await, ErrorCode::InvalidToken, what);
    }
}

pub async fn widget_steps_run_in_order(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    let m = meta();
    let bad = ErrorCode::InvalidRequest;
    expect_code(w.api.consent(&l, &m, ConsentRequest { approve: true }).await, bad, "consent before sign-in");
    expect_code(w.api.complete(&l, &m).await, bad, "complete before sign-in");
    w.api.auth_anonymous(&l, &m).await.expect("guest");
    expect_code(w.api.auth_anonymous(&l, &m).await, bad, "a second sign-in");
    expect_code(w.api.complete(&l, &m).await, bad, "complete before consent");
    w.api.consent(&l, &m, ConsentRequest { approve: true }).await.expect("consent");
    w.api.complete(&l, &m).await.expect("complete").public_token.expect("public token");
}

pub async fn denied_consent_ends_the_session(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    w.api.auth_anonymous(&l, &meta()).await.expect("guest");
    let denied = w.api.consent(&l, &meta(), ConsentRequest { approve: false }).await.expect("deny");
    assert!(!denied.approved);
    assert_eq!(denied.granted_scopes, "");
    expect_code(w.api.complete(&l, &meta()).await, ErrorCode::TokenAlreadyUsed, "complete after a denial");
    assert!(w.grant_ids(&creds).await.is_empty(), "no grant");
}

pub async fn workspace_selection_errors(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    let guest = w.api.auth_anonymous(&l, &meta()).await.expect("guest");
    let unknown = SelectWorkspaceRequest { workspace_id: "00000000-0000-4000-8000-000000000000".to_owned() };
    expect_code(w.api.select_workspace(&l, &meta(), unknown).await, ErrorCode::WorkspaceNotFound, "unknown");
    let garbage = SelectWorkspaceRequest { workspace_id: "garbage".to_owned() };
    expect_code(w.api.select_workspace(&l, &meta(), garbage).await, ErrorCode::WorkspaceNotFound, "malformed id");
    // A workspace the guest is a plain member of (no API creates one: a fixture).
    let team = w.team_workspace_with_member(&guest.user_id).await;
    let member = SelectWorkspaceRequest { workspace_id: team };
    expect_code(w.api.select_workspace(&l, &meta(), member).await, ErrorCode::InsufficientPermissions, "member only");
    let own = SelectWorkspaceRequest { workspace_id: guest.workspace_id.clone() };
    let chosen = w.api.select_workspace(&l, &meta(), own).await.expect("the guest's own workspace");
    assert_eq!(chosen.workspace_id, guest.workspace_id);
}

pub async fn sandbox_rules(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    let l = link(&token);
    w.api.auth_anonymous(&l, &meta()).await.expect("guest");
    let exchange = CreateIntegrationRequest {
        provider: "binance".to_owned(),
        api_key: Some("key".to_owned()),
        secret_key: Some("secret".to_owned()),
        ..Default::default()
    };
    let provider = ErrorCode::SandboxProviderNotAllowed;
    expect_code(w.api.create_integration(&l, &meta(), exchange).await, provider, "an exchange");
    let btc = integration("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
    expect_code(w.api.create_integration(&l, &meta(), btc).await, provider, "bitcoin");
    let address = ErrorCode::SandboxAddressNotAllowed;
    let eth = integration("ethereum", "0x0000000000000000000000000000000000000001");
    expect_code(w.api.create_integration(&l, &meta(), eth).await, address, "another ethereum address");
    let upper = integration("ethereum", "0x47C2E31E9CE22437BCF6313D2B9E98245A7BFCFA");
    w.api.create_integration(&l, &meta(), upper).await.expect("the test address, compared case-insensitively");
    w.api.create_integration(&l, &meta(), integration("solana", SOL_TEST_ADDRESS)).await.expect("solana test address");

    let production = w.register(NewClient { mode: ClientMode::Production, ..NewClient::sandbox("Prod app") }).await;
    let token = w.link_token(&production, None).await;
    let pl = link(&token);
    w.api.auth_anonymous(&pl, &meta()).await.expect("guest");
    let providers = w.api.providers(&pl, &meta()).await.expect("providers");
    assert!(providers.providers.len() > 2, "production clients see every provider");
    let eth = integration("ethereum", "0x0000000000000000000000000000000000000001");
    w.api.create_integration(&pl, &meta(), eth).await.expect("any address in production");
}

pub async fn data_api_enforces_scopes(w: &World) {
    let creds = w.client().await;
    let narrow = w.grant(&creds, Some("openid profile")).await;
    let token = BearerToken::new(narrow.access_token);
    let m = meta();
    let forbidden = ErrorCode::InsufficientPermissions;
    let e = expect_code(w.api.userinfo(&creds, &token, &m).await, forbidden, "userinfo without users:read");
    assert_eq!(e.message, "Insufficient scopes. Required scopes not met");
    expect_code(w.api.integrations(&creds, &token, &m, Default::default()).await, forbidden, "integrations");
    expect_code(w.api.holdings(&creds, &token, &m, Default::default()).await, forbidden, "holdings");

    let users = w.grant(&creds, Some("openid users:read")).await;
    let token = BearerToken::new(users.access_token);
    let me = w.api.userinfo(&creds, &token, &m).await.expect("userinfo");
    assert_eq!(me.user_info.name, None, "no `profile`, no name");
    assert_eq!(me.user_info.email, None, "no `email`, no email");
    assert_eq!(me.scopes, ["openid", "users:read"]);

    let full = w.grant(&creds, None).await;
    let token = BearerToken::new(full.access_token);
    for (what, page, size) in
        [("page 0", Some(0), None), ("pageSize 0", None, Some(0)), ("pageSize 201", None, Some(201))]
    {
        let q = IntegrationsQuery { page, page_size: size, searched_key: None };
        expect_code(w.api.integrations(&creds, &token, &m, q).await, ErrorCode::InvalidRequest, what);
    }
    let q = IntegrationsQuery { page: Some(1), page_size: Some(200), searched_key: Some("nothing-matches".to_owned()) };
    let page = w.api.integrations(&creds, &token, &m, q).await.expect("a search");
    assert_eq!(page.pagination.total_count, 0);
    assert!(!page.pagination.has_next_page && !page.pagination.has_previous_page);
}

pub async fn data_api_rejects_dead_and_foreign_tokens(w: &World) {
    let creds = w.client().await;
    let other = w.register(NewClient::sandbox("Other app")).await;
    let grant = w.grant(&creds, None).await;
    let token = BearerToken::new(grant.access_token.clone());
    let m = meta();
    expect_unauthorized(w.api.userinfo(&other, &token, &m).await, "a token with another client's credentials");
    let wrong = ClientCredentials::new(creds.client_id.clone(), "wrong");
    expect_unauthorized(w.api.userinfo(&wrong, &token, &m).await, "wrong client secret");
    for (what, t) in [
        ("unknown", "cat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("wrong prefix", "link_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("garbage", "garbage"),
    ] {
        expect_unauthorized(w.api.userinfo(&creds, &BearerToken::new(t), &m).await, what);
    }
    w.api.userinfo(&creds, &token, &m).await.expect("the owner's call still works");
}

pub async fn developer_endpoints(w: &World) {
    let creds = w.client().await;
    let (token, guest) = w.consented(&creds, None).await;
    let l = link(&token);
    let wallet =
        w.api.create_integration(&l, &meta(), integration("ethereum", ETH_TEST_ADDRESS)).await.expect("wallet");
    let public = w.api.complete(&l, &meta()).await.expect("complete").public_token.expect("public");
    let grant = w.exchange(&creds, &public).await.expect("exchange");
    let m = meta();

    let limit = TransactionLimitRequest { transaction_limit: Some(500), enable_limiter: Some(true) };
    let set = w.api.set_transaction_limit(&creds, &m, &grant.grant_id, limit).await.expect("limit");
    assert_eq!(set.grant_id, grant.grant_id);
    assert_eq!(set.user_id, guest.user_id);
    assert_eq!(set.transaction_limit, Some(500));
    assert!(set.enable_limiter);
    let me = w.api.userinfo(&creds, &BearerToken::new(grant.access_token.clone()), &m).await.expect("userinfo");
    assert_eq!(me.user_info.transaction_limit, Some(500), "userinfo shows the limit");
    let empty = TransactionLimitRequest::default();
    let bad = ErrorCode::InvalidRequest;
    expect_code(w.api.set_transaction_limit(&creds, &m, &grant.grant_id, empty).await, bad, "neither field");
    let negative = TransactionLimitRequest { transaction_limit: Some(-1), enable_limiter: None };
    expect_code(w.api.set_transaction_limit(&creds, &m, &grant.grant_id, negative).await, bad, "a negative limit");
    let unknown = TransactionLimitRequest { transaction_limit: Some(1), enable_limiter: None };
    expect_code(
        w.api.set_transaction_limit(&creds, &m, "cgrant_nope", unknown).await,
        ErrorCode::InvalidGrant,
        "unknown",
    );

    let resync = |mode: &str| ResyncRequest { user_id: guest.user_id.clone(), mode: mode.to_owned() };
    let queued = w.api.resync(&creds, &m, &wallet.wallet_id, resync("latest")).await.expect("resync");
    assert_eq!(queued.status, "queued");
    assert_eq!(queued.wallet_id, wallet.wallet_id);
    assert_eq!(queued.mode, "latest");
    expect_code(w.api.resync(&creds, &m, &wallet.wallet_id, resync("sometimes")).await, bad, "a bad mode");
    let nf = ErrorCode::WorkspaceNotFound;
    expect_code(w.api.resync(&creds, &m, "no-such-wallet", resync("from_start")).await, nf, "an unknown wallet");
    let other = w.register(NewClient::sandbox("Other app")).await;
    expect_code(w.api.resync(&other, &m, &wallet.wallet_id, resync("latest")).await, nf, "another client's user");
}

pub async fn email_sign_in_rejects_malformed_addresses(w: &World) {
    let creds = w.client().await;
    let token = w.link_token(&creds, None).await;
    for email in ["", "not-an-address", "a@", "@b.example"] {
        let req = EmailStartRequest { email: email.to_owned() };
        expect_code(w.api.email_start(&link(&token), &meta(), req).await, ErrorCode::InvalidRequest, email);
    }
}

pub async fn health_and_public_providers(w: &World) {
    w.api.ready().await.expect("ready");
    let providers = w.api.public_providers().await.expect("providers");
    for id in ["ethereum", "solana", "binance"] {
        let p = providers.iter().find(|p| p.id == id).unwrap_or_else(|| panic!("{id} is listed"));
        assert!(!p.public_name.is_empty() && !p.kind.is_empty(), "{p:?}");
    }
    let creds = w
        .register(NewClient { origins: vec!["https://app.example".to_owned()], ..NewClient::sandbox("Web app") })
        .await;
    assert_eq!(w.api.client_origins(&creds.client_id).await.expect("origins"), vec!["https://app.example"]);
    assert!(w.api.client_origins("no-such-client").await.expect("origins").is_empty());
    assert!(w.api.is_registered_origin("https://app.example").await.expect("registered"));
    assert!(!w.api.is_registered_origin("https://evil.example").await.expect("not registered"));
}
