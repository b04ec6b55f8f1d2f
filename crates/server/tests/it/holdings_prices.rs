//! `GET /api/v1/holdings` priced by CoinGecko (`prices.source = "coingecko"`, a local fake of
//! `/simple/price`), on SQLite and PostgreSQL: the sandbox wallets' hand-checkable cost basis
//! against the fake's prices, then an outage: the last known prices for a day, and after that
//! no price, which is no PnL (not a 100 % loss).

use crate::data_api::{connect_guest, data_get, spawn_with, wait_until_settled, wallet, SANDBOX_ETH, SANDBOX_SOL};
use crate::helpers::*;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// ETH 4 000, USDC 1, SOL 200 (24 h changes 2, 0, -1 %); while `down`, 503.
async fn fake_coingecko(down: Arc<AtomicBool>, hits: Arc<AtomicUsize>) -> String {
    let app = Router::new().route(
        "/api/v3/simple/price",
        get(move || {
            let (down, hits) = (down.clone(), hits.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if down.load(Ordering::SeqCst) {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable".to_owned());
                }
                let body = r#"{"ethereum":{"usd":4000,"usd_24h_change":2},"usd-coin":{"usd":1,"usd_24h_change":0},"solana":{"usd":200,"usd_24h_change":-1}}"#;
                (axum::http::StatusCode::OK, body.to_owned())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let base = format!("http://{}/api/v3", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

type Figures = (String, f64, f64, f64, f64, f64);

/// (symbol, marketPrice, marketValue, costbasis, unrealizedPnL, roi) of each holding, by symbol.
fn figures(h: &Value) -> Vec<Figures> {
    let n = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("a number: {v} in {h}"));
    let mut all: Vec<Figures> = h["holdings"]
        .as_array()
        .unwrap_or_else(|| panic!("holdings: {h}"))
        .iter()
        .map(|x| {
            let symbol = x["asset"]["symbol"].as_str().unwrap_or_default().to_owned();
            (
                symbol,
                n(&x["marketPrice"]),
                n(&x["marketValue"]),
                n(&x["costbasis"]),
                n(&x["unrealizedPnL"]),
                n(&x["roi"]),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn row(s: &str, price: f64, value: f64, cost: f64, pnl: f64, roi: f64) -> Figures {
    (s.to_owned(), price, value, cost, pnl, roi)
}

async fn an_outage_of_the_price_source_values_holdings_at_the_last_known_price_then_at_no_pnl(db: Db) {
    let (down, hits) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let base = fake_coingecko(down.clone(), hits.clone()).await;
    let app = spawn_with(db, move |s| {
        s.prices.source = "coingecko".to_owned();
        s.prices.base_url = base;
        s.prices.cache_ttl_secs = 60;
        s.prices.timeout_secs = 2;
    })
    .await;
    let creds = app.client().await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", SANDBOX_ETH), wallet("solana", SANDBOX_SOL)]).await;
    wait_until_settled(&app, &c).await;
    let holdings = || async { data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await };

    // The sandbox history's lots (README): 1.5 ETH for 3 600, 2 500 USDC for 2 500, 12.5 SOL
    // for 1 250; valued at the fake's prices.
    let live = holdings().await;
    assert_eq!(live.status, 200, "{}", live.text);
    let priced = vec![
        row("ETH", 4000.0, 6000.0, 3600.0, 2400.0, 66.6667),
        row("SOL", 200.0, 2500.0, 1250.0, 1250.0, 100.0),
        row("USDC", 1.0, 2500.0, 2500.0, 0.0, 0.0),
    ];
    assert_eq!(figures(&live.body), priced, "{}", live.text);
    // A native asset shows its chain's logo (as the catalog serves it); a token has none of ours.
    let logo = |symbol: &str| {
        let h = crate::data_api::holding_of(&live.body, symbol);
        h["asset"]["logoUrl"].as_str().unwrap_or_default().to_owned()
    };
    assert!(logo("ETH").ends_with("/logos/ethereum.svg"), "{}", live.text);
    assert!(logo("SOL").ends_with("/logos/solana.svg"), "{}", live.text);
    assert_eq!(logo("USDC"), "", "{}", live.text);
    let eth_logo = logo("ETH");
    let path = eth_logo.find("/logos/").map(|i| &eth_logo[i..]).unwrap_or_default();
    let served = app.http.get(format!("{}{path}", app.base)).send().await.expect("the logo is served");
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(
        live.body["summary"],
        json!({"totalValue": 11000, "totalCostBasis": 7350, "totalUnrealizedPnL": 3650, "roiPercentage": 49.6599,
               "total24hrChange": 0.8636}),
        "{}",
        live.text
    );

    // The source goes down; past the cache's minute the last known prices are served.
    down.store(true, Ordering::SeqCst);
    app.clock.advance(time::Duration::minutes(10));
    let before = hits.load(Ordering::SeqCst);
    let stale = holdings().await;
    assert_eq!(stale.status, 200, "{}", stale.text);
    assert!(hits.load(Ordering::SeqCst) > before, "the source was asked again");
    assert_eq!(figures(&stale.body), priced, "the last known prices: {}", stale.text);

    // A day later they are too old: no price is no value and no PnL, not a loss of everything.
    app.clock.advance(time::Duration::hours(24));
    let unpriced = holdings().await;
    assert_eq!(unpriced.status, 200, "the quantities are still served: {}", unpriced.text);
    assert_eq!(
        figures(&unpriced.body),
        vec![
            row("ETH", 0.0, 0.0, 3600.0, 0.0, 0.0),
            row("SOL", 0.0, 0.0, 1250.0, 0.0, 0.0),
            row("USDC", 0.0, 0.0, 2500.0, 0.0, 0.0),
        ],
        "{}",
        unpriced.text
    );
    assert_eq!(
        unpriced.body["summary"],
        json!({"totalValue": 0, "totalCostBasis": 7350, "totalUnrealizedPnL": 0, "roiPercentage": 0, "total24hrChange": 0}),
        "{}",
        unpriced.text
    );

    // Back up: priced again.
    down.store(false, Ordering::SeqCst);
    let back = holdings().await;
    assert_eq!(figures(&back.body), priced, "{}", back.text);
    app.stop().await;
}

#[tokio::test]
async fn an_outage_of_the_price_source_values_holdings_at_the_last_known_price_then_at_no_pnl_on_sqlite() {
    an_outage_of_the_price_source_values_holdings_at_the_last_known_price_then_at_no_pnl(Db::Sqlite).await;
}

#[tokio::test]
async fn an_outage_of_the_price_source_values_holdings_at_the_last_known_price_then_at_no_pnl_on_postgres() {
    an_outage_of_the_price_source_values_holdings_at_the_last_known_price_then_at_no_pnl(Db::Postgres).await;
}
