//! Wallet ownership proofs: the `wallet_nonces` table (single-use sign-in nonces, stored as
//! digests, bound to a link session) and the `verified_at` / `proof_method` columns of
//! `integrations`.

use sea_orm_migration::prelude::*;

/// The `wallet_nonces` table and the integrations' verification columns.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_wallet_proofs"
    }
}

#[derive(DeriveIden)]
enum WalletNonces {
    Table,
    Id,
    Digest,
    LinkSessionId,
    Provider,
    Address,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    VerifiedAt,
    ProofMethod,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WalletNonces::Table)
                .col(ColumnDef::new(WalletNonces::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(WalletNonces::Digest).string().not_null().unique_key())
                .col(ColumnDef::new(WalletNonces::LinkSessionId).big_integer().not_null())
                .col(ColumnDef::new(WalletNonces::Provider).string().not_null())
                .col(ColumnDef::new(WalletNonces::Address).string().not_null())
                .col(ColumnDef::new(WalletNonces::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(WalletNonces::ExpiresAt).big_integer().not_null())
                .col(ColumnDef::new(WalletNonces::UsedAt).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_wallet_nonces_expires")
                .table(WalletNonces::Table)
                .col(WalletNonces::ExpiresAt)
                .to_owned(),
        )
        .await?;
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table(Integrations::Table)
                .add_column(ColumnDef::new(Integrations::VerifiedAt).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Integrations::Table)
                .add_column(ColumnDef::new(Integrations::ProofMethod).string().null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Integrations::Table).drop_column(Integrations::ProofMethod).to_owned())
            .await?;
        m.alter_table(Table::alter().table(Integrations::Table).drop_column(Integrations::VerifiedAt).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WalletNonces::Table).to_owned()).await?;
        Ok(())
    }
}
