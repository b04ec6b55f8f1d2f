//! A real on-chain history, end to end: a local ganache node (installed with npm under the
//! target directory on first use, like kc-chain's tests; the test fails loudly if node or npm
//! is missing), real transactions, a production client connecting the address, the sync
//! worker reading the history over JSON-RPC (`chains.scan_blocks`), pricing it with the static
//! historical table, and the Data API serving it — on SQLite and PostgreSQL.
//!
//! The synced account starts EMPTY (ganache `--wallet.accounts` with a 0 balance), so its
//! on-chain balance is exactly what its history explains: +2 ETH, −0.5 ETH, −0.00042 ETH gas.

use crate::data_api::{connect_guest, data_get, production_client, spawn_with, wait_until_settled, wallet};
use crate::helpers::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The funder's key (1 000 ETH) and the synced account's and a third party's (0 ETH).
const FUNDER_KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const ME_KEY: &str = "0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f";
const OTHER_KEY: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

struct Node {
    url: String,
    _child: Child,
}

/// `<target>/ganache/node_modules/ganache/dist/node/cli.js`, installed on first use.
fn ganache_cli() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).expect("test binary under <target>/<profile>/deps");
    crate::ganache_install::ganache_cli(&target)
}

async fn start_node() -> Node {
    let cli = ganache_cli();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut command = Command::new("node");
    command.arg(&cli).args(["--server.host", "127.0.0.1", "--server.port", &port.to_string()]);
    command.args(["--logging.quiet", "--chain.chainId", "1337"]);
    for (key, balance) in [(FUNDER_KEY, "0x3635C9ADC5DEA00000"), (ME_KEY, "0x0"), (OTHER_KEY, "0x0")] {
        command.args(["--wallet.accounts", &format!("{key},{balance}")]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {} (is Node.js installed?): {e}", cli.display()));
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if rpc(&url, "eth_chainId", json!([])).await.is_ok() {
            return Node { url, _child: child };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ganache exited with {status} before answering");
        }
        assert!(Instant::now() < deadline, "ganache did not answer on {url} within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let reply: Value = client
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    reply.get("result").cloned().ok_or_else(|| format!("{method} failed: {reply}"))
}

async fn send(url: &str, tx: Value) -> String {
    let hash = rpc(url, "eth_sendTransaction", json!([tx])).await.expect("transaction accepted");
    for _ in 0..100 {
        if !rpc(url, "eth_getTransactionReceipt", json!([hash])).await.expect("receipt").is_null() {
            return hash.as_str().expect("hash").to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{hash} was not mined");
}

async fn a_real_ganache_history_is_ingested_and_priced(db: Db) {
    let node = start_node().await;
    let accounts = rpc(&node.url, "eth_accounts", json!([])).await.expect("accounts");
    let account = |i: usize| accounts[i].as_str().expect("account").to_ascii_lowercase();
    let (funder, me, other) = (account(0), account(1), account(2));
    let gas_price = "0x4a817c800"; // 20 gwei
    let receive =
        send(&node.url, json!({"from": funder, "to": me, "value": "0x1bc16d674ec80000", "gasPrice": gas_price})).await; // 2 ETH
                                                                                                                        // A minute later: the ledger orders by block time (see the contract note on same-second
                                                                                                                        // transactions), so the two must not share a second.
    rpc(&node.url, "evm_increaseTime", json!([60])).await.expect("evm_increaseTime");
    let pay =
        send(&node.url, json!({"from": me, "to": other, "value": "0x6f05b59d3b20000", "gasPrice": gas_price})).await; // 0.5 ETH

    let url = node.url.clone();
    let app = spawn_with(db, move |s| {
        s.chains.rpc_urls.insert("ethereum".to_owned(), url);
        s.chains.scan_blocks = true;
        s.chains.history_blocks_per_page = 2;
    })
    .await;
    let creds = production_client(&app).await;
    let c = connect_guest(&app, &creds, None, &[wallet("ethereum", &me)]).await;
    let settled = wait_until_settled(&app, &c).await;
    assert_eq!(settled[0]["status"], json!("COMPLETED"), "{}", settled[0]);
    assert_eq!(settled[0]["totalTransactions"], json!(2), "{}", settled[0]);

    let page = data_get(&app, "/api/v1/transactions?order=asc", Some(&c.access_token), Some(&c.creds)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let data = page.body["data"].as_array().unwrap_or_else(|| panic!("data: {}", page.text));
    let ids: Vec<&str> = data.iter().filter_map(|t| t["transactionPlatfromId"].as_str()).collect();
    assert_eq!(ids, vec![receive.as_str(), pay.as_str()], "{}", page.text);

    let incoming = &data[0]["incomingAssets"][0];
    assert_eq!((&incoming["asset"]["tokenId"], &incoming["quantity"]), (&json!("ethereum"), &json!(2)), "{}", data[0]);
    assert_eq!(incoming["price"], json!(3000), "priced from the static history table: {}", data[0]);
    let outgoing = &data[1]["outgoingAssets"][0];
    assert_eq!((&outgoing["quantity"], &outgoing["price"]), (&json!(0.5), &json!(3000)), "{}", data[1]);
    let fee = &data[1]["fee"][0];
    assert_eq!(fee["quantity"], json!(0.00042), "21000 gas × 20 gwei, exact: {}", data[1]);
    assert!(page.text.contains(r#""quantity":0.00042"#), "{}", page.text);
    // FIFO: 2 ETH bought at 3 000; 0.5 ETH and the 0.00042 ETH fee leave at cost, at the same price.
    assert_eq!(data[0]["totalCostbasis"], json!(6000), "{}", data[0]);
    assert_eq!((&data[1]["totalCostbasis"], &data[1]["totalGains"]), (&json!(1501.26), &json!(0)), "{}", data[1]);
    for t in data {
        assert_eq!(t["metadata"]["isMissingPurchase"], json!(false), "{t}");
        assert_eq!(t["metadata"]["isMissingPrice"], json!(false), "{t}");
        assert_eq!(t["rawTrx"]["source"], json!("rpc"), "{t}");
    }

    // The ledger explains the whole on-chain balance: 2 − 0.5 − 0.00042.
    let chain = data_get(&app, "/api/v1/holdings", Some(&c.access_token), Some(&c.creds)).await;
    let ledger =
        data_get(&app, "/api/v1/holdings?calculatedBalances=true", Some(&c.access_token), Some(&c.creds)).await;
    for h in [&chain, &ledger] {
        assert_eq!(h.status, 200, "{}", h.text);
        assert!(h.text.contains("1.49958"), "ETH 1.49958 in {}", h.text);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_real_ganache_history_is_ingested_and_priced_on_sqlite() {
    a_real_ganache_history_is_ingested_and_priced(Db::Sqlite).await;
}

#[tokio::test]
async fn a_real_ganache_history_is_ingested_and_priced_on_postgres() {
    a_real_ganache_history_is_ingested_and_priced(Db::Postgres).await;
}
