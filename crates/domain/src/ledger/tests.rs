//! Textbook cost-basis cases, computed by hand, and the conservation properties.

use super::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

fn leg(kind: LegKind, asset: &str, q: &str, price: Option<&str>) -> Leg {
    Leg { asset: asset.to_owned(), quantity: d(q), kind, price: price.map(d) }
}

fn tx(wallet: &str, t: i64, legs: Vec<Leg>) -> Tx {
    Tx { wallet: wallet.to_owned(), timestamp_ms: t, failed: false, source_label: None, legs }
}

fn buy(wallet: &str, t: i64, q: &str, price: &str) -> Tx {
    tx(wallet, t, vec![leg(LegKind::Incoming, "eth", q, Some(price))])
}

fn sell(wallet: &str, t: i64, q: &str, price: &str) -> Tx {
    tx(wallet, t, vec![leg(LegKind::Outgoing, "eth", q, Some(price))])
}

fn position<'a>(r: &'a LedgerReport, wallet: &str, asset: &str) -> &'a Position {
    r.positions.iter().find(|p| p.wallet == wallet && p.asset == asset).expect("position")
}

const H: i64 = 3_600_000;

/// Three lots (1 @ 100, 1 @ 300, 1 @ 200), then 1.5 sold @ 400 (proceeds 600).
///
/// | method | lots consumed | cost | gain | left (cost) |
/// |---|---|---|---|---|
/// | FIFO | 1 @ 100 + 0.5 @ 300 | 250 | 350 | 0.5 @ 300 + 1 @ 200 = 350 |
/// | LIFO | 1 @ 200 + 0.5 @ 300 | 350 | 250 | 1 @ 100 + 0.5 @ 300 = 250 |
/// | HIFO | 1 @ 300 + 0.5 @ 200 | 400 | 200 | 1 @ 100 + 0.5 @ 200 = 200 |
#[test]
fn methods_pick_lots_in_their_order_and_split_partial_lots() {
    let txs = vec![
        buy("w", 1, "1", "100"),
        buy("w", 2 * H, "1", "300"),
        buy("w", 3 * H, "1", "200"),
        sell("w", 4 * H, "1.5", "400"),
    ];
    for (method, cost, gain, left) in [
        (CostBasisMethod::Fifo, "250", "350", "350"),
        (CostBasisMethod::Lifo, "350", "250", "250"),
        (CostBasisMethod::Hifo, "400", "200", "200"),
    ] {
        let r = compute(&txs, method, DEFAULT_TRANSFER_WINDOW_MS);
        let sale = &r.txs[3];
        assert_eq!(sale.total_costbasis, d(cost), "{method} cost");
        assert_eq!(sale.total_gains, d(gain), "{method} gain");
        assert_eq!(sale.legs[0].gain, Some(d(gain)), "{method} leg gain");
        assert_eq!(sale.label, "Withdrawal");
        let p = position(&r, "w", "eth");
        assert_eq!((p.quantity, p.cost), (d("1.5"), d(left)), "{method} remaining");
        assert!(!sale.missing_purchase && !sale.missing_price);
    }
}

/// 2 ETH bought @ 1000; 0.5 sent away @ 1500 paying 0.01 ETH of gas.
/// Outgoing: cost 500, proceeds 750, gain 250. Fee: cost 10, proceeds 15, gain 5.
/// Left: 1.49 ETH costing 1490.
#[test]
fn fees_in_the_asset_are_disposals() {
    let txs = vec![
        buy("w", 0, "2", "1000"),
        tx(
            "w",
            H,
            vec![leg(LegKind::Outgoing, "eth", "0.5", Some("1500")), leg(LegKind::Fee, "eth", "0.01", Some("1500"))],
        ),
    ];
    let r = compute(&txs, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    let send = &r.txs[1];
    assert_eq!(send.legs[0].gain, Some(d("250")));
    assert_eq!(send.legs[1].gain, Some(d("5")));
    assert_eq!((send.total_costbasis, send.total_gains), (d("510"), d("255")));
    let p = position(&r, "w", "eth");
    assert_eq!((p.quantity, p.cost), (d("1.49"), d("1490")));
}

/// Wallet A buys 1 @ 100 and 1 @ 200, sends 1.5 to its own wallet B (gas 0.01 ETH @ 300),
/// B sells 1 @ 400 a day later.
///
/// - The send is a transfer: 1 @ 100 + 0.5 @ 200 (cost 200) move to B with their dates.
/// - The gas consumes 0.01 of A's 0.5 @ 200: cost 2, proceeds 3, gain 1. A keeps 0.49 (98).
/// - B's sale (FIFO) consumes the carried 1 @ 100: cost 100, gain 300. B keeps 0.5 (100).
#[test]
fn transfers_between_own_wallets_carry_lots() {
    let txs = vec![
        buy("a", 0, "1", "100"),
        buy("a", H, "1", "200"),
        tx(
            "a",
            2 * H,
            vec![leg(LegKind::Outgoing, "eth", "1.5", Some("300")), leg(LegKind::Fee, "eth", "0.01", Some("300"))],
        ),
        tx("b", 2 * H + 60_000, vec![leg(LegKind::Incoming, "eth", "1.5", Some("300"))]),
        sell("b", 26 * H, "1", "400"),
    ];
    let r = compute(&txs, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    assert_eq!(r.transfers, 1);
    assert_eq!((r.txs[2].label.as_str(), r.txs[3].label.as_str()), ("Transfer", "Transfer"));
    assert_eq!((r.txs[2].transfer_with, r.txs[3].transfer_with), (Some(3), Some(2)));
    assert_eq!(r.txs[2].legs[0].gain, None, "a transfer realizes nothing");
    assert_eq!(r.txs[2].legs[0].cost_basis, d("200"));
    assert_eq!(r.txs[3].legs[0].cost_basis, d("200"), "the receipt carries the cost");
    assert_eq!(r.txs[2].total_gains, d("1"), "only the gas is a disposal");
    assert_eq!((r.txs[4].total_costbasis, r.txs[4].total_gains), (d("100"), d("300")));
    let a = position(&r, "a", "eth");
    assert_eq!((a.quantity, a.cost), (d("0.49"), d("98")));
    let b = position(&r, "b", "eth");
    assert_eq!((b.quantity, b.cost), (d("0.5"), d("100")));
}

/// Received 1.495 of 1.5 sent (short by less than the 0.01 fee): still a transfer; the
/// 0.005 lost on the way is a disposal @ 300 of a lot costing 100 per unit (gain 1).
/// Received 1.4 (short by more than the fee) or from the same wallet, or 2 days later: no
/// transfer.
#[test]
fn transfer_matching_rules() {
    let send = |q_in: &str, wallet: &str, delay: i64| {
        vec![
            buy("a", 0, "2", "100"),
            tx(
                "a",
                H,
                vec![leg(LegKind::Outgoing, "eth", "1.5", Some("300")), leg(LegKind::Fee, "eth", "0.01", Some("300"))],
            ),
            tx(wallet, H + delay, vec![leg(LegKind::Incoming, "eth", q_in, Some("300"))]),
        ]
    };
    let r = compute(&send("1.495", "b", 0), CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    assert_eq!(r.transfers, 1);
    assert_eq!(r.txs[1].legs[0].gain, Some(d("1")));
    assert_eq!(position(&r, "b", "eth").cost, d("149.5"));
    for (q, wallet, delay) in [("1.4", "b", 0), ("1.5", "a", 0), ("1.5", "b", 48 * H), ("1.6", "b", 0)] {
        let r = compute(&send(q, wallet, delay), CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
        assert_eq!(r.transfers, 0, "{q} into {wallet} after {delay} ms");
        assert_eq!(r.txs[2].label, "Deposit");
    }
}

/// 1 bought @ 10, then 2 sold @ 50: the second unit has no known purchase (cost 0), so the
/// gain is 100 − 10 = 90 and the sale is flagged; the calculated balance is −1.
#[test]
fn selling_short_of_history_is_flagged() {
    let txs = vec![buy("w", 0, "1", "10"), sell("w", H, "2", "50")];
    let r = compute(&txs, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    assert!(r.txs[1].missing_purchase);
    assert_eq!(r.txs[1].legs[0].missing_purchase, d("1"));
    assert_eq!(r.txs[1].total_gains, d("90"));
    let p = position(&r, "w", "eth");
    assert_eq!((p.quantity, p.lot_quantity, p.cost), (d("-1"), d("0"), d("0")));
}

#[test]
fn missing_prices_and_labels() {
    let mut failed = tx("w", 5 * H, vec![leg(LegKind::Fee, "eth", "0.001", Some("10"))]);
    failed.failed = true;
    let mut airdrop = tx("w", 6 * H, vec![leg(LegKind::Incoming, "sol", "2", None)]);
    airdrop.source_label = Some("Airdrops".to_owned());
    let txs = vec![
        buy("w", 0, "1", "10"),
        tx(
            "w",
            H,
            vec![leg(LegKind::Outgoing, "eth", "0.5", Some("20")), leg(LegKind::Incoming, "usdc", "10", Some("1"))],
        ),
        tx("w", 2 * H, vec![leg(LegKind::Fee, "eth", "0.001", Some("20"))]),
        tx("w", 3 * H, vec![]),
        failed,
        airdrop,
    ];
    let r = compute(&txs, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    let labels: Vec<(&str, &str)> = r.txs.iter().map(|t| (t.label.as_str(), t.transaction_type)).collect();
    assert_eq!(
        labels,
        vec![
            ("Deposit", "deposit"),
            ("Swap", "swap"),
            ("Fee", "other"),
            ("Unknown", "other"),
            ("Failed", "other"),
            ("Airdrops", "deposit")
        ]
    );
    assert_eq!(r.txs[1].total_gains, d("5"), "0.5 sold @ 20 for a cost of 5");
    assert!(r.txs[5].missing_price && !r.txs[1].missing_price);
    assert_eq!(position(&r, "w", "sol").cost, d("0"), "an unpriced lot costs 0");
    assert!(!position(&r, "w", "sol").cost_known, "… which is not a known cost");
    assert_eq!(position(&r, "w", "usdc").cost, d("10"));
    assert!(position(&r, "w", "usdc").cost_known && position(&r, "w", "eth").cost_known);
    assert_eq!("hifo".parse::<CostBasisMethod>(), Ok(CostBasisMethod::Hifo));
    assert!("avg".parse::<CostBasisMethod>().is_err());
}

/// Whether a position's cost is known follows its lots: 1 ETH bought without a price and
/// 1 @ 100 in wallet a; 1.5 moved to b (FIFO: the unpriced lot and half the priced one), so
/// both wallets hold part of an unknown cost; b sells 1 (the unpriced lot goes) and is known
/// again. c receives 1 sent by a with no lot left there: received short of any purchase, at
/// cost 0, unknown.
#[test]
fn a_cost_is_known_only_when_every_lot_held_was_priced() {
    let txs = vec![
        tx("a", 0, vec![leg(LegKind::Incoming, "eth", "1", None)]),
        buy("a", H, "1", "100"),
        tx("a", 2 * H, vec![leg(LegKind::Outgoing, "eth", "1.5", Some("300"))]),
        tx("b", 2 * H + 1, vec![leg(LegKind::Incoming, "eth", "1.5", Some("300"))]),
    ];
    let r = compute(&txs, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    assert_eq!(r.transfers, 1);
    let (a, b) = (position(&r, "a", "eth"), position(&r, "b", "eth"));
    assert_eq!((a.quantity, a.cost, a.cost_known), (d("0.5"), d("50"), true), "a keeps half the priced lot");
    assert_eq!((b.quantity, b.cost, b.cost_known), (d("1.5"), d("50"), false), "b holds the unpriced lot");

    let mut more = txs.clone();
    more.push(sell("b", 3 * H, "1", "300"));
    let r = compute(&more, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    let b = position(&r, "b", "eth");
    assert_eq!((b.quantity, b.cost, b.cost_known), (d("0.5"), d("50"), true), "the unpriced lot was sold first");
    let sale = &r.txs[4];
    assert!(sale.missing_purchase, "its gain counts the unknown cost as 0: flagged");
    assert_eq!(sale.legs[0].missing_purchase, d("0"), "though nothing was sold short of the lots");
    assert!(!r.txs[2].missing_purchase, "moving an unpriced lot between own wallets disposes of nothing");

    let short = vec![
        tx("a", 0, vec![leg(LegKind::Outgoing, "eth", "1", Some("300"))]),
        tx("c", 1, vec![leg(LegKind::Incoming, "eth", "1", Some("300"))]),
    ];
    let r = compute(&short, CostBasisMethod::Fifo, DEFAULT_TRANSFER_WINDOW_MS);
    let c = position(&r, "c", "eth");
    assert_eq!((c.quantity, c.cost, c.cost_known), (d("1"), d("0"), false), "received short of history");
}

/// One generated step.
#[derive(Debug, Clone)]
enum Op {
    Buy { wallet: usize, asset: usize, q: i64, price: i64 },
    Sell { wallet: usize, asset: usize, q: i64, price: i64 },
    Transfer { from: usize, to: usize, asset: usize, q: i64, fee: i64, price: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..2usize, 1..10_000i64, 1..100_000i64).prop_map(|(wallet, asset, q, price)| Op::Buy {
            wallet,
            asset,
            q,
            price
        }),
        (0..3usize, 0..2usize, 1..10_000i64, 1..100_000i64).prop_map(|(wallet, asset, q, price)| Op::Sell {
            wallet,
            asset,
            q,
            price
        }),
        (0..3usize, 0..3usize, 0..2usize, 1..10_000i64, 0..50i64, 1..100_000i64)
            .prop_map(|(from, to, asset, q, fee, price)| Op::Transfer { from, to, asset, q, fee, price }),
    ]
}

fn method() -> impl Strategy<Value = CostBasisMethod> {
    prop_oneof![Just(CostBasisMethod::Fifo), Just(CostBasisMethod::Lifo), Just(CostBasisMethod::Hifo)]
}

/// Quantities in thousandths, prices in hundredths.
fn qty(q: i64) -> Decimal {
    Decimal::new(q, 3)
}
fn px(p: i64) -> Decimal {
    Decimal::new(p, 2)
}

fn build(ops: &[Op]) -> Vec<Tx> {
    let wallets = ["w0", "w1", "w2"];
    let assets = ["eth", "sol"];
    let mut txs = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let t = i64::try_from(i).unwrap_or(0) * H;
        let l = |kind, asset: usize, q: i64, price: i64| Leg {
            asset: assets[asset].to_owned(),
            quantity: qty(q),
            kind,
            price: Some(px(price)),
        };
        match *op {
            Op::Buy { wallet, asset, q, price } => {
                txs.push(tx(wallets[wallet], t, vec![l(LegKind::Incoming, asset, q, price)]))
            }
            Op::Sell { wallet, asset, q, price } => {
                txs.push(tx(wallets[wallet], t, vec![l(LegKind::Outgoing, asset, q, price)]))
            }
            Op::Transfer { from, to, asset, q, fee, price } => {
                let mut legs = vec![l(LegKind::Outgoing, asset, q, price)];
                if fee > 0 {
                    legs.push(l(LegKind::Fee, asset, fee, price));
                }
                txs.push(tx(wallets[from], t, legs));
                txs.push(tx(wallets[to], t + 1, vec![l(LegKind::Incoming, asset, q, price)]));
            }
        }
    }
    txs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any sequence of buys, sells and transfers, under every method:
    /// - per wallet and asset, lots held = Σ in − Σ out − Σ fees + what was disposed short of
    ///   history (so quantities are conserved, transfers included);
    /// - realized + unrealized = market value + proceeds − cost of acquisitions, exactly.
    #[test]
    fn quantities_and_value_are_conserved(ops in prop::collection::vec(op(), 1..40), m in method(), mark in 1..100_000i64) {
        let txs = build(&ops);
        let r = compute(&txs, m, DEFAULT_TRANSFER_WINDOW_MS);
        let mut expected: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        let mut missing: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        let (mut proceeds, mut acquisitions) = (Decimal::ZERO, Decimal::ZERO);
        for (t, o) in txs.iter().zip(&r.txs) {
            for (l, lo) in t.legs.iter().zip(&o.legs) {
                let key = (t.wallet.clone(), l.asset.clone());
                let sign = if l.kind == LegKind::Incoming { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
                *expected.entry(key.clone()).or_default() += sign * l.quantity;
                *missing.entry(key).or_default() += lo.missing_purchase;
                let value = l.quantity * l.price.unwrap_or_default();
                match (l.kind, o.transfer_with) {
                    (LegKind::Incoming, None) => acquisitions += value,
                    (LegKind::Incoming, Some(_)) => {}
                    (LegKind::Outgoing, Some(partner)) => {
                        // Only what the receiver did not get is sold.
                        let got: Decimal = txs[partner].legs.iter().map(|x| x.quantity).sum();
                        proceeds += (l.quantity - got) * l.price.unwrap_or_default();
                    }
                    (_, _) => proceeds += value,
                }
            }
        }
        for p in &r.positions {
            let key = (p.wallet.clone(), p.asset.clone());
            let want = expected.get(&key).copied().unwrap_or_default();
            prop_assert_eq!(p.quantity, want, "calculated balance of {:?}", key);
            let short = missing.get(&key).copied().unwrap_or_default();
            prop_assert_eq!(p.lot_quantity, want + short, "lots of {:?}", key);
        }
        let realized: Decimal = r.txs.iter().map(|t| t.total_gains).sum();
        let market = px(mark);
        let value: Decimal = r.positions.iter().map(|p| p.lot_quantity * market).sum();
        let unrealized: Decimal = r.positions.iter().map(|p| p.lot_quantity * market - p.cost).sum();
        prop_assert_eq!(realized + unrealized, value + proceeds - acquisitions);
    }
}
