//! The widget API (SPEC §6): what the Connect widget calls with `X-LINK-TOKEN`.

use crate::{
    ApiResult, CreateIntegrationRequest, IntegrationView, IntegrationsResponse, LinkTokenCredential, ProvidersResponse,
    PublicProvider, RequestMeta,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The client as the widget shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetClient {
    /// Display name.
    pub name: String,
    /// Logo URL.
    #[serde(default)]
    pub logo: Option<String>,
    /// `sandbox` or `production`.
    pub mode: String,
}

/// The signed-in user, when there is one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetUser {
    /// The user id.
    pub user_id: String,
    /// Whether this is a guest account.
    pub is_anonymous: bool,
}

/// The selected workspace, when there is one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetWorkspace {
    /// The workspace id.
    pub workspace_id: String,
    /// Its name.
    pub name: String,
}

/// `data` of `GET /widget/session`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetSession {
    /// The client that created the link token.
    pub client: WidgetClient,
    /// Space-separated scopes the client asks for.
    pub requested_scopes: String,
    /// `true` when the link token resumed a session (the AUTH step is skipped).
    pub is_authorized: bool,
    /// Sign-in methods offered: `email`, `anonymous`.
    pub auth_methods: Vec<String>,
    /// The signed-in user.
    #[serde(default)]
    pub user: Option<WidgetUser>,
    /// The selected workspace.
    #[serde(default)]
    pub workspace: Option<WidgetWorkspace>,
    /// Whether the user approved the scopes (`null` until decided).
    #[serde(default)]
    pub consent: Option<bool>,
    /// Whether the consent step is still to be taken. `false` once the user decided, and for a
    /// returning user whose grant already holds every requested scope (no consent screen).
    #[serde(default)]
    pub consent_required: bool,
    /// Space-separated scopes the consent step asks for: every requested scope for a new user,
    /// only those the grant lacks for a returning user (empty when there is nothing to approve).
    #[serde(default)]
    pub consent_scopes: String,
    /// Provider to preselect.
    #[serde(default)]
    pub integration_name: Option<String>,
    /// Values to prefill.
    #[serde(default)]
    pub prefill: Option<serde_json::Map<String, serde_json::Value>>,
    /// RFC 3339 expiry of the link token.
    pub expires_at: String,
    /// Origins the widget may post its result to.
    pub allowed_origins: Vec<String>,
    /// Registered redirect URIs the full-page widget may return to (exact match).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// `data` of `POST /widget/auth/anonymous`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnonymousAuthResponse {
    /// The new guest user.
    pub user_id: String,
    /// The guest's personal workspace (owner).
    pub workspace_id: String,
}

/// Body of `POST /widget/consent`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRequest {
    /// `true` approves the session's `consent_scopes` (for a returning user, approval adds
    /// them to the grant); `false` ends the session and leaves any grant as it was.
    pub approve: bool,
}

/// `data` of `POST /widget/consent`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentResponse {
    /// What was recorded.
    pub approved: bool,
    /// The scopes approved (empty when denied); for a returning user, every scope the grant now holds.
    pub granted_scopes: String,
}

/// Body of `POST /widget/auth/email/start`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailStartRequest {
    /// Where to send the code.
    pub email: String,
}

/// `data` of `POST /widget/auth/email/start` (HTTP 202).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailStartResponse {
    /// Always `true`: a code was sent.
    pub sent: bool,
    /// Seconds the code stays valid.
    pub expires_in: i64,
    /// Seconds before another code may be requested.
    pub resend_after: i64,
}

/// Body of `POST /widget/auth/email/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailVerifyRequest {
    /// The address the code was sent to.
    pub email: String,
    /// The 6-digit code.
    pub code: String,
}

/// A workspace the signed-in user may choose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceChoice {
    /// Its id.
    pub workspace_id: String,
    /// Its name.
    pub name: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
}

/// `data` of `POST /widget/auth/email/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailVerifyResponse {
    /// The signed-in user (created on first login).
    pub user_id: String,
    /// The user's workspaces.
    pub workspaces: Vec<WorkspaceChoice>,
}

/// Body of `POST /widget/workspace`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SelectWorkspaceRequest {
    /// The workspace to share.
    pub workspace_id: String,
}

/// `data` of `POST /widget/complete`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteResponse {
    /// A one-time `public_…` token for a new user; `null` for a resumed session.
    pub public_token: Option<String>,
}

/// `data` of `DELETE /widget/integrations/{walletId}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteIntegrationResponse {
    /// The removed integration's `walletId`.
    pub wallet_id: String,
    /// Always `true`.
    pub deleted: bool,
}

/// The widget API, authenticated by a link token.
///
/// Every method fails with `INVALID_TOKEN` for an unknown or malformed link token,
/// `TOKEN_EXPIRED` past its 30 minutes and `TOKEN_ALREADY_USED` once the widget completed;
/// for a resumed session, `INVALID_GRANT` once the grant it resumes is revoked or expired.
#[async_trait]
pub trait WidgetApi: Send + Sync {
    /// What the widget needs to render: client, scopes, and where the session stands.
    async fn session(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<WidgetSession>;

    /// Signs in as a new guest with a personal workspace. `INVALID_REQUEST` if the session
    /// already has a user.
    async fn auth_anonymous(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<AnonymousAuthResponse>;

    /// Records the user's decision on the requested scopes. `INVALID_REQUEST` before sign-in
    /// and workspace selection. For a returning user, approval extends the resumed grant with
    /// the scopes it lacks (`grant.updated` webhook); denial ends the session, grant untouched.
    async fn consent(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: ConsentRequest,
    ) -> ApiResult<ConsentResponse>;

    /// Finishes the session: a public token for a new user, `null` for a resumed one.
    /// The link token is dead afterwards. `INVALID_REQUEST` before consent was given (a
    /// returning user whose grant holds every requested scope needs none).
    async fn complete(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<CompleteResponse>;

    /// Sends a 6-digit sign-in code to `email` (10 minutes, 5 attempts). `INVALID_REQUEST` for a
    /// malformed address or when email sign-in is off; `RATE_LIMITED` when codes are requested too often.
    async fn email_start(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailStartRequest,
    ) -> ApiResult<EmailStartResponse>;

    /// Checks a code and signs the user in (creating the user on first login). A wrong, expired or
    /// exhausted code is `INVALID_REQUEST`.
    async fn email_verify(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailVerifyRequest,
    ) -> ApiResult<EmailVerifyResponse>;

    /// Selects the workspace to share. `WORKSPACE_NOT_FOUND` if it does not exist or the user is not a
    /// member; `INSUFFICIENT_PERMISSIONS` unless the user is owner or admin.
    async fn select_workspace(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: SelectWorkspaceRequest,
    ) -> ApiResult<WidgetWorkspace>;

    /// The providers this client's users may connect (sandbox: ethereum and solana only).
    async fn providers(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<ProvidersResponse>;

    /// Connects a wallet or exchange to the session's workspace and queues its first sync.
    /// `INVALID_REQUEST` for an unknown provider, a malformed address or missing credentials, or a
    /// duplicate; `SANDBOX_PROVIDER_NOT_ALLOWED` / `SANDBOX_ADDRESS_NOT_ALLOWED` for sandbox clients.
    async fn create_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: CreateIntegrationRequest,
    ) -> ApiResult<IntegrationView>;

    /// The session workspace's integrations with their sync status.
    async fn list_integrations(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
    ) -> ApiResult<IntegrationsResponse>;

    /// Removes an integration of the session's workspace with its balances and pending syncs, and
    /// notifies clients holding a live grant on the workspace (`integration.deleted`).
    /// `INVALID_REQUEST` before sign-in and workspace selection; `WORKSPACE_NOT_FOUND` when the
    /// session's workspace has no integration `wallet_id` (unknown, or another workspace's).
    async fn delete_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        wallet_id: &str,
    ) -> ApiResult<()>;

    /// Whether any enabled client registered `origin` (answers CORS preflights of widget routes).
    async fn is_registered_origin(&self, origin: &str) -> ApiResult<bool>;
}

/// The public provider catalogue (no authentication).
#[async_trait]
pub trait ProvidersApi: Send + Sync {
    /// Every supported provider, in the documented public shape.
    async fn public_providers(&self) -> ApiResult<Vec<PublicProvider>>;

    /// The origins a client registered (for the widget page's `frame-ancestors`); empty for an
    /// unknown or disabled client.
    async fn client_origins(&self, client_id: &str) -> ApiResult<Vec<String>>;
}

impl std::fmt::Debug for CompleteResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompleteResponse").field("public_token", &"[REDACTED]").finish()
    }
}
