//! The CoinGecko price source against a fake `/simple/price`.

use crate::support::{fake, silent, Reply};
use kc_chain::{CoinGeckoPrices, Decimal, Price, PriceError, PriceSource};
use kc_domain::ManualClock;
use secrecy::SecretString;
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

const REPLY: &str = r#"{"ethereum":{"usd":3456.789012345678901234,"usd_24h_change":-1.234567890123456789},"usd-coin":{"usd":0.999912,"usd_24h_change":null},"solana":{"usd":1.5e2,"usd_24h_change":2.5E-3}}"#;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn source(url: &str, key: Option<&str>, ttl: Duration) -> CoinGeckoPrices {
    CoinGeckoPrices::new(
        url,
        key.map(|k| SecretString::from(k.to_owned())),
        CoinGeckoPrices::default_ids(),
        Duration::from_secs(5),
        ttl,
    )
    .expect("valid config")
}

fn query_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .expect("query")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn prices_are_exact_and_a_cache_hit_sends_no_request() {
    let fake = fake(|_: &Value| Reply::raw(200, "application/json", REPLY)).await;
    let source = source(&fake.url(), Some("CG-demo-key-123"), Duration::from_secs(60));
    let wanted =
        ids(&["ethereum", "arbitrum", "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "solana", "unmapped"]);

    let prices = source.prices(&wanted).await.expect("prices");
    let eth = Price { usd: dec("3456.789012345678901234"), change_24h_pct: Some(dec("-1.234567890123456789")) };
    assert_eq!(prices.get("ethereum"), Some(&eth), "exact digits, no f64 rounding");
    assert_eq!(prices.get("arbitrum"), Some(&eth), "ETH on Arbitrum is priced as ethereum");
    assert_eq!(
        prices.get("ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"),
        Some(&Price { usd: dec("0.999912"), change_24h_pct: None }),
        "null change is None"
    );
    assert_eq!(
        prices.get("solana"),
        Some(&Price { usd: dec("150"), change_24h_pct: Some(dec("0.0025")) }),
        "exponents"
    );
    assert_eq!(prices.len(), 4, "unmapped ids are absent: {prices:?}");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let query = query_pairs(seen[0].query.as_deref().unwrap_or_default());
    assert_eq!(query.get("ids").map(String::as_str), Some("ethereum,solana,usd-coin"), "each coin once, sorted");
    assert_eq!(query.get("vs_currencies").map(String::as_str), Some("usd"));
    assert_eq!(query.get("include_24hr_change").map(String::as_str), Some("true"));
    assert_eq!(seen[0].headers.get("x-cg-demo-api-key").and_then(|v| v.to_str().ok()), Some("CG-demo-key-123"));

    // Within the TTL: served from the cache, no second request.
    let again = source.prices(&wanted).await.expect("cached prices");
    assert_eq!(again, prices);
    let subset = source.prices(&ids(&["solana"])).await.expect("cached subset");
    assert_eq!(subset.len(), 1);
    assert_eq!(fake.hits(), 1, "cache hits send no request");

    assert!(!format!("{source:?}").contains("CG-demo-key-123"), "Debug must not show the key");
}

#[tokio::test]
async fn the_ttl_is_measured_on_the_injected_clock() {
    let fake = fake(|_: &Value| Reply::raw(200, "application/json", REPLY)).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
    let source = source(&fake.url(), None, Duration::from_secs(60)).with_clock(clock.clone());
    let wanted = ids(&["ethereum", "bitcoin"]);

    let first = source.prices(&wanted).await.expect("prices");
    assert!(first.contains_key("ethereum"));
    assert!(!first.contains_key("bitcoin"), "a coin missing from the reply is absent");
    assert!(fake.seen()[0].headers.get("x-cg-demo-api-key").is_none(), "no key, no header");

    clock.advance(time::Duration::seconds(59));
    source.prices(&wanted).await.expect("cached");
    assert_eq!(fake.hits(), 1, "fresh at 59 s, including the negative answer for bitcoin");

    clock.advance(time::Duration::seconds(1));
    source.prices(&wanted).await.expect("refetched");
    assert_eq!(fake.hits(), 2, "stale at 60 s");

    let zero_ttl = source_zero_ttl(&fake.url());
    zero_ttl.prices(&wanted).await.expect("first");
    zero_ttl.prices(&wanted).await.expect("second");
    assert_eq!(fake.hits(), 4, "a zero TTL disables the cache");
}

fn source_zero_ttl(url: &str) -> CoinGeckoPrices {
    source(url, None, Duration::ZERO)
}

#[tokio::test]
async fn only_missing_coins_are_requested() {
    let fake = fake(|_: &Value| Reply::raw(200, "application/json", REPLY)).await;
    let source = source(&fake.url(), None, Duration::from_secs(60));
    source.prices(&ids(&["ethereum"])).await.expect("first");
    source.prices(&ids(&["ethereum", "solana"])).await.expect("second");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let second = query_pairs(seen[1].query.as_deref().unwrap_or_default());
    assert_eq!(second.get("ids").map(String::as_str), Some("solana"), "ethereum came from the cache");
    // Nothing mapped: no request at all.
    assert!(source.prices(&ids(&["unmapped"])).await.expect("empty").is_empty());
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn failures_map_to_price_errors() {
    let limited = fake(|_: &Value| Reply::raw(429, "application/json", r#"{"status":{"error_code":429}}"#)).await;
    let result = source(&limited.url(), None, Duration::from_secs(60)).prices(&ids(&["ethereum"])).await;
    assert_eq!(result, Err(PriceError::Status { status: 429 }));

    for (name, body) in [("HTML", "<html>Just a moment…</html>"), ("string price", r#"{"ethereum":{"usd":"3000"}}"#)]
    {
        let bad = fake(move |_: &Value| Reply::raw(200, "text/html", body)).await;
        let result = source(&bad.url(), None, Duration::from_secs(60)).prices(&ids(&["ethereum"])).await;
        assert!(matches!(result, Err(PriceError::Malformed(_))), "{name}: {result:?}");
    }

    let addr = silent().await;
    let slow = CoinGeckoPrices::new(
        &format!("http://{addr}"),
        Some(SecretString::from("CG-secret".to_owned())),
        CoinGeckoPrices::default_ids(),
        Duration::from_millis(300),
        Duration::from_secs(60),
    )
    .expect("config");
    match slow.prices(&ids(&["ethereum"])).await {
        Err(PriceError::Transport(msg)) => assert!(!msg.contains("CG-secret"), "{msg}"),
        other => panic!("expected Transport, got {other:?}"),
    }

    let failed_then_ok = source(&limited.url(), None, Duration::from_secs(60));
    assert!(failed_then_ok.prices(&ids(&["ethereum"])).await.is_err());
    assert!(failed_then_ok.prices(&ids(&["ethereum"])).await.is_err(), "errors are not cached");
    assert_eq!(limited.hits(), 3);
}

#[test]
fn pro_hosts_get_the_pro_header_and_bad_config_is_refused() {
    assert!(CoinGeckoPrices::new("not a url", None, HashMap::new(), Duration::from_secs(1), Duration::ZERO).is_err());
    let bad_key = CoinGeckoPrices::new(
        CoinGeckoPrices::PUBLIC_BASE_URL,
        Some(SecretString::from("bad\nkey".to_owned())),
        HashMap::new(),
        Duration::from_secs(1),
        Duration::ZERO,
    );
    assert!(matches!(bad_key, Err(PriceError::Config(_))));
    let pro = CoinGeckoPrices::new(
        CoinGeckoPrices::PRO_BASE_URL,
        Some(SecretString::from("CG-pro".to_owned())),
        HashMap::new(),
        Duration::from_secs(1),
        Duration::ZERO,
    )
    .expect("pro config");
    let shown = format!("{pro:?}");
    assert!(shown.contains("x-cg-pro-api-key") && !shown.contains("CG-pro"), "{shown}");
}

#[tokio::test]
async fn an_outage_serves_the_last_known_prices_for_a_day() {
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fake = {
        let down = down.clone();
        fake(move |_: &Value| {
            if down.load(std::sync::atomic::Ordering::SeqCst) {
                Reply::raw(503, "text/html", "<html>upstream unavailable</html>")
            } else {
                Reply::raw(200, "application/json", REPLY)
            }
        })
        .await
    };
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
    let source = source(&fake.url(), None, Duration::from_secs(60)).with_clock(clock.clone());
    let fresh = source.prices(&ids(&["ethereum", "solana"])).await.expect("prices");

    down.store(true, std::sync::atomic::Ordering::SeqCst);
    clock.advance(time::Duration::minutes(5));
    let stale = source.prices(&ids(&["ethereum", "solana", "bitcoin"])).await.expect("the last known prices");
    assert_eq!(stale, fresh, "stale prices for the coins known, nothing for a coin never answered");
    assert_eq!(fake.hits(), 2, "the source was asked again (the TTL had passed)");
    assert_eq!(
        source.prices(&ids(&["bitcoin"])).await,
        Err(PriceError::Status { status: 503 }),
        "no known price for any wanted coin: the error"
    );

    clock.advance(time::Duration::hours(24));
    assert_eq!(
        source.prices(&ids(&["ethereum"])).await,
        Err(PriceError::Status { status: 503 }),
        "a day after it was fetched, a price is no longer served"
    );
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(source.prices(&ids(&["ethereum"])).await.map(|p| p.len()), Ok(1), "back once the source answers");
}
