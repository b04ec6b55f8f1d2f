//! The reads behind `GET /api/v1/holdings`: a workspace's balances and its ledger positions,
//! each one statement joined to the workspace's integrations (on SQLite's direct path for a
//! file database), or both as JSON columns of the access token's joined read
//! ([`holdings_columns`]), so that the whole request is one round trip.

use super::hot::{need, Columns};
use super::shape::ShapeCache;
use super::SeaStore;
use crate::entity::{balance_snapshot, grant, integration, ledger_position};
use crate::{HoldingsRows, LedgerAsset, LedgerPosition, SnapshotRow, StoreError, StoreResult, WorkspaceBalance};
use kc_domain::WorkspaceId;
use sea_orm::sea_query::{Alias, Expr, JoinType, Query, SelectStatement, SimpleExpr};
use sea_orm::{DbBackend, Iden};

fn al(name: &str) -> Alias {
    Alias::new(name)
}

/// `table` (as `r`) inner-joined to the integrations (as `i`) of the workspace `ws`.
fn of_workspace(table: impl Iden + 'static, integration_col: impl Iden + 'static, ws: SimpleExpr) -> SelectStatement {
    let (r, i) = (al("r"), al("i"));
    Query::select()
        .from_as(table, r.clone())
        .join_as(
            JoinType::InnerJoin,
            integration::Entity,
            i.clone(),
            Expr::col((i.clone(), integration::Column::Id)).equals((r, integration_col)),
        )
        .and_where(Expr::col((i, integration::Column::WorkspaceId)).eq(ws))
        .to_owned()
}

/// The rows of `table` in id order.
fn in_order(mut q: SelectStatement) -> SelectStatement {
    q.order_by((al("r"), al("id")), sea_orm::Order::Asc);
    q
}

/// Selects `cols` of `r` under their own names.
fn columns<C: Iden + Copy + 'static>(q: &mut SelectStatement, cols: &[C]) {
    for col in cols {
        q.expr_as(Expr::col((al("r"), *col)), al(&col.to_string()));
    }
}

fn decimals(row: &dyn Columns) -> StoreResult<u8> {
    Ok(u8::try_from(need(row.int("decimals")?, "decimals")?).unwrap_or(0))
}

/// The balances of every integration of `ws`, with its provider (argument: `ws`).
fn balances_query(ws: &WorkspaceId) -> SelectStatement {
    let mut q =
        of_workspace(balance_snapshot::Entity, balance_snapshot::Column::IntegrationId, Expr::val(ws.as_str()).into());
    columns(&mut q, &BALANCE_COLUMNS);
    q.expr_as(Expr::col((al("i"), integration::Column::Provider)), al("provider"));
    in_order(q)
}

/// The columns of a balance, in [`BalanceRow`]'s order (then the integration's provider).
const BALANCE_COLUMNS: [balance_snapshot::Column; 11] = {
    use balance_snapshot::Column as B;
    [
        B::IntegrationId,
        B::TokenId,
        B::Symbol,
        B::PublicName,
        B::ChainId,
        B::ContractAddress,
        B::LogoUrl,
        B::Category,
        B::AssetType,
        B::Decimals,
        B::Quantity,
    ]
};

/// The columns of a position, in [`PositionRow`]'s order.
const POSITION_COLUMNS: [ledger_position::Column; 10] = {
    use ledger_position::Column as P;
    [
        P::IntegrationId,
        P::TokenId,
        P::Symbol,
        P::PublicName,
        P::ChainId,
        P::ContractAddress,
        P::AssetType,
        P::Decimals,
        P::Quantity,
        P::Cost,
    ]
};

/// The ledger positions of `ws` whose integration still exists (argument: `ws`).
fn positions_query(ws: &WorkspaceId) -> SelectStatement {
    let mut q = positions_of(Expr::val(ws.as_str()).into());
    columns(&mut q, &POSITION_COLUMNS);
    in_order(q)
}

/// The ledger positions of the workspace `ws` (no columns yet): rows of the workspace whose
/// integration still exists.
fn positions_of(ws: SimpleExpr) -> SelectStatement {
    let mut q = of_workspace(ledger_position::Entity, ledger_position::Column::IntegrationId, ws.clone());
    q.and_where(Expr::col((al("r"), ledger_position::Column::WorkspaceId)).eq(ws));
    q
}

/// `SELECT <rows as one JSON array of arrays, in id order> FROM q`, a scalar subquery.
fn json_rows(backend: DbBackend, mut q: SelectStatement, cols: &[String]) -> SimpleExpr {
    let list = cols.join(", ");
    let agg = match backend {
        DbBackend::Postgres => format!("json_agg(json_build_array({list}) ORDER BY \"r\".\"id\")::text"),
        _ => format!("json_group_array(json_array({list}) ORDER BY \"r\".\"id\")"),
    };
    q.expr(Expr::cust(agg));
    SimpleExpr::SubQuery(None, Box::new(q.into_sub_query_statement()))
}

fn qualified<C: Iden>(table: &str, cols: &[C]) -> Vec<String> {
    cols.iter().map(|c| format!("\"{table}\".\"{}\"", c.to_string())).collect()
}

/// Adds to the joined read of an access token (grant as `g`) the holdings rows of the grant's
/// workspace as two JSON columns, `h_positions` and `h_balances` (decoded by [`holdings_of`]).
pub(super) fn holdings_columns(q: &mut SelectStatement, backend: DbBackend) {
    let ws = || SimpleExpr::from(Expr::col((al("g"), grant::Column::WorkspaceId)));
    let positions = json_rows(backend, positions_of(ws()), &qualified("r", &POSITION_COLUMNS));
    let mut balance_cols = qualified("r", &BALANCE_COLUMNS);
    balance_cols.extend(qualified("i", &[integration::Column::Provider]));
    let balances = json_rows(
        backend,
        of_workspace(balance_snapshot::Entity, balance_snapshot::Column::IntegrationId, ws()),
        &balance_cols,
    );
    q.expr_as(positions, al("h_positions")).expr_as(balances, al("h_balances"));
}

/// A position as [`holdings_columns`] encodes it, in [`POSITION_COLUMNS`]' order.
type PositionRow = (String, String, String, String, String, Option<String>, String, i64, String, String);

/// A balance as [`holdings_columns`] encodes it, in [`BALANCE_COLUMNS`]' order, then the provider.
type BalanceRow = (String, String, String, String, String, Option<String>, String, String, String, i64, String, String);

/// Parses a JSON column of [`holdings_columns`] (`NULL` when it has no row, on PostgreSQL).
fn json_column<T: serde::de::DeserializeOwned>(row: &dyn Columns, col: &str) -> StoreResult<Vec<T>> {
    match row.text(col)? {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))),
    }
}

/// The holdings rows of a row read with [`holdings_columns`].
pub(super) fn holdings_of(row: &dyn Columns) -> StoreResult<HoldingsRows> {
    let decimals = |d: i64| u8::try_from(d).unwrap_or(0);
    let positions = json_column::<PositionRow>(row, "h_positions")?
        .into_iter()
        .map(
            |(
                integration_id,
                token_id,
                symbol,
                public_name,
                chain_id,
                contract_address,
                asset_type,
                d,
                quantity,
                cost,
            )| {
                LedgerPosition {
                    integration_id,
                    asset: LedgerAsset {
                        token_id,
                        symbol,
                        public_name,
                        chain_id,
                        contract_address,
                        asset_type,
                        decimals: decimals(d),
                    },
                    quantity,
                    cost: known_cost(cost),
                }
            },
        )
        .collect();
    let balances = json_column::<BalanceRow>(row, "h_balances")?
        .into_iter()
        .map(
            |(
                integration_id,
                token_id,
                symbol,
                public_name,
                chain_id,
                contract_address,
                logo_url,
                category,
                asset_type,
                d,
                quantity,
                provider,
            )| {
                WorkspaceBalance {
                    integration_id,
                    provider,
                    row: SnapshotRow {
                        token_id,
                        symbol,
                        public_name,
                        chain_id,
                        contract_address,
                        logo_url,
                        category,
                        asset_type,
                        decimals: decimals(d),
                        quantity,
                    },
                }
            },
        )
        .collect();
    Ok(HoldingsRows { positions, balances })
}

/// Builds a statement of one workspace from a shape's sentinel argument.
fn of_sentinel(query: fn(&WorkspaceId) -> SelectStatement) -> impl Fn(&[String]) -> SelectStatement {
    move |args| query(&WorkspaceId::from_stored(args.first().cloned().unwrap_or_default()))
}

/// A stored position cost: `''` is a cost not known (see `LedgerPosition::cost`).
fn known_cost(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

impl SeaStore {
    /// The balances of every integration of `ws`, with its provider, in snapshot order.
    pub(super) async fn balances_of_workspace(&self, ws: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>> {
        static SHAPES: ShapeCache = ShapeCache::new();
        let shaped = SHAPES.get(self.backend(), 1, of_sentinel(balances_query));
        self.read_rows(
            shaped,
            &[ws.as_str()],
            || balances_query(ws),
            |row| {
                let text = |col: &str| -> StoreResult<String> { need(row.text(col)?, col) };
                Ok(WorkspaceBalance {
                    integration_id: text("integration_id")?,
                    provider: text("provider")?,
                    row: SnapshotRow {
                        token_id: text("token_id")?,
                        symbol: text("symbol")?,
                        public_name: text("public_name")?,
                        chain_id: text("chain_id")?,
                        contract_address: row.text("contract_address")?,
                        logo_url: text("logo_url")?,
                        category: text("category")?,
                        asset_type: text("asset_type")?,
                        decimals: decimals(row)?,
                        quantity: text("quantity")?,
                    },
                })
            },
        )
        .await
    }

    /// The ledger positions of `ws` whose integration still exists, in position order.
    pub(super) async fn positions_of_workspace(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerPosition>> {
        static SHAPES: ShapeCache = ShapeCache::new();
        let shaped = SHAPES.get(self.backend(), 1, of_sentinel(positions_query));
        self.read_rows(
            shaped,
            &[ws.as_str()],
            || positions_query(ws),
            |row| {
                let text = |col: &str| -> StoreResult<String> { need(row.text(col)?, col) };
                Ok(LedgerPosition {
                    integration_id: text("integration_id")?,
                    asset: LedgerAsset {
                        token_id: text("token_id")?,
                        symbol: text("symbol")?,
                        public_name: text("public_name")?,
                        chain_id: text("chain_id")?,
                        contract_address: row.text("contract_address")?,
                        asset_type: text("asset_type")?,
                        decimals: decimals(row)?,
                    },
                    quantity: text("quantity")?,
                    cost: known_cost(text("cost")?),
                })
            },
        )
        .await
    }
}
