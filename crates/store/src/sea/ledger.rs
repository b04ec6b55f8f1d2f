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
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
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

    /// Legs of `ids`, grouped by transaction and ordered by index.
    async fn legs_of(&self, ids: &[String]) -> StoreResult<HashMap<String, Vec<LedgerLegRecord>>> {
        let mut out: HashMap<String, Vec<LedgerLegRecord>> = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
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
        txn.commit().await.map_err(crate::db_err)?;
        Ok(fresh.len() as u64)
    }

    async fn workspace_ledger(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerTxRecord>> {
        let ids = self.integration_ids(ws).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = ledger_transaction::Entity::find()
            .filter(ledger_transaction::Column::WorkspaceId.eq(ws.as_str()))
            .filter(ledger_transaction::Column::IntegrationId.is_in(ids))
            .order_by_asc(ledger_transaction::Column::Timestamp)
            .order_by_asc(ledger_transaction::Column::BlockNumber)
            .order_by_asc(ledger_transaction::Column::BlockIndex)
            .order_by_asc(ledger_transaction::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        let mut legs: HashMap<String, Vec<LedgerLegRecord>> = HashMap::new();
        let all = ledger_leg::Entity::find()
            .filter(ledger_leg::Column::WorkspaceId.eq(ws.as_str()))
            .order_by_asc(ledger_leg::Column::TransactionId)
            .order_by_asc(ledger_leg::Column::LegIndex)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        for l in all {
            legs.entry(l.transaction_id.clone()).or_default().push(leg_from(l));
        }
        Ok(rows
            .into_iter()
            .map(|mut m| {
                m.raw = String::new();
                let l = legs.remove(&m.id).unwrap_or_default();
                tx_from(m, l)
            })
            .collect())
    }

    async fn save_ledger_outcome(
        &self,
        ws: &WorkspaceId,
        updates: &[LedgerTxUpdate],
        positions: &[LedgerPosition],
    ) -> StoreResult<()> {
        use ledger_transaction::Column as T;
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        for u in updates {
            ledger_transaction::Entity::update_many()
                .col_expr(T::Label, Expr::value(u.label.as_str()))
                .col_expr(T::TransactionType, Expr::value(u.transaction_type.as_str()))
                .col_expr(T::Description, Expr::value(u.description.as_str()))
                .col_expr(T::IsMissingPrice, Expr::value(u.is_missing_price))
                .col_expr(T::IsMissingPurchase, Expr::value(u.is_missing_purchase))
                .col_expr(T::TotalCostbasis, Expr::value(u.total_costbasis.as_str()))
                .col_expr(T::TotalGains, Expr::value(u.total_gains.as_str()))
                .filter(T::Id.eq(u.id.as_str()))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
            for (index, cost, gain) in &u.legs {
                ledger_leg::Entity::update_many()
                    .col_expr(ledger_leg::Column::CostBasis, Expr::value(cost.clone()))
                    .col_expr(ledger_leg::Column::Gain, Expr::value(gain.clone()))
                    .filter(ledger_leg::Column::TransactionId.eq(u.id.as_str()))
                    .filter(ledger_leg::Column::LegIndex.eq(*index))
                    .exec(&txn)
                    .await
                    .map_err(crate::db_err)?;
            }
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
        let ids = self.integration_ids(ws).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = ledger_position::Entity::find()
            .filter(ledger_position::Column::WorkspaceId.eq(ws.as_str()))
            .filter(ledger_position::Column::IntegrationId.is_in(ids))
            .order_by_asc(ledger_position::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(rows
            .into_iter()
            .map(|m| LedgerPosition {
                integration_id: m.integration_id,
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
                cost: m.cost,
            })
            .collect())
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
        let total = select.clone().count(&self.db).await.map_err(crate::db_err)?;
        let mut select = select.filter(T::WorkspaceId.eq(ws.as_str()));
        if let Some(k) = &q.after {
            // Row-value comparison: served by idx_ledger_transactions_order on both engines.
            let key = Expr::tuple([
                Expr::col(T::Timestamp).into(),
                Expr::col(T::BlockNumber).into(),
                Expr::col(T::BlockIndex).into(),
                Expr::col(T::Id).into(),
            ]);
            let at = Expr::tuple([
                Expr::value(k.timestamp_ms),
                Expr::value(i64::try_from(k.block).unwrap_or(i64::MAX)),
                Expr::value(i64::try_from(k.index).unwrap_or(i64::MAX)),
                Expr::value(k.id.as_str()),
            ]);
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
