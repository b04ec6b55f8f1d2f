//! The widget API (SPEC §6): what the Connect widget calls with `X-LINK-TOKEN`.

use crate::{ApiResult, LinkTokenCredential, RequestMeta};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The client as the widget shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
pub struct WidgetUser {
    /// The user id.
    pub user_id: String,
    /// Whether this is a guest account.
    pub is_anonymous: bool,
}

/// The selected workspace, when there is one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WidgetWorkspace {
    /// The workspace id.
    pub workspace_id: String,
    /// Its name.
    pub name: String,
}

/// `data` of `GET /widget/session`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
}

/// `data` of `POST /widget/auth/anonymous`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnonymousAuthResponse {
    /// The new guest user.
    pub user_id: String,
    /// The guest's personal workspace (owner).
    pub workspace_id: String,
}

/// Body of `POST /widget/consent`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsentRequest {
    /// `true` approves the requested scopes; `false` ends the session.
    pub approve: bool,
}

/// `data` of `POST /widget/consent`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsentResponse {
    /// What was recorded.
    pub approved: bool,
    /// The scopes approved (empty when denied).
    pub granted_scopes: String,
}

/// `data` of `POST /widget/complete`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompleteResponse {
    /// A one-time `public_…` token for a new user; `null` for a resumed session.
    pub public_token: Option<String>,
}

/// The widget API, authenticated by a link token.
///
/// Every method fails with `INVALID_TOKEN` for an unknown or malformed link token,
/// `TOKEN_EXPIRED` past its 30 minutes and `TOKEN_ALREADY_USED` once the widget completed.
#[async_trait]
pub trait WidgetApi: Send + Sync {
    /// What the widget needs to render: client, scopes, and where the session stands.
    async fn session(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<WidgetSession>;

    /// Signs in as a new guest with a personal workspace. `INVALID_REQUEST` if the session
    /// already has a user.
    async fn auth_anonymous(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<AnonymousAuthResponse>;

    /// Records the user's decision on the requested scopes. `INVALID_REQUEST` before sign-in
    /// and workspace selection.
    async fn consent(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: ConsentRequest,
    ) -> ApiResult<ConsentResponse>;

    /// Finishes the session: a public token for a new user, `null` for a resumed one.
    /// The link token is dead afterwards. `INVALID_REQUEST` before consent was given.
    async fn complete(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<CompleteResponse>;

    /// Whether any enabled client registered `origin` (answers CORS preflights of widget routes).
    async fn is_registered_origin(&self, origin: &str) -> ApiResult<bool>;
}
