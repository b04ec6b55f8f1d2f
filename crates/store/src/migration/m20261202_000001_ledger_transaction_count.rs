//! `ledger_states.transaction_count`: how many transactions an integration's ledger holds,
//! kept in the transaction that adds or resets them. The Data API's transactions page answers
//! `totalCount` for an unfiltered query from these few rows instead of counting every row of the
//! workspace's ledger (issue 15: the first page at 100 000 transactions within 2× of an empty
//! ledger's). Existing ledgers are counted once here.

use crate::entity::{ledger_state, ledger_transaction};
use sea_orm::sea_query::{Alias, Expr, Func, SimpleExpr};
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

/// Adds the column and counts the ledgers stored so far.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_ledger_transaction_count"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ledger_state::Column as S;
        use ledger_transaction::Column as T;
        m.alter_table(
            Table::alter()
                .table(ledger_state::Entity)
                .add_column(ColumnDef::new(S::TransactionCount).big_integer().not_null().default(0))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        // Every ledger has its state row (written with its first page); one without is given one.
        let t = Alias::new("t");
        let missing = Query::select()
            .column((t.clone(), T::IntegrationId))
            .expr(Func::min(Expr::col((t.clone(), T::WorkspaceId))))
            .expr(Expr::value(Option::<String>::None))
            .expr(Expr::value("{}"))
            .expr(Expr::value(0_i64))
            .from_as(ledger_transaction::Entity, t.clone())
            .and_where(
                Expr::exists(
                    Query::select()
                        .expr(Expr::value(1))
                        .from(ledger_state::Entity)
                        .and_where(
                            Expr::col((ledger_state::Entity, S::IntegrationId)).equals((t.clone(), T::IntegrationId)),
                        )
                        .to_owned(),
                )
                .not(),
            )
            .group_by_col((t, T::IntegrationId))
            .to_owned();
        let insert = Query::insert()
            .into_table(ledger_state::Entity)
            .columns([S::IntegrationId, S::WorkspaceId, S::Cursor, S::Stages, S::UpdatedAt])
            .select_from(missing)
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .to_owned();
        conn.execute(conn.get_database_backend().build(&insert)).await?;
        let count = Query::select()
            .expr(Func::count(Expr::col(T::Id)))
            .from(ledger_transaction::Entity)
            .and_where(
                Expr::col((ledger_transaction::Entity, T::IntegrationId))
                    .equals((ledger_state::Entity, S::IntegrationId)),
            )
            .to_owned();
        let backfill = Query::update()
            .table(ledger_state::Entity)
            .value(S::TransactionCount, SimpleExpr::SubQuery(None, Box::new(count.into_sub_query_statement())))
            .to_owned();
        conn.execute(conn.get_database_backend().build(&backfill)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(ledger_state::Entity).drop_column(ledger_state::Column::TransactionCount).to_owned(),
        )
        .await
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::super::Migrator;
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
    use sea_orm_migration::MigratorTrait;

    async fn insert_tx(db: &DatabaseConnection, integration: &str, n: u32) {
        let sql = format!(
            "INSERT INTO ledger_transactions (id, workspace_id, integration_id, platform_tx_id, chain_id, timestamp, \
             failed, label, transaction_type, description, is_nft, is_manual, is_edited, is_missing_price, \
             is_missing_purchase, total_costbasis, total_gains, raw, created_at) VALUES ('trx_{integration}_{n}', \
             'ws_{integration}', '{integration}', '0x{n}', 'ethereum', {n}, false, 'Unknown', 'other', '', false, \
             false, false, false, false, '0', '0', '{{}}', 0)"
        );
        db.execute_unprepared(&sql).await.expect("insert a transaction");
    }

    #[tokio::test]
    async fn existing_ledgers_are_counted_and_a_ledger_without_state_gets_one() {
        let db = Database::connect("sqlite::memory:").await.expect("in-memory SQLite");
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261202_000001_ledger_transaction_count")
            .expect("the migration is registered");
        Migrator::up(&db, Some(u32::try_from(before).expect("few migrations"))).await.expect("earlier migrations");
        // `a` has a state row and three transactions; `b` two transactions and no state; `c` a
        // state and no transaction.
        for n in 0..3 {
            insert_tx(&db, "a", n).await;
        }
        for n in 0..2 {
            insert_tx(&db, "b", n).await;
        }
        for id in ["a", "c"] {
            db.execute_unprepared(&format!(
                "INSERT INTO ledger_states (integration_id, workspace_id, cursor, stages, updated_at) \
                 VALUES ('{id}', 'ws_{id}', 'k', '{{}}', 5)"
            ))
            .await
            .expect("insert a state");
        }

        Migrator::up(&db, Some(1)).await.expect("this migration");

        let rows = db
            .query_all(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT integration_id, workspace_id, cursor, transaction_count FROM ledger_states ORDER BY integration_id",
            ))
            .await
            .expect("states");
        let got: Vec<(String, String, Option<String>, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "integration_id").expect("id"),
                    r.try_get("", "workspace_id").expect("workspace"),
                    r.try_get("", "cursor").expect("cursor"),
                    r.try_get("", "transaction_count").expect("count"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".to_owned(), "ws_a".to_owned(), Some("k".to_owned()), 3),
                ("b".to_owned(), "ws_b".to_owned(), None, 2),
                ("c".to_owned(), "ws_c".to_owned(), Some("k".to_owned()), 0),
            ]
        );
    }
}
