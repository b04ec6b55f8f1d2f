//! The administration surface: the admin HTTP API (`/admin/api`) and the web console
//! (`/console`) are two adapters of this one trait, which `kc-service` implements with the same
//! service functions the `kryptos-connect` command line calls.
//!
//! A caller is an operator API token (`Authorization: Bearer kcop_…`) or a console session
//! (the `kc_console` cookie; writes also carry the session's CSRF token). Every change is
//! audited with who made it.

use crate::{ApiResult, RequestMeta};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How an admin call authenticates.
#[derive(Clone)]
pub enum AdminCredential {
    /// An operator API token (`kcop_…`).
    Token(SecretString),
    /// A console session: the cookie's token and, for writes, the CSRF token sent with the form
    /// or fetch (`X-CSRF-Token` or the `_csrf` field).
    Session {
        /// The `kc_console` cookie's value.
        token: SecretString,
        /// The CSRF token sent with the request.
        csrf: Option<String>,
    },
    /// Nothing usable was sent.
    Missing,
}

impl AdminCredential {
    /// The secret part, for the one place that checks it.
    pub fn expose(&self) -> Option<&str> {
        match self {
            Self::Token(t) | Self::Session { token: t, .. } => Some(t.expose_secret()),
            Self::Missing => None,
        }
    }
}

impl fmt::Debug for AdminCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "AdminCredential::Token([REDACTED])",
            Self::Session { .. } => "AdminCredential::Session([REDACTED])",
            Self::Missing => "AdminCredential::Missing",
        })
    }
}

/// Who is calling and from where.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The credential.
    pub credential: AdminCredential,
    /// Request facts for the audit trail.
    pub meta: RequestMeta,
}

/// The authenticated caller, as `GET /admin/api/me` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminIdentity {
    /// `op_…` (operator token) or `cu_…` (console user): what the audit trail records.
    pub actor: String,
    /// `token` or `user`.
    pub kind: String,
    /// The token's name or the user's email.
    pub label: String,
    /// A platform operator: sees every organisation, approves production, disables any app.
    pub operator: bool,
    /// The token's scopes (every scope for console users; their role limits them per org).
    pub scopes: Vec<String>,
    /// The organisations the caller can see, with the caller's role in each.
    pub orgs: Vec<AdminOrg>,
    /// The session's CSRF token (console sessions only): send it as `X-CSRF-Token` on writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// An organisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminOrg {
    /// `org_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The caller's role: `owner`, `admin`, `developer`, `viewer`, or `operator`.
    pub role: String,
}

/// `POST /admin/api/orgs`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminOrgCreate {
    /// 1–100 characters.
    pub name: String,
}

/// A member of an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminMember {
    /// `cu_…`.
    pub user_id: String,
    /// Email.
    pub email: String,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub role: String,
}

/// An open invitation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminInvitation {
    /// `inv_…`.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Its name (what the invitee is asked to join).
    #[serde(default)]
    pub org_name: String,
    /// Who is invited.
    pub email: String,
    /// The role they get.
    pub role: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// `POST /admin/api/orgs/{org}/invitations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminInvite {
    /// Who to invite.
    pub email: String,
    /// `admin`, `developer` or `viewer` (`owner` only by an owner).
    pub role: String,
}

/// `PATCH /admin/api/orgs/{org}/members/{user}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminRoleChange {
    /// The new role.
    pub role: String,
}

/// A client as administrators see it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminClient {
    /// `kc_…`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// `sandbox` or `production`.
    pub mode: String,
    /// Allowed scopes, space-separated.
    pub scopes: String,
    /// Origins that may embed the widget.
    pub origins: Vec<String>,
    /// Redirect URIs of the full-page widget.
    pub redirect_uris: Vec<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Credentials and link tokens no longer work.
    pub disabled: bool,
    /// The owning organisation, if any.
    pub org_id: Option<String>,
    /// A switch to production was asked for and awaits an operator.
    pub production_requested: bool,
}

/// `POST /admin/api/clients`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminClientCreate {
    /// 1–100 characters.
    pub name: String,
    /// The owning organisation (required for console users and unscoped tokens of a platform
    /// with organisations; an organisation-scoped token's own org by default).
    #[serde(default)]
    pub org_id: Option<String>,
    /// Allowed scopes, space-separated (default: the default client scopes).
    #[serde(default)]
    pub scopes: Option<String>,
    /// `scheme://host[:port]` origins.
    #[serde(default)]
    pub origins: Vec<String>,
    /// http(s) redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// http(s) logo URL.
    #[serde(default)]
    pub logo_url: Option<String>,
}

/// `data` of `POST /admin/api/clients` and of a secret rotation: the secret is shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminClientSecret {
    /// The client.
    pub client: AdminClient,
    /// `kcs_…`: store it now, it is never shown again.
    pub client_secret: String,
}

/// `PATCH /admin/api/clients/{id}`: what is left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminClientUpdate {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New allowed scopes (space-separated), replacing the current ones.
    #[serde(default)]
    pub scopes: Option<String>,
    /// Origins to add.
    #[serde(default)]
    pub add_origins: Vec<String>,
    /// Origins to remove (each must be registered).
    #[serde(default)]
    pub remove_origins: Vec<String>,
    /// Redirect URIs to add.
    #[serde(default)]
    pub add_redirect_uris: Vec<String>,
    /// Redirect URIs to remove (each must be registered).
    #[serde(default)]
    pub remove_redirect_uris: Vec<String>,
    /// A new logo URL; `""` removes the logo.
    #[serde(default)]
    pub logo_url: Option<String>,
}

/// `POST /admin/api/clients/{id}/mode`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminModeChange {
    /// `production` (an operator approves; anyone else records a request) or `sandbox`.
    pub mode: String,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminWebhook {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// No deliveries are written while disabled.
    pub disabled: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /admin/api/clients/{id}/webhooks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminWebhookCreate {
    /// https:// (sandbox clients: also `http://127.0.0.1`, `[::1]`, `localhost`).
    pub url: String,
    /// Events to subscribe to; empty means every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// What it is for (at most 200 characters).
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /admin/api/clients/{id}/webhooks/{wh}`: what is left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminWebhookUpdate {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event list (empty: every event).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// New description (`""` removes it).
    #[serde(default)]
    pub description: Option<String>,
    /// Disable or re-enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminWebhookSecret {
    /// The endpoint.
    pub webhook: AdminWebhook,
    /// `whsec_…`: store it now, it is never shown again.
    pub secret: String,
}

/// A delivery in the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDelivery {
    /// `whd_…` (also `X-Webhook-Id`).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event: String,
    /// `pending`, `sending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The receiver's last HTTP status.
    pub response_status: Option<u16>,
    /// The last error.
    pub error: Option<String>,
    /// RFC 3339: when the change happened.
    pub occurred_at: String,
    /// RFC 3339: when it was delivered, failed or cancelled.
    pub completed_at: Option<String>,
    /// Milliseconds from the change to the last outcome.
    pub duration_ms: Option<i64>,
}

/// A grant as administrators see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminGrant {
    /// `cgrant_…`.
    pub grant_id: String,
    /// The user.
    pub user_id: String,
    /// The shared workspace.
    pub workspace_id: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// An audit event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminAuditEvent {
    /// RFC 3339.
    pub at: String,
    /// What, e.g. `client.admin`, `grant.revoke`.
    pub kind: String,
    /// `success`, `failure` or `security`.
    pub outcome: String,
    /// The client.
    pub client_id: Option<String>,
    /// The grant.
    pub grant_id: Option<String>,
    /// The user involved; for administration events, who did it (`op_…`, `cu_…`, `cli`).
    pub user_id: Option<String>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// A short detail.
    pub detail: Option<String>,
}

/// Query of `GET /admin/api/audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct AdminAuditQuery {
    /// Only this client's events.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Only events at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// At most this many (1–1000, default 200).
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Query of the grants list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct AdminGrantQuery {
    /// Only grants whose id, user id or workspace id contains this.
    #[serde(default)]
    pub q: Option<String>,
}

/// One day of usage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUsageDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Link tokens created.
    pub link_tokens: u64,
    /// Widget sessions completed.
    pub completions: u64,
    /// Public tokens exchanged.
    pub exchanges: u64,
    /// Data API calls (`/api/v1/*`) made with the app's credentials (authenticated ones,
    /// whatever their answer). Counted per node and written every few seconds, so the last
    /// seconds of other nodes may not show yet.
    #[serde(default)]
    pub data_api_calls: u64,
}

/// `GET /admin/api/clients/{id}/usage`: the last 30 days.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUsage {
    /// Oldest first.
    pub days: Vec<AdminUsageDay>,
    /// Totals of the period: link tokens → completions → exchanges.
    pub funnel: AdminUsageDay,
}

/// `POST /console/sign-in`: send a code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsoleSignInStart {
    /// The address to send a code to.
    pub email: String,
}

/// A console session just opened.
#[derive(Clone)]
pub struct ConsoleSessionOpened {
    /// The cookie's value (shown once; stored as a digest).
    pub token: SecretString,
    /// Seconds until the absolute timeout.
    pub max_age_secs: i64,
}

impl fmt::Debug for ConsoleSessionOpened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleSessionOpened([REDACTED])")
    }
}

/// The administration surface.
#[async_trait]
pub trait AdminApi: Send + Sync {
    /// Who the caller is (and its CSRF token for a console session).
    async fn admin_me(&self, caller: &AdminCaller) -> ApiResult<AdminIdentity>;

    /// Organisations the caller sees.
    async fn admin_orgs(&self, caller: &AdminCaller) -> ApiResult<Vec<AdminOrg>>;
    /// Creates an organisation owned by the calling console user.
    async fn admin_create_org(&self, caller: &AdminCaller, req: AdminOrgCreate) -> ApiResult<AdminOrg>;
    /// Members of an organisation.
    async fn admin_members(&self, caller: &AdminCaller, org: &str) -> ApiResult<Vec<AdminMember>>;
    /// Open invitations of an organisation.
    async fn admin_invitations(&self, caller: &AdminCaller, org: &str) -> ApiResult<Vec<AdminInvitation>>;
    /// Invites someone by email.
    async fn admin_invite(&self, caller: &AdminCaller, org: &str, req: AdminInvite) -> ApiResult<AdminInvitation>;
    /// Changes a member's role.
    async fn admin_set_role(&self, caller: &AdminCaller, org: &str, user: &str, req: AdminRoleChange) -> ApiResult<()>;
    /// Removes a member.
    async fn admin_remove_member(&self, caller: &AdminCaller, org: &str, user: &str) -> ApiResult<()>;
    /// Invitations waiting for the calling console user.
    async fn admin_my_invitations(&self, caller: &AdminCaller) -> ApiResult<Vec<AdminInvitation>>;
    /// Accepts one of them.
    async fn admin_accept_invitation(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminOrg>;
    /// Withdraws an open invitation of `org` (admins and owners; an owner's invitation only by
    /// an owner).
    async fn admin_revoke_invitation(&self, caller: &AdminCaller, org: &str, id: &str) -> ApiResult<()>;

    /// Clients the caller sees (of `org` only when given).
    async fn admin_clients(&self, caller: &AdminCaller, org: Option<String>) -> ApiResult<Vec<AdminClient>>;
    /// Registers a client; its secret is in the answer only.
    async fn admin_create_client(&self, caller: &AdminCaller, req: AdminClientCreate) -> ApiResult<AdminClientSecret>;
    /// One client.
    async fn admin_client(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClient>;
    /// Changes a client.
    async fn admin_update_client(
        &self,
        caller: &AdminCaller,
        id: &str,
        req: AdminClientUpdate,
    ) -> ApiResult<AdminClient>;
    /// Replaces a client's secret.
    async fn admin_rotate_client_secret(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClientSecret>;
    /// Disables a client.
    async fn admin_disable_client(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClient>;
    /// Switches a client's mode: operators switch; others request production.
    async fn admin_set_mode(&self, caller: &AdminCaller, id: &str, req: AdminModeChange) -> ApiResult<AdminClient>;

    /// A client's webhook endpoints.
    async fn admin_webhooks(&self, caller: &AdminCaller, client: &str) -> ApiResult<Vec<AdminWebhook>>;
    /// Adds an endpoint; its secret is in the answer only.
    async fn admin_add_webhook(
        &self,
        caller: &AdminCaller,
        client: &str,
        req: AdminWebhookCreate,
    ) -> ApiResult<AdminWebhookSecret>;
    /// Changes an endpoint.
    async fn admin_update_webhook(
        &self,
        caller: &AdminCaller,
        client: &str,
        id: &str,
        req: AdminWebhookUpdate,
    ) -> ApiResult<AdminWebhook>;
    /// Replaces an endpoint's secret.
    async fn admin_rotate_webhook_secret(
        &self,
        caller: &AdminCaller,
        client: &str,
        id: &str,
    ) -> ApiResult<AdminWebhookSecret>;
    /// Removes an endpoint.
    async fn admin_remove_webhook(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<()>;
    /// Queues a `webhook.test` delivery to one endpoint.
    async fn admin_test_webhook(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<AdminDelivery>;
    /// A client's recent deliveries, newest first.
    async fn admin_deliveries(&self, caller: &AdminCaller, client: &str, limit: u64) -> ApiResult<Vec<AdminDelivery>>;
    /// Sends a finished delivery again.
    async fn admin_redeliver(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<()>;

    /// A client's active grants.
    async fn admin_grants(&self, caller: &AdminCaller, client: &str, q: AdminGrantQuery) -> ApiResult<Vec<AdminGrant>>;
    /// Revokes a grant of a client.
    async fn admin_revoke_grant(&self, caller: &AdminCaller, client: &str, grant: &str) -> ApiResult<()>;

    /// The audit trail the caller may see, oldest first.
    async fn admin_audit(&self, caller: &AdminCaller, q: AdminAuditQuery) -> ApiResult<Vec<AdminAuditEvent>>;
    /// A client's usage over the last 30 days.
    async fn admin_usage(&self, caller: &AdminCaller, client: &str) -> ApiResult<AdminUsage>;

    /// Console sign-in, step 1: sends a code to `email` (throttled like the widget's).
    async fn console_sign_in_start(&self, meta: &RequestMeta, req: ConsoleSignInStart) -> ApiResult<()>;
    /// Console sign-in, step 2: checks the code and opens a session.
    async fn console_sign_in_verify(
        &self,
        meta: &RequestMeta,
        email: &str,
        code: &str,
    ) -> ApiResult<ConsoleSessionOpened>;
    /// Ends a console session.
    async fn console_sign_out(&self, caller: &AdminCaller) -> ApiResult<()>;
}
