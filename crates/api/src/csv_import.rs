//! CSV import from the widget (issue 16): an exchange's own export or the generic template,
//! added to the ledger of one of the session workspace's exchange integrations.

use crate::{ApiResult, LinkTokenCredential, RequestMeta};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The largest CSV file accepted, in bytes (10 MB).
pub const CSV_MAX_BYTES: usize = 10 * 1024 * 1024;

/// What an import added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CsvImportResponse {
    /// The recognised layout: `binance`, `coinbase` or `generic`.
    pub format: String,
    /// Transactions in the file.
    pub transactions: u64,
    /// Transactions that were new (a re-import of the same file adds 0).
    pub imported: u64,
}

/// CSV import through the widget (`X-LINK-TOKEN`).
#[async_trait]
pub trait CsvImportApi: Send + Sync {
    /// Parses `body` (at most 10 MB) and adds its transactions, with `importSource: CSV`, to
    /// the ledger of integration `wallet_id` of the session's workspace, all or nothing, then
    /// runs transfer detection and cost basis. A file with bad rows is `INVALID_REQUEST` whose
    /// `details` has one entry per bad row (`path` = `["line", "<n>"]`) and imports nothing.
    async fn import_csv(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        wallet_id: &str,
        body: &[u8],
    ) -> ApiResult<CsvImportResponse>;
}
