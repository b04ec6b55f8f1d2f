//! The `webhook_deliveries` table: the transactional outbox. A row is written in the same
//! transaction as the change it reports and moves `pending` → `sending` (claimed) →
//! `delivered` | `failed` | `cancelled`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub endpoint_id: String,
    pub client_id: String,
    pub event: String,
    pub ordering_key: String,
    pub payload: String,
    pub occurred_at: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
