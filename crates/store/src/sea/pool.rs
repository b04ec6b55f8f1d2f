//! Connection pools: how a connection is checked out and when it is tested first.
//!
//! sqlx pings every connection it hands out by default (`test_before_acquire`): one more round
//! trip per request, and on the hot paths — one statement each — half of the database work.
//! The ping is there for connections a network partition or a database restart left dead.
//!
//! - **PostgreSQL** pings a connection only when it sat idle in the pool for
//!   [`PING_WHEN_IDLE_FOR`] or longer. A busy pool hands out connections that answered a moment
//!   ago; a connection that died under load fails its statement, sqlx drops it from the pool and
//!   the request answers 503 (`SERVICE_UNAVAILABLE`) — as it would if the database died between
//!   the ping and the statement.
//!   A connection that went silent (a network partition) while the pool held it would then
//!   hang its first statement until the request timeout; so the hot paths' reads answer within
//!   the acquire timeout or fail with 503 ([`within`]), as the ping bounded them before.
//! - **SQLite** never pings: the database is a file in this process; there is no network
//!   between the pool and it, and a ping is a thread hand-off in sqlx's SQLite driver.

use sea_orm::ConnectOptions;
use std::time::Duration;

/// How long a PostgreSQL connection may sit idle before it is pinged on checkout.
#[cfg(feature = "postgres")]
pub(crate) const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Connects to PostgreSQL with [`PING_WHEN_IDLE_FOR`] as the checkout test.
#[cfg(feature = "postgres")]
pub(crate) async fn connect_postgres(opts: ConnectOptions) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _, Postgres};

    let connect: PgConnectOptions = opts
        .get_url()
        .parse()
        .map_err(|e: sea_orm::sqlx::Error| sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
    let connect = connect.disable_statement_logging();
    let pool: PgPoolOptions = opts.sqlx_pool_options::<Postgres>();
    let pool = pool
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(connect)
        .await
        .map_err(|e| sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

/// SQLite options without the checkout ping.
pub(crate) fn without_ping(mut opts: ConnectOptions) -> ConnectOptions {
    opts.test_before_acquire(false);
    opts
}

/// Awaits `read`, a read on the pool, for at most `deadline`; past it the read is dropped (and
/// its connection with it) and the answer is [`StoreError::Unavailable`](crate::StoreError).
pub(crate) async fn within<T>(
    deadline: Duration,
    read: impl std::future::Future<Output = crate::StoreResult<T>>,
) -> crate::StoreResult<T> {
    tokio::time::timeout(deadline, read).await.unwrap_or_else(|_| {
        Err(crate::StoreError::Unavailable(format!("no answer from the database within {deadline:?}")))
    })
}
