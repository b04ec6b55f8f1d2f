//! Solana transaction history over JSON-RPC: `getSignaturesForAddress`, then
//! `getTransaction` (`jsonParsed`, versioned transactions) for each signature; legs from
//! pre/post balances and pre/post token balances.

use crate::http::{kind, units_to_decimal, RpcClient};
use crate::solana::{shorten, SplToken};
use crate::AssetInfo;
use crate::Chain;
use crate::ChainError;
use crate::{HistoryLeg, HistoryPage, HistoryTransaction, LegDirection, TransactionSource};
use kc_domain::ChainFamily;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use time::OffsetDateTime;

/// The cursor prefix once caught up: `sig:<signature>` = the newest transaction returned.
const CURSOR_PREFIX: &str = "sig:";

/// The cursor prefix while backfilling: `back:<newest at start>:<oldest returned>`.
const BACK_PREFIX: &str = "back:";

/// `getTransaction` calls per JSON-RPC batch.
const BATCH: usize = 20;

/// How [`SolanaHistory`] pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolanaHistoryOptions {
    /// Transactions fetched and returned per call (at least 1).
    pub page_size: usize,
    /// `limit` of each `getSignaturesForAddress` request once caught up, 1 to 1 000 (the
    /// backfill lists `page_size` at a time, at most 1 000).
    pub signatures_per_request: usize,
}

impl Default for SolanaHistoryOptions {
    /// 100 transactions per page, 1 000 signatures per request.
    fn default() -> Self {
        Self { page_size: 100, signatures_per_request: 1_000 }
    }
}

/// Reads the history of a Solana address over JSON-RPC, at `finalized` commitment.
///
/// `getSignaturesForAddress` answers newest first. The first sync (no cursor) backfills
/// from the newest transaction backwards: each call lists one page of
/// [`SolanaHistoryOptions::page_size`] signatures `before` the previous page (cursor
/// `back:<newest at start>:<oldest returned>`), so a history of N transactions costs N /
/// page size listings; each page is returned oldest first, the pages themselves go back in
/// time. Once the oldest is reached the cursor becomes `sig:<newest at start>`, and later
/// calls list what is newer (`until`, paging back with `before` by
/// [`SolanaHistoryOptions::signatures_per_request`]) and return the oldest `page_size` of it
/// (`has_more` when newer ones remain; cursor `sig:<newest returned>`). Transactions are
/// fetched with `getTransaction(signature, {encoding: "jsonParsed",
/// maxSupportedTransactionVersion: 0})` in JSON-RPC batches.
///
/// Legs, seen from the address: SOL from `meta.preBalances`/`postBalances` at the address's
/// account index, plus `meta.fee` when the address paid it (account 0, the fee payer), so
/// that the SOL leg excludes the fee; one leg per mint from `preTokenBalances` /
/// `postTokenBalances` whose `owner` is the address, from the integer
/// `uiTokenAmount.amount` and `decimals`; then the fee. The counterparty is named when it is
/// unambiguous (one system `transfer` with the address on one side; one other owner moving
/// the mint the other way). A failed transaction (`meta.err` set) carries only its fee, if
/// the address paid it. A transaction the node no longer returns (`null`) is skipped.
#[derive(Debug, Clone)]
pub struct SolanaHistory {
    rpc: RpcClient,
    tokens: Vec<SplToken>,
    options: SolanaHistoryOptions,
}

impl SolanaHistory {
    /// A source reading the node at `url`, naming the mints in `tokens`; every request
    /// ends within `timeout`.
    ///
    /// Returns [`ChainError::Config`] when `url` is not an http(s) URL, a mint is invalid,
    /// or an option is out of range.
    pub fn new(
        url: &str,
        tokens: Vec<SplToken>,
        options: SolanaHistoryOptions,
        timeout: Duration,
    ) -> Result<Self, ChainError> {
        for token in &tokens {
            ChainFamily::Solana
                .validate(&token.mint)
                .map_err(|e| ChainError::Config(format!("mint of {}: {e}", token.symbol)))?;
        }
        if options.page_size == 0 || !(1..=1_000).contains(&options.signatures_per_request) {
            return Err(ChainError::Config(
                "page_size must be at least 1 and signatures_per_request within 1..=1000".to_owned(),
            ));
        }
        Ok(Self { rpc: RpcClient::new(url, timeout)?, tokens, options })
    }

    fn asset(&self, mint: &str, decimals: u8) -> AssetInfo {
        match self.tokens.iter().find(|t| t.mint == mint) {
            Some(token) => AssetInfo::token(Chain::Solana, mint, &token.symbol, &token.name, decimals),
            None => AssetInfo::token(Chain::Solana, mint, &shorten(mint), mint, decimals),
        }
    }

    /// One `getSignaturesForAddress` page, newest first.
    async fn signature_page(
        &self,
        address: &str,
        before: Option<String>,
        until: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, ChainError> {
        let mut config = json!({"limit": limit, "commitment": "finalized"});
        if let Some(until) = until {
            config["until"] = json!(until);
        }
        if let Some(before) = before {
            config["before"] = json!(before);
        }
        let page = self.rpc.call("getSignaturesForAddress", json!([address, config])).await?;
        let Value::Array(page) = page else {
            return Err(ChainError::Malformed(format!("getSignaturesForAddress returned {}", kind(&page))));
        };
        if page.iter().any(|entry| !entry.get("signature").is_some_and(Value::is_string)) {
            return Err(ChainError::Malformed("a signature entry without signature".to_owned()));
        }
        Ok(page)
    }

    /// Every signature newer than `until`, newest first.
    async fn signatures(&self, address: &str, until: Option<&str>) -> Result<Vec<Value>, ChainError> {
        let limit = self.options.signatures_per_request;
        let mut all: Vec<Value> = Vec::new();
        loop {
            let before = all.last().and_then(|e| e["signature"].as_str()).map(str::to_owned);
            let page = self.signature_page(address, before, until, limit).await?;
            let full = page.len() >= limit;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }
}

#[async_trait::async_trait]
impl TransactionSource for SolanaHistory {
    fn chain(&self) -> Chain {
        Chain::Solana
    }

    #[tracing::instrument(name = "solana_history", skip_all, fields(rpc = %self.rpc.shown_url()))]
    async fn transactions(&self, address: &str, cursor: Option<&str>) -> Result<HistoryPage, ChainError> {
        let address = ChainFamily::Solana.validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let (page, next, has_more) = match parse_cursor(cursor)? {
            // Backfill, newest to oldest, one bounded listing per call.
            Cursor::Start | Cursor::Back { .. } => {
                let (top, before) = match parse_cursor(cursor)? {
                    Cursor::Back { top, before } => (Some(top), Some(before)),
                    _ => (None, None),
                };
                let limit = self.options.page_size.min(1_000);
                let mut page = self.signature_page(&address, before, None, limit).await?;
                let top = top.or_else(|| page.first().and_then(|e| e["signature"].as_str()).map(str::to_owned));
                let done = page.len() < limit;
                let next = match (&top, page.last().and_then(|e| e["signature"].as_str())) {
                    (Some(top), Some(oldest)) if !done => Some(format!("{BACK_PREFIX}{top}:{oldest}")),
                    (Some(top), _) => Some(format!("{CURSOR_PREFIX}{top}")),
                    (None, _) => None,
                };
                page.reverse();
                (page, next, !done)
            }
            // Caught up: what is newer than the newest returned, oldest first.
            Cursor::After(until) => {
                let mut newer = self.signatures(&address, Some(until)).await?;
                newer.reverse();
                let has_more = newer.len() > self.options.page_size;
                newer.truncate(self.options.page_size);
                let next = newer
                    .last()
                    .and_then(|e| e["signature"].as_str())
                    .map(|s| format!("{CURSOR_PREFIX}{s}"))
                    .or_else(|| cursor.map(str::to_owned));
                (newer, next, has_more)
            }
        };

        // Position within the slot: the listing's order (newest first, reversed above). A slot
        // split across two listings numbers each part from 0; its ties then fall back to the id.
        let mut in_slot: Vec<u64> = Vec::with_capacity(page.len());
        let mut previous: Option<(u64, u64)> = None;
        for entry in &page {
            let slot = entry.get("slot").and_then(Value::as_u64).unwrap_or(0);
            let index = match previous {
                Some((s, i)) if s == slot => i + 1,
                _ => 0,
            };
            previous = Some((slot, index));
            in_slot.push(index);
        }
        let mut transactions = Vec::with_capacity(page.len());
        for (n, chunk) in page.chunks(BATCH).enumerate() {
            let calls = chunk
                .iter()
                .map(|entry| {
                    let config = json!({"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": "finalized"});
                    ("getTransaction", json!([entry["signature"], config]))
                })
                .collect();
            let results = self.rpc.batch(calls).await?;
            for (k, (entry, tx)) in chunk.iter().zip(results).enumerate() {
                let signature = entry["signature"].as_str().unwrap_or_default();
                let index = in_slot.get(n * BATCH + k).copied().unwrap_or(0);
                if tx.is_null() {
                    tracing::warn!(signature, "getTransaction returned null; transaction skipped");
                    continue;
                }
                let built = self.build(&address, signature, entry, &tx, index).map_err(|e| match e {
                    ChainError::Malformed(m) => ChainError::Malformed(format!("transaction {signature}: {m}")),
                    other => other,
                })?;
                transactions.extend(built);
            }
        }
        tracing::debug!(transactions = transactions.len(), has_more, "Solana history page read");
        Ok(HistoryPage { transactions, cursor: next, has_more })
    }
}

/// Where a call resumes.
enum Cursor<'a> {
    /// No cursor: backfill from the newest signature.
    Start,
    /// Backfilling: `top` was the newest signature when it began, `before` the oldest returned.
    Back { top: String, before: String },
    /// Caught up after this signature.
    After(&'a str),
}

fn parse_cursor(cursor: Option<&str>) -> Result<Cursor<'_>, ChainError> {
    let Some(c) = cursor else {
        return Ok(Cursor::Start);
    };
    let foreign = || ChainError::Malformed(format!("cursor {c:?} was not produced by the Solana source"));
    if let Some(sig) = c.strip_prefix(CURSOR_PREFIX) {
        return looks_like_signature(sig).then_some(Cursor::After(sig)).ok_or_else(foreign);
    }
    let (top, before) = c.strip_prefix(BACK_PREFIX).and_then(|rest| rest.split_once(':')).ok_or_else(foreign)?;
    if looks_like_signature(top) && looks_like_signature(before) {
        Ok(Cursor::Back { top: top.to_owned(), before: before.to_owned() })
    } else {
        Err(foreign())
    }
}

impl SolanaHistory {
    fn build(
        &self,
        address: &str,
        signature: &str,
        entry: &Value,
        tx: &Value,
        index_in_slot: u64,
    ) -> Result<Option<HistoryTransaction>, ChainError> {
        let meta =
            tx.get("meta").filter(|m| m.is_object()).ok_or_else(|| ChainError::Malformed("no meta".to_owned()))?;
        let keys = account_keys(tx, meta)?;
        let failed = meta.get("err").is_some_and(|e| !e.is_null());
        let fee = meta
            .get("fee")
            .and_then(Value::as_u64)
            .ok_or_else(|| ChainError::Malformed("meta.fee is not lamports".to_owned()))?;
        let paid = keys.first().is_some_and(|k| k == address);
        let block_time = tx
            .get("blockTime")
            .and_then(Value::as_i64)
            .or_else(|| entry.get("blockTime").and_then(Value::as_i64))
            .ok_or_else(|| ChainError::Malformed("no blockTime".to_owned()))?;
        let timestamp = OffsetDateTime::from_unix_timestamp(block_time)
            .map_err(|_| ChainError::Malformed("blockTime out of range".to_owned()))?;

        let mut legs = Vec::new();
        if !failed {
            if let Some(index) = keys.iter().position(|k| k == address) {
                let balance = |key: &str| -> Result<i128, ChainError> {
                    meta.get(key)
                        .and_then(Value::as_array)
                        .and_then(|b| b.get(index))
                        .and_then(Value::as_u64)
                        .map(i128::from)
                        .ok_or_else(|| ChainError::Malformed(format!("meta.{key}[{index}] is not lamports")))
                };
                let mut delta = balance("postBalances")? - balance("preBalances")?;
                if paid {
                    delta += i128::from(fee);
                }
                let counterparty = sol_counterparty(tx, meta, address, delta > 0);
                push_leg(&mut legs, Chain::Solana.native_asset(), delta, address, counterparty)?;
            }
            for (mint, (decimals, delta, counterparty)) in token_deltas(meta, address)? {
                push_leg(&mut legs, self.asset(&mint, decimals), delta, address, counterparty)?;
            }
        }
        if paid && fee > 0 {
            legs.push(HistoryLeg {
                asset: Chain::Solana.native_asset(),
                quantity: units_to_decimal(u128::from(fee), Chain::Solana.native_decimals())
                    .map_err(ChainError::Malformed)?,
                direction: LegDirection::Fee,
                from: Some(address.to_owned()),
                to: None,
            });
        }
        if legs.is_empty() {
            return Ok(None);
        }
        let raw = json!({
            "source": "rpc",
            "signature": signature,
            "slot": tx.get("slot"),
            "blockTime": block_time,
            "version": tx.get("version"),
            "err": meta.get("err"),
            "fee": fee,
        });
        let slot =
            tx.get("slot").and_then(Value::as_u64).or_else(|| entry.get("slot").and_then(Value::as_u64)).unwrap_or(0);
        Ok(Some(HistoryTransaction {
            id: signature.to_owned(),
            timestamp,
            position: crate::ChainPosition::new(slot, index_in_slot),
            legs,
            failed,
            label: None,
            raw,
        }))
    }
}

/// A base58 string of a signature's length (64 bytes: 64 to 88 characters).
fn looks_like_signature(text: &str) -> bool {
    (64..=88).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// Appends the leg of a signed `delta` (smallest units) of `asset`, if non-zero.
fn push_leg(
    legs: &mut Vec<HistoryLeg>,
    asset: AssetInfo,
    delta: i128,
    address: &str,
    counterparty: Option<String>,
) -> Result<(), ChainError> {
    if delta == 0 {
        return Ok(());
    }
    let quantity = units_to_decimal(delta.unsigned_abs(), asset.decimals).map_err(ChainError::Malformed)?;
    let (direction, from, to) = if delta > 0 {
        (LegDirection::Incoming, counterparty, Some(address.to_owned()))
    } else {
        (LegDirection::Outgoing, Some(address.to_owned()), counterparty)
    };
    legs.push(HistoryLeg { asset, quantity, direction, from, to });
    Ok(())
}

/// The transaction's account keys: `jsonParsed` objects (`{pubkey, signer, writable,
/// source}`, lookup-table addresses included) or plain strings followed by
/// `meta.loadedAddresses` (`json` encoding).
fn account_keys(tx: &Value, meta: &Value) -> Result<Vec<String>, ChainError> {
    let keys = tx
        .pointer("/transaction/message/accountKeys")
        .and_then(Value::as_array)
        .ok_or_else(|| ChainError::Malformed("no transaction.message.accountKeys".to_owned()))?;
    let mut out = Vec::with_capacity(keys.len());
    let mut plain = false;
    for key in keys {
        match key {
            Value::String(k) => {
                plain = true;
                out.push(k.clone());
            }
            Value::Object(o) => out.push(
                o.get("pubkey")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ChainError::Malformed("account key without pubkey".to_owned()))?
                    .to_owned(),
            ),
            other => return Err(ChainError::Malformed(format!("account key is {}", kind(other)))),
        }
    }
    if plain {
        for part in ["writable", "readonly"] {
            if let Some(list) = meta.pointer(&format!("/loadedAddresses/{part}")).and_then(Value::as_array) {
                out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    Ok(out)
}

/// The other side of the address's SOL movement, when exactly one parsed system transfer
/// (top level or inner) names it.
fn sol_counterparty(tx: &Value, meta: &Value, address: &str, incoming: bool) -> Option<String> {
    let top = tx.pointer("/transaction/message/instructions").and_then(Value::as_array).into_iter().flatten();
    let inner = meta
        .get("innerInstructions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("instructions").and_then(Value::as_array))
        .flatten();
    let (mine, theirs) = if incoming { ("destination", "source") } else { ("source", "destination") };
    let others: BTreeSet<&str> = top
        .chain(inner)
        .filter(|i| i.get("program").and_then(Value::as_str) == Some("system"))
        .filter(|i| matches!(i.pointer("/parsed/type").and_then(Value::as_str), Some("transfer" | "transferWithSeed")))
        .filter_map(|i| i.pointer("/parsed/info"))
        .filter(|info| info.get(mine).and_then(Value::as_str) == Some(address))
        .filter_map(|info| info.get(theirs).and_then(Value::as_str))
        .collect();
    if others.len() == 1 {
        others.into_iter().next().map(str::to_owned)
    } else {
        None
    }
}

/// Per mint: decimals, the address's net change in smallest units, and the unique other
/// owner whose balance of the mint moved the other way.
/// Per mint: (decimals, signed change in smallest units, counterparty).
type TokenDeltas = BTreeMap<String, (u8, i128, Option<String>)>;

fn token_deltas(meta: &Value, address: &str) -> Result<TokenDeltas, ChainError> {
    // (mint, owner) → (decimals, post − pre)
    let mut changes: BTreeMap<(String, String), (u8, i128)> = BTreeMap::new();
    for (key, sign) in [("preTokenBalances", -1i128), ("postTokenBalances", 1)] {
        for balance in meta.get(key).and_then(Value::as_array).into_iter().flatten() {
            let mint = balance
                .get("mint")
                .and_then(Value::as_str)
                .ok_or_else(|| ChainError::Malformed(format!("{key} entry without mint")))?;
            let owner = balance.get("owner").and_then(Value::as_str).unwrap_or("");
            let amount = balance.pointer("/uiTokenAmount/amount").and_then(Value::as_str).unwrap_or("");
            if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ChainError::Malformed(format!(
                    "{key} uiTokenAmount.amount {amount:?} of {mint} is not an integer"
                )));
            }
            let units: i128 = amount
                .parse::<u128>()
                .ok()
                .and_then(|u| i128::try_from(u).ok())
                .ok_or_else(|| ChainError::Malformed(format!("token amount {amount} overflows")))?;
            let decimals = balance
                .pointer("/uiTokenAmount/decimals")
                .and_then(Value::as_u64)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| ChainError::Malformed(format!("{key} entry of {mint} without decimals")))?;
            let entry = changes.entry((mint.to_owned(), owner.to_owned())).or_insert((decimals, 0));
            entry.1 += sign * units;
        }
    }
    let mut out = BTreeMap::new();
    for ((mint, owner), (decimals, delta)) in &changes {
        if owner != address || *delta == 0 {
            continue;
        }
        let others: Vec<&String> = changes
            .iter()
            .filter(|((m, o), (_, d))| m == mint && o != address && !o.is_empty() && d.signum() == -delta.signum())
            .map(|((_, o), _)| o)
            .collect();
        let counterparty = (others.len() == 1).then(|| others[0].clone());
        out.insert(mint.clone(), (*decimals, *delta, counterparty));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_deltas_net_per_mint_and_name_a_unique_counterparty() {
        let me = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";
        let bal = |index: u64, owner: &str, amount: &str| {
            json!({"accountIndex": index, "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "owner": owner,
                   "programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                   "uiTokenAmount": {"amount": amount, "decimals": 6, "uiAmount": null, "uiAmountString": "0"}})
        };
        let meta = json!({
            "preTokenBalances": [bal(1, me, "1000000"), bal(2, "Other1111111111111111111111111111111111111", "5000000")],
            "postTokenBalances": [bal(1, me, "3500000"), bal(2, "Other1111111111111111111111111111111111111", "2500000")],
        });
        let deltas = token_deltas(&meta, me).expect("deltas");
        let (decimals, delta, other) = &deltas["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"];
        assert_eq!((*decimals, *delta), (6, 2_500_000));
        assert_eq!(other.as_deref(), Some("Other1111111111111111111111111111111111111"));
        let bad = json!({"postTokenBalances": [bal(1, me, "1.5")]});
        assert!(matches!(token_deltas(&bad, me), Err(ChainError::Malformed(_))));
    }
}
