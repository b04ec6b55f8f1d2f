//! Abuse limits shared by every node: the `rate_limits` budgets (GCRA, one row per bucket)
//! and the IP an email sign-in code was requested from.

use super::m20261123_000001_initial::text;
use crate::entity::email_code;
use sea_orm_migration::prelude::*;

/// Shared rate budgets and per-IP email-code throttling.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_abuse_limits"
    }
}

/// The `rate_limits` table: a bucket name (`auth:ip:…`, `auth:client-ip:…`) and its GCRA
/// theoretical arrival time in Unix milliseconds.
#[derive(DeriveIden)]
pub(crate) enum RateLimits {
    Table,
    Bucket,
    Tat,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RateLimits::Table)
                .col(text(RateLimits::Bucket).primary_key())
                .col(ColumnDef::new(RateLimits::Tat).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(email_code::Entity)
                .add_column(ColumnDef::new(email_code::Column::RequestedIp).string().null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(email_code::Entity).drop_column(email_code::Column::RequestedIp).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RateLimits::Table).to_owned()).await?;
        Ok(())
    }
}
