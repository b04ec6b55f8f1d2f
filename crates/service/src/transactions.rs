//! `GET /api/v1/transactions`: the workspace's ledger, filtered and paged.

use crate::ledger::{LedgerPorts, LedgerSettings};
use crate::service::{store_error, Service};
use async_trait::async_trait;
use kc_api::*;
use kc_domain::ledger::CostBasisMethod;
use kc_ports::{LedgerKey, LedgerLegRecord, LedgerQuery, LedgerTxRecord};
use std::collections::HashMap;

/// Largest `limit`.
pub(crate) const MAX_LIMIT: u64 = 1000;
/// Default `limit`.
const DEFAULT_LIMIT: u64 = 100;

/// The labels of the Data API reference ("Transaction Labels").
pub const LABELS: [&str; 75] = [
    "Add Liquidity",
    "Airdrops",
    "Approve",
    "Income",
    "Borrow",
    "Borrow Interest",
    "Bridge Receive",
    "Bridge Send",
    "Bridge Transfer",
    "Burn",
    "Buy",
    "Cashback",
    "Casualty Loss",
    "Collateral Deposit",
    "Collateral Withdrawal",
    "DeFi Swap",
    "Donations",
    "Expense",
    "Failed",
    "Farming Rewards",
    "Fee",
    "Fiat Deposit",
    "Fiat Withdrawal",
    "Funding Fee Paid",
    "Funding Fee Received",
    "Futures Expense",
    "ICO investment",
    "Ignore",
    "Incoming Gift",
    "Transfer",
    "Lend",
    "Liquidation",
    "Loan",
    "Loan Interest",
    "Loan Payback",
    "Lost",
    "Margin Fee",
    "Mining",
    "Mint NFT",
    "NFT Buy",
    "NFT Sell",
    "Outgoing Gift",
    "Realized Loss",
    "Realized Profit",
    "Resource Staking",
    "Reward",
    "Royalties",
    "Sell",
    "Liquidity Withdrawal",
    "Spam",
    "Stake",
    "Unstake",
    "Staking Rewards",
    "Security Token Offering(STO)",
    "Stolen",
    "Trade",
    "Withdrawal",
    "Deposit",
    "Payment",
    "Swap",
    "Fork",
    "Wrap",
    "Unwrap",
    "Buy (Fiat to Crypto)",
    "Sell (Crypto to Fiat)",
    "Cross Chain Swaps",
    "Rex Withdrawal",
    "Rex Deposit",
    "Interest",
    "Earn",
    "Centralized Stake",
    "Centralized Lending",
    "Vault Deposit",
    "Vault Withdrawal",
    "Unknown",
];

/// The `transactionType` values.
const TYPES: [&str; 3] = ["swap", "deposit", "withdraw"];

fn list(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// What kind of text a bad value is, as the reference's `received` says it.
fn received(v: &str) -> &'static str {
    if v.parse::<f64>().is_ok() {
        "number"
    } else {
        "string"
    }
}

/// The keyset cursor of a transaction: `<timestamp ms>.<block>.<index>.<id>`.
pub(crate) fn encode_cursor(key: &LedgerKey) -> String {
    format!("{}.{}.{}.{}", key.timestamp_ms, key.block, key.index, key.id)
}

/// Reads [`encode_cursor`]'s text.
pub(crate) fn decode_cursor(text: &str) -> Option<LedgerKey> {
    let mut parts = text.splitn(4, '.');
    let timestamp_ms: i64 = parts.next()?.parse().ok().filter(|t| *t >= 0)?;
    let block = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    let valid = id.len() <= 64 && id.starts_with("trx_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| LedgerKey { timestamp_ms, block, index, id: id.to_owned() })
}

/// Validates every parameter; every bad one is named in the error's `details`.
pub(crate) fn parse_query(q: &TransactionsQuery) -> Result<LedgerQuery, ApiError> {
    let mut issues = Vec::new();
    let mut flag = |name: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            issues.push(
                ParamIssue::new("invalid_type", name, format!("Expected boolean (true or false), received {other:?}"))
                    .typed("boolean", received(other)),
            );
            None
        }
    };
    let is_nft = flag("isNft", &q.is_nft);
    let is_missing_price = flag("isMissingPrice", &q.is_missing_price);
    let is_missing_purchase = flag("isMissingPurchase", &q.is_missing_purchase);
    let is_edited = flag("isEdited", &q.is_edited);
    let is_manual = flag("isManual", &q.is_manual);
    let mut number = |name: &str, v: &Option<String>, min: i64, max: Option<i64>| -> Option<i64> {
        let raw = v.as_deref()?.trim();
        match raw.parse::<i64>() {
            Err(_) => {
                issues.push(
                    ParamIssue::new("invalid_type", name, format!("Expected an integer, received {raw:?}"))
                        .typed("number", received(raw)),
                );
                None
            }
            Ok(n) if n < min => {
                issues.push(ParamIssue::new("too_small", name, format!("Must be {min} or more")));
                None
            }
            Ok(n) if max.is_some_and(|m| n > m) => {
                issues.push(ParamIssue::new("too_big", name, format!("Must be {} or less", max.unwrap_or(n))));
                None
            }
            Ok(n) => Some(n),
        }
    };
    let limit = number("limit", &q.limit, 1, Some(MAX_LIMIT as i64));
    let offset = number("offset", &q.offset, 0, None);
    let time_start = number("timeStart", &q.time_start, 0, None);
    let time_end = number("timeEnd", &q.time_end, 0, None);
    let descending = match q.order.as_deref().map(str::trim) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            issues.push(
                ParamIssue::new("invalid_enum_value", "order", format!("Expected 'asc' | 'desc', received {other:?}"))
                    .typed("'asc' | 'desc'", "string"),
            );
            true
        }
    };
    let transaction_types = list(&q.transaction_type);
    if let Some(bad) = transaction_types.iter().find(|t| !TYPES.contains(&t.as_str())) {
        issues.push(
            ParamIssue::new(
                "invalid_enum_value",
                "transactionType",
                format!("Expected 'swap' | 'deposit' | 'withdraw', received {bad:?}"),
            )
            .typed("'swap' | 'deposit' | 'withdraw'", "string"),
        );
    }
    let labels = list(&q.label);
    if let Some(bad) = labels.iter().find(|l| !LABELS.contains(&l.as_str())) {
        issues.push(ParamIssue::new(
            "invalid_enum_value",
            "label",
            format!("Unknown label {bad:?}; see the reference's Transaction Labels"),
        ));
    }
    let after = match q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let key = decode_cursor(c);
            if key.is_none() {
                issues.push(ParamIssue::new(
                    "invalid_string",
                    "cursor",
                    "Not a cursor this API returned (pass pagination.nextCursor as it is)",
                ));
            }
            key
        }
    };
    if let (Some(a), Some(b)) = (time_start, time_end) {
        if a > b {
            issues.push(ParamIssue::new("too_big", "timeStart", "timeStart must not be after timeEnd"));
        }
    }
    if !issues.is_empty() {
        return Err(ApiError::invalid_params(issues));
    }
    Ok(LedgerQuery {
        wallet_ids: list(&q.wallet_id),
        currency_ids: list(&q.currency_id),
        trx_id: q.trx_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
        is_nft,
        is_missing_price,
        is_missing_purchase,
        is_edited,
        is_manual,
        transaction_types,
        labels,
        descending,
        time_start,
        time_end,
        limit: limit.map_or(DEFAULT_LIMIT, |l| l as u64),
        offset: offset.map_or(0, |o| o as u64),
        after,
    })
}

/// Wallet id → the account its legs show.
type Wallets = HashMap<String, TransactionAccount>;

/// The account of wallet `id` (its id alone when the workspace no longer lists it).
fn account_of(wallets: &Wallets, id: &str) -> TransactionAccount {
    wallets.get(id).cloned().unwrap_or_else(|| TransactionAccount {
        provider: String::new(),
        wallet_id: id.to_owned(),
        public_address: None,
    })
}

/// A leg as the answer lists it, and its cost-basis entry: the leg's strings are moved into
/// the view, only what both show is copied.
fn leg_view(timestamp: i64, l: LedgerLegRecord, account: Option<TransactionAccount>) -> (TransactionLeg, LedgerEntry) {
    let (from_account, to_account) = match l.direction.as_str() {
        "incoming" => (None, account),
        "outgoing" => (account, None),
        _ => (None, None),
    };
    let entry = LedgerEntry {
        kind: l.direction.clone(),
        token_id: l.asset.token_id.clone(),
        quantity: Exact(l.quantity.clone()),
        costbasis: Exact(l.cost_basis.unwrap_or_else(|| "0".to_owned())),
        gain: l.gain.map(Exact),
    };
    let a = l.asset;
    let leg = TransactionLeg {
        asset: TransactionAsset {
            token_id: a.token_id,
            symbol: a.symbol,
            public_name: a.public_name,
            kind: a.asset_type,
            chain_id: a.chain_id,
            contract_address: a.contract_address,
        },
        quantity: Exact(l.quantity),
        price: l.price.map_or_else(Exact::zero, Exact),
        base_currency: "USD".to_owned(),
        timestamp,
        kind: l.direction,
        from_account,
        to_account,
    };
    (leg, entry)
}

fn view(mut t: LedgerTxRecord, wallets: &Wallets) -> TransactionView {
    let (mut incoming, mut outgoing, mut fee) = (Vec::new(), Vec::new(), Vec::new());
    let mut ledger = Vec::with_capacity(t.legs.len());
    for l in std::mem::take(&mut t.legs) {
        // Incoming and outgoing legs name the wallet; fees and other legs do not.
        let side = match l.direction.as_str() {
            "incoming" => Some(&mut incoming),
            "outgoing" => Some(&mut outgoing),
            "fee" => Some(&mut fee),
            _ => None,
        };
        let account =
            matches!(l.direction.as_str(), "incoming" | "outgoing").then(|| account_of(wallets, &t.integration_id));
        let (leg, entry) = leg_view(t.timestamp_ms, l, account);
        ledger.push(entry);
        if let Some(side) = side {
            side.push(leg);
        }
    }
    TransactionView {
        incoming_assets: incoming,
        outgoing_assets: outgoing,
        fee,
        metadata: TransactionMetadata {
            import_source: t.import_source,
            is_manual: t.is_manual,
            is_edited: t.is_edited,
            is_defi_trx: t.transaction_type == "swap",
            is_nft_trx: t.is_nft,
            is_missing_price: t.is_missing_price,
            is_missing_purchase: t.is_missing_purchase,
        },
        ledger,
        id: t.id,
        transaction_platform_id: t.platform_tx_id,
        timestamp: t.timestamp_ms,
        label: t.label,
        description: t.description,
        total_costbasis: Exact(t.total_costbasis),
        total_gains: Exact(t.total_gains),
        tags: Vec::new(),
        // Passed through as stored (JSON the service wrote), not parsed and written again.
        raw_trx: RawJson::or_empty_object(t.raw),
    }
}

#[async_trait]
impl TransactionsApi for Service {
    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn transactions(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: TransactionsQuery,
    ) -> ApiResult<TransactionsResponse> {
        let grant = self.authorize_data(client, token, meta, "transactions:read").await?;
        let q = parse_query(&query)?;
        // One row more than the page tells whether a next page exists (keyset pages cannot
        // compare offset and total).
        let probe = LedgerQuery { limit: q.limit + 1, ..q.clone() };
        let (mut rows, total) = match &self.ports.ledger {
            Some(ledger) => ledger.query_ledger(&grant.workspace_id, &probe).await.map_err(store_error)?,
            None => (Vec::new(), 0),
        };
        // The wallets' labels, for a page that shows any. Read after the page, not alongside it:
        // on SQLite the page is read on this thread and the integrations on the pool's, and
        // overlapping them measured no faster on two cores (0.71 to 1.06 ms instead of 0.73 to
        // 0.84 at 100 000 transactions) while an empty page then paid for the read too.
        let wallets = if rows.is_empty() { Wallets::new() } else { self.wallets(&grant.workspace_id).await? };
        let has_next_page = rows.len() as u64 > q.limit;
        rows.truncate(usize::try_from(q.limit).unwrap_or(usize::MAX));
        let next_cursor = if has_next_page { rows.last().map(|r| encode_cursor(&r.key())) } else { None };
        let data: Vec<TransactionView> = rows.into_iter().map(|t| view(t, &wallets)).collect();
        let returned = data.len() as u64;
        Ok(TransactionsResponse {
            message: "User transactions retrieved successfully".to_owned(),
            data,
            pagination: TransactionsPagination {
                limit: u32::try_from(q.limit).unwrap_or(u32::MAX),
                offset: q.offset,
                returned_count: returned,
                total_count: total,
                has_next_page,
                has_previous_page: q.offset > 0 || q.after.is_some(),
                next_cursor,
            },
            user_id: grant.user_id.to_string(),
            timestamp: crate::data::epoch_ms(self.now()),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<CostBasisMethodResponse> {
        let grant = self.authorize_data(client, token, meta, "portfolios:read").await?;
        let ports = self.ledger_ports()?;
        let chosen = ports.store.cost_basis_method(&grant.workspace_id).await.map_err(store_error)?;
        let method = chosen.as_deref().and_then(|m| m.parse::<CostBasisMethod>().ok());
        Ok(CostBasisMethodResponse {
            message: "Cost basis method retrieved successfully".to_owned(),
            method: method.unwrap_or(ports.settings.default_method).as_str().to_owned(),
            is_default: method.is_none(),
            user_id: grant.user_id.to_string(),
            timestamp: crate::data::epoch_ms(self.now()),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn set_cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        body: CostBasisMethodRequest,
    ) -> ApiResult<CostBasisMethodResponse> {
        let grant = self.authorize_data(client, token, meta, "portfolios:read").await?;
        let method: CostBasisMethod = body.method.trim().parse().map_err(|_| {
            ApiError::invalid_params(vec![ParamIssue::new(
                "invalid_enum_value",
                "method",
                format!("Expected 'FIFO' | 'LIFO' | 'HIFO', received {:?}", body.method),
            )
            .typed("'FIFO' | 'LIFO' | 'HIFO'", "string")])
        })?;
        let ports = self.ledger_ports()?;
        crate::ledger::set_method(&ports, &grant.workspace_id, method, self.ports.clock.as_ref()).await.map_err(
            |e| {
                tracing::error!(error = %e, "cost basis method not applied");
                ApiError::internal()
            },
        )?;
        tracing::info!(%method, "cost basis method set; ledger recomputed");
        Ok(CostBasisMethodResponse {
            message: "Cost basis method updated; cost basis recomputed".to_owned(),
            method: method.as_str().to_owned(),
            is_default: false,
            user_id: grant.user_id.to_string(),
            timestamp: crate::data::epoch_ms(self.now()),
        })
    }
}

impl Service {
    /// The accounts of workspace `ws`'s wallets, by wallet id.
    async fn wallets(&self, ws: &kc_domain::WorkspaceId) -> ApiResult<Wallets> {
        let integrations = self.ports.store.list_integrations(ws).await.map_err(store_error)?;
        Ok(integrations
            .into_iter()
            .map(|i| {
                let account =
                    TransactionAccount { provider: i.provider, wallet_id: i.id.clone(), public_address: i.address };
                (i.id, account)
            })
            .collect())
    }

    /// The ledger's ports for a request (a method change recomputes the ledger in it).
    fn ledger_ports(&self) -> ApiResult<LedgerPorts> {
        let Some(store) = self.ports.ledger.clone() else {
            return Err(ApiError::unavailable());
        };
        Ok(LedgerPorts {
            store,
            prices: self
                .ports
                .ledger_prices
                .clone()
                .unwrap_or_else(|| std::sync::Arc::new(crate::csv_import::NoPrices)),
            settings: LedgerSettings::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> TransactionsQuery {
        let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        serde_json::from_value(serde_json::Value::Object(
            url::form_urlencoded::parse(text.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
                .collect(),
        ))
        .expect("query")
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let e = parse_query(&q(&[
            ("limit", "abc"),
            ("offset", "-1"),
            ("isNft", "yes"),
            ("order", "up"),
            ("transactionType", "swap,mint"),
            ("label", "Deposit,Nope"),
            ("timeStart", "10"),
            ("timeEnd", "5"),
        ]))
        .expect_err("bad query");
        let named: Vec<&str> = e.details.iter().map(|d| d.path[0].as_str()).collect();
        assert_eq!(named, ["isNft", "limit", "offset", "order", "transactionType", "label", "timeStart"]);
        assert_eq!(e.details[1].expected.as_deref(), Some("number"));
        assert_eq!(e.details[1].received.as_deref(), Some("string"));
        for (k, v, code) in
            [("limit", "0", "too_small"), ("limit", "1001", "too_big"), ("isManual", "1", "invalid_type")]
        {
            let e = parse_query(&q(&[(k, v)])).expect_err(k);
            assert_eq!((e.details.len(), e.details[0].code.as_str()), (1, code), "{k}={v}");
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_named() {
        let key = LedgerKey { timestamp_ms: 1_717_243_200_000, block: 102, index: 7, id: "trx_0a1b2c".to_owned() };
        let text = encode_cursor(&key);
        assert_eq!(decode_cursor(&text), Some(key.clone()));
        let ok = parse_query(&q(&[("cursor", &text), ("order", "asc")])).expect("a cursor this API made");
        assert_eq!(ok.after, Some(key));
        for bad in ["abc", "1.2.3", "1.2.3.wal_x", "x.2.3.trx_ab", "1.2.3.trx_zz", "-1.2.3.trx_ab"] {
            let e = parse_query(&q(&[("cursor", bad)])).expect_err(bad);
            assert_eq!(e.details[0].path, ["cursor"], "{bad}");
        }
    }

    fn leg(index: i32, direction: &str, token: &str) -> LedgerLegRecord {
        LedgerLegRecord {
            index,
            direction: direction.to_owned(),
            asset: kc_ports::LedgerAsset {
                token_id: token.to_owned(),
                symbol: token.to_uppercase(),
                public_name: token.to_owned(),
                chain_id: "ethereum".to_owned(),
                contract_address: None,
                asset_type: "crypto".to_owned(),
                decimals: 18,
            },
            quantity: format!("{}", index + 1),
            price: Some("2".to_owned()),
            from: None,
            to: None,
            cost_basis: (index > 0).then(|| "5".to_owned()),
            gain: (direction == "outgoing").then(|| "1.5".to_owned()),
        }
    }

    fn record(raw: &str, legs: Vec<LedgerLegRecord>) -> LedgerTxRecord {
        LedgerTxRecord {
            id: "trx_ab".to_owned(),
            integration_id: "wal_1".to_owned(),
            platform_tx_id: "0xab".to_owned(),
            chain_id: "ethereum".to_owned(),
            timestamp_ms: 1_700_000_000_000,
            position: kc_ports::ChainPosition::new(1, 2),
            failed: false,
            source_label: None,
            label: "Trade".to_owned(),
            transaction_type: "swap".to_owned(),
            description: "Swap".to_owned(),
            is_nft: false,
            is_manual: false,
            is_edited: false,
            is_missing_price: false,
            is_missing_purchase: false,
            total_costbasis: "5".to_owned(),
            total_gains: "1.5".to_owned(),
            raw: raw.to_owned(),
            import_source: "API".to_owned(),
            legs,
        }
    }

    #[test]
    fn a_view_sorts_its_legs_and_keeps_every_entry_in_order() {
        let account = TransactionAccount {
            provider: "ethereum".to_owned(),
            wallet_id: "wal_1".to_owned(),
            public_address: Some("0x1".to_owned()),
        };
        let wallets: Wallets = [("wal_1".to_owned(), account.clone())].into();
        let legs =
            vec![leg(0, "outgoing", "eth"), leg(1, "fee", "eth"), leg(2, "incoming", "usdc"), leg(3, "odd", "x")];
        let v = view(record(r#"{"hash":"0xab"}"#, legs), &wallets);
        assert_eq!(v.outgoing_assets.len(), 1);
        assert_eq!(v.outgoing_assets[0].from_account, Some(account.clone()));
        assert_eq!(v.outgoing_assets[0].to_account, None);
        assert_eq!(v.incoming_assets[0].to_account, Some(account));
        assert_eq!(
            (v.incoming_assets[0].asset.symbol.as_str(), v.incoming_assets[0].quantity.0.as_str()),
            ("USDC", "3")
        );
        assert_eq!((v.fee[0].from_account.as_ref(), v.fee[0].to_account.as_ref()), (None, None));
        let entries: Vec<(&str, &str, &str, Option<&str>)> = v
            .ledger
            .iter()
            .map(|e| {
                (e.kind.as_str(), e.token_id.as_str(), e.costbasis.0.as_str(), e.gain.as_ref().map(|g| g.0.as_str()))
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("outgoing", "eth", "0", Some("1.5")),
                ("fee", "eth", "5", None),
                ("incoming", "usdc", "5", None),
                ("odd", "x", "5", None)
            ]
        );
        assert!(v.metadata.is_defi_trx);
        assert_eq!(v.raw_trx.get(), r#"{"hash":"0xab"}"#);
    }

    #[test]
    fn an_unknown_wallet_and_an_unreadable_record_still_answer() {
        let v = view(record("not json", vec![leg(0, "incoming", "eth")]), &Wallets::new());
        let account = v.incoming_assets[0].to_account.clone().expect("the wallet's id");
        assert_eq!(
            (account.provider.as_str(), account.wallet_id.as_str(), account.public_address),
            ("", "wal_1", None)
        );
        assert_eq!(v.raw_trx.get(), "{}");
    }

    #[test]
    fn defaults_and_lists() {
        let ok = parse_query(&q(&[])).expect("empty query");
        assert_eq!((ok.limit, ok.offset, ok.descending), (100, 0, true));
        let ok = parse_query(&q(&[("walletId", "a, b,"), ("order", "asc"), ("limit", "1000"), ("isNft", "false")]))
            .expect("query");
        assert_eq!(ok.wallet_ids, ["a", "b"]);
        assert_eq!((ok.limit, ok.descending, ok.is_nft), (1000, false, Some(false)));
    }
}
