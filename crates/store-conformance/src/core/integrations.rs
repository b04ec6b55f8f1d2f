//! [`IntegrationStore`](kc_ports::store::IntegrationStore): integrations, the sync queue
//! (claims with a lease) and balances.

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{SyncStatus, WebhookEvent, WorkspaceId};
use kc_ports::store::StoreError;
use time::Duration;

const LEASE: Duration = Duration::seconds(60);

/// An integration reads back as inserted, lists oldest first, and comes with its first sync
/// job (`from_start`); its id, or its address in the same workspace, stored twice is `Conflict`.
pub async fn integration_insert_queues_first_sync<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let ws = signed.workspace.clone();
    let later = new_integration(&ws, 20);
    let first = new_integration(&ws, 10);
    must(s.insert_integration(&later).await, "insert_integration");
    must(s.insert_integration(&first).await, "insert_integration");
    assert_eq!(
        must(s.find_integration(&first.id).await, "find_integration"),
        Some(first.clone()),
        "an integration reads back as inserted"
    );
    let ids: Vec<String> =
        must(s.list_integrations(&ws).await, "list_integrations").into_iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![first.id.clone(), later.id.clone()], "integrations list oldest first");
    assert!(must(s.list_integrations(&WorkspaceId::generate(&kc_domain::OsSecretRng)).await, "list_integrations")
        .is_empty());

    let mut same_id = new_integration(&ws, 30);
    same_id.id = first.id.clone();
    match s.insert_integration(&same_id).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("an integration id stored twice must be Conflict, got {other:?}"),
    }
    let mut same_address = new_integration(&ws, 30);
    same_address.address = first.address.clone();
    match s.insert_integration(&same_address).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a workspace's address stored twice must be Conflict, got {other:?}"),
    }
    assert!(
        must(s.find_integration(&same_address.id).await, "find_integration").is_none(),
        "the refused integration is not stored"
    );

    let j1 = must(s.claim_sync_job("w", at(30), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("no first sync job"));
    let j2 = must(s.claim_sync_job("w", at(30), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("no first sync job"));
    assert_eq!(
        (j1.integration_id.as_str(), j1.mode.as_str(), j1.attempts),
        (first.id.as_str(), "from_start", 1),
        "the oldest integration's first sync comes first"
    );
    assert_eq!((j2.integration_id.as_str(), j2.mode.as_str()), (later.id.as_str(), "from_start"));
    assert!(
        must(s.claim_sync_job("w", at(30), LEASE).await, "claim_sync_job").is_none(),
        "no further job (refused integrations queue none)"
    );
    let syncing = must(s.find_integration(&first.id).await, "find_integration").unwrap_or_else(|| panic!("vanished"));
    assert_eq!(syncing.sync_status, SyncStatus::Syncing, "a claimed job marks its integration syncing");
}

/// A job is held by one worker until its lease lapses, then another worker re-claims it; only
/// the holder finishes it, which stores the balances and marks the integration synced.
pub async fn sync_claim_lease_and_reclaim<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 0);
    must(s.insert_integration(&i).await, "insert_integration");
    assert!(
        must(s.claim_sync_job("w", at(-1), LEASE).await, "claim_sync_job").is_none(),
        "a job is not due before its time"
    );
    let job = must(s.claim_sync_job("a", at(10), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("the due job was not claimed"));
    assert!(
        must(s.claim_sync_job("b", at(69), LEASE).await, "claim_sync_job").is_none(),
        "a held job is not claimed during its lease"
    );
    let again = must(s.claim_sync_job("b", at(71), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("a job whose lease lapsed must be re-claimed"));
    assert_eq!((again.id, again.attempts), (job.id, 2), "the re-claim is the same job, second attempt");
    let rows = [balance("ETH", "1.5"), balance("USDC", "20")];
    assert!(
        !must(s.finish_sync_job(&job, "a", &rows, None, at(72)).await, "finish_sync_job"),
        "the worker whose lease lapsed cannot finish"
    );
    assert!(!must(s.fail_sync_job(&job, "a", "late", None, at(72)).await, "fail_sync_job"), "nor fail it");
    assert!(
        must(s.workspace_balances(&signed.workspace).await, "workspace_balances").is_empty(),
        "the refused finish stored nothing"
    );
    assert!(must(s.finish_sync_job(&again, "b", &rows, None, at(73)).await, "finish_sync_job"), "the holder finishes");
    assert!(!must(s.finish_sync_job(&again, "b", &rows, None, at(74)).await, "finish_sync_job"), "a job finishes once");
    let got = must(s.workspace_balances(&signed.workspace).await, "workspace_balances");
    assert_eq!(
        got.iter().map(|b| (b.integration_id.as_str(), b.provider.as_str(), b.row.clone())).collect::<Vec<_>>(),
        vec![(i.id.as_str(), "ethereum", rows[0].clone()), (i.id.as_str(), "ethereum", rows[1].clone())],
        "the balances are stored in order"
    );
    let synced = must(s.find_integration(&i.id).await, "find_integration").unwrap_or_else(|| panic!("vanished"));
    assert_eq!(
        (synced.sync_status, synced.last_synced_at, synced.last_error),
        (SyncStatus::Synced, Some(at(73)), None)
    );
    assert!(
        must(s.claim_sync_job("c", at(500), LEASE).await, "claim_sync_job").is_none(),
        "a finished job is never claimed again"
    );

    assert!(
        must(s.enqueue_sync(&i.id, "latest", at(80)).await, "enqueue_sync"),
        "a new sync is queued once the last finished"
    );
    let kept = must(s.workspace_balances(&signed.workspace).await, "workspace_balances");
    assert_eq!(kept.len(), 2, "the stored balances stay until the job replaces them");
    assert!(!must(s.enqueue_sync(&i.id, "latest", at(80)).await, "enqueue_sync"), "a queued job refuses another");
    let next = must(s.claim_sync_job("a", at(80), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("queued sync not claimed"));
    assert!(must(s.finish_sync_job(&next, "a", &rows[..1], None, at(81)).await, "finish_sync_job"));
    assert_eq!(
        must(s.workspace_balances(&signed.workspace).await, "workspace_balances").len(),
        1,
        "a finished sync replaces the balances"
    );
}

/// A failed attempt requeues the job at the retry time, or fails it for good (integration
/// failed, `integration.failed` enqueued).
pub async fn sync_failure_requeues_or_fails<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::IntegrationFailed], 0).await;
    let (_, _, signed) = grant(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 30);
    must(s.insert_integration(&i).await, "insert_integration");
    let job = must(s.claim_sync_job("a", at(30), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert!(
        must(s.fail_sync_job(&job, "a", "rpc down", Some(at(100)), at(31)).await, "fail_sync_job"),
        "the holder records a failure"
    );
    let queued = must(s.find_integration(&i.id).await, "find_integration").unwrap_or_else(|| panic!("vanished"));
    assert_eq!(
        (queued.sync_status, queued.last_error.as_deref()),
        (SyncStatus::Queued, Some("rpc down")),
        "a retried failure leaves it queued with the error"
    );
    assert!(!must(s.enqueue_sync(&i.id, "latest", at(32)).await, "enqueue_sync"), "a queued job refuses another");
    assert!(
        must(s.claim_sync_job("b", at(99), LEASE).await, "claim_sync_job").is_none(),
        "not due before the retry time"
    );
    let retry = must(s.claim_sync_job("b", at(100), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("the retry is due"));
    assert_eq!((retry.id, retry.attempts), (job.id, 2));
    assert!(deliveries(&s, &c.id).await.is_empty(), "no integration.failed for a retried failure");
    assert!(must(s.fail_sync_job(&retry, "b", "gave up", None, at(101)).await, "fail_sync_job"));
    let failed = must(s.find_integration(&i.id).await, "find_integration").unwrap_or_else(|| panic!("vanished"));
    assert_eq!((failed.sync_status, failed.last_error.as_deref()), (SyncStatus::Failed, Some("gave up")));
    assert!(
        must(s.claim_sync_job("c", at(1000), LEASE).await, "claim_sync_job").is_none(),
        "a failed job is never claimed again"
    );
    let events: Vec<String> = deliveries(&s, &c.id).await.into_iter().map(|d| d.event).collect();
    assert_eq!(
        events,
        vec![WebhookEvent::IntegrationFailed.as_str().to_owned()],
        "a failure for good enqueues integration.failed"
    );
    assert!(
        must(s.enqueue_sync(&i.id, "latest", at(102)).await, "enqueue_sync"),
        "a failed integration can be queued again"
    );
    assert!(
        !must(s.enqueue_sync("wal_unknown", "latest", at(102)).await, "enqueue_sync"),
        "an unknown integration queues nothing"
    );
}

/// Of many concurrent claimers of one due job exactly one gets it.
pub async fn sync_claim_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 0);
    must(s.insert_integration(&i).await, "insert_integration");
    let outcomes = race(RACERS, |n| {
        let s = s.clone();
        async move { s.claim_sync_job(&format!("w{n}"), at(10), LEASE).await }
    })
    .await;
    let mut claimed = 0;
    for out in outcomes {
        if must(out, "claim_sync_job").is_some() {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1, "exactly one of {RACERS} concurrent claimers gets the job");
}

/// Deleting an integration removes it with its jobs and balances and enqueues
/// `integration.deleted`; a worker holding its job can no longer finish; another
/// workspace cannot delete it.
pub async fn delete_integration_removes_everything<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::IntegrationDeleted], 0).await;
    let (_, _, signed) = grant(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 30);
    must(s.insert_integration(&i).await, "insert_integration");
    let job = must(s.claim_sync_job("a", at(30), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert!(must(s.finish_sync_job(&job, "a", &[balance("ETH", "1")], None, at(31)).await, "finish_sync_job"));
    assert!(must(s.enqueue_sync(&i.id, "latest", at(32)).await, "enqueue_sync"));
    let held = must(s.claim_sync_job("a", at(32), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert!(
        !must(
            s.delete_integration(&WorkspaceId::generate(&kc_domain::OsSecretRng), &i.id, at(33)).await,
            "delete_integration"
        ),
        "another workspace cannot delete it"
    );
    assert!(
        must(s.delete_integration(&signed.workspace, &i.id, at(33)).await, "delete_integration"),
        "its workspace deletes it"
    );
    assert!(
        !must(s.delete_integration(&signed.workspace, &i.id, at(34)).await, "delete_integration"),
        "a deleted integration is gone"
    );
    assert!(must(s.find_integration(&i.id).await, "find_integration").is_none());
    assert!(
        must(s.workspace_balances(&signed.workspace).await, "workspace_balances").is_empty(),
        "its balances are gone"
    );
    assert!(
        !must(s.finish_sync_job(&held, "a", &[balance("ETH", "2")], None, at(35)).await, "finish_sync_job"),
        "the held job was deleted with it"
    );
    assert!(must(s.claim_sync_job("b", at(10_000), LEASE).await, "claim_sync_job").is_none(), "no job of it is left");
    let ds = deliveries(&s, &c.id).await;
    assert_eq!(ds.len(), 1, "one integration.deleted delivery");
    assert_eq!(ds[0].event, WebhookEvent::IntegrationDeleted.as_str());
    let claimed = drain(&s, at(40)).await;
    let data: serde_json::Value =
        serde_json::from_str(&claimed[0].data_json).unwrap_or_else(|e| panic!("payload is not JSON: {e}"));
    assert_eq!(
        (data["walletId"].as_str(), data["workspaceId"].as_str()),
        (Some(i.id.as_str()), Some(signed.workspace.as_str())),
        "the delivery carries the integration as it was"
    );
}

/// `integration.*` events reach every enabled client holding a live grant over the
/// integration's workspace once (ordered with its oldest such grant), and no other client.
pub async fn integration_events_reach_each_granted_client_once<S: CoreStore>(s: S) {
    let a = client(&s).await;
    let b = client(&s).await;
    let disabled = client(&s).await;
    let revoked = client(&s).await;
    let outsider = client(&s).await;
    for c in [&a, &b, &disabled, &revoked, &outsider] {
        endpoint(&s, &c.id, &[WebhookEvent::IntegrationCreated], 0).await;
    }
    // One user shares one workspace with a (twice), b, disabled and revoked.
    let (ga, _, signed) = grant(&s, &a.id, "openid").await;
    let share = |client: kc_domain::ClientId| {
        let (s, signed_user, ws) = (s.clone(), signed.user.clone(), signed.workspace.clone());
        async move {
            let (l, _) = session(&s, &client, "openid").await;
            let p = kc_ports::store::NewPublicToken {
                digest: digest(kc_domain::TokenKind::Public),
                user_id: signed_user,
                workspace_id: ws,
                scopes: scopes("openid"),
                created_at: t0(),
                expires_at: at(1800),
            };
            assert!(must(s.complete_link_session(l.id, at(10), Some(p.clone())).await, "complete_link_session"));
            match must(s.exchange_public_token(&p.digest, &client, at(20), &issue()).await, "exchange_public_token") {
                kc_ports::store::ExchangeOutcome::Issued(g) => g,
                other => panic!("exchange refused: {other:?}"),
            }
        }
    };
    share(a.id.clone()).await;
    let gb = share(b.id.clone()).await;
    share(disabled.id.clone()).await;
    let gr = share(revoked.id.clone()).await;
    grant(&s, &outsider.id, "openid").await;
    must(s.disable_client(&disabled.id, at(25)).await, "disable_client");
    must(s.revoke_grant(&gr.id, &revoked.id, at(25)).await, "revoke_grant");
    let i = new_integration(&signed.workspace, 30);
    must(s.insert_integration(&i).await, "insert_integration");
    let got = |ds: Vec<kc_ports::store::WebhookDeliveryRecord>| {
        ds.into_iter().map(|d| (d.event, d.grant_id)).collect::<Vec<_>>()
    };
    let created = WebhookEvent::IntegrationCreated.as_str().to_owned();
    assert_eq!(
        got(deliveries(&s, &a.id).await),
        vec![(created.clone(), ga.id.to_string())],
        "a client with two grants over the workspace gets one delivery, ordered with its oldest grant"
    );
    assert_eq!(got(deliveries(&s, &b.id).await), vec![(created, gb.id.to_string())]);
    assert!(deliveries(&s, &disabled.id).await.is_empty(), "a disabled client gets none");
    assert!(deliveries(&s, &revoked.id).await.is_empty(), "a client whose grant is revoked gets none");
    assert!(deliveries(&s, &outsider.id).await.is_empty(), "a client without a grant over the workspace gets none");
}

/// Concurrent requests to sync one integration queue exactly one job.
pub async fn enqueue_sync_race_queues_one_job<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 0);
    must(s.insert_integration(&i).await, "insert_integration");
    let first = must(s.claim_sync_job("w", at(1), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert!(must(s.finish_sync_job(&first, "w", &[], None, at(2)).await, "finish_sync_job"));
    let outcomes = race(RACERS, |_| {
        let (s, id) = (s.clone(), i.id.clone());
        async move { s.enqueue_sync(&id, "latest", at(10)).await }
    })
    .await;
    let queued = outcomes.into_iter().filter(|o| matches!(o, Ok(true))).count();
    assert_eq!(queued, 1, "exactly one of {RACERS} concurrent enqueues queues a job");
    assert!(must(s.claim_sync_job("w", at(10), LEASE).await, "claim_sync_job").is_some());
    assert!(must(s.claim_sync_job("w", at(10), LEASE).await, "claim_sync_job").is_none(), "and only one job is queued");
}

/// A sync whose balances landed but whose history must wait (a rate limit) finishes with a
/// follow-up: the integration is synced with its balances, and the same job comes back at the
/// time asked, in mode `latest` (a `from_start` reset is not repeated), its attempts counted on;
/// meanwhile no second job is queued.
pub async fn a_sync_finished_with_a_follow_up_runs_again_at_its_time<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    let i = new_integration(&signed.workspace, 0);
    must(s.insert_integration(&i).await, "insert_integration");
    let first = must(s.claim_sync_job("w", at(1), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert!(must(s.finish_sync_job(&first, "w", &[], None, at(2)).await, "finish_sync_job"));
    assert!(must(s.enqueue_sync(&i.id, "from_start", at(3)).await, "enqueue_sync"));
    let job = must(s.claim_sync_job("w", at(4), LEASE).await, "claim_sync_job").unwrap_or_else(|| panic!("no job"));
    assert_eq!((job.mode.as_str(), job.attempts), ("from_start", 1));
    let rows = [balance("ETH", "1.5")];
    assert!(must(s.finish_sync_job(&job, "w", &rows, Some(at(120)), at(5)).await, "finish_sync_job"));

    let synced = must(s.find_integration(&i.id).await, "find_integration").unwrap_or_else(|| panic!("vanished"));
    assert_eq!((synced.sync_status, synced.last_synced_at), (SyncStatus::Synced, Some(at(5))), "synced meanwhile");
    assert_eq!(must(s.workspace_balances(&signed.workspace).await, "workspace_balances").len(), 1, "balances landed");
    assert!(!must(s.enqueue_sync(&i.id, "latest", at(6)).await, "enqueue_sync"), "the follow-up is the queued job");
    assert!(
        must(s.claim_sync_job("w", at(119), LEASE).await, "claim_sync_job").is_none(),
        "the follow-up is not due before its time"
    );
    let again = must(s.claim_sync_job("w", at(120), LEASE).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("the follow-up was not claimed at its time"));
    assert_eq!(
        (again.id, again.mode.as_str(), again.attempts),
        (job.id, "latest", 2),
        "the same job, incremental, its second attempt"
    );
    assert!(must(s.finish_sync_job(&again, "w", &rows, None, at(121)).await, "finish_sync_job"));
    assert!(
        must(s.claim_sync_job("w", at(10_000), LEASE).await, "claim_sync_job").is_none(),
        "finished without a follow-up: done"
    );
}

/// Concurrent claimers of several due jobs each get a different one, and every job is claimed.
pub async fn sync_claims_spread_over_due_jobs<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let signed = signed_in(&s, &c.id, "openid").await;
    for n in 0..4 {
        must(s.insert_integration(&new_integration(&signed.workspace, n)).await, "insert_integration");
    }
    let outcomes = race(RACERS, |n| {
        let s = s.clone();
        async move { s.claim_sync_job(&format!("w{n}"), at(10), LEASE).await }
    })
    .await;
    let mut ids: Vec<i64> = outcomes.into_iter().filter_map(|o| must(o, "claim_sync_job")).map(|j| j.id).collect();
    ids.sort_unstable();
    let claimed = ids.len();
    ids.dedup();
    assert_eq!((claimed, ids.len()), (4, 4), "{RACERS} concurrent claimers of 4 due jobs claim each exactly once");
}
