//! sea-orm's errors mapped onto the port's [`StoreError`], by what the caller can do about them.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub use kc_ports::store::StoreError;

fn is_connectivity(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match e {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) | E::Protocol(_) => true,
        // PostgreSQL: admin shutdown, crash shutdown, cannot connect now (class 57P), connection exceptions (08).
        E::Database(db) => db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

/// Sorts a sea-orm error by what the caller can do about it.
pub fn db_err(e: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(msg)) = e.sql_err() {
        return StoreError::Conflict(msg);
    }
    match &e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unavailable(e.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) if is_connectivity(s) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
