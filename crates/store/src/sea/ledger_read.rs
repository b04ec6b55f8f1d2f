//! The ledger's reads behind `GET /api/v1/transactions` (`query_ledger`) and processing
//! (`workspace_ledger`): sea-query statements decoded by column name through [`Columns`], so
//! one decoding serves sea-orm's rows and rusqlite's (SQLite's direct path, see
//! [`SeaStore::read_rows`]); rusqlite's rows are read by position ([`Listed`]): its lookup by
//! name scans every column, which cost more than the statements on a page of 100 (1.5 ms
//! instead of 0.4 at 100 000 transactions).
//!
//! A page is three statements: the total, the page's transactions and their legs (one when
//! the total is 0). The workspace's integrations are a subquery of the first two, not a read
//! of their own. A query of whole ledgers reads its total from `ledger_states`, and its page
//! by rank when the ranks are current (`sea::ledger_order`): however deep, an index range.

use super::hot::{need, Columns};
use super::ledger_order::{current_states, rank_state_of, ranked_page, ranked_range, RankState};
use super::SeaStore;
use crate::entity::{integration, ledger_leg, ledger_state, ledger_transaction};
use crate::{LedgerAsset, LedgerKey, LedgerLegRecord, LedgerQuery, LedgerTxRecord, StoreResult};
use kc_domain::WorkspaceId;
use kc_ports::ChainPosition;
use sea_orm::sea_query::{Alias, Asterisk, Expr, Func, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, IdenStatic};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Transaction ids per `IN (…)` of a page's legs (well under SQLite's 32 766 bound values and
/// PostgreSQL's 65 535; a page of the API has at most 1 001 rows).
const IDS_PER_READ: usize = 10_000;

/// The columns of `ledger_transactions` a [`LedgerTxRecord`] is read from (`raw` apart).
const TX_COLUMNS: [ledger_transaction::Column; 20] = {
    use ledger_transaction::Column as T;
    [
        T::Id,
        T::IntegrationId,
        T::PlatformTxId,
        T::ChainId,
        T::Timestamp,
        T::BlockNumber,
        T::BlockIndex,
        T::Failed,
        T::SourceLabel,
        T::Label,
        T::TransactionType,
        T::Description,
        T::IsNft,
        T::IsManual,
        T::IsEdited,
        T::IsMissingPrice,
        T::IsMissingPurchase,
        T::TotalCostbasis,
        T::TotalGains,
        T::ImportSource,
    ]
};

/// The columns of a page's transactions: [`TX_COLUMNS`] and `raw`, in the order [`tx_names`]
/// lists them.
pub(super) const TX_ROW_COLUMNS: [ledger_transaction::Column; 21] = {
    let mut all = [ledger_transaction::Column::Raw; 21];
    let mut i = 0;
    while i < TX_COLUMNS.len() {
        all[i] = TX_COLUMNS[i];
        i += 1;
    }
    all
};

/// The columns of `ledger_legs` a [`LedgerLegRecord`] is read from, with its transaction's id.
const LEG_COLUMNS: [ledger_leg::Column; 16] = {
    use ledger_leg::Column as L;
    [
        L::TransactionId,
        L::LegIndex,
        L::Direction,
        L::TokenId,
        L::Symbol,
        L::PublicName,
        L::ChainId,
        L::ContractAddress,
        L::AssetType,
        L::Decimals,
        L::Quantity,
        L::Price,
        L::FromAddress,
        L::ToAddress,
        L::CostBasis,
        L::Gain,
    ]
};

/// A row of a statement that selects `names`, in this order: [`Columns`] by position where
/// the driver reads by position faster than by name (rusqlite), by name otherwise.
struct Listed<'r> {
    row: &'r dyn Columns,
    names: &'r [&'static str],
    /// Where the next column is looked for first: the decoders read the columns in about the
    /// order they are selected, so most lookups compare one name instead of scanning them.
    next: std::cell::Cell<usize>,
}

impl<'r> Listed<'r> {
    fn new(row: &'r dyn Columns, names: &'r [&'static str]) -> Self {
        Self { row, names, next: std::cell::Cell::new(0) }
    }

    fn at(&self, col: &str) -> Option<usize> {
        let hint = self.next.get();
        let found = if self.names.get(hint).is_some_and(|n| *n == col) {
            Some(hint)
        } else {
            self.names.iter().position(|n| *n == col)
        };
        if let Some(i) = found {
            self.next.set(i + 1);
        }
        found
    }
}

impl Columns for Listed<'_> {
    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        self.at(col).map_or_else(|| self.row.text(col), |i| self.row.text_at(i, col))
    }
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.at(col).map_or_else(|| self.row.int(col), |i| self.row.int_at(i, col))
    }
    fn flag(&self, col: &str) -> StoreResult<Option<bool>> {
        self.at(col).map_or_else(|| self.row.flag(col), |i| self.row.flag_at(i, col))
    }
}

/// The names [`tx_of`] reads, in the order the ledger's statements select them.
fn tx_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| TX_ROW_COLUMNS.iter().map(|c| c.as_str()).collect())
}

/// The names [`leg_of`] reads, in the order [`legs_query`] selects them.
fn leg_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| LEG_COLUMNS.iter().map(|c| c.as_str()).collect())
}

/// Selects each of `cols` under its own name.
fn select_columns<C: IdenStatic>(q: &mut SelectStatement, cols: impl IntoIterator<Item = C>) {
    for col in cols {
        q.expr_as(Expr::col(col), Alias::new(col.as_str()));
    }
}

/// Text column `col`, which must not be `NULL`.
fn text(row: &dyn Columns, col: impl IdenStatic) -> StoreResult<String> {
    need(row.text(col.as_str())?, col.as_str())
}

/// Integer column `col`, which must not be `NULL`.
fn int(row: &dyn Columns, col: impl IdenStatic) -> StoreResult<i64> {
    need(row.int(col.as_str())?, col.as_str())
}

/// Boolean column `col` (an integer on SQLite), which must not be `NULL`.
fn flag(row: &dyn Columns, col: impl IdenStatic) -> StoreResult<bool> {
    need(row.flag(col.as_str())?, col.as_str())
}

/// A transaction (without its legs) from a row selecting [`TX_COLUMNS`] and `raw`.
fn tx_of(row: &dyn Columns) -> StoreResult<LedgerTxRecord> {
    use ledger_transaction::Column as T;
    let position = |col| Ok::<_, crate::StoreError>(u64::try_from(int(row, col)?).unwrap_or(0));
    Ok(LedgerTxRecord {
        id: text(row, T::Id)?,
        integration_id: text(row, T::IntegrationId)?,
        platform_tx_id: text(row, T::PlatformTxId)?,
        chain_id: text(row, T::ChainId)?,
        timestamp_ms: int(row, T::Timestamp)?,
        position: ChainPosition::new(position(T::BlockNumber)?, position(T::BlockIndex)?),
        failed: flag(row, T::Failed)?,
        source_label: row.text(T::SourceLabel.as_str())?,
        label: text(row, T::Label)?,
        transaction_type: text(row, T::TransactionType)?,
        description: text(row, T::Description)?,
        is_nft: flag(row, T::IsNft)?,
        is_manual: flag(row, T::IsManual)?,
        is_edited: flag(row, T::IsEdited)?,
        is_missing_price: flag(row, T::IsMissingPrice)?,
        is_missing_purchase: flag(row, T::IsMissingPurchase)?,
        total_costbasis: text(row, T::TotalCostbasis)?,
        total_gains: text(row, T::TotalGains)?,
        import_source: text(row, T::ImportSource)?,
        raw: text(row, T::Raw)?,
        legs: Vec::new(),
    })
}

/// A leg and the id of its transaction, from a row selecting [`LEG_COLUMNS`].
fn leg_of(row: &dyn Columns) -> StoreResult<(String, LedgerLegRecord)> {
    use ledger_leg::Column as L;
    // In the order of the select list.
    let tx = text(row, L::TransactionId)?;
    let leg = LedgerLegRecord {
        index: i32::try_from(int(row, L::LegIndex)?).unwrap_or(0),
        direction: text(row, L::Direction)?,
        asset: LedgerAsset {
            token_id: text(row, L::TokenId)?,
            symbol: text(row, L::Symbol)?,
            public_name: text(row, L::PublicName)?,
            chain_id: text(row, L::ChainId)?,
            contract_address: row.text(L::ContractAddress.as_str())?,
            asset_type: text(row, L::AssetType)?,
            decimals: u8::try_from(int(row, L::Decimals)?).unwrap_or(0),
        },
        quantity: text(row, L::Quantity)?,
        price: row.text(L::Price.as_str())?,
        from: row.text(L::FromAddress.as_str())?,
        to: row.text(L::ToAddress.as_str())?,
        cost_basis: row.text(L::CostBasis.as_str())?,
        gain: row.text(L::Gain.as_str())?,
    };
    Ok((tx, leg))
}

/// The ids of the integrations of `ws` (of those in `wallets` only, when it is not empty).
pub(super) fn integrations_of(ws: &WorkspaceId, wallets: &[String]) -> SelectStatement {
    use integration::Column as I;
    let mut q = Query::select();
    q.column(I::Id).from(integration::Entity).and_where(I::WorkspaceId.eq(ws.as_str()));
    if !wallets.is_empty() {
        q.and_where(I::Id.is_in(wallets.iter().map(String::as_str)));
    }
    q
}

/// The `ledger_states` of each integration of `ws` (of `wallets`, if any): transaction count
/// and whether its ranks are current.
fn state_counts(ws: &WorkspaceId, wallets: &[String]) -> SelectStatement {
    let mut q = current_states(ws);
    if !wallets.is_empty() {
        q.and_where(ledger_state::Column::IntegrationId.is_in(wallets.iter().map(String::as_str)));
    }
    q
}

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

/// Orders `q` by the ledger's order, `descending` or not.
fn in_ledger_order(q: &mut SelectStatement, descending: bool) {
    use ledger_transaction::Column as T;
    let order = if descending { Order::Desc } else { Order::Asc };
    for col in [T::Timestamp, T::BlockNumber, T::BlockIndex, T::Id] {
        q.order_by(col, order.clone());
    }
}

/// `integration_id` is one of [`integrations_of`]: `IN (SELECT …)` on SQLite; on PostgreSQL
/// `= ANY(ARRAY(SELECT …))`, computed once before the scan, for the planner to keep
/// `idx_ledger_transactions_order`'s order on deep pages (with `IN (SELECT …)` it hash-joins
/// and sorts the whole ledger: 110 ms instead of 75 at offset 99 900 of 100 000).
fn of_integrations(backend: DbBackend, ws: &WorkspaceId, wallets: &[String]) -> SimpleExpr {
    use ledger_transaction::Column as T;
    let ids = integrations_of(ws, wallets);
    if backend != DbBackend::Postgres {
        return T::IntegrationId.in_subquery(ids);
    }
    let ids = SimpleExpr::SubQuery(None, Box::new(ids.into_sub_query_statement()));
    Expr::cust_with_exprs("$1 = ANY(ARRAY $2)", [Expr::col(T::IntegrationId).into(), ids])
}

/// The transactions of `ws`'s integrations that `q`'s filters match (no page, no key, no
/// columns). The integration ids alone scope it (they are the workspace's own, and unique):
/// `(integration_id, platform_tx_id)` then covers a count without visiting the rows.
fn matching(backend: DbBackend, ws: &WorkspaceId, q: &LedgerQuery) -> SelectStatement {
    use ledger_transaction::Column as T;
    let mut s = Query::select();
    s.from(ledger_transaction::Entity).and_where(of_integrations(backend, ws, &q.wallet_ids));
    if !q.currency_ids.is_empty() {
        let legs = Query::select()
            .column(ledger_leg::Column::TransactionId)
            .from(ledger_leg::Entity)
            .and_where(ledger_leg::Column::WorkspaceId.eq(ws.as_str()))
            .and_where(ledger_leg::Column::TokenId.is_in(q.currency_ids.iter().cloned()))
            .to_owned();
        s.and_where(T::Id.in_subquery(legs));
    }
    if let Some(id) = &q.trx_id {
        s.and_where(T::Id.eq(id.as_str()).or(T::PlatformTxId.eq(id.as_str())));
    }
    for (col, want) in [
        (T::IsNft, q.is_nft),
        (T::IsMissingPrice, q.is_missing_price),
        (T::IsMissingPurchase, q.is_missing_purchase),
        (T::IsEdited, q.is_edited),
        (T::IsManual, q.is_manual),
    ] {
        if let Some(v) = want {
            s.and_where(col.eq(v));
        }
    }
    if !q.transaction_types.is_empty() {
        s.and_where(T::TransactionType.is_in(q.transaction_types.iter().cloned()));
    }
    if !q.labels.is_empty() {
        s.and_where(T::Label.is_in(q.labels.iter().cloned()));
    }
    if let Some(t) = q.time_start {
        s.and_where(T::Timestamp.gte(t));
    }
    if let Some(t) = q.time_end {
        s.and_where(T::Timestamp.lte(t));
    }
    s
}

/// How many transactions [`matching`] selects, as `n`.
fn match_count(backend: DbBackend, ws: &WorkspaceId, q: &LedgerQuery) -> SelectStatement {
    let mut s = matching(backend, ws, q);
    s.expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"));
    s
}

/// The page of [`matching`] that `q` asks for, every column of a [`LedgerTxRecord`]. It also
/// filters by workspace, for `idx_ledger_transactions_order` to serve its order.
fn page(backend: DbBackend, ws: &WorkspaceId, q: &LedgerQuery) -> SelectStatement {
    use ledger_transaction::Column as T;
    let mut s = matching(backend, ws, q);
    select_columns(&mut s, TX_ROW_COLUMNS);
    s.and_where(T::WorkspaceId.eq(ws.as_str()));
    if let Some(k) = &q.after {
        let (key, at) = (order_key(), key_values(k));
        s.and_where(if q.descending { key.lt(at) } else { key.gt(at) });
    }
    in_ledger_order(&mut s, q.descending);
    s.offset(q.offset).limit(q.limit);
    s
}

/// A chunk of `ws`'s whole ledger in order, strictly after `after`, without `raw` (read as
/// empty text: processing does not need it).
fn ledger_chunk(ws: &WorkspaceId, after: Option<&LedgerKey>, limit: u64) -> SelectStatement {
    use ledger_transaction::Column as T;
    let mut s = Query::select();
    s.from(ledger_transaction::Entity).and_where(T::WorkspaceId.eq(ws.as_str()));
    select_columns(&mut s, TX_COLUMNS);
    s.expr_as(Expr::value(String::new()), Alias::new(T::Raw.as_str()));
    if let Some(k) = after {
        s.and_where(order_key().gt(key_values(k)));
    }
    in_ledger_order(&mut s, false);
    s.limit(limit);
    s
}

/// The legs of transactions `ids`, by transaction and index.
fn legs_query(ids: &[String]) -> SelectStatement {
    use ledger_leg::Column as L;
    let mut s = Query::select();
    s.from(ledger_leg::Entity).and_where(L::TransactionId.is_in(ids.iter().map(String::as_str)));
    select_columns(&mut s, LEG_COLUMNS);
    s.order_by(L::TransactionId, Order::Asc).order_by(L::LegIndex, Order::Asc);
    s
}

/// The transactions of the ledgers `states` describe.
fn total_of(states: &[RankState]) -> u64 {
    states.iter().map(|s| u64::try_from(s.count).unwrap_or(0)).sum()
}

/// Rows of [`leg_of`] grouped by transaction (their order kept).
fn by_transaction(rows: Vec<(String, LedgerLegRecord)>) -> HashMap<String, Vec<LedgerLegRecord>> {
    let mut out: HashMap<String, Vec<LedgerLegRecord>> = HashMap::new();
    for (tx, leg) in rows {
        out.entry(tx).or_default().push(leg);
    }
    out
}

/// Gives each transaction of `txs` its legs from `legs`.
pub(super) fn with_legs(txs: &mut [LedgerTxRecord], mut legs: HashMap<String, Vec<LedgerLegRecord>>) {
    for tx in txs {
        tx.legs = legs.remove(&tx.id).unwrap_or_default();
    }
}

impl SeaStore {
    /// Ids of the workspace's current integrations.
    pub(super) async fn integration_ids(&self, ws: &WorkspaceId) -> StoreResult<Vec<String>> {
        let id = integration::Column::Id;
        self.read_rows(None, &[], || integrations_of(ws, &[]), |row| text(row, id)).await
    }

    /// The `ledger_states` of `ws`'s integrations (of `wallets`, if any): their transaction
    /// counts, kept with the rows (a few state rows instead of every transaction), and whether
    /// their ranks are current.
    async fn rank_states(&self, ws: &WorkspaceId, wallets: &[String]) -> StoreResult<Vec<RankState>> {
        self.read_rows(None, &[], || state_counts(ws, wallets), rank_state_of).await
    }

    /// How many transactions the ledgers of `ws`'s integrations (of `wallets`, if any) hold.
    pub(super) async fn transaction_count(&self, ws: &WorkspaceId, wallets: &[String]) -> StoreResult<u64> {
        Ok(total_of(&self.rank_states(ws, wallets).await?))
    }

    /// The page of `q` over `ws`'s ledger, with its legs, and the total `q` matches:
    /// `ledger_states`' counts when `q` selects whole ledgers (by wallet at most).
    pub(super) async fn ledger_page(
        &self,
        ws: &WorkspaceId,
        q: &LedgerQuery,
        whole_ledgers: bool,
    ) -> StoreResult<(Vec<LedgerTxRecord>, u64)> {
        let (total, ranked) = if whole_ledgers {
            let states = self.rank_states(ws, &q.wallet_ids).await?;
            let total = total_of(&states);
            (total, ranked_range(q, &states, i64::try_from(total).unwrap_or(i64::MAX)))
        } else {
            let n = self
                .read_rows(None, &[], || match_count(self.backend(), ws, q), |row| need(row.int("n")?, "n"))
                .await?;
            (n.into_iter().map(|c| u64::try_from(c).unwrap_or(0)).sum(), None)
        };
        let names = tx_names();
        let decode = |row: &dyn Columns| tx_of(&Listed::new(row, names));
        let mut rows = match ranked {
            // Past the end: nothing to read.
            Some(range) if range.from >= range.to => Vec::new(),
            // Current ranks: the page is an index range, however deep.
            Some(range) => self.read_rows(None, &[], || ranked_page(ws, &range), decode).await?,
            None => self.read_rows(None, &[], || page(self.backend(), ws, q), decode).await?,
        };
        if rows.is_empty() {
            return Ok((rows, total));
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let names = leg_names();
        let mut legs = Vec::new();
        for part in ids.chunks(IDS_PER_READ) {
            let leg = |row: &dyn Columns| leg_of(&Listed::new(row, names));
            legs.extend(self.read_rows(None, &[], || legs_query(part), leg).await?);
        }
        with_legs(&mut rows, by_transaction(legs));
        Ok((rows, total))
    }

    /// Runs `query` (which selects `names`, in this order) without the read deadline and
    /// decodes every row: for the large reads of processing, which must not run on the
    /// caller's thread. On a SQLite file a read-only connection streams the rows on a blocking
    /// thread, decoded as they come (sqlx would copy the whole result first, value by value:
    /// most of a 100 000-transaction load); elsewhere the pool reads them.
    async fn pool_rows<T: Send + 'static>(
        &self,
        query: &SelectStatement,
        names: &'static [&'static str],
        decode: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct_handle() {
            let stmt = DbBackend::Sqlite.build(query);
            let values = stmt.values.unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
            let read = move || {
                direct.readers.read(|c| {
                    let mut out = Vec::new();
                    c.query_sql_each(&stmt.sql, values, |row| {
                        out.push(decode(&Listed::new(row, names))?);
                        Ok(())
                    })?;
                    Ok(out)
                })
            };
            return tokio::task::spawn_blocking(read)
                .await
                .map_err(|e| crate::StoreError::Unavailable(format!("a ledger read stopped: {e}")))?;
        }
        let rows = self.db.query_all(self.db.get_database_backend().build(query)).await.map_err(crate::db_err)?;
        // Each row dropped once decoded: a chunk's rows and records are not all held at once.
        rows.into_iter().map(|row| decode(&Listed::new(&row, names))).collect()
    }

    /// A chunk of [`ledger_chunk`], read on the pool, without legs.
    pub(super) async fn ledger_chunk_rows(
        &self,
        ws: &WorkspaceId,
        after: Option<&LedgerKey>,
        limit: u64,
    ) -> StoreResult<Vec<LedgerTxRecord>> {
        self.pool_rows(&ledger_chunk(ws, after, limit), tx_names(), tx_of).await
    }

    /// Legs of `ids` (any number), grouped by transaction and ordered by index, read on the pool
    /// `chunk` ids per `IN (…)`.
    pub(super) async fn legs_of_many(
        &self,
        ids: &[String],
        chunk: usize,
    ) -> StoreResult<HashMap<String, Vec<LedgerLegRecord>>> {
        let mut rows = Vec::new();
        for part in ids.chunks(chunk.max(1)) {
            rows.extend(self.pool_rows(&legs_query(part), leg_names(), leg_of).await?);
        }
        Ok(by_transaction(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::Value;

    fn query() -> LedgerQuery {
        LedgerQuery { wallet_ids: vec!["wal_a".into()], limit: 100, descending: true, ..Default::default() }
    }

    #[test]
    fn postgres_reads_the_integrations_once_before_the_scan() {
        let ws = WorkspaceId::from_stored("ws_1".into());
        let stmt = DbBackend::Postgres.build(&page(DbBackend::Postgres, &ws, &query()));
        let scope = r#""integration_id" = ANY(ARRAY (SELECT "id" FROM "integrations" WHERE "integrations"."workspace_id" = $1 AND "integrations"."id" IN ($2)))"#;
        assert!(stmt.sql.contains(scope), "{}", stmt.sql);
        let values = stmt.values.map(|v| v.0).unwrap_or_default();
        assert_eq!(values.first(), Some(&Value::from("ws_1")), "{values:?}");
        assert_eq!(values.get(1), Some(&Value::from("wal_a")), "{values:?}");
    }

    #[test]
    fn sqlite_reads_the_integrations_as_a_subquery() {
        let ws = WorkspaceId::from_stored("ws_1".into());
        let sql = DbBackend::Sqlite.build(&match_count(DbBackend::Sqlite, &ws, &query())).sql;
        assert!(sql.contains(r#""integration_id" IN (SELECT "id" FROM "integrations""#), "{sql}");
    }

    #[test]
    fn the_names_of_a_transaction_follow_its_select_list() {
        let ws = WorkspaceId::from_stored("ws_1".into());
        let sql = DbBackend::Sqlite.build(&page(DbBackend::Sqlite, &ws, &query())).sql;
        let listed: Vec<String> = tx_names().iter().map(|n| format!(r#"AS "{n}""#)).collect();
        let mut at = 0;
        for name in &listed {
            let found = sql[at..].find(name.as_str()).unwrap_or_else(|| panic!("{name} after {at} in {sql}"));
            at += found + name.len();
        }
    }
}
