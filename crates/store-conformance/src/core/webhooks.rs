//! [`WebhookStore`](kc_ports::store::WebhookStore): endpoints and the transactional outbox
//! (fan-out per subscribed endpoint, order per endpoint and grant, claims with a lease).

use super::fixtures::*;
use super::{CoreStore, RACERS};
use kc_domain::{Sealed, WebhookEvent};
use kc_ports::store::{DeliveryAttempt, StoreError};
use time::Duration;

const LEASE: Duration = Duration::seconds(30);

/// Endpoints read back as stored and list oldest first; secrets rotate; removal hides an
/// endpoint for good (its id stays taken: `Conflict`); other clients can touch none of it.
pub async fn webhook_endpoints_roundtrip<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    let late = endpoint(&s, &c.id, &[WebhookEvent::GrantRevoked], 20).await;
    let early = endpoint(&s, &c.id, &[], 10).await;
    assert_eq!(
        must(s.find_webhook_endpoint(&early.id).await, "find_webhook_endpoint"),
        Some(early.clone()),
        "an endpoint reads back as stored"
    );
    assert_eq!(
        must(s.list_webhook_endpoints(&c.id).await, "list_webhook_endpoints"),
        vec![early.clone(), late.clone()],
        "endpoints list oldest first"
    );
    assert!(must(s.list_webhook_endpoints(&other.id).await, "list_webhook_endpoints").is_empty());
    match s.insert_webhook_endpoint(&early).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("an endpoint id stored twice must be Conflict, got {other:?}"),
    }
    let secret = Sealed { key_id: "k2".into(), blob: "rotated".into() };
    assert!(
        !must(s.set_webhook_secret(&other.id, &early.id, &secret, at(30)).await, "set_webhook_secret"),
        "another client cannot rotate it"
    );
    assert!(must(s.set_webhook_secret(&c.id, &early.id, &secret, at(30)).await, "set_webhook_secret"));
    let rotated =
        must(s.find_webhook_endpoint(&early.id).await, "find_webhook_endpoint").unwrap_or_else(|| panic!("vanished"));
    assert_eq!((rotated.secret, rotated.updated_at, rotated.created_at), (secret.clone(), at(30), at(10)));
    assert!(
        !must(s.remove_webhook_endpoint(&other.id, &early.id, at(31)).await, "remove_webhook_endpoint"),
        "another client cannot remove it"
    );
    assert!(must(s.remove_webhook_endpoint(&c.id, &early.id, at(31)).await, "remove_webhook_endpoint"));
    assert!(
        !must(s.remove_webhook_endpoint(&c.id, &early.id, at(32)).await, "remove_webhook_endpoint"),
        "an endpoint is removed once"
    );
    assert!(
        must(s.find_webhook_endpoint(&early.id).await, "find_webhook_endpoint").is_none(),
        "a removed endpoint is not found"
    );
    assert_eq!(must(s.list_webhook_endpoints(&c.id).await, "list_webhook_endpoints"), vec![late], "nor listed");
    assert!(
        !must(s.set_webhook_secret(&c.id, &early.id, &secret, at(33)).await, "set_webhook_secret"),
        "a removed endpoint's secret cannot change"
    );
    match s.insert_webhook_endpoint(&early).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a removed endpoint's id stays taken (Conflict), got {other:?}"),
    }
}

/// A change writes one delivery per live endpoint of the client subscribed to its event
/// (endpoints of other clients and removed ones get none), with the change's time and data.
pub async fn outbox_fans_out_to_subscribed_endpoints<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let other = client(&s).await;
    let all = endpoint(&s, &c.id, &[], 1).await;
    let revoked_only = endpoint(&s, &c.id, &[WebhookEvent::GrantRevoked], 2).await;
    let removed = endpoint(&s, &c.id, &[], 3).await;
    endpoint(&s, &other.id, &[], 4).await;
    assert!(must(s.remove_webhook_endpoint(&c.id, &removed.id, at(5)).await, "remove_webhook_endpoint"));
    let (g, _, _) = grant(&s, &c.id, "openid").await;
    must(s.revoke_grant(&g.id, &c.id, at(40)).await, "revoke_grant");
    let ds = deliveries(&s, &c.id).await;
    let seen: Vec<(&str, &str)> = ds.iter().map(|d| (d.event.as_str(), d.endpoint_id.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            ("grant.created", all.id.as_str()),
            ("grant.revoked", all.id.as_str()),
            ("grant.revoked", revoked_only.id.as_str())
        ],
        "one delivery per subscribed live endpoint, in enqueue order"
    );
    for d in &ds {
        assert_eq!((d.grant_id.as_str(), d.status.as_str(), d.attempts), (g.id.as_str(), "pending", 0));
    }
    assert_eq!((ds[0].occurred_at, ds[1].occurred_at), (at(20), at(40)), "a delivery carries the change's time");
    assert!(
        must(s.list_webhook_deliveries(&other.id, 10).await, "list_webhook_deliveries").is_empty(),
        "another client's endpoints get nothing"
    );
    let newest = must(s.list_webhook_deliveries(&c.id, 2).await, "list_webhook_deliveries");
    assert_eq!(
        newest.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![ds[2].id.clone(), ds[1].id.clone()],
        "deliveries list newest first, up to the limit"
    );
    let ids: std::collections::HashSet<&str> = ds.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "every delivery has its own id");
}

/// Deliveries of one endpoint and grant go out one at a time in enqueue order; a later one
/// waits while an earlier one is pending (even retrying) or sending; other grants do not wait.
pub async fn outbox_orders_per_endpoint_and_grant<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let e = endpoint(&s, &c.id, &[], 0).await;
    let (g1, _, _) = grant(&s, &c.id, "openid").await;
    must(s.revoke_grant(&g1.id, &c.id, at(21)).await, "revoke_grant");
    let (g2, _, _) = grant(&s, &c.id, "openid").await;
    let now = at(60);
    let first =
        must(s.claim_webhook_delivery("a", now, LEASE).await, "claim").unwrap_or_else(|| panic!("nothing to claim"));
    assert_eq!(
        (first.event.as_str(), first.endpoint_id.as_str(), first.attempts),
        ("grant.created", e.id.as_str(), 1),
        "the oldest delivery goes first"
    );
    let data: serde_json::Value =
        serde_json::from_str(&first.data_json).unwrap_or_else(|e| panic!("payload is not JSON: {e}"));
    assert_eq!(data["grant_id"].as_str(), Some(g1.id.as_str()));
    let second = must(s.claim_webhook_delivery("b", now, LEASE).await, "claim")
        .unwrap_or_else(|| panic!("another grant's delivery must not wait"));
    let data: serde_json::Value =
        serde_json::from_str(&second.data_json).unwrap_or_else(|e| panic!("payload is not JSON: {e}"));
    assert_eq!(
        (second.event.as_str(), data["grant_id"].as_str()),
        ("grant.created", Some(g2.id.as_str())),
        "g1's revocation waits behind its creation; g2's creation does not"
    );
    assert!(
        must(s.claim_webhook_delivery("c", now, LEASE).await, "claim").is_none(),
        "grant.revoked of g1 waits while grant.created of g1 is sending"
    );
    assert!(must(
        s.finish_webhook_delivery(second.seq, "b", &DeliveryAttempt::Delivered { status: 204 }, at(61)).await,
        "finish"
    ));
    let retry = DeliveryAttempt::Retry { at: at(120), status: Some(503), error: "unavailable".into() };
    assert!(
        must(s.finish_webhook_delivery(first.seq, "a", &retry, at(61)).await, "finish"),
        "the holder records a retry"
    );
    assert!(
        must(s.claim_webhook_delivery("c", at(100), LEASE).await, "claim").is_none(),
        "grant.revoked still waits while grant.created is pending a retry"
    );
    let again = must(s.claim_webhook_delivery("c", at(120), LEASE).await, "claim")
        .unwrap_or_else(|| panic!("the retry is due"));
    assert_eq!(
        (again.seq, again.id.clone(), again.attempts),
        (first.seq, first.id.clone(), 2),
        "the retry is the same delivery, same id, second attempt"
    );
    assert!(must(
        s.finish_webhook_delivery(again.seq, "c", &DeliveryAttempt::Delivered { status: 200 }, at(121)).await,
        "finish"
    ));
    let last = must(s.claim_webhook_delivery("d", at(121), LEASE).await, "claim")
        .unwrap_or_else(|| panic!("grant.revoked is due once grant.created is delivered"));
    assert_eq!(last.event, "grant.revoked");
    assert!(must(
        s.finish_webhook_delivery(
            last.seq,
            "d",
            &DeliveryAttempt::Failed { status: Some(410), error: "gone".into() },
            at(122)
        )
        .await,
        "finish"
    ));
    assert!(
        must(s.claim_webhook_delivery("e", at(10_000), LEASE).await, "claim").is_none(),
        "finished deliveries are never claimed again"
    );
    let ds = deliveries(&s, &c.id).await;
    let states: Vec<(&str, &str, i32, Option<u16>)> =
        ds.iter().map(|d| (d.event.as_str(), d.status.as_str(), d.attempts, d.last_status)).collect();
    assert_eq!(
        states,
        vec![
            ("grant.created", "delivered", 2, Some(200)),
            ("grant.revoked", "failed", 1, Some(410)),
            ("grant.created", "delivered", 1, Some(204))
        ]
    );
    assert_eq!(
        (ds[0].completed_at, ds[1].last_error.as_deref(), ds[1].completed_at),
        (Some(at(121)), Some("gone"), Some(at(122)))
    );
}

/// A claimed delivery is held until its lease lapses, then re-claimed; only the holder
/// finishes it.
pub async fn delivery_claim_lease_and_holder<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[], 0).await;
    grant(&s, &c.id, "openid").await;
    assert!(
        must(s.claim_webhook_delivery("a", at(19), LEASE).await, "claim").is_none(),
        "a delivery is not due before its change"
    );
    let held =
        must(s.claim_webhook_delivery("a", at(20), LEASE).await, "claim").unwrap_or_else(|| panic!("nothing to claim"));
    assert!(
        must(s.claim_webhook_delivery("b", at(49), LEASE).await, "claim").is_none(),
        "a held delivery is not claimed during its lease"
    );
    let ok = DeliveryAttempt::Delivered { status: 200 };
    assert!(!must(s.finish_webhook_delivery(held.seq, "b", &ok, at(49)).await, "finish"), "only the holder finishes");
    let taken = must(s.claim_webhook_delivery("b", at(51), LEASE).await, "claim")
        .unwrap_or_else(|| panic!("a lapsed lease must be re-claimed"));
    assert_eq!((taken.seq, taken.attempts), (held.seq, 2));
    assert!(
        !must(s.finish_webhook_delivery(held.seq, "a", &ok, at(52)).await, "finish"),
        "the sender whose lease lapsed cannot finish"
    );
    assert!(must(s.finish_webhook_delivery(taken.seq, "b", &ok, at(52)).await, "finish"));
    assert!(!must(s.finish_webhook_delivery(taken.seq, "b", &ok, at(53)).await, "finish"), "a delivery finishes once");
    let cancel = DeliveryAttempt::Cancelled { reason: "endpoint removed".into() };
    assert!(!must(s.finish_webhook_delivery(taken.seq, "b", &cancel, at(53)).await, "finish"));
    assert_eq!(deliveries(&s, &c.id).await[0].status, "delivered");
}

/// Of many concurrent claimers of one due delivery exactly one gets it.
pub async fn delivery_claim_race_has_one_winner<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[], 0).await;
    grant(&s, &c.id, "openid").await;
    let outcomes = race(RACERS, |n| {
        let s = s.clone();
        async move { s.claim_webhook_delivery(&format!("w{n}"), at(30), LEASE).await }
    })
    .await;
    let mut claimed = 0;
    for out in outcomes {
        if must(out, "claim_webhook_delivery").is_some() {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1, "exactly one of {RACERS} concurrent claimers gets the delivery");
}

/// Removing an endpoint cancels its pending deliveries at once and leaves a sending one to its
/// sender; later changes enqueue nothing for it.
pub async fn removing_an_endpoint_cancels_its_pending_deliveries<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let e = endpoint(&s, &c.id, &[], 0).await;
    let (g1, _, _) = grant(&s, &c.id, "openid").await;
    grant(&s, &c.id, "openid").await;
    let sending =
        must(s.claim_webhook_delivery("a", at(30), LEASE).await, "claim").unwrap_or_else(|| panic!("nothing to claim"));
    assert!(must(s.remove_webhook_endpoint(&c.id, &e.id, at(31)).await, "remove_webhook_endpoint"));
    must(s.revoke_grant(&g1.id, &c.id, at(32)).await, "revoke_grant");
    let ds = deliveries(&s, &c.id).await;
    let states: Vec<(&str, Option<&str>)> = ds.iter().map(|d| (d.status.as_str(), d.last_error.as_deref())).collect();
    assert_eq!(
        states,
        vec![("sending", None), ("cancelled", Some("endpoint removed"))],
        "pending ones are cancelled, the sending one is left, nothing new is enqueued"
    );
    assert_eq!(ds[1].completed_at, Some(at(31)));
    assert_eq!(ds[0].id, sending.id);
    assert!(
        must(s.claim_webhook_delivery("b", at(40), LEASE).await, "claim").is_none(),
        "cancelled deliveries are never claimed"
    );
    let cancel = DeliveryAttempt::Cancelled { reason: "endpoint removed".into() };
    assert!(
        must(s.finish_webhook_delivery(sending.seq, "a", &cancel, at(33)).await, "finish"),
        "the sender can still close its delivery"
    );
}

/// Retention deletes delivered ones completed before one instant and failed or cancelled
/// ones completed before another; pending ones stay.
pub async fn purge_deliveries_by_outcome<S: CoreStore>(s: S) {
    let c = client(&s).await;
    let e = endpoint(&s, &c.id, &[], 0).await;
    for _ in 0..3 {
        grant(&s, &c.id, "openid").await;
    }
    let d1 =
        must(s.claim_webhook_delivery("a", at(30), LEASE).await, "claim").unwrap_or_else(|| panic!("nothing to claim"));
    assert!(must(
        s.finish_webhook_delivery(d1.seq, "a", &DeliveryAttempt::Delivered { status: 200 }, at(100)).await,
        "finish"
    ));
    let d2 =
        must(s.claim_webhook_delivery("a", at(30), LEASE).await, "claim").unwrap_or_else(|| panic!("nothing to claim"));
    assert!(must(
        s.finish_webhook_delivery(
            d2.seq,
            "a",
            &DeliveryAttempt::Failed { status: None, error: "refused".into() },
            at(200)
        )
        .await,
        "finish"
    ));
    assert!(must(s.remove_webhook_endpoint(&c.id, &e.id, at(300)).await, "remove_webhook_endpoint"));
    let other = endpoint(&s, &c.id, &[], 301).await;
    grant(&s, &c.id, "openid").await; // pending, to `other`
    assert_eq!(
        must(s.purge_webhook_deliveries(Some(at(100)), Some(at(200))).await, "purge"),
        0,
        "the bounds are exclusive"
    );
    assert_eq!(must(s.purge_webhook_deliveries(Some(at(101)), None).await, "purge"), 1, "the delivered one");
    assert_eq!(
        must(s.purge_webhook_deliveries(None, Some(at(300))).await, "purge"),
        1,
        "the failed one (the cancelled one completed at 300)"
    );
    assert_eq!(
        must(s.purge_webhook_deliveries(Some(at(99_999)), Some(at(301))).await, "purge"),
        1,
        "the cancelled one"
    );
    let left = deliveries(&s, &c.id).await;
    assert_eq!(
        left.iter().map(|d| (d.status.as_str(), d.endpoint_id.as_str())).collect::<Vec<_>>(),
        vec![("pending", other.id.as_str())],
        "pending deliveries are never purged"
    );
}

/// Concurrent claimers never send two deliveries of one endpoint and grant at once: with a
/// grant's creation and revocation pending, exactly one claimer gets a delivery, the creation.
pub async fn delivery_claim_race_keeps_grant_order<S: CoreStore>(s: S) {
    let c = client(&s).await;
    endpoint(&s, &c.id, &[], 0).await;
    let (g, _, _) = grant(&s, &c.id, "openid").await;
    must(s.revoke_grant(&g.id, &c.id, at(21)).await, "revoke_grant");
    let outcomes = race(RACERS, |n| {
        let s = s.clone();
        async move { s.claim_webhook_delivery(&format!("w{n}"), at(30), LEASE).await }
    })
    .await;
    let claimed: Vec<String> =
        outcomes.into_iter().filter_map(|o| must(o, "claim_webhook_delivery")).map(|d| d.event).collect();
    assert_eq!(claimed, vec!["grant.created".to_owned()], "only the grant's first delivery may be sending");
}
