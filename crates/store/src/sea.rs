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
use crate::port::*;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    ClientId, ClientMode, ClientRecord, GrantId, GrantRecord, LinkSession, PublicTokenRecord, ScopeSet, Sealed,
    SyncStatus, TokenDigest, TokenRefusal, UserId, WebhookEvent, WorkspaceId, WorkspaceRole,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;
use time::OffsetDateTime;

mod console;
pub(crate) mod console_entities;
mod hot;
mod ledger;
mod limits;
pub(crate) mod oidc;
mod ops;
mod outbox;
mod wallets;

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
    /// SQLite (file): a one-connection pool for the hot-path writes, so concurrent writers
    /// queue for it in the pool (FIFO) instead of sleeping in SQLite's busy handler. `None`
    /// on PostgreSQL and in-memory SQLite: `db` takes the writes.
    writer: Option<DatabaseConnection>,
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

fn integration_from(m: integration::Model) -> StoreResult<IntegrationRecord> {
    let credentials = match (m.credentials, m.credentials_key_id) {
        (Some(blob), Some(key_id)) => Some(Sealed { key_id, blob }),
        _ => None,
    };
    Ok(IntegrationRecord {
        sync_status: SyncStatus::parse(&m.sync_status)
            .ok_or_else(|| StoreError::Corrupt(format!("sync status {}", m.sync_status)))?,
        id: m.id,
        workspace_id: WorkspaceId::from_stored(m.workspace_id),
        provider: m.provider,
        category: m.category,
        address: m.address,
        alias: m.alias,
        account_name: m.account_name,
        credentials,
        credential_fingerprint: m.credential_fingerprint,
        last_error: m.last_error,
        last_synced_at: opt_at(m.last_synced_at)?,
        total_transactions: m.total_transactions,
        created_at: at(m.created_at)?,
        verified_at: opt_at(m.verified_at)?,
        proof_method: m.proof_method,
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
    .await?;
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
    .await?;
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
        let writer = if is_sqlite && !settings.url.contains(":memory:") {
            let mut w = opts.clone();
            w.max_connections(1).min_connections(1);
            Some(Database::connect(w).await?)
        } else {
            None
        };
        let db = Database::connect(opts).await?;
        Ok(Self { db, writer })
    }

    /// Wraps an existing connection (for embedding in a larger system).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self { db, writer: None }
    }

    /// The connection hot-path writes go through (see the `writer` field).
    fn writer(&self) -> &DatabaseConnection {
        self.writer.as_ref().unwrap_or(&self.db)
    }

    /// Applies pending migrations. On PostgreSQL the whole run holds a transaction-scoped
    /// advisory lock, so several processes starting together migrate one after the other
    /// (PostgreSQL's DDL is transactional; the later ones find nothing to do).
    pub async fn migrate(&self) -> StoreResult<()> {
        if self.is_postgres() {
            let txn = self.db.begin().await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7262706)").await?;
            crate::migration::Migrator::up(&txn, None).await?;
            txn.commit().await?;
        } else {
            crate::migration::Migrator::up(&self.db, None).await?;
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
    .await?;
    workspace::ActiveModel {
        id: Set(workspace_id.to_string()),
        name: Set(workspace_name.to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    membership::ActiveModel {
        workspace_id: Set(workspace_id.to_string()),
        user_id: Set(user_id.to_string()),
        role: Set(WorkspaceRole::Owner.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
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

#[async_trait]
impl Store for SeaStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    async fn insert_client(&self, c: &ClientRecord, now: OffsetDateTime) -> StoreResult<()> {
        let row = client::ActiveModel {
            id: Set(c.id.to_string()),
            name: Set(c.name.clone()),
            mode: Set(c.mode.as_str().to_owned()),
            secret_digest: Set(c.secret_digest.clone()),
            allowed_scopes: Set(c.allowed_scopes.to_string()),
            allowed_origins: Set(to_json_list(&c.allowed_origins)),
            redirect_uris: Set(to_json_list(&c.redirect_uris)),
            logo_url: Set(c.logo_url.clone()),
            created_at: Set(ms(now)),
            disabled_at: Set(c.disabled.then(|| ms(now))),
        };
        // The client and its `client_origins` rows commit together.
        let txn = self.db.begin().await?;
        client::Entity::insert(row).exec_without_returning(&txn).await?;
        hot::replace_client_origins(&txn, c.id.as_str(), &c.allowed_origins).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn find_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        client::Entity::find_by_id(id.as_str()).one(&self.db).await?.map(client_from).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        client::Entity::find()
            .order_by_asc(client::Column::CreatedAt)
            .order_by_asc(client::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(client_from)
            .collect()
    }

    async fn set_client_secret(&self, id: &ClientId, secret_digest: &str) -> StoreResult<bool> {
        let res = client::Entity::update_many()
            .col_expr(client::Column::SecretDigest, Expr::value(secret_digest))
            .filter(client::Column::Id.eq(id.as_str()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn disable_client(&self, id: &ClientId, now: OffsetDateTime) -> StoreResult<bool> {
        let res = client::Entity::update_many()
            .col_expr(client::Column::DisabledAt, Expr::value(ms(now)))
            .filter(client::Column::Id.eq(id.as_str()))
            .filter(client::Column::DisabledAt.is_null())
            .exec(&self.db)
            .await?;
        if res.rows_affected == 1 {
            return Ok(true);
        }
        Ok(self.find_client(id).await?.is_some())
    }

    async fn update_client(&self, current: &ClientRecord, updated: &ClientRecord) -> StoreResult<bool> {
        // Compare-and-swap on every editable column: a concurrent update makes this one match
        // no row, and the caller re-reads and re-applies its change.
        let logo_then = match &current.logo_url {
            Some(l) => client::Column::LogoUrl.eq(l.as_str()),
            None => client::Column::LogoUrl.is_null(),
        };
        // The client row and its `client_origins` rows change together.
        let txn = self.db.begin().await?;
        let res = client::Entity::update_many()
            .col_expr(client::Column::Name, Expr::value(updated.name.as_str()))
            .col_expr(client::Column::AllowedScopes, Expr::value(updated.allowed_scopes.to_string()))
            .col_expr(client::Column::AllowedOrigins, Expr::value(to_json_list(&updated.allowed_origins)))
            .col_expr(client::Column::RedirectUris, Expr::value(to_json_list(&updated.redirect_uris)))
            .col_expr(client::Column::LogoUrl, Expr::value(updated.logo_url.clone()))
            .filter(client::Column::Id.eq(current.id.as_str()))
            .filter(client::Column::Name.eq(current.name.as_str()))
            .filter(client::Column::AllowedScopes.eq(current.allowed_scopes.to_string()))
            .filter(client::Column::AllowedOrigins.eq(to_json_list(&current.allowed_origins)))
            .filter(client::Column::RedirectUris.eq(to_json_list(&current.redirect_uris)))
            .filter(logo_then)
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            hot::replace_client_origins(&txn, current.id.as_str(), &updated.allowed_origins).await?;
        }
        txn.commit().await?;
        Ok(res.rows_affected == 1)
    }

    async fn insert_link_session(&self, s: &NewLinkSession) -> StoreResult<()> {
        let resumed = s.resumed.as_ref();
        let row = link_token::ActiveModel {
            digest: Set(s.digest.as_str().to_owned()),
            client_id: Set(s.client_id.to_string()),
            scopes: Set(s.scopes.to_string()),
            created_at: Set(ms(s.created_at)),
            expires_at: Set(ms(s.expires_at)),
            completed_at: Set(None),
            resumed_grant_id: Set(resumed.map(|g| g.id.to_string())),
            user_id: Set(resumed.map(|g| g.user_id.to_string())),
            workspace_id: Set(resumed.map(|g| g.workspace_id.to_string())),
            consent: Set(None),
            integration_name: Set(s.integration_name.clone()),
            prefill: Set(s.prefill_json.clone()),
            ..Default::default()
        };
        link_token::Entity::insert(row).exec_without_returning(self.writer()).await?;
        Ok(())
    }

    async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>> {
        link_token::Entity::find()
            .filter(link_token::Column::Digest.eq(digest.as_str()))
            .one(&self.db)
            .await?
            .map(link_from)
            .transpose()
    }

    async fn create_guest_for_session(&self, session_id: i64, g: &NewGuest) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        insert_user_with_workspace(&txn, &g.user_id, None, &g.workspace_id, &g.workspace_name, g.created_at).await?;
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::UserId, Expr::value(g.user_id.as_str()))
            .col_expr(link_token::Column::WorkspaceId, Expr::value(g.workspace_id.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::UserId.is_null())
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.commit().await?;
        Ok(true)
    }

    async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool> {
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::Consent, Expr::value(approve))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn extend_grant_for_session(
        &self,
        session_id: i64,
        grant_id: &GrantId,
        scopes: &ScopeSet,
        now: OffsetDateTime,
    ) -> StoreResult<ExtendOutcome> {
        let txn = self.db.begin().await?;
        // Lock order: the session, then the grant. The first write also takes SQLite's write lock.
        let open = link_token::Entity::update_many()
            .col_expr(link_token::Column::Consent, Expr::value(true))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if open.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(ExtendOutcome::SessionClosed);
        }
        // Touching the live grant locks its row on PostgreSQL, so a concurrent extension waits
        // and then reads the scopes this one wrote (no lost update).
        let live = grant::Entity::update_many()
            .col_expr(grant::Column::Scopes, Expr::col(grant::Column::Scopes).into())
            .filter(grant::Column::Id.eq(grant_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await?;
        if live.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(ExtendOutcome::GrantGone);
        }
        let mut g = grant::Entity::find()
            .filter(grant::Column::Id.eq(grant_id.as_str()))
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("locked grant {grant_id} vanished")))?;
        let held = ScopeSet::from_stored(&g.scopes);
        let merged = held.union(scopes);
        let changed = merged != held;
        if changed {
            g.scopes = merged.to_string();
            grant::Entity::update_many()
                .col_expr(grant::Column::Scopes, Expr::value(g.scopes.as_str()))
                .filter(grant::Column::Id.eq(grant_id.as_str()))
                .exec(&txn)
                .await?;
            outbox::enqueue_grant_event(&txn, WebhookEvent::GrantUpdated, &g, ms(now)).await?;
        }
        txn.commit().await?;
        Ok(ExtendOutcome::Extended { grant: grant_from(g)?, changed })
    }

    async fn complete_link_session(
        &self,
        session_id: i64,
        now: OffsetDateTime,
        public: Option<NewPublicToken>,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::CompletedAt, Expr::value(ms(now)))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        if let Some(p) = public {
            let link = link_token::Entity::find_by_id(session_id)
                .one(&txn)
                .await?
                .ok_or_else(|| StoreError::Corrupt("completed link session vanished".into()))?;
            public_token::ActiveModel {
                digest: Set(p.digest.as_str().to_owned()),
                client_id: Set(link.client_id),
                link_token_id: Set(session_id),
                user_id: Set(p.user_id.to_string()),
                workspace_id: Set(p.workspace_id.to_string()),
                scopes: Set(p.scopes.to_string()),
                created_at: Set(ms(p.created_at)),
                expires_at: Set(ms(p.expires_at)),
                used_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    async fn find_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        Ok(user::Entity::find_by_id(id.as_str()).one(&self.db).await?.map(|m| UserRecord {
            id: UserId::from_stored(m.id),
            email: m.email,
            is_anonymous: m.is_anonymous,
            name: m.name,
            language: m.language,
        }))
    }

    async fn find_workspace(&self, id: &WorkspaceId) -> StoreResult<Option<WorkspaceRecord>> {
        Ok(workspace::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .map(|m| WorkspaceRecord { id: WorkspaceId::from_stored(m.id), name: m.name }))
    }

    async fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<MembershipRecord>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id.as_str()))
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let ws = self
                .find_workspace(&WorkspaceId::from_stored(m.workspace_id.clone()))
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("membership of missing workspace {}", m.workspace_id)))?;
            let role = WorkspaceRole::parse(&m.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", m.role)))?;
            out.push(MembershipRecord { workspace: ws, role });
        }
        Ok(out)
    }

    async fn insert_email_code(&self, c: &EmailCodeRecord) -> StoreResult<()> {
        email_code::ActiveModel {
            link_token_id: Set(c.session_id),
            email: Set(c.email.clone()),
            code_digest: Set(c.code_digest.clone()),
            created_at: Set(ms(c.created_at)),
            expires_at: Set(ms(c.expires_at)),
            attempts: Set(c.attempts),
            consumed_at: Set(c.consumed_at.map(ms)),
            requested_ip: Set(c.requested_ip.clone()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    async fn latest_email_code(&self, session_id: i64, email: &str) -> StoreResult<Option<EmailCodeRecord>> {
        email_code::Entity::find()
            .filter(email_code::Column::LinkTokenId.eq(session_id))
            .filter(email_code::Column::Email.eq(email))
            .order_by_desc(email_code::Column::Id)
            .one(&self.db)
            .await?
            .map(email_code_from)
            .transpose()
    }

    async fn count_email_codes_since(&self, email: &str, since: OffsetDateTime) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(email_code::Entity::find()
            .filter(email_code::Column::Email.eq(email))
            .filter(email_code::Column::CreatedAt.gte(ms(since)))
            .count(&self.db)
            .await?)
    }

    async fn email_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        self.email_code_times_impl(email, ip, since).await
    }

    async fn email_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool> {
        self.email_verified_from_impl(email, ip, since).await
    }

    async fn spend_rate_budget(
        &self,
        bucket: &str,
        now_ms: i64,
        interval_ms: i64,
        burst: u32,
    ) -> StoreResult<BudgetSpend> {
        self.spend_rate_budget_impl(bucket, now_ms, interval_ms, burst).await
    }

    async fn purge_rate_budgets(&self, now_ms: i64) -> StoreResult<u64> {
        self.purge_rate_budgets_impl(now_ms).await
    }

    async fn spend_email_attempt(&self, code_id: i64, max_attempts: i32) -> StoreResult<bool> {
        let res = email_code::Entity::update_many()
            .col_expr(email_code::Column::Attempts, Expr::col(email_code::Column::Attempts).add(1))
            .filter(email_code::Column::Id.eq(code_id))
            .filter(email_code::Column::Attempts.lt(max_attempts))
            .filter(email_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn consume_email_code(&self, code_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = email_code::Entity::update_many()
            .col_expr(email_code::Column::ConsumedAt, Expr::value(ms(now)))
            .filter(email_code::Column::Id.eq(code_id))
            .filter(email_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn sign_in_email_user(&self, session_id: i64, u: &NewEmailUser) -> StoreResult<Option<UserId>> {
        let txn = self.db.begin().await?;
        // Claim the session first: the first write takes SQLite's write lock, and on
        // PostgreSQL the row lock serialises competing sign-ins.
        let claimed = link_token::Entity::update_many()
            .col_expr(link_token::Column::UserId, Expr::value(u.user_id.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::UserId.is_null())
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        let existing = user::Entity::find().filter(user::Column::Email.eq(u.email.as_str())).one(&txn).await?;
        let user_id = match existing {
            Some(found) => {
                link_token::Entity::update_many()
                    .col_expr(link_token::Column::UserId, Expr::value(found.id.as_str()))
                    .filter(link_token::Column::Id.eq(session_id))
                    .exec(&txn)
                    .await?;
                UserId::from_stored(found.id)
            }
            None => {
                insert_user_with_workspace(
                    &txn,
                    &u.user_id,
                    Some(&u.email),
                    &u.workspace_id,
                    &u.workspace_name,
                    u.created_at,
                )
                .await?;
                u.user_id.clone()
            }
        };
        txn.commit().await?;
        Ok(Some(user_id))
    }

    async fn select_workspace(&self, session_id: i64, ws: &WorkspaceId) -> StoreResult<bool> {
        let res = link_token::Entity::update_many()
            .col_expr(link_token::Column::WorkspaceId, Expr::value(ws.as_str()))
            .filter(link_token::Column::Id.eq(session_id))
            .filter(link_token::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn insert_integration(&self, i: &IntegrationRecord) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        insert_integration_in(&txn, i).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn list_integrations(&self, ws: &WorkspaceId) -> StoreResult<Vec<IntegrationRecord>> {
        integration::Entity::find()
            .filter(integration::Column::WorkspaceId.eq(ws.as_str()))
            .order_by_asc(integration::Column::CreatedAt)
            .order_by_asc(integration::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(integration_from)
            .collect()
    }

    async fn delete_integration(&self, ws: &WorkspaceId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        // Lock order: sync jobs, then the integration, as `finish_sync_job` / `fail_sync_job` do
        // (job row, then integration), so the two never deadlock on PostgreSQL. The first write
        // also takes SQLite's write lock.
        sync_job::Entity::delete_many().filter(sync_job::Column::IntegrationId.eq(id)).exec(&txn).await?;
        // Touching the row locks it: a concurrent `enqueue_sync` (which touches it first) either
        // committed already (its job is deleted below) or waits and then finds it gone.
        let touched = integration::Entity::update_many()
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(id))
            .filter(integration::Column::WorkspaceId.eq(ws.as_str()))
            .exec(&txn)
            .await?;
        if touched.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        // Reads the row and the grants over its workspace, so it runs before the row goes.
        outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationDeleted, id, ms(now)).await?;
        sync_job::Entity::delete_many().filter(sync_job::Column::IntegrationId.eq(id)).exec(&txn).await?;
        balance_snapshot::Entity::delete_many()
            .filter(balance_snapshot::Column::IntegrationId.eq(id))
            .exec(&txn)
            .await?;
        integration::Entity::delete_many().filter(integration::Column::Id.eq(id)).exec(&txn).await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn find_integration(&self, id: &str) -> StoreResult<Option<IntegrationRecord>> {
        integration::Entity::find_by_id(id).one(&self.db).await?.map(integration_from).transpose()
    }

    async fn enqueue_sync(&self, integration_id: &str, mode: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        // Touch the integration first: it serialises concurrent enqueues of one integration.
        let touched = integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Queued.as_str()))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(integration_id))
            .exec(&txn)
            .await?;
        if touched.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        let pending = sync_job::Entity::find()
            .filter(sync_job::Column::IntegrationId.eq(integration_id))
            .filter(sync_job::Column::Status.is_in(["queued", "running"]))
            .one(&txn)
            .await?;
        if pending.is_some() {
            txn.rollback().await?;
            return Ok(false);
        }
        sync_job::ActiveModel {
            integration_id: Set(integration_id.to_owned()),
            mode: Set(mode.to_owned()),
            status: Set("queued".to_owned()),
            attempts: Set(0),
            run_after: Set(ms(now)),
            locked_by: Set(None),
            locked_until: Set(None),
            last_error: Set(None),
            created_at: Set(ms(now)),
            updated_at: Set(ms(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn claim_sync_job(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<SyncJob>> {
        use sea_orm::{Statement, Value};
        let backend = self.db.get_database_backend();
        let (now_ms, until) = (ms(now), ms(now + lease));
        let (sql, values): (&str, Vec<Value>) = if backend == DbBackend::Postgres {
            (
                "UPDATE sync_jobs SET status = 'running', locked_by = $1, locked_until = $2, \
                 attempts = attempts + 1, updated_at = $3 \
                 WHERE id = (SELECT id FROM sync_jobs \
                   WHERE (status = 'queued' AND run_after <= $3) OR (status = 'running' AND locked_until < $3) \
                   ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, integration_id, mode, attempts",
                vec![worker.into(), until.into(), now_ms.into()],
            )
        } else {
            (
                "UPDATE sync_jobs SET status = 'running', locked_by = ?, locked_until = ?, \
                 attempts = attempts + 1, updated_at = ? \
                 WHERE id = (SELECT id FROM sync_jobs \
                   WHERE (status = 'queued' AND run_after <= ?) OR (status = 'running' AND locked_until < ?) \
                   ORDER BY run_after, id LIMIT 1) \
                 RETURNING id, integration_id, mode, attempts",
                vec![worker.into(), until.into(), now_ms.into(), now_ms.into(), now_ms.into()],
            )
        };
        let Some(row) = self.db.query_one(Statement::from_sql_and_values(backend, sql, values)).await? else {
            return Ok(None);
        };
        let job = SyncJob {
            id: row.try_get("", "id")?,
            integration_id: row.try_get("", "integration_id")?,
            mode: row.try_get("", "mode")?,
            attempts: row.try_get("", "attempts")?,
        };
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Syncing.as_str()))
            .col_expr(integration::Column::UpdatedAt, Expr::value(now_ms))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&self.db)
            .await?;
        Ok(Some(job))
    }

    async fn finish_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        rows: &[SnapshotRow],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let done = release_held_job(job, worker, now)
            .col_expr(sync_job::Column::Status, Expr::value("done"))
            .col_expr(sync_job::Column::LastError, Expr::value(Option::<String>::None))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        balance_snapshot::Entity::delete_many()
            .filter(balance_snapshot::Column::IntegrationId.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await?;
        for r in rows {
            balance_snapshot::ActiveModel {
                integration_id: Set(job.integration_id.clone()),
                token_id: Set(r.token_id.clone()),
                symbol: Set(r.symbol.clone()),
                public_name: Set(r.public_name.clone()),
                chain_id: Set(r.chain_id.clone()),
                contract_address: Set(r.contract_address.clone()),
                logo_url: Set(r.logo_url.clone()),
                category: Set(r.category.clone()),
                asset_type: Set(r.asset_type.clone()),
                decimals: Set(i32::from(r.decimals)),
                quantity: Set(r.quantity.clone()),
                taken_at: Set(ms(now)),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(SyncStatus::Synced.as_str()))
            .col_expr(integration::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(integration::Column::LastSyncedAt, Expr::value(ms(now)))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await?;
        outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationUpdated, &job.integration_id, ms(now)).await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn fail_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let (status, run_after, integration_status) = match retry_at {
            Some(t) => ("queued", ms(t), SyncStatus::Queued),
            None => ("failed", ms(now), SyncStatus::Failed),
        };
        let updated = release_held_job(job, worker, now)
            .col_expr(sync_job::Column::Status, Expr::value(status))
            .col_expr(sync_job::Column::RunAfter, Expr::value(run_after))
            .col_expr(sync_job::Column::LastError, Expr::value(error))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        integration::Entity::update_many()
            .col_expr(integration::Column::SyncStatus, Expr::value(integration_status.as_str()))
            .col_expr(integration::Column::LastError, Expr::value(error))
            .col_expr(integration::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(integration::Column::Id.eq(job.integration_id.as_str()))
            .exec(&txn)
            .await?;
        if retry_at.is_none() {
            outbox::enqueue_integration_event(&txn, WebhookEvent::IntegrationFailed, &job.integration_id, ms(now))
                .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    async fn workspace_balances(&self, ws: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>> {
        let integrations = self.list_integrations(ws).await?;
        if integrations.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = integrations.iter().map(|i| i.id.clone()).collect();
        let rows = balance_snapshot::Entity::find()
            .filter(balance_snapshot::Column::IntegrationId.is_in(ids))
            .order_by_asc(balance_snapshot::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| WorkspaceBalance {
                provider: integrations
                    .iter()
                    .find(|i| i.id == m.integration_id)
                    .map(|i| i.provider.clone())
                    .unwrap_or_default(),
                integration_id: m.integration_id,
                row: SnapshotRow {
                    token_id: m.token_id,
                    symbol: m.symbol,
                    public_name: m.public_name,
                    chain_id: m.chain_id,
                    contract_address: m.contract_address,
                    logo_url: m.logo_url,
                    category: m.category,
                    asset_type: m.asset_type,
                    decimals: u8::try_from(m.decimals).unwrap_or(0),
                    quantity: m.quantity,
                },
            })
            .collect())
    }

    async fn client_grant_for(
        &self,
        client: &ClientId,
        user: &UserId,
        ws: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        use sea_orm::PaginatorTrait;
        let n = grant::Entity::find()
            .filter(grant::Column::ClientId.eq(client.as_str()))
            .filter(grant::Column::UserId.eq(user.as_str()))
            .filter(grant::Column::WorkspaceId.eq(ws.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)))
            .count(&self.db)
            .await?;
        Ok(n > 0)
    }

    async fn grant_limits(&self, id: &GrantId) -> StoreResult<Option<GrantLimits>> {
        Ok(grant::Entity::find()
            .filter(grant::Column::Id.eq(id.as_str()))
            .one(&self.db)
            .await?
            .map(|g| GrantLimits { transaction_limit: g.transaction_limit, enable_limiter: g.enable_limiter }))
    }

    async fn set_grant_limits(
        &self,
        id: &GrantId,
        transaction_limit: Option<Option<i64>>,
        enable_limiter: Option<bool>,
    ) -> StoreResult<bool> {
        let mut q = grant::Entity::update_many().filter(grant::Column::Id.eq(id.as_str()));
        if let Some(limit) = transaction_limit {
            q = q.col_expr(grant::Column::TransactionLimit, Expr::value(limit));
        }
        if let Some(enable) = enable_limiter {
            q = q.col_expr(grant::Column::EnableLimiter, Expr::value(enable));
        }
        if transaction_limit.is_none() && enable_limiter.is_none() {
            return Ok(self.find_grant(id).await?.is_some());
        }
        Ok(q.exec(&self.db).await?.rows_affected == 1)
    }

    async fn exchange_public_token(
        &self,
        digest: &TokenDigest,
        client_id: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
    ) -> StoreResult<ExchangeOutcome> {
        let txn = self.db.begin().await?;
        let claimed = public_token::Entity::update_many()
            .col_expr(public_token::Column::UsedAt, Expr::value(ms(now)))
            .filter(public_token::Column::Digest.eq(digest.as_str()))
            .filter(public_token::Column::ClientId.eq(client_id.as_str()))
            .filter(public_token::Column::UsedAt.is_null())
            .filter(public_token::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await?;
        let row =
            public_token::Entity::find().filter(public_token::Column::Digest.eq(digest.as_str())).one(&txn).await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            let refusal = match row {
                None => TokenRefusal::Invalid,
                Some(r) => public_from(r)?.exchangeable_by(client_id, now).err().unwrap_or(TokenRefusal::AlreadyUsed),
            };
            return Ok(ExchangeOutcome::Refused(refusal));
        }
        let token = public_from(row.ok_or_else(|| StoreError::Corrupt("claimed public token vanished".into()))?)?;
        let g = grant::ActiveModel {
            id: Set(issue.grant_id.to_string()),
            client_id: Set(client_id.to_string()),
            user_id: Set(token.user_id.to_string()),
            workspace_id: Set(token.workspace_id.to_string()),
            scopes: Set(token.scopes.to_string()),
            created_at: Set(ms(issue.created_at)),
            expires_at: Set(ms(issue.expires_at)),
            revoked_at: Set(None),
            transaction_limit: Set(None),
            enable_limiter: Set(false),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        access_token::ActiveModel {
            digest: Set(issue.access_digest.as_str().to_owned()),
            grant_id: Set(issue.grant_id.to_string()),
            client_id: Set(client_id.to_string()),
            created_at: Set(ms(issue.created_at)),
            expires_at: Set(ms(issue.expires_at)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        outbox::enqueue_grant_event(&txn, WebhookEvent::GrantCreated, &g, ms(now)).await?;
        txn.commit().await?;
        Ok(ExchangeOutcome::Issued(grant_from(g)?))
    }

    async fn find_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenGrant>> {
        let Some(token) =
            access_token::Entity::find().filter(access_token::Column::Digest.eq(digest.as_str())).one(&self.db).await?
        else {
            return Ok(None);
        };
        let grant = self
            .find_grant(&GrantId::from_stored(token.grant_id.clone()))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("access token of missing grant {}", token.grant_id)))?;
        Ok(Some(AccessTokenGrant { grant, token_expires_at: at(token.expires_at)? }))
    }

    async fn find_grant(&self, id: &GrantId) -> StoreResult<Option<GrantRecord>> {
        grant::Entity::find().filter(grant::Column::Id.eq(id.as_str())).one(&self.db).await?.map(grant_from).transpose()
    }

    async fn revoke_grant(
        &self,
        id: &GrantId,
        client_id: &ClientId,
        now: OffsetDateTime,
    ) -> StoreResult<RevokeOutcome> {
        // One transaction: the revocation and its `grant.revoked` deliveries commit together.
        let txn = self.db.begin().await?;
        let res = grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(ms(now)))
            .filter(grant::Column::Id.eq(id.as_str()))
            .filter(grant::Column::ClientId.eq(client_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let found = grant::Entity::find()
            .filter(grant::Column::Id.eq(id.as_str()))
            .one(&txn)
            .await?
            .filter(|g| g.client_id == client_id.as_str());
        let outcome = match (res.rows_affected, found) {
            (1, Some(g)) => {
                outbox::enqueue_grant_event(&txn, WebhookEvent::GrantRevoked, &g, ms(now)).await?;
                RevokeOutcome::Revoked(grant_from(g)?)
            }
            (_, Some(_)) => RevokeOutcome::AlreadyRevoked,
            (_, None) => RevokeOutcome::NotFound,
        };
        txn.commit().await?;
        Ok(outcome)
    }

    async fn list_active_grants(
        &self,
        client_id: &ClientId,
        now: OffsetDateTime,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<(i64, GrantRecord)>> {
        let mut q = grant::Entity::find()
            .filter(grant::Column::ClientId.eq(client_id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .filter(grant::Column::ExpiresAt.gt(ms(now)));
        if let Some(after) = after {
            q = q.filter(grant::Column::Seq.gt(after));
        }
        q.order_by_asc(grant::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| Ok((m.seq, grant_from(m)?)))
            .collect()
    }

    async fn record_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let row = audit_event::ActiveModel {
            at: Set(ms(e.at)),
            kind: Set(e.kind.clone()),
            outcome: Set(e.outcome.clone()),
            client_id: Set(e.client_id.clone()),
            grant_id: Set(e.grant_id.clone()),
            user_id: Set(e.user_id.clone()),
            ip: Set(e.ip.clone()),
            request_id: Set(e.request_id.clone()),
            detail: Set(e.detail.clone()),
            ..Default::default()
        };
        audit_event::Entity::insert(row).exec_without_returning(self.writer()).await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        client_id: Option<String>,
        since: Option<OffsetDateTime>,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut q = audit_event::Entity::find();
        if let Some(c) = client_id {
            q = q.filter(audit_event::Column::ClientId.eq(c));
        }
        if let Some(s) = since {
            q = q.filter(audit_event::Column::At.gte(ms(s)));
        }
        q.order_by_asc(audit_event::Column::Id).limit(limit).all(&self.db).await?.into_iter().map(audit_from).collect()
    }

    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let res =
            audit_event::Entity::delete_many().filter(audit_event::Column::At.lt(ms(before))).exec(&self.db).await?;
        Ok(res.rows_affected)
    }

    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()> {
        self.insert_webhook_endpoint_impl(endpoint).await
    }

    async fn list_webhook_endpoints(&self, client: &ClientId) -> StoreResult<Vec<WebhookEndpointRecord>> {
        self.list_webhook_endpoints_impl(client).await
    }

    async fn find_webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>> {
        self.find_webhook_endpoint_impl(id).await
    }

    async fn set_webhook_secret(
        &self,
        client: &ClientId,
        id: &str,
        secret: &Sealed,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.set_webhook_secret_impl(client, id, secret, now).await
    }

    async fn remove_webhook_endpoint(&self, client: &ClientId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.remove_webhook_endpoint_impl(client, id, now).await
    }

    async fn claim_webhook_delivery(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        self.claim_webhook_delivery_impl(worker, now, lease).await
    }

    async fn finish_webhook_delivery(
        &self,
        seq: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.finish_webhook_delivery_impl(seq, worker, attempt, now).await
    }

    async fn list_webhook_deliveries(&self, client: &ClientId, limit: u64) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        self.list_webhook_deliveries_impl(client, limit).await
    }

    async fn purge_webhook_deliveries(
        &self,
        delivered_before: Option<OffsetDateTime>,
        failed_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64> {
        self.purge_webhook_deliveries_impl(delivered_before, failed_before).await
    }

    async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<crate::QueueStats> {
        self.queue_stats_impl(now).await
    }

    async fn pool_stats(&self) -> StoreResult<crate::PoolStats> {
        self.pool_stats_impl().await
    }
}
