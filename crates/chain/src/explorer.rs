//! EVM transaction history from an Etherscan-compatible explorer API (Etherscan,
//! Blockscout, Routescan, …): `module=account&action=txlist` and `action=tokentx`.

use crate::evm_history::{make_cursor, parse_cursor, short_contract, EvmLegs};
use crate::http::{build_client, excerpt, fetch_with_retry_after, parse_url, redact_url, FetchError};
use crate::AssetInfo;
use crate::Chain;
use crate::ChainError;
use crate::{HistoryPage, HistoryTransaction, TransactionSource};
use kc_domain::ChainFamily;
use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Etherscan's result window: `page × offset` may not exceed it.
const RESULT_WINDOW: u64 = 10_000;

/// `endblock` of every request: above any EVM chain's height for years to come.
const END_BLOCK: &str = "999999999";

/// How [`ExplorerHistory`] pages and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplorerOptions {
    /// Records per request (`offset`), 1 to 10 000.
    pub page_size: u64,
    /// Retries after a rate-limit answer (HTTP 429, or `"Max rate limit reached"` /
    /// `"Max calls per sec rate limit reached"` in the body) before giving up with
    /// [`ChainError::Transport`].
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each further one. An HTTP
    /// `Retry-After` (in seconds) wins when longer.
    pub backoff: Duration,
}

impl Default for ExplorerOptions {
    /// 1 000 records per request, 3 retries, 1 s first backoff (free Etherscan keys allow
    /// 5 calls per second).
    fn default() -> Self {
        Self { page_size: 1_000, max_retries: 3, backoff: Duration::from_secs(1) }
    }
}

/// Reads the history of an address from an Etherscan-compatible explorer.
///
/// One call asks `txlist` (normal transactions: native value, status, fee),
/// `txlistinternal` (native value moved by contracts, e.g. the ETH of a token → ETH swap),
/// `tokentx` (ERC-20 transfers, with `tokenDecimal`, `tokenSymbol`, `tokenName`) and
/// `tokennfttx` (ERC-721 transfers: a leg of quantity 1 of an asset of type `nft`, token id
/// `<chain>:<contract>:<tokenID>`, as the JSON-RPC source reports them) from the cursor's
/// block, `sort=asc`, `page`/`offset` paging. A list shorter than a page is complete. A full
/// page may stop inside a block, so the page ends before the last block of the first list
/// that was cut short, and the next call starts at that block (`has_more`). Records are
/// merged per transaction hash; legs are built as by
/// [`EvmRpcHistory`](crate::EvmRpcHistory): native value, internal native transfers (in the
/// explorer's order; failed ones left out), token transfers (by `logIndex`
/// when the explorer gives it, else in its order), then the fee `gasUsed × gasPrice` when
/// the address sent the transaction (`txlist` lists every transaction it sent). A
/// transaction with `isError = "1"` carries its fee only.
///
/// Answers: `{"status":"1","message":"OK","result":[…]}`; `{"status":"0","message":"No
/// transactions found","result":[]}` is an empty list; a rate-limit `result` string (or HTTP
/// 429) is retried with backoff; any other `status: "0"` (`"Invalid API Key"`, `"Result
/// window is too large…"`) is [`ChainError::Rpc`] with code 0 and the explorer's message.
///
/// The API key, when set, is sent as the `apikey` query parameter and never logged; the
/// base URL may carry parameters of its own (Etherscan V2:
/// `https://api.etherscan.io/v2/api?chainid=1`). The cursor is `block:<next block>`, the
/// same as the JSON-RPC source's.
pub struct ExplorerHistory {
    chain: Chain,
    client: reqwest::Client,
    url: Url,
    shown: String,
    api_key: Option<SecretString>,
    timeout: Duration,
    options: ExplorerOptions,
}

impl fmt::Debug for ExplorerHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExplorerHistory")
            .field("chain", &self.chain)
            .field("url", &self.shown)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One list's records from the cursor on.
struct Listing {
    records: Vec<Value>,
    /// When the list was cut short: the block whose records may be incomplete.
    cut_at: Option<u64>,
}

impl ExplorerHistory {
    /// A source for `chain` (an EVM chain) asking the explorer API at `url`; every request
    /// ends within `timeout`.
    ///
    /// Returns [`ChainError::Config`] when `chain` is not an EVM chain, `url` is not an
    /// http(s) URL, or the page size is not within 1..=10 000.
    pub fn new(
        chain: Chain,
        url: &str,
        api_key: Option<SecretString>,
        options: ExplorerOptions,
        timeout: Duration,
    ) -> Result<Self, ChainError> {
        if chain.family() != ChainFamily::Evm {
            return Err(ChainError::Config(format!("{chain} is not an EVM chain")));
        }
        if !(1..=RESULT_WINDOW).contains(&options.page_size) {
            return Err(ChainError::Config("explorer page size must be within 1..=10000".to_owned()));
        }
        let url = parse_url(url).map_err(ChainError::Config)?;
        Ok(Self {
            chain,
            client: build_client(timeout).map_err(ChainError::Config)?,
            shown: redact_url(&url),
            url,
            api_key: api_key.filter(|k| !k.expose_secret().is_empty()),
            timeout,
            options,
        })
    }

    /// One request, retried on rate limits; the `result` array.
    async fn request(&self, action: &str, address: &str, start: u64, page: u64) -> Result<Vec<Value>, ChainError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("module", "account")
            .append_pair("action", action)
            .append_pair("address", address)
            .append_pair("startblock", &start.to_string())
            .append_pair("endblock", END_BLOCK)
            .append_pair("page", &page.to_string())
            .append_pair("offset", &self.options.page_size.to_string())
            .append_pair("sort", "asc");
        if let Some(key) = &self.api_key {
            url.query_pairs_mut().append_pair("apikey", key.expose_secret());
        }
        let mut attempt = 0;
        loop {
            let request = self.client.get(url.clone()).header(ACCEPT, "application/json");
            let (status, retry_after, body) =
                fetch_with_retry_after(request, self.timeout).await.map_err(|e| match e {
                    FetchError::Transport(msg) => ChainError::Transport(msg),
                    FetchError::TooLarge => ChainError::Malformed("explorer reply too large".to_owned()),
                })?;
            let outcome = if status == StatusCode::TOO_MANY_REQUESTS {
                Outcome::RateLimited
            } else if !status.is_success() {
                return Err(ChainError::Transport(format!("explorer answered HTTP {status}")));
            } else {
                parse_reply(&body)?
            };
            match outcome {
                Outcome::Records(records) => return Ok(records),
                Outcome::RateLimited if attempt < self.options.max_retries => {
                    let backoff = self.options.backoff.saturating_mul(2u32.saturating_pow(attempt));
                    let wait = retry_after.map_or(backoff, |r| r.max(backoff)).min(Duration::from_secs(60));
                    tracing::debug!(action, attempt, ?wait, "explorer rate limit; backing off");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Outcome::RateLimited => {
                    return Err(ChainError::Transport(format!(
                        "explorer rate limit still reached after {} retries",
                        self.options.max_retries
                    )))
                }
            }
        }
    }

    /// The records of `action` from block `start`, paging until the list is complete or
    /// spans more than one block.
    async fn listing(&self, action: &str, address: &str, start: u64) -> Result<Listing, ChainError> {
        let mut records: Vec<Value> = Vec::new();
        let mut page = 1;
        loop {
            let found = self.request(action, address, start, page).await?;
            let full = found.len() as u64 >= self.options.page_size;
            records.extend(found);
            if !full {
                return Ok(Listing { records, cut_at: None });
            }
            let first = block_of(records.first())?;
            let last = block_of(records.last())?;
            if last > first {
                return Ok(Listing { records, cut_at: Some(last) });
            }
            // A whole page inside one block: read on, within the result window.
            page += 1;
            if page * self.options.page_size > RESULT_WINDOW {
                return Err(ChainError::Malformed(format!(
                    "more than {RESULT_WINDOW} {action} records in block {last}: beyond the explorer's result window"
                )));
            }
        }
    }
}

/// The explorer's records of one transaction.
#[derive(Default)]
struct Records {
    block: u64,
    position: u64,
    normal: Option<Value>,
    internal: Vec<Value>,
    transfers: Vec<Value>,
    nfts: Vec<Value>,
}

enum Kind {
    Normal,
    Internal,
    Token,
    Nft,
}

enum Outcome {
    Records(Vec<Value>),
    RateLimited,
}

/// Reads `{"status", "message", "result"}`.
fn parse_reply(body: &[u8]) -> Result<Outcome, ChainError> {
    let reply: Value = serde_json::from_slice(body)
        .map_err(|e| ChainError::Malformed(format!("explorer reply is not JSON ({e}): {}", excerpt(body))))?;
    let status = reply.get("status").and_then(Value::as_str).unwrap_or("");
    let message = reply.get("message").and_then(Value::as_str).unwrap_or("");
    match (status, reply.get("result")) {
        ("1", Some(Value::Array(records))) => Ok(Outcome::Records(records.clone())),
        ("0", Some(Value::Array(records))) if records.is_empty() => Ok(Outcome::Records(Vec::new())),
        ("0", Some(Value::String(text))) if text.to_ascii_lowercase().contains("rate limit") => {
            Ok(Outcome::RateLimited)
        }
        ("0", Some(Value::String(text))) => Err(ChainError::Rpc { code: 0, message: format!("{message}: {text}") }),
        _ => Err(ChainError::Malformed(format!("explorer reply without status and result list: {}", excerpt(body)))),
    }
}

fn block_of(record: Option<&Value>) -> Result<u64, ChainError> {
    let text = record.and_then(|r| r.get("blockNumber")).and_then(Value::as_str).unwrap_or("");
    text.parse().map_err(|_| ChainError::Malformed(format!("explorer record with blockNumber {text:?}")))
}

fn text<'v>(record: &'v Value, key: &str) -> Result<&'v str, ChainError> {
    record
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ChainError::Malformed(format!("explorer record without {key}")))
}

/// A decimal integer string (`value`, `gasUsed`, …) of at most 96 bits; `None` above.
fn integer(record: &Value, key: &str) -> Result<Option<u128>, ChainError> {
    let digits = text(record, key)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ChainError::Malformed(format!("explorer {key} {digits:?} is not an integer")));
    }
    Ok(digits.parse::<u128>().ok().filter(|n| *n < 1 << 96))
}

fn required(record: &Value, key: &str) -> Result<u128, ChainError> {
    integer(record, key)?.ok_or_else(|| ChainError::Malformed(format!("explorer {key} overflows a decimal")))
}

#[async_trait::async_trait]
impl TransactionSource for ExplorerHistory {
    fn chain(&self) -> Chain {
        self.chain
    }

    #[tracing::instrument(name = "explorer_history", skip_all, fields(chain = %self.chain, explorer = %self.shown))]
    async fn transactions(&self, address: &str, cursor: Option<&str>) -> Result<HistoryPage, ChainError> {
        let address = ChainFamily::Evm.validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let start = parse_cursor(cursor)?.unwrap_or(0);
        let normal = self.listing("txlist", &address, start).await?;
        let internal = self.listing("txlistinternal", &address, start).await?;
        let tokens = self.listing("tokentx", &address, start).await?;
        let nfts = self.listing("tokennfttx", &address, start).await?;
        let cut = [normal.cut_at, internal.cut_at, tokens.cut_at, nfts.cut_at].into_iter().flatten().min();

        let mut merged: BTreeMap<String, Records> = BTreeMap::new();
        let mut last_block = None;
        let tagged = normal
            .records
            .into_iter()
            .map(|r| (r, Kind::Normal))
            .chain(internal.records.into_iter().map(|r| (r, Kind::Internal)))
            .chain(tokens.records.into_iter().map(|r| (r, Kind::Token)))
            .chain(nfts.records.into_iter().map(|r| (r, Kind::Nft)));
        for (record, kind) in tagged {
            let block = block_of(Some(&record))?;
            if cut.is_some_and(|c| block >= c) {
                continue;
            }
            last_block = last_block.max(Some(block));
            let hash = text(&record, "hash")?.to_ascii_lowercase();
            let entry = merged.entry(hash).or_insert_with(|| Records { block, ..Records::default() });
            if let Some(position) = text(&record, "transactionIndex").ok().and_then(|t| t.parse().ok()) {
                entry.position = position;
            }
            match kind {
                Kind::Normal => entry.normal = Some(record),
                Kind::Internal => entry.internal.push(record),
                Kind::Token => entry.transfers.push(record),
                Kind::Nft => entry.nfts.push(record),
            }
        }

        let mut ordered = Vec::with_capacity(merged.len());
        for (hash, mut records) in merged {
            records.transfers.sort_by_key(|t| text(t, "logIndex").ok().and_then(|i| i.parse::<u64>().ok()));
            records.nfts.sort_by_key(|t| text(t, "logIndex").ok().and_then(|i| i.parse::<u64>().ok()));
            if let Some(mut tx) = self.build(&address, &hash, &records)? {
                tx.position = crate::ChainPosition::new(records.block, records.position);
                ordered.push(tx);
            }
        }
        ordered.sort_by_key(|tx| tx.position);
        let transactions: Vec<HistoryTransaction> = ordered;
        let (next, has_more) = match (cut, last_block) {
            (Some(cut), _) => (Some(make_cursor(cut)), true),
            (None, Some(last)) => (Some(make_cursor(last + 1)), false),
            (None, None) => (cursor.map(str::to_owned), false),
        };
        tracing::debug!(start, transactions = transactions.len(), has_more, "explorer history page read");
        Ok(HistoryPage { transactions, cursor: next, has_more })
    }
}

impl ExplorerHistory {
    fn build(&self, address: &str, hash: &str, records: &Records) -> Result<Option<HistoryTransaction>, ChainError> {
        let (normal, transfers) = (records.normal.as_ref(), records.transfers.as_slice());
        let mut legs = EvmLegs::new(self.chain, address);
        let first = normal
            .or(records.internal.first())
            .or(transfers.first())
            .or(records.nfts.first())
            .ok_or_else(|| ChainError::Malformed(format!("no record for {hash}")))?;
        let timestamp: i64 = text(first, "timeStamp")?
            .parse()
            .map_err(|_| ChainError::Malformed(format!("explorer timeStamp of {hash} is not a number")))?;
        let failed = normal.is_some_and(|n| {
            n.get("isError").and_then(Value::as_str) == Some("1")
                || n.get("txreceipt_status").and_then(Value::as_str) == Some("0")
        });
        let mut raw = json!({"source": "explorer", "hash": hash});
        let mut approve = false;
        if let Some(n) = normal {
            let from = text(n, "from")?.to_ascii_lowercase();
            let to = n
                .get("to")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .or_else(|| n.get("contractAddress").and_then(Value::as_str).filter(|c| !c.is_empty()))
                .map(str::to_ascii_lowercase);
            if !failed {
                legs.native(required(n, "value")?, &from, to.as_deref())?;
            }
            if from == address {
                let fee = required(n, "gasUsed")?
                    .checked_mul(required(n, "gasPrice")?)
                    .ok_or_else(|| ChainError::Malformed(format!("fee of {hash} overflows")))?;
                legs.fee(fee)?;
            }
            approve =
                from == address && n.get("input").and_then(Value::as_str).is_some_and(|i| i.starts_with("0x095ea7b3"));
            raw["tx"] = pick(
                n,
                &[
                    "blockNumber",
                    "timeStamp",
                    "from",
                    "to",
                    "value",
                    "gasUsed",
                    "gasPrice",
                    "isError",
                    "txreceipt_status",
                    "methodId",
                    "functionName",
                ],
            );
        }
        if !failed {
            for i in records.internal.iter().filter(|i| i.get("isError").and_then(Value::as_str) != Some("1")) {
                let to = text(i, "to").ok().filter(|t| !t.is_empty()).or_else(|| text(i, "contractAddress").ok());
                legs.native(
                    required(i, "value")?,
                    &text(i, "from")?.to_ascii_lowercase(),
                    to.map(str::to_ascii_lowercase).as_deref(),
                )?;
            }
            for t in transfers {
                let contract = text(t, "contractAddress")?.to_ascii_lowercase();
                let decimals = text(t, "tokenDecimal").ok().and_then(|d| d.parse::<u8>().ok()).unwrap_or(0);
                let symbol = text(t, "tokenSymbol")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| short_contract(&contract), |s| s.chars().take(64).collect());
                let name = text(t, "tokenName")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| symbol.clone(), |s| s.chars().take(64).collect());
                let asset = AssetInfo::token(self.chain, &contract, &symbol, &name, decimals.min(28));
                let units = if decimals > 28 { None } else { integer(t, "value")? };
                legs.token(asset, units, &text(t, "from")?.to_ascii_lowercase(), &text(t, "to")?.to_ascii_lowercase());
            }
            for n in &records.nfts {
                let id = text(n, "tokenID")?;
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ChainError::Malformed(format!("explorer tokenID {id:?} is not an integer")));
                }
                legs.nft(
                    &text(n, "contractAddress")?.to_ascii_lowercase(),
                    id,
                    &text(n, "from")?.to_ascii_lowercase(),
                    &text(n, "to")?.to_ascii_lowercase(),
                );
            }
        }
        if !records.nfts.is_empty() {
            raw["nfts"] = Value::Array(
                records
                    .nfts
                    .iter()
                    .map(|n| pick(n, &["contractAddress", "from", "to", "tokenID", "tokenSymbol"]))
                    .collect(),
            );
        }
        if !records.internal.is_empty() {
            raw["internal"] = Value::Array(
                records
                    .internal
                    .iter()
                    .map(|i| pick(i, &["from", "to", "value", "type", "traceId", "isError"]))
                    .collect(),
            );
        }
        raw["transfers"] = Value::Array(
            transfers
                .iter()
                .map(|t| {
                    pick(t, &["contractAddress", "from", "to", "value", "tokenSymbol", "tokenDecimal", "logIndex"])
                })
                .collect(),
        );
        // A token-only record from someone else's transaction says nothing of failure.
        Ok(legs.finish(hash, timestamp, failed, approve, raw))
    }
}

/// The listed keys of an explorer record (keeps `rawTrx` small).
fn pick(record: &Value, keys: &[&str]) -> Value {
    Value::Object(keys.iter().filter_map(|k| record.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_classified() {
        let ok = br#"{"status":"1","message":"OK","result":[{"blockNumber":"1"}]}"#;
        assert!(matches!(parse_reply(ok), Ok(Outcome::Records(r)) if r.len() == 1));
        let none = br#"{"status":"0","message":"No transactions found","result":[]}"#;
        assert!(matches!(parse_reply(none), Ok(Outcome::Records(r)) if r.is_empty()));
        let limited = br#"{"status":"0","message":"NOTOK","result":"Max calls per sec rate limit reached (5/sec)"}"#;
        assert!(matches!(parse_reply(limited), Ok(Outcome::RateLimited)));
        let key = br#"{"status":"0","message":"NOTOK","result":"Invalid API Key"}"#;
        assert_eq!(
            parse_reply(key).err(),
            Some(ChainError::Rpc { code: 0, message: "NOTOK: Invalid API Key".to_owned() })
        );
        for bad in [&b"<html>"[..], b"{}", b"{\"status\":\"1\",\"result\":\"x\"}"] {
            assert!(matches!(parse_reply(bad), Err(ChainError::Malformed(_))));
        }
    }

    #[test]
    fn integers_are_exact_or_refused() {
        let record =
            json!({"v": "1500000000000000000", "big": "79228162514264337593543950336", "bad": "1.5", "neg": "-1"});
        assert_eq!(integer(&record, "v"), Ok(Some(1_500_000_000_000_000_000)));
        assert_eq!(integer(&record, "big"), Ok(None), "2^96 is beyond an exact decimal");
        assert!(integer(&record, "bad").is_err());
        assert!(integer(&record, "neg").is_err());
        assert!(integer(&record, "missing").is_err());
    }
}
