//! What the client sends, and that it decodes the answers exactly as the seed and the public
//! API reference document them.

use crate::mock::{Mock, Script};
use kc_client::api::*;
use kc_client::{Client, ConnectClient};
use serde_json::{json, Value};

fn connect(base: &str) -> ConnectClient {
    Client::new(base).expect("client").with_credentials(ClientCredentials::new("client-1", "secret-1"))
}

/// Answers each documented path with its documented example.
fn documented(path: &str) -> Value {
    match path {
        // backend-implementation.txt, "Kryptos API Response (Session Resumed with access_token)".
        "/link-token" => json!({
            "success": true,
            "data": {
                "link_token": "link_abc123xyz789",
                "expires_at": "2024-01-28T10:30:00Z",
                "user_id": "uuid-user-123",
                "workspace_id": "uuid-workspace-456",
                "has_existing_grant": true
            }
        }),
        "/link-token/check-session" => json!({
            "success": true,
            "data": {
                "has_valid_session": true,
                "user_id": "uuid-user-123",
                "workspace_id": "uuid-workspace-456",
                "workspace_name": "My Workspace",
                "granted_scopes": "openid profile offline_access email portfolios:read transactions:read integrations:read tax:read accounting:read reports:read workspace:read users:read",
                "grant_id": "cgrant_abc123"
            }
        }),
        "/token/exchange" => json!({
            "success": true,
            "data": {
                "access_token": "cat_abc123xyz789",
                "grant_id": "cgrant_abc123xyz789",
                "token_type": "Bearer",
                "expires_in": 473040000,
                "scope": "openid profile offline_access email portfolios:read transactions:read integrations:read tax:read accounting:read reports:read workspace:read users:read",
                "workspace_id": "uuid-workspace-123"
            }
        }),
        "/token/revoke" => json!({"success": true, "message": "Grant revoked successfully"}),
        "/token/grants" => json!({
            "success": true,
            "data": {
                "grants": [{
                    "grant_id": "cgrant_abc123xyz789",
                    "workspace_id": "uuid-workspace-123",
                    "scopes": "transactions:read balances:read",
                    "created_at": "2024-01-15T10:00:00Z",
                    "expires_at": "2039-01-15T10:00:00Z"
                }],
                "count": 1
            }
        }),
        // api--userinfo.md.
        "/api/v1/userinfo" => json!({
            "message": "User information retrieved successfully",
            "userInfo": {
                "sub": "user_123",
                "name": "John Doe",
                "email": "john@example.com",
                "email_verified": true,
                "preferred_username": "john@example.com",
                "language": "en",
                "transaction_limit": 15000
            },
            "scopes": ["openid", "profile", "email"]
        }),
        // api--integrations.md (first item), plus `syncStatus`, which the shared IntegrationView
        // requires although the reference does not document it.
        "/api/v1/integrations" => json!({
            "data": [{
                "provider": "binance",
                "providerPublicName": "Binance",
                "publicAddress": null,
                "walletId": "wallet_abc123",
                "logoUrl": "https://example.com/binance.svg",
                "isContract": false,
                "alias": "Main Trading Account",
                "status": "active",
                "lastSyncLog": {"Balances": "COMPLETED"},
                "addedOn": 1640995200000i64,
                "lastSyncedAt": 1672531200000i64,
                "category": "exchange",
                "type": "api",
                "totalTransactions": 1542,
                "syncStatus": "synced"
            }],
            "pagination": {"page": 1, "pageSize": 25, "totalCount": 12, "hasNextPage": false, "hasPreviousPage": false},
            "user_id": "user_123",
            "timestamp": 1672531200000i64
        }),
        // api--holdings.md.
        "/api/v1/holdings" => json!({
            "holdings": [{
                "asset": {
                    "tokenId": "bitcoin", "symbol": "BTC", "publicName": "Bitcoin", "chainId": "bitcoin",
                    "logoUrl": "https://example.com/btc.svg", "type": "crypto", "category": "crypto"
                },
                "totalQuantity": 2.5,
                "costbasis": 100000,
                "marketPrice": 50000,
                "marketValue": 125000,
                "unrealizedPnL": 25000,
                "roi": 25,
                "baseCurrency": "USD",
                "24hrChange": 3.5,
                "marketLinks": {"coinmarketcap": "https://example.com/btc"},
                "hasCalculatedBalance": false,
                "assetDistribution": [{
                    "quantity": 1.5,
                    "account": {"provider": "Ledger", "walletId": "wallet_123"},
                    "allocationPercentage": 60,
                    "isCalculatedBalance": false
                }]
            }],
            "summary": {
                "totalValue": 250000, "totalCostBasis": 200000, "totalUnrealizedPnL": 50000,
                "roiPercentage": 25, "total24hrChange": 2.8
            },
            "user_id": "user_123",
            "timestamp": 1640995200000i64
        }),
        // api--health.md.
        "/api/health" => {
            json!({"status": "OK", "service": "connect-apis", "version": "1.0.0", "environment": "production"})
        }
        _ => json!({"success": false, "error": "No such endpoint", "code": "INVALID_REQUEST"}),
    }
}

async fn documented_server() -> Mock {
    Mock::start(|seen| {
        let path = seen.path_and_query.split('?').next().unwrap_or_default().to_owned();
        let body = documented(&path);
        let status = if body.get("code").is_some() { 404 } else { 200 };
        Script::json(status, body)
    })
    .await
}

#[tokio::test]
async fn the_documented_connect_answers_decode() {
    let mock = documented_server().await;
    let kryptos = connect(&mock.base);
    let token = BearerToken::new("cat_abc123xyz789");

    let req = CreateLinkTokenRequest {
        scopes: Some("openid users:read".into()),
        access_token: Some("cat_abc123xyz789".into()),
        ..Default::default()
    };
    let link = kryptos.create_link_token(req).await.expect("link token");
    assert_eq!(link.has_existing_grant, Some(true));
    assert_eq!(link.workspace_id.as_deref(), Some("uuid-workspace-456"));

    let session = kryptos.check_session(&token).await.expect("check-session");
    assert_eq!(session.workspace_name.as_deref(), Some("My Workspace"));

    let grant = kryptos.exchange_public_token("public_abc").await.expect("exchange");
    assert_eq!(grant.access_token.expose(), "cat_abc123xyz789");
    assert_eq!((grant.grant_id.as_str(), grant.expires_in), ("cgrant_abc123xyz789", 473_040_000));

    kryptos.revoke_grant("cgrant_abc123xyz789").await.expect("revoke");
    let page =
        kryptos.list_grants(ListGrantsQuery { limit: Some(10), cursor: Some("abc".into()) }).await.expect("grants");
    assert_eq!(page.count, 1);
    assert_eq!(page.next_cursor, None);
    let health = kryptos.client().health().await.expect("health");
    assert_eq!(health.status, "OK");

    // What went over the wire.
    let seen = mock.seen();
    for s in &seen {
        if s.path_and_query != "/api/health" {
            assert_eq!(s.header("x-client-id"), Some("client-1"), "{}", s.path_and_query);
            assert_eq!(s.header("x-client-secret"), Some("secret-1"), "{}", s.path_and_query);
        }
        assert!(s.header("user-agent").is_some_and(|u| u.starts_with("kc-client/")));
        if s.method == "POST" {
            assert_eq!(s.header("content-type"), Some("application/json"), "{}", s.path_and_query);
        }
    }
    let by_path = |p: &str| seen.iter().find(|s| s.path_and_query.starts_with(p)).expect(p).clone();
    assert_eq!(
        by_path("/link-token").json(),
        json!({"scopes": "openid users:read", "access_token": "cat_abc123xyz789"}),
        "absent options are left out"
    );
    assert_eq!(by_path("/link-token/check-session").json(), json!({"access_token": "cat_abc123xyz789"}));
    assert_eq!(by_path("/token/exchange").json(), json!({"public_token": "public_abc"}));
    assert_eq!(by_path("/token/revoke").json(), json!({"grant_id": "cgrant_abc123xyz789"}));
    assert_eq!(by_path("/token/grants").path_and_query, "/token/grants?limit=10&cursor=abc");
}

#[tokio::test]
async fn the_documented_data_api_answers_decode() {
    let mock = documented_server().await;
    let kryptos = connect(&mock.base);
    let token = BearerToken::new("cat_abc123xyz789");

    let me = kryptos.userinfo(&token).await.expect("userinfo");
    assert_eq!(me.user_info.transaction_limit, Some(15000));
    let q = IntegrationsQuery { page: Some(2), page_size: Some(50), searched_key: Some("main acct".into()) };
    let page = kryptos.integrations(&token, q).await.expect("integrations");
    assert_eq!(page.pagination.total_count, 12);
    assert_eq!(page.data[0].wallet_id, "wallet_abc123");
    let holdings = kryptos.holdings(&token, HoldingsQuery { is_spam: Some("true".into()), ..Default::default() }).await;
    let holdings = holdings.expect("holdings");
    assert_eq!(holdings.holdings[0].total_quantity, Exact("2.5".into()), "numbers keep every digit");
    assert_eq!(holdings.summary.total24hr_change, Exact("2.8".into()));

    for s in mock.seen() {
        assert_eq!(s.header("authorization"), Some("Bearer cat_abc123xyz789"), "{}", s.path_and_query);
        assert_eq!(s.header("x-client-id"), Some("client-1"));
        assert_eq!(s.header("x-client-secret"), Some("secret-1"));
    }
    let seen = mock.seen();
    assert!(seen.iter().any(|s| s.path_and_query == "/api/v1/integrations?page=2&pageSize=50&searchedKey=main+acct"));
    assert!(seen.iter().any(|s| s.path_and_query == "/api/v1/holdings?isSpam=true"));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let mock = documented_server().await;
    let kryptos = connect(&format!("{}/kryptos/", mock.base));
    kryptos.list_grants(Default::default()).await.expect_err("the mock knows no prefix");
    assert_eq!(mock.seen()[0].path_and_query, "/kryptos/token/grants");
}
