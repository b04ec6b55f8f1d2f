//! `SeaStore`: Email sign-in codes and failure budgets.

use super::*;

#[async_trait]
impl crate::SignInStore for SeaStore {
    async fn insert_email_code(&self, c: &EmailCodeRecord) -> StoreResult<()> {
        email_code::ActiveModel {
            link_token_id: Set(c.session_id),
            email: Set(c.email.clone()),
            code_digest: Set(c.code_digest.clone()),
            created_at: Set(ms(c.created_at)),
            expires_at: Set(ms(c.expires_at)),
            attempts: Set(c.attempts),
            consumed_at: Set(c.consumed_at.map(ms)),
            requested_ip: Set(c.requested_ip.clone()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn latest_email_code(&self, session_id: i64, email: &str) -> StoreResult<Option<EmailCodeRecord>> {
        email_code::Entity::find()
            .filter(email_code::Column::LinkTokenId.eq(session_id))
            .filter(email_code::Column::Email.eq(email))
            .order_by_desc(email_code::Column::Id)
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(email_code_from)
            .transpose()
    }

    async fn count_email_codes_since(&self, email: &str, since: OffsetDateTime) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(email_code::Entity::find()
            .filter(email_code::Column::Email.eq(email))
            .filter(email_code::Column::CreatedAt.gte(ms(since)))
            .count(&self.db)
            .await
            .map_err(crate::db_err)?)
    }

    async fn email_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        self.email_code_times_impl(email, ip, since).await
    }

    async fn email_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool> {
        self.email_verified_from_impl(email, ip, since).await
    }

    async fn spend_rate_budget(
        &self,
        bucket: &str,
        now_ms: i64,
        interval_ms: i64,
        burst: u32,
    ) -> StoreResult<BudgetSpend> {
        self.spend_rate_budget_impl(bucket, now_ms, interval_ms, burst).await
    }

    async fn purge_rate_budgets(&self, now_ms: i64) -> StoreResult<u64> {
        self.purge_rate_budgets_impl(now_ms).await
    }

    async fn spend_email_attempt(&self, code_id: i64, max_attempts: i32) -> StoreResult<bool> {
        let res = email_code::Entity::update_many()
            .col_expr(email_code::Column::Attempts, Expr::col(email_code::Column::Attempts).add(1))
            .filter(email_code::Column::Id.eq(code_id))
            .filter(email_code::Column::Attempts.lt(max_attempts))
            .filter(email_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn consume_email_code(&self, code_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = email_code::Entity::update_many()
            .col_expr(email_code::Column::ConsumedAt, Expr::value(ms(now)))
            .filter(email_code::Column::Id.eq(code_id))
            .filter(email_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn sign_in_email_user(&self, session_id: i64, u: &NewEmailUser) -> StoreResult<Option<UserId>> {
        // Two first sign-ins of one new address (on two sessions) both find no user on
        // PostgreSQL and race to insert it: the loser's insert violates the unique email and its
        // transaction rolls back whole. Run again, it finds the winner's user.
        match self.sign_in_email_user_once(session_id, u).await {
            Err(StoreError::Conflict(_)) => self.sign_in_email_user_once(session_id, u).await,
            other => other,
        }
    }
}

impl SeaStore {
    async fn sign_in_email_user_once(&self, session_id: i64, u: &NewEmailUser) -> StoreResult<Option<UserId>> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // Claim the session first: the first write takes SQLite's write lock, and on
        // PostgreSQL the row lock serialises competing sign-ins.
        let claimed = link_token::Entity::update_many()
            .col_expr(link_token::Column::UserId, Expr::value(u.user_id.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::UserId.is_null())
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if claimed.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(None);
        }
        let existing = user::Entity::find()
            .filter(user::Column::Email.eq(u.email.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?;
        let user_id = match existing {
            Some(found) => {
                link_token::Entity::update_many()
                    .col_expr(link_token::Column::UserId, Expr::value(found.id.as_str()))
                    .filter(link_token::Column::Id.eq(session_id))
                    .exec(&txn)
                    .await
                    .map_err(crate::db_err)?;
                UserId::from_stored(found.id)
            }
            None => {
                insert_user_with_workspace(
                    &txn,
                    &u.user_id,
                    Some(&u.email),
                    &u.workspace_id,
                    &u.workspace_name,
                    u.created_at,
                )
                .await?;
                u.user_id.clone()
            }
        };
        txn.commit().await.map_err(crate::db_err)?;
        Ok(Some(user_id))
    }
}
