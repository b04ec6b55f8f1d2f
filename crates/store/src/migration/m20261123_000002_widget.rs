//! Email sign-in codes, integrations and their sync jobs.

use super::m20261123_000001_initial::{millis, opt_millis, opt_text, serial, text};
use crate::entity::{email_code, integration, link_token, sync_job, workspace};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Widget sign-in and integrations.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_widget"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(email_code::Entity)
                .col(serial(email_code::Column::Id))
                .col(ColumnDef::new(email_code::Column::LinkTokenId).big_integer().not_null())
                .col(text(email_code::Column::Email))
                .col(text(email_code::Column::CodeDigest))
                .col(millis(email_code::Column::CreatedAt))
                .col(millis(email_code::Column::ExpiresAt))
                .col(ColumnDef::new(email_code::Column::Attempts).integer().not_null().default(0))
                .col(opt_millis(email_code::Column::ConsumedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(email_code::Entity, email_code::Column::LinkTokenId)
                        .to(link_token::Entity, link_token::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_email_codes_email_created")
                .table(email_code::Entity)
                .col(email_code::Column::Email)
                .col(email_code::Column::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(integration::Entity)
                .col(text(integration::Column::Id).primary_key())
                .col(text(integration::Column::WorkspaceId))
                .col(text(integration::Column::Provider))
                .col(text(integration::Column::Category))
                .col(opt_text(integration::Column::Address))
                .col(opt_text(integration::Column::Alias))
                .col(opt_text(integration::Column::AccountName))
                .col(ColumnDef::new(integration::Column::Credentials).text().null())
                .col(opt_text(integration::Column::CredentialsKeyId))
                .col(opt_text(integration::Column::CredentialFingerprint))
                .col(text(integration::Column::SyncStatus))
                .col(ColumnDef::new(integration::Column::LastError).text().null())
                .col(opt_millis(integration::Column::LastSyncedAt))
                .col(ColumnDef::new(integration::Column::TotalTransactions).big_integer().not_null().default(0))
                .col(millis(integration::Column::CreatedAt))
                .col(millis(integration::Column::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(integration::Entity, integration::Column::WorkspaceId)
                        .to(workspace::Entity, workspace::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        // A wallet address, or an exchange account (by credential fingerprint), once per workspace.
        m.create_index(
            Index::create()
                .name("uq_integrations_address")
                .table(integration::Entity)
                .col(integration::Column::WorkspaceId)
                .col(integration::Column::Provider)
                .col(integration::Column::Address)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_integrations_credentials")
                .table(integration::Entity)
                .col(integration::Column::WorkspaceId)
                .col(integration::Column::Provider)
                .col(integration::Column::CredentialFingerprint)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(sync_job::Entity)
                .col(serial(sync_job::Column::Id))
                .col(text(sync_job::Column::IntegrationId))
                .col(text(sync_job::Column::Mode))
                .col(text(sync_job::Column::Status))
                .col(ColumnDef::new(sync_job::Column::Attempts).integer().not_null().default(0))
                .col(millis(sync_job::Column::RunAfter))
                .col(opt_text(sync_job::Column::LockedBy))
                .col(opt_millis(sync_job::Column::LockedUntil))
                .col(ColumnDef::new(sync_job::Column::LastError).text().null())
                .col(millis(sync_job::Column::CreatedAt))
                .col(millis(sync_job::Column::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(sync_job::Entity, sync_job::Column::IntegrationId)
                        .to(integration::Entity, integration::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sync_jobs_status_run_after")
                .table(sync_job::Entity)
                .col(sync_job::Column::Status)
                .col(sync_job::Column::RunAfter)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(sync_job::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(integration::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(email_code::Entity).to_owned()).await?;
        Ok(())
    }
}
