//! `DELETE /widget/integrations/{walletId}`: a user removes a wallet from the shared workspace.
//! Its balances and pending syncs go with it, in one transaction with the `integration.deleted`
//! outbox row, which is still delivered after the integration row is gone. Only the session's
//! own workspace's wallets can be removed, and only while the link token is live. A sync job
//! that is queued, or running on a worker, when its integration goes does not break the worker.

use crate::data_api::{
    connect_guest, data_get, production_client, spawn_with, wait_until_settled, wallet, Connected, SANDBOX_ETH,
    SANDBOX_SOL, SYNC_DEADLINE,
};
use crate::helpers::*;
use crate::sync_worker::{FakeEvmNode, Holdings};
use crate::webhooks::{assert_signed, Receiver};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(1200);

/// A live link token of the connection's returning user (resumed session: user and workspace set).
async fn returning_link(app: &TestApp, c: &Connected) -> String {
    let a = app.post("/link-token", &c.creds, json!({ "access_token": c.access_token })).await;
    a.data()["link_token"].as_str().expect("link_token").to_owned()
}

async fn delete(app: &TestApp, link: &str, wallet_id: &str) -> Answer {
    app.send(Method::DELETE, &format!("/widget/integrations/{wallet_id}"), None, Some(link), None).await
}

async fn widget_wallets(app: &TestApp, link: &str) -> Vec<String> {
    let a = app.send(Method::GET, "/widget/integrations", None, Some(link), None).await;
    let list = a.data()["integrations"].as_array().unwrap_or_else(|| panic!("integrations: {}", a.body)).clone();
    list.iter().map(|i| i["walletId"].as_str().expect("walletId").to_owned()).collect()
}

async fn data_wallets(app: &TestApp, c: &Connected) -> Vec<String> {
    let a = data_get(app, "/api/v1/integrations?pageSize=200", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let list = a.body["data"].as_array().unwrap_or_else(|| panic!("data: {}", a.text)).clone();
    list.iter().map(|i| i["walletId"].as_str().expect("walletId").to_owned()).collect()
}

/// Every `walletId` the holdings' asset distributions name.
async fn holding_wallets(app: &TestApp, c: &Connected) -> Vec<String> {
    let a = data_get(app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let mut out = Vec::new();
    for h in a.body["holdings"].as_array().unwrap_or_else(|| panic!("holdings: {}", a.text)) {
        for d in h["assetDistribution"].as_array().into_iter().flatten() {
            if let Some(w) = d["account"]["walletId"].as_str() {
                if !out.iter().any(|x| x == w) {
                    out.push(w.to_owned());
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------

async fn removing_a_wallet_takes_it_and_its_balances_away(db: Db) {
    let app = spawn_with(db, |_| {}).await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("solana", SANDBOX_SOL)]).await;
    wait_until_settled(&app, &c).await;
    let (eth, sol) = (c.wallet_ids[0].clone(), c.wallet_ids[1].clone());
    let mut before = holding_wallets(&app, &c).await;
    before.sort();
    let mut both = vec![eth.clone(), sol.clone()];
    both.sort();
    assert_eq!(before, both, "both wallets hold something before");

    let link = returning_link(&app, &c).await;
    let a = delete(&app, &link, &eth).await;
    assert_eq!(a.data(), &json!({ "wallet_id": eth, "deleted": true }), "{}", a.body);

    assert_eq!(widget_wallets(&app, &link).await, vec![sol.clone()], "the widget no longer lists it");
    assert_eq!(data_wallets(&app, &c).await, vec![sol.clone()], "the Data API no longer lists it");
    assert_eq!(holding_wallets(&app, &c).await, vec![sol.clone()], "its balances are gone from the holdings");

    // Gone is gone; the other wallet can still be removed with the same link token.
    delete(&app, &link, &eth).await.assert_error(404, "WORKSPACE_NOT_FOUND");
    delete(&app, &link, &sol).await.data();
    assert!(data_wallets(&app, &c).await.is_empty());
    assert!(holding_wallets(&app, &c).await.is_empty());

    let events = app.service.audit_events(Some(creds.id.clone()), None, 200).await.expect("audit");
    let removals: Vec<_> = events.iter().filter(|e| e.kind == "integration.delete").collect();
    assert_eq!(removals.len(), 2, "one audit event per removal: {events:?}");
    assert_eq!(removals[0].outcome, "success");
    assert_eq!(removals[0].user_id.as_deref(), Some(c.user_id.as_str()));
    assert_eq!(removals[0].detail.as_deref(), Some(eth.as_str()));
}

#[tokio::test]
async fn removing_a_wallet_takes_it_and_its_balances_away_on_sqlite() {
    removing_a_wallet_takes_it_and_its_balances_away(Db::Sqlite).await;
}

#[tokio::test]
async fn removing_a_wallet_takes_it_and_its_balances_away_on_postgres() {
    removing_a_wallet_takes_it_and_its_balances_away(Db::Postgres).await;
}

#[tokio::test]
async fn only_the_sessions_own_workspace_wallets_can_be_removed_while_the_link_token_lives() {
    let app = spawn_with(Db::Sqlite, |_| {}).await;
    let creds = app.client().await;
    let mine = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let theirs = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let link = returning_link(&app, &mine).await;

    // Another workspace's wallet (same client, another user), an unknown one, a malformed one.
    delete(&app, &link, &theirs.wallet_ids[0]).await.assert_error(404, "WORKSPACE_NOT_FOUND");
    delete(&app, &link, "wal_0123456789abcdef01234567").await.assert_error(404, "WORKSPACE_NOT_FOUND");
    delete(&app, &link, "not-a-wallet").await.assert_error(404, "WORKSPACE_NOT_FOUND");
    assert_eq!(data_wallets(&app, &theirs).await, theirs.wallet_ids, "the other workspace keeps its wallet");
    assert_eq!(data_wallets(&app, &mine).await, mine.wallet_ids);

    // Link-token rules as for every widget call.
    delete(&app, "link_bogus", &mine.wallet_ids[0]).await.assert_error(401, "INVALID_TOKEN");
    let a = app.send(Method::DELETE, &format!("/widget/integrations/{}", mine.wallet_ids[0]), None, None, None).await;
    assert_eq!(a.status.as_u16(), 401, "no X-LINK-TOKEN: {}", a.body);

    // Before sign-in (and so before a workspace is selected).
    let fresh = app.link_token(&creds).await;
    delete(&app, &fresh, &mine.wallet_ids[0]).await.assert_error(400, "INVALID_REQUEST");

    // After completion the link token is dead.
    app.send(Method::POST, "/widget/consent", None, Some(&link), Some(json!({"approve": true}))).await.data();
    app.send(Method::POST, "/widget/complete", None, Some(&link), None).await.data();
    delete(&app, &link, &mine.wallet_ids[0]).await.assert_error(400, "TOKEN_ALREADY_USED");
    assert_eq!(data_wallets(&app, &mine).await, mine.wallet_ids, "nothing was removed");
}

async fn a_client_with_a_live_grant_receives_integration_deleted(db: Db) {
    let app = spawn_with(db, |s| s.webhooks.poll_interval_ms = 20).await;
    let creds = app.client().await;
    let other = app.client().await;
    let rx = Receiver::start().await;
    let rx_other = Receiver::start().await;
    let (_, secret) =
        app.service.add_webhook(&creds.id, &rx.url, &["integration.deleted".to_owned()]).await.expect("add");
    let secret = secret.expose().to_owned();
    app.service.add_webhook(&other.id, &rx_other.url, &[]).await.expect("add the other client's endpoint");

    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH)]).await;
    let settled = wait_until_settled(&app, &c).await;
    let as_it_was = settled[0].clone();
    let link = returning_link(&app, &c).await;
    delete(&app, &link, &c.wallet_ids[0]).await.data();

    let hits = rx.wait_for(1, WAIT, "integration.deleted").await;
    rx.assert_quiet(1, QUIET, "one delivery, only the subscribed event").await;
    let body = assert_signed(&hits[0], &secret, None);
    assert_eq!(body["event"], json!("integration.deleted"), "{body}");
    let d = &body["data"];
    assert_eq!(d["uid"], json!(c.user_id), "{d}");
    assert_eq!(d["walletId"], json!(c.wallet_ids[0]), "{d}");
    assert_eq!(d["workspaceId"], json!(c.workspace_id), "{d}");
    assert_eq!(d["grantId"], json!(c.grant_id), "{d}");
    assert_eq!(d["provider"], json!("ethereum"), "{d}");
    assert_eq!(d["providerPublicName"], json!("Ethereum"), "{d}");
    assert_eq!(d["category"], json!("blockchain"), "{d}");
    assert_eq!(d["type"], json!("api"), "{d}");
    assert_eq!(d["isContract"], json!(false), "{d}");
    // The integration as it was when removed: synced.
    assert_eq!(d["status"], json!("COMPLETED"), "{d}");
    for key in ["publicAddress", "addedOn", "lastSyncedAt", "totalTransactions"] {
        assert_eq!(d[key], as_it_was[key], "{key} as the Data API showed it: {d} vs {as_it_was}");
    }
    let list = app.service.webhook_deliveries(&creds.id, 10).await.expect("deliveries");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].event.as_str(), list[0].status.as_str()), ("integration.deleted", "delivered"));

    // A client without a grant on the workspace hears nothing of it.
    rx_other.assert_quiet(0, Duration::from_millis(300), "no grant, no delivery").await;
}

#[tokio::test]
async fn a_client_with_a_live_grant_receives_integration_deleted_on_sqlite() {
    a_client_with_a_live_grant_receives_integration_deleted(Db::Sqlite).await;
}

#[tokio::test]
async fn a_client_with_a_live_grant_receives_integration_deleted_on_postgres() {
    a_client_with_a_live_grant_receives_integration_deleted(Db::Postgres).await;
}

async fn removing_wallets_with_queued_and_running_syncs_does_not_break_the_worker(db: Db) {
    let node = FakeEvmNode::start().await;
    let addresses = [
        "0x1111111111111111111111111111111111111111",
        "0x2222222222222222222222222222222222222222",
        "0x3333333333333333333333333333333333333333",
    ];
    for (n, a) in addresses.iter().enumerate() {
        node.hold(a, Holdings { wei: 10u128.pow(18) * (n as u128 + 1), tokens: Vec::new() });
    }
    // One worker, held up by a slow node: the first wallet's job runs, the second waits queued.
    node.delay_replies(Duration::from_millis(1500));
    let app = spawn_with(db, |s| {
        s.chains.rpc_urls.insert("ethereum".into(), node.url.clone());
        s.sync.workers = 1;
    })
    .await;
    let creds = production_client(&app).await;
    let c =
        connect_guest(&app, &creds, None, &[wallet("ethereum", addresses[0]), wallet("ethereum", addresses[1])]).await;
    let until = Instant::now() + SYNC_DEADLINE;
    while node.balance_calls().is_empty() {
        assert!(Instant::now() < until, "the worker never called the node");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let link = returning_link(&app, &c).await;
    // The queued one, then the one whose job a worker holds.
    delete(&app, &link, &c.wallet_ids[1]).await.data();
    delete(&app, &link, &c.wallet_ids[0]).await.data();
    assert!(data_wallets(&app, &c).await.is_empty());

    // The worker finishes its vanished job (and finds nothing to store), then serves new wallets.
    node.delay_replies(Duration::ZERO);
    let added =
        app.send(Method::POST, "/widget/integrations", None, Some(&link), Some(wallet("ethereum", addresses[2]))).await;
    let third = added.data()["walletId"].as_str().expect("walletId").to_owned();
    let settled = wait_until_settled(&app, &c).await;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0]["walletId"], json!(third));
    assert_eq!(settled[0]["status"], json!("COMPLETED"), "{:?}", settled[0]);
    assert_eq!(holding_wallets(&app, &c).await, vec![third.clone()]);
    let calls = node.balance_calls_per_address();
    assert!(!calls.contains_key(addresses[1]), "the queued job never ran: {calls:?}");

    // Nothing of the removed wallets came back after the slow reply landed.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(data_wallets(&app, &c).await, vec![third.clone()]);
    assert_eq!(holding_wallets(&app, &c).await, vec![third]);
    // The server still answers.
    let h = app.http.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(h.status().as_u16(), 200);
}

#[tokio::test]
async fn removing_wallets_with_queued_and_running_syncs_does_not_break_the_worker_on_sqlite() {
    removing_wallets_with_queued_and_running_syncs_does_not_break_the_worker(Db::Sqlite).await;
}

#[tokio::test]
async fn removing_wallets_with_queued_and_running_syncs_does_not_break_the_worker_on_postgres() {
    removing_wallets_with_queued_and_running_syncs_does_not_break_the_worker(Db::Postgres).await;
}

/// The route answers CORS preflights from a registered origin, `DELETE` included.
#[tokio::test]
async fn a_preflight_of_the_route_allows_delete() {
    let app = spawn_with(Db::Sqlite, |_| {}).await;
    app.client_with(kc_service::NewClient {
        origins: vec!["https://app.example".to_owned()],
        ..kc_service::NewClient::sandbox("Origin app")
    })
    .await;
    let res = app
        .http
        .request(Method::OPTIONS, format!("{}/widget/integrations/wal_00", app.base))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "DELETE")
        .send()
        .await
        .expect("preflight");
    assert_eq!(res.status().as_u16(), 204);
    let h = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(h("access-control-allow-origin"), "https://app.example");
    assert!(h("access-control-allow-methods").contains("DELETE"), "{}", h("access-control-allow-methods"));
}
