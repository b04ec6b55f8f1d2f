//! Every connector against the local fake: happy path, each documented error, rate-limit
//! back-off, clock skew, maintenance and pagination.

use super::fakes::{FakeAccount, FakeExchanges};
use super::*;
use secrecy::SecretString;

const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const KRAKEN_SECRET: &str = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const OKX_SECRET: &str = "22582BD0CFF14C41EDBF1AB98506286D";

fn creds(key: &str, secret: &str, passphrase: Option<&str>) -> ExchangeCredentials {
    ExchangeCredentials {
        api_key: key.to_owned(),
        secret: SecretString::from(secret.to_owned()),
        passphrase: passphrase.map(|p| SecretString::from(p.to_owned())),
    }
}

fn options(fake: &FakeExchanges) -> ExchangeOptions {
    ExchangeOptions { max_wait: std::time::Duration::from_secs(2), ..ExchangeOptions::new(&fake.url()) }
}

fn summary(b: &[Balance]) -> Vec<(String, String)> {
    b.iter().map(|b| (b.asset.token_id.clone(), b.quantity.to_string())).collect()
}

async fn setup() -> FakeExchanges {
    let fake = FakeExchanges::start().await.expect("fake");
    fake.add(
        "binance",
        "bkey",
        FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.50000000"), ("USDT", "120.5"), ("DOGE", "0.00000000")]),
    );
    fake.add(
        "kraken",
        "kkey",
        FakeAccount::read_only(KRAKEN_SECRET, &[("XXBT", "0.2500000000"), ("XBT.F", "0.25"), ("ZEUR", "10.0000")]),
    );
    let mut okx = FakeAccount::read_only(OKX_SECRET, &[("ETH", "2"), ("USDC", "5.5")]);
    okx.passphrase = Some("pass phrase".to_owned());
    fake.add("okx", "okey", okx);
    fake.add(
        "coinbase",
        "organizations/o/apiKeys/k",
        FakeAccount::read_only(super::fakes::COINBASE_TEST_KEY, &[("BTC", "1"), ("ETH", "0"), ("SOL", "3.25")]),
    );
    fake
}

fn connector(id: &str, fake: &FakeExchanges) -> Arc<dyn ExchangeConnector> {
    match super::build(id, options(fake)) {
        Some(Ok(c)) => c,
        _ => panic!("no connector {id}"),
    }
}

fn good(id: &str) -> ExchangeCredentials {
    match id {
        "binance" => creds("bkey", BINANCE_SECRET, None),
        "kraken" => creds("kkey", KRAKEN_SECRET, None),
        "okx" => creds("okey", OKX_SECRET, Some("pass phrase")),
        _ => creds("organizations/o/apiKeys/k", super::fakes::COINBASE_TEST_KEY, None),
    }
}

#[tokio::test]
async fn happy_path_balances_of_every_exchange() {
    let fake = setup().await;
    let usdt = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7";
    let usdc = "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("binance", vec![("bitcoin", "0.5"), (usdt, "120.5")]),
        ("kraken", vec![("bitcoin", "0.5"), ("kraken:EUR", "10")]),
        ("okx", vec![("ethereum", "2"), (usdc, "5.5")]),
        ("coinbase", vec![("bitcoin", "1"), ("solana", "3.25")]),
    ];
    for (id, want) in cases {
        let c = connector(id, &fake);
        assert_eq!(c.check(&good(id)).await, Ok(KeyCheck::default()), "{id} check");
        let got = c.balances(&good(id)).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        let want: Vec<(String, String)> = want.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
        assert_eq!(summary(&got), want, "{id}");
    }
}

#[tokio::test]
async fn unknown_keys_and_wrong_secrets_are_told_apart() {
    let fake = setup().await;
    for id in ["binance", "kraken", "okx", "coinbase"] {
        let c = connector(id, &fake);
        let mut unknown = good(id);
        unknown.api_key = "nope".to_owned();
        let e = c.check(&unknown).await.expect_err("unknown key");
        assert!(matches!(e, ExchangeError::InvalidKey(_)), "{id}: {e:?}");
        assert!(e.user_message(c.name()).contains("rejected the API key"), "{id}");
    }
    let wrong = |id: &str, secret: &str| {
        let mut c = good(id);
        c.secret = SecretString::from(secret.to_owned());
        c
    };
    let e = connector("binance", &fake).check(&wrong("binance", "other")).await.expect_err("bad secret");
    assert!(matches!(e, ExchangeError::InvalidSignature(_)), "{e:?}");
    let e = connector("kraken", &fake).check(&wrong("kraken", "b3RoZXI=")).await.expect_err("bad secret");
    assert!(matches!(e, ExchangeError::InvalidSignature(_)), "{e:?}");
    let e = connector("okx", &fake).check(&wrong("okx", "other")).await.expect_err("bad secret");
    assert!(matches!(e, ExchangeError::InvalidSignature(_)), "{e:?}");
    let mut bad_pass = good("okx");
    bad_pass.passphrase = Some(SecretString::from("wrong".to_owned()));
    let e = connector("okx", &fake).check(&bad_pass).await.expect_err("bad passphrase");
    assert!(matches!(e, ExchangeError::InvalidPassphrase(_)), "{e:?}");
    let e = connector("coinbase", &fake).check(&wrong("coinbase", "not a pem")).await.expect_err("bad key");
    assert!(matches!(e, ExchangeError::InvalidSignature(_)), "{e:?}");
}

#[tokio::test]
async fn permissions_ip_allow_lists_and_trading_keys() {
    let fake = setup().await;
    let mut no_read = FakeAccount::read_only(BINANCE_SECRET, &[]);
    no_read.can_read = false;
    fake.add("binance", "noread", no_read.clone());
    let e = connector("binance", &fake).check(&creds("noread", BINANCE_SECRET, None)).await.expect_err("no read");
    assert!(matches!(e, ExchangeError::PermissionMissing(_)), "{e:?}");

    let mut okx = FakeAccount::read_only(OKX_SECRET, &[]);
    okx.passphrase = Some("p".to_owned());
    okx.ip_restricted = true;
    fake.add("okx", "ip", okx.clone());
    let e = connector("okx", &fake).check(&creds("ip", OKX_SECRET, Some("p"))).await.expect_err("ip");
    assert!(matches!(e, ExchangeError::IpNotAllowed(_)), "{e:?}");
    assert!(e.user_message("OKX").contains("IP addresses"));

    let mut coinbase = FakeAccount::read_only(super::fakes::COINBASE_TEST_KEY, &[]);
    coinbase.can_read = false;
    fake.add("coinbase", "cb-noread", coinbase);
    let e = connector("coinbase", &fake).check(&creds("cb-noread", super::fakes::COINBASE_TEST_KEY, None)).await;
    assert!(matches!(e, Err(ExchangeError::PermissionMissing(_))), "{e:?}");

    let mut kraken = FakeAccount::read_only(KRAKEN_SECRET, &[]);
    kraken.can_read = false;
    fake.add("kraken", "k-noread", kraken);
    let e = connector("kraken", &fake).check(&creds("k-noread", KRAKEN_SECRET, None)).await;
    assert!(matches!(e, Err(ExchangeError::PermissionMissing(_))), "{e:?}");

    let mut trader = FakeAccount::read_only(BINANCE_SECRET, &[]);
    trader.can_trade = true;
    trader.can_withdraw = true;
    fake.add("binance", "trader", trader.clone());
    let check = connector("binance", &fake).check(&creds("trader", BINANCE_SECRET, None)).await.expect("trader");
    assert_eq!(check, KeyCheck { can_trade: true, can_withdraw: true });
    okx.ip_restricted = false;
    okx.can_trade = true;
    fake.add("okx", "otrader", okx);
    let check = connector("okx", &fake).check(&creds("otrader", OKX_SECRET, Some("p"))).await.expect("okx trader");
    assert_eq!(check, KeyCheck { can_trade: true, can_withdraw: false });
}

#[tokio::test]
async fn rate_limits_are_waited_out_then_reported() {
    let fake = setup().await;
    for id in ["binance", "kraken", "okx", "coinbase"] {
        let c = connector(id, &fake);
        fake.rate_limit(1);
        let started = std::time::Instant::now();
        c.balances(&good(id)).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(started.elapsed() >= std::time::Duration::from_millis(900), "{id} waited Retry-After");
    }
    let mut opts = options(&fake);
    opts.max_retries = 1;
    let c = super::build("binance", opts).expect("known").expect("built");
    fake.rate_limit(5);
    let e = c.balances(&good("binance")).await.expect_err("limited");
    assert!(matches!(e, ExchangeError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 1), "{e:?}");
    assert!(e.is_retryable());
    fake.rate_limit(0);
}

#[tokio::test]
async fn clock_skew_and_maintenance_are_retryable_and_explained() {
    let fake = setup().await;
    fake.skew(-60_000);
    for id in ["binance", "okx"] {
        let e = connector(id, &fake).balances(&good(id)).await.expect_err("skew");
        assert!(matches!(e, ExchangeError::ClockSkew(_)), "{id}: {e:?}");
        assert!(e.is_retryable() && e.to_string().contains("clock"));
    }
    fake.skew(0);
    fake.maintenance(true);
    for id in ["binance", "kraken", "okx", "coinbase"] {
        let e = connector(id, &fake).balances(&good(id)).await.expect_err("maintenance");
        assert!(matches!(e, ExchangeError::Maintenance(_)), "{id}: {e:?}");
        assert!(e.user_message("X").contains("maintenance"));
    }
    fake.maintenance(false);
}

#[tokio::test]
async fn coinbase_accounts_are_paged_with_the_cursor() {
    let fake = setup().await;
    fake.page_size(2);
    let b = connector("coinbase", &fake).balances(&good("coinbase")).await.expect("balances");
    assert_eq!(summary(&b), vec![("bitcoin".to_owned(), "1".to_owned()), ("solana".to_owned(), "3.25".to_owned())]);
    let pages =
        fake.requests().iter().filter(|r| r.starts_with("GET /api/v3/brokerage/accounts")).cloned().collect::<Vec<_>>();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].contains("cursor=page-2"), "{pages:?}");
}

#[tokio::test]
async fn kraken_nonces_never_repeat_across_calls() {
    let fake = setup().await;
    let c = connector("kraken", &fake);
    for _ in 0..5 {
        c.balances(&good("kraken")).await.expect("balances");
    }
}

// ---- History: trades, deposits and withdrawals ----

use super::fakes::FakeEvent;
use kc_ports::{HistoryTransaction, LegDirection};

const HOUR_MS: i64 = 3_600_000;
const USDT: &str = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7";

/// A deposit of 1000 USDT, a buy of 0.01 BTC at 30000, a sale of 0.005 BTC at 32000 (fees in
/// USDT), then a withdrawal of 100 USDT (fee 1), `base` ms ago and after; `btc` is the
/// exchange's code for bitcoin.
fn events(base: i64, btc: &str) -> Vec<FakeEvent> {
    let t0 = i64::try_from(super::now_ms()).expect("now") - base;
    let trade = |id: u64, t: i64, buy: bool, qty: &str, price: &str, fee: &str| FakeEvent::Trade {
        id,
        time_ms: t,
        base: btc.to_owned(),
        quote: "USDT".to_owned(),
        buy,
        qty: qty.to_owned(),
        price: price.to_owned(),
        fee: fee.to_owned(),
        fee_asset: "USDT".to_owned(),
    };
    vec![
        FakeEvent::Deposit { id: 1, time_ms: t0, asset: "USDT".into(), amount: "1000".into(), txid: "0xd1".into() },
        trade(2, t0 + HOUR_MS, true, "0.01", "30000", "0.3"),
        trade(3, t0 + 2 * HOUR_MS, false, "0.005", "32000", "0.16"),
        FakeEvent::Withdrawal {
            id: 4,
            time_ms: t0 + 3 * HOUR_MS,
            asset: "USDT".into(),
            amount: "100".into(),
            fee: "1".into(),
            txid: "0xw4".into(),
        },
    ]
}

type Legs = Vec<(&'static str, String, String)>;

fn legs_of(tx: &HistoryTransaction) -> Legs {
    tx.legs
        .iter()
        .map(|l| {
            let d = match l.direction {
                LegDirection::Incoming => "in",
                LegDirection::Outgoing => "out",
                LegDirection::Fee => "fee",
            };
            (d, l.asset.token_id.clone(), l.quantity.to_string())
        })
        .collect()
}

fn leg3(d: &'static str, token: &str, q: &str) -> (&'static str, String, String) {
    (d, token.to_owned(), q.to_owned())
}

/// The legs every exchange must produce for [`events`] (OKX: see its own test).
fn expected() -> Vec<Legs> {
    vec![
        vec![leg3("in", USDT, "1000")],
        vec![leg3("out", USDT, "300"), leg3("in", "bitcoin", "0.01"), leg3("fee", USDT, "0.3")],
        vec![leg3("out", "bitcoin", "0.005"), leg3("in", USDT, "160"), leg3("fee", USDT, "0.16")],
        vec![leg3("out", USDT, "100"), leg3("fee", USDT, "1")],
    ]
}

/// Reads the whole history from `cursor`: the transactions and the final cursor.
async fn read_all(
    c: &dyn ExchangeConnector,
    creds: &ExchangeCredentials,
    mut cursor: Option<String>,
) -> (Vec<HistoryTransaction>, Option<String>, usize) {
    let mut all = Vec::new();
    for pages in 1..=500 {
        let page = c.history(creds, cursor.as_deref()).await.unwrap_or_else(|e| panic!("{}: {e}", c.id()));
        for w in page.transactions.windows(2) {
            assert!(w[0].timestamp <= w[1].timestamp, "{}: a page is oldest first", c.id());
        }
        all.extend(page.transactions);
        assert!(page.cursor.is_some(), "{}: a cursor after every page", c.id());
        cursor = page.cursor;
        if !page.has_more {
            // Several pages may return one transaction (overlaps): keep the last of each id.
            let mut seen = std::collections::HashMap::new();
            for tx in all {
                seen.insert(tx.id.clone(), tx);
            }
            let mut txs: Vec<HistoryTransaction> = seen.into_values().collect();
            txs.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
            return (txs, cursor, pages);
        }
    }
    panic!("{}: history never ended", c.id());
}

async fn history_fake() -> FakeExchanges {
    let fake = FakeExchanges::start().await.expect("fake");
    let three_days = 3 * 24 * HOUR_MS;
    let mut b = FakeAccount::read_only(BINANCE_SECRET, &[("BTC", "0.005"), ("USDT", "558.54")]);
    b.history = events(three_days, "BTC");
    fake.add("binance", "bkey", b);
    let mut k = FakeAccount::read_only(KRAKEN_SECRET, &[("XXBT", "0.005"), ("USDT", "558.54")]);
    k.history = events(three_days, "XXBT");
    fake.add("kraken", "kkey", k);
    let mut o = FakeAccount::read_only(OKX_SECRET, &[("BTC", "0.005"), ("USDT", "558.54")]);
    o.passphrase = Some("pass phrase".to_owned());
    o.history = events(three_days, "BTC");
    fake.add("okx", "okey", o);
    let mut cb = FakeAccount::read_only(super::fakes::COINBASE_TEST_KEY, &[("BTC", "0.005"), ("USDT", "558.54")]);
    cb.history = events(three_days, "BTC");
    fake.add("coinbase", "organizations/o/apiKeys/k", cb);
    fake
}

#[tokio::test]
async fn history_of_every_exchange_is_trades_deposits_and_withdrawals_as_legs() {
    let fake = history_fake().await;
    for id in ["binance", "kraken", "coinbase", "okx"] {
        let c = connector(id, &fake);
        let (txs, cursor, _) = read_all(c.as_ref(), &good(id), None).await;
        let got: Vec<Legs> = txs.iter().map(legs_of).collect();
        let mut want = expected();
        if id == "okx" {
            // The trading account sees a withdrawal as a transfer of amount + fee to funding.
            want[3] = vec![leg3("out", USDT, "101")];
        }
        assert_eq!(got, want, "{id}: {:#?}", txs.iter().map(|t| &t.id).collect::<Vec<_>>());
        assert!(txs.iter().all(|t| !t.raw.is_null() && !t.failed), "{id}: raw records kept");
        // Incremental: nothing new from the cursor, and no transaction id changes.
        let ids: Vec<String> = txs.iter().map(|t| t.id.clone()).collect();
        let (again, _, _) = read_all(c.as_ref(), &good(id), cursor.clone()).await;
        assert!(again.iter().all(|t| ids.contains(&t.id)), "{id}: resync adds nothing new: {again:?}");
        // A full resync gives the same ids.
        let (full, _, _) = read_all(c.as_ref(), &good(id), None).await;
        assert_eq!(full.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), ids, "{id}: stable ids");
        assert!(matches!(c.history(&good(id), Some("not a cursor")).await, Err(ExchangeError::Malformed(_))), "{id}");
    }
}

#[tokio::test]
async fn history_is_paged_as_each_api_pages() {
    let fake = history_fake().await;
    fake.page_size(2);
    for id in ["binance", "kraken", "coinbase", "okx"] {
        let c = connector(id, &fake);
        let (txs, _, pages) = read_all(c.as_ref(), &good(id), None).await;
        assert_eq!(txs.len(), 4, "{id}: every transaction across pages");
        assert!(txs.iter().all(|t| t.legs.len() <= 3), "{id}");
        assert!(pages > 1, "{id}");
    }
    let requests = fake.requests();
    let count = |prefix: &str| requests.iter().filter(|r| r.starts_with(prefix)).count();
    // Binance: 90-day windows from its launch, deposits and withdrawals each.
    let windows = count("GET /sapi/v1/capital/deposit/hisrec");
    assert!(windows >= 36, "{windows} windows");
    // Binance: trades of the symbols between held or moved assets only (BTCUSDT, not ETHUSDT).
    let trades: Vec<&String> = requests.iter().filter(|r| r.starts_with("GET /api/v3/myTrades")).collect();
    assert_eq!(trades.len(), 1, "{trades:?}");
    assert!(trades[0].contains("symbol=BTCUSDT&fromId=0"), "{trades:?}");
    // Kraken: the ledger pages by ofs, never splitting a trade's two entries.
    let ledgers: Vec<&String> = requests.iter().filter(|r| r.starts_with("POST /0/private/Ledgers")).collect();
    assert_eq!(ledgers.len(), 4, "{ledgers:?}");
    // Coinbase: fills by cursor, then each wallet's transactions by starting_after.
    assert_eq!(requests.iter().filter(|r| r.contains("/orders/historical/fills")).count(), 1, "two fills, one page");
    assert!(requests.iter().any(|r| r.contains("/v2/accounts/") && r.contains("starting_after=")), "{requests:?}");
    // OKX: bills-archive on a first sync, paged backwards with `after`.
    assert!(requests.iter().any(|r| r.starts_with("GET /api/v5/account/bills-archive") && r.contains("after=")));
}

#[tokio::test]
async fn okx_reads_recent_bills_after_the_first_sync_and_archive_first() {
    let fake = history_fake().await;
    let c = connector("okx", &fake);
    let (_, cursor, _) = read_all(c.as_ref(), &good("okx"), None).await;
    let mut acct = FakeAccount::read_only(OKX_SECRET, &[]);
    acct.passphrase = Some("pass phrase".to_owned());
    acct.history = events(3 * 24 * HOUR_MS, "BTC");
    acct.history.push(FakeEvent::Deposit {
        id: 9,
        time_ms: i64::try_from(super::now_ms()).expect("now") - 1000,
        asset: "SOL".into(),
        amount: "2".into(),
        txid: "s".into(),
    });
    fake.add("okx", "okey", acct);
    let (txs, _, _) = read_all(c.as_ref(), &good("okx"), cursor).await;
    assert_eq!(txs.iter().map(legs_of).collect::<Vec<_>>(), vec![vec![leg3("in", "solana", "2")]]);
    let last = fake.requests().last().cloned().unwrap_or_default();
    assert!(last.starts_with("GET /api/v5/account/bills?"), "recent bills after a recent sync: {last}");
}

#[tokio::test]
async fn binance_slows_down_near_the_weight_limit_and_honours_a_ban() {
    let fake = history_fake().await;
    let opts = options(&fake);
    let c =
        binance::Binance::new(opts).expect("connector").with_weight_limit(1000, std::time::Duration::from_millis(1500));
    // The windows are aligned to the clock, as Binance's minutes are: start just after one
    // turns, so the wait below is most of a window, not whatever was left of it (a first call
    // near a window's end made the wait shorter than the 100 ms asserted).
    let into_window = super::now_ms() % 1500;
    tokio::time::sleep(std::time::Duration::from_millis(1500 - into_window + 10)).await;
    fake.binance_weight(990, 1500);
    c.balances(&good("binance")).await.expect("first call");
    // That reply reported 1010 used: the next call waits for the window to turn.
    let started = std::time::Instant::now();
    c.balances(&good("binance")).await.expect("second call");
    assert!(started.elapsed() >= std::time::Duration::from_millis(100), "waited for the next window");
    let started = std::time::Instant::now();
    c.balances(&good("binance")).await.expect("third call");
    assert!(started.elapsed() < std::time::Duration::from_millis(1000), "no wait under the limit");

    // 418 with a short Retry-After is waited out; a long one (an IP ban) gives up at once.
    fake.binance_ban(1, 1);
    let started = std::time::Instant::now();
    c.balances(&good("binance")).await.expect("after a short ban");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    fake.binance_ban(1, 600);
    let started = std::time::Instant::now();
    let e = c.balances(&good("binance")).await.expect_err("banned");
    assert!(matches!(e, ExchangeError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 600), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "no 10-minute wait");
}

#[tokio::test]
async fn kraken_paces_ledger_calls_under_its_counter() {
    let fake = history_fake().await;
    fake.page_size(2);
    // A counter of 4 decaying 4 a second: Ledgers costs 2, so the third call in a row waits.
    let c = kraken::Kraken::new(options(&fake)).expect("connector").with_counter(4.0, 4.0);
    let started = std::time::Instant::now();
    let (txs, _, pages) = read_all(&c, &good("kraken"), None).await;
    assert_eq!((txs.len(), pages), (4, 4));
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "paced: {:?}", started.elapsed());
}

#[tokio::test]
async fn kraken_permission_denied_explains_both_causes() {
    let fake = history_fake().await;
    let mut acct = FakeAccount::read_only(KRAKEN_SECRET, &[]);
    acct.ip_restricted = true;
    fake.add("kraken", "ip", acct);
    let e = connector("kraken", &fake).history(&creds("ip", KRAKEN_SECRET, None), None).await.expect_err("denied");
    assert!(matches!(&e, ExchangeError::PermissionMissing(d) if d.contains("IP allow-list")), "{e:?}");
}
