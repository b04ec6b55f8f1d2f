//! Statements whose SQL depends only on their shape: built once per backend and shape, then
//! reused with new arguments. Building a sea-query statement and writing its SQL cost more
//! than the rest of a check-session's own work in profiles (`docs/benchmarks.md`).

use sea_orm::sea_query::{SelectStatement, Value, Values};
use sea_orm::DbBackend;
use std::sync::OnceLock;

/// The SQL of a statement and, for each of its placeholders, which argument goes there.
#[derive(Debug)]
pub(super) struct Shaped {
    sql: String,
    args: Vec<usize>,
}

/// A stand-in for argument `i`, which no real argument equals.
fn sentinel(i: usize) -> String {
    format!("\u{0}kc-shape-argument-{i}")
}

impl Shaped {
    /// Builds `query` for `backend` with a sentinel for each of its `n` string arguments and
    /// records where each lands. `None` when the statement has a value that is not one of
    /// them (a literal): such a statement must be built per call.
    pub(super) fn build(backend: DbBackend, n: usize, query: impl Fn(&[String]) -> SelectStatement) -> Option<Self> {
        let sentinels: Vec<String> = (0..n).map(sentinel).collect();
        let (sql, values) = match backend {
            DbBackend::Postgres => query(&sentinels).build(sea_orm::sea_query::PostgresQueryBuilder),
            DbBackend::Sqlite => query(&sentinels).build(sea_orm::sea_query::SqliteQueryBuilder),
            DbBackend::MySql => query(&sentinels).build(sea_orm::sea_query::MysqlQueryBuilder),
        };
        let args = values
            .0
            .iter()
            .map(|v| match v {
                Value::String(Some(s)) => sentinels.iter().position(|x| x == s.as_ref()),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()?;
        Some(Self { sql, args })
    }

    pub(super) fn sql(&self) -> &str {
        &self.sql
    }

    /// The values for `args`, in placeholder order.
    pub(super) fn values(&self, args: &[&str]) -> Values {
        Values(self.args.iter().map(|&i| Value::from(args.get(i).copied().unwrap_or_default())).collect())
    }
}

/// One statement's shapes, per backend, built on first use.
pub(super) struct ShapeCache {
    postgres: OnceLock<Option<Shaped>>,
    sqlite: OnceLock<Option<Shaped>>,
}

impl ShapeCache {
    pub(super) const fn new() -> Self {
        Self { postgres: OnceLock::new(), sqlite: OnceLock::new() }
    }

    /// The shape for `backend` (see [`Shaped::build`]); `None` for MySQL, which has no store.
    pub(super) fn get(
        &self,
        backend: DbBackend,
        n: usize,
        query: impl Fn(&[String]) -> SelectStatement,
    ) -> Option<&Shaped> {
        let slot = match backend {
            DbBackend::Postgres => &self.postgres,
            DbBackend::Sqlite => &self.sqlite,
            DbBackend::MySql => return None,
        };
        slot.get_or_init(|| Shaped::build(backend, n, query)).as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, Expr, Query};

    fn two_args(args: &[String]) -> SelectStatement {
        Query::select()
            .column(Alias::new("a"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("b")).eq(args[1].as_str()))
            .and_where(Expr::col(Alias::new("a")).eq(args[0].as_str()))
            .to_owned()
    }

    #[test]
    fn a_shape_puts_each_argument_where_building_would() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let shaped = Shaped::build(backend, 2, two_args).expect("only arguments");
            let real = ["first".to_owned(), "second".to_owned()];
            let built = backend.build(&two_args(&real));
            assert_eq!(shaped.sql(), built.sql);
            assert_eq!(Some(shaped.values(&["first", "second"])), built.values);
        }
    }

    #[test]
    fn a_statement_with_a_literal_has_no_shape() {
        let with_literal = |args: &[String]| {
            let mut q = two_args(args);
            q.and_where(Expr::col(Alias::new("c")).eq(7));
            q
        };
        assert!(Shaped::build(DbBackend::Sqlite, 2, with_literal).is_none());
    }
}
