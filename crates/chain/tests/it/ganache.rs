//! The EVM adapter against a real local Ethereum node (ganache 7).
//!
//! The helper installs ganache with npm under `<target dir>/ganache` on first use
//! and reuses it afterwards. If node, npm or the npm registry is unavailable the
//! test fails with a message saying so; it never skips.
//!
//! The ERC-20 used is hand-assembled EVM bytecode, so no Solidity compiler is
//! needed. Its runtime implements only `balanceOf(address)` (selector
//! `0x70a08231`), answering `sload(address)`; any other call reverts. Its
//! constructor stores a fixed amount at the deployer's slot, so the deployer holds
//! that amount and every other address holds zero: a real mapping, one holder.

use kc_chain::{Chain, ChainError, ChainProvider, Erc20Token, EvmRpcProvider};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// 123456789.012345678901234567 tokens of 18 decimals: 87 bits, exact.
const MINTED: u128 = 123_456_789_012_345_678_901_234_567;

/// Runtime: `balanceOf(address)` returns `sload(address)`; anything else reverts.
const BALANCE_OF_RUNTIME: &[u8] = &[
    0x60, 0x00, 0x35, // PUSH1 0 CALLDATALOAD
    0x60, 0xe0, 0x1c, // PUSH1 224 SHR            -> selector
    0x63, 0x70, 0xa0, 0x82, 0x31, // PUSH4 0x70a08231
    0x14, // EQ
    0x60, 0x13, 0x57, // PUSH1 0x13 JUMPI
    0x60, 0x00, 0x80, 0xfd, // PUSH1 0 DUP1 REVERT
    0x5b, // 0x13: JUMPDEST
    0x60, 0x04, 0x35, 0x54, // PUSH1 4 CALLDATALOAD SLOAD
    0x60, 0x00, 0x52, // PUSH1 0 MSTORE
    0x60, 0x20, 0x60, 0x00, 0xf3, // PUSH1 32 PUSH1 0 RETURN
];

/// Runtime: every call reverts.
const REVERT_RUNTIME: &[u8] = &[0x60, 0x00, 0x80, 0xfd];

/// Creation code: `constructor` bytes, then copy `runtime` to memory and return it.
pub(crate) fn creation_code(constructor: &[u8], runtime: &[u8]) -> String {
    let runtime_len = u8::try_from(runtime.len()).expect("runtime under 256 bytes");
    let offset = u8::try_from(constructor.len() + 11).expect("constructor under 245 bytes");
    let mut code = constructor.to_vec();
    code.extend_from_slice(&[
        0x60,
        runtime_len, // PUSH1 len
        0x80,        // DUP1
        0x60,
        offset, // PUSH1 offset
        0x60,
        0x00, // PUSH1 0
        0x39, // CODECOPY(0, offset, len)
        0x60,
        0x00, // PUSH1 0
        0xf3, // RETURN(0, len)
    ]);
    code.extend_from_slice(runtime);
    let hex: String = code.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

/// Constructor: `sstore(caller, MINTED)`.
fn mint_to_deployer() -> Vec<u8> {
    let mut code = vec![0x7f]; // PUSH32
    code.extend_from_slice(&[0u8; 16]);
    code.extend_from_slice(&MINTED.to_be_bytes());
    code.extend_from_slice(&[0x33, 0x55]); // CALLER SSTORE
    code
}

/// The cargo target directory: the test binary is `<target>/<profile>/deps/it-…`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).map(Path::to_path_buf).expect("test binary under <target>/<profile>/deps")
}

/// The ganache CLI script, installed with npm on first use.
fn ganache_cli() -> PathBuf {
    crate::ganache_install::ganache_cli(&target_dir())
}

pub(crate) struct Ganache {
    pub(crate) url: String,
    _child: Child,
}

pub(crate) async fn start_ganache() -> Ganache {
    let cli = ganache_cli();
    let port = crate::support::closed_port().port();
    let mut child = Command::new("node")
        .arg(&cli)
        .args(["--server.host", "127.0.0.1", "--server.port", &port.to_string()])
        .args(["--wallet.deterministic", "--logging.quiet", "--chain.chainId", "1337"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {} (is Node.js installed?): {e}", cli.display()));
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(chain_id) = rpc(&url, "eth_chainId", json!([])).await {
            assert_eq!(chain_id, json!("0x539"), "ganache chain id");
            return Ganache { url, _child: child };
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use tokio::io::AsyncReadExt as _;
                let _ = pipe.read_to_string(&mut stderr).await;
            }
            panic!("ganache exited with {status} before answering: {stderr}");
        }
        assert!(Instant::now() < deadline, "ganache did not answer eth_chainId on {url} within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A direct JSON-RPC call, for test set-up.
pub(crate) async fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
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
    match reply.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(format!("{method} failed: {reply}")),
    }
}

pub(crate) async fn deploy(url: &str, from: &str, code: String) -> String {
    let tx = rpc(url, "eth_sendTransaction", json!([{"from": from, "data": code, "gas": "0x100000"}]))
        .await
        .expect("deployment transaction accepted");
    for _ in 0..100 {
        let receipt = rpc(url, "eth_getTransactionReceipt", json!([tx])).await.expect("receipt query");
        if !receipt.is_null() {
            assert_eq!(receipt["status"], json!("0x1"), "deployment succeeded: {receipt}");
            return receipt["contractAddress"].as_str().expect("contract address").to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deployment {tx} was not mined");
}

#[tokio::test]
async fn native_and_erc20_balances_from_a_real_node() {
    let node = start_ganache().await;
    let accounts = rpc(&node.url, "eth_accounts", json!([])).await.expect("accounts");
    let account = |i: usize| accounts[i].as_str().expect("account address").to_owned();
    let (deployer, other, plain) = (account(0), account(1), account(2));

    // Native balance: ganache funds every deterministic account with 1000 ETH.
    let native_only = EvmRpcProvider::new(Chain::Ethereum, &node.url, vec![], Duration::from_secs(10)).expect("config");
    let balances = native_only.balances(&deployer).await.expect("native balance");
    assert_eq!(balances.len(), 1);
    assert_eq!((balances[0].asset.symbol.as_str(), balances[0].quantity.to_string()), ("ETH", "1000".to_owned()));

    // ERC-20 balanceOf through the adapter, next to a "token" that is a plain account.
    let token = deploy(&node.url, &deployer, creation_code(&mint_to_deployer(), BALANCE_OF_RUNTIME)).await;
    let provider = EvmRpcProvider::new(
        Chain::Ethereum,
        &node.url,
        vec![
            Erc20Token::new(&token, "KCT", "Kryptos Test Token", 18),
            Erc20Token::new(&plain, "NOPE", "No contract here", 6),
        ],
        Duration::from_secs(10),
    )
    .expect("config");
    let balances = provider.balances(&deployer).await.expect("deployer balances");
    assert_eq!(balances.len(), 2, "ETH and KCT; the code-less token reads as zero: {balances:?}");
    assert_eq!(balances[0].asset.symbol, "ETH");
    assert!(balances[0].quantity < kc_chain::Decimal::from(1000), "gas was paid");
    assert!(balances[0].quantity > kc_chain::Decimal::from(999), "gas was paid, not more");
    assert_eq!(balances[1].asset.token_id, format!("ethereum:{}", token.to_ascii_lowercase()));
    assert_eq!(balances[1].quantity.to_string(), "123456789.012345678901234567", "exact 18-decimal amount");

    let balances = provider.balances(&other).await.expect("other balances");
    let shown: Vec<(String, String)> =
        balances.iter().map(|b| (b.asset.symbol.clone(), b.quantity.to_string())).collect();
    assert_eq!(shown, vec![("ETH".to_owned(), "1000".to_owned())], "no tokens for a non-holder");

    // A reverting balanceOf is the node's JSON-RPC error.
    let reverting = deploy(&node.url, &deployer, creation_code(&[], REVERT_RUNTIME)).await;
    let provider = EvmRpcProvider::new(
        Chain::Ethereum,
        &node.url,
        vec![Erc20Token::new(&reverting, "REV", "Always reverts", 18)],
        Duration::from_secs(10),
    )
    .expect("config");
    match provider.balances(&other).await {
        Err(ChainError::Rpc { message, .. }) => assert!(message.contains("revert"), "revert message: {message}"),
        other => panic!("expected an RPC error for a reverting call, got {other:?}"),
    }
}
