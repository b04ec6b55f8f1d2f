//! [`LinkSessionStore`](kc_ports::store::LinkSessionStore): the widget's state machine.

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{GrantId, OsSecretRng, WebhookEvent, WorkspaceRole};
use kc_ports::store::{ExtendOutcome, StoreError};

/// A link session reads back as stored (a resumed one with its grant's user and workspace);
/// a digest stored twice is `Conflict`.
pub async fn link_session_roundtrip<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let mut n = new_session(&c.id, "openid transactions:read");
    n.integration_name = Some("ethereum".into());
    n.prefill_json = Some(r#"{"address":"0xabc"}"#.into());
    must(s.insert_link_session(&n).await, "insert_link_session");
    let l =
        must(s.find_link_session(&n.digest).await, "find_link_session").unwrap_or_else(|| panic!("session not found"));
    assert_eq!(l.client_id, c.id);
    assert_eq!(l.scopes.to_string(), "openid transactions:read");
    assert_eq!((l.expires_at, l.completed_at, l.consent), (n.expires_at, None, None));
    assert_eq!((l.user_id.clone(), l.workspace_id.clone(), l.resumed_grant_id.clone()), (None, None, None));
    assert_eq!(
        (l.integration_name.as_deref(), l.prefill_json.as_deref()),
        (Some("ethereum"), Some(r#"{"address":"0xabc"}"#))
    );
    let mut dup = new_session(&c.id, "openid");
    dup.digest = n.digest.clone();
    match s.insert_link_session(&dup).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a link-token digest stored twice must be Conflict, got {other:?}"),
    }

    let (g, _, _) = grant(&s, &c.id, "openid").await;
    let mut resumed = new_session(&c.id, "openid users:read");
    resumed.resumed = Some(g.clone());
    must(s.insert_link_session(&resumed).await, "insert_link_session (resumed)");
    let r = must(s.find_link_session(&resumed.digest).await, "find_link_session")
        .unwrap_or_else(|| panic!("resumed session not found"));
    assert_eq!(r.resumed_grant_id, Some(g.id.clone()), "a resumed session names its grant");
    assert_eq!(
        (r.user_id, r.workspace_id),
        (Some(g.user_id), Some(g.workspace_id)),
        "a resumed session carries the grant's user and workspace"
    );
    assert!(
        must(s.find_link_session(&digest(kc_domain::TokenKind::Link)).await, "find_link_session").is_none(),
        "an unknown digest is None"
    );
}

/// A guest is created once per session, with a personal workspace it owns; a session with a
/// user, or a completed one, refuses another and creates nothing.
pub async fn guest_creation_is_once<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, d) = session(&s, &c.id, "openid").await;
    let g = new_guest();
    assert!(must(s.create_guest_for_session(l.id, &g).await, "create_guest_for_session"), "the first guest is created");
    let again = new_guest();
    assert!(
        !must(s.create_guest_for_session(l.id, &again).await, "create_guest_for_session"),
        "a session with a user refuses a second guest"
    );
    assert!(must(s.find_user(&again.user_id).await, "find_user").is_none(), "the refused guest was not created");
    assert!(must(s.find_workspace(&again.workspace_id).await, "find_workspace").is_none(), "nor its workspace");
    let user = must(s.find_user(&g.user_id).await, "find_user").unwrap_or_else(|| panic!("guest not stored"));
    assert!(user.is_anonymous && user.email.is_none(), "a guest is anonymous and has no email");
    let m = must(s.memberships(&g.user_id).await, "memberships");
    assert_eq!(m.len(), 1, "a guest is a member of exactly its personal workspace");
    assert_eq!(
        (m[0].workspace.id.clone(), m[0].workspace.name.clone(), m[0].role),
        (g.workspace_id.clone(), g.workspace_name.clone(), WorkspaceRole::Owner)
    );
    let now = reread(&s, &d).await;
    assert_eq!(
        (now.user_id, now.workspace_id),
        (Some(g.user_id), Some(g.workspace_id)),
        "the session carries the guest and its workspace"
    );

    let (done, _) = session(&s, &c.id, "openid").await;
    assert!(must(s.complete_link_session(done.id, at(5), None).await, "complete_link_session"));
    let late = new_guest();
    assert!(
        !must(s.create_guest_for_session(done.id, &late).await, "create_guest_for_session"),
        "a completed session refuses a guest"
    );
    assert!(must(s.find_user(&late.user_id).await, "find_user").is_none(), "the refused guest was not created");
}

/// Consent and workspace selection are recorded on an open session only.
pub async fn consent_and_workspace_need_an_open_session<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let (id, d) = (signed.session.id, signed.digest.clone());
    assert!(must(s.record_consent(id, false).await, "record_consent"), "consent on an open session is recorded");
    assert_eq!(reread(&s, &d).await.consent, Some(false));
    assert!(must(s.record_consent(id, true).await, "record_consent"), "consent can be changed while open");
    assert_eq!(reread(&s, &d).await.consent, Some(true));
    let other = kc_domain::WorkspaceId::generate(&OsSecretRng);
    assert!(
        must(s.select_workspace(id, &signed.workspace).await, "select_workspace"),
        "selecting a workspace on an open session works"
    );
    assert!(must(s.complete_link_session(id, at(30), None).await, "complete_link_session"));
    assert!(!must(s.record_consent(id, false).await, "record_consent"), "consent on a completed session answers false");
    assert!(
        !must(s.select_workspace(id, &other).await, "select_workspace"),
        "selecting on a completed session answers false"
    );
    let l = reread(&s, &d).await;
    assert_eq!(
        (l.consent, l.workspace_id, l.completed_at),
        (Some(true), Some(signed.workspace), Some(at(30))),
        "a completed session is frozen"
    );
}

/// A session completes exactly once, storing its public token with it; a completion whose
/// public token cannot be stored (digest taken: `Conflict`) leaves the session open.
pub async fn completion_is_exactly_once<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let p = new_public(&signed, "openid");
    assert!(
        must(s.complete_link_session(signed.session.id, at(10), Some(p.clone())).await, "complete_link_session"),
        "the first completion wins"
    );
    let again = new_public(&signed, "openid");
    assert!(
        !must(s.complete_link_session(signed.session.id, at(11), Some(again.clone())).await, "complete_link_session"),
        "a second completion answers false"
    );
    assert_eq!(reread(&s, &signed.digest).await.completed_at, Some(at(10)), "the first completion's time stays");
    let i = issue();
    let refused = must(s.exchange_public_token(&again.digest, &c.id, at(12), &i).await, "exchange_public_token");
    assert_eq!(
        refused,
        kc_ports::store::ExchangeOutcome::Refused(kc_domain::TokenRefusal::Invalid),
        "the losing completion stored no public token"
    );
    match must(s.exchange_public_token(&p.digest, &c.id, at(12), &i).await, "exchange_public_token") {
        kc_ports::store::ExchangeOutcome::Issued(g) => {
            assert_eq!(
                (g.user_id, g.workspace_id, g.scopes.to_string()),
                (signed.user.clone(), signed.workspace.clone(), "openid".to_owned()),
                "the grant is the public token's"
            );
        }
        other => panic!("the completion's public token must be exchangeable, got {other:?}"),
    }

    let second = signed_in(&s, &c.id, "openid").await;
    let mut clash = new_public(&second, "openid");
    clash.digest = p.digest.clone();
    match s.complete_link_session(second.session.id, at(40), Some(clash)).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a public-token digest stored twice must be Conflict, got {other:?}"),
    }
    assert_eq!(reread(&s, &second.digest).await.completed_at, None, "a failed completion leaves the session open");
    assert!(
        must(s.complete_link_session(second.session.id, at(41), None).await, "complete_link_session"),
        "and it can complete later"
    );
}

/// Of many concurrent completions of one session exactly one wins.
pub async fn completion_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |n| {
        let (s, p, id) = (s.clone(), new_public(&signed, "openid"), signed.session.id);
        async move { (s.complete_link_session(id, at(10 + n), Some(p.clone())).await, p.digest) }
    })
    .await;
    let mut winners = Vec::new();
    for (won, digest) in outcomes {
        if must(won, "complete_link_session") {
            winners.push(digest);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} concurrent completions must win");
    match must(s.exchange_public_token(&winners[0], &c.id, at(100), &issue()).await, "exchange_public_token") {
        kc_ports::store::ExchangeOutcome::Issued(_) => {}
        other => panic!("the winner's public token must be exchangeable, got {other:?}"),
    }
}

/// A returning user's approval adds scopes to the live grant (union, `grant.updated`
/// enqueued when they grew); a completed session or a revoked grant changes nothing.
pub async fn extend_grant_unions_scopes<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[], 0).await;
    let (g, _, _) = grant(&s, &c.id, "openid transactions:read").await;
    let before = deliveries(&s, &c.id).await.len();
    let (l, d) = session(&s, &c.id, "openid").await;
    match must(
        s.extend_grant_for_session(l.id, &g.id, &scopes("users:read transactions:read"), at(30)).await,
        "extend_grant_for_session",
    ) {
        ExtendOutcome::Extended { grant, changed } => {
            assert!(changed, "new scopes make `changed` true");
            assert_eq!(
                grant.scopes.to_string(),
                "openid transactions:read users:read",
                "the grant holds the union, its own scopes first"
            );
        }
        other => panic!("extending a live grant on an open session must be Extended, got {other:?}"),
    }
    assert_eq!(reread(&s, &d).await.consent, Some(true), "the approval is recorded on the session");
    let stored = must(s.find_grant(&g.id).await, "find_grant").unwrap_or_else(|| panic!("grant vanished"));
    assert_eq!(stored.scopes.to_string(), "openid transactions:read users:read", "the union is stored");
    let events: Vec<String> = deliveries(&s, &c.id).await.into_iter().skip(before).map(|d| d.event).collect();
    assert_eq!(
        events,
        vec![WebhookEvent::GrantUpdated.as_str().to_owned()],
        "one grant.updated is enqueued with the change"
    );
    match must(s.extend_grant_for_session(l.id, &g.id, &scopes("openid"), at(31)).await, "extend_grant_for_session") {
        ExtendOutcome::Extended { changed, .. } => assert!(!changed, "scopes already held make `changed` false"),
        other => panic!("expected Extended, got {other:?}"),
    }
    assert_eq!(deliveries(&s, &c.id).await.len(), before + 1, "no delivery when nothing changed");

    let (closed, _) = session(&s, &c.id, "openid").await;
    assert!(must(s.complete_link_session(closed.id, at(32), None).await, "complete_link_session"));
    let out = must(
        s.extend_grant_for_session(closed.id, &g.id, &scopes("tax:read"), at(33)).await,
        "extend_grant_for_session",
    );
    assert_eq!(out, ExtendOutcome::SessionClosed, "a completed session is SessionClosed");
    let (open, od) = session(&s, &c.id, "openid").await;
    let missing = must(
        s.extend_grant_for_session(open.id, &GrantId::generate(&OsSecretRng), &scopes("tax:read"), at(33)).await,
        "extend_grant_for_session",
    );
    assert_eq!(missing, ExtendOutcome::GrantGone, "an unknown grant is GrantGone");
    must(s.revoke_grant(&g.id, &c.id, at(34)).await, "revoke_grant");
    let gone =
        must(s.extend_grant_for_session(open.id, &g.id, &scopes("tax:read"), at(35)).await, "extend_grant_for_session");
    assert_eq!(gone, ExtendOutcome::GrantGone, "a revoked grant is GrantGone");
    assert_eq!(reread(&s, &od).await.consent, None, "GrantGone records no approval");
    let stored = must(s.find_grant(&g.id).await, "find_grant").unwrap_or_else(|| panic!("grant vanished"));
    assert!(!stored.scopes.contains_str("tax:read"), "GrantGone adds no scope");
}

/// Concurrent extensions of one grant (each on its own session) never lose each other's scopes.
pub async fn concurrent_extensions_keep_every_scope<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (g, _, _) = grant(&s, &c.id, "openid").await;
    let added = [
        "portfolios:read",
        "transactions:read",
        "balances:read",
        "integrations:read",
        "tax:read",
        "reports:read",
        "workspace:read",
        "users:read",
    ];
    let mut sessions = Vec::new();
    for _ in added {
        sessions.push(session(&s, &c.id, "openid").await.0.id);
    }
    let outcomes = race(added.len() as i64, |n| {
        let (s, id, session, scope) = (s.clone(), g.id.clone(), sessions[n as usize], added[n as usize]);
        async move { s.extend_grant_for_session(session, &id, &scopes(scope), at(30)).await }
    })
    .await;
    for out in outcomes {
        match must(out, "extend_grant_for_session") {
            ExtendOutcome::Extended { changed, .. } => assert!(changed, "each extension adds a new scope"),
            other => panic!("expected Extended, got {other:?}"),
        }
    }
    let stored = must(s.find_grant(&g.id).await, "find_grant").unwrap_or_else(|| panic!("grant vanished"));
    for scope in added.iter().chain(["openid"].iter()) {
        assert!(
            stored.scopes.contains_str(scope),
            "scope {scope} was lost by a concurrent extension: {}",
            stored.scopes
        );
    }
}

/// Of many concurrent guest creations on one session exactly one wins; the losers create nothing.
pub async fn guest_creation_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, d) = session(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |_| {
        let (s2, g) = (s.clone(), new_guest());
        async move { (s2.create_guest_for_session(l.id, &g).await, g) }
    })
    .await;
    let mut winners = Vec::new();
    for (out, g) in outcomes {
        if must(out, "create_guest_for_session") {
            winners.push(g.user_id);
        } else {
            assert!(
                must(s.find_user(&g.user_id).await, "find_user").is_none(),
                "a losing guest creation left its user"
            );
            assert!(
                must(s.find_workspace(&g.workspace_id).await, "find_workspace").is_none(),
                "a losing guest creation left its workspace"
            );
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} concurrent guest creations wins");
    assert_eq!(reread(&s, &d).await.user_id, Some(winners[0].clone()));
}
