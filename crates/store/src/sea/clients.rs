//! `SeaStore`: Client applications.

use super::*;

#[async_trait]
impl crate::ClientStore for SeaStore {
    async fn insert_client(&self, c: &ClientRecord, now: OffsetDateTime) -> StoreResult<()> {
        let row = client::ActiveModel {
            id: Set(c.id.to_string()),
            name: Set(c.name.clone()),
            mode: Set(c.mode.as_str().to_owned()),
            secret_digest: Set(c.secret_digest.clone()),
            allowed_scopes: Set(c.allowed_scopes.to_string()),
            allowed_origins: Set(to_json_list(&c.allowed_origins)),
            redirect_uris: Set(to_json_list(&c.redirect_uris)),
            logo_url: Set(c.logo_url.clone()),
            created_at: Set(ms(now)),
            disabled_at: Set(c.disabled.then(|| ms(now))),
        };
        // The client and its `client_origins` rows commit together.
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        client::Entity::insert(row).exec_without_returning(&txn).await.map_err(crate::db_err)?;
        hot::replace_client_origins(&txn, c.id.as_str(), &c.allowed_origins).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        client::Entity::find_by_id(id.as_str()).one(&self.db).await.map_err(crate::db_err)?.map(client_from).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        client::Entity::find()
            .order_by_asc(client::Column::CreatedAt)
            .order_by_asc(client::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(client_from)
            .collect()
    }

    async fn set_client_secret(&self, id: &ClientId, secret_digest: &str) -> StoreResult<bool> {
        let res = client::Entity::update_many()
            .col_expr(client::Column::SecretDigest, Expr::value(secret_digest))
            .filter(client::Column::Id.eq(id.as_str()))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn disable_client(&self, id: &ClientId, now: OffsetDateTime) -> StoreResult<bool> {
        let res = client::Entity::update_many()
            .col_expr(client::Column::DisabledAt, Expr::value(ms(now)))
            .filter(client::Column::Id.eq(id.as_str()))
            .filter(client::Column::DisabledAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        if res.rows_affected == 1 {
            return Ok(true);
        }
        Ok(self.find_client(id).await?.is_some())
    }

    async fn update_client(&self, current: &ClientRecord, updated: &ClientRecord) -> StoreResult<bool> {
        // Compare-and-swap on every editable column: a concurrent update makes this one match
        // no row, and the caller re-reads and re-applies its change.
        let logo_then = match &current.logo_url {
            Some(l) => client::Column::LogoUrl.eq(l.as_str()),
            None => client::Column::LogoUrl.is_null(),
        };
        // The client row and its `client_origins` rows change together.
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let res = client::Entity::update_many()
            .col_expr(client::Column::Name, Expr::value(updated.name.as_str()))
            .col_expr(client::Column::AllowedScopes, Expr::value(updated.allowed_scopes.to_string()))
            .col_expr(client::Column::AllowedOrigins, Expr::value(to_json_list(&updated.allowed_origins)))
            .col_expr(client::Column::RedirectUris, Expr::value(to_json_list(&updated.redirect_uris)))
            .col_expr(client::Column::LogoUrl, Expr::value(updated.logo_url.clone()))
            .filter(client::Column::Id.eq(current.id.as_str()))
            .filter(client::Column::Name.eq(current.name.as_str()))
            .filter(client::Column::AllowedScopes.eq(current.allowed_scopes.to_string()))
            .filter(client::Column::AllowedOrigins.eq(to_json_list(&current.allowed_origins)))
            .filter(client::Column::RedirectUris.eq(to_json_list(&current.redirect_uris)))
            .filter(logo_then)
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if res.rows_affected == 1 {
            hot::replace_client_origins(&txn, current.id.as_str(), &updated.allowed_origins).await?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }
}
