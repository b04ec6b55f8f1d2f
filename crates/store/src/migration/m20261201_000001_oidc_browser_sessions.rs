//! `oidc_browser_sessions`: the OpenID Connect provider's browser sessions (issue 18), so a
//! later `prompt=none` authorization by the same browser is answered without the widget.

use super::m20261123_000001_initial::{millis, opt_millis, serial, text};
use crate::sea::oidc::oidc_browser_session;
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// Creates the table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_oidc_browser_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use oidc_browser_session::Column as S;
        m.create_table(
            Table::create()
                .table(oidc_browser_session::Entity)
                .col(serial(S::Id))
                .col(text(S::Digest).unique_key())
                .col(text(S::UserId))
                .col(text(S::WorkspaceId))
                .col(millis(S::AuthTime))
                .col(millis(S::CreatedAt))
                .col(millis(S::LastUsedAt))
                .col(millis(S::ExpiresAt))
                .col(opt_millis(S::EndedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_oidc_browser_sessions_expires")
                .table(oidc_browser_session::Entity)
                .col(S::ExpiresAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(oidc_browser_session::Entity).to_owned()).await
    }
}
