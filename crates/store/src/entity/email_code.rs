//! The `email_codes` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub link_token_id: i64,
    pub email: String,
    pub code_digest: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i32,
    pub consumed_at: Option<i64>,
    /// The client IP the code was requested from (throttling per address and IP).
    pub requested_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
