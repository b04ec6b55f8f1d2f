//! The `ledger_legs` table: the incoming, outgoing and fee legs of a ledger transaction,
//! keyed by (transaction, leg index). Quantities and amounts are exact decimal text.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_legs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub transaction_id: String,
    pub leg_index: i32,
    pub workspace_id: String,
    pub direction: String,
    pub token_id: String,
    pub symbol: String,
    pub public_name: String,
    pub chain_id: String,
    pub contract_address: Option<String>,
    pub asset_type: String,
    pub decimals: i32,
    pub quantity: String,
    pub price: Option<String>,
    pub from_address: Option<String>,
    pub to_address: Option<String>,
    pub cost_basis: Option<String>,
    pub gain: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
