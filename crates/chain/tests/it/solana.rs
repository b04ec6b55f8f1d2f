//! The Solana JSON-RPC adapter against fake nodes.

use crate::support::{err, fake, ok, requests, silent, Reply};
use kc_chain::{Chain, ChainError, ChainProvider, SolanaRpcProvider, SplToken};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const OWNER: &str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const USDT: &str = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB";
const BONK: &str = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263";
const JUP: &str = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN";

/// A token account as `getTokenAccountsByOwner` returns it with `jsonParsed`.
fn account(mint: &str, token_amount: Value) -> Value {
    json!({
        "pubkey": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
        "account": {
            "data": {
                "parsed": {
                    "info": {
                        "isNative": false,
                        "mint": mint,
                        "owner": OWNER,
                        "state": "initialized",
                        "tokenAmount": token_amount
                    },
                    "type": "account"
                },
                "program": "spl-token",
                "space": 165
            },
            "executable": false,
            "lamports": 2039280,
            "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "rentEpoch": 18446744073709551615u64,
            "space": 165
        }
    })
}

fn amount(units: &str, decimals: u8, ui: f64, ui_string: &str) -> Value {
    json!({"amount": units, "decimals": decimals, "uiAmount": ui, "uiAmountString": ui_string})
}

fn node(lamports: Value, accounts: Vec<Value>) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |body| {
        let req = &requests(body)[0];
        let id = &req["id"];
        let context = json!({"apiVersion": "2.0.15", "slot": 341197053});
        match req["method"].as_str() {
            Some("getBalance") => Reply::json(ok(id, json!({"context": context, "value": lamports}))),
            Some("getTokenAccountsByOwner") => Reply::json(ok(id, json!({"context": context, "value": accounts}))),
            _ => Reply::json(err(id, -32601, "Method not found")),
        }
    }
}

fn provider(url: &str) -> SolanaRpcProvider {
    SolanaRpcProvider::new(url, SplToken::well_known(), Duration::from_secs(5)).expect("valid provider config")
}

#[tokio::test]
async fn sol_and_token_accounts_are_summed_per_mint_exactly() {
    let accounts = vec![
        account(BONK, json!({"decimals": 5, "uiAmountString": "42.5"})),
        account(USDC, amount("1500000", 6, 1.5, "1.5")),
        account(USDC, amount("2500001", 6, 2.500001, "2.500001")),
        account(USDT, amount("0", 6, 0.0, "0")),
        account(JUP, amount("123456789012345678", 9, 123456789.01234567, "123456789.012345678")),
    ];
    let fake = fake(node(json!(12_500_000_001u64), accounts)).await;
    let provider = provider(&fake.url());
    assert_eq!(provider.chain(), Chain::Solana);
    let balances = provider.balances(OWNER).await.expect("balances");
    let summary: Vec<(String, String, String, u8)> = balances
        .iter()
        .map(|b| (b.asset.token_id.clone(), b.asset.symbol.clone(), b.quantity.to_string(), b.asset.decimals))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("solana".into(), "SOL".into(), "12.500000001".into(), 9),
            (format!("solana:{USDC}"), "USDC".into(), "4.000001".into(), 6),
            (format!("solana:{BONK}"), "DezX…B263".into(), "42.5".into(), 5),
            (format!("solana:{JUP}"), "JUPy…DvCN".into(), "123456789.012345678".into(), 9),
        ],
        "SOL first, known mints, then unknown mints by mint; zero USDT omitted"
    );
    assert_eq!(balances[2].asset.public_name, BONK, "an unknown mint is named by its address");
    assert_eq!(balances[1].asset.contract_address.as_deref(), Some(USDC));

    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "getBalance and getTokenAccountsByOwner");
    let mut methods: Vec<Value> = seen.iter().map(|s| s.body.clone()).collect();
    methods.sort_by_key(|b| b["method"].as_str().map(str::to_owned));
    assert_eq!(methods[0]["method"], "getBalance");
    assert_eq!(methods[0]["params"], json!([OWNER]));
    assert_eq!(methods[1]["method"], "getTokenAccountsByOwner");
    assert_eq!(
        methods[1]["params"],
        json!([OWNER, {"programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"}, {"encoding": "jsonParsed"}])
    );
}

#[tokio::test]
async fn an_empty_wallet_reports_zero_sol() {
    let fake = fake(node(json!(0), vec![])).await;
    let balances = provider(&fake.url()).balances(OWNER).await.expect("balances");
    assert_eq!(balances.len(), 1);
    assert_eq!((balances[0].asset.symbol.as_str(), balances[0].quantity.to_string()), ("SOL", "0".to_owned()));
}

#[tokio::test]
async fn json_rpc_errors_become_rpc_errors() {
    let fake = fake(|body: &Value| {
        let req = &requests(body)[0];
        match req["method"].as_str() {
            Some("getTokenAccountsByOwner") => {
                Reply::json(err(&req["id"], -32602, "Invalid param: could not find account"))
            }
            _ => Reply::json(ok(&req["id"], json!({"context": {"slot": 1}, "value": 1}))),
        }
    })
    .await;
    let result = provider(&fake.url()).balances(OWNER).await;
    assert_eq!(result, Err(ChainError::Rpc { code: -32602, message: "Invalid param: could not find account".into() }));
}

#[tokio::test]
async fn malformed_replies_are_malformed_errors() {
    let base64_account = json!({"pubkey": "x", "account": {"data": ["AQAAAA==", "base64"], "owner": "Tokenkeg"}});
    let cases: Vec<(&str, Value, Vec<Value>, &str)> = vec![
        ("lamports as a string", json!("12500000000"), vec![], "not lamports"),
        ("negative lamports", json!(-1), vec![], "not lamports"),
        ("fractional lamports", json!(1.5), vec![], "not lamports"),
        ("base64 account data", json!(1), vec![base64_account], "not jsonParsed"),
        ("decimal amount", json!(1), vec![account(USDC, amount("1.5", 6, 1.5, "1.5"))], "not an integer"),
        ("no decimals", json!(1), vec![account(USDC, json!({"amount": "1"}))], "valid decimals"),
        (
            "bad mint",
            json!(1),
            vec![account("0xdeadbeef", amount("1", 6, 0.000001, "0.000001"))],
            "not a Solana address",
        ),
        ("no amounts", json!(1), vec![account(USDC, json!({"decimals": 6, "uiAmount": 1.0}))], "neither amount"),
    ];
    for (name, lamports, accounts, needle) in cases {
        let fake = fake(node(lamports, accounts)).await;
        match provider(&fake.url()).balances(OWNER).await {
            Err(ChainError::Malformed(msg)) => assert!(msg.contains(needle), "{name}: {msg:?} lacks {needle:?}"),
            other => panic!("{name}: expected Malformed, got {other:?}"),
        }
    }
    let html = fake(|_: &Value| Reply::raw(200, "text/html", "<!doctype html><title>Solana</title>")).await;
    assert!(matches!(provider(&html.url()).balances(OWNER).await, Err(ChainError::Malformed(_))), "HTML page");
}

#[tokio::test]
async fn a_silent_node_times_out_and_bad_addresses_are_refused() {
    let addr = silent().await;
    let provider =
        SolanaRpcProvider::new(&format!("http://{addr}"), vec![], Duration::from_millis(300)).expect("config");
    let started = Instant::now();
    let result = provider.balances(OWNER).await;
    assert!(matches!(result, Err(ChainError::Transport(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    for address in ["0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk0", ""] {
        assert_eq!(provider.balances(address).await, Err(ChainError::UnsupportedAddress), "{address:?}");
    }
}
