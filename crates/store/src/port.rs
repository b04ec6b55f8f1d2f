//! The store port: everything the service needs from persistence, in domain terms.

use crate::StoreResult;
use async_trait::async_trait;
use kc_domain::{
    ClientId, ClientRecord, GrantId, GrantRecord, LinkSession, ScopeSet, Sealed, SyncStatus, TokenDigest, TokenRefusal,
    UserId, WebhookEvent, WorkspaceId, WorkspaceRole,
};
use time::OffsetDateTime;

/// A link-token session to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLinkSession {
    /// Digest of the `link_…` token.
    pub digest: TokenDigest,
    /// The creating client.
    pub client_id: ClientId,
    /// Requested scopes.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// For a returning user: the grant being resumed, with its user and workspace.
    pub resumed: Option<GrantRecord>,
    /// Provider to preselect.
    pub integration_name: Option<String>,
    /// Prefill values as JSON text.
    pub prefill_json: Option<String>,
}

/// A new guest user with a personal workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGuest {
    /// The user's id.
    pub user_id: UserId,
    /// The personal workspace's id.
    pub workspace_id: WorkspaceId,
    /// The personal workspace's name.
    pub workspace_name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRecord {
    /// Its id.
    pub id: WorkspaceId,
    /// Its name.
    pub name: String,
}

/// A user's membership of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The workspace.
    pub workspace: WorkspaceRecord,
    /// The user's role in it.
    pub role: WorkspaceRole,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// Verified email, for email users.
    pub email: Option<String>,
    /// Whether this is a guest.
    pub is_anonymous: bool,
    /// Display name.
    pub name: Option<String>,
    /// Preferred language (BCP 47).
    pub language: String,
}

/// What the widget's completion stores alongside killing the link token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublicToken {
    /// Digest of the `public_…` token.
    pub digest: TokenDigest,
    /// The consenting user.
    pub user_id: UserId,
    /// The shared workspace.
    pub workspace_id: WorkspaceId,
    /// Approved scopes.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The grant and access token an exchange creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueGrant {
    /// The new grant's id.
    pub grant_id: GrantId,
    /// Digest of the new `cat_…` token.
    pub access_digest: TokenDigest,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry of grant and token.
    pub expires_at: OffsetDateTime,
}

/// The result of an exchange attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// The token was consumed by this call and the grant created.
    Issued(GrantRecord),
    /// The token could not be exchanged.
    Refused(TokenRefusal),
}

/// An access token's grant, found by the token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenGrant {
    /// The grant (check its status).
    pub grant: GrantRecord,
    /// The token's own expiry.
    pub token_expires_at: OffsetDateTime,
}

/// The result of a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now.
    Revoked(GrantRecord),
    /// It already was.
    AlreadyRevoked,
    /// No such grant for this client.
    NotFound,
}

/// What became of a returning user's approval of scopes their grant lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendOutcome {
    /// The approval is recorded on the session and the grant now holds the scopes.
    Extended {
        /// The grant as it now is.
        grant: GrantRecord,
        /// Whether its scopes grew (and `grant.updated` was enqueued) with this call.
        changed: bool,
    },
    /// The session had completed meanwhile: nothing changed.
    SessionClosed,
    /// The grant is revoked or expired: nothing changed.
    GrantGone,
}

/// A sign-in code sent by email (stored as a keyed digest only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCodeRecord {
    /// Storage key.
    pub id: i64,
    /// The link session it belongs to.
    pub session_id: i64,
    /// The (lower-cased) address it was sent to.
    pub email: String,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// Wrong guesses so far.
    pub attempts: i32,
    /// When it was used.
    pub consumed_at: Option<OffsetDateTime>,
    /// The client IP it was requested from, when known.
    pub requested_ip: Option<String>,
}

/// The outcome of spending one unit of a shared rate budget ([`Store::spend_rate_budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSpend {
    /// Within budget: the unit was spent; `remaining` more would be allowed right now.
    Allowed {
        /// Units left before the bucket is empty.
        remaining: u32,
    },
    /// Over budget: nothing was spent.
    Denied {
        /// Milliseconds until one unit is available again.
        retry_after_ms: u64,
    },
}

/// A user signing in by email: who to create if the address is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailUser {
    /// The verified address (lower-cased).
    pub email: String,
    /// Id for the user if the address is new.
    pub user_id: UserId,
    /// Id of the personal workspace if the address is new.
    pub workspace_id: WorkspaceId,
    /// Name of that workspace.
    pub workspace_name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A wallet or exchange account connected to a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    /// The wallet id (`wal_…`).
    pub id: String,
    /// The owning workspace.
    pub workspace_id: WorkspaceId,
    /// Provider id from the catalog (e.g. `ethereum`, `binance`).
    pub provider: String,
    /// `blockchain` or `exchange`.
    pub category: String,
    /// Normalized address, for wallets.
    pub address: Option<String>,
    /// The user's name for it.
    pub alias: Option<String>,
    /// The exchange account name.
    pub account_name: Option<String>,
    /// Sealed exchange credentials (never returned by any API).
    pub credentials: Option<Sealed>,
    /// Keyed digest of the API key, to refuse duplicates without decrypting.
    pub credential_fingerprint: Option<String>,
    /// Sync state.
    pub sync_status: SyncStatus,
    /// The last sync error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Last successful sync.
    pub last_synced_at: Option<OffsetDateTime>,
    /// Transactions imported.
    pub total_transactions: i64,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When the user proved, by signing with the wallet, that they own the address; `None` for
    /// a pasted (unverified) address and for exchanges.
    pub verified_at: Option<OffsetDateTime>,
    /// How ownership was proved: `eip4361` (EVM sign-in) or `siws` (Solana sign-in).
    pub proof_method: Option<String>,
}

/// A claimed sync job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncJob {
    /// Storage key.
    pub id: i64,
    /// The integration to sync.
    pub integration_id: String,
    /// `latest` or `from_start`.
    pub mode: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// One asset balance of an integration, as last synced. Quantities are exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    /// Asset id (`ethereum`, `ethereum:0x…`).
    pub token_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub public_name: String,
    /// Chain id.
    pub chain_id: String,
    /// Token contract or mint.
    pub contract_address: Option<String>,
    /// Logo URL (may be empty).
    pub logo_url: String,
    /// Asset category.
    pub category: String,
    /// Asset type.
    pub asset_type: String,
    /// On-chain decimals.
    pub decimals: u8,
    /// Whole-unit quantity, exact decimal text.
    pub quantity: String,
}

/// A balance row with the integration that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceBalance {
    /// The holding integration.
    pub integration_id: String,
    /// Its provider id.
    pub provider: String,
    /// The balance.
    pub row: SnapshotRow,
}

/// A grant's transaction limiter settings (guest users).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantLimits {
    /// The limit, if set.
    pub transaction_limit: Option<i64>,
    /// Whether the limiter is on.
    pub enable_limiter: bool,
}

/// One entry of the audit trail. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: OffsetDateTime,
    /// What, e.g. `token.exchange`.
    pub kind: String,
    /// `success`, `failure` or `security`.
    pub outcome: String,
    /// The client involved.
    pub client_id: Option<String>,
    /// The grant involved.
    pub grant_id: Option<String>,
    /// The user involved.
    pub user_id: Option<String>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// A short, secret-free detail (e.g. the error code).
    pub detail: Option<String>,
}

/// A client's webhook endpoint. The signing secret is held sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    /// Its id (`wh_…`).
    pub id: String,
    /// The owning client.
    pub client_id: ClientId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<WebhookEvent>,
    /// The signing secret, sealed with the endpoint id as context.
    pub secret: Sealed,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When it was last changed (secret rotated).
    pub updated_at: OffsetDateTime,
}

/// A webhook delivery claimed by a dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// Storage key (also the enqueue order).
    pub seq: i64,
    /// The delivery id (`whd_…`), the same on every attempt.
    pub id: String,
    /// The endpoint to send to.
    pub endpoint_id: String,
    /// The event name.
    pub event: String,
    /// The body's `data` object as JSON text, as of the change that caused it.
    pub data_json: String,
    /// When the change happened.
    pub occurred_at: OffsetDateTime,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAttempt {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// A retryable failure: try again at `at`.
    Retry {
        /// When the next attempt is due.
        at: OffsetDateTime,
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Failed for good (attempts exhausted, or a status that is not retried).
    Failed {
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Not sent: the endpoint was removed.
    Cancelled {
        /// Why.
        reason: String,
    },
}

/// A delivery as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDeliveryRecord {
    /// The delivery id (`whd_…`).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event name.
    pub event: String,
    /// The grant it concerns (deliveries of one grant to one endpoint go out in order).
    pub grant_id: String,
    /// `pending`, `sending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the change happened.
    pub occurred_at: OffsetDateTime,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: OffsetDateTime,
    /// The receiver's last status.
    pub last_status: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was delivered, failed or cancelled.
    pub completed_at: Option<OffsetDateTime>,
}

/// Persistence, as the service needs it. Implemented by [`crate::SeaStore`] on SQLite and
/// PostgreSQL, and mocked (`MockStore`, feature `mock`) in unit tests of the service.
///
/// Every method returns [`crate::StoreError::Unavailable`] when the database cannot be reached.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Registers a client. `Conflict` if the id exists.
    async fn insert_client(&self, client: &ClientRecord, now: OffsetDateTime) -> StoreResult<()>;
    /// Finds a client by id (disabled ones too).
    async fn find_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>>;
    /// Every client, oldest first.
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Replaces a client's secret digest; `false` if there is no such client.
    async fn set_client_secret(&self, id: &ClientId, secret_digest: &str) -> StoreResult<bool>;
    /// Disables a client; `false` if there is no such client.
    async fn disable_client(&self, id: &ClientId, now: OffsetDateTime) -> StoreResult<bool>;
    /// Writes `updated`'s name, allowed scopes, origins, redirect URIs and logo over client
    /// `current.id`, only if those are still as in `current` (a conditional `UPDATE`);
    /// `false` (and nothing changed) if another change came first or the client is gone.
    async fn update_client(&self, current: &ClientRecord, updated: &ClientRecord) -> StoreResult<bool>;

    /// Stores a new link session.
    async fn insert_link_session(&self, session: &NewLinkSession) -> StoreResult<()>;
    /// Finds a link session by its token's digest.
    async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>>;
    /// Creates a guest and attaches it to the session, atomically; `false` (and nothing
    /// created) if the session already has a user or has completed.
    async fn create_guest_for_session(&self, session_id: i64, guest: &NewGuest) -> StoreResult<bool>;
    /// Records the consent decision; `false` if the session has completed.
    async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool>;
    /// A returning user approved `scopes` on session `session_id`: records the approval and adds
    /// `scopes` to live grant `grant` (its scopes become their union), enqueueing `grant.updated`
    /// when they grew, all in one transaction. Concurrent extensions of one grant never lose
    /// each other's scopes (the grant row is locked before it is read).
    async fn extend_grant_for_session(
        &self,
        session_id: i64,
        grant: &GrantId,
        scopes: &ScopeSet,
        now: OffsetDateTime,
    ) -> StoreResult<ExtendOutcome>;
    /// Kills the session and, for a new user, stores the public token, atomically.
    /// `false` (and nothing stored) if the session had already completed.
    async fn complete_link_session(
        &self,
        session_id: i64,
        now: OffsetDateTime,
        public_token: Option<NewPublicToken>,
    ) -> StoreResult<bool>;

    /// Finds a user.
    async fn find_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
    /// Finds a workspace.
    async fn find_workspace(&self, id: &WorkspaceId) -> StoreResult<Option<WorkspaceRecord>>;
    /// A user's workspaces with roles.
    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<MembershipRecord>>;

    /// Stores a sign-in code.
    async fn insert_email_code(&self, code: &EmailCodeRecord) -> StoreResult<()>;
    /// The newest code sent for `email` within a session.
    async fn latest_email_code(&self, session_id: i64, email: &str) -> StoreResult<Option<EmailCodeRecord>>;
    /// How many codes were sent to `email` since `since` (for throttling).
    async fn count_email_codes_since(&self, email: &str, since: OffsetDateTime) -> StoreResult<u64>;
    /// When codes were sent to `email` since `since`, oldest first; only those requested from
    /// `ip` when it is given (for throttling per address and per address and IP).
    async fn email_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>>;
    /// Whether someone at `ip` proved they own `email` (a code consumed) since `since`.
    async fn email_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool>;
    /// Spends one unit of the rate budget `bucket` at `now_ms` (Unix milliseconds), atomically for
    /// every process sharing the database: GCRA with one unit every `interval_ms` and at most
    /// `burst` units at once. A denied spend changes nothing.
    async fn spend_rate_budget(
        &self,
        bucket: &str,
        now_ms: i64,
        interval_ms: i64,
        burst: u32,
    ) -> StoreResult<BudgetSpend>;
    /// Deletes the budgets that are full again at `now_ms` (they carry no information); returns
    /// how many were deleted.
    async fn purge_rate_budgets(&self, now_ms: i64) -> StoreResult<u64>;
    /// Spends one attempt of a code; `false` if none are left or it was used.
    async fn spend_email_attempt(&self, code_id: i64, max_attempts: i32) -> StoreResult<bool>;
    /// Marks a code used; `false` if it already was.
    async fn consume_email_code(&self, code_id: i64, now: OffsetDateTime) -> StoreResult<bool>;
    /// Finds or creates the user of `user.email` (with a personal workspace when new) and
    /// attaches it to the session, atomically. `None` if the session already has a user or completed.
    async fn sign_in_email_user(&self, session_id: i64, user: &NewEmailUser) -> StoreResult<Option<UserId>>;
    /// Selects the workspace the session shares; `false` if the session completed.
    async fn select_workspace(&self, session_id: i64, workspace: &WorkspaceId) -> StoreResult<bool>;

    /// Stores an integration and enqueues its first sync, in one transaction.
    /// `Conflict` when the workspace already has it.
    async fn insert_integration(&self, integration: &IntegrationRecord) -> StoreResult<()>;
    /// A workspace's integrations, oldest first.
    async fn list_integrations(&self, workspace: &WorkspaceId) -> StoreResult<Vec<IntegrationRecord>>;

    /// Removes integration `id` of `workspace` with its balance snapshots and sync jobs, and
    /// enqueues `integration.deleted` (its data as the integration was), all in one transaction.
    /// `false` (and nothing changed) if the workspace has no such integration. A sync job of it
    /// that a worker holds is deleted too: the worker's `finish_sync_job` / `fail_sync_job`
    /// then answer `false`.
    async fn delete_integration(&self, workspace: &WorkspaceId, id: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Finds an integration by wallet id.
    async fn find_integration(&self, id: &str) -> StoreResult<Option<IntegrationRecord>>;
    /// Queues a sync of an integration unless one is already queued or running; `true` if queued now.
    /// The stored balances stay until the job replaces them.
    async fn enqueue_sync(&self, integration_id: &str, mode: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Claims the next due job for `worker` until `now + lease` (also re-claims jobs whose lease
    /// lapsed). Several workers in several processes never claim one job at once
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a single writer). Marks the integration syncing.
    async fn claim_sync_job(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<SyncJob>>;
    /// Stores the fetched balances and marks job and integration done, atomically; `false` if the job
    /// is no longer held by `worker`.
    async fn finish_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        rows: &[SnapshotRow],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records a failed attempt: requeued at `retry_at`, or failed for good when `None`.
    async fn fail_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Current balances of every integration of a workspace.
    async fn workspace_balances(&self, workspace: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>>;
    /// Whether `client` holds an active grant of `user` over `workspace` at `now`.
    async fn client_grant_for(
        &self,
        client: &ClientId,
        user: &UserId,
        workspace: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// A grant's limiter settings.
    async fn grant_limits(&self, id: &GrantId) -> StoreResult<Option<GrantLimits>>;
    /// Updates a grant's limiter settings (each `Some` field is written); `false` if no such grant.
    async fn set_grant_limits(
        &self,
        id: &GrantId,
        transaction_limit: Option<Option<i64>>,
        enable_limiter: Option<bool>,
    ) -> StoreResult<bool>;

    /// Consumes a public token of `client` and creates the grant and access token, in one
    /// transaction. Exactly one of any number of concurrent calls for a token gets `Issued`.
    async fn exchange_public_token(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
    ) -> StoreResult<ExchangeOutcome>;

    /// Finds the grant of an access token by the token's digest.
    async fn find_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenGrant>>;
    /// Finds a grant.
    async fn find_grant(&self, id: &GrantId) -> StoreResult<Option<GrantRecord>>;
    /// Revokes a grant of `client`.
    async fn revoke_grant(&self, id: &GrantId, client: &ClientId, now: OffsetDateTime) -> StoreResult<RevokeOutcome>;
    /// Up to `limit` active grants of `client` after position `after`, oldest first, each with its position.
    async fn list_active_grants(
        &self,
        client: &ClientId,
        now: OffsetDateTime,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<(i64, GrantRecord)>>;

    /// Appends to the audit trail.
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Audit events of a client (all clients when `None`) since `since`, oldest first.
    async fn list_audit(
        &self,
        client: Option<String>,
        since: Option<OffsetDateTime>,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// Deletes audit events older than `before`; returns how many.
    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64>;

    /// Stores a webhook endpoint. `Conflict` if the id exists.
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()>;
    /// A client's endpoints (removed ones excluded), oldest first.
    async fn list_webhook_endpoints(&self, client: &ClientId) -> StoreResult<Vec<WebhookEndpointRecord>>;
    /// Finds an endpoint that has not been removed.
    async fn find_webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>>;
    /// Replaces the sealed secret of `client`'s endpoint `id`; `false` if there is no such endpoint.
    async fn set_webhook_secret(
        &self,
        client: &ClientId,
        id: &str,
        secret: &Sealed,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Removes `client`'s endpoint `id` and cancels its undelivered deliveries, atomically;
    /// `false` if there is no such endpoint.
    async fn remove_webhook_endpoint(&self, client: &ClientId, id: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Claims the next due delivery for `worker` until `now + lease`, also re-claiming
    /// deliveries whose lease lapsed (a crashed sender). A delivery is due only when every
    /// earlier delivery of the same endpoint and grant is delivered, failed or cancelled, so
    /// each receiver sees a grant's events in order. Several dispatchers in several processes
    /// never claim one delivery at once (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a
    /// single writer).
    async fn claim_webhook_delivery(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<ClaimedDelivery>>;
    /// Records the outcome of an attempt; `false` if the delivery is no longer held by `worker`.
    async fn finish_webhook_delivery(
        &self,
        seq: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// A client's most recent deliveries, newest first.
    async fn list_webhook_deliveries(&self, client: &ClientId, limit: u64) -> StoreResult<Vec<WebhookDeliveryRecord>>;
    /// Deletes `delivered` deliveries completed before `delivered_before` and `failed` or
    /// `cancelled` ones completed before `failed_before` (`None`: keep those forever); returns
    /// how many were deleted. Pending and in-flight deliveries are never touched.
    async fn purge_webhook_deliveries(
        &self,
        delivered_before: Option<OffsetDateTime>,
        failed_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64>;

    /// Depth and age of the sync-job queue and the webhook outbox at `now` (for metrics).
    async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<crate::QueueStats>;
    /// The connection pool's usage, with the time one probe waited for a connection.
    async fn pool_stats(&self) -> StoreResult<crate::PoolStats>;
}
