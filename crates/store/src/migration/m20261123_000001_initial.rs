//! Clients, users, workspaces, memberships, link/public/access tokens, grants and audit events.

use crate::entity::{access_token, audit_event, client, grant, link_token, membership, public_token, user, workspace};
use sea_orm_migration::prelude::*;

/// The initial schema.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

pub(super) fn text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().not_null().to_owned()
}
pub(super) fn opt_text<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).string().null().to_owned()
}
pub(super) fn millis<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).big_integer().not_null().to_owned()
}
pub(super) fn opt_millis<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).big_integer().null().to_owned()
}
pub(super) fn serial<C: IntoIden>(c: C) -> ColumnDef {
    ColumnDef::new(c).big_integer().not_null().auto_increment().primary_key().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm::sea_query::Index;
        m.create_table(
            Table::create()
                .table(client::Entity)
                .col(text(client::Column::Id).primary_key())
                .col(text(client::Column::Name))
                .col(text(client::Column::Mode))
                .col(text(client::Column::SecretDigest))
                .col(text(client::Column::AllowedScopes))
                .col(text(client::Column::AllowedOrigins))
                .col(text(client::Column::RedirectUris))
                .col(opt_text(client::Column::LogoUrl))
                .col(millis(client::Column::CreatedAt))
                .col(opt_millis(client::Column::DisabledAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(user::Entity)
                .col(text(user::Column::Id).primary_key())
                .col(opt_text(user::Column::Email).unique_key())
                .col(ColumnDef::new(user::Column::IsAnonymous).boolean().not_null())
                .col(opt_text(user::Column::Name))
                .col(text(user::Column::Language))
                .col(millis(user::Column::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(workspace::Entity)
                .col(text(workspace::Column::Id).primary_key())
                .col(text(workspace::Column::Name))
                .col(millis(workspace::Column::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(membership::Entity)
                .col(text(membership::Column::WorkspaceId))
                .col(text(membership::Column::UserId))
                .col(text(membership::Column::Role))
                .col(millis(membership::Column::CreatedAt))
                .primary_key(Index::create().col(membership::Column::WorkspaceId).col(membership::Column::UserId))
                .foreign_key(
                    ForeignKey::create()
                        .from(membership::Entity, membership::Column::WorkspaceId)
                        .to(workspace::Entity, workspace::Column::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(membership::Entity, membership::Column::UserId)
                        .to(user::Entity, user::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(link_token::Entity)
                .col(serial(link_token::Column::Id))
                .col(text(link_token::Column::Digest).unique_key())
                .col(text(link_token::Column::ClientId))
                .col(text(link_token::Column::Scopes))
                .col(millis(link_token::Column::CreatedAt))
                .col(millis(link_token::Column::ExpiresAt))
                .col(opt_millis(link_token::Column::CompletedAt))
                .col(opt_text(link_token::Column::ResumedGrantId))
                .col(opt_text(link_token::Column::UserId))
                .col(opt_text(link_token::Column::WorkspaceId))
                .col(ColumnDef::new(link_token::Column::Consent).boolean().null())
                .col(opt_text(link_token::Column::IntegrationName))
                .col(ColumnDef::new(link_token::Column::Prefill).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(link_token::Entity, link_token::Column::ClientId)
                        .to(client::Entity, client::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(public_token::Entity)
                .col(serial(public_token::Column::Id))
                .col(text(public_token::Column::Digest).unique_key())
                .col(text(public_token::Column::ClientId))
                .col(ColumnDef::new(public_token::Column::LinkTokenId).big_integer().not_null())
                .col(text(public_token::Column::UserId))
                .col(text(public_token::Column::WorkspaceId))
                .col(text(public_token::Column::Scopes))
                .col(millis(public_token::Column::CreatedAt))
                .col(millis(public_token::Column::ExpiresAt))
                .col(opt_millis(public_token::Column::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(public_token::Entity, public_token::Column::LinkTokenId)
                        .to(link_token::Entity, link_token::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(grant::Entity)
                .col(serial(grant::Column::Seq))
                .col(text(grant::Column::Id).unique_key())
                .col(text(grant::Column::ClientId))
                .col(text(grant::Column::UserId))
                .col(text(grant::Column::WorkspaceId))
                .col(text(grant::Column::Scopes))
                .col(millis(grant::Column::CreatedAt))
                .col(millis(grant::Column::ExpiresAt))
                .col(opt_millis(grant::Column::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(grant::Entity, grant::Column::ClientId)
                        .to(client::Entity, client::Column::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(grant::Entity, grant::Column::WorkspaceId)
                        .to(workspace::Entity, workspace::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_grants_client_seq")
                .table(grant::Entity)
                .col(grant::Column::ClientId)
                .col(grant::Column::Seq)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(access_token::Entity)
                .col(serial(access_token::Column::Id))
                .col(text(access_token::Column::Digest).unique_key())
                .col(text(access_token::Column::GrantId))
                .col(text(access_token::Column::ClientId))
                .col(millis(access_token::Column::CreatedAt))
                .col(millis(access_token::Column::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(access_token::Entity, access_token::Column::GrantId)
                        .to(grant::Entity, grant::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(audit_event::Entity)
                .col(serial(audit_event::Column::Id))
                .col(millis(audit_event::Column::At))
                .col(text(audit_event::Column::Kind))
                .col(text(audit_event::Column::Outcome))
                .col(opt_text(audit_event::Column::ClientId))
                .col(opt_text(audit_event::Column::GrantId))
                .col(opt_text(audit_event::Column::UserId))
                .col(opt_text(audit_event::Column::Ip))
                .col(opt_text(audit_event::Column::RequestId))
                .col(ColumnDef::new(audit_event::Column::Detail).text().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_client_at")
                .table(audit_event::Entity)
                .col(audit_event::Column::ClientId)
                .col(audit_event::Column::At)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(audit_event::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(access_token::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(grant::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(public_token::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(link_token::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(membership::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(workspace::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(user::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(client::Entity).to_owned()).await?;
        Ok(())
    }
}
