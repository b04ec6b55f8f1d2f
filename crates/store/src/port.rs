//! The store port: everything the service needs from persistence, in domain terms.

use crate::StoreResult;
use async_trait::async_trait;
use kc_domain::{
    ClientId, ClientRecord, GrantId, GrantRecord, LinkSession, ScopeSet, TokenDigest, TokenRefusal, UserId,
    WorkspaceId, WorkspaceRole,
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

    /// Stores a new link session.
    async fn insert_link_session(&self, session: &NewLinkSession) -> StoreResult<()>;
    /// Finds a link session by its token's digest.
    async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>>;
    /// Creates a guest and attaches it to the session, atomically; `false` (and nothing
    /// created) if the session already has a user or has completed.
    async fn create_guest_for_session(&self, session_id: i64, guest: &NewGuest) -> StoreResult<bool>;
    /// Records the consent decision; `false` if the session has completed.
    async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool>;
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
}
