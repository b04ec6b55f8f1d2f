//! [`Store`] on sea-orm, for SQLite and PostgreSQL.
//!
//! Atomic transitions (exchange, completion, guest sign-in, revocation) start with a
//! conditional `UPDATE … WHERE <still in the old state>` and read its row count: on
//! PostgreSQL the row lock makes concurrent transactions wait and then see zero rows; on
//! SQLite the first write takes the database's write lock. Either way exactly one wins.

use crate::entity::{
    access_token, audit_event, balance_snapshot, client, email_code, grant, integration, link_token, membership,
    public_token, sync_job, user, workspace,
};
use crate::*;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    ClientId, ClientMode, ClientRecord, GrantId, GrantRecord, LinkSession, PublicTokenRecord, ScopeSet, Sealed,
    SyncStatus, TokenDigest, TokenRefusal, UserId, WebhookEvent, WorkspaceId, WorkspaceRole,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;
use time::OffsetDateTime;

mod audit;
mod batch;
mod claim;
mod clients;
mod console;
pub(crate) mod console_entities;
#[cfg(feature = "sqlite")]
mod direct;
mod grants;
mod holdings;
mod hot;
mod integrations;
mod ledger;
mod ledger_order;
mod ledger_read;
mod limits;
pub(crate) mod oidc;
mod ops;
mod outbox;
mod pool;
mod sessions;
mod shape;
mod sign_in;
mod wallets;
mod webhooks;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Settings with default pool size (10) and acquire timeout (3 s).
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 10, acquire_timeout: Duration::from_secs(3) }
    }
}

/// The sea-orm implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    /// How long a hot-path read on the pool may take before it answers 503 (the acquire
    /// timeout; see [`pool`]).
    read_deadline: Duration,
    /// PostgreSQL: the task that coalesces concurrent link-session writes (see [`batch`]).
    link_batcher: Option<batch::LinkSessionBatcher>,
    /// SQLite (file): the hot paths' direct readers and group-commit writer (see
    /// [`direct`]). `None` on PostgreSQL and in-memory SQLite: `db` takes everything.
    #[cfg(feature = "sqlite")]
    direct: Option<std::sync::Arc<direct::Direct>>,
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn at(ms: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {ms}: {e}")))
}

fn opt_at(v: Option<i64>) -> StoreResult<Option<OffsetDateTime>> {
    v.map(at).transpose()
}

fn json_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list column: {e}")))
}

fn to_json_list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn client_from(m: client::Model) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        mode: ClientMode::parse(&m.mode).ok_or_else(|| StoreError::Corrupt(format!("client mode {}", m.mode)))?,
        allowed_origins: json_list(&m.allowed_origins)?,
        redirect_uris: json_list(&m.redirect_uris)?,
        id: ClientId::from_stored(m.id),
        name: m.name,
        allowed_scopes: ScopeSet::from_stored(&m.allowed_scopes),
        logo_url: m.logo_url,
        secret_digest: m.secret_digest,
        disabled: m.disabled_at.is_some(),
    })
}

fn grant_from(m: grant::Model) -> StoreResult<GrantRecord> {
    Ok(GrantRecord {
        id: GrantId::from_stored(m.id),
        client_id: ClientId::from_stored(m.client_id),
        user_id: UserId::from_stored(m.user_id),
        workspace_id: WorkspaceId::from_stored(m.workspace_id),
        scopes: ScopeSet::from_stored(&m.scopes),
        created_at: at(m.created_at)?,
        expires_at: at(m.expires_at)?,
        revoked_at: opt_at(m.revoked_at)?,
    })
}

fn link_from(m: link_token::Model) -> StoreResult<LinkSession> {
    Ok(LinkSession {
        id: m.id,
        client_id: ClientId::from_stored(m.client_id),
        scopes: ScopeSet::from_stored(&m.scopes),
        expires_at: at(m.expires_at)?,
        completed_at: opt_at(m.completed_at)?,
        resumed_grant_id: m.resumed_grant_id.map(GrantId::from_stored),
        user_id: m.user_id.map(UserId::from_stored),
        workspace_id: m.workspace_id.map(WorkspaceId::from_stored),
        consent: m.consent,
        integration_name: m.integration_name,
        prefill_json: m.prefill,
    })
}

fn public_from(m: public_token::Model) -> StoreResult<PublicTokenRecord> {
    Ok(PublicTokenRecord {
        id: m.id,
        client_id: ClientId::from_stored(m.client_id),
        user_id: UserId::from_stored(m.user_id),
        workspace_id: WorkspaceId::from_stored(m.workspace_id),
        scopes: ScopeSet::from_stored(&m.scopes),
        expires_at: at(m.expires_at)?,
        used_at: opt_at(m.used_at)?,
    })
}

fn audit_from(m: audit_event::Model) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        at: at(m.at)?,
        kind: m.kind,
        outcome: m.outcome,
        client_id: m.client_id,
        grant_id: m.grant_id,
        user_id: m.user_id,
        ip: m.ip,
        request_id: m.request_id,
        detail: m.detail,
    })
}

fn email_code_from(m: email_code::Model) -> StoreResult<EmailCodeRecord> {
    Ok(EmailCodeRecord {
        id: m.id,
        session_id: m.link_token_id,
        email: m.email,
        code_digest: m.code_digest,
        created_at: at(m.created_at)?,
        expires_at: at(m.expires_at)?,
        attempts: m.attempts,
        consumed_at: opt_at(m.consumed_at)?,
        requested_ip: m.requested_ip,
    })
}

/// An integration from a row of all its columns, from either driver ([`hot::Columns`]).
fn integration_of(row: &dyn hot::Columns) -> StoreResult<IntegrationRecord> {
    let text = |col: &str| hot::need(row.text(col)?, col);
    let int = |col: &str| hot::need(row.int(col)?, col);
    let credentials = match (row.text("credentials")?, row.text("credentials_key_id")?) {
        (Some(blob), Some(key_id)) => Some(Sealed { key_id, blob }),
        _ => None,
    };
    let sync_status = text("sync_status")?;
    Ok(IntegrationRecord {
        sync_status: SyncStatus::parse(&sync_status)
            .ok_or_else(|| StoreError::Corrupt(format!("sync status {sync_status}")))?,
        id: text("id")?,
        workspace_id: WorkspaceId::from_stored(text("workspace_id")?),
        provider: text("provider")?,
        category: text("category")?,
        address: row.text("address")?,
        alias: row.text("alias")?,
        account_name: row.text("account_name")?,
        credentials,
        credential_fingerprint: row.text("credential_fingerprint")?,
        last_error: row.text("last_error")?,
        last_synced_at: opt_at(row.int("last_synced_at")?)?,
        total_transactions: int("total_transactions")?,
        created_at: at(int("created_at")?)?,
        verified_at: opt_at(row.int("verified_at")?)?,
        proof_method: row.text("proof_method")?,
    })
}

/// Inserts integration `i` with its first sync job and the `integration.created` outbox row,
/// inside `txn` (the caller commits).
pub(crate) async fn insert_integration_in<C: ConnectionTrait>(txn: &C, i: &IntegrationRecord) -> StoreResult<()> {
    let now = ms(i.created_at);
    integration::ActiveModel {
        id: Set(i.id.clone()),
        workspace_id: Set(i.workspace_id.to_string()),
        provider: Set(i.provider.clone()),
        category: Set(i.category.clone()),
        address: Set(i.address.clone()),
        alias: Set(i.alias.clone()),
        account_name: Set(i.account_name.clone()),
        credentials: Set(i.credentials.as_ref().map(|c| c.blob.clone())),
        credentials_key_id: Set(i.credentials.as_ref().map(|c| c.key_id.clone())),
        credential_fingerprint: Set(i.credential_fingerprint.clone()),
        sync_status: Set(i.sync_status.as_str().to_owned()),
        last_error: Set(i.last_error.clone()),
        last_synced_at: Set(i.last_synced_at.map(ms)),
        total_transactions: Set(i.total_transactions),
        created_at: Set(now),
        updated_at: Set(now),
        verified_at: Set(i.verified_at.map(ms)),
        proof_method: Set(i.proof_method.clone()),
    }
    .insert(txn)
    .await
    .map_err(crate::db_err)?;
    sync_job::ActiveModel {
        integration_id: Set(i.id.clone()),
        mode: Set("from_start".to_owned()),
        status: Set("queued".to_owned()),
        attempts: Set(0),
        run_after: Set(now),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(crate::db_err)?;
    outbox::enqueue_integration_event(txn, WebhookEvent::IntegrationCreated, &i.id, now).await?;
    Ok(())
}

impl SeaStore {
    /// Connects (creating the SQLite file and its directory if needed). Does not migrate.
    pub async fn connect(settings: &DatabaseSettings) -> StoreResult<Self> {
        let is_sqlite = settings.url.starts_with("sqlite:");
        if is_sqlite {
            create_sqlite_parent_dir(&settings.url)?;
        }
        let mut opts = ConnectOptions::new(settings.url.clone());
        opts.max_connections(if settings.url.contains(":memory:") { 1 } else { settings.max_connections })
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .connect_timeout(settings.acquire_timeout)
            .sqlx_logging(false);
        #[cfg(feature = "sqlite")]
        if is_sqlite {
            // WAL lets readers run beside the single writer; NORMAL sync is durable under WAL
            // except for the last commits on power loss; waiting writers queue for up to 5 s.
            opts.map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        }
        if is_sqlite {
            opts = pool::without_ping(opts);
        }
        #[cfg(feature = "postgres")]
        let db = if is_sqlite {
            Database::connect(opts).await.map_err(crate::db_err)?
        } else {
            pool::connect_postgres(opts).await.map_err(crate::db_err)?
        };
        #[cfg(not(feature = "postgres"))]
        let db = Database::connect(opts).await.map_err(crate::db_err)?;
        #[cfg(feature = "sqlite")]
        let direct = if is_sqlite { direct::Direct::open(&settings.url)?.map(std::sync::Arc::new) } else { None };
        let link_batcher = (!is_sqlite).then(|| batch::LinkSessionBatcher::start(db.clone()));
        Ok(Self {
            db,
            read_deadline: settings.acquire_timeout,
            link_batcher,
            #[cfg(feature = "sqlite")]
            direct,
        })
    }

    /// Wraps an existing connection (for embedding in a larger system). Every statement goes
    /// through it (no direct SQLite path).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self {
            db,
            read_deadline: DatabaseSettings::new("").acquire_timeout,
            link_batcher: None,
            #[cfg(feature = "sqlite")]
            direct: None,
        }
    }

    /// Calls `observer` with the text of every statement this store sends, on every path
    /// (sea-orm's pool and SQLite's direct path): for statement-count budgets in tests and
    /// for diagnostics. Set it before sharing the store.
    pub fn observe_statements(&mut self, observer: std::sync::Arc<dyn Fn(&str) + Send + Sync>) {
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            direct.observe(observer.clone());
        }
        self.db.set_metric_callback(move |info| observer(&info.statement.sql));
        // The batching task writes through its own handle of the pool: give it the observed one.
        if self.link_batcher.is_some() {
            self.link_batcher = Some(batch::LinkSessionBatcher::start(self.db.clone()));
        }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// SQLite's direct path, when this is a SQLite file.
    #[cfg(feature = "sqlite")]
    fn direct(&self) -> Option<&direct::Direct> {
        self.direct.as_deref()
    }

    /// [`Self::direct`], shared: for reads moved to a blocking thread.
    #[cfg(feature = "sqlite")]
    fn direct_handle(&self) -> Option<std::sync::Arc<direct::Direct>> {
        self.direct.clone()
    }

    /// Inserts one row: on a SQLite file through the group-commit writer, elsewhere through
    /// the pool.
    async fn insert_row(&self, insert: sea_orm::sea_query::InsertStatement) -> StoreResult<()> {
        #[cfg(feature = "sqlite")]
        if let Some(direct) = self.direct() {
            direct.writer.write(move |c| c.execute(&insert).map(drop).map_err(direct::Undo::from)).await?;
            return Ok(());
        }
        let backend = self.db.get_database_backend();
        self.db.execute(backend.build(&insert)).await.map_err(crate::db_err)?;
        Ok(())
    }

    /// Applies pending migrations. On PostgreSQL the whole run holds a transaction-scoped
    /// advisory lock, so several processes starting together migrate one after the other
    /// (PostgreSQL's DDL is transactional; the later ones find nothing to do).
    pub async fn migrate(&self) -> StoreResult<()> {
        if self.is_postgres() {
            let txn = self.db.begin().await.map_err(crate::db_err)?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7262706)").await.map_err(crate::db_err)?;
            crate::migration::Migrator::up(&txn, None).await.map_err(crate::db_err)?;
            txn.commit().await.map_err(crate::db_err)?;
        } else {
            crate::migration::Migrator::up(&self.db, None).await.map_err(crate::db_err)?;
        }
        Ok(())
    }

    /// The underlying connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }
}

/// An update that releases `job`'s claim, matching only while `worker` still holds it
/// (a worker whose lease lapsed and was taken over changes nothing).
fn release_held_job(job: &SyncJob, worker: &str, now: OffsetDateTime) -> sea_orm::UpdateMany<sync_job::Entity> {
    sync_job::Entity::update_many()
        .col_expr(sync_job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(sync_job::Column::UpdatedAt, Expr::value(ms(now)))
        .filter(sync_job::Column::Id.eq(job.id))
        .filter(sync_job::Column::LockedBy.eq(worker))
        .filter(sync_job::Column::Status.eq("running"))
}

/// Inserts a user (a guest when `email` is `None`) owning a new personal workspace.
async fn insert_user_with_workspace(
    txn: &sea_orm::DatabaseTransaction,
    user_id: &UserId,
    email: Option<&str>,
    workspace_id: &WorkspaceId,
    workspace_name: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let now = ms(at);
    user::ActiveModel {
        id: Set(user_id.to_string()),
        email: Set(email.map(str::to_owned)),
        is_anonymous: Set(email.is_none()),
        name: Set(None),
        language: Set("en".to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(crate::db_err)?;
    workspace::ActiveModel {
        id: Set(workspace_id.to_string()),
        name: Set(workspace_name.to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(crate::db_err)?;
    membership::ActiveModel {
        workspace_id: Set(workspace_id.to_string()),
        user_id: Set(user_id.to_string()),
        role: Set(WorkspaceRole::Owner.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(crate::db_err)?;
    Ok(())
}

fn create_sqlite_parent_dir(url: &str) -> StoreResult<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    Ok(())
}
