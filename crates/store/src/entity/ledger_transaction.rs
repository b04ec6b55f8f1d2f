//! The `ledger_transactions` table: one row per (integration, platform transaction id).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub integration_id: String,
    pub platform_tx_id: String,
    pub chain_id: String,
    pub timestamp: i64,
    /// Block number (EVM), slot (Solana), 0 for sources without blocks.
    pub block_number: i64,
    /// Position in the block (or the source's sequence).
    pub block_index: i64,
    pub failed: bool,
    pub source_label: Option<String>,
    pub label: String,
    pub transaction_type: String,
    pub description: String,
    pub is_nft: bool,
    pub is_manual: bool,
    pub is_edited: bool,
    pub is_missing_price: bool,
    pub is_missing_purchase: bool,
    pub total_costbasis: String,
    pub total_gains: String,
    #[sea_orm(column_type = "Text")]
    pub raw: String,
    pub created_at: i64,
    /// `API` (synced) or `CSV` (imported from a file).
    pub import_source: String,
    /// Rank (from 0) in the workspace's ledger order, written by processing.
    pub ordinal: Option<i64>,
    /// Rank (from 0) in the integration's ledger order, written by processing.
    pub wallet_ordinal: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
