//! The console capability of the store: operator API tokens, console users, organisations,
//! members, invitations, console sessions and sign-in codes, which organisation owns which
//! client, webhook endpoint settings (description, disabled), test and repeated deliveries,
//! and the per-day usage counts of a client (Data API calls kept in a table of their own).
//!
//! A capability trait of its own (not part of [`Store`](crate::Store)): only the admin API and
//! the web console depend on it. Tokens, session ids and codes are stored as digests only.

use crate::StoreResult;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientMode, WebhookEvent};
use time::OffsetDateTime;

/// An operator API token, as stored (the token itself never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorTokenRecord {
    /// Its id (`op_…`), shown in audit events.
    pub id: String,
    /// A label for people.
    pub name: String,
    /// SHA-256 digest of the `kcop_…` token.
    pub digest: String,
    /// Space-separated admin scopes.
    pub scopes: String,
    /// When set, the token sees only this organisation's clients.
    pub org_id: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// It stops working at this time.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// When it was last used.
    pub last_used_at: Option<OffsetDateTime>,
}

/// A person who signs in to the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUserRecord {
    /// Its id (`cu_…`).
    pub id: String,
    /// Lower-cased email address.
    pub email: String,
    /// A platform operator: sees every organisation.
    pub is_operator: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRecord {
    /// Its id (`org_…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A member of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The person.
    pub user: ConsoleUserRecord,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub role: String,
}

/// An invitation to join an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Its id (`inv_…`).
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Who is invited (lower-cased).
    pub email: String,
    /// The role they get.
    pub role: String,
    /// The console user who invited them.
    pub invited_by: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// It cannot be accepted after this time.
    pub expires_at: OffsetDateTime,
    /// When it was accepted.
    pub accepted_at: Option<OffsetDateTime>,
}

/// A console session (the cookie's token is stored as a digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    /// SHA-256 digest of the session token.
    pub digest: String,
    /// The signed-in user.
    pub user_id: String,
    /// Sign-in time.
    pub created_at: OffsetDateTime,
    /// Last request.
    pub last_seen_at: OffsetDateTime,
    /// The absolute end of the session.
    pub expires_at: OffsetDateTime,
    /// Signed out.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A console sign-in code (stored as a keyed digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleCodeRecord {
    /// Storage key.
    pub id: i64,
    /// Lower-cased address.
    pub email: String,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// When sent.
    pub created_at: OffsetDateTime,
    /// It expires then.
    pub expires_at: OffsetDateTime,
    /// Wrong guesses so far.
    pub attempts: i32,
    /// When it was used.
    pub consumed_at: Option<OffsetDateTime>,
    /// The IP that asked for it.
    pub requested_ip: Option<String>,
}

/// The console's settings of a webhook endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    /// What the endpoint is for.
    pub description: Option<String>,
    /// When it was disabled (no deliveries are written for it while disabled).
    pub disabled_at: Option<OffsetDateTime>,
}

/// One day of a client's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDay {
    /// The day (UTC midnight).
    pub day: OffsetDateTime,
    /// Link tokens created.
    pub link_tokens: u64,
    /// Widget sessions completed.
    pub completions: u64,
    /// Public tokens exchanged (grants created).
    pub exchanges: u64,
    /// Data API calls (as added by [`ConsoleStore::add_data_api_calls`]).
    pub data_api_calls: u64,
}

/// Persistence of the console and the admin API.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Stores an operator token. `Conflict` if the id or digest exists.
    async fn insert_operator_token(&self, token: &OperatorTokenRecord) -> StoreResult<()>;
    /// Finds a token by digest (revoked and expired ones included).
    async fn find_operator_token(&self, digest: &str) -> StoreResult<Option<OperatorTokenRecord>>;
    /// Every token, newest first.
    async fn list_operator_tokens(&self) -> StoreResult<Vec<OperatorTokenRecord>>;
    /// Records a use.
    async fn touch_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Revokes a token; `false` if there is no such live token.
    async fn revoke_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<bool>;

    /// The user with `email`, created with `new_id` if there is none.
    async fn upsert_console_user(
        &self,
        email: &str,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord>;
    /// A user by id.
    async fn find_console_user(&self, id: &str) -> StoreResult<Option<ConsoleUserRecord>>;
    /// Makes `email` a platform operator (or not), creating the user with `new_id` if needed.
    async fn set_console_operator(
        &self,
        email: &str,
        operator: bool,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord>;

    /// Creates an organisation with `owner` as its owner, atomically.
    async fn insert_org(&self, org: &OrgRecord, owner: &str) -> StoreResult<()>;
    /// An organisation.
    async fn find_org(&self, id: &str) -> StoreResult<Option<OrgRecord>>;
    /// Every organisation, oldest first.
    async fn list_orgs(&self) -> StoreResult<Vec<OrgRecord>>;
    /// The organisations of `user` with the user's role in each, oldest first.
    async fn orgs_of_user(&self, user: &str) -> StoreResult<Vec<(OrgRecord, String)>>;
    /// The members of `org`, oldest first.
    async fn members(&self, org: &str) -> StoreResult<Vec<MemberRecord>>;
    /// Sets a member's role; `false` if `user` is not a member.
    async fn set_member_role(&self, org: &str, user: &str, role: &str) -> StoreResult<bool>;
    /// Removes a member; `false` if `user` is not a member.
    async fn remove_member(&self, org: &str, user: &str) -> StoreResult<bool>;

    /// Stores an invitation.
    async fn insert_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()>;
    /// The open invitations of `org`, oldest first.
    async fn org_invitations(&self, org: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>>;
    /// The open invitations for `email`, oldest first.
    async fn invitations_for(&self, email: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>>;
    /// Accepts invitation `id` for `user` (whose email it must name): marks it accepted and adds
    /// the membership in one transaction; `false` if it is not open or not theirs.
    async fn accept_invitation(&self, id: &str, user: &ConsoleUserRecord, now: OffsetDateTime) -> StoreResult<bool>;
    /// Withdraws (deletes) the invitation `id` of `org` if it is still open (not accepted);
    /// `false` if there is no such open invitation.
    async fn revoke_invitation(&self, org: &str, id: &str) -> StoreResult<bool>;

    /// Records that `org` owns `client`.
    async fn assign_client(&self, client: &ClientId, org: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// The organisation owning `client`, if any.
    async fn client_org(&self, client: &ClientId) -> StoreResult<Option<String>>;
    /// The clients `org` owns.
    async fn org_clients(&self, org: &str) -> StoreResult<Vec<ClientId>>;
    /// Sets a client's mode (sandbox ↔ production); `false` if there is no such client.
    async fn set_client_mode(&self, client: &ClientId, mode: ClientMode) -> StoreResult<bool>;
    /// Records that a switch to production was asked for (`None` clears the request).
    async fn set_production_request(
        &self,
        client: &ClientId,
        requested: Option<(String, OffsetDateTime)>,
    ) -> StoreResult<()>;
    /// Who asked for production and when, per client that has an open request.
    async fn production_requests(&self) -> StoreResult<Vec<(ClientId, String, OffsetDateTime)>>;

    /// Stores a session.
    async fn insert_console_session(&self, session: &ConsoleSessionRecord) -> StoreResult<()>;
    /// A session by digest.
    async fn find_console_session(&self, digest: &str) -> StoreResult<Option<ConsoleSessionRecord>>;
    /// Moves `last_seen_at` to `now`.
    async fn touch_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Ends a session.
    async fn revoke_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()>;

    /// Stores a sign-in code.
    async fn insert_console_code(&self, code: &ConsoleCodeRecord) -> StoreResult<()>;
    /// The newest code sent to `email`.
    async fn latest_console_code(&self, email: &str) -> StoreResult<Option<ConsoleCodeRecord>>;
    /// Send times of codes to `email` (from `ip` when given) since `since`, oldest first.
    async fn console_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>>;
    /// Whether a code for `email` asked from `ip` was used since `since`.
    async fn console_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool>;
    /// Counts a guess; `false` once `max` guesses were spent.
    async fn spend_console_code_attempt(&self, id: i64, max: i32) -> StoreResult<bool>;
    /// Marks a code used; `false` if it already was.
    async fn consume_console_code(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool>;

    /// The console settings of the given endpoints (missing ones have none).
    async fn webhook_settings(&self, endpoints: Vec<String>) -> StoreResult<Vec<(String, WebhookSettings)>>;
    /// Changes `client`'s endpoint `id`: URL, events and description (each when `Some`); `false`
    /// if there is no such endpoint.
    async fn update_webhook(
        &self,
        client: &ClientId,
        id: &str,
        url: Option<String>,
        events: Option<Vec<WebhookEvent>>,
        description: Option<Option<String>>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Disables (cancelling its undelivered deliveries) or re-enables `client`'s endpoint `id`,
    /// atomically; `false` if there is no such endpoint.
    async fn set_webhook_disabled(
        &self,
        client: &ClientId,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Queues a delivery of `event` with `data` to `client`'s endpoint `id` only (its own
    /// ordering key); `false` if there is no such endpoint.
    async fn enqueue_direct_delivery(
        &self,
        client: &ClientId,
        id: &str,
        delivery_id: &str,
        event: &str,
        data: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Queues a finished delivery of `client` again (same id, attempts reset); `false` if there
    /// is no such finished delivery or its endpoint was removed.
    async fn redeliver(&self, client: &ClientId, delivery_id: &str, now: OffsetDateTime) -> StoreResult<bool>;

    /// Per-day usage of `client` from `since` (UTC days, oldest first, days without activity
    /// included).
    async fn usage(&self, client: &ClientId, since: OffsetDateTime, now: OffsetDateTime) -> StoreResult<Vec<UsageDay>>;
    /// Adds Data API call counts, each `(client, UTC day start, calls)`, to the per-day totals
    /// [`ConsoleStore::usage`] reports: an upsert adding to what is there (several nodes write
    /// their own counts; the same key may come again). Written in batches by the service, never
    /// on a request's path.
    async fn add_data_api_calls(&self, counts: &[(ClientId, OffsetDateTime, u64)]) -> StoreResult<()>;
}
