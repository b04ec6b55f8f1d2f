//! [`LedgerStore`] on sea-orm: one query builder for SQLite and PostgreSQL.

use super::ledger_read::with_legs;
use super::{ledger_order, ms, outbox, SeaStore};
use crate::entity::{
    client, grant, integration, ledger_leg, ledger_position, ledger_setting, ledger_state, ledger_transaction,
};
use crate::*;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{WebhookEvent, WorkspaceId};
use sea_orm::sea_query::{Alias, Expr, IntoIden, OnConflict, Query, SimpleExpr, TableRef, UpdateStatement, ValueTuple};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use sea_orm::{DbBackend, Statement};
use std::collections::HashSet;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tracing::Instrument;

/// Rows per multi-row INSERT (well under SQLite's bound-variable limit).
const CHUNK: usize = 400;

/// Transactions per query when the whole ledger is loaded, and ids per `IN (…)` when their
/// legs are (well under SQLite's 32 766 bound values and PostgreSQL's 65 535).
const LOAD_CHUNK: u64 = 10_000;

/// Rows per batched `UPDATE … FROM (VALUES …)`: 3 200 bound values for transactions, well under
/// SQLite's limit (32 766 since 3.32) and PostgreSQL's (65 535).
const UPDATE_CHUNK: usize = 400;

/// The `n`-th column (from 1) of the `VALUES` list aliased `v`: both engines name a `VALUES`
/// list's columns `column1`, `column2`, …
fn values_col(n: usize) -> SimpleExpr {
    Expr::col((Alias::new("v"), Alias::new(format!("column{n}")))).into()
}

/// `UPDATE ledger_transactions SET … FROM (VALUES (id, label, …), …) AS v WHERE id = v.column1`:
/// each transaction's computed outcome in one statement (SQLite ≥ 3.33 and PostgreSQL).
fn update_transactions(rows: &[LedgerTxUpdate]) -> UpdateStatement {
    use ledger_transaction::Column as T;
    let values = rows
        .iter()
        .map(|u| {
            ValueTuple::Many(vec![
                u.id.as_str().into(),
                u.label.as_str().into(),
                u.transaction_type.as_str().into(),
                u.description.as_str().into(),
                u.is_missing_price.into(),
                u.is_missing_purchase.into(),
                u.total_costbasis.as_str().into(),
                u.total_gains.as_str().into(),
            ])
        })
        .collect();
    Query::update()
        .table(ledger_transaction::Entity)
        .values([
            (T::Label, values_col(2)),
            (T::TransactionType, values_col(3)),
            (T::Description, values_col(4)),
            (T::IsMissingPrice, values_col(5)),
            (T::IsMissingPurchase, values_col(6)),
            (T::TotalCostbasis, values_col(7)),
            (T::TotalGains, values_col(8)),
        ])
        .from(TableRef::ValuesList(values, Alias::new("v").into_iden()))
        .and_where(Expr::col((ledger_transaction::Entity, T::Id)).eq(values_col(1)))
        .to_owned()
}

/// A leg's computed outcome: (index, cost basis, gain), as in [`LedgerTxUpdate::legs`].
type LegOutcome = (i32, Option<String>, Option<String>);

/// `UPDATE ledger_legs SET cost_basis, gain FROM (VALUES (transaction, index, cost, gain), …)`.
fn update_legs(rows: &[(&str, &LegOutcome)]) -> UpdateStatement {
    use ledger_leg::Column as L;
    let values = rows
        .iter()
        .map(|(id, (index, cost, gain))| {
            ValueTuple::Many(vec![(*id).into(), (*index).into(), cost.clone().into(), gain.clone().into()])
        })
        .collect();
    Query::update()
        .table(ledger_leg::Entity)
        .values([(L::CostBasis, values_col(3)), (L::Gain, values_col(4))])
        .from(TableRef::ValuesList(values, Alias::new("v").into_iden()))
        .and_where(Expr::col((ledger_leg::Entity, L::TransactionId)).eq(values_col(1)))
        .and_where(Expr::col((ledger_leg::Entity, L::LegIndex)).eq(values_col(2)))
        .to_owned()
}

/// Whether `q` selects whole ledgers (by wallet at most), so that `totalCount` is the sum of the
/// integrations' `ledger_states.transaction_count`.
fn unfiltered(q: &LedgerQuery) -> bool {
    let LedgerQuery {
        wallet_ids: _,
        currency_ids,
        trx_id,
        is_nft,
        is_missing_price,
        is_missing_purchase,
        is_edited,
        is_manual,
        transaction_types,
        labels,
        time_start,
        time_end,
        limit: _,
        offset: _,
        after: _,
        descending: _,
    } = q;
    currency_ids.is_empty()
        && trx_id.is_none()
        && [is_nft, is_missing_price, is_missing_purchase, is_edited, is_manual].iter().all(|f| f.is_none())
        && transaction_types.is_empty()
        && labels.is_empty()
        && time_start.is_none()
        && time_end.is_none()
}

async fn upsert_state<C: ConnectionTrait>(
    conn: &C,
    ws: &WorkspaceId,
    integration_id: &str,
    cursor: Option<Option<&str>>,
    stages: Option<&str>,
    now: OffsetDateTime,
) -> StoreResult<()> {
    use ledger_state::Column as S;
    let mut update = vec![S::UpdatedAt];
    if cursor.is_some() {
        update.push(S::Cursor);
    }
    if stages.is_some() {
        update.push(S::Stages);
    }
    ledger_state::Entity::insert(ledger_state::ActiveModel {
        integration_id: Set(integration_id.to_owned()),
        workspace_id: Set(ws.as_str().to_owned()),
        cursor: Set(cursor.flatten().map(str::to_owned)),
        stages: Set(stages.unwrap_or("{}").to_owned()),
        updated_at: Set(ms(now)),
        transaction_count: NotSet,
        ordered: NotSet,
        ordered_total: NotSet,
    })
    .on_conflict(OnConflict::column(S::IntegrationId).update_columns(update).to_owned())
    .exec_without_returning(conn)
    .await
    .map_err(crate::db_err)?;
    Ok(())
}

/// The first key of PostgreSQL's two-key advisory locks taken by [`SeaStore`] for ledger
/// processing (the second is the workspace id's `hashtext`; the migration lock uses the
/// one-key space, which does not overlap).
const PROCESSING_LOCK_CLASS: i32 = 7_262_707;

impl SeaStore {
    /// On PostgreSQL: a transaction that holds the workspace's processing advisory lock, kept
    /// by a task until the returned sender is dropped (then rolled back, which releases it).
    async fn hold_processing_lock(&self, workspace: &WorkspaceId) -> StoreResult<oneshot::Sender<()>> {
        let (acquired, on_acquired) = oneshot::channel::<StoreResult<()>>();
        let (release, on_release) = oneshot::channel::<()>();
        let (db, key) = (self.db.clone(), workspace.as_str().to_owned());
        let span = tracing::debug_span!("ledger_processing_lock", workspace = %key);
        tokio::spawn(
            async move {
                let held = async {
                    let txn = db.begin().await.map_err(crate::db_err)?;
                    let lock = Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        [PROCESSING_LOCK_CLASS.into(), key.into()],
                    );
                    txn.query_one(lock).await.map_err(crate::db_err)?;
                    Ok::<_, StoreError>(txn)
                }
                .await;
                match held {
                    Ok(txn) => {
                        // Held until the caller drops its lock (or gave up waiting for it).
                        if acquired.send(Ok(())).is_ok() {
                            let _ = on_release.await;
                        }
                        if let Err(e) = txn.rollback().await {
                            tracing::warn!(error = %e, "could not release the ledger processing lock");
                        }
                    }
                    Err(e) => {
                        let _ = acquired.send(Err(e));
                    }
                }
            }
            .instrument(span),
        );
        on_acquired.await.map_err(|_| StoreError::Unavailable("the processing lock task stopped".into()))??;
        Ok(release)
    }
}

#[async_trait]
impl LedgerStore for SeaStore {
    async fn lock_processing(&self, workspace: &WorkspaceId) -> StoreResult<ProcessingLock> {
        if !self.is_postgres() {
            // One process per SQLite file: the service's in-process lock is enough.
            return Ok(ProcessingLock::in_process_only());
        }
        Ok(ProcessingLock::new(self.hold_processing_lock(workspace).await?))
    }

    async fn ledger_cursor(&self, integration_id: &str) -> StoreResult<Option<String>> {
        Ok(ledger_state::Entity::find_by_id(integration_id)
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .and_then(|s| s.cursor))
    }

    async fn reset_ledger(&self, integration_id: &str) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // The state row first, as every ledger write takes it: processing locks the states
        // before it touches transactions (`ledger_order::lock_states`), so the two never
        // deadlock on PostgreSQL.
        ledger_state::Entity::update_many()
            .col_expr(ledger_state::Column::Cursor, Expr::value(Option::<String>::None))
            .col_expr(ledger_state::Column::TransactionCount, Expr::value(0_i64))
            .col_expr(ledger_state::Column::Ordered, Expr::value(false))
            .filter(ledger_state::Column::IntegrationId.eq(integration_id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        let ids = Query::select()
            .column(ledger_transaction::Column::Id)
            .from(ledger_transaction::Entity)
            .and_where(ledger_transaction::Column::IntegrationId.eq(integration_id))
            .to_owned();
        ledger_leg::Entity::delete_many()
            .filter(ledger_leg::Column::TransactionId.in_subquery(ids))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        ledger_transaction::Entity::delete_many()
            .filter(ledger_transaction::Column::IntegrationId.eq(integration_id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        ledger_position::Entity::delete_many()
            .filter(ledger_position::Column::IntegrationId.eq(integration_id))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn add_ledger_page<'a>(
        &self,
        ws: &WorkspaceId,
        integration_id: &str,
        txs: &[NewLedgerTx],
        cursor: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        // Read before the write transaction: on SQLite a transaction that reads first and then
        // writes fails with "database is locked" when another connection wrote meanwhile. One
        // worker at a time holds an integration's job, so nothing else adds these rows.
        let mut known: HashSet<String> = HashSet::new();
        for chunk in txs.chunks(CHUNK) {
            let found: Vec<String> = ledger_transaction::Entity::find()
                .select_only()
                .column(ledger_transaction::Column::PlatformTxId)
                .filter(ledger_transaction::Column::IntegrationId.eq(integration_id))
                .filter(ledger_transaction::Column::PlatformTxId.is_in(chunk.iter().map(|t| t.platform_tx_id.clone())))
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(crate::db_err)?;
            known.extend(found);
        }
        let mut fresh: Vec<&NewLedgerTx> = Vec::new();
        for t in txs {
            // A page may repeat a transaction: keep its first copy.
            if known.insert(t.platform_tx_id.clone()) {
                fresh.push(t);
            }
        }
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // The first statement writes, so the transaction holds the write lock from the start.
        upsert_state(&txn, ws, integration_id, Some(cursor), None, now).await?;
        for chunk in fresh.chunks(CHUNK) {
            let rows = chunk.iter().map(|t| ledger_transaction::ActiveModel {
                id: Set(t.id.clone()),
                workspace_id: Set(ws.as_str().to_owned()),
                integration_id: Set(integration_id.to_owned()),
                platform_tx_id: Set(t.platform_tx_id.clone()),
                chain_id: Set(t.chain_id.clone()),
                timestamp: Set(ms(t.timestamp)),
                block_number: Set(i64::try_from(t.position.block).unwrap_or(i64::MAX)),
                block_index: Set(i64::try_from(t.position.index).unwrap_or(i64::MAX)),
                failed: Set(t.failed),
                source_label: Set(t.source_label.clone()),
                label: Set("Unknown".to_owned()),
                transaction_type: Set("other".to_owned()),
                description: Set(String::new()),
                is_nft: Set(t.is_nft),
                is_manual: Set(false),
                is_edited: Set(false),
                is_missing_price: Set(false),
                is_missing_purchase: Set(false),
                total_costbasis: Set("0".to_owned()),
                total_gains: Set("0".to_owned()),
                raw: Set(t.raw.clone()),
                created_at: Set(ms(now)),
                import_source: Set(t.import_source.clone()),
                ordinal: Set(None),
                wallet_ordinal: Set(None),
            });
            ledger_transaction::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(crate::db_err)?;
        }
        let legs: Vec<ledger_leg::ActiveModel> = fresh
            .iter()
            .flat_map(|t| {
                t.legs.iter().map(|l| ledger_leg::ActiveModel {
                    transaction_id: Set(t.id.clone()),
                    leg_index: Set(l.index),
                    workspace_id: Set(ws.as_str().to_owned()),
                    direction: Set(l.direction.clone()),
                    token_id: Set(l.asset.token_id.clone()),
                    symbol: Set(l.asset.symbol.clone()),
                    public_name: Set(l.asset.public_name.clone()),
                    chain_id: Set(l.asset.chain_id.clone()),
                    contract_address: Set(l.asset.contract_address.clone()),
                    asset_type: Set(l.asset.asset_type.clone()),
                    decimals: Set(i32::from(l.asset.decimals)),
                    quantity: Set(l.quantity.clone()),
                    price: Set(l.price.clone()),
                    from_address: Set(l.from.clone()),
                    to_address: Set(l.to.clone()),
                    cost_basis: Set(None),
                    gain: Set(None),
                    ..Default::default()
                })
            })
            .collect();
        let mut legs = legs.into_iter().peekable();
        while legs.peek().is_some() {
            let chunk: Vec<_> = legs.by_ref().take(CHUNK).collect();
            ledger_leg::Entity::insert_many(chunk).exec_without_returning(&txn).await.map_err(crate::db_err)?;
        }
        if !fresh.is_empty() {
            use ledger_state::Column as S;
            let added = i64::try_from(fresh.len()).unwrap_or(i64::MAX);
            // New transactions: the ledger's ranks are stale until the next processing.
            ledger_state::Entity::update_many()
                .col_expr(S::TransactionCount, Expr::col(S::TransactionCount).add(added))
                .col_expr(S::Ordered, Expr::value(false))
                .filter(S::IntegrationId.eq(integration_id))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(fresh.len() as u64)
    }

    async fn workspace_ledger(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerTxRecord>> {
        let ids: HashSet<String> = self.integration_ids(ws).await?.into_iter().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // In chunks, by keyset on the ledger's order, on the pool (not SQLite's direct path:
        // these reads are large): a driver holds a whole result in memory before it is mapped
        // (on SQLite as one copied value per column, ~0.8 GB at 100 000 transactions, kept by
        // the allocator afterwards), so no result holds the whole ledger. `raw` is not read:
        // processing does not need it.
        let known = self.transaction_count(ws, &[]).await?;
        let mut out: Vec<LedgerTxRecord> = Vec::with_capacity(usize::try_from(known).unwrap_or(0));
        let mut after: Option<LedgerKey> = None;
        loop {
            let rows = self.ledger_chunk_rows(ws, after.as_ref(), LOAD_CHUNK).await?;
            let full = rows.len() as u64 == LOAD_CHUNK;
            let next = rows.last().map(LedgerTxRecord::key);
            // Current integrations only, filtered here: with `integration_id IN (…)` in the
            // query SQLite may pick the unique index and sort the whole ledger for every chunk.
            let mut rows: Vec<_> = rows.into_iter().filter(|t| ids.contains(&t.integration_id)).collect();
            let tx_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let legs = self.legs_of_many(&tx_ids, LOAD_CHUNK as usize).await?;
            with_legs(&mut rows, legs);
            out.extend(rows);
            if !full {
                return Ok(out);
            }
            after = next;
        }
    }

    async fn save_ledger_outcome(
        &self,
        ws: &WorkspaceId,
        updates: &[LedgerTxUpdate],
        positions: &[LedgerPosition],
    ) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let locked = ledger_order::lock_states(&txn, ws).await?;
        // The first processing of a big ledger changes nearly every row: one statement per
        // chunk of rows, not per row (227 000 statements at 100 000 transactions).
        for chunk in updates.chunks(UPDATE_CHUNK) {
            txn.execute(txn.get_database_backend().build(&update_transactions(chunk))).await.map_err(crate::db_err)?;
        }
        let legs: Vec<(&str, &LegOutcome)> =
            updates.iter().flat_map(|u| u.legs.iter().map(move |l| (u.id.as_str(), l))).collect();
        for chunk in legs.chunks(UPDATE_CHUNK) {
            txn.execute(txn.get_database_backend().build(&update_legs(chunk))).await.map_err(crate::db_err)?;
        }
        ledger_position::Entity::delete_many()
            .filter(ledger_position::Column::WorkspaceId.eq(ws.as_str()))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        for chunk in positions.chunks(CHUNK) {
            let rows = chunk.iter().map(|p| ledger_position::ActiveModel {
                workspace_id: Set(ws.as_str().to_owned()),
                integration_id: Set(p.integration_id.clone()),
                token_id: Set(p.asset.token_id.clone()),
                symbol: Set(p.asset.symbol.clone()),
                public_name: Set(p.asset.public_name.clone()),
                chain_id: Set(p.asset.chain_id.clone()),
                contract_address: Set(p.asset.contract_address.clone()),
                asset_type: Set(p.asset.asset_type.clone()),
                decimals: Set(i32::from(p.asset.decimals)),
                quantity: Set(p.quantity.clone()),
                // `''`: not known (`LedgerPosition::cost`).
                cost: Set(p.cost.clone().unwrap_or_default()),
                ..Default::default()
            });
            ledger_position::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(crate::db_err)?;
        }
        // The ranks that make a page by offset an index range (`sea::ledger_order`).
        ledger_order::write_ranks(&txn, ws, &locked).await?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn ledger_positions(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerPosition>> {
        // One statement joined to the workspace's integrations (`sea::holdings`).
        self.positions_of_workspace(ws).await
    }

    async fn query_ledger(&self, ws: &WorkspaceId, q: &LedgerQuery) -> StoreResult<(Vec<LedgerTxRecord>, u64)> {
        // Three statements, the workspace's integrations a subquery of each (`sea::ledger_read`).
        self.ledger_page(ws, q, unfiltered(q)).await
    }

    async fn set_ledger_stages(
        &self,
        ws: &WorkspaceId,
        integration_id: &str,
        stages: &str,
        total_transactions: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        upsert_state(&txn, ws, integration_id, None, Some(stages), now).await?;
        if let Some(total) = total_transactions {
            integration::Entity::update_many()
                .col_expr(integration::Column::TotalTransactions, Expr::value(total))
                .filter(integration::Column::Id.eq(integration_id))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn ledger_stages(&self, ws: &WorkspaceId) -> StoreResult<Vec<(String, String)>> {
        Ok(ledger_state::Entity::find()
            .filter(ledger_state::Column::WorkspaceId.eq(ws.as_str()))
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(|s| (s.integration_id, s.stages))
            .collect())
    }

    async fn unpriced_legs(&self, integration_id: &str, limit: u64) -> StoreResult<Vec<UnpricedLeg>> {
        use ledger_transaction::Column as T;
        let rows: Vec<(String, i32, String, i64)> = ledger_leg::Entity::find()
            .select_only()
            .column(ledger_leg::Column::TransactionId)
            .column(ledger_leg::Column::LegIndex)
            .column(ledger_leg::Column::TokenId)
            .column_as(Expr::col((ledger_transaction::Entity, T::Timestamp)), "timestamp")
            .join_rev(
                sea_orm::JoinType::InnerJoin,
                ledger_transaction::Entity::belongs_to(ledger_leg::Entity)
                    .from(T::Id)
                    .to(ledger_leg::Column::TransactionId)
                    .into(),
            )
            .filter(Expr::col((ledger_transaction::Entity, T::IntegrationId)).eq(integration_id))
            .filter(ledger_leg::Column::Price.is_null())
            .order_by_asc(Expr::col((ledger_transaction::Entity, T::Timestamp)))
            .order_by_asc(ledger_leg::Column::TransactionId)
            .order_by_asc(ledger_leg::Column::LegIndex)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(rows
            .into_iter()
            .map(|(transaction_id, leg_index, token_id, timestamp_ms)| UnpricedLeg {
                transaction_id,
                leg_index,
                token_id,
                timestamp_ms,
            })
            .collect())
    }

    async fn set_leg_prices(&self, prices: &[(String, i32, String)]) -> StoreResult<u64> {
        if prices.is_empty() {
            return Ok(0);
        }
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let mut ids: Vec<&str> = prices.iter().map(|(id, _, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ledger_order::lock_states_of(&txn, &ids).await?;
        let mut updated = 0;
        for (transaction_id, index, price) in prices {
            updated += ledger_leg::Entity::update_many()
                .col_expr(ledger_leg::Column::Price, Expr::value(price.as_str()))
                .filter(ledger_leg::Column::TransactionId.eq(transaction_id.as_str()))
                .filter(ledger_leg::Column::LegIndex.eq(*index))
                .filter(ledger_leg::Column::Price.is_null())
                .exec(&txn)
                .await
                .map_err(crate::db_err)?
                .rows_affected;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(updated)
    }

    async fn cost_basis_method(&self, ws: &WorkspaceId) -> StoreResult<Option<String>> {
        Ok(ledger_setting::Entity::find_by_id(ws.as_str())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(|s| s.cost_basis_method))
    }

    async fn set_cost_basis_method(&self, ws: &WorkspaceId, method: &str, now: OffsetDateTime) -> StoreResult<()> {
        use ledger_setting::Column as W;
        ledger_setting::Entity::insert(ledger_setting::ActiveModel {
            workspace_id: Set(ws.as_str().to_owned()),
            cost_basis_method: Set(method.to_owned()),
            updated_at: Set(ms(now)),
        })
        .on_conflict(OnConflict::column(W::WorkspaceId).update_columns([W::CostBasisMethod, W::UpdatedAt]).to_owned())
        .exec_without_returning(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn enqueue_processing_event<'a>(
        &self,
        ws: &WorkspaceId,
        event: WebhookEvent,
        reason: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let (action, status) =
            event.processing().ok_or_else(|| StoreError::Other(format!("{event} is not a processing event")))?;
        let now_ms = ms(now);
        // No surrounding transaction: each delivery row is one write (a read-then-write
        // transaction would fail on a busy SQLite database).
        let txn = &self.db;
        let grants = grant::Entity::find()
            .filter(grant::Column::WorkspaceId.eq(ws.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(now_ms))
            .order_by_asc(grant::Column::Seq)
            .all(txn)
            .await
            .map_err(crate::db_err)?;
        let mut seen = HashSet::new();
        for g in grants {
            if !seen.insert(g.client_id.clone()) {
                continue;
            }
            let enabled = client::Entity::find_by_id(g.client_id.as_str())
                .one(txn)
                .await
                .map_err(crate::db_err)?
                .is_some_and(|c| c.disabled_at.is_none());
            if enabled {
                let data = serde_json::json!({
                    "uid": g.user_id,
                    "action": action,
                    "status": status,
                    "reason": reason,
                    "timestamp": now_ms,
                });
                outbox::enqueue(txn, &g.client_id, event, &g.id, &data, now_ms).await?;
            }
        }
        Ok(())
    }
}
