//! [`HotPathStore`](kc_ports::store::HotPathStore)'s reads: a client with one of its access
//! tokens and what the caller asks for, in one step.

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{ClientId, ClientRecord, OsSecretRng, TokenKind};
use kc_ports::store::{AccessDetail, GrantLimits};

fn yes(_: &ClientRecord) -> bool {
    true
}

fn no(_: &ClientRecord) -> bool {
    false
}

/// `client_access` finds the client, and for an admitted caller its own access token with the
/// grant and the detail asked for; a refused caller, a foreign or unknown token read no token.
pub async fn client_access_reads_in_one_step<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    let (g, access, signed) = grant(&s, &c.id, "openid users:read").await;
    let (_, foreign, _) = grant(&s, &other.id, "openid").await;
    must(s.set_grant_limits(&g.id, Some(Some(7)), Some(true)).await, "set_grant_limits");
    let now = at(30);

    let none = must(
        s.client_access(&ClientId::generate(&OsSecretRng), Some(&access), AccessDetail::Grant, now, &yes).await,
        "client_access",
    );
    assert!(none.is_none(), "an unknown client is None");
    let bare = must(s.client_access(&c.id, None, AccessDetail::Grant, now, &yes).await, "client_access")
        .unwrap_or_else(|| panic!("client not found"));
    assert_eq!((bare.client, bare.token), (c.clone(), None), "without a token, the client alone");
    let refused = must(s.client_access(&c.id, Some(&access), AccessDetail::User, now, &no).await, "client_access")
        .unwrap_or_else(|| panic!("client not found"));
    assert_eq!((refused.client, refused.token), (c.clone(), None), "a caller the admit check refuses reads no token");
    let foreign_read =
        must(s.client_access(&c.id, Some(&foreign), AccessDetail::Grant, now, &yes).await, "client_access")
            .unwrap_or_else(|| panic!("client not found"));
    assert_eq!(foreign_read.token, None, "another client's token is not read");
    let unknown = must(
        s.client_access(&c.id, Some(&digest(TokenKind::Access)), AccessDetail::Grant, now, &yes).await,
        "client_access",
    )
    .unwrap_or_else(|| panic!("client not found"));
    assert_eq!(unknown.token, None, "an unknown token is None");

    let plain = must(s.client_access(&c.id, Some(&access), AccessDetail::Grant, now, &yes).await, "client_access")
        .and_then(|a| a.token)
        .unwrap_or_else(|| panic!("the token is not read"));
    assert_eq!(
        (plain.grant.clone(), plain.token_expires_at),
        (g.clone(), g.expires_at),
        "the token's grant and expiry"
    );
    let ws = must(s.client_access(&c.id, Some(&access), AccessDetail::Workspace, now, &yes).await, "client_access")
        .and_then(|a| a.token)
        .unwrap_or_else(|| panic!("the token is not read"));
    let name = must(s.find_workspace(&signed.workspace).await, "find_workspace").map(|w| w.name);
    assert_eq!(
        (ws.grant, ws.workspace_name, ws.user),
        (g.clone(), name, None),
        "Workspace detail: the workspace's name"
    );
    let user = must(s.client_access(&c.id, Some(&access), AccessDetail::User, now, &yes).await, "client_access")
        .and_then(|a| a.token)
        .unwrap_or_else(|| panic!("the token is not read"));
    assert_eq!(user.user, must(s.find_user(&signed.user).await, "find_user"), "User detail: the grant's user");
    assert_eq!(
        user.limits,
        Some(GrantLimits { transaction_limit: Some(7), enable_limiter: true }),
        "User detail: the grant's limits"
    );

    assert!(must(s.disable_client(&c.id, at(40)).await, "disable_client"));
    let disabled = must(s.client_access(&c.id, None, AccessDetail::Grant, at(41), &yes).await, "client_access")
        .unwrap_or_else(|| panic!("a disabled client is still read"));
    assert!(disabled.client.disabled, "the read sees the client disabled at once");
}

/// `client_access` with [`AccessDetail::Holdings`] reads the grant like `Grant`; a store that
/// also reads the workspace's holdings rows returns exactly what `workspace_balances` (and the
/// ledger's positions: none here) return, with contract addresses and every field intact.
pub async fn client_access_may_read_holdings_with_the_grant<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (g, access, signed) = grant(&s, &c.id, "portfolios:read").await;
    let holdings = |admit: fn(&ClientRecord) -> bool| {
        let s = &s;
        let (id, access) = (c.id.clone(), access.clone());
        async move {
            must(s.client_access(&id, Some(&access), AccessDetail::Holdings, at(30), &admit).await, "client_access")
                .unwrap_or_else(|| panic!("client not found"))
        }
    };
    let empty = holdings(yes).await.token.unwrap_or_else(|| panic!("the token is not read"));
    assert_eq!(empty.grant, g, "Holdings detail: the token's grant");
    if let Some(rows) = &empty.holdings {
        assert!(rows.positions.is_empty() && rows.balances.is_empty(), "no integration, no rows: {rows:?}");
    }
    assert_eq!(holdings(no).await.token, None, "a caller the admit check refuses reads no token nor holdings");

    let i = new_integration(&signed.workspace, 0);
    must(s.insert_integration(&i).await, "insert_integration");
    let job = must(s.claim_sync_job("w", at(31), time::Duration::seconds(60)).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("the new integration's sync job"));
    let mut token = balance("USDC", "20.000001");
    token.contract_address = Some("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".to_owned());
    token.decimals = 6;
    let rows = [balance("ETH", "1.5"), token];
    assert!(must(s.finish_sync_job(&job, "w", &rows, None, at(32)).await, "finish_sync_job"));
    let want = must(s.workspace_balances(&signed.workspace).await, "workspace_balances");
    assert_eq!(want.len(), 2);
    let read = holdings(yes).await.token.unwrap_or_else(|| panic!("the token is not read"));
    if let Some(rows) = read.holdings {
        assert_eq!(rows.balances, want, "the same balances as workspace_balances, in its order");
        assert!(rows.positions.is_empty(), "no ledger positions were saved");
    }
}

/// `create_link_session` stores the session and appends its audit event together; a digest
/// stored twice is `Conflict` and appends nothing.
pub async fn create_link_session_audits_in_one_step<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let n = new_session(&c.id, "openid");
    let event = kc_ports::store::AuditEvent {
        at: at(0),
        kind: "link_token.create".into(),
        outcome: "success".into(),
        client_id: Some(c.id.to_string()),
        grant_id: None,
        user_id: None,
        ip: None,
        request_id: Some("req-link".into()),
        detail: None,
    };
    must(s.create_link_session(&n, &event).await, "create_link_session");
    let l = reread(&s, &n.digest).await;
    assert_eq!((l.client_id, l.completed_at, l.user_id), (c.id.clone(), None, None), "the session is stored");
    assert_eq!(
        must(s.list_audit(Some(c.id.to_string()), None, 10).await, "list_audit"),
        vec![event.clone()],
        "with its audit event"
    );
    let mut dup = new_session(&c.id, "openid");
    dup.digest = n.digest.clone();
    match s.create_link_session(&dup, &event).await {
        Err(kc_ports::store::StoreError::Conflict(_)) => {}
        other => panic!("a link-token digest stored twice must be Conflict, got {other:?}"),
    }
    assert_eq!(
        must(s.list_audit(Some(c.id.to_string()), None, 10).await, "list_audit").len(),
        1,
        "a refused session appends no audit event"
    );
}

/// Concurrent `create_link_session` calls (a store may write them together) each get their own
/// answer: every distinct session is stored with its audit event, and of three writes of one
/// digest exactly one succeeds and the other two are `Conflict` — without failing the others.
pub async fn concurrent_link_sessions_each_get_their_own_answer<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let shared = new_session(&c.id, "openid").digest;
    let writers = RACERS * 4;
    let outcomes = race(writers, |n| {
        let (s, id, shared) = (s.clone(), c.id.clone(), shared.clone());
        async move {
            let mut session = new_session(&id, "openid");
            // Three of the writers use one digest.
            if n % 11 == 0 {
                session.digest = shared;
            }
            let event = kc_ports::store::AuditEvent {
                at: at(n),
                kind: "link_token.create".into(),
                outcome: "success".into(),
                client_id: Some(id.to_string()),
                grant_id: None,
                user_id: None,
                ip: None,
                request_id: Some(format!("req-{n}")),
                detail: None,
            };
            (n, session.digest.clone(), s.create_link_session(&session, &event).await)
        }
    })
    .await;
    let (mut stored, mut conflicts, mut shared_won) = (0, 0, 0);
    for (n, digest, out) in outcomes {
        match out {
            Ok(()) => {
                stored += 1;
                shared_won += usize::from(digest == shared);
                assert_eq!(reread(&s, &digest).await.client_id, c.id, "session {n} is stored");
            }
            Err(kc_ports::store::StoreError::Conflict(_)) if digest == shared => conflicts += 1,
            Err(e) => panic!("session {n} failed: {e:?}"),
        }
    }
    let sharing = (0..writers).filter(|n| n % 11 == 0).count();
    assert_eq!(sharing, 3, "the check's own arithmetic: three writers share a digest");
    assert_eq!((shared_won, conflicts), (1, 2), "one write of a shared digest wins, the others are Conflict");
    let others = usize::try_from(writers - 2).expect("32 writers");
    assert_eq!(stored, others, "every other session is stored");
    let audited = must(s.list_audit(Some(c.id.to_string()), None, 1000).await, "list_audit").len();
    assert_eq!(audited, stored, "one audit event per stored session, none for a refused one");
}
