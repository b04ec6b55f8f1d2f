//! Abuse limits on sea-orm: shared GCRA rate budgets and email-code throttling queries.
//!
//! A budget is one row `(bucket, tat)`: the GCRA "theoretical arrival time" in Unix
//! milliseconds. Spending is one conditional upsert, so concurrent spends on any number of
//! nodes are serialised by the database (PostgreSQL's row lock, SQLite's write lock) and the
//! admitted rate is exactly the configured one.

use super::{at, ms, SeaStore};
use crate::entity::email_code;
use crate::BudgetSpend;
use crate::StoreResult;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use time::OffsetDateTime;

/// Writes `$n` placeholders as the backend wants them (`?n` on SQLite).
fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend == DbBackend::Postgres {
        sql.to_owned()
    } else {
        sql.replace('$', "?")
    }
}

impl SeaStore {
    pub(super) async fn spend_rate_budget_impl(
        &self,
        bucket: &str,
        now_ms: i64,
        interval_ms: i64,
        burst: u32,
    ) -> StoreResult<BudgetSpend> {
        let backend = self.db.get_database_backend();
        let interval = interval_ms.max(1);
        let horizon = now_ms + interval * i64::from(burst.max(1));
        // A new bucket starts full: its first spend sets tat = now + interval.
        let sql = placeholders(
            backend,
            "INSERT INTO rate_limits (bucket, tat) VALUES ($1, $2 + $3) \
             ON CONFLICT (bucket) DO UPDATE \
               SET tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
             WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 <= $4 \
             RETURNING tat",
        );
        let values: Vec<Value> = vec![bucket.into(), now_ms.into(), interval.into(), horizon.into()];
        if let Some(row) =
            self.db.query_one(Statement::from_sql_and_values(backend, sql, values)).await.map_err(crate::db_err)?
        {
            let tat: i64 = row.try_get("", "tat").map_err(crate::db_err)?;
            let remaining = ((horizon - tat) / interval).clamp(0, i64::from(u32::MAX));
            return Ok(BudgetSpend::Allowed { remaining: u32::try_from(remaining).unwrap_or(0) });
        }
        let sql = placeholders(backend, "SELECT tat FROM rate_limits WHERE bucket = $1");
        let tat: i64 = match self
            .db
            .query_one(Statement::from_sql_and_values(backend, sql, [bucket.into()]))
            .await
            .map_err(crate::db_err)?
        {
            Some(row) => row.try_get("", "tat").map_err(crate::db_err)?,
            None => now_ms,
        };
        let retry_after_ms = (tat.max(now_ms) + interval - horizon).max(1);
        Ok(BudgetSpend::Denied { retry_after_ms: u64::try_from(retry_after_ms).unwrap_or(1) })
    }

    pub(super) async fn purge_rate_budgets_impl(&self, now_ms: i64) -> StoreResult<u64> {
        let backend = self.db.get_database_backend();
        let sql = placeholders(backend, "DELETE FROM rate_limits WHERE tat <= $1");
        let res = self
            .db
            .execute(Statement::from_sql_and_values(backend, sql, [now_ms.into()]))
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected())
    }

    pub(super) async fn email_code_times_impl(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        let mut q = email_code::Entity::find()
            .select_only()
            .column(email_code::Column::CreatedAt)
            .filter(email_code::Column::Email.eq(email))
            .filter(email_code::Column::CreatedAt.gte(ms(since)));
        if let Some(ip) = ip {
            q = q.filter(email_code::Column::RequestedIp.eq(ip));
        }
        let times: Vec<i64> =
            q.order_by_asc(email_code::Column::CreatedAt).into_tuple().all(&self.db).await.map_err(crate::db_err)?;
        times.into_iter().map(at).collect()
    }

    pub(super) async fn email_verified_from_impl(
        &self,
        email: &str,
        ip: &str,
        since: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = email_code::Entity::find()
            .filter(email_code::Column::Email.eq(email))
            .filter(email_code::Column::RequestedIp.eq(ip))
            .filter(email_code::Column::ConsumedAt.gte(ms(since)))
            .count(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(n > 0)
    }
}
