//! [`ConsoleStore`](kc_ports::ConsoleStore): operator tokens, users, organisations and
//! members, invitations (open = not accepted and not expired; accepted once, never demoting),
//! sessions, sign-in codes (attempt budget, single use), client ownership and mode, webhook
//! settings (disabling cancels and stops deliveries), direct deliveries and redelivery, usage.

use super::{client, connected, endpoint, must, race, session, t0, ExtraStore};
use kc_domain::{ClientId, ClientMode, WebhookEvent};
use kc_ports::{
    ConsoleCodeRecord, ConsoleSessionRecord, ConsoleUserRecord, DeliveryAttempt, InvitationRecord, OperatorTokenRecord,
    OrgRecord, StoreError,
};
use time::{Duration, OffsetDateTime};

fn token(id: &str, digest: &str, at: OffsetDateTime) -> OperatorTokenRecord {
    OperatorTokenRecord {
        id: id.to_owned(),
        name: format!("token {id}"),
        digest: digest.to_owned(),
        scopes: "clients:read clients:write".to_owned(),
        org_id: None,
        created_at: at,
        expires_at: at + Duration::days(90),
        revoked_at: None,
        last_used_at: None,
    }
}

pub(super) async fn operator_tokens<S: ExtraStore>(s: &S) {
    let a = token("op_a", "da", t0());
    let b = OperatorTokenRecord { org_id: Some("org_x".to_owned()), ..token("op_b", "db", t0() + Duration::hours(1)) };
    must(s.insert_operator_token(&a).await, "insert_operator_token");
    must(s.insert_operator_token(&b).await, "insert_operator_token");
    let dup_id = s.insert_operator_token(&token("op_a", "dz", t0())).await;
    assert!(matches!(dup_id, Err(StoreError::Conflict(_))), "same id: Conflict, got {dup_id:?}");
    let dup_digest = s.insert_operator_token(&token("op_z", "da", t0())).await;
    assert!(matches!(dup_digest, Err(StoreError::Conflict(_))), "same digest: Conflict, got {dup_digest:?}");
    assert_eq!(must(s.find_operator_token("da").await, "find_operator_token"), Some(a.clone()));
    assert_eq!(must(s.find_operator_token("nope").await, "find_operator_token"), None);
    let ids: Vec<String> = must(s.list_operator_tokens().await, "list").into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["op_b", "op_a"], "newest first, nothing else stored by the refused inserts");
    let used = t0() + Duration::hours(2);
    must(s.touch_operator_token("op_a", used).await, "touch_operator_token");
    let found = must(s.find_operator_token("da").await, "find").unwrap_or_else(|| panic!("op_a gone"));
    assert_eq!(found.last_used_at, Some(used));
    let gone = t0() + Duration::hours(3);
    assert!(must(s.revoke_operator_token("op_a", gone).await, "revoke"));
    assert!(!must(s.revoke_operator_token("op_a", gone + Duration::hours(1)).await, "revoke"), "already revoked");
    assert!(!must(s.revoke_operator_token("op_none", gone).await, "revoke"), "no such token");
    let found = must(s.find_operator_token("da").await, "find").unwrap_or_else(|| panic!("revoked tokens are found"));
    assert_eq!(found.revoked_at, Some(gone), "the first revocation's time stays");
    assert_eq!(must(s.find_operator_token("db").await, "find").map(|t| t.revoked_at), Some(None));
}

async fn user<S: ExtraStore>(s: &S, email: &str, id: &str) -> ConsoleUserRecord {
    must(s.upsert_console_user(email, id, t0()).await, "upsert_console_user")
}

fn org(id: &str, secs: i64) -> OrgRecord {
    OrgRecord { id: id.to_owned(), name: format!("Org {id}"), created_at: t0() + Duration::seconds(secs) }
}

pub(super) async fn users_orgs_members<S: ExtraStore>(s: &S) {
    let ann = user(s, "ann@example.com", "cu_ann").await;
    assert_eq!(
        ann,
        ConsoleUserRecord {
            id: "cu_ann".into(),
            email: "ann@example.com".into(),
            is_operator: false,
            created_at: t0()
        }
    );
    let again = must(s.upsert_console_user("ann@example.com", "cu_other", t0() + Duration::hours(1)).await, "upsert");
    assert_eq!(again, ann, "an existing address keeps its user");
    assert_eq!(must(s.find_console_user("cu_other").await, "find_console_user"), None);
    assert_eq!(must(s.find_console_user("cu_ann").await, "find_console_user"), Some(ann.clone()));
    let op = must(s.set_console_operator("root@example.com", true, "cu_root", t0()).await, "set_console_operator");
    assert!(op.is_operator && op.id == "cu_root", "creates the user as an operator");
    let op = must(s.set_console_operator("root@example.com", false, "cu_x", t0()).await, "set_console_operator");
    assert!(!op.is_operator && op.id == "cu_root");
    assert_eq!(must(s.find_console_user("cu_root").await, "find").map(|u| u.is_operator), Some(false));
    let ann = must(s.set_console_operator("ann@example.com", true, "cu_y", t0()).await, "set_console_operator");
    assert!(ann.is_operator && ann.id == "cu_ann");
    let bob = user(s, "bob@example.com", "cu_bob").await;

    must(s.insert_org(&org("org_b", 10), "cu_bob").await, "insert_org");
    must(s.insert_org(&org("org_a", 20), "cu_ann").await, "insert_org");
    let dup = s.insert_org(&org("org_a", 30), "cu_bob").await;
    assert!(dup.is_err(), "an existing org id is refused");
    let members = must(s.members("org_a").await, "members");
    assert_eq!(members.len(), 1, "a refused insert_org adds no member");
    assert_eq!((members[0].user.id.as_str(), members[0].role.as_str()), ("cu_ann", "owner"));
    assert_eq!(must(s.find_org("org_a").await, "find_org"), Some(org("org_a", 20)));
    assert_eq!(must(s.find_org("org_none").await, "find_org"), None);
    let ids: Vec<String> = must(s.list_orgs().await, "list_orgs").into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["org_b", "org_a"], "oldest first");
    assert!(!must(s.set_member_role("org_a", "cu_bob", "admin").await, "set_member_role"), "not a member");
    assert!(!must(s.remove_member("org_a", "cu_bob").await, "remove_member"), "not a member");

    // bob joins org_a by invitation, as a developer; then his role changes.
    let inv = invitation("inv_1", "org_a", "bob@example.com", "developer", t0() + Duration::seconds(40));
    must(s.insert_invitation(&inv).await, "insert_invitation");
    assert!(must(s.accept_invitation("inv_1", &bob, t0() + Duration::seconds(50)).await, "accept_invitation"));
    let orgs: Vec<(String, String)> =
        must(s.orgs_of_user("cu_bob").await, "orgs_of_user").into_iter().map(|(o, r)| (o.id, r)).collect();
    assert_eq!(orgs, [("org_b".to_owned(), "owner".to_owned()), ("org_a".to_owned(), "developer".to_owned())]);
    let members: Vec<(String, String)> =
        must(s.members("org_a").await, "members").into_iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(
        members,
        [("cu_ann".to_owned(), "owner".to_owned()), ("cu_bob".to_owned(), "developer".to_owned())],
        "oldest first"
    );
    assert!(must(s.set_member_role("org_a", "cu_bob", "admin").await, "set_member_role"));
    assert_eq!(must(s.members("org_a").await, "members")[1].role, "admin");
    assert!(must(s.remove_member("org_a", "cu_bob").await, "remove_member"));
    assert!(!must(s.remove_member("org_a", "cu_bob").await, "remove_member"), "only once");
    assert_eq!(must(s.orgs_of_user("cu_bob").await, "orgs_of_user").len(), 1);
    assert!(must(s.orgs_of_user("cu_nobody").await, "orgs_of_user").is_empty());
}

fn invitation(id: &str, org: &str, email: &str, role: &str, at: OffsetDateTime) -> InvitationRecord {
    InvitationRecord {
        id: id.to_owned(),
        org_id: org.to_owned(),
        email: email.to_owned(),
        role: role.to_owned(),
        invited_by: "cu_owner".to_owned(),
        created_at: at,
        expires_at: at + Duration::days(7),
        accepted_at: None,
    }
}

pub(super) async fn invitations<S: ExtraStore>(s: &S) {
    let owner = user(s, "owner@example.com", "cu_owner").await;
    let cat = user(s, "cat@example.com", "cu_cat").await;
    let dan = user(s, "dan@example.com", "cu_dan").await;
    must(s.insert_org(&org("org_i", 0), &owner.id).await, "insert_org");
    must(s.insert_org(&org("org_j", 1), &owner.id).await, "insert_org");
    let at = |m: i64| t0() + Duration::minutes(m);
    let i1 = invitation("inv_c1", "org_i", "cat@example.com", "viewer", at(1));
    let i2 = invitation("inv_d1", "org_i", "dan@example.com", "admin", at(2));
    let short =
        InvitationRecord { expires_at: at(10), ..invitation("inv_c2", "org_j", "cat@example.com", "admin", at(3)) };
    let i4 = invitation("inv_o1", "org_i", "owner@example.com", "viewer", at(4));
    for i in [&i1, &i2, &short, &i4] {
        must(s.insert_invitation(i).await, "insert_invitation");
    }
    let ids = |v: Vec<InvitationRecord>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(must(s.org_invitations("org_i", at(5)).await, "org_invitations")), ["inv_c1", "inv_d1", "inv_o1"]);
    assert_eq!(ids(must(s.invitations_for("cat@example.com", at(5)).await, "invitations_for")), ["inv_c1", "inv_c2"]);
    assert_eq!(
        must(s.invitations_for("cat@example.com", at(5)).await, "invitations_for")[0],
        i1,
        "read back as written"
    );
    // Expired invitations are not open: not listed, not acceptable.
    assert_eq!(ids(must(s.invitations_for("cat@example.com", at(10)).await, "invitations_for")), ["inv_c1"]);
    assert!(must(s.org_invitations("org_j", at(10)).await, "org_invitations").is_empty());
    assert!(!must(s.accept_invitation("inv_c2", &cat, at(10)).await, "accept"), "expired");
    // Only the invited address may accept.
    assert!(!must(s.accept_invitation("inv_c1", &dan, at(6)).await, "accept"), "not theirs");
    assert!(must(s.org_invitations("org_i", at(6)).await, "org").iter().any(|i| i.id == "inv_c1"), "still open");
    assert!(must(s.accept_invitation("inv_c1", &cat, at(6)).await, "accept"));
    assert!(!must(s.accept_invitation("inv_c1", &cat, at(7)).await, "accept"), "accepted once");
    assert!(!must(s.accept_invitation("inv_none", &cat, at(7)).await, "accept"), "unknown");
    assert_eq!(
        ids(must(s.org_invitations("org_i", at(7)).await, "org_invitations")),
        ["inv_d1", "inv_o1"],
        "accepted: closed"
    );
    let roles: Vec<(String, String)> =
        must(s.members("org_i").await, "members").into_iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(roles, [("cu_owner".to_owned(), "owner".to_owned()), ("cu_cat".to_owned(), "viewer".to_owned())]);
    // An invitation never demotes: the owner accepting a viewer invitation stays owner.
    assert!(must(s.accept_invitation("inv_o1", &owner, at(8)).await, "accept"));
    let roles: Vec<String> = must(s.members("org_i").await, "members").into_iter().map(|m| m.role).collect();
    assert_eq!(roles, ["owner", "viewer"]);

    // Withdrawing: only open invitations of that organisation.
    assert!(!must(s.revoke_invitation("org_j", "inv_d1").await, "revoke_invitation"), "another org's invitation");
    assert!(!must(s.revoke_invitation("org_i", "inv_c1").await, "revoke_invitation"), "accepted already");
    assert!(must(s.revoke_invitation("org_i", "inv_d1").await, "revoke_invitation"));
    assert!(!must(s.revoke_invitation("org_i", "inv_d1").await, "revoke_invitation"), "gone");
    assert!(!must(s.accept_invitation("inv_d1", &dan, at(9)).await, "accept"), "a withdrawn invitation");
    assert!(must(s.orgs_of_user("cu_dan").await, "orgs_of_user").is_empty());
    assert!(must(s.invitations_for("dan@example.com", at(9)).await, "invitations_for").is_empty());
}

pub(super) async fn invitation_race<S: ExtraStore>(s: &S) {
    let owner = user(s, "o@example.com", "cu_o").await;
    let eve = user(s, "eve@example.com", "cu_eve").await;
    must(s.insert_org(&org("org_r", 0), &owner.id).await, "insert_org");
    must(s.insert_invitation(&invitation("inv_r", "org_r", "eve@example.com", "admin", t0())).await, "insert");
    let now = t0() + Duration::minutes(1);
    let results = race(s, |s, _| {
        let eve = eve.clone();
        async move { s.accept_invitation("inv_r", &eve, now).await }
    })
    .await;
    let won = results.into_iter().map(|r| must(r, "accept_invitation")).filter(|w| *w).count();
    assert_eq!(won, 1, "exactly one of racing acceptances succeeds");
    let members = must(s.members("org_r").await, "members");
    assert_eq!(members.len(), 2, "one membership added");
}

pub(super) async fn sessions_and_codes<S: ExtraStore>(s: &S) {
    user(s, "sam@example.com", "cu_sam").await;
    let sess = ConsoleSessionRecord {
        digest: "sd1".to_owned(),
        user_id: "cu_sam".to_owned(),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
        revoked_at: None,
    };
    must(s.insert_console_session(&sess).await, "insert_console_session");
    assert_eq!(must(s.find_console_session("sd1").await, "find"), Some(sess.clone()));
    assert_eq!(must(s.find_console_session("sd2").await, "find"), None);
    let seen = t0() + Duration::minutes(20);
    must(s.touch_console_session("sd1", seen).await, "touch_console_session");
    let found = must(s.find_console_session("sd1").await, "find").unwrap_or_else(|| panic!("session gone"));
    assert_eq!(
        (found.last_seen_at, found.expires_at, found.created_at),
        (seen, sess.expires_at, t0()),
        "touch moves only last_seen_at"
    );
    let out = t0() + Duration::minutes(30);
    must(s.revoke_console_session("sd1", out).await, "revoke_console_session");
    must(s.revoke_console_session("sd1", out + Duration::minutes(5)).await, "revoke_console_session");
    let found =
        must(s.find_console_session("sd1").await, "find").unwrap_or_else(|| panic!("revoked sessions are found"));
    assert_eq!(found.revoked_at, Some(out), "the first sign-out's time stays");

    let code = |email: &str, digest: &str, mins: i64, ip: Option<&str>| ConsoleCodeRecord {
        id: 0,
        email: email.to_owned(),
        code_digest: digest.to_owned(),
        created_at: t0() + Duration::minutes(mins),
        expires_at: t0() + Duration::minutes(mins + 10),
        attempts: 0,
        consumed_at: None,
        requested_ip: ip.map(str::to_owned),
    };
    assert_eq!(must(s.latest_console_code("sam@example.com").await, "latest"), None);
    must(s.insert_console_code(&code("sam@example.com", "c1", 0, Some("10.0.0.1"))).await, "insert_console_code");
    must(s.insert_console_code(&code("sam@example.com", "c2", 5, Some("10.0.0.2"))).await, "insert_console_code");
    must(s.insert_console_code(&code("sam@example.com", "c3", 5, Some("10.0.0.1"))).await, "insert_console_code");
    must(s.insert_console_code(&code("zed@example.com", "z1", 6, None)).await, "insert_console_code");
    let latest = must(s.latest_console_code("sam@example.com").await, "latest").unwrap_or_else(|| panic!("no code"));
    assert_eq!(latest.code_digest, "c3", "the newest: the last sent");
    assert_eq!((latest.attempts, latest.consumed_at, latest.requested_ip.as_deref()), (0, None, Some("10.0.0.1")));
    let times = must(s.console_code_times("sam@example.com", None, t0()).await, "console_code_times");
    assert_eq!(times, [t0(), t0() + Duration::minutes(5), t0() + Duration::minutes(5)], "oldest first");
    let times =
        must(s.console_code_times("sam@example.com", Some("10.0.0.1".into()), t0() + Duration::minutes(1)).await, "t");
    assert_eq!(times, [t0() + Duration::minutes(5)], "since and ip filter");
    let times = must(s.console_code_times("sam@example.com", None, t0() + Duration::minutes(5)).await, "times");
    assert_eq!(times.len(), 2, "since is inclusive");

    // Attempts: `max` guesses, then no more.
    for i in 0..3 {
        assert!(must(s.spend_console_code_attempt(latest.id, 3).await, "spend"), "guess {i} of 3");
    }
    assert!(!must(s.spend_console_code_attempt(latest.id, 3).await, "spend"), "the budget is spent");
    let after = must(s.latest_console_code("sam@example.com").await, "latest").unwrap_or_else(|| panic!("no code"));
    assert_eq!(after.attempts, 3, "a refused guess is not counted");
    assert!(!must(s.console_verified_from("sam@example.com", "10.0.0.1", t0()).await, "verified"));
    let used = t0() + Duration::minutes(7);
    assert!(must(s.consume_console_code(latest.id, used).await, "consume_console_code"));
    assert!(!must(s.consume_console_code(latest.id, used).await, "consume_console_code"), "once");
    let after = must(s.latest_console_code("sam@example.com").await, "latest").unwrap_or_else(|| panic!("no code"));
    assert_eq!(after.consumed_at, Some(used));
    assert!(must(s.console_verified_from("sam@example.com", "10.0.0.1", used).await, "verified"), "since is inclusive");
    assert!(!must(s.console_verified_from("sam@example.com", "10.0.0.1", used + Duration::seconds(1)).await, "v"));
    assert!(!must(s.console_verified_from("sam@example.com", "10.0.0.2", t0()).await, "verified"), "another ip");
    assert!(!must(s.console_verified_from("zed@example.com", "10.0.0.1", t0()).await, "verified"), "another address");
}

pub(super) async fn client_orgs<S: ExtraStore>(s: &S) {
    let a = client(s, "coa").await;
    let b = client(s, "cob").await;
    let c = client(s, "coc").await;
    user(s, "x@example.com", "cu_x").await;
    must(s.insert_org(&org("org_1", 0), "cu_x").await, "insert_org");
    must(s.insert_org(&org("org_2", 1), "cu_x").await, "insert_org");
    assert_eq!(must(s.client_org(&a.id).await, "client_org"), None);
    must(s.assign_client(&a.id, "org_1", t0()).await, "assign_client");
    must(s.assign_client(&b.id, "org_1", t0() + Duration::seconds(1)).await, "assign_client");
    must(s.assign_client(&c.id, "org_2", t0() + Duration::seconds(2)).await, "assign_client");
    assert_eq!(must(s.client_org(&a.id).await, "client_org").as_deref(), Some("org_1"));
    assert_eq!(must(s.org_clients("org_1").await, "org_clients"), vec![a.id.clone(), b.id.clone()]);
    // Reassigning moves the client.
    must(s.assign_client(&a.id, "org_2", t0() + Duration::seconds(3)).await, "assign_client");
    assert_eq!(must(s.client_org(&a.id).await, "client_org").as_deref(), Some("org_2"));
    assert_eq!(must(s.org_clients("org_1").await, "org_clients"), vec![b.id.clone()]);
    let mut two = must(s.org_clients("org_2").await, "org_clients");
    two.sort();
    let mut want = vec![a.id.clone(), c.id.clone()];
    want.sort();
    assert_eq!(two, want);

    assert!(must(s.set_client_mode(&b.id, ClientMode::Production).await, "set_client_mode"));
    let found = must(s.find_client(&b.id).await, "find_client").unwrap_or_else(|| panic!("client gone"));
    assert_eq!(found.mode, ClientMode::Production);
    assert!(!must(s.set_client_mode(&ClientId::from_stored("kc_none".into()), ClientMode::Production).await, "mode"));

    assert!(must(s.production_requests().await, "production_requests").is_empty());
    let when = t0() + Duration::hours(1);
    must(s.set_production_request(&c.id, Some(("cu_x".into(), when + Duration::minutes(1)))).await, "request");
    must(s.set_production_request(&b.id, Some(("cu_x".into(), when))).await, "request");
    let reqs = must(s.production_requests().await, "production_requests");
    assert_eq!(
        reqs,
        vec![(b.id.clone(), "cu_x".to_owned(), when), (c.id.clone(), "cu_x".to_owned(), when + Duration::minutes(1))],
        "oldest request first"
    );
    must(s.set_production_request(&b.id, None).await, "clear request");
    let reqs = must(s.production_requests().await, "production_requests");
    assert_eq!(reqs.len(), 1, "a cleared request is gone");
    assert_eq!(reqs[0].0, c.id);
}

pub(super) async fn webhook_settings<S: ExtraStore>(s: &S) {
    let c = client(s, "cw").await;
    let other = client(s, "cwo").await;
    let e1 = endpoint(s, &c.id, "wh_cw1", vec![], t0()).await;
    let e2 = endpoint(s, &c.id, "wh_cw2", vec![WebhookEvent::GrantCreated], t0()).await;
    assert!(
        must(s.webhook_settings(vec![e1.id.clone(), e2.id.clone()]).await, "webhook_settings").is_empty(),
        "none yet"
    );
    assert!(must(s.webhook_settings(vec![]).await, "webhook_settings").is_empty());

    let t1 = t0() + Duration::minutes(1);
    let changed = s
        .update_webhook(
            &c.id,
            "wh_cw2",
            Some("https://new.example/h".into()),
            Some(vec![WebhookEvent::GrantRevoked]),
            Some(Some("main".into())),
            t1,
        )
        .await;
    assert!(must(changed, "update_webhook"));
    let found = must(s.find_webhook_endpoint("wh_cw2").await, "find").unwrap_or_else(|| panic!("endpoint gone"));
    assert_eq!(
        (found.url.as_str(), found.events.clone(), found.updated_at),
        ("https://new.example/h", vec![WebhookEvent::GrantRevoked], t1)
    );
    assert_eq!(found.secret, e2.secret, "the secret is untouched");
    let settings = must(s.webhook_settings(vec!["wh_cw2".into()]).await, "webhook_settings");
    assert_eq!(settings.len(), 1);
    assert_eq!(
        (settings[0].0.as_str(), settings[0].1.description.as_deref(), settings[0].1.disabled_at),
        ("wh_cw2", Some("main"), None)
    );
    // None leaves a field alone; Some(None) clears the description.
    assert!(must(s.update_webhook(&c.id, "wh_cw2", None, None, None, t1).await, "update_webhook"));
    let found = must(s.find_webhook_endpoint("wh_cw2").await, "find").unwrap_or_else(|| panic!("endpoint gone"));
    assert_eq!(found.url, "https://new.example/h");
    assert_eq!(
        must(s.webhook_settings(vec!["wh_cw2".into()]).await, "settings")[0].1.description.as_deref(),
        Some("main")
    );
    assert!(must(s.update_webhook(&c.id, "wh_cw2", None, None, Some(None), t1).await, "update_webhook"));
    assert_eq!(must(s.webhook_settings(vec!["wh_cw2".into()]).await, "settings")[0].1.description, None);
    assert!(
        !must(s.update_webhook(&other.id, "wh_cw2", Some("https://x".into()), None, None, t1).await, "update"),
        "another client's"
    );
    assert!(!must(s.update_webhook(&c.id, "wh_none", None, None, None, t1).await, "update"), "unknown");

    // Disabling cancels undelivered deliveries and writes no new ones until re-enabled.
    connected(s, &c.id, "cw1", t1).await;
    let pending = must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries");
    assert_eq!(pending.len(), 1, "grant.created to wh_cw1 only (wh_cw2 listens to grant.revoked): {pending:?}");
    assert_eq!((pending[0].endpoint_id.as_str(), pending[0].status.as_str()), ("wh_cw1", "pending"));
    let t2 = t0() + Duration::minutes(2);
    assert!(must(s.set_webhook_disabled(&c.id, "wh_cw1", true, t2).await, "set_webhook_disabled"));
    assert!(!must(s.set_webhook_disabled(&other.id, "wh_cw1", true, t2).await, "disable"), "another client's");
    let list = must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries");
    assert_eq!((list[0].status.as_str(), list[0].completed_at), ("cancelled", Some(t2)));
    let settings = must(s.webhook_settings(vec!["wh_cw1".into(), "wh_none".into()]).await, "settings");
    assert_eq!(settings.len(), 1, "missing endpoints have no settings");
    assert_eq!(settings[0].1.disabled_at, Some(t2));
    connected(s, &c.id, "cw2", t2).await;
    assert_eq!(
        must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries").len(),
        1,
        "nothing written while disabled"
    );
    assert!(must(s.set_webhook_disabled(&c.id, "wh_cw1", false, t2).await, "enable"));
    assert_eq!(must(s.webhook_settings(vec!["wh_cw1".into()]).await, "settings")[0].1.disabled_at, None);
    connected(s, &c.id, "cw3", t2).await;
    let list = must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries");
    assert_eq!(list.len(), 2, "re-enabled: written again");
    assert_eq!((list[0].status.as_str(), list[0].event.as_str()), ("pending", "grant.created"));
    // Disabling keeps the description.
    must(s.update_webhook(&c.id, "wh_cw1", None, None, Some(Some("d".into())), t2).await, "update_webhook");
    must(s.set_webhook_disabled(&c.id, "wh_cw1", true, t2).await, "disable");
    let st = must(s.webhook_settings(vec!["wh_cw1".into()]).await, "settings");
    assert_eq!((st[0].1.description.as_deref(), st[0].1.disabled_at), (Some("d"), Some(t2)));
    must(s.set_webhook_disabled(&c.id, "wh_cw1", false, t2).await, "enable");
    // Drain what is pending, so the direct delivery is the only one due.
    let t3 = t0() + Duration::minutes(3);
    while let Some(d) = must(s.claim_webhook_delivery("w", t3, Duration::minutes(1)).await, "claim") {
        must(s.finish_webhook_delivery(d.seq, "w", &DeliveryAttempt::Delivered { status: 200 }, t3).await, "finish");
    }

    // A direct (test) delivery: to that endpoint only, with its own ordering key.
    let data = serde_json::json!({"test": true});
    assert!(must(s.enqueue_direct_delivery(&c.id, "wh_cw2", "whd_test1", "webhook.test", &data, t3).await, "direct"));
    assert!(!must(
        s.enqueue_direct_delivery(&other.id, "wh_cw2", "whd_test2", "webhook.test", &data, t3).await,
        "direct"
    ));
    assert!(!must(s.enqueue_direct_delivery(&c.id, "wh_none", "whd_test3", "webhook.test", &data, t3).await, "direct"));
    let list = must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries");
    let test = list.iter().find(|d| d.id == "whd_test1").unwrap_or_else(|| panic!("direct delivery missing: {list:?}"));
    assert_eq!(
        (test.endpoint_id.as_str(), test.event.as_str(), test.grant_id.as_str()),
        ("wh_cw2", "webhook.test", "whd_test1")
    );
    assert!(list.iter().all(|d| d.id != "whd_test2" && d.id != "whd_test3"));
    let claimed =
        must(s.claim_webhook_delivery("w", t3, Duration::minutes(1)).await, "claim").unwrap_or_else(|| panic!("due"));
    assert_eq!((claimed.id.as_str(), claimed.data_json.as_str()), ("whd_test1", "{\"test\":true}"));
    assert!(!must(s.redeliver(&c.id, "whd_test1", t3).await, "redeliver"), "in flight: not finished");
    let fail = DeliveryAttempt::Failed { status: Some(500), error: "boom".into() };
    must(s.finish_webhook_delivery(claimed.seq, "w", &fail, t3).await, "finish");
    // Redeliver: the same id, pending again with attempts reset.
    let t4 = t0() + Duration::minutes(4);
    assert!(!must(s.redeliver(&other.id, "whd_test1", t4).await, "redeliver"), "another client's delivery");
    assert!(must(s.redeliver(&c.id, "whd_test1", t4).await, "redeliver"));
    let list = must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries");
    let again = list.iter().find(|d| d.id == "whd_test1").unwrap_or_else(|| panic!("redelivered row missing"));
    assert_eq!(
        (again.status.as_str(), again.attempts, again.next_attempt_at, again.completed_at),
        ("pending", 0, t4, None)
    );
    assert_eq!(list.iter().filter(|d| d.id == "whd_test1").count(), 1, "the same row, not a copy");
    assert!(!must(s.redeliver(&c.id, "whd_test1", t4).await, "redeliver"), "pending: not finished");
    let claimed =
        must(s.claim_webhook_delivery("w", t4, Duration::minutes(1)).await, "claim").unwrap_or_else(|| panic!("due"));
    assert_eq!((claimed.id.as_str(), claimed.attempts), ("whd_test1", 1));
    must(s.finish_webhook_delivery(claimed.seq, "w", &DeliveryAttempt::Delivered { status: 204 }, t4).await, "finish");
    // A removed endpoint's deliveries are not redelivered.
    assert!(must(s.remove_webhook_endpoint(&c.id, "wh_cw2", t4).await, "remove"));
    assert!(!must(s.redeliver(&c.id, "whd_test1", t4).await, "redeliver"), "endpoint removed");
    assert!(!must(s.update_webhook(&c.id, "wh_cw2", None, None, None, t4).await, "update"), "removed endpoint");
    assert!(!must(s.set_webhook_disabled(&c.id, "wh_cw2", true, t4).await, "disable"), "removed endpoint");
    assert!(!must(s.redeliver(&c.id, "whd_none", t4).await, "redeliver"), "unknown");
}

pub(super) async fn usage<S: ExtraStore>(s: &S) {
    let c = client(s, "cu").await;
    let other = client(s, "cuo").await;
    let day = Duration::days(1);
    let d0 = t0();
    // Day 0: two link tokens (one completes on day 1), one full connection (link, completion, exchange).
    session(s, &c.id, "cu-a", d0 + Duration::hours(1)).await;
    let late = session(s, &c.id, "cu-b", d0 + Duration::hours(23)).await;
    connected(s, &c.id, "cu1", d0 + Duration::hours(2)).await;
    assert!(must(s.complete_link_session(late.id, d0 + day + Duration::hours(1), None).await, "complete"));
    // Day 2: nothing. Day 3: one connection. Another client's activity never counts.
    connected(s, &c.id, "cu2", d0 + day * 3 + Duration::minutes(5)).await;
    connected(s, &other.id, "cuo1", d0 + Duration::hours(3)).await;
    // Activity before `since`'s day does not count.
    session(s, &c.id, "cu-old", d0 - Duration::hours(1)).await;
    must(
        s.add_data_api_calls(&[(c.id.clone(), d0, 5), (c.id.clone(), d0 + day * 3, 7), (other.id.clone(), d0, 100)])
            .await,
        "add_data_api_calls",
    );
    // The same key again adds up (several nodes report their own counts).
    must(s.add_data_api_calls(&[(c.id.clone(), d0, 2)]).await, "add_data_api_calls");
    must(s.add_data_api_calls(&[]).await, "add_data_api_calls");

    let now = d0 + day * 3 + Duration::hours(12);
    let usage = must(s.usage(&c.id, d0 + Duration::hours(6), now).await, "usage");
    let days: Vec<OffsetDateTime> = usage.iter().map(|u| u.day).collect();
    assert_eq!(
        days,
        [d0, d0 + day, d0 + day * 2, d0 + day * 3],
        "UTC days from since's day to now, empty ones included"
    );
    // Each connection is one link token, one completion, one exchange (the grant fixture runs
    // its own widget session besides the guest's).
    let counts: Vec<(u64, u64, u64, u64)> =
        usage.iter().map(|u| (u.link_tokens, u.completions, u.exchanges, u.data_api_calls)).collect();
    assert_eq!(counts, [(4, 1, 1, 7), (0, 1, 0, 0), (0, 0, 0, 0), (2, 1, 1, 7)]);
    let none = must(s.usage(&ClientId::from_stored("kc_none".into()), d0, d0).await, "usage");
    assert_eq!(none.len(), 1, "one empty day");
    assert_eq!((none[0].link_tokens, none[0].completions, none[0].exchanges, none[0].data_api_calls), (0, 0, 0, 0));
}
