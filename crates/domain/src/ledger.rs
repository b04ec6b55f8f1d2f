//! The ledger's pure rules: transfer detection between a workspace's own wallets, and cost
//! basis (FIFO, LIFO, HIFO) with lots carried across those transfers. No I/O: the sync
//! worker loads a workspace's transactions, calls [`compute`], and stores the outcome.
//!
//! # The rules, as an integrator can check them by hand
//!
//! - Every wallet keeps its own **lots** per asset: a lot is a quantity and what it cost
//!   (quantity × price at acquisition; 0 when the price is unknown), dated at acquisition.
//! - An **incoming** leg (a purchase, a deposit, an airdrop, the bought side of a swap)
//!   opens a lot.
//! - An **outgoing** or **fee** leg is a **disposal**: it consumes lots of its wallet in
//!   method order — FIFO oldest first, LIFO newest first, HIFO highest unit cost first —
//!   splitting a lot pro rata when only part of it is needed. Its proceeds are quantity ×
//!   price at the disposal (a fee is valued as if sold), its cost basis is the cost of the
//!   consumed lots, and its realized gain is proceeds − cost basis. A disposal larger than
//!   the wallet's lots consumes what there is; the rest has no known purchase (cost 0) and
//!   the transaction is flagged `isMissingPurchase`.
//! - A **transfer** (see [`detect_transfers`]) is not a disposal: the received quantity of
//!   lots moves from the sending wallet to the receiving one with its acquisition date and
//!   cost. Only what the receiver got less than was sent, and the sender's fee legs, are
//!   disposals.
//! - Within one transaction, incoming legs are applied first, then outgoing, then fees.
//! - A leg without a price is valued at 0 and flags the transaction `isMissingPrice`.
//!
//! Then, for every wallet and asset: remaining quantity = Σ incoming − Σ outgoing − Σ fees
//! (+ the quantities disposed short of history), and over the whole workspace
//! realized gains + unrealized PnL = market value + proceeds − cost of acquisitions, exactly
//! (property-tested).

use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

/// How disposals pick the lots they consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CostBasisMethod {
    /// First in, first out: the oldest lot first (the default).
    #[default]
    Fifo,
    /// Last in, first out: the newest lot first.
    Lifo,
    /// Highest in, first out: the lot with the highest unit cost first.
    Hifo,
}

/// A cost-basis method name that is not `FIFO`, `LIFO` or `HIFO`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cost basis method {0:?} (FIFO, LIFO or HIFO)")]
pub struct UnknownMethod(pub String);

impl CostBasisMethod {
    /// `FIFO`, `LIFO` or `HIFO`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fifo => "FIFO",
            Self::Lifo => "LIFO",
            Self::Hifo => "HIFO",
        }
    }
}

impl fmt::Display for CostBasisMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CostBasisMethod {
    type Err = UnknownMethod;

    /// Parses `FIFO`, `LIFO` or `HIFO`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, UnknownMethod> {
        match s.to_ascii_uppercase().as_str() {
            "FIFO" => Ok(Self::Fifo),
            "LIFO" => Ok(Self::Lifo),
            "HIFO" => Ok(Self::Hifo),
            _ => Err(UnknownMethod(s.to_owned())),
        }
    }
}

/// The role of a leg, seen from its wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegKind {
    /// Received.
    Incoming,
    /// Sent.
    Outgoing,
    /// Paid as a network fee.
    Fee,
}

impl LegKind {
    /// `incoming`, `outgoing` or `fee`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
            Self::Fee => "fee",
        }
    }

    /// Parses [`LegKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Incoming, Self::Outgoing, Self::Fee].into_iter().find(|k| k.as_str() == s)
    }
}

/// One movement of one asset in a ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// The asset's token id.
    pub asset: String,
    /// Quantity in whole units, positive.
    pub quantity: Decimal,
    /// Incoming, outgoing or fee.
    pub kind: LegKind,
    /// Price of one unit in the base currency at the transaction's time, when known.
    pub price: Option<Decimal>,
}

/// One transaction of one wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// The wallet (integration id).
    pub wallet: String,
    /// Epoch milliseconds.
    pub timestamp_ms: i64,
    /// Whether it failed on chain (only its fee legs count).
    pub failed: bool,
    /// A label the source is sure of (`Approve`, `Spam`, `Airdrops`, …).
    pub source_label: Option<String>,
    /// Its legs.
    pub legs: Vec<Leg>,
}

/// A send of one wallet matched with a receipt in another wallet of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferMatch {
    /// Index of the sending transaction.
    pub send: usize,
    /// Index of the receiving transaction.
    pub receive: usize,
}

/// How far after a send its receipt may be, by default: 24 hours.
pub const DEFAULT_TRANSFER_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The single (asset, quantity) of the legs of `kind` in `tx`, if there is exactly one such leg.
fn single(tx: &Tx, kind: LegKind) -> Option<(&str, Decimal)> {
    let mut it = tx.legs.iter().filter(|l| l.kind == kind);
    let first = it.next()?;
    it.next().is_none().then_some((first.asset.as_str(), first.quantity))
}

/// Matches sends with receipts between the workspace's own wallets.
///
/// A **send** is a transaction that did not fail, with exactly one outgoing leg, no incoming
/// leg and any fee legs. A **receipt** is one that did not fail, with exactly one incoming
/// leg and no other leg. A send from wallet A matches the earliest unmatched receipt of
/// another wallet B of the same asset, at or after the send and at most `window_ms` later,
/// whose quantity is at most the sent quantity and short of it by no more than the send's
/// fee in that same asset. Sends are taken in time order; each transaction matches at most
/// once.
pub fn detect_transfers(txs: &[Tx], window_ms: i64) -> Vec<TransferMatch> {
    let mut receipts: HashMap<&str, Vec<(i64, usize)>> = HashMap::new();
    for (i, tx) in txs.iter().enumerate() {
        if tx.failed || tx.legs.len() != 1 {
            continue;
        }
        if let Some((asset, _)) = single(tx, LegKind::Incoming) {
            receipts.entry(asset).or_default().push((tx.timestamp_ms, i));
        }
    }
    for list in receipts.values_mut() {
        list.sort_unstable();
    }
    let mut sends: Vec<usize> = (0..txs.len())
        .filter(|&i| {
            let tx = &txs[i];
            !tx.failed
                && !tx.legs.iter().any(|l| l.kind == LegKind::Incoming)
                && single(tx, LegKind::Outgoing).is_some()
        })
        .collect();
    sends.sort_by_key(|&i| (txs[i].timestamp_ms, i));
    let mut taken = vec![false; txs.len()];
    let mut out = Vec::new();
    for s in sends {
        let send = &txs[s];
        let Some((asset, sent)) = single(send, LegKind::Outgoing) else { continue };
        let fee: Decimal =
            send.legs.iter().filter(|l| l.kind == LegKind::Fee && l.asset == asset).map(|l| l.quantity).sum();
        let Some(list) = receipts.get(asset) else { continue };
        let start = list.partition_point(|(t, _)| *t < send.timestamp_ms);
        for &(t, r) in &list[start..] {
            if t - send.timestamp_ms > window_ms {
                break;
            }
            let receipt = &txs[r];
            if taken[r] || receipt.wallet == send.wallet {
                continue;
            }
            let Some((_, got)) = single(receipt, LegKind::Incoming) else { continue };
            if got <= sent && sent - got <= fee {
                taken[r] = true;
                out.push(TransferMatch { send: s, receive: r });
                break;
            }
        }
    }
    out
}

/// A lot: a quantity of an asset held by a wallet and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// Quantity left.
    pub quantity: Decimal,
    /// Cost of that quantity.
    pub cost: Decimal,
    /// When it was first acquired (kept across transfers), epoch ms.
    pub acquired_ms: i64,
    /// Order of acquisition, to break ties.
    pub seq: u64,
    /// Whether `cost` is known: `false` for a lot acquired without a price, or received
    /// short of any known purchase (it counts at cost 0).
    pub cost_known: bool,
}

/// What the ledger concluded about one leg.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegOutcome {
    /// Cost basis: of the lot opened (incoming), of the lots consumed (outgoing, fee) or
    /// carried (a transfer's legs).
    pub cost_basis: Decimal,
    /// Realized gain of a disposal; `None` for an acquisition or a transfer.
    pub gain: Option<Decimal>,
    /// The quantity disposed without a known purchase.
    pub missing_purchase: Decimal,
}

/// What the ledger concluded about one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The label (`Transfer`, `Deposit`, `Withdrawal`, `Swap`, `Fee`, `Failed`, the source's
    /// own label, or `Unknown`).
    pub label: String,
    /// `deposit`, `withdraw`, `swap`, or `other`.
    pub transaction_type: &'static str,
    /// The other half of an internal transfer.
    pub transfer_with: Option<usize>,
    /// Cost basis of what left the wallet (outgoing and fee legs); for a transaction that only
    /// received, the cost of what it received.
    pub total_costbasis: Decimal,
    /// Sum of the realized gains of its disposals.
    pub total_gains: Decimal,
    /// A disposal exceeded the wallet's known lots, or consumed a lot of unknown cost (see
    /// [`Lot::cost_known`]: its gain counts that cost as 0).
    pub missing_purchase: bool,
    /// A leg has no price.
    pub missing_price: bool,
    /// Per leg, in the transaction's leg order.
    pub legs: Vec<LegOutcome>,
}

/// What a wallet holds of an asset after the whole ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The wallet.
    pub wallet: String,
    /// The asset.
    pub asset: String,
    /// Quantity held (the calculated balance).
    pub quantity: Decimal,
    /// Cost basis of the lots held.
    pub cost: Decimal,
    /// Quantity of the lots held: `quantity` plus what was disposed short of history.
    pub lot_quantity: Decimal,
    /// Whether the cost of every lot held is known (see [`Lot::cost_known`]).
    pub cost_known: bool,
}

/// The outcome of [`compute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerReport {
    /// Per transaction, in input order.
    pub txs: Vec<TxOutcome>,
    /// Per wallet and asset, sorted by wallet then asset; zero positions included.
    pub positions: Vec<Position>,
    /// Internal transfers detected.
    pub transfers: usize,
}

/// The lots of every (wallet, asset).
#[derive(Default)]
struct Pools {
    lots: HashMap<(String, String), VecDeque<Lot>>,
    seq: u64,
}

impl Pools {
    fn open(&mut self, wallet: &str, asset: &str, quantity: Decimal, cost: Option<Decimal>, at: i64) {
        self.seq += 1;
        let (cost, cost_known) = (cost.unwrap_or(Decimal::ZERO), cost.is_some());
        let lot = Lot { quantity, cost, acquired_ms: at, seq: self.seq, cost_known };
        self.insert(wallet, asset, lot);
    }

    fn insert(&mut self, wallet: &str, asset: &str, lot: Lot) {
        let pool = self.lots.entry((wallet.to_owned(), asset.to_owned())).or_default();
        // Keep each pool sorted by acquisition (date, then sequence) so FIFO/LIFO are the ends.
        let pos = pool.partition_point(|l| (l.acquired_ms, l.seq) <= (lot.acquired_ms, lot.seq));
        pool.insert(pos, lot);
    }

    /// Takes `quantity` out of the pool in `method` order: the lots taken (split pro rata
    /// where needed) and the quantity that was not there.
    fn take(&mut self, wallet: &str, asset: &str, quantity: Decimal, method: CostBasisMethod) -> (Vec<Lot>, Decimal) {
        let mut taken = Vec::new();
        let mut left = quantity;
        let Some(pool) = self.lots.get_mut(&(wallet.to_owned(), asset.to_owned())) else {
            return (taken, left);
        };
        while left > Decimal::ZERO && !pool.is_empty() {
            let idx = match method {
                CostBasisMethod::Fifo => 0,
                CostBasisMethod::Lifo => pool.len() - 1,
                CostBasisMethod::Hifo => {
                    let mut best = 0;
                    for (i, l) in pool.iter().enumerate() {
                        // Higher unit cost first; ties: the older lot.
                        let b = &pool[best];
                        if l.cost * b.quantity > b.cost * l.quantity {
                            best = i;
                        }
                    }
                    best
                }
            };
            let lot = &mut pool[idx];
            if lot.quantity <= left {
                left -= lot.quantity;
                if let Some(whole) = pool.remove(idx) {
                    taken.push(whole);
                }
            } else {
                let part_cost = (lot.cost * left / lot.quantity).round_dp(18);
                taken.push(Lot {
                    quantity: left,
                    cost: part_cost,
                    acquired_ms: lot.acquired_ms,
                    seq: lot.seq,
                    cost_known: lot.cost_known,
                });
                lot.quantity -= left;
                lot.cost -= part_cost;
                left = Decimal::ZERO;
            }
        }
        (taken, left)
    }
}

/// The label and type inferred from a transaction's legs.
fn classify(tx: &Tx, transfer: bool) -> (String, &'static str) {
    let has = |k: LegKind| tx.legs.iter().any(|l| l.kind == k);
    let (incoming, outgoing, fee) = (has(LegKind::Incoming), has(LegKind::Outgoing), has(LegKind::Fee));
    let kind = match (incoming, outgoing) {
        (true, true) => "swap",
        (true, false) => "deposit",
        (false, true) => "withdraw",
        (false, false) => "other",
    };
    let label = if tx.failed {
        "Failed"
    } else if transfer {
        "Transfer"
    } else if let Some(own) = &tx.source_label {
        return (own.clone(), kind);
    } else {
        match (incoming, outgoing, fee) {
            (true, true, _) => "Swap",
            (true, false, _) => "Deposit",
            (false, true, _) => "Withdrawal",
            (false, false, true) => "Fee",
            (false, false, false) => "Unknown",
        }
    };
    (label.to_owned(), kind)
}

/// Runs transfer detection and cost basis over a workspace's transactions (any order; they
/// are processed by time, ties in input order).
pub fn compute(txs: &[Tx], method: CostBasisMethod, transfer_window_ms: i64) -> LedgerReport {
    let matches = detect_transfers(txs, transfer_window_ms);
    let mut partner: Vec<Option<usize>> = vec![None; txs.len()];
    for m in &matches {
        partner[m.send] = Some(m.receive);
        partner[m.receive] = Some(m.send);
    }
    let mut is_receipt = vec![false; txs.len()];
    for m in &matches {
        is_receipt[m.receive] = true;
    }
    let mut order: Vec<usize> = (0..txs.len()).collect();
    // A receipt never precedes its send, even at the same millisecond.
    order.sort_by_key(|&i| (txs[i].timestamp_ms, is_receipt[i], i));
    let mut pools = Pools::default();
    let mut outcomes: Vec<Option<TxOutcome>> = vec![None; txs.len()];
    // Cost carried by a transfer, recorded on the send for its receipt.
    let mut carried: HashMap<usize, Decimal> = HashMap::new();
    let mut quantities: BTreeMap<(String, String), Decimal> = BTreeMap::new();

    for &i in &order {
        let tx = &txs[i];
        let transfer = partner[i];
        let (label, transaction_type) = classify(tx, transfer.is_some());
        let mut legs = vec![LegOutcome::default(); tx.legs.len()];
        let mut missing_price = false;
        // A disposal of this transaction consumed a lot whose cost is not known.
        let mut uncosted = false;
        let mut leg_order: Vec<usize> = (0..tx.legs.len()).collect();
        leg_order.sort_by_key(|&l| match tx.legs[l].kind {
            LegKind::Incoming => 0,
            LegKind::Outgoing => 1,
            LegKind::Fee => 2,
        });
        for l in leg_order {
            let leg = &tx.legs[l];
            if tx.failed && leg.kind != LegKind::Fee {
                continue;
            }
            let key = (tx.wallet.clone(), leg.asset.clone());
            let q = quantities.entry(key).or_default();
            match leg.kind {
                LegKind::Incoming => *q += leg.quantity,
                LegKind::Outgoing | LegKind::Fee => *q -= leg.quantity,
            }
            missing_price |= leg.price.is_none();
            let price = leg.price.unwrap_or(Decimal::ZERO);
            match (leg.kind, transfer) {
                (LegKind::Incoming, Some(send)) if txs[send].wallet != tx.wallet => {
                    legs[l].cost_basis = carried.get(&send).copied().unwrap_or_default();
                }
                (LegKind::Outgoing, Some(receive)) => {
                    let target = &txs[receive];
                    let got =
                        target.legs.iter().find(|x| x.kind == LegKind::Incoming).map_or(leg.quantity, |x| x.quantity);
                    let (moved, short) = pools.take(&tx.wallet, &leg.asset, got, method);
                    let moved_cost: Decimal = moved.iter().map(|m| m.cost).sum();
                    for lot in moved {
                        pools.insert(&target.wallet, &leg.asset, lot);
                    }
                    if short > Decimal::ZERO {
                        // Received quantity with no known purchase: it arrives at cost 0.
                        pools.open(&target.wallet, &leg.asset, short, None, tx.timestamp_ms);
                    }
                    carried.insert(i, moved_cost);
                    legs[l].cost_basis = moved_cost;
                    legs[l].missing_purchase = short;
                    let lost = leg.quantity - got;
                    if lost > Decimal::ZERO {
                        let (used, short) = pools.take(&tx.wallet, &leg.asset, lost, method);
                        uncosted |= used.iter().any(|u| !u.cost_known);
                        let cost: Decimal = used.iter().map(|u| u.cost).sum();
                        legs[l].cost_basis += cost;
                        legs[l].gain = Some(lost * price - cost);
                        legs[l].missing_purchase += short;
                    }
                }
                (LegKind::Incoming, _) => {
                    let cost = leg.quantity * price;
                    pools.open(&tx.wallet, &leg.asset, leg.quantity, leg.price.map(|_| cost), tx.timestamp_ms);
                    legs[l].cost_basis = cost;
                }
                (LegKind::Outgoing | LegKind::Fee, _) => {
                    let (used, short) = pools.take(&tx.wallet, &leg.asset, leg.quantity, method);
                    uncosted |= used.iter().any(|u| !u.cost_known);
                    let cost: Decimal = used.iter().map(|u| u.cost).sum();
                    legs[l].cost_basis = cost;
                    legs[l].gain = Some(leg.quantity * price - cost);
                    legs[l].missing_purchase = short;
                }
            }
        }
        let disposed: Decimal =
            tx.legs.iter().zip(&legs).filter(|(leg, _)| leg.kind != LegKind::Incoming).map(|(_, o)| o.cost_basis).sum();
        let acquired: Decimal =
            tx.legs.iter().zip(&legs).filter(|(leg, _)| leg.kind == LegKind::Incoming).map(|(_, o)| o.cost_basis).sum();
        let has_out = tx.legs.iter().any(|leg| leg.kind != LegKind::Incoming);
        outcomes[i] = Some(TxOutcome {
            label,
            transaction_type,
            transfer_with: transfer,
            total_costbasis: if has_out { disposed } else { acquired },
            total_gains: legs.iter().filter_map(|o| o.gain).sum(),
            missing_purchase: uncosted || legs.iter().any(|o| o.missing_purchase > Decimal::ZERO),
            missing_price,
            legs,
        });
    }

    let mut positions: BTreeMap<(String, String), Position> = quantities
        .into_iter()
        .map(|((wallet, asset), quantity)| {
            let key = (wallet.clone(), asset.clone());
            (
                key,
                Position {
                    wallet,
                    asset,
                    quantity,
                    cost: Decimal::ZERO,
                    lot_quantity: Decimal::ZERO,
                    cost_known: true,
                },
            )
        })
        .collect();
    for ((wallet, asset), pool) in pools.lots {
        let cost: Decimal = pool.iter().map(|l| l.cost).sum();
        let held: Decimal = pool.iter().map(|l| l.quantity).sum();
        let p = positions.entry((wallet.clone(), asset.clone())).or_insert_with(|| Position {
            wallet,
            asset,
            quantity: Decimal::ZERO,
            cost: Decimal::ZERO,
            lot_quantity: Decimal::ZERO,
            cost_known: true,
        });
        p.cost += cost;
        p.lot_quantity += held;
        p.cost_known &= pool.iter().all(|l| l.cost_known);
    }
    LedgerReport {
        txs: outcomes.into_iter().map(|o| o.unwrap_or_else(empty_outcome)).collect(),
        positions: positions.into_values().collect(),
        transfers: matches.len(),
    }
}

fn empty_outcome() -> TxOutcome {
    TxOutcome {
        label: "Unknown".to_owned(),
        transaction_type: "other",
        transfer_with: None,
        total_costbasis: Decimal::ZERO,
        total_gains: Decimal::ZERO,
        missing_purchase: false,
        missing_price: false,
        legs: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
