//! The developer console and admin API: operator tokens, console users, organisations,
//! members, invitations, sessions, sign-in codes, client ownership and webhook settings.

use super::m20261123_000001_initial::{millis, opt_millis, opt_text, serial, text};
use crate::sea::console_entities::{
    console_client_org, console_code, console_invitation, console_member, console_org, console_session, console_user,
    operator_token, webhook_setting,
};
use sea_orm::sea_query::Index;
use sea_orm_migration::prelude::*;

/// The console tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_console"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use operator_token::Column as Op;
        m.create_table(
            Table::create()
                .table(operator_token::Entity)
                .col(text(Op::Id).primary_key())
                .col(text(Op::Name))
                .col(text(Op::Digest).unique_key())
                .col(text(Op::Scopes))
                .col(opt_text(Op::OrgId))
                .col(millis(Op::CreatedAt))
                .col(millis(Op::ExpiresAt))
                .col(opt_millis(Op::RevokedAt))
                .col(opt_millis(Op::LastUsedAt))
                .to_owned(),
        )
        .await?;
        use console_user::Column as U;
        m.create_table(
            Table::create()
                .table(console_user::Entity)
                .col(text(U::Id).primary_key())
                .col(text(U::Email).unique_key())
                .col(ColumnDef::new(U::IsOperator).boolean().not_null().default(false))
                .col(millis(U::CreatedAt))
                .to_owned(),
        )
        .await?;
        use console_org::Column as O;
        m.create_table(
            Table::create()
                .table(console_org::Entity)
                .col(text(O::Id).primary_key())
                .col(text(O::Name))
                .col(millis(O::CreatedAt))
                .to_owned(),
        )
        .await?;
        use console_member::Column as M;
        m.create_table(
            Table::create()
                .table(console_member::Entity)
                .col(text(M::OrgId))
                .col(text(M::UserId))
                .col(text(M::Role))
                .col(millis(M::CreatedAt))
                .primary_key(Index::create().col(M::OrgId).col(M::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_console_members_user").table(console_member::Entity).col(M::UserId).to_owned(),
        )
        .await?;
        use console_invitation::Column as I;
        m.create_table(
            Table::create()
                .table(console_invitation::Entity)
                .col(text(I::Id).primary_key())
                .col(text(I::OrgId))
                .col(text(I::Email))
                .col(text(I::Role))
                .col(text(I::InvitedBy))
                .col(millis(I::CreatedAt))
                .col(millis(I::ExpiresAt))
                .col(opt_millis(I::AcceptedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_console_invitations_email")
                .table(console_invitation::Entity)
                .col(I::Email)
                .to_owned(),
        )
        .await?;
        use console_client_org::Column as C;
        m.create_table(
            Table::create()
                .table(console_client_org::Entity)
                .col(text(C::ClientId).primary_key())
                .col(opt_text(C::OrgId))
                .col(millis(C::CreatedAt))
                .col(opt_text(C::ProductionRequestedBy))
                .col(opt_millis(C::ProductionRequestedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_console_client_orgs_org")
                .table(console_client_org::Entity)
                .col(C::OrgId)
                .to_owned(),
        )
        .await?;
        use console_session::Column as S;
        m.create_table(
            Table::create()
                .table(console_session::Entity)
                .col(text(S::Digest).primary_key())
                .col(text(S::UserId))
                .col(millis(S::CreatedAt))
                .col(millis(S::LastSeenAt))
                .col(millis(S::ExpiresAt))
                .col(opt_millis(S::RevokedAt))
                .to_owned(),
        )
        .await?;
        use console_code::Column as K;
        m.create_table(
            Table::create()
                .table(console_code::Entity)
                .col(serial(K::Id))
                .col(text(K::Email))
                .col(text(K::CodeDigest))
                .col(millis(K::CreatedAt))
                .col(millis(K::ExpiresAt))
                .col(ColumnDef::new(K::Attempts).integer().not_null().default(0))
                .col(opt_millis(K::ConsumedAt))
                .col(opt_text(K::RequestedIp))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_console_codes_email")
                .table(console_code::Entity)
                .col(K::Email)
                .col(K::CreatedAt)
                .to_owned(),
        )
        .await?;
        use webhook_setting::Column as W;
        m.create_table(
            Table::create()
                .table(webhook_setting::Entity)
                .col(text(W::EndpointId).primary_key())
                .col(ColumnDef::new(W::Description).text().null())
                .col(opt_millis(W::DisabledAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(webhook_setting::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_code::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_session::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_client_org::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_invitation::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_member::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_org::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(console_user::Entity).to_owned()).await?;
        m.drop_table(Table::drop().table(operator_token::Entity).to_owned()).await?;
        Ok(())
    }
}
