//! The `integrations` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub provider: String,
    pub category: String,
    pub address: Option<String>,
    pub alias: Option<String>,
    pub account_name: Option<String>,
    pub credentials: Option<String>,
    pub credentials_key_id: Option<String>,
    pub credential_fingerprint: Option<String>,
    pub sync_status: String,
    pub last_error: Option<String>,
    pub last_synced_at: Option<i64>,
    pub total_transactions: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the user proved ownership of the address by signing (wallet sign-in), if they did.
    pub verified_at: Option<i64>,
    /// How: `eip4361` (EVM) or `siws` (Solana).
    pub proof_method: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
