//! The `clients` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub mode: String,
    pub secret_digest: String,
    pub allowed_scopes: String,
    /// JSON array of origins.
    pub allowed_origins: String,
    /// JSON array of redirect URIs.
    pub redirect_uris: String,
    pub logo_url: Option<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
