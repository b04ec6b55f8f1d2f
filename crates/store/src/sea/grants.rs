//! `SeaStore`: Grants and access tokens: the exactly-once exchange, lookups, limits, revocation.

use super::*;

#[async_trait]
impl crate::GrantStore for SeaStore {
    async fn client_grant_for(
        &self,
        client: &ClientId,
        user: &UserId,
        ws: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        use sea_orm::PaginatorTrait;
        let n = grant::Entity::find()
            .filter(grant::Column::ClientId.eq(client.as_str()))
            .filter(grant::Column::UserId.eq(user.as_str()))
            .filter(grant::Column::WorkspaceId.eq(ws.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)))
            .count(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(n > 0)
    }

    async fn workspace_transaction_limit(&self, ws: &WorkspaceId, now: OffsetDateTime) -> StoreResult<Option<i64>> {
        use sea_orm::{sea_query::Expr as E, QuerySelect};
        let least: Option<Option<i64>> = grant::Entity::find()
            .select_only()
            .column_as(E::col(grant::Column::TransactionLimit).min(), "least")
            .filter(grant::Column::WorkspaceId.eq(ws.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)))
            .filter(grant::Column::EnableLimiter.eq(true))
            .filter(grant::Column::TransactionLimit.is_not_null())
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(least.flatten())
    }

    async fn grant_limits(&self, id: &GrantId) -> StoreResult<Option<GrantLimits>> {
        Ok(grant::Entity::find()
            .filter(grant::Column::Id.eq(id.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(|g| GrantLimits { transaction_limit: g.transaction_limit, enable_limiter: g.enable_limiter }))
    }

    async fn set_grant_limits(
        &self,
        id: &GrantId,
        transaction_limit: Option<Option<i64>>,
        enable_limiter: Option<bool>,
    ) -> StoreResult<bool> {
        let mut q = grant::Entity::update_many().filter(grant::Column::Id.eq(id.as_str()));
        if let Some(limit) = transaction_limit {
            q = q.col_expr(grant::Column::TransactionLimit, Expr::value(limit));
        }
        if let Some(enable) = enable_limiter {
            q = q.col_expr(grant::Column::EnableLimiter, Expr::value(enable));
        }
        if transaction_limit.is_none() && enable_limiter.is_none() {
            return Ok(self.find_grant(id).await?.is_some());
        }
        Ok(q.exec(&self.db).await.map_err(crate::db_err)?.rows_affected == 1)
    }

    async fn exchange_public_token(
        &self,
        digest: &TokenDigest,
        client_id: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
    ) -> StoreResult<ExchangeOutcome> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let claimed = public_token::Entity::update_many()
            .col_expr(public_token::Column::UsedAt, Expr::value(ms(now)))
            .filter(public_token::Column::Digest.eq(digest.as_str()))
            .filter(public_token::Column::ClientId.eq(client_id.as_str()))
            .filter(public_token::Column::UsedAt.is_null())
            .filter(public_token::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        let row = public_token::Entity::find()
            .filter(public_token::Column::Digest.eq(digest.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?;
        if claimed.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            let refusal = match row {
                None => TokenRefusal::Invalid,
                Some(r) => public_from(r)?.exchangeable_by(client_id, now).err().unwrap_or(TokenRefusal::AlreadyUsed),
            };
            return Ok(ExchangeOutcome::Refused(refusal));
        }
        let token = public_from(row.ok_or_else(|| StoreError::Corrupt("claimed public token vanished".into()))?)?;
        let g = grant::ActiveModel {
            id: Set(issue.grant_id.to_string()),
            client_id: Set(client_id.to_string()),
            user_id: Set(token.user_id.to_string()),
            workspace_id: Set(token.workspace_id.to_string()),
            scopes: Set(token.scopes.to_string()),
            created_at: Set(ms(issue.created_at)),
            expires_at: Set(ms(issue.expires_at)),
            revoked_at: Set(None),
            transaction_limit: Set(None),
            enable_limiter: Set(false),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        access_token::ActiveModel {
            digest: Set(issue.access_digest.as_str().to_owned()),
            grant_id: Set(issue.grant_id.to_string()),
            client_id: Set(client_id.to_string()),
            created_at: Set(ms(issue.created_at)),
            expires_at: Set(ms(issue.expires_at)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        outbox::enqueue_grant_event(&txn, WebhookEvent::GrantCreated, &g, ms(now)).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(ExchangeOutcome::Issued(grant_from(g)?))
    }

    async fn find_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenGrant>> {
        let Some(token) = access_token::Entity::find()
            .filter(access_token::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
        else {
            return Ok(None);
        };
        let grant = self
            .find_grant(&GrantId::from_stored(token.grant_id.clone()))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("access token of missing grant {}", token.grant_id)))?;
        Ok(Some(AccessTokenGrant { grant, token_expires_at: at(token.expires_at)? }))
    }

    async fn find_grant(&self, id: &GrantId) -> StoreResult<Option<GrantRecord>> {
        grant::Entity::find()
            .filter(grant::Column::Id.eq(id.as_str()))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(grant_from)
            .transpose()
    }

    async fn revoke_grant(
        &self,
        id: &GrantId,
        client_id: &ClientId,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        // One transaction: the revocation and its `grant.revoked` deliveries commit together.
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let res = grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(ms(now)))
            .filter(grant::Column::Id.eq(id.as_str()))
            .filter(grant::Column::ClientId.eq(client_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        let found = grant::Entity::find()
            .filter(grant::Column::Id.eq(id.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?
            .filter(|g| g.client_id == client_id.as_str());
        let outcome = match (res.rows_affected, found) {
            (1, Some(g)) => {
                outbox::enqueue_grant_event(&txn, WebhookEvent::GrantRevoked, &g, ms(now)).await?;
                RevokeOutcome::Revoked(grant_from(g)?)
            }
            (_, Some(_)) => RevokeOutcome::AlreadyRevoked,
            (_, None) => RevokeOutcome::NotFound,
        };
        txn.commit().await.map_err(crate::db_err)?;
        Ok(outcome)
    }

    async fn list_active_grants(
        &self,
        client_id: &ClientId,
        now: OffsetDateTime,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<(i64, GrantRecord)>> {
        let mut q = grant::Entity::find()
            .filter(grant::Column::ClientId.eq(client_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)));
        if let Some(after) = after {
            q = q.filter(grant::Column::Seq.gt(after));
        }
        q.order_by_asc(grant::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(|m| Ok((m.seq, grant_from(m)?)))
            .collect()
    }
}
