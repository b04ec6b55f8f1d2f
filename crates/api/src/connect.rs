//! The Connect API (SPEC §4): what a client backend calls with its credentials.

use crate::{ApiResult, ClientCredentials, RequestMeta};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Body of `POST /link-token`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateLinkTokenRequest {
    /// Space-separated scopes; omitted means every scope the client is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// A returning user's access token: the widget then skips authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// A provider to preselect in the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_name: Option<String>,
    /// Values to prefill in the widget (e.g. `email`, `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `data` of a `POST /link-token` success.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateLinkTokenResponse {
    /// The `link_…` token for the widget (30 minutes).
    pub link_token: String,
    /// RFC 3339 expiry.
    pub expires_at: String,
    /// Set when the link token resumes a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Set when the link token resumes a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// `true` when the link token resumes a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_existing_grant: Option<bool>,
}

/// Body of `POST /link-token/check-session`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckSessionRequest {
    /// The access token to check.
    pub access_token: String,
}

/// `data` of `POST /link-token/check-session` (always HTTP 200).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckSessionResponse {
    /// Whether the token names a live grant of this client.
    pub has_valid_session: bool,
    /// `token_expired`, `token_revoked` or `invalid_token` when not valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The grant's user, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The grant's workspace, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The workspace's name, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    /// Space-separated scopes of the grant, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_scopes: Option<String>,
    /// The grant id, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// Body of `POST /token/exchange`. Credentials may also travel in the body.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeRequest {
    /// The one-time `public_…` token from the widget.
    pub public_token: String,
}

/// `data` of a `POST /token/exchange` success.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeResponse {
    /// The long-lived `cat_…` bearer token.
    pub access_token: String,
    /// The grant the token belongs to; keep it to revoke later.
    pub grant_id: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// 473040000 (15 years).
    pub expires_in: i64,
    /// Space-separated approved scopes.
    pub scope: String,
    /// The shared workspace.
    pub workspace_id: String,
}

/// Body of `POST /token/revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    /// The grant to revoke.
    pub grant_id: String,
}

/// Query of `GET /token/grants`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListGrantsQuery {
    /// Page size, 1–100 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One active grant in `GET /token/grants`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantSummary {
    /// The grant id.
    pub grant_id: String,
    /// The shared workspace.
    pub workspace_id: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// `data` of `GET /token/grants`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantsPage {
    /// This page of the client's active grants, oldest first.
    pub grants: Vec<GrantSummary>,
    /// Number of grants on this page.
    pub count: usize,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The Connect API, authenticated by client credentials.
///
/// Every method fails with `INVALID_CLIENT` when the credentials are missing,
/// wrong or belong to a disabled client, and with `SERVICE_UNAVAILABLE` when
/// storage cannot be reached.
#[async_trait]
pub trait ConnectApi: Send + Sync {
    /// Creates a link token. `INVALID_SCOPE` for an unknown or not-allowed scope;
    /// `INVALID_TOKEN` when `access_token` is given but is not a live token of this client.
    async fn create_link_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CreateLinkTokenRequest,
    ) -> ApiResult<CreateLinkTokenResponse>;

    /// Tells whether an access token names a live grant; never fails for a bad token.
    async fn check_session(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CheckSessionRequest,
    ) -> ApiResult<CheckSessionResponse>;

    /// Exchanges a public token, exactly once. `TOKEN_ALREADY_USED` on reuse,
    /// `TOKEN_EXPIRED` after 30 minutes, `INVALID_TOKEN` for unknown, malformed or foreign tokens.
    async fn exchange_public_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: ExchangeRequest,
    ) -> ApiResult<ExchangeResponse>;

    /// Revokes a grant and every token of it, at once. Idempotent for this client's grants;
    /// `INVALID_GRANT` for unknown or foreign grants.
    async fn revoke_grant(&self, client: &ClientCredentials, meta: &RequestMeta, req: RevokeRequest) -> ApiResult<()>;

    /// Lists this client's active grants, oldest first. `INVALID_REQUEST` for a bad cursor or limit.
    async fn list_grants(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        query: ListGrantsQuery,
    ) -> ApiResult<GrantsPage>;
}

impl std::fmt::Debug for CreateLinkTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateLinkTokenRequest")
            .field("scopes", &self.scopes)
            .field("integration_name", &self.integration_name)
            .field("prefill", &self.prefill)
            .field("access_token", &"[REDACTED]")
            .finish()
    }
}

impl std::fmt::Debug for CreateLinkTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateLinkTokenResponse")
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .field("workspace_id", &self.workspace_id)
            .field("has_existing_grant", &self.has_existing_grant)
            .field("link_token", &"[REDACTED]")
            .finish()
    }
}

impl std::fmt::Debug for CheckSessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckSessionRequest").field("access_token", &"[REDACTED]").finish()
    }
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest").field("public_token", &"[REDACTED]").finish()
    }
}

impl std::fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeResponse")
            .field("grant_id", &self.grant_id)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("workspace_id", &self.workspace_id)
            .field("access_token", &"[REDACTED]")
            .finish()
    }
}
