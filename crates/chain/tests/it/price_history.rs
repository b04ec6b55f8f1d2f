//! The CoinGecko historical price source against a fake `/coins/{id}/market_chart/range`
//! answering the documented shape (`prices`, `market_caps`, `total_volumes` as
//! `[ms, number]` pairs), with rate limits (HTTP 429), unknown coins (404) and errors.

use crate::support::{fake_get, query_pairs, Reply};
use kc_chain::{
    CoinGeckoHistory, CoinGeckoHistoryOptions, CoinGeckoPrices, Decimal, HistoricalPriceCache, HistoricalPriceSource,
    MemoryPriceCache, PriceError,
};
use kc_domain::ManualClock;
use secrecy::SecretString;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::macros::{date, datetime};
use time::OffsetDateTime;

const DAY_MS: i64 = 86_400_000;

/// The documented range reply for `[from, to]`: a point at 00:00 UTC of each day priced
/// `3000.<day number>123456789`, a second point at 08:00 priced 1 higher (never the day's
/// price), and a last point at `to` ("now").
fn chart(q: &HashMap<String, String>) -> String {
    let from: i64 = q.get("from").and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: i64 = q.get("to").and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut prices = Vec::new();
    let mut day = (from * 1000).div_euclid(DAY_MS);
    while day * DAY_MS <= to * 1000 {
        prices.push(format!("[{},3000.{day}123456789]", day * DAY_MS));
        if day * DAY_MS + 8 * 3_600_000 <= to * 1000 {
            prices.push(format!("[{},3001.5]", day * DAY_MS + 8 * 3_600_000));
        }
        day += 1;
    }
    prices.push(format!("[{},2999.99]", to * 1000));
    let caps: Vec<String> = prices.iter().map(|p| p.replace("3000.", "360000000000.")).collect();
    format!(
        r#"{{"prices":[{}],"market_caps":[{}],"total_volumes":[[{},12345678901.2]]}}"#,
        prices.join(","),
        caps.join(","),
        to * 1000
    )
}

fn day_price(d: time::Date) -> Decimal {
    let n = (d.with_hms(0, 0, 0).expect("midnight").assume_utc().unix_timestamp() * 1000) / DAY_MS;
    Decimal::from_str(&format!("3000.{n}123456789")).expect("decimal")
}

fn options(retries: u32) -> CoinGeckoHistoryOptions {
    CoinGeckoHistoryOptions { window_days: 180, max_retries: retries, backoff: Duration::from_millis(20) }
}

fn source(url: &str, now: OffsetDateTime, retries: u32) -> CoinGeckoHistory {
    CoinGeckoHistory::new(
        url,
        Some(SecretString::from("CG-demo".to_owned())),
        CoinGeckoPrices::default_ids(),
        options(retries),
        Duration::from_secs(5),
    )
    .expect("config")
    .with_clock(Arc::new(ManualClock::new(now)))
}

#[tokio::test]
async fn one_request_fills_a_window_of_daily_prices() {
    let fake = fake_get(|path, q| {
        if path == "/api/v3/coins/ethereum/market_chart/range" {
            Reply::raw(200, "application/json", &chart(q))
        } else {
            Reply::raw(404, "application/json", r#"{"error":"coin not found"}"#)
        }
    })
    .await;
    let cache = Arc::new(MemoryPriceCache::new());
    let now = datetime!(2024-06-01 12:00 UTC);
    let source = source(&format!("{}/api/v3", fake.url()), now, 0).with_cache(cache.clone());

    let price = source.price_at("ethereum", datetime!(2024-04-10 15:30 UTC)).await.expect("price");
    assert_eq!(price, Some(day_price(date!(2024 - 04 - 10))), "the 00:00 point of the day, exact");
    assert_eq!(fake.hits(), 1);
    let seen = &fake.seen()[0];
    let q = query_pairs(seen.query.as_deref().unwrap_or(""));
    assert_eq!(q.get("vs_currency").map(String::as_str), Some("usd"));
    assert_eq!(q.get("from").map(String::as_str), Some("1704931200"), "2024-01-11 00:00, 90 days before");
    assert_eq!(q.get("to").map(String::as_str), Some("1717243200"), "clipped to now");
    assert_eq!(seen.headers.get("x-cg-demo-api-key").and_then(|v| v.to_str().ok()), Some("CG-demo"));

    // Other days of the window, and ETH on Arbitrum (the same coin): cache hits.
    for (token, at) in [
        ("ethereum", datetime!(2024-04-11 00:00 UTC)),
        ("arbitrum", datetime!(2024-01-11 23:59 UTC)),
        ("ethereum", datetime!(2024-05-31 10:00 UTC)),
    ] {
        let price = source.price_at(token, at).await.expect("cached");
        assert_eq!(price, Some(day_price(at.date())), "{token} {at}");
    }
    assert_eq!(fake.hits(), 1, "served from the cache");
    assert_eq!(cache.len(), 142, "2024-01-11 ..= 2024-05-31: complete days only, today not cached");

    // Today moves: answered, not cached, asked again next time.
    let today = source.price_at("ethereum", datetime!(2024-06-01 09:00 UTC)).await.expect("today");
    assert_eq!(today, Some(day_price(date!(2024 - 06 - 01))));
    source.price_at("ethereum", datetime!(2024-06-01 10:00 UTC)).await.expect("today again");
    assert_eq!(fake.hits(), 3);

    // Unmapped tokens and the future need no request; an unknown coin is None.
    assert_eq!(source.price_at("ethereum:0xnot-mapped", datetime!(2024-04-10 0:00 UTC)).await, Ok(None));
    assert_eq!(source.price_at("ethereum", datetime!(2024-06-02 0:00 UTC)).await, Ok(None));
    assert_eq!(fake.hits(), 3);
    assert_eq!(source.price_at("solana", datetime!(2024-04-10 0:00 UTC)).await, Ok(None), "404: unknown coin");
    assert_eq!(fake.hits(), 4);
    assert_eq!(source.price_at("solana", datetime!(2024-04-12 0:00 UTC)).await, Ok(None), "cached as unknown");
    assert_eq!(fake.hits(), 4);
    assert!(!format!("{source:?}").contains("CG-demo"));
}

#[tokio::test]
async fn rate_limits_are_retried_with_backoff() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let fake = fake_get(move |_, q| {
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::raw(
                429,
                "application/json",
                r#"{"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit."}}"#,
            )
        } else {
            Reply::raw(200, "application/json", &chart(q))
        }
    })
    .await;
    let started = Instant::now();
    let source = source(&fake.url(), datetime!(2024-06-01 12:00 UTC), 2);
    let price = source.price_at("ethereum", datetime!(2024-05-01 0:00 UTC)).await.expect("after two 429s");
    assert_eq!(price, Some(day_price(date!(2024 - 05 - 01))));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() >= Duration::from_millis(60), "20 ms + 40 ms: {:?}", started.elapsed());

    let always = fake_get(|_, _| Reply::raw(429, "text/plain", "slow down")).await;
    let source = self::source(&always.url(), datetime!(2024-06-01 12:00 UTC), 1);
    assert_eq!(
        source.price_at("ethereum", datetime!(2024-05-01 0:00 UTC)).await,
        Err(PriceError::Status { status: 429 })
    );
    assert_eq!(always.hits(), 2, "one try, one retry");
}

#[tokio::test]
async fn errors_and_a_pluggable_cache() {
    let now = datetime!(2024-06-01 12:00 UTC);
    let denied = fake_get(|_, _| Reply::raw(401, "application/json", r#"{"error":{"status":{"error_code":10012,"error_message":"Your request exceeds the allowed time range."}}}"#)).await;
    assert_eq!(
        source(&denied.url(), now, 0).price_at("ethereum", datetime!(2020-01-01 0:00 UTC)).await,
        Err(PriceError::Status { status: 401 })
    );
    let garbage = fake_get(|_, _| Reply::raw(200, "application/json", r#"{"prices":[[1711929600000,"3000"]]}"#)).await;
    assert!(matches!(
        source(&garbage.url(), now, 0).price_at("ethereum", datetime!(2024-04-01 0:00 UTC)).await,
        Err(PriceError::Malformed(_))
    ));

    // A cache another component filled (say a database table) answers without a request.
    let cache = Arc::new(MemoryPriceCache::new());
    cache.put("ethereum", &[(date!(2023 - 03 - 14), Some(Decimal::new(167_895, 1)))]).await.expect("put");
    let nothing = fake_get(|_, _| Reply::raw(500, "text/plain", "must not be called")).await;
    let source = source(&nothing.url(), now, 0).with_cache(cache);
    assert_eq!(source.price_at("ethereum", datetime!(2023-03-14 18:00 UTC)).await, Ok(Some(Decimal::new(167_895, 1))));
    assert_eq!(nothing.hits(), 0);
    assert_eq!(
        source.price_at("ethereum", datetime!(2023-03-15 0:00 UTC)).await,
        Err(PriceError::Status { status: 500 })
    );

    assert!(matches!(
        CoinGeckoHistory::new(
            "ftp://x",
            None,
            HashMap::new(),
            CoinGeckoHistoryOptions::default(),
            Duration::from_secs(1)
        ),
        Err(PriceError::Config(_))
    ));
}

/// Public and demo keys reach 365 days back: CoinGecko refuses an older `from` with 401 and
/// error 10012. A window crossing the line is asked again from the reachable part; a refused
/// day makes older days fail at once, without a request.
#[tokio::test]
async fn the_public_365_day_limit_is_respected() {
    let now = datetime!(2024-06-01 12:00 UTC);
    let limit = (now - time::Duration::days(365)).unix_timestamp();
    let fake = fake_get(move |_, q| {
        let from: i64 = q.get("from").and_then(|s| s.parse().ok()).unwrap_or(0);
        if from < limit {
            Reply::raw(
                401,
                "application/json",
                r#"{"error":{"status":{"timestamp":"2024-06-01T12:00:00.000+00:00","error_code":10012,"error_message":"Your request exceeds the allowed time range. Public API users are limited to querying historical data within the past 365 days."}}}"#,
            )
        } else {
            Reply::raw(200, "application/json", &chart(q))
        }
    })
    .await;
    let source = source(&fake.url(), now, 0);

    // 300 days back: the ±90-day window starts 390 days back, refused; the reachable part is not.
    let day = datetime!(2023-08-06 10:00 UTC);
    assert_eq!(source.price_at("ethereum", day).await, Ok(Some(day_price(day.date()))));
    assert_eq!(fake.hits(), 2);
    let retried = query_pairs(fake.seen()[1].query.as_deref().unwrap_or(""));
    assert_eq!(retried.get("from").map(String::as_str), Some("1685750400"), "2023-06-03 00:00 UTC, 364 days back");

    // 400 days back: refused; older days then fail without a request.
    assert_eq!(
        source.price_at("ethereum", datetime!(2023-04-28 0:00 UTC)).await,
        Err(PriceError::Status { status: 401 })
    );
    assert_eq!(fake.hits(), 3);
    assert_eq!(
        source.price_at("solana", datetime!(2022-01-01 0:00 UTC)).await,
        Err(PriceError::Status { status: 401 })
    );
    assert_eq!(fake.hits(), 3, "no request for a day older than a refused one");
}
