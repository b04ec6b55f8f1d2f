//! The `link_tokens` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub digest: String,
    pub client_id: String,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    pub resumed_grant_id: Option<String>,
    pub user_id: Option<String>,
    pub workspace_id: Option<String>,
    pub consent: Option<bool>,
    pub integration_name: Option<String>,
    pub prefill: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
