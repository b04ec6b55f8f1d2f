//! [`LedgerStore`](kc_ports::LedgerStore): idempotent pages per (integration, platform id),
//! keyset-stable ordering (time, then id), filters and pages, outcomes and positions, reset,
//! stages and cursors, processing webhooks.

use super::{client, connected, endpoint, grant_on, must, race, t0, wallet, ExtraStore};
use kc_domain::{WebhookEvent, WorkspaceId};
use kc_ports::{
    ChainPosition, LedgerAsset, LedgerLegRecord, LedgerPosition, LedgerQuery, LedgerTxRecord, LedgerTxUpdate,
    NewLedgerTx, StoreError, UnpricedLeg,
};
use time::Duration;

fn asset(token: &str) -> LedgerAsset {
    LedgerAsset {
        token_id: token.to_owned(),
        symbol: token.to_uppercase(),
        public_name: format!("{token} coin"),
        chain_id: "ethereum".to_owned(),
        contract_address: None,
        asset_type: "crypto".to_owned(),
        decimals: 18,
    }
}

fn leg(index: i32, direction: &str, token: &str, quantity: &str) -> LedgerLegRecord {
    LedgerLegRecord {
        index,
        direction: direction.to_owned(),
        asset: asset(token),
        quantity: quantity.to_owned(),
        price: Some("2.5".to_owned()),
        from: Some("0xfrom".to_owned()),
        to: None,
        cost_basis: None,
        gain: None,
    }
}

/// A transaction of `integration` with platform id `platform`, at `t0 + secs`, moving `token`.
fn tx(integration: &str, platform: &str, secs: i64, token: &str) -> NewLedgerTx {
    NewLedgerTx {
        id: format!("trx_{integration}_{platform}"),
        platform_tx_id: platform.to_owned(),
        chain_id: "ethereum".to_owned(),
        timestamp: t0() + Duration::seconds(secs),
        position: ChainPosition::new(0, 0),
        failed: false,
        source_label: None,
        is_nft: false,
        raw: format!("{{\"hash\":\"{platform}\"}}"),
        import_source: "API".to_owned(),
        // Given out of order: the store keeps them by index.
        legs: vec![
            LedgerLegRecord { price: None, ..leg(1, "fee", "ethereum", "0.001") },
            leg(0, "incoming", token, "1.5"),
        ],
    }
}

/// [`tx`] at chain position (`block`, `index`).
fn tx_at(integration: &str, platform: &str, secs: i64, token: &str, block: u64, index: u64) -> NewLedgerTx {
    NewLedgerTx { position: ChainPosition::new(block, index), ..tx(integration, platform, secs, token) }
}

fn ms(secs: i64) -> i64 {
    (t0() + Duration::seconds(secs)).unix_timestamp() * 1000
}

/// A workspace (with a live grant of a client) and `n` wallet integrations of it.
async fn workspace<S: ExtraStore>(s: &S, tag: &str, n: usize) -> (WorkspaceId, Vec<String>) {
    let c = client(s, tag).await;
    let g = connected(s, &c.id, tag, t0()).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("wal_{tag}{i}");
        let w = wallet(&id, &g.workspace_id, "ethereum", &format!("0x{tag}{i}"), t0());
        must(s.insert_integration(&w).await, "insert_integration");
        ids.push(id);
    }
    (g.workspace_id, ids)
}

pub(super) async fn pages_are_idempotent<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lpi", 1).await;
    let w = &ids[0];
    assert_eq!(must(s.ledger_cursor(w).await, "ledger_cursor"), None, "a new integration has no cursor");
    let mut again = tx(w, "0xa", 5, "usdc");
    again.raw = "{\"copy\":2}".to_owned();
    let page = [tx(w, "0xa", 10, "usdc"), tx(w, "0xb", 20, "dai"), again];
    let n = must(s.add_ledger_page(&ws, w, &page, Some("c1"), t0()).await, "add_ledger_page");
    assert_eq!(n, 2, "a page repeating a platform id adds it once");
    assert_eq!(must(s.ledger_cursor(w).await, "ledger_cursor").as_deref(), Some("c1"));
    // A resync of the same history (and one new transaction) duplicates nothing.
    let page = [tx(w, "0xb", 20, "dai"), tx(w, "0xa", 10, "usdc"), tx(w, "0xc", 30, "usdc")];
    let n = must(s.add_ledger_page(&ws, w, &page, Some("c2"), t0()).await, "add_ledger_page");
    assert_eq!(n, 1, "transactions already present are left as they are");
    assert_eq!(must(s.ledger_cursor(w).await, "ledger_cursor").as_deref(), Some("c2"));
    let n = must(s.add_ledger_page(&ws, w, &[], None, t0()).await, "add_ledger_page");
    assert_eq!(n, 0);
    assert_eq!(must(s.ledger_cursor(w).await, "ledger_cursor"), None, "the page's cursor is stored, None included");

    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let platform: Vec<&str> = all.iter().map(|t| t.platform_tx_id.as_str()).collect();
    assert_eq!(platform, ["0xa", "0xb", "0xc"], "oldest first, no duplicates");
    let a = &all[0];
    assert_eq!(a.timestamp_ms, ms(10), "the first copy in a page wins");
    assert_eq!(a.id, format!("trx_{w}_0xa"));
    assert_eq!(a.integration_id, *w);
    assert_eq!(a.raw, "", "workspace_ledger leaves raw empty");
    assert_eq!((a.label.as_str(), a.transaction_type.as_str()), ("Unknown", "other"), "unprocessed defaults");
    assert_eq!((a.total_costbasis.as_str(), a.total_gains.as_str()), ("0", "0"));
    assert!(!a.is_manual && !a.is_edited && !a.is_missing_price && !a.is_missing_purchase);
    assert_eq!(a.import_source, "API");
    let legs: Vec<(i32, &str)> = a.legs.iter().map(|l| (l.index, l.direction.as_str())).collect();
    assert_eq!(legs, [(0, "incoming"), (1, "fee")], "legs by index");
    assert_eq!(a.legs[0], leg(0, "incoming", "usdc", "1.5"), "a leg reads back as written");

    // Another integration may carry the same platform id: the key is (integration, platform id).
    let other = "wal_lpi_other".to_owned();
    must(s.insert_integration(&wallet(&other, &ws, "polygon", "0xlpiother", t0())).await, "insert_integration");
    let n = must(s.add_ledger_page(&ws, &other, &[tx(&other, "0xa", 40, "usdc")], None, t0()).await, "add_ledger_page");
    assert_eq!(n, 1, "the same platform id in another integration is another transaction");
    let (page, total) =
        must(s.query_ledger(&ws, &LedgerQuery { limit: 10, ..Default::default() }).await, "query_ledger");
    assert_eq!(total, 4);
    assert_eq!(page[0].raw, "{\"hash\":\"0xa\"}", "query_ledger returns raw");
}

pub(super) async fn query_orders_filters_and_pages<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lq", 2).await;
    let (w0, w1) = (&ids[0], &ids[1]);
    // At 200 s three transactions: the chain position orders them (not the id); at 250 s two
    // with the same position: the id breaks the tie. Ids: trx_<wallet>_<platform id>.
    let first = [
        tx(w0, "p1", 100, "usdc"),
        tx_at(w0, "p2", 200, "dai", 7, 3),
        tx_at(w0, "p3", 200, "usdc", 7, 1),
        tx(w0, "p5", 250, "usdc"),
    ];
    let second = [
        tx(w1, "q1", 150, "weth"),
        tx(w1, "q2", 300, "usdc"),
        tx_at(w1, "q3", 200, "usdc", 2, 9),
        tx(w1, "q5", 250, "usdc"),
    ];
    must(s.add_ledger_page(&ws, w0, &first, None, t0()).await, "add_ledger_page");
    must(s.add_ledger_page(&ws, w1, &second, None, t0()).await, "add_ledger_page");
    // Another workspace's ledger never shows.
    let (ows, oids) = workspace(s, "lqo", 1).await;
    must(s.add_ledger_page(&ows, &oids[0], &[tx(&oids[0], "z1", 120, "usdc")], None, t0()).await, "add_ledger_page");

    let q = |f: &dyn Fn(&mut LedgerQuery)| {
        let mut q = LedgerQuery { limit: 100, ..Default::default() };
        f(&mut q);
        q
    };
    let ids_of = |rows: &[LedgerTxRecord]| rows.iter().map(|t| t.platform_tx_id.clone()).collect::<Vec<_>>();
    let ascending = ["p1", "q1", "q3", "p3", "p2", "p5", "q5", "q2"];
    let descending: Vec<&str> = ascending.iter().rev().copied().collect();

    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    assert_eq!(ids_of(&all), ascending, "workspace_ledger: (timestamp, block, index, id) order");
    let p2 = all.iter().find(|t| t.platform_tx_id == "p2").unwrap_or_else(|| panic!("p2 missing"));
    assert_eq!(p2.position, ChainPosition::new(7, 3), "the chain position reads back");
    let (rows, total) = must(s.query_ledger(&ws, &q(&|_| {})).await, "query_ledger");
    assert_eq!(total, 8);
    assert_eq!(ids_of(&rows), ascending, "ascending by (timestamp, block, index, id)");
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.descending = true)).await, "query_ledger");
    assert_eq!(ids_of(&rows), descending, "descending: the exact reverse");

    // Offset pages walk the same order without gaps or repeats, each with the full total.
    for desc in [false, true] {
        let mut walked = Vec::new();
        for page in 0..3u64 {
            let (rows, total) = must(
                s.query_ledger(
                    &ws,
                    &q(&|q| {
                        q.limit = 3;
                        q.offset = page * 3;
                        q.descending = desc
                    }),
                )
                .await,
                "page",
            );
            assert_eq!(total, 8, "the total ignores the page");
            walked.extend(ids_of(&rows));
        }
        assert_eq!(
            walked,
            if desc { descending.clone() } else { ascending.to_vec() },
            "offset pages (descending: {desc})"
        );
    }
    // Keyset pages: strictly after the last row's key, in the query's direction.
    for desc in [false, true] {
        let mut walked = Vec::new();
        let mut after = None;
        for _ in 0..4 {
            let (rows, total) = must(
                s.query_ledger(
                    &ws,
                    &q(&|q| {
                        q.limit = 3;
                        q.descending = desc;
                        q.after = after.clone()
                    }),
                )
                .await,
                "keyset page",
            );
            assert_eq!(total, 8, "the total counts the filters, not the keyset");
            let Some(last) = rows.last() else { break };
            after = Some(last.key());
            walked.extend(ids_of(&rows));
        }
        assert_eq!(
            walked,
            if desc { descending.clone() } else { ascending.to_vec() },
            "keyset pages (descending: {desc})"
        );
    }
    let q3 = all.iter().find(|t| t.platform_tx_id == "q3").unwrap_or_else(|| panic!("q3 missing")).key();
    let (rows, _) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.after = Some(q3.clone());
                q.offset = 1;
                q.limit = 2
            }),
        )
        .await,
        "k+o",
    );
    assert_eq!(ids_of(&rows), ["p2", "p5"], "the offset skips rows after the key");
    let (rows, _) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.after = Some(q3.clone());
                q.descending = true
            }),
        )
        .await,
        "k desc",
    );
    assert_eq!(ids_of(&rows), ["q1", "p1"], "descending: before the key");
    let (rows, total) = must(s.query_ledger(&ws, &q(&|q| q.offset = 10)).await, "query_ledger");
    assert!(rows.is_empty() && total == 8, "past the end: an empty page, the same total");

    let (rows, total) = must(s.query_ledger(&ws, &q(&|q| q.wallet_ids = vec![w1.clone()])).await, "wallet filter");
    assert_eq!((ids_of(&rows), total), (vec!["q1".to_owned(), "q3".into(), "q5".into(), "q2".into()], 4));
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.wallet_ids = vec![oids[0].clone()])).await, "foreign wallet");
    assert!(rows.is_empty(), "another workspace's integration filters to nothing");
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.currency_ids = vec!["dai".into(), "weth".into()])).await, "cur");
    assert_eq!(ids_of(&rows), ["q1", "p2"], "a transaction matches when any leg has the token");
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.currency_ids = vec!["ethereum".into()])).await, "fee token");
    assert_eq!(rows.len(), 8, "fee legs count for the currency filter");
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.trx_id = Some("p3".into()))).await, "platform id");
    assert_eq!(ids_of(&rows), ["p3"]);
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.trx_id = Some(format!("trx_{w1}_q1")))).await, "trx id");
    assert_eq!(ids_of(&rows), ["q1"]);
    let (rows, _) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.time_start = Some(ms(150));
                q.time_end = Some(ms(200))
            }),
        )
        .await,
        "t",
    );
    assert_eq!(ids_of(&rows), ["q1", "q3", "p3", "p2"], "time bounds are inclusive");

    // Flags, types and labels as processing left them.
    let upd = |id: String, label: &str, ty: &str, missing_price: bool| LedgerTxUpdate {
        id,
        label: label.to_owned(),
        transaction_type: ty.to_owned(),
        description: format!("{label} {ty}"),
        is_missing_price: missing_price,
        is_missing_purchase: false,
        total_costbasis: "1".to_owned(),
        total_gains: "0".to_owned(),
        legs: vec![],
    };
    let updates =
        [upd(format!("trx_{w0}_p1"), "Income", "deposit", true), upd(format!("trx_{w1}_q2"), "Swap", "swap", false)];
    must(s.save_ledger_outcome(&ws, &updates, &[]).await, "save_ledger_outcome");
    let (rows, total) = must(s.query_ledger(&ws, &q(&|q| q.is_missing_price = Some(true))).await, "missing price");
    assert_eq!((ids_of(&rows), total), (vec!["p1".to_owned()], 1));
    let (rows, total) = must(s.query_ledger(&ws, &q(&|q| q.is_missing_price = Some(false))).await, "not missing");
    assert_eq!(total, 7, "a false flag filter matches the others ({:?})", ids_of(&rows));
    let (rows, _) =
        must(s.query_ledger(&ws, &q(&|q| q.transaction_types = vec!["swap".into(), "deposit".into()])).await, "ty");
    assert_eq!(ids_of(&rows), ["p1", "q2"]);
    let (rows, _) = must(s.query_ledger(&ws, &q(&|q| q.labels = vec!["Unknown".into()])).await, "labels");
    assert_eq!(ids_of(&rows), ["q1", "q3", "p3", "p2", "p5", "q5"]);
    let (rows, _) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.is_nft = Some(true);
            }),
        )
        .await,
        "nft",
    );
    assert!(rows.is_empty());
    let (rows, total) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.is_manual = Some(false);
                q.is_edited = Some(false);
                q.is_missing_purchase = Some(false)
            }),
        )
        .await,
        "flags",
    );
    assert_eq!((rows.len(), total), (8, 8));

    // A page's records are whole: every column as `workspace_ledger` reads it, `raw` included,
    // and the legs by index with their outcomes, in either order and by keyset too.
    let outcome = LedgerTxUpdate {
        legs: vec![(0, Some("3".to_owned()), Some("-1.5".to_owned())), (1, Some("0.1".to_owned()), None)],
        ..upd(format!("trx_{w0}_p2"), "Swap", "swap", false)
    };
    must(s.save_ledger_outcome(&ws, &[outcome], &[]).await, "save_ledger_outcome");
    let whole: Vec<LedgerTxRecord> = must(s.workspace_ledger(&ws).await, "workspace_ledger")
        .into_iter()
        .map(|t| LedgerTxRecord { raw: format!("{{\"hash\":\"{}\"}}", t.platform_tx_id), ..t })
        .collect();
    let (rows, _) = must(s.query_ledger(&ws, &q(&|_| {})).await, "query_ledger");
    assert_eq!(rows, whole, "a page reads every column and leg back");
    let (rows, _) = must(
        s.query_ledger(
            &ws,
            &q(&|q| {
                q.descending = true;
                q.after = Some(whole[7].key());
                q.limit = 5
            }),
        )
        .await,
        "keyset page",
    );
    let expected: Vec<LedgerTxRecord> = whole[2..7].iter().rev().cloned().collect();
    assert_eq!(rows, expected, "a keyset page reads every column and leg back");
    let p2 = rows.iter().find(|t| t.platform_tx_id == "p2").unwrap_or_else(|| panic!("p2 missing"));
    let legs: Vec<(i32, &str, Option<&str>, Option<&str>)> =
        p2.legs.iter().map(|l| (l.index, l.direction.as_str(), l.cost_basis.as_deref(), l.gain.as_deref())).collect();
    assert_eq!(legs, [(0, "incoming", Some("3"), Some("-1.5")), (1, "fee", Some("0.1"), None)], "legs by index");
    assert_eq!(p2.legs[0].asset, asset("dai"), "a leg's asset reads back");
    assert_eq!(p2.legs[1].price, None, "an unpriced leg reads back unpriced");
    assert_eq!((p2.label.as_str(), p2.total_costbasis.as_str()), ("Swap", "1"), "the outcome reads back");
}

pub(super) async fn unpriced_legs_and_prices<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lu", 2).await;
    let (w0, w1) = (&ids[0], &ids[1]);
    // Each transaction has a priced incoming leg (0) and an unpriced fee leg (1).
    let page = [tx(w0, "b", 20, "usdc"), tx(w0, "a", 10, "usdc"), tx(w0, "c", 20, "dai")];
    must(s.add_ledger_page(&ws, w0, &page, None, t0()).await, "add_ledger_page");
    must(s.add_ledger_page(&ws, w1, &[tx(w1, "x", 5, "usdc")], None, t0()).await, "add_ledger_page");
    let fee = |p: &str, secs: i64| UnpricedLeg {
        transaction_id: format!("trx_{w0}_{p}"),
        leg_index: 1,
        token_id: "ethereum".to_owned(),
        timestamp_ms: ms(secs),
    };
    let legs = must(s.unpriced_legs(w0, 10).await, "unpriced_legs");
    assert_eq!(
        legs,
        vec![fee("a", 10), fee("b", 20), fee("c", 20)],
        "oldest first, then transaction id; only this integration"
    );
    assert_eq!(
        must(s.unpriced_legs(w0, 2).await, "unpriced_legs"),
        vec![fee("a", 10), fee("b", 20)],
        "at most `limit`"
    );
    let prices = [
        (format!("trx_{w0}_a"), 1, "3000.5".to_owned()),
        (format!("trx_{w0}_a"), 0, "9".to_owned()),
        (format!("trx_{w0}_none"), 1, "1".to_owned()),
    ];
    assert_eq!(must(s.set_leg_prices(&prices).await, "set_leg_prices"), 1, "only unpriced legs that exist are set");
    assert_eq!(must(s.set_leg_prices(&[]).await, "set_leg_prices"), 0);
    assert_eq!(must(s.unpriced_legs(w0, 10).await, "unpriced_legs"), vec![fee("b", 20), fee("c", 20)]);
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let a = all.iter().find(|t| t.platform_tx_id == "a").unwrap_or_else(|| panic!("a missing"));
    assert_eq!(a.legs[1].price.as_deref(), Some("3000.5"));
    assert_eq!(a.legs[0].price.as_deref(), Some("2.5"), "a priced leg keeps its price");
    assert_eq!(must(s.set_leg_prices(&prices[..1]).await, "set_leg_prices"), 0, "a price is set once");
}

pub(super) async fn outcome_positions_and_reset<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lo", 2).await;
    let (w0, w1) = (&ids[0], &ids[1]);
    must(
        s.add_ledger_page(&ws, w0, &[tx(w0, "a", 10, "usdc"), tx(w0, "b", 20, "usdc")], Some("k0"), t0()).await,
        "page",
    );
    must(s.add_ledger_page(&ws, w1, &[tx(w1, "c", 30, "dai")], Some("k1"), t0()).await, "page");
    let a = format!("trx_{w0}_a");
    let update = LedgerTxUpdate {
        id: a.clone(),
        label: "Trade".to_owned(),
        transaction_type: "swap".to_owned(),
        description: "swapped".to_owned(),
        is_missing_price: false,
        is_missing_purchase: true,
        total_costbasis: "12.5".to_owned(),
        total_gains: "-0.25".to_owned(),
        legs: vec![(0, Some("12.5".to_owned()), None), (1, None, Some("-0.25".to_owned()))],
    };
    let pos = |w: &str, token: &str, q: &str| LedgerPosition {
        integration_id: w.to_owned(),
        asset: asset(token),
        quantity: q.to_owned(),
        cost: Some("7".to_owned()),
    };
    must(
        s.save_ledger_outcome(&ws, &[update], &[pos(w0, "usdc", "3"), pos(w1, "dai", "1.5")]).await,
        "save_ledger_outcome",
    );
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let t = all.iter().find(|t| t.id == a).unwrap_or_else(|| panic!("{a} missing"));
    assert_eq!((t.label.as_str(), t.transaction_type.as_str(), t.description.as_str()), ("Trade", "swap", "swapped"));
    assert!(t.is_missing_purchase && !t.is_missing_price);
    assert_eq!((t.total_costbasis.as_str(), t.total_gains.as_str()), ("12.5", "-0.25"));
    assert_eq!(t.legs[0].cost_basis.as_deref(), Some("12.5"));
    assert_eq!(t.legs[0].gain, None);
    assert_eq!(t.legs[1].gain.as_deref(), Some("-0.25"));
    let b = all.iter().find(|t| t.platform_tx_id == "b").unwrap_or_else(|| panic!("b missing"));
    assert_eq!(b.label, "Unknown", "rows not in the updates stay as they were");
    let mut got = must(s.ledger_positions(&ws).await, "ledger_positions");
    got.sort_by(|x, y| x.integration_id.cmp(&y.integration_id));
    assert_eq!(got, vec![pos(w0, "usdc", "3"), pos(w1, "dai", "1.5")]);
    // A cost not known is kept as not known (not as 0).
    let unknown = LedgerPosition { cost: None, ..pos(w1, "dai", "1.5") };
    must(s.save_ledger_outcome(&ws, &[], &[pos(w0, "usdc", "3"), unknown.clone()]).await, "save_ledger_outcome");
    let mut got = must(s.ledger_positions(&ws).await, "ledger_positions");
    got.sort_by(|x, y| x.integration_id.cmp(&y.integration_id));
    assert_eq!(got, vec![pos(w0, "usdc", "3"), unknown]);

    // The next outcome replaces the positions.
    must(s.save_ledger_outcome(&ws, &[], &[pos(w1, "dai", "2")]).await, "save_ledger_outcome");
    assert_eq!(must(s.ledger_positions(&ws).await, "ledger_positions"), vec![pos(w1, "dai", "2")]);
    must(s.save_ledger_outcome(&ws, &[], &[pos(w0, "usdc", "3"), pos(w1, "dai", "2")]).await, "save_ledger_outcome");

    // Reset forgets one integration's ledger, positions and cursor; the other keeps its own.
    must(s.reset_ledger(w0).await, "reset_ledger");
    assert_eq!(must(s.ledger_cursor(w0).await, "ledger_cursor"), None);
    assert_eq!(must(s.ledger_cursor(w1).await, "ledger_cursor").as_deref(), Some("k1"));
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    assert_eq!(all.iter().map(|t| t.platform_tx_id.as_str()).collect::<Vec<_>>(), ["c"]);
    assert_eq!(must(s.ledger_positions(&ws).await, "ledger_positions"), vec![pos(w1, "dai", "2")]);
    // A from-start resync rebuilds it: the same transactions are new again, as first written.
    let n =
        must(s.add_ledger_page(&ws, w0, &[tx(w0, "a", 10, "usdc"), tx(w0, "b", 20, "usdc")], None, t0()).await, "page");
    assert_eq!(n, 2);
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let t = all.iter().find(|t| t.id == a).unwrap_or_else(|| panic!("{a} missing after resync"));
    assert_eq!(t.label, "Unknown");
    assert_eq!(t.legs[0].cost_basis, None, "legs come back without the old outcome");

    // Only current integrations count: a deleted one's ledger and positions no longer show.
    assert!(must(s.delete_integration(&ws, w1, t0()).await, "delete_integration"));
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    assert!(all.iter().all(|t| t.integration_id == *w0), "a deleted integration's ledger is hidden");
    assert!(must(s.ledger_positions(&ws).await, "ledger_positions").is_empty(), "its positions too");
    let (_, total) = must(s.query_ledger(&ws, &LedgerQuery { limit: 10, ..Default::default() }).await, "query_ledger");
    assert_eq!(total, 2);
}

pub(super) async fn stages_cursor_and_method<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "ls", 2).await;
    let (w0, w1) = (&ids[0], &ids[1]);
    assert!(must(s.ledger_stages(&ws).await, "ledger_stages").is_empty());
    must(s.set_ledger_stages(&ws, w0, "{\"fetch\":\"done\"}", Some(42), t0()).await, "set_ledger_stages");
    let found = must(s.find_integration(w0).await, "find_integration").unwrap_or_else(|| panic!("{w0} missing"));
    assert_eq!(found.total_transactions, 42, "the count lands on the integration");
    assert_eq!(must(s.ledger_cursor(w0).await, "ledger_cursor"), None, "stages leave the cursor alone");
    must(s.add_ledger_page(&ws, w0, &[tx(w0, "a", 1, "usdc")], Some("cur"), t0()).await, "page");
    must(s.set_ledger_stages(&ws, w0, "{\"fetch\":\"again\"}", None, t0()).await, "set_ledger_stages");
    assert_eq!(must(s.ledger_cursor(w0).await, "ledger_cursor").as_deref(), Some("cur"), "stages keep the cursor");
    let found = must(s.find_integration(w0).await, "find_integration").unwrap_or_else(|| panic!("{w0} missing"));
    assert_eq!(found.total_transactions, 42, "no count given: unchanged");
    must(s.add_ledger_page(&ws, w1, &[], Some("x"), t0()).await, "page");
    let mut stages = must(s.ledger_stages(&ws).await, "ledger_stages");
    stages.sort();
    assert_eq!(stages, vec![(w0.clone(), "{\"fetch\":\"again\"}".to_owned()), (w1.clone(), "{}".to_owned())]);

    assert_eq!(must(s.cost_basis_method(&ws).await, "cost_basis_method"), None);
    must(s.set_cost_basis_method(&ws, "LIFO", t0()).await, "set_cost_basis_method");
    must(s.set_cost_basis_method(&ws, "HIFO", t0()).await, "set_cost_basis_method");
    assert_eq!(must(s.cost_basis_method(&ws).await, "cost_basis_method").as_deref(), Some("HIFO"));
    let other = WorkspaceId::from_stored("00000000-0000-4000-9000-000000000000".to_owned());
    assert_eq!(must(s.cost_basis_method(&other).await, "cost_basis_method"), None, "per workspace");
}

pub(super) async fn processing_events<S: ExtraStore>(s: &S) {
    let now = t0() + Duration::hours(1);
    let a = client(s, "lpa").await;
    let b = client(s, "lpb").await;
    let off = client(s, "lpoff").await;
    let ga = connected(s, &a.id, "lpa1", t0()).await;
    let (user, ws) = (ga.user_id.clone(), ga.workspace_id.clone());
    // A second live grant of the same client: still one delivery for it.
    grant_on(s, &a.id, &user, &ws, "lpa2", t0()).await;
    let gb = grant_on(s, &b.id, &user, &ws, "lpb1", t0()).await;
    grant_on(s, &off.id, &user, &ws, "lpoff1", t0()).await;
    // Revoked: b's only grant; disabled client: off.
    assert!(matches!(
        must(s.revoke_grant(&gb.id, &b.id, t0()).await, "revoke_grant"),
        kc_ports::RevokeOutcome::Revoked(_)
    ));
    assert!(must(s.disable_client(&off.id, t0()).await, "disable_client"));
    endpoint(s, &a.id, "wh_lpa", vec![WebhookEvent::CostbasisCompleted], t0()).await;
    endpoint(s, &b.id, "wh_lpb", vec![], t0()).await;
    endpoint(s, &off.id, "wh_lpoff", vec![], t0()).await;
    // Another workspace's grant of a gets nothing.
    connected(s, &a.id, "lpa3", t0()).await;

    must(s.enqueue_processing_event(&ws, WebhookEvent::CostbasisCompleted, Some("done"), now).await, "enqueue");
    must(s.enqueue_processing_event(&ws, WebhookEvent::TransferDetectionStarted, None, now).await, "enqueue");
    let err = s.enqueue_processing_event(&ws, WebhookEvent::GrantCreated, None, now).await;
    assert!(err.is_err(), "grant.created is not a processing event");

    let list = must(s.list_webhook_deliveries(&a.id, 50).await, "list_webhook_deliveries");
    let processing: Vec<_> =
        list.iter().filter(|d| d.event.starts_with("costbasis") || d.event.starts_with("transfer")).collect();
    assert_eq!(processing.len(), 1, "once per client, only to endpoints subscribed to the event: {processing:?}");
    assert_eq!(processing[0].event, "costbasis.completed");
    assert_eq!(processing[0].grant_id, ga.id.as_str(), "ordered with the client's oldest live grant");
    for other in [&b.id, &off.id] {
        let list = must(s.list_webhook_deliveries(other, 50).await, "list_webhook_deliveries");
        assert!(
            list.iter().all(|d| !d.event.starts_with("costbasis") && !d.event.starts_with("transfer")),
            "no processing event for a revoked grant or a disabled client: {list:?}"
        );
    }
    // The payload: {uid, action, status, reason, timestamp}.
    let mut payload = None;
    while let Some(d) = must(s.claim_webhook_delivery("w", now, Duration::minutes(1)).await, "claim") {
        if d.event == "costbasis.completed" {
            payload = Some(d.data_json.clone());
        }
        let done = kc_ports::DeliveryAttempt::Delivered { status: 200 };
        assert!(must(s.finish_webhook_delivery(d.seq, "w", &done, now).await, "finish"));
    }
    let payload = payload.unwrap_or_else(|| panic!("the processing delivery was never claimable"));
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("payload {payload}: {e}"));
    assert_eq!(v["uid"], user.as_str());
    assert_eq!(v["reason"], "done");
    let (action, status) = WebhookEvent::CostbasisCompleted.processing().unwrap_or(("", ""));
    assert_eq!((v["action"].as_str(), v["status"].as_str()), (Some(action), Some(status)));
    assert_eq!(v["timestamp"].as_i64(), Some(now.unix_timestamp() * 1000));
}

pub(super) async fn racing_pages_never_duplicate<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lr", 1).await;
    let w = ids[0].clone();
    // One worker holds an integration's job, so pages of one integration do not race in
    // production; if they do, the (integration, platform id) key still admits each once: a
    // racer adds what is new or fails with Conflict, nothing is duplicated.
    let results = race(s, |s, i| {
        let (ws, w) = (ws.clone(), w.clone());
        async move {
            let page = [tx(&w, "r1", 10, "usdc"), tx(&w, "r2", 20, "usdc"), tx(&w, &format!("own{i}"), 30, "dai")];
            s.add_ledger_page(&ws, &w, &page, Some("c"), t0()).await
        }
    })
    .await;
    let mut added = 0;
    for r in results {
        match r {
            Ok(n) => added += n,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("a racing page fails only with Conflict, got {e}"),
        }
    }
    let all = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let mut platform: Vec<&str> = all.iter().map(|t| t.platform_tx_id.as_str()).collect();
    let n = platform.len();
    platform.sort_unstable();
    platform.dedup();
    assert_eq!(platform.len(), n, "no platform id twice: {platform:?}");
    assert!(platform.contains(&"r1") && platform.contains(&"r2"), "the shared transactions are in");
    assert_eq!(added, n as u64, "the counts returned add up to what is stored");
}

/// Every page by offset, both orders, of the whole workspace and of `wallet` alone, against
/// `expected` (the ledger in order, oldest first): the same rows and the same total, however
/// deep, whatever the store does to make deep pages cheap.
async fn pages_follow<S: ExtraStore>(s: &S, ws: &WorkspaceId, wallet: Option<&str>, expected: &[String], when: &str) {
    let n = expected.len() as u64;
    for limit in [1, 7, 100] {
        for offset in [0, 1, 5, n.saturating_sub(8), n.saturating_sub(1), n, n + 3] {
            for descending in [false, true] {
                let q = LedgerQuery {
                    wallet_ids: wallet.map(|w| vec![w.to_owned()]).unwrap_or_default(),
                    limit,
                    offset,
                    descending,
                    ..Default::default()
                };
                let (page, total) = must(s.query_ledger(ws, &q).await, "query_ledger");
                let ordered: Vec<&String> =
                    if descending { expected.iter().rev().collect() } else { expected.iter().collect() };
                let want: Vec<&String> = ordered.into_iter().skip(offset as usize).take(limit as usize).collect();
                let got: Vec<&String> = page.iter().map(|t| &t.id).collect();
                assert_eq!(
                    got, want,
                    "{when}: wallet {wallet:?}, offset {offset}, limit {limit}, descending {descending}"
                );
                assert_eq!(total, n, "{when}: totalCount of wallet {wallet:?}");
                assert!(page.iter().all(|t| !t.legs.is_empty() && !t.raw.is_empty()), "{when}: whole records");
            }
        }
    }
}

/// The ids of `ws`'s ledger in order, of `wallet` only when given.
async fn ledger_ids<S: ExtraStore>(s: &S, ws: &WorkspaceId, wallet: Option<&str>) -> Vec<String> {
    let all = must(s.workspace_ledger(ws).await, "workspace_ledger");
    all.into_iter().filter(|t| wallet.is_none_or(|w| t.integration_id == w)).map(|t| t.id).collect()
}

/// Checks every page of the workspace and of each of `wallets` against `workspace_ledger`.
async fn all_pages_follow<S: ExtraStore>(s: &S, ws: &WorkspaceId, wallets: &[String], when: &str) {
    pages_follow(s, ws, None, &ledger_ids(s, ws, None).await, when).await;
    for w in wallets {
        pages_follow(s, ws, Some(w), &ledger_ids(s, ws, Some(w)).await, when).await;
    }
}

pub(super) async fn offset_pages_stay_exact<S: ExtraStore>(s: &S) {
    let (ws, ids) = workspace(s, "lo", 3).await;
    // Interleaved wallets; same seconds ordered by chain position, then id.
    for (k, w) in ids.iter().enumerate() {
        let page: Vec<NewLedgerTx> = (0..12_u64)
            .map(|i| {
                let secs = i64::try_from(i / 2 * 10 + k as u64).unwrap_or(0);
                tx_at(w, &format!("p{i}"), secs, "usdc", i % 3, 2 - i % 3)
            })
            .collect();
        must(s.add_ledger_page(&ws, w, &page, None, t0()).await, "add_ledger_page");
    }
    all_pages_follow(s, &ws, &ids, "before processing").await;

    // Processing stores its outcome (nothing changed here): pages read the same rows.
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, &ids, "after processing").await;

    // A sync adds transactions before, between and after the others, without processing yet.
    let later = [tx(&ids[1], "q0", -5, "dai"), tx(&ids[1], "q1", 33, "dai"), tx(&ids[1], "q2", 999, "dai")];
    must(s.add_ledger_page(&ws, &ids[1], &later, None, t0()).await, "add_ledger_page");
    all_pages_follow(s, &ws, &ids, "after a sync, before its processing").await;
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, &ids, "after that sync's processing").await;

    // The usual sync: two wallets append transactions after every other one.
    for (k, w) in ids[..2].iter().enumerate() {
        let newer: Vec<NewLedgerTx> =
            (0..3).map(|i| tx(w, &format!("n{i}"), 2_000 + 10 * i + k as i64, "usdc")).collect();
        must(s.add_ledger_page(&ws, w, &newer, None, t0()).await, "add_ledger_page");
    }
    all_pages_follow(s, &ws, &ids, "after an appending sync, before its processing").await;
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, &ids, "after an appending sync's processing").await;

    // A wallet deleted: its transactions leave the workspace's pages at once.
    assert!(must(s.delete_integration(&ws, &ids[0], t0()).await, "delete_integration"));
    let kept = &ids[1..];
    all_pages_follow(s, &ws, kept, "after a wallet was deleted").await;
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, kept, "after the processing that followed").await;

    // A `from_start` resync empties a wallet's ledger, then stores it again.
    must(s.reset_ledger(&ids[2]).await, "reset_ledger");
    all_pages_follow(s, &ws, kept, "after a reset").await;
    let again: Vec<NewLedgerTx> = (0..4).map(|i| tx(&ids[2], &format!("r{i}"), 7 + i, "usdc")).collect();
    must(s.add_ledger_page(&ws, &ids[2], &again, None, t0()).await, "add_ledger_page");
    all_pages_follow(s, &ws, kept, "after the resync").await;
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, kept, "after the resync's processing").await;

    // Another workspace's wallet id reads nothing, processed or not.
    let (other, other_ids) = workspace(s, "lox", 1).await;
    must(s.add_ledger_page(&other, &other_ids[0], &[tx(&other_ids[0], "x", 1, "usdc")], None, t0()).await, "add");
    must(s.save_ledger_outcome(&other, &[], &[]).await, "save_ledger_outcome");
    let foreign = LedgerQuery { wallet_ids: vec![other_ids[0].clone()], limit: 10, ..Default::default() };
    let (page, total) = must(s.query_ledger(&ws, &foreign).await, "query_ledger");
    assert!(page.is_empty() && total == 0, "a foreign wallet's transactions are not this workspace's");
}

pub(super) async fn offset_pages_stay_exact_while_syncs_race_processing<S: ExtraStore>(s: &S) {
    let n = usize::try_from(crate::RACERS).unwrap_or(8);
    let (ws, ids) = workspace(s, "lor", n).await;
    // One racer processes again and again (one processing per workspace at a time, as the
    // service's lock makes it); the others sync their wallet meanwhile, page after page, each
    // page reaching back before what the last processing ranked; one wallet is reset midway.
    race(s, |s, i| {
        let (ws, w) = (ws.clone(), ids[i].clone());
        async move {
            for round in 0..6_i64 {
                if i == 0 {
                    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
                    continue;
                }
                if i == 1 && round == 3 {
                    // A `from_start` resync midway.
                    must(s.reset_ledger(&w).await, "reset_ledger");
                }
                let page: Vec<NewLedgerTx> =
                    (0..3_i64).map(|k| tx(&w, &format!("r{round}k{k}"), 100 * k - round + i as i64, "usdc")).collect();
                must(s.add_ledger_page(&ws, &w, &page, None, t0()).await, "add_ledger_page");
            }
        }
    })
    .await;
    // Whatever the last processing saw, no page serves a stale rank.
    all_pages_follow(s, &ws, &ids, "after syncs raced processing").await;
    must(s.save_ledger_outcome(&ws, &[], &[]).await, "save_ledger_outcome");
    all_pages_follow(s, &ws, &ids, "after a last processing").await;
}

/// Prices found for unpriced legs land while processing writes the outcome of the same legs,
/// in the opposite order: neither waits on the other forever (on PostgreSQL both take the
/// integrations' state rows before any leg, so they cannot deadlock), and both land.
pub(super) async fn prices_and_processing_race_without_deadlock<S: ExtraStore>(s: &S) {
    let n = usize::try_from(crate::RACERS).unwrap_or(8);
    let (ws, ids) = workspace(s, "lpr", n).await;
    const ROUNDS: i64 = 4;
    const PER_ROUND: i64 = 30;
    race(s, |s, i| {
        let (ws, w) = (ws.clone(), ids[i].clone());
        async move {
            for round in 0..ROUNDS {
                if i == 0 {
                    // Processing: every leg's outcome, in ledger order.
                    let ledger = must(s.workspace_ledger(&ws).await, "workspace_ledger");
                    let updates: Vec<LedgerTxUpdate> = ledger
                        .iter()
                        .map(|t| LedgerTxUpdate {
                            id: t.id.clone(),
                            label: "Deposit".to_owned(),
                            transaction_type: "deposit".to_owned(),
                            description: format!("round {round}"),
                            is_missing_price: false,
                            is_missing_purchase: false,
                            total_costbasis: round.to_string(),
                            total_gains: "0".to_owned(),
                            legs: t.legs.iter().map(|l| (l.index, Some(round.to_string()), None)).collect(),
                        })
                        .collect();
                    must(s.save_ledger_outcome(&ws, &updates, &[]).await, "save_ledger_outcome");
                    continue;
                }
                let page: Vec<NewLedgerTx> =
                    (0..PER_ROUND).map(|k| tx(&w, &format!("p{round}k{k}"), round * 1000 + k, "usdc")).collect();
                must(s.add_ledger_page(&ws, &w, &page, None, t0()).await, "add_ledger_page");
                // The prices found, newest first: the opposite of processing's order.
                let mut unpriced = must(s.unpriced_legs(&w, 1000).await, "unpriced_legs");
                unpriced.reverse();
                let prices: Vec<(String, i32, String)> =
                    unpriced.into_iter().map(|l| (l.transaction_id, l.leg_index, "2000".to_owned())).collect();
                let set = must(s.set_leg_prices(&prices).await, "set_leg_prices");
                assert_eq!(set, u64::try_from(prices.len()).unwrap_or(0), "every unpriced leg priced");
            }
        }
    })
    .await;
    for w in &ids[1..] {
        assert!(must(s.unpriced_legs(w, 10).await, "unpriced_legs").is_empty(), "{w}: every price landed");
    }
    let ledger = must(s.workspace_ledger(&ws).await, "workspace_ledger");
    let expected = usize::try_from((n as i64 - 1) * ROUNDS * PER_ROUND).unwrap_or(0);
    assert_eq!(ledger.len(), expected, "every transaction landed");
}
