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
    match ConnectorRegistry::build(id, options(fake)) {
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
    let c = ConnectorRegistry::build("binance", opts).expect("known").expect("built");
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
