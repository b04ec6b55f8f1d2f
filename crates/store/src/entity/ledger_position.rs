//! The `ledger_positions` table: what each integration holds of each asset according to its
//! ledger (the calculated balance) and the cost basis of those lots.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_positions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: String,
    pub integration_id: String,
    pub token_id: String,
    pub symbol: String,
    pub public_name: String,
    pub chain_id: String,
    pub contract_address: Option<String>,
    pub asset_type: String,
    pub decimals: i32,
    pub quantity: String,
    pub cost: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
