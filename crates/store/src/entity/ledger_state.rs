//! The `ledger_states` table: per integration, the history cursor to resume from and the
//! stages of its last sync (JSON `{stage: {status, count?, message?}}`), and how many
//! transactions its ledger holds, and whether the ranks of its transactions are current.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub integration_id: String,
    pub workspace_id: String,
    pub cursor: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub stages: String,
    pub updated_at: i64,
    pub transaction_count: i64,
    /// The ledger's ranks (`ledger_transactions.ordinal`, `wallet_ordinal`) are current.
    pub ordered: bool,
    /// How many transactions of the workspace the ranks covered when they were written.
    pub ordered_total: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
