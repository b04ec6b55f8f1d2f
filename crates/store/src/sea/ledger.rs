//! [`LedgerStore`] on sea-orm: one query builder for SQLite and PostgreSQL.

use super::{ms, outbox, SeaStore};
use crate::entity::{
    client, grant, integration, ledger_leg, ledger_position, ledger_setting, ledger_state, ledger_transaction,
};
use crate::*;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{WebhookEvent, WorkspaceId};
use kc_ports::ChainPosition;
use sea_orm::sea_query::{Alias, Expr, IntoIden, OnConflict, Query, SimpleExpr, TableRef, UpdateStatement, ValueTuple};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Rows per multi-row INSERT (well under SQLite's bound-variable limit).
const CHUNK: usize = 400;

fn leg_from(m: ledger_leg::Model) -> LedgerLegRecord {
    LedgerLegRecord {
        index: m.leg_index,
        direction: m.direction,
        asset: LedgerAsset {
            token_id: m.token_id,
            symbol: m.symbol,
            public_name: m.public_name,
            chain_id: m.chain_id,
            contract_address: m.contract_address,
            asset_type: m.asset_type,
            decimals: u8::try_from(m.decimals).unwrap_or(0),
        },
        quantity: m.quantity,
        price: m.price,
        from: m.from_address,
        to: m.to_address,
        cost_basis: m.cost_basis,
        gain: m.gain,
    }
}

fn tx_from(m: ledger_transaction::Model, legs: Vec<LedgerLegRecord>) -> LedgerTxRecord {
    LedgerTxRecord {
        id: m.id,
        integration_id: m.integration_id,
        platform_tx_id: m.platform_tx_id,
        chain_id: m.chain_id,
        timestamp_ms: m.timestamp,
        position: ChainPosition::new(
            u64::try_from(m.block_number).unwrap_or(0),
            u64::try_from(m.block_index).unwrap_or(0),
        ),
        failed: m.failed,
        source_label: m.source_label,
        label: m.label,
        transaction_type: m.transaction_type,
        description: m.description,
        is_nft: m.is_nft,
        is_manual: m.is_manual,
        is_edited: m.is_edited,
        is_missing_price: m.is_missing_price,
        is_missing_purchase: m.is_missing_purchase,
        total_costbasis: m.total_costbasis,
        total_gains: m.total_gains,
        raw: m.raw,
        import_source: m.import_source,
        legs,
    }
}

impl SeaStore {
    /// Ids of the workspace's current integrations.
    async fn integration_ids(&self, ws: &WorkspaceId) -> StoreResult<Vec<String>> {
        integration::Entity::find()
            .select_only()
            .column(integration::Column::Id)
            .filter(integration::Column::WorkspaceId.eq(ws.as_str()))
            .into_tuple::<String>()
            .all(&self.db)
            .await
            .map_err(crate::db_err)
    }

    /// How many transactions the ledgers of integrations `ids` hold (`ledger_states`).
    async fn transaction_count(&self, ids: Vec<String>) -> StoreResult<u64> {
        let counts: Vec<i64> = ledger_state::Entity::find()
            .select_only()
            .column(ledger_state::Column::TransactionCount)
            .filter(ledger_state::Column::IntegrationId.is_in(ids))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(counts.into_iter().map(|c| u64::try_from(c).unwrap_or(0)).sum())
    }

    /// Legs of `ids`, grouped by transaction and ordered by index.
    async fn legs_of(&self, ids: &[String]) -> StoreResult<HashMap<String, Vec<LedgerLegRecord>>> {
        let mut out: HashMap<String, Vec<LedgerLegRecord>> = HashMap::new();
        for chunk in ids.chunks(LOAD_CHUNK as usize) {
            let rows = ledger_leg::Entity::find()
                .filter(ledger_leg::Column::TransactionId.is_in(chunk.iter().cloned()))
                .order_by_asc(ledger_leg::Column::TransactionId)
                .order_by_asc(ledger_leg::Column::LegIndex)
                .all(&self.db)
                .await
                .map_err(crate::db_err)?;
            for r in rows {
                out.entry(r.transaction_id.clone()).or_default().push(leg_from(r));
            }
        }
        Ok(out)
    }
}

/// Transactions per query when the whole ledger is loaded, and ids per `IN (…)` when their
/// legs are (well under SQLite's 32 766 bound values and PostgreSQL's 65 535).
const LOAD_CHUNK: u64 = 10_000;

/// The ledger's order as a row value, `(timestamp, block_number, block_index, id)`: compared
/// with [`key_values`], served by `idx_ledger_transactions_order` on both engines.
fn order_key() -> Expr {
    use ledger_transaction::Column as T;
    Expr::tuple([
        Expr::col(T::Timestamp).into(),
        Expr::col(T::BlockNumber).into(),
        Expr::col(T::BlockIndex).into(),
        Expr::col(T::Id).into(),
    ])
}

/// `k` as the row value [`order_key`] compares with.
fn key_values(k: &LedgerKey) -> Expr {
    Expr::tuple([
        Expr::value(k.timestamp_ms),
        Expr::value(i64::try_from(k.block).unwrap_or(i64::MAX)),
        Expr::value(i64::try_from(k.index).unwrap_or(i64::MAX)),
        Expr::value(k.id.as_str()),
    ])
}

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
    })
    .on_conflict(OnConflict::column(S::IntegrationId).update_columns(update).to_owned())
    .exec_without_returning(conn)
    .await
    .map_err(crate::db_err)?;
    Ok(())
}

#[async_trait]
impl LedgerStore for SeaStore {
    async fn ledger_cursor(&self, integration_id: &str) -> StoreResult<Option<String>> {
        Ok(ledger_state::Entity::find_by_id(integration_id)
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .and_then(|s| s.cursor))
    }

    async fn reset_ledger(&self, integration_id: &str) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
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
        ledger_state::Entity::update_many()
            .col_expr(ledger_state::Column::Cursor, Expr::value(Option::<String>::None))
            .col_expr(ledger_state::Column::TransactionCount, Expr::value(0_i64))
            .filter(ledger_state::Column::IntegrationId.eq(integration_id))
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
            ledger_state::Entity::update_many()
                .col_expr(S::TransactionCount, Expr::col(S::TransactionCount).add(added))
                .filter(S::IntegrationId.eq(integration_id))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(fresh.len() as u64)
    }

    async fn workspace_ledger(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerTxRecord>> {
        use ledger_transaction::Column as T;
        let ids: HashSet<String> = self.integration_ids(ws).await?.into_iter().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // In chunks, by keyset on the ledger's order: a driver holds a whole result in memory
        // before it is mapped (on SQLite as one copied value per column, ~0.8 GB at 100 000
        // transactions, kept by the allocator afterwards), so no result holds the whole ledger.
        // `raw` is not read: processing does not need it.
        let known = self.transaction_count(ids.iter().cloned().collect()).await?;
        let mut out: Vec<LedgerTxRecord> = Vec::with_capacity(usize::try_from(known).unwrap_or(0));
        let mut after: Option<LedgerKey> = None;
        loop {
            let mut select = ledger_transaction::Entity::find()
                .select_only()
                .columns(T::iter().filter(|c| !matches!(c, T::Raw)))
                .column_as(Expr::value(String::new()), T::Raw.as_str())
                .filter(T::WorkspaceId.eq(ws.as_str()));
            if let Some(k) = &after {
                select = select.filter(order_key().gt(key_values(k)));
            }
            let rows = select
                .order_by_asc(T::Timestamp)
                .order_by_asc(T::BlockNumber)
                .order_by_asc(T::BlockIndex)
                .order_by_asc(T::Id)
                .limit(LOAD_CHUNK)
                .all(&self.db)
                .await
                .map_err(crate::db_err)?;
            let full = rows.len() as u64 == LOAD_CHUNK;
            let next = rows.last().map(|m| LedgerKey {
                timestamp_ms: m.timestamp,
                block: u64::try_from(m.block_number).unwrap_or(0),
                index: u64::try_from(m.block_index).unwrap_or(0),
                id: m.id.clone(),
            });
            // Current integrations only, filtered here: with `integration_id IN (…)` in the
            // query SQLite may pick the unique index and sort the whole ledger for every chunk.
            let rows: Vec<_> = rows.into_iter().filter(|m| ids.contains(&m.integration_id)).collect();
            let tx_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut legs = self.legs_of(&tx_ids).await?;
            out.extend(rows.into_iter().map(|m| {
                let l = legs.remove(&m.id).unwrap_or_default();
                tx_from(m, l)
            }));
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
                cost: Set(p.cost.clone()),
                ..Default::default()
            });
            ledger_position::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn ledger_positions(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerPosition>> {
        // One statement joined to the workspace's integrations (`sea::holdings`).
        self.positions_of_workspace(ws).await
    }

    async fn query_ledger(&self, ws: &WorkspaceId, q: &LedgerQuery) -> StoreResult<(Vec<LedgerTxRecord>, u64)> {
        use ledger_transaction::Column as T;
        let mut ids = self.integration_ids(ws).await?;
        if !q.wallet_ids.is_empty() {
            ids.retain(|i| q.wallet_ids.contains(i));
        }
        if ids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // The integration ids are the workspace's own (and unique), so they alone scope the count:
        // `(integration_id, platform_tx_id)` then covers it without visiting the rows. The page
        // also filters by workspace, for `idx_ledger_transactions_order` to serve its order.
        let ids_for_count = ids.clone();
        let mut select = ledger_transaction::Entity::find().filter(T::IntegrationId.is_in(ids));
        if !q.currency_ids.is_empty() {
            let legs = Query::select()
                .column(ledger_leg::Column::TransactionId)
                .from(ledger_leg::Entity)
                .and_where(ledger_leg::Column::WorkspaceId.eq(ws.as_str()))
                .and_where(ledger_leg::Column::TokenId.is_in(q.currency_ids.iter().cloned()))
                .to_owned();
            select = select.filter(T::Id.in_subquery(legs));
        }
        if let Some(id) = &q.trx_id {
            select = select.filter(T::Id.eq(id.as_str()).or(T::PlatformTxId.eq(id.as_str())));
        }
        for (col, want) in [
            (T::IsNft, q.is_nft),
            (T::IsMissingPrice, q.is_missing_price),
            (T::IsMissingPurchase, q.is_missing_purchase),
            (T::IsEdited, q.is_edited),
            (T::IsManual, q.is_manual),
        ] {
            if let Some(v) = want {
                select = select.filter(col.eq(v));
            }
        }
        if !q.transaction_types.is_empty() {
            select = select.filter(T::TransactionType.is_in(q.transaction_types.iter().cloned()));
        }
        if !q.labels.is_empty() {
            select = select.filter(T::Label.is_in(q.labels.iter().cloned()));
        }
        if let Some(t) = q.time_start {
            select = select.filter(T::Timestamp.gte(t));
        }
        if let Some(t) = q.time_end {
            select = select.filter(T::Timestamp.lte(t));
        }
        let total = if unfiltered(q) {
            // Kept with the rows: a few state rows instead of every transaction (issue 15).
            self.transaction_count(ids_for_count).await?
        } else {
            select.clone().count(&self.db).await.map_err(crate::db_err)?
        };
        let mut select = select.filter(T::WorkspaceId.eq(ws.as_str()));
        if let Some(k) = &q.after {
            let (key, at) = (order_key(), key_values(k));
            select = select.filter(if q.descending { key.lt(at) } else { key.gt(at) });
        }
        let select = if q.descending {
            select
                .order_by_desc(T::Timestamp)
                .order_by_desc(T::BlockNumber)
                .order_by_desc(T::BlockIndex)
                .order_by_desc(T::Id)
        } else {
            select
                .order_by_asc(T::Timestamp)
                .order_by_asc(T::BlockNumber)
                .order_by_asc(T::BlockIndex)
                .order_by_asc(T::Id)
        };
        let rows = select.offset(q.offset).limit(q.limit).all(&self.db).await.map_err(crate::db_err)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut legs = self.legs_of(&ids).await?;
        let page = rows
            .into_iter()
            .map(|m| {
                let l = legs.remove(&m.id).unwrap_or_default();
                tx_from(m, l)
            })
            .collect();
        Ok((page, total))
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
