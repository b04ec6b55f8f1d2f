//! The ledger's ranks: where each transaction stands in its workspace's order
//! (`ledger_transactions.ordinal`) and in its integration's (`wallet_ordinal`), so that a page
//! of `GET /api/v1/transactions` by `offset` reads an index range instead of stepping over
//! every row before it (offset 99 900 of 100 000: a range of 100 rows, not a scan of 100 000).
//!
//! Processing writes the ranks with its outcome ([`write_ranks`], in the same transaction);
//! every write that adds or removes an integration's transactions clears its
//! `ledger_states.ordered`. A page uses the ranks only when [`ranked_range`] finds them
//! current from the state rows the page reads anyway for its `totalCount`, so a stale rank is
//! never served: the page falls back to the ordered scan until the next processing.

use super::hot::{need, Columns};
use super::ledger_read::{integrations_of, TX_ROW_COLUMNS};
use crate::entity::{integration, ledger_state, ledger_transaction};
use crate::{LedgerQuery, StoreResult};
use kc_domain::WorkspaceId;
use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityName, IdenStatic, Statement};

/// What a page reads of an integration's `ledger_states` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RankState {
    /// Transactions in the integration's ledger.
    pub count: i64,
    /// Its ranks are current.
    pub ordered: bool,
    /// Transactions of the workspace the ranks covered when written.
    pub ordered_total: i64,
}

/// A page as a range of ranks: rows with `from <= rank < to`, in `descending` order or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RankRange {
    /// The integration's own ranks (`wallet_ordinal`) when the page is one wallet's; the
    /// workspace's (`ordinal`) otherwise.
    pub wallet: Option<String>,
    /// First rank, inclusive.
    pub from: i64,
    /// Last rank, exclusive; `from == to` is an empty page.
    pub to: i64,
    /// Newest first.
    pub descending: bool,
}

/// The range of ranks `q`'s page is, when `q` selects whole ledgers (`states` are the state
/// rows of the integrations it selects, `total` their transactions) and their ranks are
/// current; `None` when the page must be read by scanning (a cursor, several wallets, ranks
/// not written yet or made stale by a sync or a deleted wallet).
pub(super) fn ranked_range(q: &LedgerQuery, states: &[RankState], total: i64) -> Option<RankRange> {
    if q.after.is_some() || q.wallet_ids.len() > 1 {
        return None;
    }
    let current = |s: &RankState| s.ordered || s.count == 0;
    if !states.iter().all(current) {
        return None;
    }
    let wallet = q.wallet_ids.first().cloned();
    // The workspace's ranks are its whole ledger's: a wallet deleted since they were written
    // leaves a gap, seen as a smaller total than the ranks covered.
    if wallet.is_none() && states.iter().any(|s| s.ordered && s.ordered_total != total) {
        return None;
    }
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX).min(total);
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX).min(total - offset);
    let (from, to) = if q.descending { (total - offset - limit, total - offset) } else { (offset, offset + limit) };
    Some(RankRange { wallet, from, to, descending: q.descending })
}

/// The transactions of `ws` whose rank is in `range`, in its order, every column of a
/// transaction record (`idx_ledger_transactions_ordinal` or `…_wallet_ordinal`).
pub(super) fn ranked_page(ws: &WorkspaceId, range: &RankRange) -> SelectStatement {
    use ledger_transaction::Column as T;
    let mut s = Query::select();
    for col in TX_ROW_COLUMNS {
        s.expr_as(Expr::col(col), Alias::new(col.as_str()));
    }
    s.from(ledger_transaction::Entity);
    let rank = match &range.wallet {
        Some(wallet) => {
            s.and_where(T::IntegrationId.eq(wallet.as_str()));
            T::WalletOrdinal
        }
        None => T::Ordinal,
    };
    // The workspace as well for one wallet: a wallet id of another workspace reads nothing.
    s.and_where(T::WorkspaceId.eq(ws.as_str()))
        .and_where(rank.gte(range.from))
        .and_where(rank.lt(range.to))
        .order_by(rank, if range.descending { Order::Desc } else { Order::Asc })
        .limit(u64::try_from(range.to - range.from).unwrap_or(0));
    s
}

/// `SELECT … FROM integrations WHERE workspace_id = ?` as SQL text, for the statements below.
fn current_integrations(p: &str) -> String {
    format!(
        "SELECT {id} FROM {table} WHERE {ws} = {p}",
        id = integration::Column::Id.as_str(),
        table = integration::Entity.table_name(),
        ws = integration::Column::WorkspaceId.as_str(),
    )
}

/// The state rows processing may mark `ordered`: on PostgreSQL those [`lock_states`] locked;
/// on SQLite (one writer at a time) every current integration's.
pub(super) enum Locked {
    /// PostgreSQL: these integrations' state rows, locked.
    States(Vec<String>),
    /// SQLite.
    Writer,
}

/// On PostgreSQL, locks the state rows of `ws`'s integrations for the rest of `conn`'s
/// transaction, before processing writes ranks: a page of transactions added meanwhile then
/// waits (its first statement writes its state row), so the ranks and `ordered` written
/// together cannot miss it. A state row created after this lock (a new integration's first
/// page) is not marked `ordered` by this processing (its ranks wait for the next one): marking
/// it would wait for that page's transaction, which may wait for this one's rows. SQLite needs
/// nothing: one writer at a time.
pub(super) async fn lock_states<C: ConnectionTrait>(conn: &C, ws: &WorkspaceId) -> StoreResult<Locked> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(Locked::Writer);
    }
    Ok(Locked::States(lock_state_rows(conn, integrations_of(ws, &[])).await?))
}

/// On PostgreSQL, locks the state rows of the integrations of transactions `ids` (ordered, as
/// [`lock_states`] does), for a write of their legs that processing may also be writing: both
/// then take the state rows before any leg, so neither holds a leg the other waits for while
/// waiting for one it holds. SQLite needs nothing.
pub(super) async fn lock_states_of<C: ConnectionTrait>(conn: &C, ids: &[&str]) -> StoreResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres || ids.is_empty() {
        return Ok(());
    }
    use ledger_transaction::Column as T;
    let owners = Query::select()
        .distinct()
        .column(T::IntegrationId)
        .from(ledger_transaction::Entity)
        .and_where(T::Id.is_in(ids.iter().copied()))
        .to_owned();
    lock_state_rows(conn, owners).await.map(drop)
}

/// `SELECT … FOR UPDATE` of the state rows of the integrations `owners` selects, in
/// integration order (every locker takes them in the same order); their ids.
async fn lock_state_rows<C: ConnectionTrait>(conn: &C, owners: SelectStatement) -> StoreResult<Vec<String>> {
    use ledger_state::Column as S;
    let lock = Query::select()
        .column(S::IntegrationId)
        .from(ledger_state::Entity)
        .and_where(S::IntegrationId.in_subquery(owners))
        .order_by(S::IntegrationId, Order::Asc)
        .lock(sea_orm::sea_query::LockType::Update)
        .to_owned();
    let rows = conn.query_all(DbBackend::Postgres.build(&lock)).await.map_err(crate::db_err)?;
    rows.iter().map(|row| row.try_get::<String>("", S::IntegrationId.as_str()).map_err(crate::db_err)).collect()
}

/// Writes the ranks of `ws`'s ledger (its current integrations' transactions; those of deleted
/// integrations lose theirs) and marks its integrations' states `ordered`, inside processing's
/// transaction `conn`. Nothing is written when the states say the ranks are current. When a
/// sync only appended transactions after the last ranked one, they are ranked after it (the
/// usual sync: a few rows); otherwise the whole ledger is ranked again in one pass in its order,
/// and only the rows whose ranks moved are written.
pub(super) async fn write_ranks<C: ConnectionTrait>(conn: &C, ws: &WorkspaceId, locked: &Locked) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let states = conn.query_all(backend.build(&current_states(ws))).await.map_err(crate::db_err)?;
    let states: Vec<RankState> = states.iter().map(|row| rank_state_of(row)).collect::<StoreResult<_>>()?;
    let total: i64 = states.iter().map(|s| s.count).sum();
    if !states.is_empty() && states.iter().all(|s| s.ordered && s.ordered_total == total) {
        return Ok(());
    }
    let sql = RankSql::new(backend);
    let ws_value = || sea_orm::Value::from(ws.as_str());
    // Deleted integrations: those with a state row of the workspace but no integration row.
    conn.execute(sql.statement(&sql.unrank_deleted(), vec![ws_value(), ws_value()])).await.map_err(crate::db_err)?;
    let (ranked, top) = ranked_extent(conn, &sql, ws).await?;
    // Ranks 0..n-1 held by n rows, none missing: rows after the last one continue from n.
    let appended = ranked == top + 1 && {
        let values = vec![ws_value(), ws_value(), ws_value(), top.into()];
        let earlier = conn.query_one(sql.statement(&sql.unranked_before(), values)).await.map_err(crate::db_err)?;
        count_of(earlier)? == 0
    };
    let update = if appended {
        let mut values = vec![ws_value(), ws_value()];
        if ranked > 0 {
            values.extend([ws_value(), top.into()]);
        }
        sql.statement(&sql.rank_appended(ranked), values)
    } else {
        sql.statement(&sql.rank_all(), vec![ws_value(), ws_value()])
    };
    let written = conn.execute(update).await.map_err(crate::db_err)?.rows_affected();
    // Appending ranks every row it writes; a whole pass writes only the rows that moved.
    let ranked = if appended {
        ranked + i64::try_from(written).unwrap_or(i64::MAX)
    } else {
        ranked_extent(conn, &sql, ws).await?.0
    };
    use ledger_state::Column as S;
    let mut states = Query::update();
    states.table(ledger_state::Entity).value(S::Ordered, true).value(S::OrderedTotal, ranked);
    match locked {
        Locked::States(ids) if ids.is_empty() => return Ok(()),
        Locked::States(ids) => states.and_where(S::IntegrationId.is_in(ids.iter().map(String::as_str))),
        Locked::Writer => states.and_where(S::IntegrationId.in_subquery(integrations_of(ws, &[]))),
    };
    conn.execute(backend.build(&states)).await.map_err(crate::db_err)?;
    Ok(())
}

/// How many of `ws`'s transactions hold a rank, and the highest (-1 for none): index-only.
async fn ranked_extent<C: ConnectionTrait>(conn: &C, sql: &RankSql, ws: &WorkspaceId) -> StoreResult<(i64, i64)> {
    let row = conn.query_one(sql.statement(&sql.extent(), vec![ws.as_str().into()])).await.map_err(crate::db_err)?;
    let Some(row) = row else { return Ok((0, -1)) };
    let n: i64 = row.try_get("", "n").map_err(crate::db_err)?;
    let top: Option<i64> = row.try_get("", "top").map_err(crate::db_err)?;
    Ok((n, top.unwrap_or(-1)))
}

/// The `n` column of a `count(*) AS n` row.
fn count_of(row: Option<sea_orm::QueryResult>) -> StoreResult<i64> {
    row.map_or(Ok(0), |row| row.try_get("", "n").map_err(crate::db_err))
}

/// The ranking statements in one engine's dialect. Their parameters are positional: SQLite
/// binds each `?` in turn, so every statement here takes the workspace once per mention
/// (PostgreSQL numbers them the same way).
struct RankSql {
    postgres: bool,
    backend: DbBackend,
}

impl RankSql {
    /// The ledger's order.
    const ORDER: &'static str = "timestamp, block_number, block_index, id";

    fn new(backend: DbBackend) -> Self {
        Self { postgres: backend == DbBackend::Postgres, backend }
    }

    /// Parameter `n` (from 1).
    fn p(&self, n: usize) -> String {
        if self.postgres {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    fn statement(&self, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, values)
    }

    /// The current integrations of the workspace in parameter `n`.
    fn current(&self, n: usize) -> String {
        current_integrations(&self.p(n))
    }

    /// Clears the ranks of deleted integrations' transactions. Parameters: the workspace twice.
    fn unrank_deleted(&self) -> String {
        format!(
            "UPDATE ledger_transactions SET ordinal = NULL, wallet_ordinal = NULL \
             WHERE integration_id IN (SELECT integration_id FROM ledger_states WHERE workspace_id = {} \
             AND integration_id NOT IN ({})) AND ordinal IS NOT NULL",
            self.p(1),
            self.current(2)
        )
    }

    /// `n` (ranked rows) and `top` (highest rank). Parameter: the workspace.
    fn extent(&self) -> String {
        format!(
            "SELECT count(ordinal) AS n, max(ordinal) AS top FROM ledger_transactions \
             WHERE workspace_id = {} AND ordinal IS NOT NULL",
            self.p(1)
        )
    }

    /// How many unranked transactions come before the one ranked `top` in the ledger's order.
    /// Parameters: the workspace, the workspace, the workspace, `top`.
    fn unranked_before(&self) -> String {
        format!(
            "SELECT count(*) AS n FROM ledger_transactions WHERE workspace_id = {} AND ordinal IS NULL \
             AND integration_id IN ({}) AND ({order}) < (SELECT {order} FROM ledger_transactions \
             WHERE workspace_id = {} AND ordinal = {})",
            self.p(1),
            self.current(2),
            self.p(3),
            self.p(4),
            order = Self::ORDER,
        )
    }

    /// Ranks the unranked transactions after the `ranked` ones (each wallet's after its own),
    /// those after the one ranked `ranked - 1` only: a row another transaction stored before it
    /// meanwhile (PostgreSQL reads each statement afresh) stays unranked, so the ranks are not
    /// marked current. Parameters: the workspace twice, then (when `ranked > 0`) the workspace
    /// and `ranked - 1`.
    fn rank_appended(&self, ranked: i64) -> String {
        let after_last = if ranked > 0 {
            format!(
                " AND (u.timestamp, u.block_number, u.block_index, u.id) > \
                 (SELECT {order} FROM ledger_transactions WHERE workspace_id = {} AND ordinal = {})",
                self.p(3),
                self.p(4),
                order = Self::ORDER,
            )
        } else {
            String::new()
        };
        // Each wallet's highest rank, read once per integration (an index seek each) in a
        // materialized table: PostgreSQL would otherwise evaluate it for every row.
        format!(
            "WITH w AS MATERIALIZED (SELECT i.id, COALESCE((SELECT max(x.wallet_ordinal) FROM ledger_transactions x \
             WHERE x.integration_id = i.id AND x.wallet_ordinal IS NOT NULL), -1) AS top \
             FROM integrations i WHERE i.workspace_id = {}) \
             UPDATE ledger_transactions SET ordinal = r.rank, wallet_ordinal = r.wallet_rank \
             FROM (SELECT u.id, {ranked} + row_number() OVER (ORDER BY {u_order}) - 1 AS rank, \
             w.top + row_number() OVER (PARTITION BY u.integration_id ORDER BY {u_order}) AS wallet_rank \
             FROM ledger_transactions u JOIN w ON w.id = u.integration_id \
             WHERE u.workspace_id = {} AND u.ordinal IS NULL{after_last}) AS r \
             WHERE ledger_transactions.id = r.id",
            self.p(1),
            self.p(2),
            u_order = "u.timestamp, u.block_number, u.block_index, u.id",
        )
    }

    /// Ranks the whole ledger again, writing only the rows whose ranks moved. SQLite is told to
    /// read in the order's index (it would sort the ledger twice otherwise). Parameters: the
    /// workspace twice.
    fn rank_all(&self) -> String {
        let (differs, in_order) = if self.postgres {
            ("IS DISTINCT FROM", "")
        } else {
            ("IS NOT", " INDEXED BY idx_ledger_transactions_order")
        };
        format!(
            "UPDATE ledger_transactions SET ordinal = r.rank, wallet_ordinal = r.wallet_rank \
             FROM (SELECT id, rank, wallet_rank FROM (SELECT id, ordinal, wallet_ordinal, \
             row_number() OVER (ORDER BY {order}) - 1 AS rank, \
             row_number() OVER (PARTITION BY integration_id ORDER BY {order}) - 1 AS wallet_rank \
             FROM ledger_transactions{in_order} WHERE workspace_id = {} AND integration_id IN ({})) AS w \
             WHERE ordinal {differs} rank OR wallet_ordinal {differs} wallet_rank) AS r \
             WHERE ledger_transactions.id = r.id",
            self.p(1),
            self.current(2),
            order = Self::ORDER,
        )
    }
}

/// The `ledger_states` of `ws`'s integrations, as [`rank_state_of`] reads them.
pub(super) fn current_states(ws: &WorkspaceId) -> SelectStatement {
    use ledger_state::Column as S;
    let mut q = Query::select();
    q.from(ledger_state::Entity).and_where(S::IntegrationId.in_subquery(integrations_of(ws, &[])));
    for col in [S::TransactionCount, S::Ordered, S::OrderedTotal] {
        q.expr_as(Expr::col(col), Alias::new(col.as_str()));
    }
    q
}

/// A row of [`current_states`].
pub(super) fn rank_state_of(row: &dyn Columns) -> StoreResult<RankState> {
    use ledger_state::Column as S;
    let int = |col: S| need(row.int(col.as_str())?, col.as_str());
    Ok(RankState {
        count: int(S::TransactionCount)?,
        ordered: need(row.flag(S::Ordered.as_str())?, S::Ordered.as_str())?,
        ordered_total: int(S::OrderedTotal)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LedgerKey;

    fn state(count: i64, ordered: bool, ordered_total: i64) -> RankState {
        RankState { count, ordered, ordered_total }
    }

    fn query(offset: u64, limit: u64, descending: bool) -> LedgerQuery {
        LedgerQuery { offset, limit, descending, ..Default::default() }
    }

    fn range(from: i64, to: i64, descending: bool) -> Option<RankRange> {
        Some(RankRange { wallet: None, from, to, descending })
    }

    #[test]
    fn a_page_by_offset_is_a_range_of_ranks_from_either_end() {
        let states = [state(600, true, 1000), state(400, true, 1000)];
        assert_eq!(ranked_range(&query(0, 100, false), &states, 1000), range(0, 100, false));
        assert_eq!(ranked_range(&query(950, 100, false), &states, 1000), range(950, 1000, false));
        assert_eq!(ranked_range(&query(0, 100, true), &states, 1000), range(900, 1000, true));
        assert_eq!(ranked_range(&query(900, 100, true), &states, 1000), range(0, 100, true));
        assert_eq!(ranked_range(&query(950, 100, true), &states, 1000), range(0, 50, true));
    }

    #[test]
    fn a_page_past_the_end_is_an_empty_range() {
        let states = [state(10, true, 10)];
        for descending in [false, true] {
            let r = ranked_range(&query(u64::MAX, 100, descending), &states, 10).expect("ranked");
            assert_eq!(r.from, r.to, "{r:?}");
        }
    }

    #[test]
    fn stale_ranks_are_not_used() {
        let q = query(100, 100, true);
        // A sync added transactions to the second wallet since processing.
        assert_eq!(ranked_range(&q, &[state(600, true, 1000), state(410, false, 1000)], 1010), None);
        // A wallet was deleted since processing: the ranks have a gap.
        assert_eq!(ranked_range(&q, &[state(600, true, 1000)], 600), None);
        // A wallet without transactions never blocks them.
        assert!(ranked_range(&q, &[state(600, true, 600), state(0, false, 0)], 600).is_some());
    }

    #[test]
    fn one_wallet_reads_its_own_ranks_and_several_wallets_or_a_cursor_scan() {
        let one = LedgerQuery { wallet_ids: vec!["wal_a".into()], limit: 100, offset: 10, ..Default::default() };
        // The workspace's total no longer matters: the wallet's ranks are its own.
        let r = ranked_range(&one, &[state(500, true, 900)], 500).expect("ranked");
        assert_eq!((r.wallet.as_deref(), r.from, r.to), (Some("wal_a"), 10, 110));
        let two = LedgerQuery { wallet_ids: vec!["wal_a".into(), "wal_b".into()], ..one.clone() };
        assert_eq!(ranked_range(&two, &[state(1, true, 2), state(1, true, 2)], 2), None);
        let key = LedgerKey { timestamp_ms: 1, block: 0, index: 0, id: "trx_1".into() };
        let after = LedgerQuery { after: Some(key), ..query(0, 100, false) };
        assert_eq!(ranked_range(&after, &[state(5, true, 5)], 5), None);
    }
}
