//! The `balance_snapshots` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "balance_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub integration_id: String,
    pub token_id: String,
    pub symbol: String,
    pub public_name: String,
    pub chain_id: String,
    pub contract_address: Option<String>,
    pub logo_url: String,
    pub category: String,
    pub asset_type: String,
    pub decimals: i32,
    /// Exact decimal quantity, as text.
    pub quantity: String,
    pub taken_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
