//! The Solana history source against a fake JSON-RPC node replaying real response shapes
//! (`fixtures/solana/history.json`): `getSignaturesForAddress` entries (newest first,
//! `before`/`until`/`limit` honoured) and `getTransaction` results in `jsonParsed` encoding
//! (account keys as objects, lookup-table keys of a v0 transaction, parsed system and
//! spl-token instructions, inner instructions, token balances with `owner` and
//! `uiTokenAmount`), a failed transaction, and the documented `json`-encoding example.

use crate::support::{err, fake, ok, requests, Reply};
use kc_chain::{
    ChainError, Decimal, HistoryTransaction, LegDirection, SolanaHistory, SolanaHistoryOptions, SplToken,
    TransactionSource,
};
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::Duration;

const FIXTURE: &str = include_str!("fixtures/solana/history.json");
const OTHER: &str = "83astBRguLMdt2h5U1Tpdq5tjFoJ6noeGwaY3mDLVcri";
const POOL: &str = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture is JSON")
}

/// A node answering from the fixture, emulating `before`, `until` and `limit`.
fn node(fixture: Value) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |body| {
        let replies: Vec<Value> = requests(body)
            .iter()
            .map(|req| {
                let id = &req["id"];
                let params = &req["params"];
                match req["method"].as_str() {
                    Some("getSignaturesForAddress") => {
                        if params[0] != fixture["address"] {
                            return ok(id, json!([]));
                        }
                        let config = &params[1];
                        let all = fixture["signatures"].as_array().cloned().unwrap_or_default();
                        let position = |key: &str| config[key].as_str().and_then(|s| all.iter().position(|e| e["signature"] == s));
                        let start = position("before").map_or(0, |i| i + 1);
                        let end = position("until").unwrap_or(all.len());
                        let limit = config["limit"].as_u64().unwrap_or(1000) as usize;
                        let page: Vec<Value> = all.get(start..end.max(start)).unwrap_or(&[]).iter().take(limit).cloned().collect();
                        ok(id, Value::Array(page))
                    }
                    Some("getTransaction") => {
                        let config = &params[1];
                        if config["encoding"] != "jsonParsed" || config["maxSupportedTransactionVersion"] != 0 {
                            return err(id, -32015, "Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: \"maxSupportedTransactionVersion\": 0");
                        }
                        let sig = params[0].as_str().unwrap_or("");
                        ok(id, fixture["transactions"].get(sig).cloned().unwrap_or(Value::Null))
                    }
                    _ => err(id, -32601, "Method not found"),
                }
            })
            .collect();
        Reply::json(if body.is_array() { Value::Array(replies) } else { replies[0].clone() })
    }
}

fn source(url: &str, page_size: usize, per_request: usize) -> SolanaHistory {
    let options = SolanaHistoryOptions { page_size, signatures_per_request: per_request };
    SolanaHistory::new(url, SplToken::well_known(), options, Duration::from_secs(5)).expect("config")
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

type Leg = (LegDirection, String, Decimal, Option<String>, Option<String>);

fn legs(tx: &HistoryTransaction) -> Vec<Leg> {
    tx.legs.iter().map(|l| (l.direction, l.asset.symbol.clone(), l.quantity, l.from.clone(), l.to.clone())).collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[tokio::test]
async fn signatures_and_parsed_transactions_become_exact_legs() {
    let fixture = fixture();
    let me = fixture["address"].as_str().expect("address").to_owned();
    let sigs: Vec<String> = fixture["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .rev()
        .map(|e| e["signature"].as_str().expect("sig").to_owned())
        .collect();
    let fake = fake(node(fixture)).await;
    let source = source(&fake.url(), 2, 2);

    let ids = |txs: &[HistoryTransaction]| txs.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    let listings = |fake: &crate::support::Fake| -> Vec<Value> {
        fake.seen()
            .iter()
            .flat_map(|s| requests(&s.body))
            .filter(|r| r["method"] == "getSignaturesForAddress")
            .map(|r| r["params"][1].clone())
            .collect()
    };

    // Backfill: the newest page first (each page oldest first), one listing per page.
    let page = source.transactions(&me, None).await.expect("page 1");
    assert_eq!(ids(&page.transactions), sigs[3..5].to_vec());
    assert_eq!((page.cursor.clone(), page.has_more), (Some(format!("back:{}:{}", sigs[4], sigs[3])), true));
    let fetch = fake
        .seen()
        .iter()
        .flat_map(|s| requests(&s.body))
        .find(|r| r["method"] == "getTransaction")
        .expect("getTransaction");
    assert_eq!(
        fetch["params"][1],
        json!({"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": "finalized"})
    );
    let mut all = page.transactions;
    let page = source.transactions(&me, page.cursor.as_deref()).await.expect("page 2");
    assert_eq!(ids(&page.transactions), sigs[1..3].to_vec());
    assert_eq!((page.cursor.clone(), page.has_more), (Some(format!("back:{}:{}", sigs[4], sigs[1])), true));
    all.extend(page.transactions);
    let last = source.transactions(&me, page.cursor.as_deref()).await.expect("page 3");
    assert_eq!(ids(&last.transactions), sigs[..1].to_vec());
    assert_eq!((last.cursor.clone(), last.has_more), (Some(format!("sig:{}", sigs[4])), false), "caught up");
    all.extend(last.transactions);
    assert_eq!(
        listings(&fake),
        vec![
            json!({"limit": 2, "commitment": "finalized"}),
            json!({"limit": 2, "commitment": "finalized", "before": sigs[3]}),
            json!({"limit": 2, "commitment": "finalized", "before": sigs[1]}),
        ],
        "one listing per page"
    );
    all.sort_by_key(|t| t.timestamp);
    for t in &all {
        // The slot orders transactions of one second; each fixture slot holds one transaction.
        assert_eq!((Some(t.position.block), t.position.index), (t.raw["slot"].as_u64(), 0), "{}", t.id);
    }
    assert!(all.windows(2).all(|w| w[0].position < w[1].position), "slots grow with time");

    // Caught up after the oldest (as if the four others arrived since): the newer ones are
    // listed 2 by 2 with `until` and `before`, and returned oldest first, 2 per page.
    let forward = source.transactions(&me, Some(&format!("sig:{}", sigs[0]))).await.expect("forward 1");
    assert_eq!(ids(&forward.transactions), sigs[1..3].to_vec());
    assert_eq!((forward.cursor.clone(), forward.has_more), (Some(format!("sig:{}", sigs[2])), true));
    let listed = listings(&fake);
    assert_eq!(listed[3], json!({"limit": 2, "commitment": "finalized", "until": sigs[0]}));
    assert_eq!(listed[4], json!({"limit": 2, "commitment": "finalized", "until": sigs[0], "before": sigs[3]}));
    let forward = source.transactions(&me, forward.cursor.as_deref()).await.expect("forward 2");
    assert_eq!(ids(&forward.transactions), sigs[3..5].to_vec());
    assert_eq!((forward.cursor.clone(), forward.has_more), (Some(format!("sig:{}", sigs[4])), false));

    use LegDirection::{Fee, Incoming, Outgoing};
    let expected: Vec<Vec<Leg>> = vec![
        vec![(Incoming, "SOL".into(), dec("1.5"), some(OTHER), some(&me))],
        vec![
            (Outgoing, "USDC".into(), dec("100.5"), some(&me), some(OTHER)),
            (Fee, "SOL".into(), dec("0.0000075"), some(&me), None),
        ],
        vec![(Fee, "SOL".into(), dec("0.000005"), some(&me), None)],
        vec![
            (Outgoing, "SOL".into(), dec("0.5"), some(&me), some(POOL)),
            (Incoming, "USDC".into(), dec("75.123456"), some(POOL), some(&me)),
            (Fee, "SOL".into(), dec("0.000005"), some(&me), None),
        ],
        vec![(Fee, "SOL".into(), dec("0.000005"), some(&me), None)],
    ];
    assert_eq!(all.len(), expected.len());
    for (tx, want) in all.iter().zip(&expected) {
        assert_eq!(&legs(tx), want, "{}", tx.id);
    }
    assert_eq!(all.iter().map(|t| t.failed).collect::<Vec<_>>(), vec![false, false, true, false, false]);
    assert_eq!(all[0].timestamp.unix_timestamp(), 1_717_000_000);
    let usdc = &all[1].legs[0].asset;
    assert_eq!(
        (usdc.token_id.as_str(), usdc.decimals, usdc.public_name.as_str()),
        (format!("solana:{USDC}").as_str(), 6, "USD Coin")
    );
    assert_eq!(all[2].raw["err"], json!({"InstructionError": [0, {"Custom": 1}]}));
    assert_eq!(all[3].raw["version"], json!(0));

    // Nothing newer: same cursor, nothing fetched.
    let none = source.transactions(&me, last.cursor.as_deref()).await.expect("page 4");
    assert!(none.transactions.is_empty() && !none.has_more);
    assert_eq!(none.cursor, last.cursor);
}

#[tokio::test]
async fn errors_and_foreign_cursors_are_refused() {
    let fake =
        fake(|body: &Value| Reply::json(err(&requests(body)[0]["id"], -32602, "Invalid param: WrongSize"))).await;
    let source = source(&fake.url(), 10, 1000);
    let me = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    assert_eq!(
        source.transactions(me, None).await,
        Err(ChainError::Rpc { code: -32602, message: "Invalid param: WrongSize".into() })
    );
    assert_eq!(
        source.transactions("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", None).await,
        Err(ChainError::UnsupportedAddress)
    );
    for bad in ["block:12", "sig:0OIl", "sig:", "back:abc", "back:"] {
        assert!(matches!(source.transactions(me, Some(bad)).await, Err(ChainError::Malformed(_))), "{bad}");
    }
    assert_eq!(fake.hits(), 1, "only the first call reached the node");

    // A transaction without meta is malformed, named by its signature.
    let mut fixture = fixture();
    let sig = fixture["signatures"][4]["signature"].as_str().expect("sig").to_owned();
    fixture["transactions"][&sig]["meta"] = Value::Null;
    let broken = fake_node(fixture).await;
    match source_at(&broken).transactions(me, None).await {
        Err(ChainError::Malformed(m)) => assert!(m.contains(&sig) && m.contains("meta"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

async fn fake_node(fixture: Value) -> crate::support::Fake {
    fake(node(fixture)).await
}

fn source_at(fake: &crate::support::Fake) -> SolanaHistory {
    source(&fake.url(), 10, 1000)
}
