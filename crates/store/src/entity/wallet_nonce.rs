//! The `wallet_nonces` table: single-use sign-in nonces of wallet ownership proofs.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_nonces")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// SHA-256 of the nonce, hex.
    #[sea_orm(unique)]
    pub digest: String,
    /// The link session (`link_tokens.id`) it was issued to.
    pub link_session_id: i64,
    /// The provider the proof is for.
    pub provider: String,
    /// The address the message names (EIP-55 or base58).
    pub address: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
