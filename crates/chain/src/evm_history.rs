//! EVM transaction history from a JSON-RPC node: ERC-20 (and ERC-721) `Transfer` logs
//! through bounded `eth_getLogs` ranges, native transfers by scanning blocks where the node
//! allows it, fees from receipts. Also the leg building shared with the explorer adapter.

use crate::evm::Erc20Token;
use crate::http::{kind, parse_hex_units, units_to_decimal, RpcClient};
use crate::AssetInfo;
use crate::Chain;
use crate::ChainError;
use crate::{ChainPosition, HistoryLeg, HistoryPage, HistoryTransaction, LegDirection, TransactionSource};
use kc_domain::ChainFamily;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use time::OffsetDateTime;

/// `keccak256("Transfer(address,address,uint256)")`, topic 0 of ERC-20 and ERC-721 transfers.
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// The selector of ERC-20 `approve(address,uint256)`: such a call is labelled `Approve`.
const APPROVE_SELECTOR: &str = "0x095ea7b3";

/// Requests per JSON-RPC batch when fetching blocks, transactions and receipts.
const BATCH: usize = 50;

/// The cursor prefix of both EVM sources: `block:<n>` = the next block to read. The JSON-RPC
/// and explorer sources share it, so switching source keeps an integration's progress.
const CURSOR_PREFIX: &str = "block:";

/// How [`EvmRpcHistory`] walks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmHistoryOptions {
    /// The first block read when no cursor is given (0: genesis).
    pub start_block: u64,
    /// The most blocks one [`TransactionSource::transactions`] call covers (at least 1).
    pub blocks_per_page: u64,
    /// The initial block span of one `eth_getLogs` request (at least 1). A node answering
    /// "too many results" (or "block range too large") makes the adapter halve it, down to
    /// one block, for the rest of the call.
    pub log_span: u64,
    /// Whether to fetch every block of the page with its transactions
    /// (`eth_getBlockByNumber(n, true)`) to find plain native transfers. Right for a local or
    /// private node; on a public chain use an explorer instead (a block scan of mainnet is not
    /// bounded in practice). Without it, native value is still read for the transactions the
    /// `Transfer` logs point at.
    pub scan_blocks: bool,
    /// Whether to ask `trace_filter` (Erigon, Nethermind, Reth, OpenEthereum-style trace
    /// API) for every call from or to the address, in the same spans as `eth_getLogs`: it
    /// finds plain native transfers without a block scan, and native value moved by
    /// contracts (internal transfers), which neither logs nor blocks show.
    pub traces: bool,
    /// Blocks below the node's head that are not read yet (reorg safety).
    pub confirmations: u64,
}

impl Default for EvmHistoryOptions {
    /// Genesis, 10 000 blocks per page, `eth_getLogs` over 2 000 blocks, no block scan, no
    /// traces, no confirmations.
    fn default() -> Self {
        Self {
            start_block: 0,
            blocks_per_page: 10_000,
            log_span: 2_000,
            scan_blocks: false,
            traces: false,
            confirmations: 0,
        }
    }
}

/// Reads the history of an address from an EVM node over JSON-RPC.
///
/// One call reads blocks `[cursor, min(cursor + blocks_per_page, head - confirmations + 1))`:
///
/// 1. `eth_getLogs` for `Transfer` with the address as topic 1 (sender), then as topic 2
///    (recipient), in spans of [`EvmHistoryOptions::log_span`] blocks, halving the span on a
///    "too many results" error (Infura's -32005, Alchemy's "response size exceeded", …);
/// 2. with [`EvmHistoryOptions::scan_blocks`], every block with its transactions; the
///    transactions from or to the address are kept; with [`EvmHistoryOptions::traces`],
///    `trace_filter` with the address as `fromAddress`, then `toAddress` (same spans);
/// 3. the transactions the logs point at (`eth_getTransactionByHash`) and block headers for
///    their timestamps, then every kept transaction's receipt (`eth_getTransactionReceipt`).
///
/// Legs, in this order: the native value (outgoing and/or incoming), internal native
/// transfers from traces (in call-tree order; failed calls and `delegatecall`s left out),
/// one leg per `Transfer`
/// log touching the address in log-index order, then the fee `gasUsed × effectiveGasPrice`
/// (plus an OP-stack receipt's `l1Fee`) when the address sent the transaction. A reverted
/// transaction carries its fee only; one the address did not pay for is left out. ERC-20
/// decimals, symbol and name come from the configured tokens or from `decimals()`,
/// `symbol()` and `name()` (cached); a contract without `decimals()` counts as 0 decimals.
/// An ERC-721 `Transfer` (token id as topic 3) is a leg of quantity 1 of an asset of type
/// `nft` with token id `<chain>:<contract>:<token id>`. A token amount above Decimal's 96
/// bits (spam tokens send absurd amounts) is left out and the transaction labelled `Spam`.
///
/// The cursor is `block:<next block>`.
#[derive(Debug)]
pub struct EvmRpcHistory {
    chain: Chain,
    rpc: RpcClient,
    options: EvmHistoryOptions,
    tokens: TokenBook,
}

impl EvmRpcHistory {
    /// A source for `chain` (an EVM chain) reading the node at `url`, naming `tokens` from
    /// the list and any other contract from its own metadata; every request ends within
    /// `timeout`.
    ///
    /// Returns [`ChainError::Config`] when `chain` is not an EVM chain, `url` is not an
    /// http(s) URL, a token contract is invalid, or a span is zero.
    pub fn new(
        chain: Chain,
        url: &str,
        tokens: Vec<Erc20Token>,
        options: EvmHistoryOptions,
        timeout: Duration,
    ) -> Result<Self, ChainError> {
        if chain.family() != ChainFamily::Evm {
            return Err(ChainError::Config(format!("{chain} is not an EVM chain")));
        }
        if options.blocks_per_page == 0 || options.log_span == 0 {
            return Err(ChainError::Config("blocks_per_page and log_span must be at least 1".to_owned()));
        }
        Ok(Self { chain, rpc: RpcClient::new(url, timeout)?, options, tokens: TokenBook::new(chain, tokens)? })
    }

    /// `Transfer` logs in `[from, to]` with `address_topic` at `position` (1 or 2).
    async fn transfer_logs(
        &self,
        from: u64,
        to: u64,
        position: usize,
        address_topic: &str,
    ) -> Result<Vec<Value>, ChainError> {
        let mut topics = vec![json!(TRANSFER_TOPIC), Value::Null, Value::Null];
        topics[position] = json!(address_topic);
        topics.truncate(position + 1);
        self.ranged(
            "eth_getLogs",
            from,
            to,
            |start, end| json!([{"fromBlock": hex(start), "toBlock": hex(end), "topics": topics}]),
        )
        .await
    }

    /// The array results of `method` over `[from, to]` in spans of at most
    /// [`EvmHistoryOptions::log_span`] blocks, halving the span on "too many results".
    async fn ranged(
        &self,
        method: &str,
        from: u64,
        to: u64,
        params: impl Fn(u64, u64) -> Value,
    ) -> Result<Vec<Value>, ChainError> {
        let mut span = self.options.log_span;
        let mut start = from;
        let mut found = Vec::new();
        while start <= to {
            let end = to.min(start.saturating_add(span - 1));
            match self.rpc.call(method, params(start, end)).await {
                Ok(Value::Array(items)) => {
                    found.extend(items);
                    start = end + 1;
                }
                Ok(other) => {
                    return Err(ChainError::Malformed(format!("{method} returned {}, not an array", kind(&other))))
                }
                Err(ChainError::Rpc { code, message }) if end > start && too_many_results(code, &message) => {
                    span = (end - start).div_ceil(2).max(1);
                    tracing::debug!(method, span, code, "the node refused the range; halving it");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Value-moving calls of `address` in `[from, to]` from `trace_filter`, per transaction:
    /// (trace address, from, to, wei), top-level calls included.
    async fn traces(&self, address: &str, from: u64, to: u64) -> Result<HashMap<String, Vec<Internal>>, ChainError> {
        let mut seen: BTreeMap<(String, Vec<u64>), Internal> = BTreeMap::new();
        for side in ["fromAddress", "toAddress"] {
            let traces = self
                .ranged(
                    "trace_filter",
                    from,
                    to,
                    |start, end| json!([{"fromBlock": hex(start), "toBlock": hex(end), side: [address]}]),
                )
                .await?;
            for trace in traces {
                let Some(hash) = trace.get("transactionHash").and_then(Value::as_str) else {
                    continue; // block and uncle rewards
                };
                if let Some(internal) = decode_trace(&trace)? {
                    seen.insert((hash.to_ascii_lowercase(), internal.trace_address.clone()), internal);
                }
            }
        }
        let mut by_tx: HashMap<String, Vec<Internal>> = HashMap::new();
        for ((hash, _), internal) in seen {
            by_tx.entry(hash).or_default().push(internal);
        }
        Ok(by_tx)
    }

    /// Results of `calls` in batches of [`BATCH`], in order.
    async fn batched(&self, calls: Vec<(&'static str, Value)>) -> Result<Vec<Value>, ChainError> {
        let mut results = Vec::with_capacity(calls.len());
        let mut calls = calls.into_iter().peekable();
        while calls.peek().is_some() {
            let chunk: Vec<(&str, Value)> = calls.by_ref().take(BATCH).collect();
            results.extend(self.rpc.batch(chunk).await?);
        }
        Ok(results)
    }

    /// Learns the metadata of `contracts` not known yet with `decimals()`, `symbol()`, `name()`.
    async fn learn_tokens(&self, contracts: &BTreeSet<String>) -> Result<(), ChainError> {
        let unknown: Vec<&String> = contracts.iter().filter(|c| !self.tokens.knows(c)).collect();
        for chunk in unknown.chunks(BATCH / 3) {
            let mut calls = Vec::with_capacity(chunk.len() * 3);
            for contract in chunk {
                for selector in ["0x313ce567", "0x95d89b41", "0x06fdde03"] {
                    calls.push(("eth_call", json!([{"to": contract, "data": selector}, "latest"])));
                }
            }
            let results = self.rpc.batch_each(calls).await?;
            for (contract, answers) in chunk.iter().zip(results.chunks(3)) {
                let text = |i: usize| answers.get(i).and_then(|r| r.as_ref().ok()).and_then(Value::as_str);
                // No `decimals()` (a revert, or no code) is 0; any other failure is not
                // remembered, it fails the page and the sync retries it later.
                let decimals = match answers.first() {
                    Some(Ok(Value::String(data))) => {
                        abi_word(data).ok().and_then(|d| u8::try_from(d).ok()).unwrap_or(0)
                    }
                    Some(Err(ChainError::Rpc { message, .. })) if message.to_ascii_lowercase().contains("revert") => 0,
                    Some(Err(e)) => return Err(e.clone()),
                    _ => return Err(ChainError::Malformed(format!("decimals() of {contract} is not hex data"))),
                };
                let symbol = text(1).and_then(abi_string).unwrap_or_else(|| short_contract(contract));
                let name = text(2).and_then(abi_string).unwrap_or_else(|| symbol.clone());
                self.tokens.learn(contract, &symbol, &name, decimals);
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl TransactionSource for EvmRpcHistory {
    fn chain(&self) -> Chain {
        self.chain
    }

    #[tracing::instrument(name = "evm_history", skip_all, fields(chain = %self.chain, rpc = %self.rpc.shown_url()))]
    async fn transactions(&self, address: &str, cursor: Option<&str>) -> Result<HistoryPage, ChainError> {
        let address = ChainFamily::Evm.validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let from = parse_cursor(cursor)?.unwrap_or(self.options.start_block);
        let head = parse_hex_u64(&self.rpc.call("eth_blockNumber", json!([])).await?, "eth_blockNumber")?;
        let Some(safe_head) = head.checked_sub(self.options.confirmations) else {
            return Ok(HistoryPage { transactions: vec![], cursor: cursor.map(str::to_owned), has_more: false });
        };
        if from > safe_head {
            return Ok(HistoryPage { transactions: vec![], cursor: Some(make_cursor(from)), has_more: false });
        }
        let to = safe_head.min(from.saturating_add(self.options.blocks_per_page - 1));
        let topic = address_topic(&address);

        // 1. Transfer logs, deduplicated (a self-transfer matches both queries).
        let mut logs: BTreeMap<(u64, u64), Value> = BTreeMap::new();
        for position in [1, 2] {
            for log in self.transfer_logs(from, to, position, &topic).await? {
                if log.get("removed").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let block = parse_hex_u64(field(&log, "blockNumber")?, "log blockNumber")?;
                let index = parse_hex_u64(field(&log, "logIndex")?, "log logIndex")?;
                logs.insert((block, index), log);
            }
        }
        let mut logs_by_tx: HashMap<String, Vec<Value>> = HashMap::new();
        for log in logs.into_values() {
            let hash = str_field(&log, "transactionHash")?.to_ascii_lowercase();
            logs_by_tx.entry(hash).or_default().push(log);
        }
        let traces = if self.options.traces { self.traces(&address, from, to).await? } else { HashMap::new() };

        // 2. Transactions: from the block scan, then those the logs point at.
        let mut txs: HashMap<String, Value> = HashMap::new();
        let mut timestamps: HashMap<u64, i64> = HashMap::new();
        if self.options.scan_blocks {
            let calls = (from..=to).map(|n| ("eth_getBlockByNumber", json!([hex(n), true]))).collect();
            for block in self.batched(calls).await? {
                let number = parse_hex_u64(field(&block, "number")?, "block number")?;
                timestamps.insert(number, block_timestamp(&block)?);
                let list = block
                    .get("transactions")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ChainError::Malformed(format!("block {number} without transactions")))?;
                for tx in list {
                    let touches = |key: &str| {
                        tx.get(key).and_then(Value::as_str).is_some_and(|a| a.eq_ignore_ascii_case(&address))
                    };
                    if touches("from") || touches("to") {
                        txs.insert(str_field(tx, "hash")?.to_ascii_lowercase(), tx.clone());
                    }
                }
            }
        }
        let missing: Vec<String> = logs_by_tx
            .keys()
            .chain(traces.keys())
            .filter(|h| !txs.contains_key(*h))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let fetched = self.batched(missing.iter().map(|h| ("eth_getTransactionByHash", json!([h]))).collect()).await?;
        for (hash, tx) in missing.into_iter().zip(fetched) {
            if tx.is_null() {
                return Err(ChainError::Malformed(format!("eth_getTransactionByHash {hash} returned null")));
            }
            txs.insert(hash, tx);
        }
        let mut blocks: BTreeSet<u64> = BTreeSet::new();
        for tx in txs.values() {
            blocks.insert(parse_hex_u64(field(tx, "blockNumber")?, "transaction blockNumber")?);
        }
        let headers: Vec<u64> = blocks.iter().copied().filter(|n| !timestamps.contains_key(n)).collect();
        let fetched =
            self.batched(headers.iter().map(|n| ("eth_getBlockByNumber", json!([hex(*n), false]))).collect()).await?;
        for (number, header) in headers.into_iter().zip(fetched) {
            timestamps.insert(number, block_timestamp(&header)?);
        }

        // 3. Receipts, and the metadata of the tokens seen.
        let hashes: Vec<String> = txs.keys().cloned().collect();
        let receipts = self.batched(hashes.iter().map(|h| ("eth_getTransactionReceipt", json!([h]))).collect()).await?;
        let receipts: HashMap<String, Value> = hashes.into_iter().zip(receipts).collect();
        let contracts: BTreeSet<String> = logs_by_tx
            .values()
            .flatten()
            .filter(|log| topics(log).len() == 3)
            .filter_map(|log| log.get("address").and_then(Value::as_str).map(str::to_ascii_lowercase))
            .collect();
        self.learn_tokens(&contracts).await?;

        let mut ordered: Vec<HistoryTransaction> = Vec::with_capacity(txs.len());
        for (hash, tx) in &txs {
            let receipt = receipts
                .get(hash)
                .filter(|r| !r.is_null())
                .ok_or_else(|| ChainError::Malformed(format!("no receipt for {hash}")))?;
            let block = parse_hex_u64(field(tx, "blockNumber")?, "transaction blockNumber")?;
            let position = parse_hex_u64(field(tx, "transactionIndex")?, "transactionIndex")?;
            let timestamp =
                *timestamps.get(&block).ok_or_else(|| ChainError::Malformed(format!("no block {block}")))?;
            let logs = logs_by_tx.get(hash).map(Vec::as_slice).unwrap_or(&[]);
            let internal = traces.get(hash).map(Vec::as_slice).unwrap_or(&[]);
            let records = TxRecords { tx, receipt, logs, internal, timestamp };
            if let Some(mut built) = self.build(&address, hash, &records)? {
                built.position = ChainPosition::new(block, position);
                ordered.push(built);
            }
        }
        ordered.sort_by_key(|tx| tx.position);
        let transactions: Vec<HistoryTransaction> = ordered;
        tracing::debug!(from, to, head, transactions = transactions.len(), "EVM history page read");
        Ok(HistoryPage { transactions, cursor: Some(make_cursor(to + 1)), has_more: to < safe_head })
    }
}

impl EvmRpcHistory {
    /// One transaction as seen from `address`; `None` when it moved nothing of the address's.
    fn build(
        &self,
        address: &str,
        hash: &str,
        records: &TxRecords<'_>,
    ) -> Result<Option<HistoryTransaction>, ChainError> {
        let TxRecords { tx, receipt, logs, internal, timestamp } = *records;
        let sender = str_field(tx, "from")?.to_ascii_lowercase();
        let recipient = tx
            .get("to")
            .and_then(Value::as_str)
            .or_else(|| receipt.get("contractAddress").and_then(Value::as_str))
            .map(str::to_ascii_lowercase);
        let failed = receipt.get("status").and_then(Value::as_str).is_some_and(|s| parse_hex_units(s) == Ok(0));
        let value = parse_hex_units(str_field(tx, "value")?).map_err(ChainError::Malformed)?;
        let mut legs = EvmLegs::new(self.chain, address);
        let mut transfers = Vec::new();
        if !failed {
            legs.native(value, &sender, recipient.as_deref())?;
            // Top-level calls repeat the transaction's own value: internal ones only.
            for call in internal.iter().filter(|c| !c.trace_address.is_empty()) {
                legs.native(call.value, &call.from, Some(&call.to))?;
            }
            for log in logs {
                let transfer = decode_transfer(log)?;
                transfers.push(json!({
                    "contract": transfer.contract, "from": transfer.from, "to": transfer.to,
                    "value": transfer.value_text, "logIndex": log.get("logIndex"),
                }));
                match transfer.token_id {
                    None => {
                        let asset = self.tokens.asset(&transfer.contract);
                        legs.token(asset, transfer.value, &transfer.from, &transfer.to);
                    }
                    Some(id) => legs.nft(&transfer.contract, &id, &transfer.from, &transfer.to),
                }
            }
        }
        let gas_used = parse_hex_units(str_field(receipt, "gasUsed")?).map_err(ChainError::Malformed)?;
        let price = receipt
            .get("effectiveGasPrice")
            .or_else(|| tx.get("gasPrice"))
            .and_then(Value::as_str)
            .ok_or_else(|| ChainError::Malformed(format!("no effectiveGasPrice or gasPrice for {hash}")))?;
        let price = parse_hex_units(price).map_err(ChainError::Malformed)?;
        let l1_fee = match receipt.get("l1Fee").and_then(Value::as_str) {
            Some(fee) => parse_hex_units(fee).map_err(ChainError::Malformed)?,
            None => 0,
        };
        let fee = gas_used
            .checked_mul(price)
            .and_then(|f| f.checked_add(l1_fee))
            .ok_or_else(|| ChainError::Malformed(format!("fee of {hash} overflows")))?;
        if sender == address {
            legs.fee(fee)?;
        }
        let input = tx.get("input").and_then(Value::as_str).unwrap_or("0x");
        let mut raw = json!({
            "source": "rpc",
            "hash": hash,
            "blockNumber": tx.get("blockNumber"),
            "from": sender,
            "to": recipient,
            "value": value.to_string(),
            "status": receipt.get("status"),
            "gasUsed": gas_used.to_string(),
            "effectiveGasPrice": price.to_string(),
            "methodId": input.get(..10).unwrap_or(input),
            "transfers": transfers,
        });
        if internal.iter().any(|c| !c.trace_address.is_empty()) {
            raw["internal"] = Value::Array(
                internal
                    .iter()
                    .filter(|c| !c.trace_address.is_empty())
                    .map(|c| json!({"traceAddress": c.trace_address, "from": c.from, "to": c.to, "value": c.value.to_string()}))
                    .collect(),
            );
        }
        let approve = sender == address && input.starts_with(APPROVE_SELECTOR);
        Ok(legs.finish(hash, timestamp, failed, approve, raw))
    }
}

/// Collects the legs of one EVM transaction seen from one address, in the contract's order.
pub(crate) struct EvmLegs<'a> {
    chain: Chain,
    address: &'a str,
    legs: Vec<HistoryLeg>,
    fee: Option<HistoryLeg>,
    spam: bool,
}

impl<'a> EvmLegs<'a> {
    pub(crate) fn new(chain: Chain, address: &'a str) -> Self {
        Self { chain, address, legs: Vec::new(), fee: None, spam: false }
    }

    fn push(&mut self, asset: &AssetInfo, quantity: rust_decimal::Decimal, from: &str, to: Option<&str>) {
        let from_us = from == self.address;
        let to_us = to == Some(self.address);
        for (mine, direction) in [(from_us, LegDirection::Outgoing), (to_us, LegDirection::Incoming)] {
            if mine {
                self.legs.push(HistoryLeg {
                    asset: asset.clone(),
                    quantity,
                    direction,
                    from: Some(from.to_owned()),
                    to: to.map(str::to_owned),
                });
            }
        }
    }

    /// The native value `wei` sent by `from` to `to` (lowercase addresses).
    pub(crate) fn native(&mut self, wei: u128, from: &str, to: Option<&str>) -> Result<(), ChainError> {
        if wei == 0 {
            return Ok(());
        }
        let quantity = units_to_decimal(wei, self.chain.native_decimals()).map_err(ChainError::Malformed)?;
        self.push(&self.chain.native_asset(), quantity, from, to);
        Ok(())
    }

    /// `units` of an ERC-20; an amount that is no exact decimal marks the transaction spam.
    pub(crate) fn token(&mut self, asset: AssetInfo, units: Option<u128>, from: &str, to: &str) {
        let quantity = units.and_then(|u| units_to_decimal(u, asset.decimals).ok());
        match quantity {
            Some(q) if q.is_zero() => {}
            Some(q) => self.push(&asset, q, from, Some(to)),
            None => {
                tracing::debug!(token = %asset.token_id, "token amount is no exact decimal; leg left out");
                self.spam = true;
            }
        }
    }

    /// One ERC-721 token `id` of `contract`.
    pub(crate) fn nft(&mut self, contract: &str, id: &str, from: &str, to: &str) {
        let mut asset = AssetInfo::token(self.chain, contract, &short_contract(contract), contract, 0);
        asset.token_id = format!("{}:{id}", asset.token_id);
        asset.asset_type = "nft".to_owned();
        self.push(&asset, rust_decimal::Decimal::ONE, from, Some(to));
    }

    /// The network fee `wei` the address paid.
    pub(crate) fn fee(&mut self, wei: u128) -> Result<(), ChainError> {
        if wei == 0 {
            return Ok(());
        }
        let quantity = units_to_decimal(wei, self.chain.native_decimals()).map_err(ChainError::Malformed)?;
        self.fee = Some(HistoryLeg {
            asset: self.chain.native_asset(),
            quantity,
            direction: LegDirection::Fee,
            from: Some(self.address.to_owned()),
            to: None,
        });
        Ok(())
    }

    /// The transaction, or `None` when it has no leg.
    pub(crate) fn finish(
        mut self,
        hash: &str,
        timestamp: i64,
        failed: bool,
        approve: bool,
        raw: Value,
    ) -> Option<HistoryTransaction> {
        let only_fee = self.legs.is_empty();
        self.legs.extend(self.fee);
        if self.legs.is_empty() {
            return None;
        }
        let timestamp = OffsetDateTime::from_unix_timestamp(timestamp).ok()?;
        let label = if self.spam && only_fee {
            Some("Spam")
        } else if approve && only_fee && !failed {
            Some("Approve")
        } else {
            None
        };
        Some(HistoryTransaction {
            id: hash.to_ascii_lowercase(),
            timestamp,
            // Set by the caller, which knows the block and the transaction index.
            position: ChainPosition::default(),
            legs: self.legs,
            failed,
            label: label.map(str::to_owned),
            raw,
        })
    }
}

/// ERC-20 metadata: the configured list, then what contracts answered.
#[derive(Debug)]
pub(crate) struct TokenBook {
    chain: Chain,
    known: std::sync::Mutex<HashMap<String, AssetInfo>>,
}

impl TokenBook {
    pub(crate) fn new(chain: Chain, tokens: Vec<Erc20Token>) -> Result<Self, ChainError> {
        let mut known = HashMap::new();
        for token in tokens {
            let contract = ChainFamily::Evm
                .validate(&token.contract)
                .map_err(|e| ChainError::Config(format!("token {}: {e}", token.symbol)))?;
            if token.decimals > 28 {
                return Err(ChainError::Config(format!("token {} has more than 28 decimals", token.symbol)));
            }
            known.insert(
                contract.clone(),
                AssetInfo::token(chain, &contract, &token.symbol, &token.name, token.decimals),
            );
        }
        Ok(Self { chain, known: std::sync::Mutex::new(known) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AssetInfo>> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn knows(&self, contract: &str) -> bool {
        self.lock().contains_key(contract)
    }

    /// Records a contract's metadata unless the configured list names it.
    pub(crate) fn learn(&self, contract: &str, symbol: &str, name: &str, decimals: u8) {
        let asset = AssetInfo::token(self.chain, contract, symbol, name, decimals);
        self.lock().entry(contract.to_owned()).or_insert(asset);
    }

    /// The asset of a (lowercase) contract; an unknown one with 0 decimals.
    pub(crate) fn asset(&self, contract: &str) -> AssetInfo {
        self.lock()
            .get(contract)
            .cloned()
            .unwrap_or_else(|| AssetInfo::token(self.chain, contract, &short_contract(contract), contract, 0))
    }
}

/// What the node said about one transaction.
#[derive(Clone, Copy)]
struct TxRecords<'a> {
    tx: &'a Value,
    receipt: &'a Value,
    /// Its `Transfer` logs touching the address, in log-index order.
    logs: &'a [Value],
    /// Its value-moving calls from traces.
    internal: &'a [Internal],
    /// Block time, unix seconds.
    timestamp: i64,
}

/// A value-moving call from a trace.
#[derive(Debug, Clone)]
struct Internal {
    /// Position in the call tree (`[]`: the transaction itself).
    trace_address: Vec<u64>,
    from: String,
    to: String,
    value: u128,
}

/// A `trace_filter` entry as a value-moving call; `None` for a failed call, a call moving
/// no value, a `delegatecall`/`staticcall`/`callcode` (their value is the caller's own), or
/// a reward.
fn decode_trace(trace: &Value) -> Result<Option<Internal>, ChainError> {
    if trace.get("error").is_some_and(|e| !e.is_null()) {
        return Ok(None);
    }
    let action = trace.get("action").ok_or_else(|| ChainError::Malformed("trace without action".to_owned()))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_ascii_lowercase);
    let (from, to, value) = match trace.get("type").and_then(Value::as_str) {
        Some("call") => {
            if action.get("callType").and_then(Value::as_str).is_some_and(|t| t != "call") {
                return Ok(None);
            }
            (text(action.get("from")), text(action.get("to")), action.get("value"))
        }
        Some("create") => (text(action.get("from")), text(trace.pointer("/result/address")), action.get("value")),
        Some("suicide" | "selfdestruct") => {
            (text(action.get("address")), text(action.get("refundAddress")), action.get("balance"))
        }
        _ => return Ok(None),
    };
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ChainError::Malformed("trace without from/to".to_owned()));
    };
    let value = parse_hex_units(value.and_then(Value::as_str).unwrap_or("0x0")).map_err(ChainError::Malformed)?;
    if value == 0 {
        return Ok(None);
    }
    let trace_address = trace
        .get("traceAddress")
        .and_then(Value::as_array)
        .ok_or_else(|| ChainError::Malformed("trace without traceAddress".to_owned()))?
        .iter()
        .map(|i| i.as_u64().ok_or_else(|| ChainError::Malformed("traceAddress is not numbers".to_owned())))
        .collect::<Result<Vec<u64>, _>>()?;
    Ok(Some(Internal { trace_address, from, to, value }))
}

/// One decoded `Transfer` log.
struct Transfer {
    contract: String,
    from: String,
    to: String,
    /// ERC-20 amount (`None`: above 96 bits).
    value: Option<u128>,
    value_text: String,
    /// ERC-721 token id (decimal), when topic 3 is present.
    token_id: Option<String>,
}

fn topics(log: &Value) -> &[Value] {
    log.get("topics").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn decode_transfer(log: &Value) -> Result<Transfer, ChainError> {
    let contract = str_field(log, "address")?.to_ascii_lowercase();
    let topics = topics(log);
    let topic = |i: usize| -> Result<String, ChainError> {
        let t = topics
            .get(i)
            .and_then(Value::as_str)
            .ok_or_else(|| ChainError::Malformed(format!("Transfer log without topic {i}")))?;
        topic_address(t).ok_or_else(|| ChainError::Malformed(format!("Transfer topic {i} is not an address")))
    };
    let (from, to) = (topic(1)?, topic(2)?);
    let data = log.get("data").and_then(Value::as_str).unwrap_or("0x");
    match topics.get(3).and_then(Value::as_str) {
        Some(id) => Ok(Transfer {
            contract,
            from,
            to,
            value: None,
            value_text: String::new(),
            token_id: Some(hex_to_decimal_string(id)),
        }),
        None => {
            let word = data.strip_prefix("0x").and_then(|d| d.get(..64)).unwrap_or("");
            let value = if word.is_empty() { None } else { parse_hex_units(&format!("0x{word}")).ok() };
            let value_text =
                if word.is_empty() { "0x".to_owned() } else { format!("0x{}", word.trim_start_matches('0')) };
            Ok(Transfer { contract, from, to, value, value_text, token_id: None })
        }
    }
}

/// The decimal text of a 256-bit hex number (token ids can use all of it).
fn hex_to_decimal_string(hex: &str) -> String {
    let digits = hex.trim_start_matches("0x");
    let mut decimal: Vec<u8> = vec![0];
    for c in digits.chars() {
        let mut carry = c.to_digit(16).unwrap_or(0);
        for d in decimal.iter_mut() {
            let v = u32::from(*d) * 16 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            decimal.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    let text: String = decimal.iter().rev().map(|d| char::from(b'0' + d)).collect();
    let trimmed = text.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A 32-byte topic holding an address, as the lowercase address.
fn topic_address(topic: &str) -> Option<String> {
    let hex = topic.strip_prefix("0x")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || !hex[..24].bytes().all(|b| b == b'0') {
        return None;
    }
    Some(format!("0x{}", hex[24..].to_ascii_lowercase()))
}

/// The address as a 32-byte topic.
fn address_topic(address: &str) -> String {
    format!("0x{:0>64}", address.trim_start_matches("0x"))
}

/// "Too many results" / "range too large" refusals of `eth_getLogs`, across node vendors.
fn too_many_results(code: i64, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code == -32005
        || [
            "too many",
            "more than",
            "response size",
            "limit exceeded",
            "exceed",
            "range is too large",
            "block range",
            "query timeout",
        ]
        .iter()
        .any(|needle| message.contains(needle))
}

pub(crate) fn parse_cursor(cursor: Option<&str>) -> Result<Option<u64>, ChainError> {
    cursor
        .map(|c| {
            c.strip_prefix(CURSOR_PREFIX)
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| ChainError::Malformed(format!("cursor {c:?} was not produced by an EVM history source")))
        })
        .transpose()
}

pub(crate) fn make_cursor(next_block: u64) -> String {
    format!("{CURSOR_PREFIX}{next_block}")
}

fn hex(n: u64) -> String {
    format!("0x{n:x}")
}

fn field<'v>(value: &'v Value, key: &str) -> Result<&'v Value, ChainError> {
    value.get(key).ok_or_else(|| ChainError::Malformed(format!("reply object without {key}")))
}

fn str_field<'v>(value: &'v Value, key: &str) -> Result<&'v str, ChainError> {
    field(value, key)?.as_str().ok_or_else(|| {
        ChainError::Malformed(format!("{key} is {}, not a string", kind(value.get(key).unwrap_or(&Value::Null))))
    })
}

fn parse_hex_u64(value: &Value, what: &str) -> Result<u64, ChainError> {
    let text = value.as_str().ok_or_else(|| ChainError::Malformed(format!("{what} is {}, not hex", kind(value))))?;
    parse_hex_units(text)
        .map_err(ChainError::Malformed)
        .and_then(|n| u64::try_from(n).map_err(|_| ChainError::Malformed(format!("{what} {text} is too large"))))
}

fn block_timestamp(block: &Value) -> Result<i64, ChainError> {
    if block.is_null() {
        return Err(ChainError::Malformed("the node returned null for a block below its head".to_owned()));
    }
    let seconds = parse_hex_u64(field(block, "timestamp")?, "block timestamp")?;
    i64::try_from(seconds).map_err(|_| ChainError::Malformed("block timestamp out of range".to_owned()))
}

/// The first 32-byte word of ABI return data.
fn abi_word(data: &str) -> Result<u128, String> {
    let hex = data.strip_prefix("0x").ok_or("not 0x-prefixed")?;
    let word = hex.get(..64).ok_or("shorter than one word")?;
    parse_hex_units(&format!("0x{word}"))
}

/// An ABI `string` (or a legacy `bytes32`) return value, printable and at most 64 chars.
fn abi_string(data: &str) -> Option<String> {
    let bytes = hex_bytes(data.strip_prefix("0x")?)?;
    let raw: Vec<u8> = if bytes.len() == 32 {
        bytes.into_iter().take_while(|b| *b != 0).collect()
    } else {
        let offset = usize::try_from(word_at(&bytes, 0)?).ok()?;
        let len = usize::try_from(word_at(&bytes, offset)?).ok()?;
        bytes.get(offset + 32..offset + 32 + len)?.to_vec()
    };
    let text: String = String::from_utf8_lossy(&raw).chars().filter(|c| !c.is_control()).take(64).collect();
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn word_at(bytes: &[u8], offset: usize) -> Option<u128> {
    let word = bytes.get(offset..offset.checked_add(32)?)?;
    if word[..16].iter().any(|b| *b != 0) {
        return None;
    }
    Some(word[16..].iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// `0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48` → `0xa0b8…eb48`.
pub(crate) fn short_contract(contract: &str) -> String {
    match (contract.get(..6), contract.get(contract.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if contract.len() > 12 => format!("{head}…{tail}"),
        _ => contract.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_abi_values_decode() {
        let topic = "0x00000000000000000000000047C2E31E9CE22437BCF6313D2B9E98245A7BFCFA";
        assert_eq!(topic_address(topic).as_deref(), Some("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"));
        assert_eq!(topic_address("0x01000000000000000000000047c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"), None);
        assert_eq!(address_topic("0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"), topic.to_ascii_lowercase());
        let usdc = "0x0000000000000000000000000000000000000000000000000000000000000020\
                    0000000000000000000000000000000000000000000000000000000000000004\
                    5553444300000000000000000000000000000000000000000000000000000000";
        assert_eq!(abi_string(usdc).as_deref(), Some("USDC"));
        let mkr = "0x4d4b520000000000000000000000000000000000000000000000000000000000";
        assert_eq!(abi_string(mkr).as_deref(), Some("MKR"), "legacy bytes32 symbol");
        assert_eq!(abi_string("0x"), None);
        assert_eq!(abi_word(&format!("0x{:0>64}", "6")), Ok(6));
        assert_eq!(hex_to_decimal_string("0x0"), "0");
        assert_eq!(hex_to_decimal_string("0xff"), "255");
        assert_eq!(
            hex_to_decimal_string("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(parse_cursor(None), Ok(None));
        assert_eq!(parse_cursor(Some(&make_cursor(42))), Ok(Some(42)));
        for bad in ["42", "block:", "block:x", "sig:abc"] {
            assert!(matches!(parse_cursor(Some(bad)), Err(ChainError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn log_limit_errors_are_recognised() {
        assert!(too_many_results(-32005, "query returned more than 10000 results"));
        assert!(too_many_results(
            -32602,
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"
        ));
        assert!(too_many_results(-32000, "block range is too large"));
        assert!(!too_many_results(-32000, "header not found"));
        assert!(!too_many_results(-32601, "Method not found"));
    }
}
