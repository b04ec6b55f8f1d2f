//! The EVM JSON-RPC history source against a real local node (ganache 7, see
//! `ganache.rs`), with real transactions: ETH sends, a self-send, an EIP-1559 send, an
//! ERC-20 deployed from hand-assembled bytecode and transferred both ways, and a reverted
//! token transfer. Legs and fees are asserted exactly. Also the `eth_getLogs` span
//! shrinking against a fake node that refuses large ranges.

use crate::ganache::{creation_code, deploy, rpc, start_ganache};
use crate::support::{err, fake, ok, requests, Reply};
use kc_chain::{
    Chain, ChainError, Decimal, EvmHistoryOptions, EvmRpcHistory, HistoryTransaction, LegDirection, TransactionSource,
    TRANSFER_TOPIC,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// Tokens minted to the deployer: 1 000 000 KCT of 6 decimals.
const KCT_MINTED: u128 = 1_000_000_000_000;

/// A tiny assembler with labels (PUSH2 targets), enough for the test token.
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, &'static str)>,
}

impl Asm {
    fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.code.extend_from_slice(bytes);
        self
    }
    /// PUSH<n> of `bytes` (1..=32 bytes).
    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let n = u8::try_from(bytes.len()).expect("push width");
        assert!((1..=32).contains(&n));
        self.code.push(0x5f + n);
        self.op(bytes)
    }
    fn push_label(&mut self, label: &'static str) -> &mut Self {
        self.code.push(0x61); // PUSH2
        self.fixups.push((self.code.len(), label));
        self.op(&[0, 0])
    }
    fn label(&mut self, label: &'static str) -> &mut Self {
        self.labels.insert(label, self.code.len());
        self.op(&[0x5b]) // JUMPDEST
    }
    fn finish(mut self) -> Vec<u8> {
        for (at, label) in &self.fixups {
            let target = u16::try_from(self.labels[label]).expect("small code");
            self.code[*at..*at + 2].copy_from_slice(&target.to_be_bytes());
        }
        self.code
    }
}

const CALLDATALOAD: u8 = 0x35;
const SHR: u8 = 0x1c;
const DUP1: u8 = 0x80;
const DUP2: u8 = 0x81;
const DUP3: u8 = 0x82;
const SWAP1: u8 = 0x90;
const EQ: u8 = 0x14;
const LT: u8 = 0x10;
const ADD: u8 = 0x01;
const SUB: u8 = 0x03;
const JUMPI: u8 = 0x57;
const SLOAD: u8 = 0x54;
const SSTORE: u8 = 0x55;
const MSTORE: u8 = 0x52;
const RETURN: u8 = 0xf3;
const REVERT: u8 = 0xfd;
const CALLER: u8 = 0x33;
const LOG3: u8 = 0xa3;

fn hex32(hex: &str) -> Vec<u8> {
    let hex = hex.trim_start_matches("0x");
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

/// Runtime of a minimal ERC-20 "KCT" with 6 decimals: `balanceOf(address)` (slot = holder),
/// `decimals()`, `symbol()`, and `transfer(address,uint256)` that reverts on insufficient
/// balance and emits `Transfer(from, to, value)`.
fn token_runtime() -> Vec<u8> {
    let mut a = Asm::default();
    a.push(&[0]).op(&[CALLDATALOAD]).push(&[0xe0]).op(&[SHR]);
    for (selector, label) in [
        ([0x70, 0xa0, 0x82, 0x31], "balanceOf"),
        ([0xa9, 0x05, 0x9c, 0xbb], "transfer"),
        ([0x31, 0x3c, 0xe5, 0x67], "decimals"),
        ([0x95, 0xd8, 0x9b, 0x41], "symbol"),
    ] {
        a.op(&[DUP1]).push(&selector).op(&[EQ]).push_label(label).op(&[JUMPI]);
    }
    a.label("fail").push(&[0]).op(&[DUP1, REVERT]);

    a.label("balanceOf").push(&[4]).op(&[CALLDATALOAD, SLOAD]).push(&[0]).op(&[MSTORE]);
    a.push(&[32]).push(&[0]).op(&[RETURN]);

    a.label("decimals").push(&[6]).push(&[0]).op(&[MSTORE]).push(&[32]).push(&[0]).op(&[RETURN]);

    let mut kct = b"KCT".to_vec();
    kct.resize(32, 0);
    a.label("symbol").push(&[0x20]).push(&[0]).op(&[MSTORE]).push(&[3]).push(&[0x20]).op(&[MSTORE]);
    a.push(&kct).push(&[0x40]).op(&[MSTORE]).push(&[0x60]).push(&[0]).op(&[RETURN]);

    // transfer: stack [sel]
    a.label("transfer").op(&[CALLER, SLOAD]).push(&[0x24]).op(&[CALLDATALOAD]); // [sel, bal, amt]
    a.op(&[DUP1, DUP3, LT]).push_label("fail").op(&[JUMPI]); // bal < amt → revert
    a.op(&[SWAP1, DUP2, SWAP1, SUB, CALLER, SSTORE]); // bal[caller] = bal − amt; [sel, amt]
    a.push(&[4]).op(&[CALLDATALOAD, DUP1, SLOAD, DUP3, ADD, SWAP1, SSTORE]); // bal[to] += amt
    a.op(&[DUP1]).push(&[0]).op(&[MSTORE]); // mem[0] = amt
    a.push(&[4]).op(&[CALLDATALOAD, CALLER]).push(&hex32(TRANSFER_TOPIC)).push(&[32]).push(&[0]).op(&[LOG3]);
    a.push(&[1]).push(&[0]).op(&[MSTORE]).push(&[32]).push(&[0]).op(&[RETURN]);
    let code = a.finish();
    assert!(code.len() < 256, "runtime is {} bytes", code.len());
    code
}

/// Constructor: `sstore(caller, KCT_MINTED)`.
fn mint_kct() -> Vec<u8> {
    let mut code = vec![0x7f];
    code.extend_from_slice(&[0u8; 16]);
    code.extend_from_slice(&KCT_MINTED.to_be_bytes());
    code.extend_from_slice(&[CALLER, SSTORE]);
    code
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal literal")
}

fn gwei(n: u64) -> String {
    format!("0x{:x}", u128::from(n) * 1_000_000_000)
}

fn wei(text: &str) -> String {
    let units = (dec(text) * Decimal::from(1_000_000_000_000_000_000u64)).normalize();
    format!("0x{:x}", units.to_string().parse::<u128>().expect("whole wei"))
}

/// Sends `tx` and waits for its receipt.
async fn send(url: &str, tx: Value) -> (String, Value) {
    let hash = rpc(url, "eth_sendTransaction", json!([tx])).await.expect("transaction accepted");
    let hash = hash.as_str().expect("hash").to_owned();
    for _ in 0..100 {
        let receipt = rpc(url, "eth_getTransactionReceipt", json!([hash])).await.expect("receipt query");
        if !receipt.is_null() {
            return (hash, receipt);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{hash} was not mined");
}

fn transfer_data(to: &str, units: u128) -> String {
    format!("0xa9059cbb{:0>64}{:064x}", to.trim_start_matches("0x"), units)
}

fn units(hex: &Value) -> u128 {
    u128::from_str_radix(hex.as_str().expect("hex").trim_start_matches("0x"), 16).expect("hex quantity")
}

/// Fee of a receipt in ETH: gasUsed × effectiveGasPrice.
fn fee_of(receipt: &Value) -> Decimal {
    Decimal::from_i128_with_scale((units(&receipt["gasUsed"]) * units(&receipt["effectiveGasPrice"])) as i128, 18)
        .normalize()
}

type Leg = (LegDirection, String, Decimal, Option<String>, Option<String>);

fn legs(tx: &HistoryTransaction) -> Vec<Leg> {
    tx.legs.iter().map(|l| (l.direction, l.asset.symbol.clone(), l.quantity, l.from.clone(), l.to.clone())).collect()
}

fn leg(direction: LegDirection, symbol: &str, quantity: Decimal, from: &str, to: Option<&str>) -> Leg {
    (direction, symbol.to_owned(), quantity, Some(from.to_owned()), to.map(str::to_owned))
}

/// Every page from `cursor` until `has_more` is false; also checks each page's order.
async fn all_pages(
    source: &EvmRpcHistory,
    address: &str,
    mut cursor: Option<String>,
) -> (Vec<HistoryTransaction>, Option<String>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = source.transactions(address, cursor.as_deref()).await.expect("history page");
        pages += 1;
        assert!(page.transactions.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "oldest first");
        all.extend(page.transactions);
        cursor = page.cursor;
        if !page.has_more {
            return (all, cursor, pages);
        }
        assert!(pages < 100, "paging does not end");
    }
}

#[tokio::test]
async fn a_real_history_is_read_with_exact_legs_and_fees() {
    let node = start_ganache().await;
    let url = node.url.clone();
    let accounts = rpc(&url, "eth_accounts", json!([])).await.expect("accounts");
    let account = |i: usize| accounts[i].as_str().expect("account").to_ascii_lowercase();
    let (funder, me, other) = (account(0), account(1), account(2));

    // 1. Funder → me: 1.5 ETH. 2. Me → other: 0.25 ETH at 30 gwei. 3. Me → me: 0.1 ETH.
    let (receive_eth, _) =
        send(&url, json!({"from": funder, "to": me, "value": wei("1.5"), "gasPrice": gwei(20)})).await;
    let (send_eth, send_receipt) =
        send(&url, json!({"from": me, "to": other, "value": wei("0.25"), "gasPrice": gwei(30)})).await;
    let (self_send, self_receipt) =
        send(&url, json!({"from": me, "to": me, "value": wei("0.1"), "gasPrice": gwei(20)})).await;
    // 4. An EIP-1559 send: the fee is gasUsed × effectiveGasPrice, not × maxFeePerGas.
    let (eip1559, eip1559_receipt) = send(
        &url,
        json!({"from": me, "to": other, "value": wei("0.01"), "type": "0x2",
               "maxFeePerGas": gwei(50), "maxPriorityFeePerGas": gwei(2)}),
    )
    .await;
    assert_ne!(eip1559_receipt["effectiveGasPrice"], json!(gwei(50)), "effective price below the cap");

    // 5. The token: deployed by the funder, who sends me 1234.567891 KCT; I send 34.567891
    //    to other; then I try to send more than I hold (reverts, fee still paid).
    let token = deploy(&url, &funder, creation_code(&mint_kct(), &token_runtime())).await.to_ascii_lowercase();
    let (receive_kct, _) = send(
        &url,
        json!({"from": funder, "to": token, "data": transfer_data(&me, 1_234_567_891), "gasPrice": gwei(20), "gas": "0x20000"}),
    )
    .await;
    let (send_kct, send_kct_receipt) = send(
        &url,
        json!({"from": me, "to": token, "data": transfer_data(&other, 34_567_891), "gasPrice": gwei(20), "gas": "0x20000"}),
    )
    .await;
    let (reverted, reverted_receipt) = send(
        &url,
        json!({"from": me, "to": token, "data": transfer_data(&other, 10_000_000_000), "gasPrice": gwei(20), "gas": "0x20000"}),
    )
    .await;
    assert_eq!(reverted_receipt["status"], json!("0x0"), "the over-balance transfer reverts");
    // Unrelated traffic: funder → other.
    send(&url, json!({"from": funder, "to": other, "value": wei("2"), "gasPrice": gwei(20)})).await;

    // Exact fees, computed by hand for the legacy sends: 21 000 gas × gas price.
    assert_eq!(fee_of(&send_receipt), dec("0.00063"), "21000 × 30 gwei");
    assert_eq!(fee_of(&self_receipt), dec("0.00042"), "21000 × 20 gwei");
    let kct_gas = units(&send_kct_receipt["gasUsed"]);
    assert!(kct_gas > 21_000 && kct_gas < 0x20000, "token transfer gas {kct_gas}");

    let options =
        EvmHistoryOptions { blocks_per_page: 3, log_span: 2, scan_blocks: true, ..EvmHistoryOptions::default() };
    let source = EvmRpcHistory::new(Chain::Ethereum, &url, vec![], options, Duration::from_secs(10)).expect("config");
    assert_eq!(source.chain(), Chain::Ethereum);
    let (history, cursor, pages) = all_pages(&source, &me.to_ascii_uppercase().replace("0X", "0x"), None).await;
    assert!(pages >= 4, "12 blocks in pages of 3: {pages} pages");

    let ids: Vec<&str> = history.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![&receive_eth, &send_eth, &self_send, &eip1559, &receive_kct, &send_kct, &reverted],
        "oldest first, unrelated left out"
    );
    use LegDirection::{Fee, Incoming, Outgoing};
    let expected: Vec<Vec<Leg>> = vec![
        vec![leg(Incoming, "ETH", dec("1.5"), &funder, Some(&me))],
        vec![leg(Outgoing, "ETH", dec("0.25"), &me, Some(&other)), leg(Fee, "ETH", dec("0.00063"), &me, None)],
        vec![
            leg(Outgoing, "ETH", dec("0.1"), &me, Some(&me)),
            leg(Incoming, "ETH", dec("0.1"), &me, Some(&me)),
            leg(Fee, "ETH", dec("0.00042"), &me, None),
        ],
        vec![
            leg(Outgoing, "ETH", dec("0.01"), &me, Some(&other)),
            leg(Fee, "ETH", fee_of(&eip1559_receipt), &me, None),
        ],
        vec![leg(Incoming, "KCT", dec("1234.567891"), &funder, Some(&me))],
        vec![
            leg(Outgoing, "KCT", dec("34.567891"), &me, Some(&other)),
            leg(Fee, "ETH", fee_of(&send_kct_receipt), &me, None),
        ],
        vec![leg(Fee, "ETH", fee_of(&reverted_receipt), &me, None)],
    ];
    for (tx, want) in history.iter().zip(&expected) {
        assert_eq!(&legs(tx), want, "legs of {}", tx.id);
    }
    assert_eq!(
        fee_of(&send_kct_receipt),
        Decimal::from_i128_with_scale(kct_gas as i128 * 20_000_000_000, 18).normalize()
    );
    let failed: Vec<bool> = history.iter().map(|t| t.failed).collect();
    assert_eq!(failed, vec![false, false, false, false, false, false, true]);
    let kct = &history[4].legs[0].asset;
    assert_eq!(
        (kct.token_id.as_str(), kct.decimals, kct.public_name.as_str()),
        (format!("ethereum:{token}").as_str(), 6, "KCT")
    );
    assert!(history.iter().all(|t| t.label.is_none()));

    // Timestamps are the blocks'.
    let block = rpc(&url, "eth_getTransactionByHash", json!([send_kct])).await.expect("tx")["blockNumber"].clone();
    let header = rpc(&url, "eth_getBlockByNumber", json!([block, false])).await.expect("block");
    assert_eq!(history[5].timestamp.unix_timestamp() as u128, units(&header["timestamp"]));
    assert_eq!(history[5].raw["source"], "rpc");
    assert_eq!(history[5].raw["transfers"][0]["contract"], json!(token));

    // Incremental: nothing new, then one new receipt only.
    let (again, cursor, _) = all_pages(&source, &me, cursor).await;
    assert!(again.is_empty(), "{again:?}");
    let (late, _) =
        send(&url, json!({"from": other, "to": me, "value": wei("0.000000000000000001"), "gasPrice": gwei(20)})).await;
    let (new, _, _) = all_pages(&source, &me, cursor).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].id, late);
    assert_eq!(
        legs(&new[0]),
        vec![leg(Incoming, "ETH", dec("0.000000000000000001"), &other, Some(&me))],
        "1 wei, exact"
    );

    // Without the block scan only what Transfer logs point at is found (with its native
    // value and fee): the token receipt and the token send; the reverted one has no log.
    let logs_only =
        EvmRpcHistory::new(Chain::Ethereum, &url, vec![], EvmHistoryOptions::default(), Duration::from_secs(10))
            .expect("config");
    let (found, _, pages) = all_pages(&logs_only, &me, None).await;
    assert_eq!(pages, 1);
    let ids: Vec<&str> = found.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec![&receive_kct, &send_kct]);
    assert_eq!(legs(&found[1]), expected[5]);

    // The other side of the token transfers, from a configured token list (its own name).
    let named = EvmRpcHistory::new(
        Chain::Ethereum,
        &url,
        vec![kc_chain::Erc20Token::new(&token, "KCT", "Kryptos Coin Test", 6)],
        EvmHistoryOptions::default(),
        Duration::from_secs(10),
    )
    .expect("config");
    let (theirs, _, _) = all_pages(&named, &other, None).await;
    assert_eq!(theirs.len(), 1, "only the successful token send reached other");
    assert_eq!(theirs[0].legs.len(), 1, "other paid no fee");
    assert_eq!(theirs[0].legs[0].asset.public_name, "Kryptos Coin Test");
    assert_eq!((theirs[0].legs[0].direction, theirs[0].legs[0].quantity), (Incoming, dec("34.567891")));

    // A cursor from elsewhere and a bad address are refused before any I/O.
    assert!(matches!(source.transactions(&me, Some("sig:abc")).await, Err(ChainError::Malformed(_))));
    assert!(matches!(
        source.transactions("2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1", None).await,
        Err(ChainError::UnsupportedAddress)
    ));
}

/// A node whose `eth_getLogs` refuses ranges above 4 blocks, like Infura's -32005.
#[tokio::test]
async fn log_ranges_shrink_when_the_node_refuses_them() {
    let me = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
    let fake = fake(move |body: &Value| {
        let replies: Vec<Value> = requests(body)
            .iter()
            .map(|req| {
                let id = &req["id"];
                match req["method"].as_str() {
                    Some("eth_blockNumber") => ok(id, json!("0x13")), // 19
                    Some("eth_getLogs") => {
                        let filter = &req["params"][0];
                        let n = |k: &str| {
                            u64::from_str_radix(filter[k].as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
                                .unwrap_or(0)
                        };
                        if n("toBlock") - n("fromBlock") + 1 > 4 {
                            err(id, -32005, "query returned more than 10000 results")
                        } else {
                            ok(id, json!([]))
                        }
                    }
                    _ => err(id, -32601, "Method not found"),
                }
            })
            .collect();
        Reply::json(if body.is_array() { Value::Array(replies) } else { replies[0].clone() })
    })
    .await;
    let options = EvmHistoryOptions { blocks_per_page: 20, log_span: 16, ..EvmHistoryOptions::default() };
    let source =
        EvmRpcHistory::new(Chain::Ethereum, &fake.url(), vec![], options, Duration::from_secs(5)).expect("config");
    let page = source.transactions(me, None).await.expect("page despite refusals");
    assert!(page.transactions.is_empty());
    assert_eq!((page.cursor.as_deref(), page.has_more), (Some("block:20"), false));

    let ranges: Vec<(String, String, usize)> = fake
        .seen()
        .iter()
        .filter(|s| s.body["method"] == "eth_getLogs")
        .map(|s| {
            let f = &s.body["params"][0];
            (
                f["fromBlock"].as_str().unwrap_or("").to_owned(),
                f["toBlock"].as_str().unwrap_or("").to_owned(),
                f["topics"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    // Topic 1 pass: 0-15 refused, 0-7 refused, 0-3, 4-7, 8-11, 12-15, 16-19; then topic 2 alike.
    let first: Vec<(&str, &str)> = ranges.iter().take(7).map(|(a, b, _)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        first,
        vec![
            ("0x0", "0xf"),
            ("0x0", "0x7"),
            ("0x0", "0x3"),
            ("0x4", "0x7"),
            ("0x8", "0xb"),
            ("0xc", "0xf"),
            ("0x10", "0x13")
        ]
    );
    assert_eq!(ranges.len(), 14);
    assert!(
        ranges[..7].iter().all(|r| r.2 == 2) && ranges[7..].iter().all(|r| r.2 == 3),
        "address as topic 1, then topic 2"
    );
    let seen = fake.seen();
    let topics =
        &seen.iter().find(|s| s.body["method"] == "eth_getLogs").expect("a getLogs").body["params"][0]["topics"];
    assert_eq!(topics, &json!([TRANSFER_TOPIC, format!("0x{:0>64}", &me[2..])]));

    // Any other RPC error is the caller's.
    let broken = fake_with_logs_error().await;
    let source = EvmRpcHistory::new(
        Chain::Ethereum,
        &broken.url(),
        vec![],
        EvmHistoryOptions::default(),
        Duration::from_secs(5),
    )
    .expect("config");
    assert_eq!(
        source.transactions(me, None).await,
        Err(ChainError::Rpc { code: -32000, message: "header not found".to_owned() })
    );
}

async fn fake_with_logs_error() -> crate::support::Fake {
    fake(|body: &Value| {
        let req = &requests(body)[0];
        match req["method"].as_str() {
            Some("eth_blockNumber") => Reply::json(ok(&req["id"], json!("0x10"))),
            _ => Reply::json(err(&req["id"], -32000, "header not found")),
        }
    })
    .await
}

/// A node with the trace API (Erigon/Nethermind/Reth shape): plain and internal native
/// transfers are found without a block scan; failed calls, `delegatecall`s and block rewards
/// are left out; a self-destruct refund counts.
#[tokio::test]
async fn traces_find_plain_and_internal_native_transfers() {
    const ME: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
    const OTHER: &str = "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c";
    const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";
    const DYING: &str = "0x1111111111111111111111111111111111111111";
    let (a, b) = (format!("0x{:064x}", 0xa), format!("0x{:064x}", 0xb));
    let call = |hash: &str, block: u64, position: u64, path: Value, from: &str, to: &str, value: &str| {
        json!({"action": {"callType": "call", "from": from, "gas": "0x0", "input": "0x", "to": to, "value": value},
               "blockHash": format!("0x{:064x}", block), "blockNumber": block, "result": {"gasUsed": "0x0", "output": "0x"},
               "subtraces": 0, "traceAddress": path, "transactionHash": hash, "transactionPosition": position, "type": "call"})
    };
    let mut delegate = call(&b, 6, 3, json!([1, 0]), ROUTER, ME, "0x429d069189e0000");
    delegate["action"]["callType"] = json!("delegatecall");
    let mut failed = call(&b, 6, 3, json!([2]), ROUTER, ME, "0x4563918244f40000");
    failed["error"] = json!("Reverted");
    let refund = json!({"action": {"address": DYING, "balance": "0xb1a2bc2ec50000", "refundAddress": ME},
        "blockHash": format!("0x{:064x}", 6), "blockNumber": 6, "result": null, "subtraces": 0, "traceAddress": [3],
        "transactionHash": b, "transactionPosition": 3, "type": "suicide"});
    let reward = json!({"action": {"author": ME, "rewardType": "block", "value": "0x1bc16d674ec80000"},
        "blockHash": format!("0x{:064x}", 7), "blockNumber": 7, "result": null, "subtraces": 0, "traceAddress": [],
        "transactionHash": null, "transactionPosition": null, "type": "reward"});
    let from_me = vec![call(&b, 6, 3, json!([]), ME, ROUTER, "0x0")];
    let to_me = vec![
        call(&a, 5, 0, json!([]), OTHER, ME, "0xde0b6b3a7640000"),
        call(&b, 6, 3, json!([1]), ROUTER, ME, "0x429d069189e0000"),
        delegate,
        failed,
        refund,
        reward,
    ];
    let tx = |hash: &str, block: u64, index: u64, from: &str, to: &str, value: &str| {
        json!({"hash": hash, "blockNumber": format!("0x{block:x}"), "transactionIndex": format!("0x{index:x}"),
               "from": from, "to": to, "value": value, "input": "0x18cbafe5", "gasPrice": "0x2540be400", "type": "0x0"})
    };
    let txs =
        json!({ a.clone(): tx(&a, 5, 0, OTHER, ME, "0xde0b6b3a7640000"), b.clone(): tx(&b, 6, 3, ME, ROUTER, "0x0") });
    let first = a.clone();
    let fake = fake(move |body: &Value| {
        let replies: Vec<Value> = requests(body)
            .iter()
            .map(|req| {
                let (id, p) = (&req["id"], &req["params"]);
                match req["method"].as_str() {
                    Some("eth_blockNumber") => ok(id, json!("0x9")),
                    Some("eth_getLogs") => ok(id, json!([])),
                    Some("trace_filter") if p[0].get("fromAddress").is_some() => ok(id, json!(from_me)),
                    Some("trace_filter") => ok(id, json!(to_me)),
                    Some("eth_getTransactionByHash") => ok(id, txs[p[0].as_str().unwrap_or("")].clone()),
                    Some("eth_getBlockByNumber") => {
                        let n = u64::from_str_radix(p[0].as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0);
                        ok(id, json!({"number": p[0], "timestamp": format!("0x{:x}", 1_700_000_000 + n * 12), "transactions": []}))
                    }
                    Some("eth_getTransactionReceipt") => ok(
                        id,
                        json!({"status": "0x1", "gasUsed": if p[0] == json!(first) { "0x5208" } else { "0x1d4c0" },
                               "effectiveGasPrice": "0x2540be400", "logs": []}),
                    ),
                    _ => err(id, -32601, "Method not found"),
                }
            })
            .collect();
        Reply::json(if body.is_array() { Value::Array(replies) } else { replies[0].clone() })
    })
    .await;
    let options = EvmHistoryOptions { traces: true, ..EvmHistoryOptions::default() };
    let source =
        EvmRpcHistory::new(Chain::Ethereum, &fake.url(), vec![], options, Duration::from_secs(5)).expect("config");
    let page = source.transactions(ME, None).await.expect("page");
    let ids: Vec<&str> = page.transactions.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec![a.as_str(), b.as_str()]);
    use LegDirection::{Fee, Incoming};
    assert_eq!(
        legs(&page.transactions[0]),
        vec![leg(Incoming, "ETH", dec("1"), OTHER, Some(ME))],
        "found by trace alone"
    );
    assert_eq!(
        legs(&page.transactions[1]),
        vec![
            leg(Incoming, "ETH", dec("0.3"), ROUTER, Some(ME)),
            leg(Incoming, "ETH", dec("0.05"), DYING, Some(ME)),
            leg(Fee, "ETH", dec("0.0012"), ME, None),
        ],
        "internal value in call-tree order; delegatecall, failed call and reward left out"
    );
    assert_eq!(page.transactions[1].raw["internal"].as_array().map(Vec::len), Some(2));
    let filters: Vec<Value> = fake
        .seen()
        .iter()
        .flat_map(|s| requests(&s.body))
        .filter(|r| r["method"] == "trace_filter")
        .map(|r| r["params"][0].clone())
        .collect();
    assert_eq!(
        filters,
        vec![
            json!({"fromBlock": "0x0", "toBlock": "0x9", "fromAddress": [ME]}),
            json!({"fromBlock": "0x0", "toBlock": "0x9", "toAddress": [ME]}),
        ]
    );
}
