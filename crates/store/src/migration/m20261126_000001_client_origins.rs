//! `client_origins`: one row per (origin, client), so the widget's CORS check is one indexed
//! lookup instead of a scan that decodes every client. Backfilled from the clients'
//! `allowed_origins` lists; the store keeps it in step with every client create and update.

use crate::entity::client;
use sea_orm::{ConnectionTrait, EntityTrait};
use sea_orm_migration::prelude::*;

/// The `client_origins` table and its backfill.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_client_origins"
    }
}

/// The `client_origins` table: an origin a client registered (exact text, as in the client's
/// `allowed_origins`).
#[derive(DeriveIden)]
pub(crate) enum ClientOrigins {
    Table,
    Origin,
    ClientId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ClientOrigins::Table)
                .col(ColumnDef::new(ClientOrigins::Origin).text().not_null())
                .col(ColumnDef::new(ClientOrigins::ClientId).text().not_null())
                .primary_key(Index::create().col(ClientOrigins::Origin).col(ClientOrigins::ClientId))
                .foreign_key(
                    ForeignKey::create()
                        .from(ClientOrigins::Table, ClientOrigins::ClientId)
                        .to(client::Entity, client::Column::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_client_origins_client")
                .table(ClientOrigins::Table)
                .col(ClientOrigins::ClientId)
                .to_owned(),
        )
        .await?;
        // Backfill from the clients' JSON lists.
        let conn = m.get_connection();
        let clients = client::Entity::find().all(conn).await?;
        for c in clients {
            let mut origins: Vec<String> = serde_json::from_str(&c.allowed_origins)
                .map_err(|e| DbErr::Custom(format!("client {}: allowed_origins: {e}", c.id)))?;
            origins.sort();
            origins.dedup();
            if origins.is_empty() {
                continue;
            }
            let mut ins = Query::insert();
            ins.into_table(ClientOrigins::Table).columns([ClientOrigins::Origin, ClientOrigins::ClientId]);
            for o in origins {
                ins.values([o.into(), c.id.clone().into()]).map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            conn.execute(conn.get_database_backend().build(&ins)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ClientOrigins::Table).to_owned()).await?;
        Ok(())
    }
}
