//! `client_usage_days`: Data API calls per client and UTC day, for the console's usage view
//! (issue 19). One row per (client, day), added to by batched upserts.

use super::m20261123_000001_initial::{millis, text};
use crate::sea::console_entities::client_usage_day;
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Creates the table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000001_client_usage"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use client_usage_day::Column as U;
        m.create_table(
            Table::create()
                .table(client_usage_day::Entity)
                .col(text(U::ClientId))
                .col(millis(U::Day))
                .col(ColumnDef::new(U::DataApiCalls).big_integer().not_null().default(0))
                .primary_key(Index::create().col(U::ClientId).col(U::Day))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(client_usage_day::Entity).to_owned()).await
    }
}
