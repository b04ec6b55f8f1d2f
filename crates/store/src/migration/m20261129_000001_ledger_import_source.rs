//! `ledger_transactions.import_source`: `API` for synced transactions (every existing row),
//! `CSV` for transactions imported from a file (issue 16).

use crate::entity::ledger_transaction;
use sea_orm_migration::prelude::*;

/// Adds the column.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000001_ledger_import_source"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ledger_transaction::Entity)
                .add_column(ColumnDef::new(ledger_transaction::Column::ImportSource).text().not_null().default("API"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ledger_transaction::Entity)
                .drop_column(ledger_transaction::Column::ImportSource)
                .to_owned(),
        )
        .await
    }
}
