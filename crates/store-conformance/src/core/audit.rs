//! [`AuditStore`](kc_ports::store::AuditStore) and
//! [`OperationsStore`](kc_ports::store::OperationsStore).

use super::fixtures::*;
use super::CoreStore;
use kc_domain::WebhookEvent;
use kc_ports::store::{AuditEvent, DeliveryAttempt};
use std::time::Duration as StdDuration;

fn event(t: i64, client: Option<&str>, kind: &str) -> AuditEvent {
    AuditEvent {
        at: at(t),
        kind: kind.to_owned(),
        outcome: "success".to_owned(),
        client_id: client.map(str::to_owned),
        grant_id: None,
        user_id: None,
        ip: Some("192.0.2.1".into()),
        request_id: None,
        detail: Some("ok".into()),
    }
}

/// The audit trail lists in append order, per client and since an instant, up to a limit;
/// purging deletes what is older than an instant.
pub async fn audit_trail_lists_and_purges<S: CoreStore>(s: S) {
    let a = event(10, Some("kc_a"), "client.create");
    let b = event(20, Some("kc_b"), "token.exchange");
    let c = event(30, Some("kc_a"), "grant.revoke");
    let d = event(40, None, "admin.login");
    for e in [&a, &b, &c, &d] {
        must(s.record_audit(e).await, "record_audit");
    }
    assert_eq!(
        must(s.list_audit(None, None, 100).await, "list_audit"),
        vec![a.clone(), b.clone(), c.clone(), d.clone()],
        "every event, as appended"
    );
    assert_eq!(
        must(s.list_audit(Some("kc_a".into()), None, 100).await, "list_audit"),
        vec![a.clone(), c.clone()],
        "one client's"
    );
    assert_eq!(
        must(s.list_audit(None, Some(at(20)), 100).await, "list_audit"),
        vec![b.clone(), c.clone(), d.clone()],
        "since an instant, inclusive"
    );
    assert_eq!(
        must(s.list_audit(None, None, 2).await, "list_audit"),
        vec![a, b.clone()],
        "oldest first up to the limit"
    );
    assert_eq!(must(s.purge_audit(at(30)).await, "purge_audit"), 2, "events before the instant are purged");
    assert_eq!(must(s.list_audit(None, None, 100).await, "list_audit"), vec![c, d]);
}

/// Queue figures count the sync jobs queued or running and the deliveries pending or sending,
/// with the age of the oldest of each.
pub async fn queue_stats_count_open_work<S: CoreStore>(s: S) {
    must(s.ping().await, "ping");
    let empty = must(s.queue_stats(at(0)).await, "queue_stats");
    assert_eq!(
        (empty.sync_jobs, empty.sync_oldest, empty.outbox, empty.outbox_oldest),
        (0, None, 0, None),
        "an empty store has no open work"
    );
    let c = client(&s).await;
    endpoint(&s, &c.id, &[WebhookEvent::GrantCreated], 0).await;
    let (_, _, signed) = grant(&s, &c.id, "openid").await; // one delivery at 20
    grant(&s, &c.id, "openid").await; // another at 20
    must(s.insert_integration(&new_integration(&signed.workspace, 50)).await, "insert_integration");
    must(s.insert_integration(&new_integration(&signed.workspace, 70)).await, "insert_integration");
    let stats = must(s.queue_stats(at(100)).await, "queue_stats");
    assert_eq!(
        (stats.sync_jobs, stats.sync_oldest),
        (2, Some(StdDuration::from_secs(50))),
        "two queued jobs, the oldest 50 s old"
    );
    assert_eq!(
        (stats.outbox, stats.outbox_oldest),
        (2, Some(StdDuration::from_secs(80))),
        "two pending deliveries, the oldest 80 s old"
    );
    let job = must(s.claim_sync_job("w", at(100), time::Duration::seconds(60)).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("no job"));
    assert!(must(s.finish_sync_job(&job, "w", &[], None, at(101)).await, "finish_sync_job"));
    let d = must(s.claim_webhook_delivery("w", at(101), time::Duration::seconds(60)).await, "claim")
        .unwrap_or_else(|| panic!("no delivery"));
    let after = must(s.queue_stats(at(110)).await, "queue_stats");
    assert_eq!(
        (after.sync_jobs, after.outbox),
        (1, 2),
        "a finished job leaves the count; a sending delivery stays in it"
    );
    assert!(must(
        s.finish_webhook_delivery(d.seq, "w", &DeliveryAttempt::Delivered { status: 200 }, at(111)).await,
        "finish"
    ));
    let done = must(s.queue_stats(at(120)).await, "queue_stats");
    assert_eq!(
        (done.sync_jobs, done.sync_oldest, done.outbox),
        (1, Some(StdDuration::from_secs(50)), 1),
        "what is finished leaves the figures"
    );
    must(s.pool_stats().await, "pool_stats");
}
