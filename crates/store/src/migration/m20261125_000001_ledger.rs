//! The transaction ledger (issue 15): transactions and their legs per workspace, the
//! positions and cost basis computed from them, and per-integration history cursors.
//!
//! Idempotence lives in unique indexes: `(integration_id, platform_tx_id)` for transactions
//! and `(transaction_id, leg_index)` for legs, so a resync never duplicates. The Data API's
//! transaction list reads `(workspace_id, timestamp, id)`, an index that serves both orders
//! and every page without a sort.

use super::m20261123_000001_initial::{millis, opt_text, serial, text};
use crate::entity::{ledger_leg, ledger_position, ledger_setting, ledger_state, ledger_transaction};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Ledger storage.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_ledger"
    }
}

fn flag<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).boolean().not_null().default(false).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_transaction::Column as T;
        m.create_table(
            Table::create()
                .table(ledger_transaction::Entity)
                .col(text(T::Id).primary_key())
                .col(text(T::WorkspaceId))
                .col(text(T::IntegrationId))
                .col(text(T::PlatformTxId))
                .col(text(T::ChainId))
                .col(millis(T::Timestamp))
                .col(flag(T::Failed))
                .col(opt_text(T::SourceLabel))
                .col(text(T::Label))
                .col(text(T::TransactionType))
                .col(text(T::Description))
                .col(flag(T::IsNft))
                .col(flag(T::IsManual))
                .col(flag(T::IsEdited))
                .col(flag(T::IsMissingPrice))
                .col(flag(T::IsMissingPurchase))
                .col(text(T::TotalCostbasis))
                .col(text(T::TotalGains))
                .col(ColumnDef::new(T::Raw).text().not_null())
                .col(millis(T::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_ledger_transactions_platform")
                .table(ledger_transaction::Entity)
                .col(T::IntegrationId)
                .col(T::PlatformTxId)
                .unique()
                .to_owned(),
        )
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

        use ledger_leg::Column as L;
        m.create_table(
            Table::create()
                .table(ledger_leg::Entity)
                .col(serial(L::Id))
                .col(text(L::TransactionId))
                .col(ColumnDef::new(L::LegIndex).integer().not_null())
                .col(text(L::WorkspaceId))
                .col(text(L::Direction))
                .col(text(L::TokenId))
                .col(text(L::Symbol))
                .col(text(L::PublicName))
                .col(text(L::ChainId))
                .col(opt_text(L::ContractAddress))
                .col(text(L::AssetType))
                .col(ColumnDef::new(L::Decimals).integer().not_null())
                .col(text(L::Quantity))
                .col(opt_text(L::Price))
                .col(opt_text(L::FromAddress))
                .col(opt_text(L::ToAddress))
                .col(opt_text(L::CostBasis))
                .col(opt_text(L::Gain))
                .foreign_key(
                    ForeignKey::create()
                        .from(ledger_leg::Entity, L::TransactionId)
                        .to(ledger_transaction::Entity, T::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_ledger_legs_index")
                .table(ledger_leg::Entity)
                .col(L::TransactionId)
                .col(L::LegIndex)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_legs_asset")
                .table(ledger_leg::Entity)
                .col(L::WorkspaceId)
                .col(L::TokenId)
                .col(L::TransactionId)
                .to_owned(),
        )
        .await?;

        use ledger_position::Column as P;
        m.create_table(
            Table::create()
                .table(ledger_position::Entity)
                .col(serial(P::Id))
                .col(text(P::WorkspaceId))
                .col(text(P::IntegrationId))
                .col(text(P::TokenId))
                .col(text(P::Symbol))
                .col(text(P::PublicName))
                .col(text(P::ChainId))
                .col(opt_text(P::ContractAddress))
                .col(text(P::AssetType))
                .col(ColumnDef::new(P::Decimals).integer().not_null())
                .col(text(P::Quantity))
                .col(text(P::Cost))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_positions_workspace")
                .table(ledger_position::Entity)
                .col(P::WorkspaceId)
                .to_owned(),
        )
        .await?;

        use ledger_state::Column as S;
        m.create_table(
            Table::create()
                .table(ledger_state::Entity)
                .col(text(S::IntegrationId).primary_key())
                .col(text(S::WorkspaceId))
                .col(opt_text(S::Cursor))
                .col(ColumnDef::new(S::Stages).text().not_null())
                .col(millis(S::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ledger_states_workspace")
                .table(ledger_state::Entity)
                .col(S::WorkspaceId)
                .to_owned(),
        )
        .await?;

        use ledger_setting::Column as W;
        m.create_table(
            Table::create()
                .table(ledger_setting::Entity)
                .col(text(W::WorkspaceId).primary_key())
                .col(text(W::CostBasisMethod))
                .col(millis(W::UpdatedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ledger_setting::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(ledger_state::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(ledger_position::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(ledger_leg::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(ledger_transaction::Entity).to_owned()).await?;
        Ok(())
    }
}
