//! `GET /api/v1/transactions` (Data API reference, "Transactions"): the workspace's ledger.

use crate::data::{BearerToken, Exact};
use crate::{ApiResult, ClientCredentials, RequestMeta};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Query of `GET /api/v1/transactions`. Every value arrives as text and is validated by the
/// service, which names each bad parameter in the error's `details`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct TransactionsQuery {
    /// Wallet ids (integration `walletId`s), comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    /// Currency ids (asset `tokenId`s), comma-separated: a transaction matches when any leg moves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    /// One transaction, by `id` or `transactionPlatfromId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trx_id: Option<String>,
    /// `true`/`false`: NFT transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub is_nft: Option<String>,
    /// `true`/`false`: transactions with a leg lacking a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub is_missing_price: Option<String>,
    /// `true`/`false`: transactions that dispose of more than the known purchases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub is_missing_purchase: Option<String>,
    /// `true`/`false`: manually edited transactions (none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub is_edited: Option<String>,
    /// `true`/`false`: manually created transactions (none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub is_manual: Option<String>,
    /// `swap`, `deposit` or `withdraw` (comma-separated for several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    /// Labels from the reference's list, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `asc` or `desc` by timestamp (default `desc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// Start timestamp, Unix ms, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub time_start: Option<String>,
    /// End timestamp, Unix ms, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub time_end: Option<String>,
    /// Max results, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>))]
    pub limit: Option<String>,
    /// Records to skip (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<u64>))]
    pub offset: Option<String>,
    /// Keyset paging (an extension of the reference): the `pagination.nextCursor` of the
    /// previous page, with the same filters and `order`. The page starts right after the last
    /// transaction of that page, and costs the same however deep it is (`offset` still skips
    /// records after it). Transactions are ordered by timestamp, then position in their chain
    /// (block, index), then id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The asset of a transaction leg.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionAsset {
    /// Asset id.
    pub token_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub public_name: String,
    /// `crypto` or `nft`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Chain id.
    pub chain_id: String,
    /// Contract or mint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_address: Option<String>,
}

/// The wallet a leg came from or went to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionAccount {
    /// Provider id (`ethereum`, `solana`, …).
    pub provider: String,
    /// The integration's `walletId`.
    pub wallet_id: String,
    /// The address on the other side for the counterparty, or the wallet's own address.
    pub public_address: Option<String>,
}

/// One incoming, outgoing or fee leg.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionLeg {
    /// The asset.
    pub asset: TransactionAsset,
    /// Quantity, exact.
    pub quantity: Exact,
    /// Price of one unit in `baseCurrency` at `timestamp`; `0` when unknown (the transaction's
    /// `metadata.isMissingPrice` says so), as the leg is valued.
    pub price: Exact,
    /// `USD`.
    pub base_currency: String,
    /// Epoch ms.
    pub timestamp: i64,
    /// `incoming`, `outgoing` or `fee`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The sending wallet (outgoing and fee legs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_account: Option<TransactionAccount>,
    /// The receiving wallet (incoming legs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_account: Option<TransactionAccount>,
}

/// Provenance flags of a transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionMetadata {
    /// `API`: imported by sync.
    pub import_source: String,
    /// Created by hand.
    pub is_manual: bool,
    /// Edited by hand.
    pub is_edited: bool,
    /// A DeFi interaction (a swap).
    pub is_defi_trx: bool,
    /// Moves an NFT.
    #[serde(rename = "isNFTTrx")]
    pub is_nft_trx: bool,
    /// A leg lacks a price.
    pub is_missing_price: bool,
    /// A disposal exceeds the known purchases.
    pub is_missing_purchase: bool,
}

/// One cost-basis entry of a transaction's `ledger`: what a leg cost and what it realized.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// `incoming`, `outgoing` or `fee`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Asset id.
    pub token_id: String,
    /// Quantity.
    pub quantity: Exact,
    /// Cost basis of the lot opened (incoming) or consumed/carried (outgoing, fee).
    pub costbasis: Exact,
    /// Realized gain of a disposal; `null` for an acquisition or an internal transfer.
    pub gain: Option<Exact>,
}

/// One transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    /// `trx_…`, stable across resyncs.
    pub id: String,
    /// The chain's transaction id (hash, signature). Spelled as the reference spells it.
    #[serde(rename = "transactionPlatfromId")]
    pub transaction_platform_id: String,
    /// Epoch ms.
    pub timestamp: i64,
    /// Label from the reference's list.
    pub label: String,
    /// Human description.
    pub description: String,
    /// What came in.
    pub incoming_assets: Vec<TransactionLeg>,
    /// What went out.
    pub outgoing_assets: Vec<TransactionLeg>,
    /// Fees paid.
    pub fee: Vec<TransactionLeg>,
    /// Flags.
    pub metadata: TransactionMetadata,
    /// Cost basis of what left the wallet (or, for a receipt only, of what came in).
    pub total_costbasis: Exact,
    /// Realized gains.
    pub total_gains: Exact,
    /// Tags (none yet).
    pub tags: Vec<String>,
    /// Cost-basis entries per leg.
    pub ledger: Vec<LedgerEntry>,
    /// The source's record.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub raw_trx: RawJson,
}

/// A JSON document kept as its text: the source's record (`rawTrx`) passes from the store to
/// the answer without being parsed into a [`serde_json::Value`] and written out again.
/// Deserialize it with `serde_json::from_slice`/`from_str` (as the client SDK does; not
/// `from_value`), and read it with [`RawJson::value`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl RawJson {
    /// `text` as it is when it is JSON, else `{}` (what an unreadable record answers).
    /// The text is checked, not parsed into a [`serde_json::Value`]; it is kept as it is
    /// (without surrounding whitespace).
    pub fn or_empty_object(text: String) -> Self {
        use serde_json::value::RawValue;
        let raw = RawValue::from_string(text).or_else(|_| RawValue::from_string("{}".to_owned()));
        // `{}` is JSON: the `null` is never taken.
        Self(raw.unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The document, parsed.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl Default for RawJson {
    /// `{}`.
    fn default() -> Self {
        Self::or_empty_object(String::new())
    }
}

impl PartialEq for RawJson {
    /// Equal documents: the same [`RawJson::value`] (whatever the spacing).
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get() || self.value() == other.value()
    }
}

/// Pagination of `GET /api/v1/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionsPagination {
    /// Page size asked.
    pub limit: u32,
    /// Records skipped.
    pub offset: u64,
    /// Records in this page.
    pub returned_count: u64,
    /// Records matching the filters.
    #[serde(rename = "totalCount")]
    pub total_count: u64,
    /// Whether a later page exists.
    #[serde(rename = "hasNextPage")]
    pub has_next_page: bool,
    /// Whether `offset > 0` (or the page was asked with a `cursor`).
    #[serde(rename = "hasPreviousPage")]
    pub has_previous_page: bool,
    /// Pass as `cursor` to get the next page by keyset (an extension of the reference);
    /// present when `hasNextPage`.
    #[serde(rename = "nextCursor", default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Body of `GET /api/v1/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionsResponse {
    /// A human note.
    pub message: String,
    /// The page.
    pub data: Vec<TransactionView>,
    /// Paging.
    pub pagination: TransactionsPagination,
    /// The grant's user.
    pub user_id: String,
    /// Response time, epoch ms.
    pub timestamp: i64,
}

/// Body of `PUT /api/v1/settings/cost-basis`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CostBasisMethodRequest {
    /// `FIFO` (first in, first out: the default), `LIFO` (last in, first out) or `HIFO`
    /// (highest unit cost first); case-insensitive.
    pub method: String,
}

/// Answer of `GET` and `PUT /api/v1/settings/cost-basis`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostBasisMethodResponse {
    /// A human note.
    pub message: String,
    /// The workspace's method: `FIFO`, `LIFO` or `HIFO`.
    pub method: String,
    /// Whether the workspace chose it (`false`: the server's default).
    #[serde(rename = "isDefault")]
    pub is_default: bool,
    /// The grant's user.
    pub user_id: String,
    /// Response time, epoch ms.
    pub timestamp: i64,
}

/// The transactions endpoint of the Data API (same authentication and errors as [`crate::DataApi`]).
#[async_trait]
pub trait TransactionsApi: Send + Sync {
    /// The workspace's transactions (`transactions:read`).
    async fn transactions(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: TransactionsQuery,
    ) -> ApiResult<TransactionsResponse>;

    /// The workspace's cost basis method (`portfolios:read`).
    async fn cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<CostBasisMethodResponse>;

    /// Sets the workspace's cost basis method and recomputes its cost basis, realized gains
    /// and positions before answering (`portfolios:read`).
    async fn set_cost_basis_method(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        body: CostBasisMethodRequest,
    ) -> ApiResult<CostBasisMethodResponse>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_record_passes_through_as_its_text() {
        let raw = RawJson::or_empty_object(r#"{"hash":"0xab","n":[1,2.5,"é"]}"#.to_owned());
        assert_eq!(raw.get(), r#"{"hash":"0xab","n":[1,2.5,"é"]}"#);
        assert_eq!(serde_json::to_string(&raw).expect("serialized"), raw.get());
        assert_eq!(raw.value()["hash"], "0xab");
        for unreadable in ["", "{", "not json", "{\"a\":1} trailing"] {
            assert_eq!(RawJson::or_empty_object(unreadable.to_owned()).get(), "{}", "{unreadable:?}");
        }
        assert_eq!(RawJson::default().get(), "{}");
    }

    #[test]
    fn equal_documents_are_equal_whatever_the_spacing() {
        let a = RawJson::or_empty_object(r#"{"a":1,"b":[true]}"#.to_owned());
        let b: RawJson = serde_json::from_str(r#"{ "a": 1, "b": [ true ] }"#).expect("raw");
        assert_eq!(a, b);
        assert_ne!(a, RawJson::default());
    }

    /// The client SDK reads an answer with `serde_json::from_slice`: `rawTrx` comes back as the
    /// document the server sent.
    #[test]
    fn a_transaction_reads_back_from_its_json() {
        let view = TransactionView {
            id: "trx_ab".into(),
            transaction_platform_id: "0xab".into(),
            timestamp: 1,
            label: "Deposit".into(),
            description: String::new(),
            incoming_assets: Vec::new(),
            outgoing_assets: Vec::new(),
            fee: Vec::new(),
            metadata: TransactionMetadata {
                import_source: "API".into(),
                is_manual: false,
                is_edited: false,
                is_defi_trx: false,
                is_nft_trx: false,
                is_missing_price: false,
                is_missing_purchase: false,
            },
            total_costbasis: Exact::zero(),
            total_gains: Exact::zero(),
            tags: Vec::new(),
            ledger: Vec::new(),
            raw_trx: RawJson::or_empty_object(r#"{"hash":"0xab","logs":[{"i":0}]}"#.to_owned()),
        };
        let text = serde_json::to_vec(&view).expect("serialized");
        let json: serde_json::Value = serde_json::from_slice(&text).expect("json");
        assert_eq!(json["rawTrx"], serde_json::json!({"hash": "0xab", "logs": [{"i": 0}]}));
        let back: TransactionView = serde_json::from_slice(&text).expect("read back");
        assert_eq!(back, view);
        assert_eq!(back.raw_trx.value()["logs"][0]["i"], 0);
    }
}
