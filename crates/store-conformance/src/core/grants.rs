//! [`GrantStore`](kc_ports::store::GrantStore): the exactly-once exchange, lookups, limits,
//! revocation.

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{GrantId, GrantStatus, OsSecretRng, TokenKind, TokenRefusal, WebhookEvent};
use kc_ports::store::{ExchangeOutcome, GrantLimits, RevokeOutcome, StoreError};

/// An exchange consumes the public token once: the grant is the token's (user, workspace,
/// scopes) with the issued id and lifetime, its access token finds it, and a second exchange
/// is `AlreadyUsed`.
pub async fn exchange_is_exactly_once<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (public, signed) = public_token(&s, &c.id, "openid transactions:read").await;
    let i = issue();
    let g = match must(s.exchange_public_token(&public, &c.id, at(20), &i).await, "exchange_public_token") {
        ExchangeOutcome::Issued(g) => g,
        other => panic!("the first exchange must be Issued, got {other:?}"),
    };
    assert_eq!(
        (g.id.clone(), g.client_id.clone(), g.user_id.clone(), g.workspace_id.clone()),
        (i.grant_id.clone(), c.id.clone(), signed.user.clone(), signed.workspace.clone())
    );
    assert_eq!(
        (g.scopes.to_string(), g.created_at, g.expires_at, g.revoked_at),
        ("openid transactions:read".to_owned(), i.created_at, i.expires_at, None)
    );
    assert_eq!(must(s.find_grant(&g.id).await, "find_grant"), Some(g.clone()), "find_grant returns the issued grant");
    let found = must(s.find_access_token(&i.access_digest).await, "find_access_token")
        .unwrap_or_else(|| panic!("the access token is not found"));
    assert_eq!((found.grant, found.token_expires_at), (g.clone(), i.expires_at), "the access token finds its grant");
    assert!(
        must(s.client_grant_for(&c.id, &signed.user, &signed.workspace, at(21)).await, "client_grant_for"),
        "the client holds a grant of the user over the workspace"
    );
    let again = must(s.exchange_public_token(&public, &c.id, at(21), &issue()).await, "exchange_public_token");
    assert_eq!(again, ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed), "a second exchange is AlreadyUsed");
    assert!(
        must(s.find_access_token(&digest(TokenKind::Access)).await, "find_access_token").is_none(),
        "an unknown access token is None"
    );
}

/// Refusals are classified foreign (`Invalid`) before used before expired, an unknown token is
/// `Invalid`, and a refused exchange writes nothing.
pub async fn exchange_refusals_are_classified<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    let try_exchange = |public: kc_domain::TokenDigest, who: kc_domain::ClientId, t: i64| {
        let s = s.clone();
        async move {
            let i = issue();
            let out = must(s.exchange_public_token(&public, &who, at(t), &i).await, "exchange_public_token");
            if let ExchangeOutcome::Refused(_) = out {
                assert!(
                    must(s.find_grant(&i.grant_id).await, "find_grant").is_none(),
                    "a refused exchange created a grant"
                );
                assert!(
                    must(s.find_access_token(&i.access_digest).await, "find_access_token").is_none(),
                    "a refused exchange created an access token"
                );
            }
            out
        }
    };
    assert_eq!(
        try_exchange(digest(TokenKind::Public), c.id.clone(), 20).await,
        ExchangeOutcome::Refused(TokenRefusal::Invalid),
        "an unknown token is Invalid"
    );
    let (fresh, _) = public_token(&s, &c.id, "openid").await;
    assert_eq!(
        try_exchange(fresh.clone(), other.id.clone(), 20).await,
        ExchangeOutcome::Refused(TokenRefusal::Invalid),
        "another client's token is Invalid"
    );
    assert_eq!(
        try_exchange(fresh.clone(), c.id.clone(), 1800).await,
        ExchangeOutcome::Refused(TokenRefusal::Expired),
        "a token at its expiry is Expired"
    );
    assert_eq!(
        try_exchange(fresh.clone(), other.id.clone(), 1800).await,
        ExchangeOutcome::Refused(TokenRefusal::Invalid),
        "a foreign expired token is Invalid"
    );
    assert!(
        matches!(try_exchange(fresh.clone(), c.id.clone(), 1799).await, ExchangeOutcome::Issued(_)),
        "the refusals did not consume the token"
    );
    assert_eq!(
        try_exchange(fresh.clone(), c.id.clone(), 1800).await,
        ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed),
        "a used token is AlreadyUsed, even once expired"
    );
    assert_eq!(
        try_exchange(fresh, other.id.clone(), 20).await,
        ExchangeOutcome::Refused(TokenRefusal::Invalid),
        "a foreign used token is Invalid"
    );
}

/// Of many concurrent exchanges of one token exactly one is `Issued` (one grant, one
/// `grant.created` per endpoint), every other `AlreadyUsed`.
pub async fn exchange_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[], 0).await;
    let (public, _) = public_token(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |n| {
        let (s, public, id, i) = (s.clone(), public.clone(), c.id.clone(), issue());
        async move { (s.exchange_public_token(&public, &id, at(20 + n), &i).await, i) }
    })
    .await;
    let (mut issued, mut losers) = (Vec::new(), Vec::new());
    for (out, i) in outcomes {
        match must(out, "exchange_public_token") {
            ExchangeOutcome::Issued(g) => issued.push(g),
            ExchangeOutcome::Refused(r) => {
                assert_eq!(r, TokenRefusal::AlreadyUsed, "a losing exchange is AlreadyUsed");
                losers.push(i);
            }
        }
    }
    assert_eq!(issued.len(), 1, "exactly one of {RACERS} concurrent exchanges is Issued");
    for i in losers {
        assert!(must(s.find_grant(&i.grant_id).await, "find_grant").is_none(), "a losing exchange left a grant");
    }
    let created = delivery_events(&s, &c.id).await;
    assert_eq!(created.len(), 1, "exactly one grant.created delivery: {created:?}");
}

/// The hot path's exchange appends the audit event (with the token's user) in the same step;
/// a refused one appends nothing.
pub async fn exchange_and_audit_is_one_step<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::GrantCreated], 0).await;
    let (public, signed) = public_token(&s, &c.id, "openid").await;
    let event = kc_ports::store::AuditEvent {
        at: at(20),
        kind: "token.exchange".into(),
        outcome: "success".into(),
        client_id: Some(c.id.to_string()),
        grant_id: None,
        user_id: None,
        ip: Some("10.1.2.3".into()),
        request_id: Some("req-1".into()),
        detail: None,
    };
    let i = issue();
    match must(s.exchange_and_audit(&public, &c.id, at(20), &i, &event).await, "exchange_and_audit") {
        ExchangeOutcome::Issued(g) => assert_eq!((g.id, g.user_id), (i.grant_id.clone(), signed.user.clone())),
        other => panic!("expected Issued, got {other:?}"),
    }
    let again = must(s.exchange_and_audit(&public, &c.id, at(21), &issue(), &event).await, "exchange_and_audit");
    assert_eq!(again, ExchangeOutcome::Refused(TokenRefusal::AlreadyUsed));
    let unknown = must(
        s.exchange_and_audit(&digest(TokenKind::Public), &c.id, at(21), &issue(), &event).await,
        "exchange_and_audit",
    );
    assert_eq!(unknown, ExchangeOutcome::Refused(TokenRefusal::Invalid));
    let trail = must(s.list_audit(Some(c.id.to_string()), None, 100).await, "list_audit");
    let expected = kc_ports::store::AuditEvent { user_id: Some(signed.user.to_string()), ..event };
    assert_eq!(trail, vec![expected], "exactly the successful exchange is audited, with the token's user");
    assert_eq!(delivery_events(&s, &c.id).await.len(), 1, "and its grant.created enqueued");
    let found = must(s.find_access_token(&i.access_digest).await, "find_access_token")
        .unwrap_or_else(|| panic!("no access token"));
    assert_eq!(found.grant.id, i.grant_id);
}

/// An exchange whose new grant id is taken is `Conflict` and consumes nothing: the token can
/// be exchanged afterwards.
pub async fn exchange_conflict_consumes_nothing<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (taken, _, _) = grant(&s, &c.id, "openid").await;
    let (public, _) = public_token(&s, &c.id, "openid").await;
    let mut clash = issue();
    clash.grant_id = taken.id.clone();
    match s.exchange_public_token(&public, &c.id, at(30), &clash).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("an exchange creating a taken grant id must be Conflict, got {other:?}"),
    }
    assert!(
        must(s.find_access_token(&clash.access_digest).await, "find_access_token").is_none(),
        "the failed exchange stored no access token"
    );
    assert!(
        matches!(
            must(s.exchange_public_token(&public, &c.id, at(31), &issue()).await, "exchange_public_token"),
            ExchangeOutcome::Issued(_)
        ),
        "the failed exchange consumed nothing"
    );
}

/// Revocation happens once (`Revoked` with its time, then `AlreadyRevoked`), only by the
/// grant's client (`NotFound` otherwise), enqueues `grant.revoked`, and every read sees it.
pub async fn revocation_is_seen_everywhere<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::GrantRevoked], 0).await;
    let (g, access, signed) = grant(&s, &c.id, "openid").await;
    assert_eq!(
        must(s.revoke_grant(&g.id, &other.id, at(40)).await, "revoke_grant"),
        RevokeOutcome::NotFound,
        "another client's revocation is NotFound"
    );
    assert_eq!(
        must(s.revoke_grant(&GrantId::generate(&OsSecretRng), &c.id, at(40)).await, "revoke_grant"),
        RevokeOutcome::NotFound
    );
    match must(s.revoke_grant(&g.id, &c.id, at(41)).await, "revoke_grant") {
        RevokeOutcome::Revoked(r) => {
            assert_eq!((r.id, r.revoked_at), (g.id.clone(), Some(at(41))), "Revoked carries the grant as revoked")
        }
        other => panic!("the first revocation must be Revoked, got {other:?}"),
    }
    assert_eq!(must(s.revoke_grant(&g.id, &c.id, at(42)).await, "revoke_grant"), RevokeOutcome::AlreadyRevoked);
    let found = must(s.find_access_token(&access).await, "find_access_token")
        .unwrap_or_else(|| panic!("a revoked grant's token is still found"));
    assert_eq!(
        (found.grant.revoked_at, found.grant.status_at(at(43))),
        (Some(at(41)), GrantStatus::Revoked),
        "the token's grant reads revoked"
    );
    assert!(
        !must(s.client_grant_for(&c.id, &signed.user, &signed.workspace, at(43)).await, "client_grant_for"),
        "a revoked grant is not held"
    );
    assert!(
        must(s.list_active_grants(&c.id, at(43), None, 10).await, "list_active_grants").is_empty(),
        "a revoked grant is not listed"
    );
    let admit = |_: &kc_domain::ClientRecord| true;
    let hot = must(
        s.client_access(&c.id, Some(&access), kc_ports::store::AccessDetail::Grant, at(43), &admit).await,
        "client_access",
    );
    let token =
        hot.and_then(|a| a.token).unwrap_or_else(|| panic!("the hot path must still find the revoked grant's token"));
    assert_eq!(token.grant.status_at(at(43)), GrantStatus::Revoked, "the hot-path read sees the revocation at once");
    let events = delivery_events(&s, &c.id).await;
    assert_eq!(
        events.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        vec!["grant.revoked"],
        "one grant.revoked, nothing for the refused calls"
    );
    let sent = drain(&s, at(50)).await;
    let data: serde_json::Value =
        serde_json::from_str(&sent[0].data_json).unwrap_or_else(|e| panic!("payload is not JSON: {e}"));
    assert_eq!((data["grant_id"].as_str(), data["uid"].as_str()), (Some(g.id.as_str()), Some(signed.user.as_str())));
    assert!(data["revoked_at"].is_string(), "grant.revoked carries revoked_at: {data}");
}

/// Limits read back as set (each `Some` field written); an unknown grant answers `false`/`None`.
pub async fn grant_limits_roundtrip<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (g, _, _) = grant(&s, &c.id, "openid").await;
    let unknown = GrantId::generate(&OsSecretRng);
    assert_eq!(
        must(s.grant_limits(&g.id).await, "grant_limits"),
        Some(GrantLimits { transaction_limit: None, enable_limiter: false }),
        "a new grant has no limits"
    );
    assert!(must(s.set_grant_limits(&g.id, Some(Some(500)), None).await, "set_grant_limits"));
    assert!(must(s.set_grant_limits(&g.id, None, Some(true)).await, "set_grant_limits"));
    assert_eq!(
        must(s.grant_limits(&g.id).await, "grant_limits"),
        Some(GrantLimits { transaction_limit: Some(500), enable_limiter: true }),
        "each field is written on its own"
    );
    assert!(must(s.set_grant_limits(&g.id, Some(None), None).await, "set_grant_limits"));
    assert!(
        must(s.set_grant_limits(&g.id, None, None).await, "set_grant_limits"),
        "writing nothing on a grant answers true"
    );
    assert_eq!(
        must(s.grant_limits(&g.id).await, "grant_limits"),
        Some(GrantLimits { transaction_limit: None, enable_limiter: true })
    );
    assert!(
        !must(s.set_grant_limits(&unknown, Some(Some(1)), None).await, "set_grant_limits"),
        "an unknown grant answers false"
    );
    assert!(!must(s.set_grant_limits(&unknown, None, None).await, "set_grant_limits"), "even writing nothing");
    assert_eq!(must(s.grant_limits(&unknown).await, "grant_limits"), None);

    // The workspace's cap: a live grant with its limiter on and a limit.
    let cap = |now: i64| {
        let (s, ws) = (&s, g.workspace_id.clone());
        async move { must(s.workspace_transaction_limit(&ws, at(now)).await, "workspace_transaction_limit") }
    };
    assert_eq!(cap(30).await, None, "the limiter is on but no limit is set");
    assert!(must(s.set_grant_limits(&g.id, Some(Some(250)), None).await, "set_grant_limits"));
    assert_eq!(cap(30).await, Some(250));
    assert_eq!(cap(365 * 86_400).await, None, "an expired grant limits nothing");
    assert!(must(s.set_grant_limits(&g.id, None, Some(false)).await, "set_grant_limits"));
    assert_eq!(cap(30).await, None, "the limiter off");
    assert!(must(s.set_grant_limits(&g.id, None, Some(true)).await, "set_grant_limits"));
    let (other, _, _) = grant(&s, &c.id, "openid").await;
    assert_eq!(
        must(s.workspace_transaction_limit(&other.workspace_id, at(30)).await, "workspace_transaction_limit"),
        None,
        "another workspace is not limited by it"
    );
    assert!(matches!(must(s.revoke_grant(&g.id, &c.id, at(31)).await, "revoke_grant"), RevokeOutcome::Revoked(_)));
    assert_eq!(cap(32).await, None, "a revoked grant limits nothing");
}

/// Active grants list oldest first in pages by position; expired and revoked ones and other
/// clients' are left out.
pub async fn active_grants_page_in_order<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(grant(&s, &c.id, "openid").await.0.id);
    }
    grant(&s, &other.id, "openid").await;
    must(s.revoke_grant(&ids[1], &c.id, at(30)).await, "revoke_grant");
    let first = must(s.list_active_grants(&c.id, at(31), None, 2).await, "list_active_grants");
    assert_eq!(
        first.iter().map(|(_, g)| g.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone(), ids[2].clone()],
        "the first page, oldest first, revoked left out"
    );
    let after = first[1].0;
    let second = must(s.list_active_grants(&c.id, at(31), Some(after), 2).await, "list_active_grants");
    assert_eq!(
        second.iter().map(|(_, g)| g.id.clone()).collect::<Vec<_>>(),
        vec![ids[3].clone()],
        "the next page starts after the position"
    );
    assert!(first[0].0 < first[1].0 && first[1].0 < second[0].0, "positions increase");
    let expired = must(s.list_active_grants(&c.id, at(365 * 86_400), None, 10).await, "list_active_grants");
    assert!(expired.is_empty(), "grants at their expiry are not active");
}

/// Of many concurrent revocations of one grant exactly one is `Revoked` (one `grant.revoked`).
pub async fn revocation_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::GrantRevoked], 0).await;
    let (g, _, _) = grant(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |n| {
        let (s, id, client) = (s.clone(), g.id.clone(), c.id.clone());
        async move { s.revoke_grant(&id, &client, at(30 + n)).await }
    })
    .await;
    let mut revoked = 0;
    for out in outcomes {
        match must(out, "revoke_grant") {
            RevokeOutcome::Revoked(_) => revoked += 1,
            RevokeOutcome::AlreadyRevoked => {}
            RevokeOutcome::NotFound => panic!("a concurrent revocation of an existing grant answered NotFound"),
        }
    }
    assert_eq!(revoked, 1, "exactly one of {RACERS} concurrent revocations is Revoked");
    assert_eq!(delivery_events(&s, &c.id).await.len(), 1, "exactly one grant.revoked delivery");
}
