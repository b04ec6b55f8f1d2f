//! [`OidcStore`](kc_ports::OidcStore): signing keys one per (algorithm, generation), the
//! authorization request answered once, the code issued once (consuming the public token) and
//! redeemed once (creating the grant, its `grant.created` outbox row and the first refresh
//! token), refresh-token rotation with replay detection, and the races of each.

use super::{client, complete, endpoint, guest, must, race, t0, ExtraStore};
use kc_domain::{ClientId, GrantId, GrantStatus, Sealed, SigningAlg, TokenDigest, UserId, WorkspaceId};
use kc_ports::{
    CodeIssue, ExchangeOutcome, IssueGrant, NewOAuthGrant, NewOidcRequest, NewRefreshToken, OidcRequestRecord,
    RevokeOutcome, SigningKeyRecord,
};
use time::{Duration, OffsetDateTime};

fn key(kid: &str, alg: SigningAlg, generation: i32, at: OffsetDateTime) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        alg,
        generation,
        private_key: Sealed { key_id: "k1".to_owned(), blob: format!("sealed-{kid}") },
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: at,
    }
}

pub(super) async fn signing_keys<S: ExtraStore>(s: &S) {
    assert!(must(s.oidc_signing_keys().await, "oidc_signing_keys").is_empty());
    let rs1 = key("rs-1", SigningAlg::Rs256, 1, t0());
    let ed1 = key("ed-1", SigningAlg::EdDsa, 1, t0() + Duration::seconds(1));
    let rs2 = key("rs-2", SigningAlg::Rs256, 2, t0() + Duration::seconds(2));
    assert!(must(s.insert_oidc_signing_key(&rs1).await, "insert key"));
    assert!(must(s.insert_oidc_signing_key(&ed1).await, "insert key"), "generation 1 of another algorithm");
    let late = key("rs-1b", SigningAlg::Rs256, 1, t0() + Duration::seconds(3));
    assert!(!must(s.insert_oidc_signing_key(&late).await, "insert key"), "another node rotated first: false");
    assert!(must(s.insert_oidc_signing_key(&rs2).await, "insert key"));
    // Two nodes rotating at once: exactly one key of generation 3.
    let won = race(s, |s, i| async move {
        s.insert_oidc_signing_key(&key(&format!("rs-3-{i}"), SigningAlg::Rs256, 3, t0() + Duration::seconds(4))).await
    })
    .await;
    let won = won.into_iter().map(|r| must(r, "insert key")).filter(|w| *w).count();
    assert_eq!(won, 1, "of racing rotations exactly one stores its key");
    let keys = must(s.oidc_signing_keys().await, "oidc_signing_keys");
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[..3], [rs1, ed1, rs2], "oldest first, read back as written (sealed private key included)");
    assert_eq!((keys[3].alg, keys[3].generation), (SigningAlg::Rs256, 3));
}

/// A client, an authorization request (with its link session) and the user who signed in on it.
struct Flow {
    client: ClientId,
    request: OidcRequestRecord,
    user: UserId,
    workspace: WorkspaceId,
}

async fn flow<S: ExtraStore>(s: &S, tag: &str, now: OffsetDateTime) -> Flow {
    let c = client(s, tag).await;
    let session = super::new_session(&c.id, &format!("oidc-{tag}"), now);
    let req = NewOidcRequest {
        handle: format!("h-{tag}"),
        redirect_uri: "https://app.example/cb".to_owned(),
        state: Some(format!("st-{tag}")),
        nonce: Some(format!("n-{tag}")),
        code_challenge: format!("challenge-{tag}"),
    };
    must(s.insert_oidc_request(&session, &req, now).await, "insert_oidc_request");
    let link = must(s.find_link_session(&session.digest).await, "find_link_session")
        .unwrap_or_else(|| panic!("insert_oidc_request stores the link session"));
    assert_eq!(link.client_id, c.id);
    let request = must(s.find_oidc_request(&req.handle).await, "find_oidc_request")
        .unwrap_or_else(|| panic!("request {tag} not found by handle"));
    assert_eq!(request.link_session_id, link.id);
    assert_eq!((request.client_id.clone(), request.redirect_uri.clone()), (c.id.clone(), req.redirect_uri.clone()));
    assert_eq!((request.state.clone(), request.nonce.clone()), (req.state.clone(), req.nonce.clone()));
    assert_eq!(request.code_challenge, req.code_challenge);
    assert_eq!(request.scopes, session.scopes);
    assert_eq!(request.expires_at, session.expires_at, "the request lapses with its link session");
    assert_eq!(request.completed_at, None);
    let by_session = must(s.find_oidc_request_by_session(link.id).await, "find_oidc_request_by_session");
    assert_eq!(by_session.as_ref(), Some(&request));
    let (user, workspace) = guest(s, link.id, tag, now).await;
    Flow { client: c.id, request, user, workspace }
}

/// Runs `f` to the point of an issued code: returns the code's digest.
async fn issued<S: ExtraStore>(s: &S, f: &Flow, tag: &str, now: OffsetDateTime) -> TokenDigest {
    let public = complete(s, f.request.link_session_id, &f.user, &f.workspace, tag, now).await;
    let code = TokenDigest::of(&format!("code_{tag}"));
    let out =
        must(s.issue_oidc_code(&f.request, &public, &code, now, now + Duration::minutes(1)).await, "issue_oidc_code");
    assert_eq!(out, CodeIssue::Issued);
    code
}

fn oauth_grant(tag: &str, now: OffsetDateTime, refresh: bool) -> NewOAuthGrant {
    NewOAuthGrant {
        grant_id: GrantId::from_stored(format!("cgrant_{tag}")),
        created_at: now,
        expires_at: now + Duration::days(30),
        refresh: refresh.then(|| NewRefreshToken {
            digest: TokenDigest::of(&format!("rt_{tag}")),
            auth_time: now - Duration::minutes(5),
            created_at: now,
            expires_at: now + Duration::days(30),
        }),
    }
}

pub(super) async fn code_issue_single_use<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    assert_eq!(must(s.find_oidc_request("h-none").await, "find_oidc_request"), None);
    assert_eq!(must(s.find_oidc_request_by_session(999_999).await, "by session"), None);

    // Issued once: a second issue for the same request is refused.
    let f = flow(s, "oi1", now).await;
    let completed_at = now + Duration::seconds(30);
    let public = complete(s, f.request.link_session_id, &f.user, &f.workspace, "oi1", completed_at).await;
    let code = TokenDigest::of("code_oi1");
    let at = now + Duration::minutes(1);
    let out = must(s.issue_oidc_code(&f.request, &public, &code, at, at + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Issued);
    let again = TokenDigest::of("code_oi1_again");
    let out = must(s.issue_oidc_code(&f.request, &public, &again, at, at + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Refused, "the request was answered and the public token consumed");
    assert_eq!(must(s.find_oidc_code(&again).await, "find_oidc_code"), None, "a refusal stores no code");
    let request = must(s.find_oidc_request(&f.request.handle).await, "find").unwrap_or_else(|| panic!("request gone"));
    assert_eq!(request.completed_at, Some(at));
    assert!(!must(s.complete_oidc_request(request.id, at).await, "complete_oidc_request"), "already answered");
    let c = must(s.find_oidc_code(&code).await, "find_oidc_code").unwrap_or_else(|| panic!("issued code not found"));
    assert_eq!(c.client_id, f.client);
    assert_eq!(c.redirect_uri, f.request.redirect_uri);
    assert_eq!(c.code_challenge, f.request.code_challenge);
    assert_eq!(c.nonce, f.request.nonce);
    assert_eq!(
        (c.user_id.clone(), c.workspace_id.clone()),
        (f.user.clone(), f.workspace.clone()),
        "from the public token"
    );
    assert_eq!(c.scopes, super::scopes(), "the public token's scopes");
    assert_eq!(c.auth_time, completed_at, "the user signed in during the widget run: its completion time");
    assert_eq!(c.expires_at, at + Duration::minutes(1));
    assert_eq!((c.used_at, c.grant_id.clone()), (None, None));
    // The public token was consumed by the issue: exchanging it fails.
    let issue = IssueGrant {
        grant_id: GrantId::from_stored("cgrant_oi1x".to_owned()),
        access_digest: TokenDigest::of("cat_oi1x"),
        created_at: at,
        expires_at: at + Duration::days(1),
    };
    let out = must(s.exchange_public_token(&public, &f.client, at, &issue).await, "exchange_public_token");
    assert!(matches!(out, ExchangeOutcome::Refused(_)), "the public token is spent: {out:?}");

    // Answered with an error first: no code, and the public token stays unspent.
    let f = flow(s, "oi2", now).await;
    assert!(must(s.complete_oidc_request(f.request.id, now).await, "complete_oidc_request"));
    assert!(!must(s.complete_oidc_request(f.request.id, now).await, "complete_oidc_request"), "only once");
    let public = complete(s, f.request.link_session_id, &f.user, &f.workspace, "oi2", now).await;
    let code = TokenDigest::of("code_oi2");
    let out = must(s.issue_oidc_code(&f.request, &public, &code, now, now + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Refused);
    assert_eq!(must(s.find_oidc_code(&code).await, "find_oidc_code"), None);
    let issue = IssueGrant { grant_id: GrantId::from_stored("cgrant_oi2x".to_owned()), ..issue.clone() };
    let out = must(s.exchange_public_token(&public, &f.client, now, &issue).await, "exchange_public_token");
    assert!(matches!(out, ExchangeOutcome::Issued(_)), "a refused issue consumed nothing: {out:?}");

    // Another session's public token, or an expired request: refused, nothing consumed.
    let f = flow(s, "oi3", now).await;
    let g = flow(s, "oi4", now).await;
    let foreign = complete(s, g.request.link_session_id, &g.user, &g.workspace, "oi4", now).await;
    let code = TokenDigest::of("code_oi3");
    let out = must(s.issue_oidc_code(&f.request, &foreign, &code, now, now + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Refused, "the public token is not this request's");
    let late = f.request.expires_at;
    let public = complete(s, f.request.link_session_id, &f.user, &f.workspace, "oi3", now).await;
    let out = must(s.issue_oidc_code(&f.request, &public, &code, late, late + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Refused, "the request has expired");
    let out = must(s.issue_oidc_code(&f.request, &public, &code, now, now + Duration::minutes(1)).await, "issue");
    assert_eq!(out, CodeIssue::Issued, "the refusals changed nothing: the request is still open");
    let out = must(s.issue_oidc_code(&g.request, &foreign, &TokenDigest::of("code_oi4"), now, now).await, "issue");
    assert_eq!(out, CodeIssue::Issued, "the foreign attempt did not consume oi4's token");
}

pub(super) async fn code_redemption_single_use<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let f = flow(s, "or1", now).await;
    endpoint(s, &f.client, "wh_or1", vec![], now).await;
    let digest = issued(s, &f, "or1", now).await;
    let code = must(s.find_oidc_code(&digest).await, "find_oidc_code").unwrap_or_else(|| panic!("code missing"));
    let at = now + Duration::seconds(20);
    let grant = must(s.redeem_oidc_code(code.id, at, &oauth_grant("or1", at, true)).await, "redeem_oidc_code")
        .unwrap_or_else(|| panic!("a fresh code is redeemable"));
    assert_eq!(grant.id.as_str(), "cgrant_or1");
    assert_eq!((grant.client_id.clone(), grant.user_id.clone()), (f.client.clone(), f.user.clone()));
    assert_eq!((grant.workspace_id.clone(), grant.scopes.clone()), (f.workspace.clone(), code.scopes.clone()));
    assert_eq!((grant.created_at, grant.expires_at, grant.revoked_at), (at, at + Duration::days(30), None));
    assert_eq!(must(s.find_grant(&grant.id).await, "find_grant"), Some(grant.clone()), "an ordinary grant");
    let deliveries = must(s.list_webhook_deliveries(&f.client, 10).await, "list_webhook_deliveries");
    assert_eq!(deliveries.len(), 1, "grant.created in the outbox with the grant: {deliveries:?}");
    assert_eq!((deliveries[0].event.as_str(), deliveries[0].grant_id.as_str()), ("grant.created", "cgrant_or1"));
    let refresh = must(s.find_refresh_token(&TokenDigest::of("rt_or1")).await, "find_refresh_token")
        .unwrap_or_else(|| panic!("the first refresh token is stored with the grant"));
    assert_eq!((refresh.grant_id.clone(), refresh.client_id.clone()), (grant.id.clone(), f.client.clone()));
    assert_eq!((refresh.auth_time, refresh.used_at), (at - Duration::minutes(5), None));
    let used = must(s.find_oidc_code(&digest).await, "find_oidc_code").unwrap_or_else(|| panic!("code gone"));
    assert_eq!((used.used_at, used.grant_id.clone()), (Some(at), Some(grant.id.clone())), "the code names its grant");

    // Used twice: the second redemption gets nothing and writes nothing …
    let second = must(s.redeem_oidc_code(code.id, at, &oauth_grant("or1b", at, true)).await, "redeem_oidc_code");
    assert_eq!(second, None, "a code is redeemed once");
    assert_eq!(must(s.find_grant(&GrantId::from_stored("cgrant_or1b".into())).await, "find_grant"), None);
    assert_eq!(must(s.find_refresh_token(&TokenDigest::of("rt_or1b")).await, "find_refresh_token"), None);
    assert_eq!(must(s.list_webhook_deliveries(&f.client, 10).await, "deliveries").len(), 1);
    let again = must(s.find_oidc_code(&digest).await, "find_oidc_code").unwrap_or_else(|| panic!("code gone"));
    assert_eq!(again, used, "the replay leaves the code as the first redemption left it");
    // … and the code still names the grant, which the provider revokes on a replay: the
    // grant (the token family) is revoked, its refresh token then leads to a dead grant.
    let revoked = must(s.revoke_grant(&grant.id, &f.client, at).await, "revoke_grant");
    assert!(matches!(revoked, RevokeOutcome::Revoked(_)), "{revoked:?}");
    let family = must(s.find_refresh_token(&TokenDigest::of("rt_or1")).await, "find").unwrap_or_else(|| panic!("rt"));
    let g = must(s.find_grant(&family.grant_id).await, "find_grant").unwrap_or_else(|| panic!("grant gone"));
    assert_eq!(g.status_at(at), GrantStatus::Revoked);

    // Without offline_access: no refresh token. Expired codes are not redeemable.
    let f = flow(s, "or2", now).await;
    let digest = issued(s, &f, "or2", now).await;
    let code = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    let expired = code.expires_at;
    let late = must(s.redeem_oidc_code(code.id, expired, &oauth_grant("or2", expired, false)).await, "redeem");
    assert_eq!(late, None, "a code is dead at its expiry");
    let unused = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    assert_eq!((unused.used_at, unused.grant_id), (None, None), "a lapsed redemption writes nothing");
    let ok = must(s.redeem_oidc_code(code.id, now, &oauth_grant("or2", now, false)).await, "redeem");
    assert!(ok.is_some());
    assert_eq!(must(s.find_refresh_token(&TokenDigest::of("rt_or2")).await, "find_refresh_token"), None);
    assert_eq!(
        must(s.redeem_oidc_code(987_654, now, &oauth_grant("or3", now, false)).await, "redeem"),
        None,
        "unknown"
    );
}

pub(super) async fn code_redemption_race<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let f = flow(s, "orr", now).await;
    let digest = issued(s, &f, "orr", now).await;
    let code = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    let issues: Vec<_> = (0..crate::RACERS).map(|i| oauth_grant(&format!("orr{i}"), now, true)).collect();
    let id = code.id;
    let results =
        race(s, |s, i| async move { s.redeem_oidc_code(id, now, &oauth_grant(&format!("orr{i}"), now, true)).await })
            .await;
    let winners: Vec<_> = results.into_iter().filter_map(|r| must(r, "redeem_oidc_code")).collect();
    assert_eq!(winners.len(), 1, "exactly one of the racing redemptions gets the grant");
    let mut grants = 0;
    let mut tokens = 0;
    for g in &issues {
        grants += usize::from(must(s.find_grant(&g.grant_id).await, "find_grant").is_some());
        if let Some(r) = &g.refresh {
            tokens += usize::from(must(s.find_refresh_token(&r.digest).await, "find_refresh_token").is_some());
        }
    }
    assert_eq!((grants, tokens), (1, 1), "the losers wrote nothing");
    let used = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    assert_eq!(used.grant_id.as_ref(), Some(&winners[0].id), "the code names the winner's grant");
}

pub(super) async fn refresh_rotation<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let f = flow(s, "rr", now).await;
    let digest = issued(s, &f, "rr", now).await;
    let code = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    let grant = must(s.redeem_oidc_code(code.id, now, &oauth_grant("rr", now, true)).await, "redeem")
        .unwrap_or_else(|| panic!("redeem"));
    let first = must(s.find_refresh_token(&TokenDigest::of("rt_rr")).await, "find").unwrap_or_else(|| panic!("rt"));
    let next = |tag: &str, at: OffsetDateTime| NewRefreshToken {
        digest: TokenDigest::of(tag),
        auth_time: first.auth_time,
        created_at: at,
        expires_at: at + Duration::days(30),
    };
    let t1 = now + Duration::hours(1);
    assert!(must(s.rotate_refresh_token(first.id, &next("rt_rr2", t1), t1).await, "rotate"));
    let old = must(s.find_refresh_token(&TokenDigest::of("rt_rr")).await, "find").unwrap_or_else(|| panic!("rt"));
    assert_eq!(old.used_at, Some(t1), "the rotated token is marked used (kept, to detect its replay)");
    let second = must(s.find_refresh_token(&TokenDigest::of("rt_rr2")).await, "find").unwrap_or_else(|| panic!("rt2"));
    assert_eq!(
        (second.grant_id.clone(), second.client_id.clone()),
        (grant.id.clone(), f.client.clone()),
        "same family"
    );
    assert_eq!((second.auth_time, second.expires_at, second.used_at), (first.auth_time, t1 + Duration::days(30), None));
    assert_ne!(second.id, first.id);

    // Reuse of the rotated token: refused, nothing stored, the live token untouched.
    let t2 = now + Duration::hours(2);
    assert!(!must(s.rotate_refresh_token(first.id, &next("rt_rr_replay", t2), t2).await, "rotate"), "a replay");
    assert_eq!(must(s.find_refresh_token(&TokenDigest::of("rt_rr_replay")).await, "find"), None);
    let still = must(s.find_refresh_token(&TokenDigest::of("rt_rr2")).await, "find").unwrap_or_else(|| panic!("rt2"));
    assert_eq!(still, second, "the replay leaves the family's live token alone (the provider revokes the grant)");
    // The chain goes on from the live token.
    assert!(must(s.rotate_refresh_token(second.id, &next("rt_rr3", t2), t2).await, "rotate"));
    // An expired token cannot rotate.
    let third = must(s.find_refresh_token(&TokenDigest::of("rt_rr3")).await, "find").unwrap_or_else(|| panic!("rt3"));
    let dead = third.expires_at;
    assert!(!must(s.rotate_refresh_token(third.id, &next("rt_rr4", dead), dead).await, "rotate"), "expired");
    let third_again =
        must(s.find_refresh_token(&TokenDigest::of("rt_rr3")).await, "find").unwrap_or_else(|| panic!("rt3"));
    assert_eq!(third_again.used_at, None, "an expired token is refused, not spent");
    assert!(!must(s.rotate_refresh_token(123_456_789, &next("rt_rr5", t2), t2).await, "rotate"), "unknown id");
    assert_eq!(must(s.find_refresh_token(&TokenDigest::of("rt_none")).await, "find"), None);
}

pub(super) async fn refresh_rotation_race<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let f = flow(s, "rrr", now).await;
    let digest = issued(s, &f, "rrr", now).await;
    let code = must(s.find_oidc_code(&digest).await, "find").unwrap_or_else(|| panic!("code missing"));
    must(s.redeem_oidc_code(code.id, now, &oauth_grant("rrr", now, true)).await, "redeem");
    let first = must(s.find_refresh_token(&TokenDigest::of("rt_rrr")).await, "find").unwrap_or_else(|| panic!("rt"));
    let next = move |i: usize| NewRefreshToken {
        digest: TokenDigest::of(&format!("rt_rrr_{i}")),
        auth_time: first.auth_time,
        created_at: now,
        expires_at: now + Duration::days(1),
    };
    let nexts: Vec<_> = (0..usize::try_from(crate::RACERS).unwrap_or(8)).map(next).collect();
    let id = first.id;
    let results = race(s, |s, i| async move { s.rotate_refresh_token(id, &next(i), now).await }).await;
    let won = results.into_iter().map(|r| must(r, "rotate_refresh_token")).filter(|w| *w).count();
    assert_eq!(won, 1, "exactly one of the racing rotations succeeds; the others are replays");
    let mut stored = 0;
    for n in &nexts {
        stored += usize::from(must(s.find_refresh_token(&n.digest).await, "find_refresh_token").is_some());
    }
    assert_eq!(stored, 1, "only the winner's successor is stored");
}

pub(super) async fn grants_of_and_silent_codes<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let c = client(s, "os").await;
    let other = client(s, "oso").await;
    let first = super::connected(s, &c.id, "os1", now).await;
    let (user, ws) = (first.user_id.clone(), first.workspace_id.clone());
    let second = super::grant_on(s, &c.id, &user, &ws, "os2", now + Duration::seconds(1)).await;
    super::grant_on(s, &other.id, &user, &ws, "os3", now).await;
    super::connected(s, &c.id, "os4", now).await;
    let revoked = must(s.revoke_grant(&first.id, &c.id, now).await, "revoke_grant");
    assert!(matches!(revoked, RevokeOutcome::Revoked(_)));
    let ids: Vec<String> = must(s.oidc_grants_of(&c.id, &user, &ws).await, "oidc_grants_of")
        .into_iter()
        .map(|g| g.id.to_string())
        .collect();
    assert_eq!(
        ids,
        [second.id.to_string(), first.id.to_string()],
        "this client's, user's and workspace's, newest first, revoked too"
    );

    // A silent authorization: request, completed link session and code in one step.
    let session = super::new_session(&c.id, "os-silent", now);
    let request = NewOidcRequest {
        handle: "h-silent".to_owned(),
        redirect_uri: "https://app.example/cb".to_owned(),
        state: Some("st".to_owned()),
        nonce: Some("n".to_owned()),
        code_challenge: "challenge-silent".to_owned(),
    };
    let code = kc_ports::NewSilentCode {
        digest: TokenDigest::of("code_silent"),
        user_id: user.clone(),
        workspace_id: ws.clone(),
        auth_time: now - Duration::hours(1),
        expires_at: now + Duration::minutes(1),
    };
    must(s.insert_silent_oidc_code(&session, &request, &code, now).await, "insert_silent_oidc_code");
    let link =
        must(s.find_link_session(&session.digest).await, "find_link_session").unwrap_or_else(|| panic!("link session"));
    assert_eq!(link.completed_at, Some(now), "the widget never runs on it: completed at once");
    assert_eq!((link.user_id.as_ref(), link.workspace_id.as_ref()), (Some(&user), Some(&ws)));
    let r = must(s.find_oidc_request("h-silent").await, "find_oidc_request").unwrap_or_else(|| panic!("request"));
    assert_eq!((r.link_session_id, r.completed_at, r.expires_at), (link.id, Some(now), session.expires_at));
    assert_eq!((r.nonce.as_deref(), r.state.as_deref()), (Some("n"), Some("st")));
    let stored = must(s.find_oidc_code(&code.digest).await, "find_oidc_code").unwrap_or_else(|| panic!("code"));
    assert_eq!((stored.client_id.clone(), stored.redirect_uri.as_str()), (c.id.clone(), "https://app.example/cb"));
    assert_eq!((stored.code_challenge.as_str(), stored.nonce.as_deref()), ("challenge-silent", Some("n")));
    assert_eq!((stored.user_id.clone(), stored.workspace_id.clone()), (user.clone(), ws.clone()));
    assert_eq!(stored.scopes, session.scopes, "the request's scopes");
    assert_eq!((stored.auth_time, stored.expires_at), (code.auth_time, code.expires_at));
    assert_eq!((stored.used_at, stored.grant_id.clone()), (None, None));
    let grant = must(s.redeem_oidc_code(stored.id, now, &oauth_grant("os-silent", now, false)).await, "redeem");
    assert!(grant.is_some(), "a silent code redeems like any other");
    // A taken handle: an error, and nothing of the three is stored.
    let again = super::new_session(&c.id, "os-silent-2", now);
    let code2 = kc_ports::NewSilentCode { digest: TokenDigest::of("code_silent_2"), ..code.clone() };
    assert!(s.insert_silent_oidc_code(&again, &request, &code2, now).await.is_err(), "the handle is taken");
    assert_eq!(must(s.find_link_session(&again.digest).await, "find_link_session"), None, "all or nothing");
    assert_eq!(must(s.find_oidc_code(&code2.digest).await, "find_oidc_code"), None, "all or nothing");
}

pub(super) async fn browser_sessions<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::minutes(10);
    let c = client(s, "ob").await;
    let g = super::connected(s, &c.id, "ob", now).await;
    let new = kc_ports::NewBrowserSession {
        digest: TokenDigest::of("cookie-1"),
        user_id: g.user_id.clone(),
        workspace_id: g.workspace_id.clone(),
        auth_time: now - Duration::minutes(1),
        created_at: now,
        expires_at: now + Duration::days(1),
    };
    must(s.insert_browser_session(&new).await, "insert_browser_session");
    assert!(s.insert_browser_session(&new).await.is_err(), "a cookie digest is stored once");
    assert_eq!(must(s.find_browser_session(&TokenDigest::of("cookie-2")).await, "find_browser_session"), None);
    let b =
        must(s.find_browser_session(&new.digest).await, "find_browser_session").unwrap_or_else(|| panic!("session"));
    assert_eq!((b.user_id.clone(), b.workspace_id.clone()), (g.user_id.clone(), g.workspace_id.clone()));
    assert_eq!(
        (b.auth_time, b.created_at, b.last_used_at, b.expires_at, b.ended_at),
        (new.auth_time, now, now, new.expires_at, None)
    );
    let later = now + Duration::minutes(5);
    assert!(must(s.touch_browser_session(b.id, later).await, "touch_browser_session"));
    let b2 = must(s.find_browser_session(&new.digest).await, "find").unwrap_or_else(|| panic!("session"));
    assert_eq!(b2.last_used_at, later);
    let end = now + Duration::minutes(6);
    assert!(must(s.end_browser_session(b.id, end).await, "end_browser_session"));
    assert!(!must(s.end_browser_session(b.id, end + Duration::minutes(1)).await, "end_browser_session"), "only once");
    assert!(
        !must(s.touch_browser_session(b.id, end).await, "touch_browser_session"),
        "an ended session serves nothing"
    );
    let b3 =
        must(s.find_browser_session(&new.digest).await, "find").unwrap_or_else(|| panic!("ended sessions are found"));
    assert_eq!(
        (b3.ended_at, b3.last_used_at),
        (Some(end), later),
        "the first end's time stays; a refused touch writes nothing"
    );
    assert!(!must(s.touch_browser_session(987_654, end).await, "touch"), "unknown");
    assert!(!must(s.end_browser_session(987_654, end).await, "end"), "unknown");
}
