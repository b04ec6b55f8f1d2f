//! The ledger at scale (issue 15), run by `cargo xtask bench --only ledger`: ingest and
//! process N transactions across W wallets of one workspace on SQLite or PostgreSQL, then
//! compare deep pages of the transactions list read by offset and by keyset.
//!
//! ```text
//! cargo run --release -p kc-store --example ledger_bench -- --db sqlite --transactions 100000 --wallets 10
//! ```
//!
//! What it does, timing each step:
//!
//! 1. **ingest**: `add_ledger_page` in pages of 1 000 per wallet (what a sync does with an
//!    explorer page), every leg priced; the mix per wallet is buys (+ETH), sales (−ETH with a
//!    fee), USDC receipts and sends to the next wallet (received there in the same second:
//!    internal transfers), and a buy and a sale sharing one second every 50 transactions;
//! 2. **process**: transfer detection and cost basis over the whole workspace
//!    (`kc_service::ledger::process`: load, compute, store the changed rows and positions), then
//!    again with nothing changed (what every sync cost before a no-op sync skipped it);
//! 3. **pages**: `query_ledger` newest first, 100 rows, at offset 0 and at the last page by
//!    offset, then the same deep page by keyset (`after` = the key of the row before it), each
//!    the median of 15 runs (each includes the `totalCount` query over every match). On
//!    PostgreSQL the tables are `ANALYZE`d after the ingest, as autovacuum would.
//!
//! Prints one `key: value` line per figure and the peak RSS of the process (`VmHWM`).

use kc_domain::{Clock, SyncStatus, SystemClock, WorkspaceId};
use kc_ports::{
    ChainPosition, Decimal, HistoricalPriceSource, IntegrationRecord, IntegrationStore, LedgerAsset, LedgerLegRecord,
    LedgerQuery, LedgerStore, NewLedgerTx, PriceError,
};
use kc_service::ledger::{process, transaction_id, LedgerPorts, LedgerSettings};
use kc_store::{DatabaseSettings, SeaStore};
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

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
    let clock = SystemClock;
    let ws = WorkspaceId::from_stored("00000000-0000-4000-9000-00000000bench".to_owned());
    // The workspace row the integrations refer to (no store call creates a bare workspace).
    let raw = Database::connect(&url).await?;
    raw.execute_unprepared(&format!(
        "INSERT INTO workspaces (id, name, created_at) VALUES ('{}', 'ledger bench', 0)",
        ws.as_str()
    ))
    .await?;
    drop(raw);
    let ids: Vec<String> = (0..wallets).map(|w| format!("wal_bench{w:02}")).collect();
    for (w, id) in ids.iter().enumerate() {
        store
            .insert_integration(&IntegrationRecord {
                id: id.clone(),
                workspace_id: ws.clone(),
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
    }

    // Generate: `total` transactions over the wallets (a send's receipt counts as one).
    let start = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
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
    println!(
        "page of {limit}, newest first: offset 0 {:.1} ms; offset {deep} {:.1} ms; keyset at the same depth {:.1} ms",
        ms(first_page),
        ms(offset_page),
        ms(keyset_page)
    );
    println!(
        "peak RSS: {:.0} MB (after generating the input {generated_mb:.0} MB, after ingest {ingest_mb:.0} MB, after the first processing {process_mb:.0} MB); RSS at the end {:.0} MB",
        peak_rss_mb(),
        status_mb("VmRSS:")
    );

    drop(ports);
    drop(store);
    if let Some((conn, name)) = cleanup {
        conn.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
