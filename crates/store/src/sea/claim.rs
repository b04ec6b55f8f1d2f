//! Claims with a lease, built once with sea-query for both backends: `UPDATE <table> SET
//! status = <running>, locked_by, locked_until, attempts = attempts + 1, updated_at WHERE <key>
//! IN (SELECT <key> … ORDER BY … LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING …`.
//!
//! On PostgreSQL the row lock with `SKIP LOCKED` lets concurrent claimers in several
//! processes take different rows without waiting; SQLite has a single writer, so the same
//! statement without the lock clause is already exclusive.

use sea_orm::sea_query::{Alias, Expr, LockBehavior, LockType, Query, SelectStatement};
use sea_orm::{DbBackend, Statement};

/// What to claim: the `pick` query (over `table` aliased `alias`, with its conditions and
/// order) chooses the row; the claim sets it to `running` for `worker` until `until_ms`.
pub(super) struct Claim<'a> {
    pub table: &'static str,
    pub key: &'static str,
    pub alias: &'static str,
    pub pick: SelectStatement,
    pub running: &'static str,
    pub worker: &'a str,
    pub now_ms: i64,
    pub until_ms: i64,
    pub returning: &'static [&'static str],
}

/// The claim's single statement for `backend`.
pub(super) fn statement(backend: DbBackend, claim: Claim<'_>) -> Statement {
    let Claim { table, key, alias, mut pick, running, worker, now_ms, until_ms, returning } = claim;
    pick.column((Alias::new(alias), Alias::new(key))).limit(1);
    if backend == DbBackend::Postgres {
        pick.lock_with_tables_behavior(LockType::Update, [Alias::new(alias)], LockBehavior::SkipLocked);
    }
    let attempts = Alias::new("attempts");
    let update = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("status"), running)
        .value(Alias::new("locked_by"), worker)
        .value(Alias::new("locked_until"), until_ms)
        .value(attempts.clone(), Expr::col(attempts).add(1))
        .value(Alias::new("updated_at"), now_ms)
        .and_where(Expr::col(Alias::new(key)).in_subquery(pick))
        .returning(Query::returning().columns(returning.iter().map(|c| Alias::new(*c))))
        .to_owned();
    backend.build(&update)
}

/// `alias.column`, for the pick query's conditions.
pub(super) fn col(alias: &'static str, column: &'static str) -> Expr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::Order;

    fn jobs(backend: DbBackend) -> String {
        let mut pick = Query::select();
        pick.from_as(Alias::new("sync_jobs"), Alias::new("c"))
            .and_where(col("c", "run_after").lte(5))
            .order_by((Alias::new("c"), Alias::new("id")), Order::Asc);
        let claim = Claim {
            table: "sync_jobs",
            key: "id",
            alias: "c",
            pick,
            running: "running",
            worker: "w1",
            now_ms: 5,
            until_ms: 9,
            returning: &["id"],
        };
        statement(backend, claim).to_string()
    }

    #[test]
    fn only_postgresql_locks_with_skip_locked() {
        let pg = jobs(DbBackend::Postgres);
        assert!(pg.contains("FOR UPDATE OF \"c\" SKIP LOCKED"), "{pg}");
        assert!(pg.contains("\"attempts\" = \"attempts\" + 1"), "{pg}");
        let lite = jobs(DbBackend::Sqlite);
        assert!(!lite.contains("FOR UPDATE"), "{lite}");
        assert!(lite.contains("LIMIT 1") && lite.contains("RETURNING \"id\""), "{lite}");
    }
}
