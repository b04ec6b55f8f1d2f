//! [`WalletProofStore`](kc_ports::WalletProofStore): a nonce is spent once, only by its link
//! session for its provider and address, before it expires; spending it inserts the verified
//! integration (first sync job, `integration.created`) in the same step; a duplicate wallet
//! spends nothing; racing spends have one winner; expired nonces are purged.

use super::{client, connected, endpoint, must, race, session, t0, wallet, ExtraStore};
use kc_domain::WorkspaceId;
use kc_ports::{IntegrationRecord, NewWalletNonce, NonceRefusal, VerifiedConnect};
use time::{Duration, OffsetDateTime};

fn nonce(digest: &str, session: i64, address: &str, at: OffsetDateTime) -> NewWalletNonce {
    NewWalletNonce {
        digest: digest.to_owned(),
        link_session_id: session,
        provider: "ethereum".to_owned(),
        address: address.to_owned(),
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

fn verified(id: &str, ws: &WorkspaceId, address: &str, at: OffsetDateTime) -> IntegrationRecord {
    IntegrationRecord {
        verified_at: Some(at),
        proof_method: Some("eip4361".to_owned()),
        ..wallet(id, ws, "ethereum", address, at)
    }
}

pub(super) async fn nonce_single_use<S: ExtraStore>(s: &S) {
    let c = client(s, "wn").await;
    let g = connected(s, &c.id, "wn", t0()).await;
    let ws = g.workspace_id.clone();
    endpoint(s, &c.id, "wh_wn", vec![], t0()).await;
    let l = session(s, &c.id, "wn-link", t0()).await;
    let other = session(s, &c.id, "wn-other", t0()).await;
    let now = t0() + Duration::minutes(1);
    must(s.insert_wallet_nonce(&nonce("n1", l.id, "0xAa", t0()), t0()).await, "insert_wallet_nonce");
    let dup = s.insert_wallet_nonce(&nonce("n1", l.id, "0xAa", t0()), t0()).await;
    assert!(dup.is_err(), "a digest is stored once");

    let w = verified("wal_wn1", &ws, "0xAa", now);
    let refused = |why| VerifiedConnect::Nonce(why);
    // Refusals write nothing.
    let out = must(s.connect_verified_wallet("n1", other.id, now, &w).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Unknown), "issued to another link session");
    let elsewhere = verified("wal_wn1", &ws, "0xBb", now);
    let out = must(s.connect_verified_wallet("n1", l.id, now, &elsewhere).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Unknown), "issued for another address");
    let solana = IntegrationRecord { provider: "solana".to_owned(), ..w.clone() };
    let out = must(s.connect_verified_wallet("n1", l.id, now, &solana).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Unknown), "issued for another provider");
    let out = must(s.connect_verified_wallet("n-none", l.id, now, &w).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Unknown), "no such nonce");
    let lapsed = t0() + Duration::minutes(10);
    let out = must(s.connect_verified_wallet("n1", l.id, lapsed, &w).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Expired), "dead at its expiry");
    assert_eq!(must(s.find_integration("wal_wn1").await, "find_integration"), None, "refusals insert nothing");
    assert!(must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries").is_empty());

    let out = must(s.connect_verified_wallet("n1", l.id, now, &w).await, "connect");
    assert_eq!(out, VerifiedConnect::Connected);
    let found = must(s.find_integration("wal_wn1").await, "find_integration").unwrap_or_else(|| panic!("not inserted"));
    assert_eq!(found, w, "the integration as given, verified_at and proof_method included");
    let events: Vec<String> =
        must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries").into_iter().map(|d| d.event).collect();
    assert_eq!(events, ["integration.created"], "with its outbox row");
    let job = must(s.claim_sync_job("worker", now, Duration::minutes(1)).await, "claim_sync_job")
        .unwrap_or_else(|| panic!("the first sync job is queued with it"));
    assert_eq!((job.integration_id.as_str(), job.mode.as_str()), ("wal_wn1", "from_start"));

    let again = verified("wal_wn2", &ws, "0xAa", now);
    let out = must(s.connect_verified_wallet("n1", l.id, now, &again).await, "connect");
    assert_eq!(out, refused(NonceRefusal::Used), "spent once");
    assert_eq!(must(s.find_integration("wal_wn2").await, "find_integration"), None);

    // The workspace already has the wallet: Duplicate, and the nonce stays unspent.
    must(s.insert_wallet_nonce(&nonce("n2", l.id, "0xAa", now), t0()).await, "insert_wallet_nonce");
    let out = must(s.connect_verified_wallet("n2", l.id, now, &again).await, "connect");
    assert_eq!(out, VerifiedConnect::Duplicate);
    assert_eq!(must(s.find_integration("wal_wn2").await, "find_integration"), None);
    assert_eq!(must(s.list_webhook_deliveries(&c.id, 10).await, "deliveries").len(), 1, "a duplicate writes nothing");
    assert!(must(s.delete_integration(&ws, "wal_wn1", now).await, "delete_integration"));
    let out = must(s.connect_verified_wallet("n2", l.id, now, &again).await, "connect");
    assert_eq!(out, VerifiedConnect::Connected, "the nonce a duplicate met is still spendable");
}

pub(super) async fn nonce_race<S: ExtraStore>(s: &S) {
    let c = client(s, "wr").await;
    let g = connected(s, &c.id, "wr", t0()).await;
    let l = session(s, &c.id, "wr-link", t0()).await;
    must(s.insert_wallet_nonce(&nonce("nr", l.id, "0xCc", t0()), t0()).await, "insert_wallet_nonce");
    let now = t0() + Duration::minutes(1);
    let (ws, session) = (g.workspace_id.clone(), l.id);
    let results = race(s, |s, i| {
        let w = verified(&format!("wal_wr{i}"), &ws, "0xCc", now);
        async move { s.connect_verified_wallet("nr", session, now, &w).await }
    })
    .await;
    let results: Vec<VerifiedConnect> = results.into_iter().map(|r| must(r, "connect_verified_wallet")).collect();
    let won = results.iter().filter(|r| **r == VerifiedConnect::Connected).count();
    assert_eq!(won, 1, "exactly one of the racing proofs connects: {results:?}");
    assert!(
        results.iter().all(|r| matches!(r, VerifiedConnect::Connected | VerifiedConnect::Nonce(NonceRefusal::Used))),
        "the others find the nonce spent: {results:?}"
    );
    let list = must(s.list_integrations(&g.workspace_id).await, "list_integrations");
    assert_eq!(list.len(), 1, "one integration inserted");
}

pub(super) async fn nonce_purge<S: ExtraStore>(s: &S) {
    let c = client(s, "wp").await;
    let g = connected(s, &c.id, "wp", t0()).await;
    let l = session(s, &c.id, "wp-link", t0()).await;
    // np1 expires at t0+10m, np2 at t0+20m.
    must(s.insert_wallet_nonce(&nonce("np1", l.id, "0xDd", t0()), t0()).await, "insert");
    must(s.insert_wallet_nonce(&nonce("np2", l.id, "0xDd", t0() + Duration::minutes(10)), t0()).await, "insert");
    let at = t0() + Duration::minutes(30);
    let w = verified("wal_wp", &g.workspace_id, "0xDd", at);
    assert_eq!(
        must(s.connect_verified_wallet("np1", l.id, at, &w).await, "connect"),
        VerifiedConnect::Nonce(NonceRefusal::Expired),
        "expired but not purged yet"
    );
    // Purge what expired before t0+15m: np1 goes, np2 stays.
    must(s.insert_wallet_nonce(&nonce("np3", l.id, "0xDd", at), t0() + Duration::minutes(15)).await, "insert");
    assert_eq!(
        must(s.connect_verified_wallet("np1", l.id, at, &w).await, "connect"),
        VerifiedConnect::Nonce(NonceRefusal::Unknown),
        "a purged nonce is refused as unknown"
    );
    assert_eq!(
        must(s.connect_verified_wallet("np2", l.id, at, &w).await, "connect"),
        VerifiedConnect::Nonce(NonceRefusal::Expired),
        "one that expired after purge_before is kept"
    );
    // The expiry equal to purge_before is kept too (strictly before is purged).
    must(s.insert_wallet_nonce(&nonce("np4", l.id, "0xDd", at), t0() + Duration::minutes(20)).await, "insert");
    assert_eq!(
        must(s.connect_verified_wallet("np2", l.id, at, &w).await, "connect"),
        VerifiedConnect::Nonce(NonceRefusal::Expired),
        "expired exactly at purge_before: kept"
    );
    assert_eq!(must(s.connect_verified_wallet("np3", l.id, at, &w).await, "connect"), VerifiedConnect::Connected);
}
