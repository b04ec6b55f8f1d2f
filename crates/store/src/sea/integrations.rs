//! `SeaStore`: Integrations, the sync queue and balances.

use super::*;

#[async_trait]
impl crate::IntegrationStore for SeaStore {
    async fn insert_integration(&self, i: &IntegrationRecord) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        insert_integration_in(&txn, i).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn list_integrations(&self, ws: &WorkspaceId) -> StoreResult<Vec<IntegrationRecord>> {
        // Read on every Data API page that names wallets: on SQLite's direct path for a file.
        static SHAPES: super::shape::ShapeCache = super::shape::ShapeCache::new();
        let query = |ws: &str| {
            integration::Entity::find()
                .filter(integration::Column::WorkspaceId.eq(ws))
                .order_by_asc(integration::Column::CreatedAt)
                .order_by_asc(integration::Column::Id)
                .into_query()
        };
        let shaped = SHAPES.get(self.backend(), 1, |args| query(&args[0]));
        self.read_rows(shaped, &[ws.as_str()], || query(ws.as_str()), integration_of).await
    }

    async fn delete_integration(&self, ws: &WorkspaceId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // Lock order: sync jobs, then the integration, as `finish_sync_job` / `fail_sync_job` do
        // (job row, then integration), so the two never deadlock on PostgreSQL. The first write
        // also takes SQLite's write lock.
        sync_job::Entity::delete_many()
            .filter(sync_job::Column::IntegrationId.eq(id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        // Touching the row locks it: a concurrent `enqueue_sync` (which touches it first) either
        // committed already (its job is deleted below) or waits and then finds it gone.
        let touched = integration::Entity::update_many()
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(id))
            .filter(integration::Column::WorkspaceId.eq(ws.as_str()))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if touched.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        // Reads the row and the grants over its workspace, so it runs before the row goes.
        outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationDeleted, id, ms(now)).await?;
        sync_job::Entity::delete_many()
            .filter(sync_job::Column::IntegrationId.eq(id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        balance_snapshot::Entity::delete_many()
            .filter(balance_snapshot::Column::IntegrationId.eq(id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        integration::Entity::delete_many()
            .filter(integration::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn find_integration(&self, id: &str) -> StoreResult<Option<IntegrationRecord>> {
        let query = || integration::Entity::find_by_id(id).into_query();
        Ok(self.read_rows(None, &[], query, integration_of).await?.into_iter().next())
    }

    async fn enqueue_sync(&self, integration_id: &str, mode: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // Touch the integration first: it serialises concurrent enqueues of one integration.
        let touched = integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Queued.as_str()))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(integration_id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if touched.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let pending = sync_job::Entity::find()
            .filter(sync_job::Column::IntegrationId.eq(integration_id))
            .filter(sync_job::Column::Status.is_in(["queued", "running"]))
            .one(&txn)
            .await
            .map_err(crate::db_err)?;
        if pending.is_some() {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        sync_job::ActiveModel {
            integration_id: Set(integration_id.to_owned()),
            mode: Set(mode.to_owned()),
            status: Set("queued".to_owned()),
            attempts: Set(0),
            run_after: Set(ms(now)),
            locked_by: Set(None),
            locked_until: Set(None),
            last_error: Set(None),
            created_at: Set(ms(now)),
            updated_at: Set(ms(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn claim_sync_job(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<SyncJob>> {
        use super::claim::{col, statement, Claim};
        use sea_orm::sea_query::{Alias, Cond, Order, Query};
        let backend = self.db.get_database_backend();
        let now_ms = ms(now);
        let mut pick = Query::select();
        pick.from_as(Alias::new("sync_jobs"), Alias::new("c"))
            .cond_where(
                Cond::any()
                    .add(col("c", "status").eq("queued").and(col("c", "run_after").lte(now_ms)))
                    .add(col("c", "status").eq("running").and(col("c", "locked_until").lt(now_ms))),
            )
            .order_by((Alias::new("c"), Alias::new("run_after")), Order::Asc)
            .order_by((Alias::new("c"), Alias::new("id")), Order::Asc);
        let claim = Claim {
            table: "sync_jobs",
            key: "id",
            alias: "c",
            pick,
            running: "running",
            worker,
            now_ms,
            until_ms: ms(now + lease),
            returning: &["id", "integration_id", "mode", "attempts"],
        };
        let Some(row) = self.db.query_one(statement(backend, claim)).await.map_err(crate::db_err)? else {
            return Ok(None);
        };
        let job = SyncJob {
            id: row.try_get("", "id").map_err(crate::db_err)?,
            integration_id: row.try_get("", "integration_id").map_err(crate::db_err)?,
            mode: row.try_get("", "mode").map_err(crate::db_err)?,
            attempts: row.try_get("", "attempts").map_err(crate::db_err)?,
        };
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Syncing.as_str()))
            .col_expr(integration::Column::UpdatedAt, Expr::value(now_ms))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(Some(job))
    }

    async fn finish_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        rows: &[SnapshotRow],
        again_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let release = release_held_job(job, worker, now)
            .col_expr(sync_job::Column::LastError, Expr::value(Option::<String>::None));
        let release = match again_at {
            None => release.col_expr(sync_job::Column::Status, Expr::value("done")),
            Some(at) => release
                .col_expr(sync_job::Column::Status, Expr::value("queued"))
                .col_expr(sync_job::Column::Mode, Expr::value("latest"))
                .col_expr(sync_job::Column::RunAfter, Expr::value(ms(at))),
        };
        let done = release.exec(&txn).await.map_err(crate::db_err)?;
        if done.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        balance_snapshot::Entity::delete_many()
            .filter(balance_snapshot::Column::IntegrationId.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        for r in rows {
            balance_snapshot::ActiveModel {
                integration_id: Set(job.integration_id.clone()),
                token_id: Set(r.token_id.clone()),
                symbol: Set(r.symbol.clone()),
                public_name: Set(r.public_name.clone()),
                chain_id: Set(r.chain_id.clone()),
                contract_address: Set(r.contract_address.clone()),
                logo_url: Set(r.logo_url.clone()),
                category: Set(r.category.clone()),
                asset_type: Set(r.asset_type.clone()),
                decimals: Set(i32::from(r.decimals)),
                quantity: Set(r.quantity.clone()),
                taken_at: Set(ms(now)),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(crate::db_err)?;
        }
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Synced.as_str()))
            .col_expr(integration::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(integration::Column::LastSyncedAt, Expr::value(ms(now)))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationUpdated, &job.integration_id, ms(now)).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn fail_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let (status, run_after, integration_status) = match retry_at {
            Some(t) => ("queued", ms(t), SyncStatus::Queued),
            None => ("failed", ms(now), SyncStatus::Failed),
        };
        let updated = release_held_job(job, worker, now)
            .col_expr(sync_job::Column::Status, Expr::value(status))
            .col_expr(sync_job::Column::RunAfter, Expr::value(run_after))
            .col_expr(sync_job::Column::LastError, Expr::value(error))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if updated.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(integration_status.as_str()))
            .col_expr(integration::Column::LastError, Expr::value(error))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if retry_at.is_none() {
            outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationFailed, &job.integration_id, ms(now))
                .await?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn workspace_balances(&self, ws: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>> {
        self.balances_of_workspace(ws).await
    }
}
