//! The OpenID Connect provider: signing keys, authorization requests, codes, refresh tokens.

use super::m20261123_000001_initial::{millis, opt_millis, opt_text, serial, text};
use crate::entity::{grant, link_token};
use crate::sea::oidc::{oidc_code, oidc_key, oidc_refresh, oidc_request};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// OpenID Connect.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_oidc"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(oidc_key::Entity)
                .col(serial(oidc_key::Column::Id))
                .col(text(oidc_key::Column::Kid).unique_key())
                .col(text(oidc_key::Column::Alg))
                .col(ColumnDef::new(oidc_key::Column::Generation).integer().not_null())
                .col(ColumnDef::new(oidc_key::Column::PrivateKey).text().not_null())
                .col(text(oidc_key::Column::PrivateKeyId))
                .col(ColumnDef::new(oidc_key::Column::PublicJwk).text().not_null())
                .col(millis(oidc_key::Column::CreatedAt))
                .to_owned(),
        )
        .await?;
        // Two nodes rotating at once: the second insert of a generation fails and that node
        // reloads the winner's key.
        m.create_index(
            Index::create()
                .name("idx_oidc_signing_keys_alg_generation")
                .table(oidc_key::Entity)
                .col(oidc_key::Column::Alg)
                .col(oidc_key::Column::Generation)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(oidc_request::Entity)
                .col(serial(oidc_request::Column::Id))
                .col(text(oidc_request::Column::Handle).unique_key())
                .col(ColumnDef::new(oidc_request::Column::LinkTokenId).big_integer().not_null().unique_key())
                .col(text(oidc_request::Column::ClientId))
                .col(ColumnDef::new(oidc_request::Column::RedirectUri).text().not_null())
                .col(opt_text(oidc_request::Column::State))
                .col(opt_text(oidc_request::Column::Nonce))
                .col(text(oidc_request::Column::CodeChallenge))
                .col(text(oidc_request::Column::Scopes))
                .col(millis(oidc_request::Column::CreatedAt))
                .col(millis(oidc_request::Column::ExpiresAt))
                .col(opt_millis(oidc_request::Column::CompletedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(oidc_request::Entity, oidc_request::Column::LinkTokenId)
                        .to(link_token::Entity, link_token::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(oidc_code::Entity)
                .col(serial(oidc_code::Column::Id))
                .col(text(oidc_code::Column::Digest).unique_key())
                .col(ColumnDef::new(oidc_code::Column::RequestId).big_integer().not_null().unique_key())
                .col(text(oidc_code::Column::ClientId))
                .col(ColumnDef::new(oidc_code::Column::RedirectUri).text().not_null())
                .col(text(oidc_code::Column::CodeChallenge))
                .col(opt_text(oidc_code::Column::Nonce))
                .col(text(oidc_code::Column::Scopes))
                .col(text(oidc_code::Column::UserId))
                .col(text(oidc_code::Column::WorkspaceId))
                .col(millis(oidc_code::Column::AuthTime))
                .col(millis(oidc_code::Column::CreatedAt))
                .col(millis(oidc_code::Column::ExpiresAt))
                .col(opt_millis(oidc_code::Column::UsedAt))
                .col(opt_text(oidc_code::Column::GrantId))
                .foreign_key(
                    ForeignKey::create()
                        .from(oidc_code::Entity, oidc_code::Column::RequestId)
                        .to(oidc_request::Entity, oidc_request::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(oidc_refresh::Entity)
                .col(serial(oidc_refresh::Column::Id))
                .col(text(oidc_refresh::Column::Digest).unique_key())
                .col(text(oidc_refresh::Column::GrantId))
                .col(text(oidc_refresh::Column::ClientId))
                .col(millis(oidc_refresh::Column::AuthTime))
                .col(millis(oidc_refresh::Column::CreatedAt))
                .col(millis(oidc_refresh::Column::ExpiresAt))
                .col(opt_millis(oidc_refresh::Column::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(oidc_refresh::Entity, oidc_refresh::Column::GrantId)
                        .to(grant::Entity, grant::Column::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_oidc_refresh_tokens_grant")
                .table(oidc_refresh::Entity)
                .col(oidc_refresh::Column::GrantId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(oidc_refresh::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(oidc_code::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(oidc_request::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(oidc_key::Entity).to_owned()).await
    }
}
