//! `ledger_transactions.block_number` and `block_index`: where a transaction sits in its chain
//! (block number or Solana slot, and the position within it; 0 and a sequence for the sandbox
//! and CSV imports). The ledger's order becomes (timestamp, block, index, id): two transactions
//! of the same second keep chain order instead of the order of their hashed ids, so a sale is
//! never processed before the buy it sells.
//!
//! Rows stored before this migration get (0, 0): their order is the previous one, (timestamp,
//! id), until a `from_start` resync stores them again with their position.

use crate::entity::ledger_transaction;
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Adds the columns and the index of the new order.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_ledger_position"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_transaction::Column as T;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [T::BlockNumber, T::BlockIndex] {
            m.alter_table(
                Table::alter()
                    .table(ledger_transaction::Entity)
                    .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(Index::drop().name("idx_ledger_transactions_page").table(ledger_transaction::Entity).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_transactions_order")
                .table(ledger_transaction::Entity)
                .col(T::WorkspaceId)
                .col(T::Timestamp)
                .col(T::BlockNumber)
                .col(T::BlockIndex)
                .col(T::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_transaction::Column as T;
        m.drop_index(Index::drop().name("idx_ledger_transactions_order").table(ledger_transaction::Entity).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_transactions_page")
                .table(ledger_transaction::Entity)
                .col(T::WorkspaceId)
                .col(T::Timestamp)
                .col(T::Id)
                .to_owned(),
        )
        .await?;
        for column in [T::BlockIndex, T::BlockNumber] {
            m.alter_table(Table::alter().table(ledger_transaction::Entity).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
