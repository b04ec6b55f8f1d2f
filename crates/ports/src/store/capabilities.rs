//! The store's capability traits, and [`Store`], every one of them.
//!
//! Each trait is one capability an adapter implements; [`Store`] is implemented for anything
//! that implements them all. Every method returns [`StoreError::Unavailable`] when the database
//! cannot be reached. Implemented by `kc_store::SeaStore` (SQLite and PostgreSQL) and
//! `kc_store_memory::MemoryStore`; mocked as `MockStore` (feature `mock`) in unit tests.
//! `kc_store_conformance` checks an implementation against this contract.

use super::records::*;
#[cfg(doc)]
use super::StoreError;
use super::{PoolStats, QueueStats, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    ClientId, ClientRecord, GrantId, GrantRecord, LinkSession, ScopeSet, Sealed, TokenDigest, UserId, WorkspaceId,
};
use time::OffsetDateTime;

/// Client applications: registration, secrets, settings.
#[async_trait]
pub trait ClientStore: Send + Sync {
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
}

/// Link sessions and the users and workspaces they sign in: the widget's state machine.
#[async_trait]
pub trait LinkSessionStore: Send + Sync {
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

    /// Selects the workspace the session shares; `false` if the session completed.
    async fn select_workspace(&self, session_id: i64, workspace: &WorkspaceId) -> StoreResult<bool>;
}

/// Email sign-in codes and the failure budgets that throttle guessing.
#[async_trait]
pub trait SignInStore: Send + Sync {
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
}

/// Connected wallets and exchanges, their sync queue (claimed with a lease) and balances.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
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
    /// is no longer held by `worker`. With `again_at` (a later stage, the transaction history,
    /// failed in a way that waiting may mend) the job is not done but queued again for then, in
    /// mode `latest` (a `from_start` reset is not repeated) and keeping its attempts; the
    /// integration is synced all the same, its balances having landed.
    async fn finish_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        rows: &[SnapshotRow],
        again_at: Option<OffsetDateTime>,
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
}

/// Grants and access tokens: the exactly-once exchange, lookups, limits, revocation.
#[async_trait]
pub trait GrantStore: Send + Sync {
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

    /// The transaction import cap of `workspace` at `now`: the smallest `transaction_limit`
    /// among its live grants whose limiter is on; `None` when none limits it.
    async fn workspace_transaction_limit(
        &self,
        workspace: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>>;

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
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
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
}

/// Webhook endpoints and the transactional outbox of deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
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
}

/// Health and figures for metrics: liveness, queue depths and pool usage.
#[async_trait]
pub trait OperationsStore: Send + Sync {
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Depth and age of the sync-job queue and the webhook outbox at `now` (for metrics).
    async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<QueueStats>;

    /// The connection pool's usage, with the time one probe waited for a connection.
    async fn pool_stats(&self) -> StoreResult<PoolStats>;
}

/// Every store capability: what the service runs on. Implemented for anything that
/// implements them all.
pub trait Store:
    ClientStore
    + LinkSessionStore
    + SignInStore
    + IntegrationStore
    + GrantStore
    + AuditStore
    + WebhookStore
    + OperationsStore
{
}
impl<
        T: ClientStore
            + LinkSessionStore
            + SignInStore
            + IntegrationStore
            + GrantStore
            + AuditStore
            + WebhookStore
            + OperationsStore
            + ?Sized,
    > Store for T
{
}

#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    /// A mock of every store capability, for unit tests of the service (mockall needs the
    /// signatures of supertraits spelled out again).
    pub Store {}
    #[async_trait]
    impl ClientStore for Store {
        async fn insert_client(&self, client: &ClientRecord, now: OffsetDateTime) -> StoreResult<()>;
        async fn find_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>>;
        async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
        async fn set_client_secret(&self, id: &ClientId, secret_digest: &str) -> StoreResult<bool>;
        async fn disable_client(&self, id: &ClientId, now: OffsetDateTime) -> StoreResult<bool>;
        async fn update_client(&self, current: &ClientRecord, updated: &ClientRecord) -> StoreResult<bool>;
    }
    #[async_trait]
    impl LinkSessionStore for Store {
        async fn insert_link_session(&self, session: &NewLinkSession) -> StoreResult<()>;
        async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>>;
        async fn create_guest_for_session(&self, session_id: i64, guest: &NewGuest) -> StoreResult<bool>;
        async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool>;
        async fn extend_grant_for_session(
            &self,
            session_id: i64,
            grant: &GrantId,
            scopes: &ScopeSet,
            now: OffsetDateTime,
        ) -> StoreResult<ExtendOutcome>;
        async fn complete_link_session(
            &self,
            session_id: i64,
            now: OffsetDateTime,
            public_token: Option<NewPublicToken>,
        ) -> StoreResult<bool>;
        async fn find_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
        async fn find_workspace(&self, id: &WorkspaceId) -> StoreResult<Option<WorkspaceRecord>>;
        async fn memberships(&self, user: &UserId) -> StoreResult<Vec<MembershipRecord>>;
        async fn select_workspace(&self, session_id: i64, workspace: &WorkspaceId) -> StoreResult<bool>;
    }
    #[async_trait]
    impl SignInStore for Store {
        async fn insert_email_code(&self, code: &EmailCodeRecord) -> StoreResult<()>;
        async fn latest_email_code(&self, session_id: i64, email: &str) -> StoreResult<Option<EmailCodeRecord>>;
        async fn count_email_codes_since(&self, email: &str, since: OffsetDateTime) -> StoreResult<u64>;
        async fn email_code_times(
            &self,
            email: &str,
            ip: Option<String>,
            since: OffsetDateTime,
        ) -> StoreResult<Vec<OffsetDateTime>>;
        async fn email_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool>;
        async fn spend_rate_budget(
            &self,
            bucket: &str,
            now_ms: i64,
            interval_ms: i64,
            burst: u32,
        ) -> StoreResult<BudgetSpend>;
        async fn purge_rate_budgets(&self, now_ms: i64) -> StoreResult<u64>;
        async fn spend_email_attempt(&self, code_id: i64, max_attempts: i32) -> StoreResult<bool>;
        async fn consume_email_code(&self, code_id: i64, now: OffsetDateTime) -> StoreResult<bool>;
        async fn sign_in_email_user(&self, session_id: i64, user: &NewEmailUser) -> StoreResult<Option<UserId>>;
    }
    #[async_trait]
    impl IntegrationStore for Store {
        async fn insert_integration(&self, integration: &IntegrationRecord) -> StoreResult<()>;
        async fn list_integrations(&self, workspace: &WorkspaceId) -> StoreResult<Vec<IntegrationRecord>>;
        async fn delete_integration(&self, workspace: &WorkspaceId, id: &str, now: OffsetDateTime) -> StoreResult<bool>;
        async fn find_integration(&self, id: &str) -> StoreResult<Option<IntegrationRecord>>;
        async fn enqueue_sync(&self, integration_id: &str, mode: &str, now: OffsetDateTime) -> StoreResult<bool>;
        async fn claim_sync_job(
            &self,
            worker: &str,
            now: OffsetDateTime,
            lease: time::Duration,
        ) -> StoreResult<Option<SyncJob>>;
        async fn finish_sync_job(
            &self,
            job: &SyncJob,
            worker: &str,
            rows: &[SnapshotRow],
            again_at: Option<OffsetDateTime>,
            now: OffsetDateTime,
        ) -> StoreResult<bool>;
        async fn fail_sync_job(
            &self,
            job: &SyncJob,
            worker: &str,
            error: &str,
            retry_at: Option<OffsetDateTime>,
            now: OffsetDateTime,
        ) -> StoreResult<bool>;
        async fn workspace_balances(&self, workspace: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>>;
    }
    #[async_trait]
    impl GrantStore for Store {
        async fn client_grant_for(
            &self,
            client: &ClientId,
            user: &UserId,
            workspace: &WorkspaceId,
            now: OffsetDateTime,
        ) -> StoreResult<bool>;
        async fn grant_limits(&self, id: &GrantId) -> StoreResult<Option<GrantLimits>>;
        async fn set_grant_limits(
            &self,
            id: &GrantId,
            transaction_limit: Option<Option<i64>>,
            enable_limiter: Option<bool>,
        ) -> StoreResult<bool>;
        async fn workspace_transaction_limit(
            &self,
            workspace: &WorkspaceId,
            now: OffsetDateTime,
        ) -> StoreResult<Option<i64>>;
        async fn exchange_public_token(
            &self,
            digest: &TokenDigest,
            client: &ClientId,
            now: OffsetDateTime,
            issue: &IssueGrant,
        ) -> StoreResult<ExchangeOutcome>;
        async fn find_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenGrant>>;
        async fn find_grant(&self, id: &GrantId) -> StoreResult<Option<GrantRecord>>;
        async fn revoke_grant(&self, id: &GrantId, client: &ClientId, now: OffsetDateTime) -> StoreResult<RevokeOutcome>;
        async fn list_active_grants(
            &self,
            client: &ClientId,
            now: OffsetDateTime,
            after: Option<i64>,
            limit: u64,
        ) -> StoreResult<Vec<(i64, GrantRecord)>>;
    }
    #[async_trait]
    impl AuditStore for Store {
        async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
        async fn list_audit(
            &self,
            client: Option<String>,
            since: Option<OffsetDateTime>,
            limit: u64,
        ) -> StoreResult<Vec<AuditEvent>>;
        async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64>;
    }
    #[async_trait]
    impl WebhookStore for Store {
        async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()>;
        async fn list_webhook_endpoints(&self, client: &ClientId) -> StoreResult<Vec<WebhookEndpointRecord>>;
        async fn find_webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>>;
        async fn set_webhook_secret(
            &self,
            client: &ClientId,
            id: &str,
            secret: &Sealed,
            now: OffsetDateTime,
        ) -> StoreResult<bool>;
        async fn remove_webhook_endpoint(&self, client: &ClientId, id: &str, now: OffsetDateTime) -> StoreResult<bool>;
        async fn claim_webhook_delivery(
            &self,
            worker: &str,
            now: OffsetDateTime,
            lease: time::Duration,
        ) -> StoreResult<Option<ClaimedDelivery>>;
        async fn finish_webhook_delivery(
            &self,
            seq: i64,
            worker: &str,
            attempt: &DeliveryAttempt,
            now: OffsetDateTime,
        ) -> StoreResult<bool>;
        async fn list_webhook_deliveries(&self, client: &ClientId, limit: u64) -> StoreResult<Vec<WebhookDeliveryRecord>>;
        async fn purge_webhook_deliveries(
            &self,
            delivered_before: Option<OffsetDateTime>,
            failed_before: Option<OffsetDateTime>,
        ) -> StoreResult<u64>;
    }
    #[async_trait]
    impl OperationsStore for Store {
        async fn ping(&self) -> StoreResult<()>;
        async fn queue_stats(&self, now: OffsetDateTime) -> StoreResult<QueueStats>;
        async fn pool_stats(&self) -> StoreResult<PoolStats>;
    }
}

/// The capability traits, to bring their methods into scope: `use kc_ports::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        AuditStore as _, ClientStore as _, GrantStore as _, IntegrationStore as _, LinkSessionStore as _,
        OperationsStore as _, SignInStore as _, WebhookStore as _,
    };
}
