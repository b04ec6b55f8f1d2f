//! The ledger at scale (issue 15), run by `cargo xtask bench --only ledger`: ingest and
//! process N transactions across W wallets of one workspace on SQLite or PostgreSQL, compare
//! deep pages of the transactions list read by offset and by keyset, and compare what the Data
//! API pays for its transactions page and holdings on that workspace and on one with an empty
//! ledger.
//!
//! ```text
//! cargo run --release -p kc-store --example ledger_bench -- --db sqlite --transactions 100000 --wallets 10
//! ```
//!
//! `--runs N` sets the Data API runs (at least 15); `--keep` leaves the database (and prints
//! its URL) for `EXPLAIN` by hand.
//!
//! What it does, timing each step:
//!
//! 1. **ingest**: `add_ledger_page` in pages of 1 000 per wallet (what a sync does with an
//!    explorer page), every leg priced; the mix per wallet is buys (+ETH), sales (−ETH with a
//!    fee), USDC receipts and sends to the next wallet (received there in the same second:
//!    internal transfers), and a buy and a sale sharing one second every 50 transactions;
//! 2. **process**: transfer detection and cost basis over the whole workspace
//!    (`kc_service::ledger::process`: load, compute, store the changed rows, positions and
//!    ranks), then again with nothing changed (what every sync cost before a no-op sync skipped
//!    it), then after a sync that appends 100 transactions (what a sync that finds something
//!    new costs);
//! 3. **pages**: `query_ledger` newest first, 100 rows, at offset 0 and at the last page by
//!    offset, then the same deep page by keyset (`after` = the key of the row before it), each
//!    the median of 15 runs (each includes the `totalCount` query over every match). On
//!    PostgreSQL the tables are `ANALYZE`d after the ingest, as autovacuum would.
//!
//! 4. **Data API, empty vs big**: three workspaces made the way an integrator's users make them
//!    (link token, guest sign-in, consent, the sandbox wallet, public token exchanged for an
//!    access token), each given W more wallets with the same live balances (a finished sync job
//!    each): `empty` gets no transaction, `small` 150 (a full first page), the big one the N
//!    above. Then `Service::transactions` (the first page, `GET /api/v1/transactions` without
//!    parameters: 100 rows newest first with `totalCount`) and `Service::holdings`
//!    (`GET /api/v1/holdings`: balances, cost basis and PnL from the ledger's positions) — the
//!    very calls the HTTP handlers make, client authentication and grant check included — are
//!    timed on the three in turn, `--runs` times each (default 31, at least 15, after 3 warm-up
//!    rounds): median, p95, big/empty and big/small.
//!
//! Prints one `key: value` line per figure and the peak RSS of the process (`VmHWM`).

use kc_api::{
    BearerToken, ClientCredentials, ConnectApi, ConsentRequest, CreateIntegrationRequest, CreateLinkTokenRequest,
    DataApi, ExchangeRequest, HoldingsQuery, LinkTokenCredential, RequestMeta, TransactionsApi, TransactionsQuery,
    WidgetApi,
};
use kc_domain::{Clock, SyncStatus, SystemClock, WorkspaceId, SANDBOX_ETHEREUM_ADDRESS};
use kc_ports::{
    ChainPosition, Decimal, HistoricalPriceSource, IntegrationRecord, IntegrationStore, LedgerAsset, LedgerLegRecord,
    LedgerQuery, LedgerStore, NewLedgerTx, PriceError, SnapshotRow,
};
use kc_service::ledger::{process, transaction_id, LedgerPorts, LedgerSettings};
use kc_service::{Embedded, NewClient, Service};
use kc_store::{DatabaseSettings, SeaStore};
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The server's allocator (`crates/server/src/main.rs`), so that what the Data API pays here is
/// what it pays there (with the system allocator a fifth of a page went to malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The small workspace's ledger: a little more than the first page.
const SMALL_LEDGER: usize = 150;

struct NoPrices;

#[async_trait::async_trait]
impl HistoricalPriceSource for NoPrices {
    async fn price_at(&self, _: &str, _: OffsetDateTime) -> Result<Option<Decimal>, PriceError> {
        Ok(None)
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// A `/proc/self/status` figure in MB: `VmHWM` (peak RSS) or `VmRSS`.
fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn asset(token: &str) -> LedgerAsset {
    let (symbol, contract, decimals) = match token {
        "ethereum" => ("ETH", None, 18),
        _ => ("USDC", Some("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".to_owned()), 6),
    };
    LedgerAsset {
        token_id: token.to_owned(),
        symbol: symbol.to_owned(),
        public_name: symbol.to_owned(),
        chain_id: "ethereum".to_owned(),
        contract_address: contract,
        asset_type: "crypto".to_owned(),
        decimals,
    }
}

fn leg(index: i32, direction: &str, token: &str, quantity: &str, price: &str) -> LedgerLegRecord {
    LedgerLegRecord {
        index,
        direction: direction.to_owned(),
        asset: asset(token),
        quantity: quantity.to_owned(),
        price: Some(price.to_owned()),
        from: None,
        to: None,
        cost_basis: None,
        gain: None,
    }
}

/// The `n`-th transaction of wallet `w` (of `wallets`), and, for a send, the receipt that goes
/// with it in the next wallet.
fn generate(w: usize, wallets: usize, n: usize, start: OffsetDateTime) -> (NewLedgerTx, Option<(usize, NewLedgerTx)>) {
    let second = n as i64 * 600 + w as i64;
    let at = start + time::Duration::seconds(second);
    let price = format!("{}", 1500 + (n * 7 + w * 13) % 2000);
    let platform = format!("0x{w:04x}{n:060x}");
    let block = 1_000_000 + n as u64 * 50;
    let mut tx = NewLedgerTx {
        id: String::new(),
        platform_tx_id: platform.clone(),
        chain_id: "ethereum".to_owned(),
        timestamp: at,
        position: ChainPosition::new(block, w as u64 * 2),
        failed: false,
        source_label: None,
        is_nft: false,
        raw: format!("{{\"hash\":\"{platform}\"}}"),
        import_source: "API".to_owned(),
        legs: Vec::new(),
    };
    let mut receipt = None;
    tx.legs = match n % 10 {
        0..=3 => vec![leg(0, "incoming", "ethereum", "0.5", &price)],
        4 | 5 => vec![leg(0, "outgoing", "ethereum", "0.3", &price), leg(1, "fee", "ethereum", "0.001", &price)],
        6 | 7 => vec![leg(0, "incoming", "usdc", "250", "1")],
        8 => vec![leg(0, "outgoing", "usdc", "100", "1"), leg(1, "fee", "ethereum", "0.0005", &price)],
        _ => {
            let to = (w + 1) % wallets;
            let mut r = tx.clone();
            r.platform_tx_id = format!("{platform}r");
            r.position = ChainPosition::new(block, w as u64 * 2 + 1);
            r.legs = vec![leg(0, "incoming", "ethereum", "0.1", &price)];
            receipt = Some((to, r));
            vec![leg(0, "outgoing", "ethereum", "0.1", &price)]
        }
    };
    if n % 50 == 49 {
        // A buy and the sale of it in the same second, in chain order.
        tx.legs = vec![leg(0, "outgoing", "ethereum", "0.2", &price)];
        tx.position = ChainPosition::new(block + 1, 5);
        let mut buy = tx.clone();
        buy.platform_tx_id = format!("{platform}b");
        buy.position = ChainPosition::new(block + 1, 2);
        buy.legs = vec![leg(0, "incoming", "ethereum", "0.2", &price)];
        receipt = Some((w, buy));
    }
    (tx, receipt)
}

/// `total` transactions over the wallets `ids` (a send's receipt counts as one), per wallet in
/// chain order.
fn ledger(total: usize, ids: &[String]) -> Vec<Vec<NewLedgerTx>> {
    let wallets = ids.len();
    let start = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000);
    let mut per_wallet: Vec<Vec<NewLedgerTx>> = vec![Vec::new(); wallets];
    let mut made = 0;
    let mut n = 0;
    while made < total {
        for w in 0..wallets {
            if made >= total {
                break;
            }
            let (tx, extra) = generate(w, wallets, n, start);
            per_wallet[w].push(tx);
            made += 1;
            if let Some((to, r)) = extra {
                if made < total {
                    per_wallet[to].push(r);
                    made += 1;
                }
            }
        }
        n += 1;
    }
    for (w, txs) in per_wallet.iter_mut().enumerate() {
        txs.sort_by_key(|t| (t.timestamp, t.position));
        for t in txs.iter_mut() {
            t.id = transaction_id(&ids[w], &t.platform_tx_id);
        }
    }
    per_wallet
}

async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    times[runs / 2]
}

/// The nearest-rank `pct` percentile of sorted durations.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// An integrator's grant on a new guest workspace (the widget flow, as a browser would drive
/// it): the client's credentials, the access token and the workspace.
async fn grant(
    service: &Service,
    store: &SeaStore,
    creds: &ClientCredentials,
) -> Result<(BearerToken, WorkspaceId), Box<dyn std::error::Error>> {
    let m = RequestMeta::default();
    let link = service.create_link_token(creds, &m, CreateLinkTokenRequest::default()).await?;
    let l = LinkTokenCredential::new(&link.link_token);
    service.auth_anonymous(&l, &m).await?;
    service.consent(&l, &m, ConsentRequest { approve: true }).await?;
    let wallet = CreateIntegrationRequest {
        provider: "ethereum".to_owned(),
        address: Some(SANDBOX_ETHEREUM_ADDRESS.to_owned()),
        ..Default::default()
    };
    let wallet = service.create_integration(&l, &m, wallet).await?;
    let public = service.complete(&l, &m).await?.public_token.ok_or("no public token for a new user")?;
    let exchanged = service.exchange_public_token(creds, &m, ExchangeRequest { public_token: public }).await?;
    let ws = store.find_integration(&wallet.wallet_id).await?.ok_or("the connected wallet is gone")?.workspace_id;
    Ok((BearerToken::new(exchanged.access_token), ws))
}

/// The live balances every bench wallet reports (what a finished balance sync stores).
fn balances() -> Vec<SnapshotRow> {
    ["ethereum", "usdc"]
        .into_iter()
        .map(|token| {
            let a = asset(token);
            SnapshotRow {
                token_id: a.token_id,
                symbol: a.symbol.clone(),
                public_name: a.public_name,
                chain_id: a.chain_id,
                contract_address: a.contract_address,
                logo_url: String::new(),
                category: "crypto".to_owned(),
                asset_type: a.asset_type,
                decimals: a.decimals,
                quantity: if token == "ethereum" { "12.5".to_owned() } else { "4200".to_owned() },
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = arg("--db").unwrap_or_else(|| "sqlite".to_owned());
    let total: usize = arg("--transactions").map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    let wallets: usize = arg("--wallets").map(|s| s.parse()).transpose()?.unwrap_or(10).max(1);
    let dir = std::env::temp_dir().join(format!("kc-ledger-bench-{}", std::process::id()));
    let (url, cleanup) = match db.as_str() {
        "sqlite" => {
            std::fs::create_dir_all(&dir)?;
            (format!("sqlite://{}?mode=rwc", dir.join("kryptos.db").display()), None)
        }
        "postgres" => {
            let admin = std::env::var("KC_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!("kc_ledger_bench_{}", std::process::id());
            let conn = Database::connect(&admin).await?;
            conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).ok_or("KC_TEST_PG_URL names no database")?;
            (format!("{base}/{name}"), Some((conn, name)))
        }
        other => return Err(format!("--db must be sqlite or postgres, not {other}").into()),
    };
    let store = SeaStore::connect(&DatabaseSettings::new(url.clone())).await?;
    store.migrate().await?;
    let runs: usize = arg("--runs").map(|s| s.parse()).transpose()?.unwrap_or(31).max(15);
    let clock = SystemClock;
    // The service the HTTP server runs, on this store (no workers: nothing runs behind the bench).
    let service = Embedded::builder(Arc::new(store.clone()), b"ledger-bench-pepper-of-32-bytes!".to_vec())
        .build()?
        .service()
        .clone();
    let (client, secret) = service.register_client(NewClient::sandbox("Ledger bench")).await?;
    let creds = ClientCredentials::new(client.id.to_string(), secret.expose().to_owned());
    // Workspaces alike but for the ledger: `empty` never gets a transaction.
    let (empty_token, empty_ws) = grant(&service, &store, &creds).await?;
    let (token, ws) = grant(&service, &store, &creds).await?;
    // And one whose ledger just fills the first page: what 100 rows cost at any ledger size.
    let (small_token, small_ws) = grant(&service, &store, &creds).await?;
    let small_ids: Vec<String> = (0..wallets).map(|w| format!("wal_small{w:02}")).collect();
    let ids: Vec<String> = (0..wallets).map(|w| format!("wal_bench{w:02}")).collect();
    for (w, (workspace, id)) in ids
        .iter()
        .map(|id| (&ws, id.clone()))
        .chain((0..wallets).map(|w| (&empty_ws, format!("wal_empty{w:02}"))))
        .chain(small_ids.iter().map(|id| (&small_ws, id.clone())))
        .enumerate()
    {
        store
            .insert_integration(&IntegrationRecord {
                id: id.clone(),
                workspace_id: workspace.clone(),
                provider: "ethereum".to_owned(),
                category: "blockchain".to_owned(),
                address: Some(format!("0x{w:040x}")),
                alias: None,
                account_name: None,
                credentials: None,
                credential_fingerprint: None,
                sync_status: SyncStatus::Queued,
                last_error: None,
                last_synced_at: None,
                total_transactions: 0,
                created_at: clock.now(),
                verified_at: None,
                proof_method: None,
            })
            .await?;
        store.enqueue_sync(&id, "latest", clock.now()).await?;
    }
    // Every wallet's balance sync (the widget's sandbox wallets' too) finishes with the same rows.
    while let Some(job) = store.claim_sync_job("bench", clock.now(), time::Duration::minutes(5)).await? {
        store.finish_sync_job(&job, "bench", &balances(), None, clock.now()).await?;
    }

    // Generate: `total` transactions over the wallets (a send's receipt counts as one).
    let per_wallet = ledger(total, &ids);
    let legs: usize = per_wallet.iter().flatten().map(|t| t.legs.len()).sum();
    let generated_mb = peak_rss_mb();

    // 1. Ingest.
    let t = Instant::now();
    for (w, txs) in per_wallet.iter().enumerate() {
        for (p, page) in txs.chunks(1000).enumerate() {
            let cursor = format!("block:{p}");
            store.add_ledger_page(&ws, &ids[w], page, Some(&cursor), clock.now()).await?;
        }
    }
    let ingest = t.elapsed();
    let ingest_mb = peak_rss_mb();
    if db == "postgres" {
        // What autovacuum does soon after a bulk load: planner statistics for the new rows.
        Database::connect(&url).await?.execute_unprepared("ANALYZE").await?;
    }

    // 2. Process, then process again with nothing changed.
    let ports =
        LedgerPorts { store: Arc::new(store.clone()), prices: Arc::new(NoPrices), settings: LedgerSettings::default() };
    let t = Instant::now();
    let counts = process(&ports, &ws, &clock).await?;
    let first = t.elapsed();
    let process_mb = peak_rss_mb();
    let t = Instant::now();
    process(&ports, &ws, &clock).await?;
    let again = t.elapsed();
    // A sync that appends 100 transactions after the last one, then its processing: what each
    // sync that finds something new costs at this size (the ranks of the new rows are written).
    let appended: Vec<NewLedgerTx> = per_wallet[0]
        .last()
        .map(|last| {
            (0..100_i64)
                .map(|i| {
                    let platform_tx_id = format!("0xappended{i:056x}");
                    NewLedgerTx {
                        id: transaction_id(&ids[0], &platform_tx_id),
                        platform_tx_id,
                        timestamp: last.timestamp + time::Duration::hours(1 + i),
                        ..last.clone()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    store.add_ledger_page(&ws, &ids[0], &appended, Some("block:appended"), clock.now()).await?;
    let legs = legs + appended.iter().map(|t| t.legs.len()).sum::<usize>();
    let t = Instant::now();
    process(&ports, &ws, &clock).await?;
    let after_sync = t.elapsed();
    let t = Instant::now();
    let loaded = store.workspace_ledger(&ws).await?;
    let load_only = t.elapsed();

    // 3. Pages: first, deepest by offset, deepest by keyset.
    let rows = loaded.len() as u64;
    let limit = 100;
    let deep = rows.saturating_sub(limit);
    let page = |offset: u64, after| LedgerQuery { limit, offset, after, descending: true, ..Default::default() };
    // Newest first: the row just before the deep page is the (rows - deep)-th oldest.
    let before_deep = loaded.get(usize::try_from(rows - deep).unwrap_or(0)).map(|r| r.key());
    let first_page = median(15, || async {
        let (p, _) = store.query_ledger(&ws, &page(0, None)).await.expect("first page");
        assert_eq!(p.len() as u64, limit.min(rows));
    })
    .await;
    let offset_page = median(15, || async {
        let (p, _) = store.query_ledger(&ws, &page(deep, None)).await.expect("deep page by offset");
        assert_eq!(p.len() as u64, rows - deep);
    })
    .await;
    let (by_offset, _) = store.query_ledger(&ws, &page(deep, None)).await?;
    let (by_keyset, _) = store.query_ledger(&ws, &page(0, before_deep.clone())).await?;
    assert_eq!(
        by_offset.iter().map(|r| &r.id).collect::<Vec<_>>(),
        by_keyset.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "the keyset page is the offset page"
    );
    let keyset_page = median(15, || async {
        let (p, _) = store.query_ledger(&ws, &page(0, before_deep.clone())).await.expect("deep page by keyset");
        assert_eq!(p.len() as u64, rows - deep);
    })
    .await;

    let secs = |d: Duration| d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("db: {db}");
    println!("transactions: {rows} ({legs} legs) across {wallets} wallets; transfers detected: {}", counts.transfers);
    println!("ingest: {:.2} s, {:.0} transactions/s", secs(ingest), rows as f64 / secs(ingest));
    println!(
        "process (first, {} disposals): {:.2} s, {:.0} transactions/s",
        counts.disposals,
        secs(first),
        rows as f64 / secs(first)
    );
    println!(
        "process (nothing changed, full recompute): {:.2} s; of which loading the ledger: {:.2} s",
        secs(again),
        secs(load_only)
    );
    println!("process after a sync appended {} transactions: {:.2} s", appended.len(), secs(after_sync));
    println!(
        "page of {limit}, newest first: offset 0 {:.1} ms; offset {deep} {:.1} ms; keyset at the same depth {:.1} ms",
        ms(first_page),
        ms(offset_page),
        ms(keyset_page)
    );

    // 4. The Data API on the empty, the small and the big workspace, in turn.
    for (w, txs) in ledger(SMALL_LEDGER, &small_ids).iter().enumerate() {
        store.add_ledger_page(&small_ws, &small_ids[w], txs, None, clock.now()).await?;
    }
    process(&ports, &small_ws, &clock).await?;
    let m = RequestMeta::default();
    let transactions = |token: &BearerToken| {
        let (service, creds, m, token) = (&service, &creds, &m, token.clone());
        async move {
            let page =
                service.transactions(creds, &token, m, TransactionsQuery::default()).await.expect("transactions");
            (page.data.len(), page.pagination.total_count)
        }
    };
    let holdings = |token: &BearerToken| {
        let (service, creds, m, token) = (&service, &creds, &m, token.clone());
        async move { service.holdings(creds, &token, m, HoldingsQuery::default()).await.expect("holdings") }
    };
    assert_eq!(transactions(&empty_token).await, (0, 0), "the empty workspace has no transaction");
    assert_eq!(transactions(&small_token).await, (100, SMALL_LEDGER as u64), "the small workspace fills a page");
    assert_eq!(transactions(&token).await, (100, rows), "the big workspace's first page and totalCount");
    let (h_empty, h_big) = (holdings(&empty_token).await, holdings(&token).await);
    assert_eq!(h_empty.holdings.len(), h_big.holdings.len(), "the same assets in both workspaces");
    assert_eq!(h_empty.summary.total_cost_basis.0, "0", "no cost basis without a ledger");
    assert_ne!(h_big.summary.total_cost_basis.0, "0", "the big workspace's cost basis comes from its ledger");
    let tokens = [&empty_token, &small_token, &token];
    for _ in 0..3 {
        for t in tokens {
            transactions(t).await;
            holdings(t).await;
        }
    }
    let (mut tx_times, mut holding_times) = ([(); 3].map(|_| Vec::new()), [(); 3].map(|_| Vec::new()));
    for _ in 0..runs {
        for (i, t) in tokens.into_iter().enumerate() {
            let at = Instant::now();
            transactions(t).await;
            tx_times[i].push(at.elapsed());
        }
        for (i, t) in tokens.into_iter().enumerate() {
            let at = Instant::now();
            holdings(t).await;
            holding_times[i].push(at.elapsed());
        }
    }
    for v in tx_times.iter_mut().chain(holding_times.iter_mut()) {
        v.sort();
    }

    for (name, [empty, small, big]) in [("transactions page", &tx_times), ("holdings", &holding_times)] {
        let figures =
            |t: &[Duration]| format!("median {:.2} ms p95 {:.2} ms", ms(percentile(t, 50)), ms(percentile(t, 95)));
        let ratio = |a: &[Duration], b: &[Duration], pct| ms(percentile(a, pct)) / ms(percentile(b, pct));
        println!(
            "data api {name}, {runs} runs: empty ledger {}; {SMALL_LEDGER} transactions {}; {rows} transactions {}; \
             big/empty median {:.2}x p95 {:.2}x; big/small median {:.2}x p95 {:.2}x",
            figures(empty),
            figures(small),
            figures(big),
            ratio(big, empty, 50),
            ratio(big, empty, 95),
            ratio(big, small, 50),
            ratio(big, small, 95),
        );
    }
    println!(
        "peak RSS: {:.0} MB (after generating the input {generated_mb:.0} MB, after ingest {ingest_mb:.0} MB, after the first processing {process_mb:.0} MB); RSS at the end {:.0} MB",
        peak_rss_mb(),
        status_mb("VmRSS:")
    );

    drop(ports);
    drop(service);
    drop(store);
    if std::env::args().any(|a| a == "--keep") {
        // For EXPLAIN by hand: the database stays, and so does the SQLite directory.
        println!("kept: {url} (workspace {})", ws.as_str());
        return Ok(());
    }
    if let Some((conn, name)) = cleanup {
        conn.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
