//! Where each transaction stands in its workspace's ledger order, so that a page by `offset`
//! is an index range, not a scan of every row before it (issue 15: page 1 000 of 100 000
//! transactions costs the same as page 1).
//!
//! - `ledger_transactions.ordinal`: the row's rank (from 0) in the ledger order (timestamp,
//!   block, index, id) over the workspace's current integrations; `wallet_ordinal`: its rank
//!   within its integration's ledger. Both written by processing (`save_ledger_outcome`),
//!   `NULL` until then.
//! - `ledger_states.ordered`: the integration's ranks are current (set by processing, cleared
//!   by every write that adds or removes its transactions); `ordered_total`: how many
//!   transactions the workspace's ranks covered, so that a deleted integration is noticed.
//!
//! Existing ledgers get their ranks at their next processing; until then pages scan as before.

use crate::entity::{ledger_state, ledger_transaction};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Adds the columns and their indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_ledger_ordinals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_state::Column as S;
        use ledger_transaction::Column as T;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [T::Ordinal, T::WalletOrdinal] {
            m.alter_table(
                Table::alter()
                    .table(ledger_transaction::Entity)
                    .add_column(ColumnDef::new(column).big_integer().null())
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(ledger_state::Entity)
                .add_column(ColumnDef::new(S::Ordered).boolean().not_null().default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ledger_state::Entity)
                .add_column(ColumnDef::new(S::OrderedTotal).big_integer().not_null().default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_transactions_ordinal")
                .table(ledger_transaction::Entity)
                .col(T::WorkspaceId)
                .col(T::Ordinal)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_transactions_wallet_ordinal")
                .table(ledger_transaction::Entity)
                .col(T::IntegrationId)
                .col(T::WalletOrdinal)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_state::Column as S;
        use ledger_transaction::Column as T;
        for name in ["idx_ledger_transactions_wallet_ordinal", "idx_ledger_transactions_ordinal"] {
            m.drop_index(Index::drop().name(name).table(ledger_transaction::Entity).to_owned()).await?;
        }
        for column in [S::OrderedTotal, S::Ordered] {
            m.alter_table(Table::alter().table(ledger_state::Entity).drop_column(column).to_owned()).await?;
        }
        for column in [T::WalletOrdinal, T::Ordinal] {
            m.alter_table(Table::alter().table(ledger_transaction::Entity).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
