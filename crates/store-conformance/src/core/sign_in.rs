//! [`SignInStore`](kc_ports::store::SignInStore): email codes, email sign-in, rate budgets.

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{OsSecretRng, UserId, WorkspaceId};
use kc_ports::store::{BudgetSpend, EmailCodeRecord, NewEmailUser};

fn code(session_id: i64, email: &str, created: i64, ip: Option<&str>) -> EmailCodeRecord {
    EmailCodeRecord {
        id: 0,
        session_id,
        email: email.to_owned(),
        code_digest: format!("code-{}", tag()),
        created_at: at(created),
        expires_at: at(created + 600),
        attempts: 0,
        consumed_at: None,
        requested_ip: ip.map(str::to_owned),
    }
}

/// The newest code of a session and address is found; attempts are spent up to the limit and
/// not after use; a code is consumed once; a consumed code proves the address from its IP.
pub async fn email_code_attempts_and_consumption<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, _) = session(&s, &c.id, "openid").await;
    let email = format!("{}@example.com", tag());
    must(s.insert_email_code(&code(l.id, &email, 0, Some("10.0.0.1"))).await, "insert_email_code");
    let newest = code(l.id, &email, 1, Some("10.0.0.1"));
    must(s.insert_email_code(&newest).await, "insert_email_code");
    let found =
        must(s.latest_email_code(l.id, &email).await, "latest_email_code").unwrap_or_else(|| panic!("no code found"));
    assert_eq!(
        (found.code_digest.as_str(), found.attempts, found.consumed_at),
        (newest.code_digest.as_str(), 0, None),
        "the newest code is the latest"
    );
    assert!(
        must(s.latest_email_code(l.id, "other@example.com").await, "latest_email_code").is_none(),
        "no code for another address"
    );
    for n in 0..3 {
        assert!(must(s.spend_email_attempt(found.id, 3).await, "spend_email_attempt"), "attempt {n} of 3 is allowed");
    }
    assert!(!must(s.spend_email_attempt(found.id, 3).await, "spend_email_attempt"), "a fourth attempt of 3 is refused");
    let after =
        must(s.latest_email_code(l.id, &email).await, "latest_email_code").unwrap_or_else(|| panic!("code vanished"));
    assert_eq!(after.attempts, 3, "refused attempts are not counted");
    assert!(
        !must(s.email_verified_from(&email, "10.0.0.1", at(0)).await, "email_verified_from"),
        "no code consumed yet"
    );
    assert!(must(s.consume_email_code(found.id, at(5)).await, "consume_email_code"), "the first use consumes the code");
    assert!(!must(s.consume_email_code(found.id, at(6)).await, "consume_email_code"), "a code is consumed once");
    assert!(
        !must(s.spend_email_attempt(found.id, 10).await, "spend_email_attempt"),
        "a consumed code spends no attempt"
    );
    assert!(
        must(s.email_verified_from(&email, "10.0.0.1", at(5)).await, "email_verified_from"),
        "consumed from that IP since then"
    );
    assert!(
        !must(s.email_verified_from(&email, "10.0.0.2", at(0)).await, "email_verified_from"),
        "not from another IP"
    );
    assert!(
        !must(s.email_verified_from(&email, "10.0.0.1", at(6)).await, "email_verified_from"),
        "not consumed since a later time"
    );
}

/// Codes sent to an address are counted and timed since an instant, per IP when asked.
pub async fn email_code_counts_and_times<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, _) = session(&s, &c.id, "openid").await;
    let email = format!("{}@example.com", tag());
    for (t, ip) in [(30, Some("10.0.0.1")), (10, Some("10.0.0.2")), (20, Some("10.0.0.1")), (40, None)] {
        must(s.insert_email_code(&code(l.id, &email, t, ip)).await, "insert_email_code");
    }
    must(s.insert_email_code(&code(l.id, "someone@else.example", 25, None)).await, "insert_email_code");
    assert_eq!(
        must(s.count_email_codes_since(&email, at(20)).await, "count_email_codes_since"),
        3,
        "codes since an instant, inclusive"
    );
    assert_eq!(
        must(s.email_code_times(&email, None, at(0)).await, "email_code_times"),
        vec![at(10), at(20), at(30), at(40)],
        "every code's time, oldest first"
    );
    assert_eq!(
        must(s.email_code_times(&email, Some("10.0.0.1".into()), at(0)).await, "email_code_times"),
        vec![at(20), at(30)],
        "only those from the IP"
    );
    assert_eq!(
        must(s.email_code_times(&email, None, at(25)).await, "email_code_times"),
        vec![at(30), at(40)],
        "only since the instant"
    );
}

/// Email sign-in creates the user (with a personal workspace) for a new address and finds it
/// for a known one; a session that has a user or completed refuses.
pub async fn email_sign_in_creates_or_finds_the_user<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let email = format!("{}@example.com", tag());
    let new_user = || NewEmailUser {
        email: email.clone(),
        user_id: UserId::generate(&OsSecretRng),
        workspace_id: WorkspaceId::generate(&OsSecretRng),
        workspace_name: "personal".into(),
        created_at: t0(),
    };
    let (first, d1) = session(&s, &c.id, "openid").await;
    let u1 = new_user();
    let id = must(s.sign_in_email_user(first.id, &u1).await, "sign_in_email_user");
    assert_eq!(id, Some(u1.user_id.clone()), "a new address creates the user with the given id");
    let user = must(s.find_user(&u1.user_id).await, "find_user").unwrap_or_else(|| panic!("user not stored"));
    assert_eq!((user.email.as_deref(), user.is_anonymous), (Some(email.as_str()), false));
    let m = must(s.memberships(&u1.user_id).await, "memberships");
    assert_eq!(
        m.iter().map(|m| m.workspace.id.clone()).collect::<Vec<_>>(),
        vec![u1.workspace_id.clone()],
        "with its personal workspace"
    );
    assert_eq!(reread(&s, &d1).await.user_id, Some(u1.user_id.clone()), "the session carries the user");
    assert_eq!(
        must(s.sign_in_email_user(first.id, &new_user()).await, "sign_in_email_user"),
        None,
        "a session with a user refuses"
    );

    let (second, d2) = session(&s, &c.id, "openid").await;
    let u2 = new_user();
    assert_eq!(
        must(s.sign_in_email_user(second.id, &u2).await, "sign_in_email_user"),
        Some(u1.user_id.clone()),
        "a known address finds its user"
    );
    assert!(must(s.find_user(&u2.user_id).await, "find_user").is_none(), "and creates none");
    assert!(must(s.find_workspace(&u2.workspace_id).await, "find_workspace").is_none(), "nor a workspace");
    assert_eq!(reread(&s, &d2).await.user_id, Some(u1.user_id), "the session carries the found user");

    let (done, _) = session(&s, &c.id, "openid").await;
    assert!(must(s.complete_link_session(done.id, at(5), None).await, "complete_link_session"));
    assert_eq!(
        must(s.sign_in_email_user(done.id, &new_user()).await, "sign_in_email_user"),
        None,
        "a completed session refuses"
    );
}

/// A rate budget is GCRA: `burst` units at once, one more every `interval`; a denied spend
/// changes nothing and says when to retry; full budgets are purged.
pub async fn rate_budget_is_gcra<S: CoreStore>(s: S) {
    let b = format!("bucket-{}", tag());
    let now = 1_000_000;
    for remaining in [2, 1, 0] {
        assert_eq!(
            must(s.spend_rate_budget(&b, now, 1000, 3).await, "spend_rate_budget"),
            BudgetSpend::Allowed { remaining }
        );
    }
    assert_eq!(
        must(s.spend_rate_budget(&b, now, 1000, 3).await, "spend_rate_budget"),
        BudgetSpend::Denied { retry_after_ms: 1000 },
        "an empty budget is denied"
    );
    assert_eq!(
        must(s.spend_rate_budget(&b, now + 400, 1000, 3).await, "spend_rate_budget"),
        BudgetSpend::Denied { retry_after_ms: 600 },
        "a denied spend changed nothing"
    );
    assert_eq!(
        must(s.spend_rate_budget(&b, now + 1000, 1000, 3).await, "spend_rate_budget"),
        BudgetSpend::Allowed { remaining: 0 },
        "one unit is back after one interval"
    );
    let other = format!("bucket-{}", tag());
    assert_eq!(
        must(s.spend_rate_budget(&other, now, 1000, 3).await, "spend_rate_budget"),
        BudgetSpend::Allowed { remaining: 2 },
        "budgets are independent"
    );
    // `other` is full again at now + 1000; `b` at now + 4000.
    assert_eq!(must(s.purge_rate_budgets(now + 1000).await, "purge_rate_budgets"), 1, "the full budget is purged");
    assert_eq!(
        must(s.spend_rate_budget(&b, now + 1000, 1000, 3).await, "spend_rate_budget"),
        BudgetSpend::Denied { retry_after_ms: 1000 },
        "the other budget was kept"
    );
}

/// Concurrent spends of one budget admit exactly `burst`.
pub async fn rate_budget_race_admits_exactly_burst<S: CoreStore>(s: S) {
    let b = format!("bucket-{}", tag());
    let outcomes = race(2 * RACERS, |_| {
        let (s, b) = (s.clone(), b.clone());
        async move { s.spend_rate_budget(&b, 5_000_000, 60_000, 5).await }
    })
    .await;
    let mut allowed = 0;
    for out in outcomes {
        if let BudgetSpend::Allowed { .. } = must(out, "spend_rate_budget") {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly `burst` of {} concurrent spends are allowed", 2 * RACERS);
}

/// Concurrent first sign-ins of one new address (each on its own session) all end with the
/// same user: exactly one is created, every session gets it, and no call fails.
pub async fn email_sign_in_race_creates_one_user<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let email = format!("{}@example.com", tag());
    let mut sessions = Vec::new();
    for _ in 0..RACERS {
        sessions.push(session(&s, &c.id, "openid").await);
    }
    let outcomes = race(RACERS, |n| {
        let u = NewEmailUser {
            email: email.clone(),
            user_id: UserId::generate(&OsSecretRng),
            workspace_id: WorkspaceId::generate(&OsSecretRng),
            workspace_name: "personal".into(),
            created_at: t0(),
        };
        let (s2, id) = (s.clone(), sessions[n as usize].0.id);
        async move { s2.sign_in_email_user(id, &u).await }
    })
    .await;
    let mut users = Vec::new();
    for ((_, d), out) in sessions.iter().zip(outcomes) {
        match out {
            Ok(Some(id)) => {
                assert_eq!(
                    reread(&s, d).await.user_id,
                    Some(id.clone()),
                    "the session carries the user it was answered"
                );
                users.push(id);
            }
            other => panic!("a concurrent first sign-in of one address must find or create its user, got {other:?}"),
        }
    }
    users.dedup();
    assert_eq!(users.len(), 1, "every concurrent sign-in of one address ends with the same user: {users:?}");
    assert_eq!(must(s.memberships(&users[0]).await, "memberships").len(), 1, "with exactly one personal workspace");
}

/// Of many concurrent sign-ins on one session (different addresses) exactly one attaches its
/// user; the others create nothing.
pub async fn email_sign_in_race_on_one_session_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, d) = session(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |_| {
        let u = NewEmailUser {
            email: format!("{}@example.com", tag()),
            user_id: UserId::generate(&OsSecretRng),
            workspace_id: WorkspaceId::generate(&OsSecretRng),
            workspace_name: "personal".into(),
            created_at: t0(),
        };
        let s2 = s.clone();
        async move { (s2.sign_in_email_user(l.id, &u).await, u.user_id) }
    })
    .await;
    let mut winners = Vec::new();
    for (out, id) in outcomes {
        match must(out, "sign_in_email_user") {
            Some(found) => winners.push(found),
            None => assert!(must(s.find_user(&id).await, "find_user").is_none(), "a losing sign-in created its user"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} concurrent sign-ins on one session wins");
    assert_eq!(reread(&s, &d).await.user_id, Some(winners[0].clone()));
}

/// Concurrent uses of one code consume it once; concurrent wrong guesses spend exactly the
/// attempts allowed.
pub async fn email_code_races_spend_exactly_the_budget<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let (l, _) = session(&s, &c.id, "openid").await;
    let email = format!("{}@example.com", tag());
    must(s.insert_email_code(&code(l.id, &email, 0, None)).await, "insert_email_code");
    let id = must(s.latest_email_code(l.id, &email).await, "latest_email_code").unwrap_or_else(|| panic!("no code")).id;
    let spent = race(RACERS, |_| {
        let s = s.clone();
        async move { s.spend_email_attempt(id, 3).await }
    })
    .await;
    assert_eq!(
        spent.into_iter().filter(|o| matches!(o, Ok(true))).count(),
        3,
        "{RACERS} concurrent guesses spend exactly 3 attempts of 3"
    );
    let used = race(RACERS, |n| {
        let s = s.clone();
        async move { s.consume_email_code(id, at(10 + n)).await }
    })
    .await;
    assert_eq!(
        used.into_iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "exactly one of {RACERS} concurrent uses consumes the code"
    );
}
