//! The reads behind `GET /api/v1/holdings`: a workspace's balances and its ledger positions,
//! each one statement joined to the workspace's integrations (on SQLite's direct path for a
//! file database).

use super::hot::{need, Columns};
use super::shape::ShapeCache;
use super::SeaStore;
use crate::entity::{balance_snapshot, integration, ledger_position};
use crate::{LedgerAsset, LedgerPosition, SnapshotRow, StoreResult, WorkspaceBalance};
use kc_domain::WorkspaceId;
use sea_orm::sea_query::{Alias, Expr, JoinType, Query, SelectStatement};
use sea_orm::Iden;

fn al(name: &str) -> Alias {
    Alias::new(name)
}

/// `table` (as `r`) inner-joined to the integrations of `ws` (as `i`), ordered by `r.id`.
fn of_workspace(table: impl Iden + 'static, integration_col: impl Iden + 'static, ws: &WorkspaceId) -> SelectStatement {
    let (r, i) = (al("r"), al("i"));
    Query::select()
        .from_as(table, r.clone())
        .join_as(
            JoinType::InnerJoin,
            integration::Entity,
            i.clone(),
            Expr::col((i.clone(), integration::Column::Id)).equals((r.clone(), integration_col)),
        )
        .and_where(Expr::col((i, integration::Column::WorkspaceId)).eq(ws.as_str()))
        .order_by((r, al("id")), sea_orm::Order::Asc)
        .to_owned()
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
    use balance_snapshot::Column as B;
    let mut q = of_workspace(balance_snapshot::Entity, B::IntegrationId, ws);
    columns(
        &mut q,
        &[
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
        ],
    );
    q.expr_as(Expr::col((al("i"), integration::Column::Provider)), al("provider"));
    q
}

/// The ledger positions of `ws` whose integration still exists (argument: `ws`).
fn positions_query(ws: &WorkspaceId) -> SelectStatement {
    use ledger_position::Column as P;
    let mut q = of_workspace(ledger_position::Entity, P::IntegrationId, ws);
    q.and_where(Expr::col((al("r"), P::WorkspaceId)).eq(ws.as_str()));
    columns(
        &mut q,
        &[
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
        ],
    );
    q
}

/// Builds a statement of one workspace from a shape's sentinel argument.
fn of_sentinel(query: fn(&WorkspaceId) -> SelectStatement) -> impl Fn(&[String]) -> SelectStatement {
    move |args| query(&WorkspaceId::from_stored(args.first().cloned().unwrap_or_default()))
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
                    cost: text("cost")?,
                })
            },
        )
        .await
    }
}
