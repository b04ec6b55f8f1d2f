//! Balance snapshots for the Data API, and per-grant transaction limits.

use super::m20261123_000001_initial::{millis, opt_text, serial, text};
use crate::entity::{balance_snapshot, grant, integration};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Data API storage.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_data"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(balance_snapshot::Entity)
                .col(serial(balance_snapshot::Column::Id))
                .col(text(balance_snapshot::Column::IntegrationId))
                .col(text(balance_snapshot::Column::TokenId))
                .col(text(balance_snapshot::Column::Symbol))
                .col(text(balance_snapshot::Column::PublicName))
                .col(text(balance_snapshot::Column::ChainId))
                .col(opt_text(balance_snapshot::Column::ContractAddress))
                .col(text(balance_snapshot::Column::LogoUrl))
                .col(text(balance_snapshot::Column::Category))
                .col(text(balance_snapshot::Column::AssetType))
                .col(ColumnDef::new(balance_snapshot::Column::Decimals).integer().not_null())
                .col(text(balance_snapshot::Column::Quantity))
                .col(millis(balance_snapshot::Column::TakenAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(balance_snapshot::Entity, balance_snapshot::Column::IntegrationId)
                        .to(integration::Entity, integration::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_balance_snapshots_integration")
                .table(balance_snapshot::Entity)
                .col(balance_snapshot::Column::IntegrationId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(grant::Entity)
                .add_column(ColumnDef::new(grant::Column::TransactionLimit).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(grant::Entity)
                .add_column(ColumnDef::new(grant::Column::EnableLimiter).boolean().not_null().default(false))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(balance_snapshot::Entity).to_owned()).await?;
        m.alter_table(Table::alter().table(grant::Entity).drop_column(grant::Column::EnableLimiter).to_owned()).await?;
        m.alter_table(Table::alter().table(grant::Entity).drop_column(grant::Column::TransactionLimit).to_owned())
            .await?;
        Ok(())
    }
}
