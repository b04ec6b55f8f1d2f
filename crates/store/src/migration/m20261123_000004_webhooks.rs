//! Webhook endpoints and the delivery outbox.

use super::m20261123_000001_initial::{millis, opt_millis, opt_text, serial, text};
use crate::entity::{audit_event, client, grant, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Webhooks.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(webhook_endpoint::Entity)
                .col(text(webhook_endpoint::Column::Id).primary_key())
                .col(text(webhook_endpoint::Column::ClientId))
                .col(ColumnDef::new(webhook_endpoint::Column::Url).text().not_null())
                .col(text(webhook_endpoint::Column::Events))
                .col(ColumnDef::new(webhook_endpoint::Column::Secret).text().not_null())
                .col(text(webhook_endpoint::Column::SecretKeyId))
                .col(millis(webhook_endpoint::Column::CreatedAt))
                .col(millis(webhook_endpoint::Column::UpdatedAt))
                .col(opt_millis(webhook_endpoint::Column::RemovedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(webhook_endpoint::Entity, webhook_endpoint::Column::ClientId)
                        .to(client::Entity, client::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_endpoints_client")
                .table(webhook_endpoint::Entity)
                .col(webhook_endpoint::Column::ClientId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(webhook_delivery::Entity)
                .col(serial(webhook_delivery::Column::Seq))
                .col(text(webhook_delivery::Column::Id).unique_key())
                .col(text(webhook_delivery::Column::EndpointId))
                .col(text(webhook_delivery::Column::ClientId))
                .col(text(webhook_delivery::Column::Event))
                .col(text(webhook_delivery::Column::OrderingKey))
                .col(ColumnDef::new(webhook_delivery::Column::Payload).text().not_null())
                .col(millis(webhook_delivery::Column::OccurredAt))
                .col(text(webhook_delivery::Column::Status))
                .col(ColumnDef::new(webhook_delivery::Column::Attempts).integer().not_null().default(0))
                .col(millis(webhook_delivery::Column::NextAttemptAt))
                .col(opt_text(webhook_delivery::Column::LockedBy))
                .col(opt_millis(webhook_delivery::Column::LockedUntil))
                .col(ColumnDef::new(webhook_delivery::Column::LastStatus).integer().null())
                .col(ColumnDef::new(webhook_delivery::Column::LastError).text().null())
                .col(opt_millis(webhook_delivery::Column::CompletedAt))
                .col(millis(webhook_delivery::Column::CreatedAt))
                .col(millis(webhook_delivery::Column::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(webhook_delivery::Entity, webhook_delivery::Column::EndpointId)
                        .to(webhook_endpoint::Entity, webhook_endpoint::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        // The dispatcher's claim: due rows by time.
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_status_next")
                .table(webhook_delivery::Entity)
                .col(webhook_delivery::Column::Status)
                .col(webhook_delivery::Column::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        // Ordering: is an earlier delivery of the same endpoint and grant still undelivered?
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_order")
                .table(webhook_delivery::Entity)
                .col(webhook_delivery::Column::EndpointId)
                .col(webhook_delivery::Column::OrderingKey)
                .col(webhook_delivery::Column::Seq)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_client")
                .table(webhook_delivery::Entity)
                .col(webhook_delivery::Column::ClientId)
                .col(webhook_delivery::Column::Seq)
                .to_owned(),
        )
        .await?;
        // Integration events look up the live grants over a workspace.
        m.create_index(
            Index::create()
                .name("idx_grants_workspace")
                .table(grant::Entity)
                .col(grant::Column::WorkspaceId)
                .to_owned(),
        )
        .await?;
        // Audit retention deletes by age.
        m.create_index(
            Index::create()
                .name("idx_audit_events_at")
                .table(audit_event::Entity)
                .col(audit_event::Column::At)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_audit_events_at").table(audit_event::Entity).to_owned()).await?;
        m.drop_index(Index::drop().name("idx_grants_workspace").table(grant::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(webhook_delivery::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(webhook_endpoint::Entity).to_owned()).await?;
        Ok(())
    }
}
