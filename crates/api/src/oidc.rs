//! The OAuth 2.0 / OpenID Connect provider: its trait and wire DTOs (RFC 6749, RFC 7636,
//! RFC 7662, RFC 7009, OpenID Connect Core and Discovery 1.0).

use crate::{BearerToken, ClientCredentials, RequestMeta};
use async_trait::async_trait;
use kc_domain::OAuthErrorCode;
use serde::{Deserialize, Serialize};

/// An OAuth error (`{"error", "error_description"}`), with the HTTP status the endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The RFC 6749 `error` code.
    pub code: OAuthErrorCode,
    /// A human-readable `error_description` (never a secret).
    pub description: String,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`.
    pub fn invalid_client() -> Self {
        Self::new(OAuthErrorCode::InvalidClient, "Client authentication failed")
    }

    /// `invalid_token` (RFC 6750).
    pub fn invalid_token() -> Self {
        Self::new(OAuthErrorCode::InvalidToken, "The access token is invalid, expired or revoked")
    }
}

/// The body of an OAuth error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` or `invalid_token`.
    pub error: String,
    /// What is wrong.
    pub error_description: String,
}

/// The parameters of `GET /oidc/auth`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client id.
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes (within the client's allowed scopes).
    pub scope: Option<String>,
    /// Returned unchanged with the code or error.
    pub state: Option<String>,
    /// Put into the ID token.
    pub nonce: Option<String>,
    /// `BASE64URL(SHA256(code_verifier))`.
    pub code_challenge: Option<String>,
    /// Must be `S256` (`plain` is refused).
    pub code_challenge_method: Option<String>,
    /// `none`: answered at once, without any page, from this browser's session with the provider
    /// when a live grant of the client covers the scopes (`login_required` without a live session,
    /// `consent_required` without such a grant). `login`, `consent` and `select_account` (and no
    /// `prompt`) run the widget, which always signs in and asks consent.
    pub prompt: Option<String>,
    /// Preferred languages of the widget (`fr`, `en`).
    pub ui_locales: Option<String>,
}

/// The parameters the widget returns to `/oidc/callback/{handle}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CallbackParams {
    /// The widget's public token on success.
    pub public_token: Option<String>,
    /// The widget's error code otherwise (`USER_CLOSED`, …).
    pub error: Option<String>,
    /// `success` for a session that needed no public token.
    pub status: Option<String>,
}

/// The name of the provider's browser-session cookie (`Path=/oidc`, `HttpOnly`, `SameSite=Lax`,
/// `Secure` when the public URL is https).
pub const OIDC_SESSION_COOKIE: &str = "kc_oidc_session";

/// The name of the cookie that binds a widget run to the browser that started it at `/oidc/auth`
/// (`Path=/oidc/callback`, `HttpOnly`, `SameSite=Lax`): only that browser gets a session at the
/// callback, so a callback URL handed to someone else cannot sign their browser in as you.
pub const OIDC_REQUEST_COOKIE: &str = "kc_oidc_request";

/// The provider's browser-session cookie to set (or, with an empty value and `max_age_secs` 0, to clear).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// The opaque session id (stored server-side only as its digest).
    pub value: String,
    /// Seconds until the session's absolute end.
    pub max_age_secs: i64,
    /// Whether to mark it `Secure` (the provider's public URL is https).
    pub secure: bool,
}

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCookie")
            .field("value", &"[REDACTED]")
            .field("max_age_secs", &self.max_age_secs)
            .field("secure", &self.secure)
            .finish()
    }
}

/// Where an authorization step sends the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeStep {
    /// A `302 Found` to this URL (the widget, or the client's redirect URI with `code` or `error`).
    Redirect(String),
    /// A `302 Found` to the client's redirect URI that also sets the browser-session cookie (the
    /// user has just signed in through the widget).
    RedirectWithSession(String, SessionCookie),
    /// A `302 Found` to the widget that also sets the request-binding cookie
    /// ([`OIDC_REQUEST_COOKIE`]) to this request's handle; `secure` when the public URL is https.
    RedirectBindingRequest {
        /// The widget URL.
        to: String,
        /// The request's callback handle.
        handle: String,
        /// Whether to mark the cookie `Secure`.
        secure: bool,
    },
    /// The request cannot be answered at the redirect URI (unknown client, unregistered
    /// redirect URI, unknown request): shown to the user, never redirected (RFC 6749 §4.1.2.1).
    Refuse(OAuthError),
}

/// The form of `POST /oidc/token` (client credentials travel separately).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    /// The authorization code.
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// A narrower scope (refresh), or the scope asked for (client credentials).
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// A JWT access token (24 h), accepted by the Data API like a `cat_…` token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives (86400).
    pub expires_in: i64,
    /// A refresh token (30 days, rotated on each use), when `offline_access` was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The granted scopes.
    pub scope: String,
}

/// The form of `POST /oidc/token/introspection` and `POST /oidc/token/revocation`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenForm {
    /// The token.
    pub token: Option<String>,
    /// `access_token` or `refresh_token` (a hint only).
    pub token_type_hint: Option<String>,
}

/// An introspection answer (RFC 7662 §2.2); only `active` when the token is not live.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectionResponse {
    /// Whether the token is live (signature, expiry and its grant's state, read now).
    pub active: bool,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The audience (the client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The grant the token belongs to (as in `/token/grants`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The shared workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

/// The OpenID Connect provider. Implemented by `kc-service`, served under `/oidc` by `kc-http`.
#[async_trait]
pub trait OidcApi: Send + Sync {
    /// The discovery document (OpenID Connect Discovery 1.0).
    async fn oidc_discovery(&self) -> Result<serde_json::Value, OAuthError>;
    /// The published signing keys (JWK Set).
    async fn oidc_jwks(&self) -> Result<serde_json::Value, OAuthError>;
    /// `GET /oidc/auth`: validates the request and starts the widget on it, or (`prompt=none`)
    /// answers it at once from the browser session named by `browser_session` (the cookie's value).
    async fn oidc_authorize(
        &self,
        params: AuthorizeParams,
        browser_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthorizeStep;
    /// The widget's return: turns the finished run into a code (or an error) at the client's redirect URI.
    /// `request_binding` is the value of the [`OIDC_REQUEST_COOKIE`] the browser sent: a browser
    /// session starts only when it names this request.
    async fn oidc_callback(
        &self,
        handle: &str,
        params: CallbackParams,
        request_binding: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthorizeStep;
    /// `POST /oidc/token`. `client` is `None` when no credentials were sent.
    async fn oidc_token(
        &self,
        client: Option<ClientCredentials>,
        req: TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError>;
    /// `GET|POST /oidc/userinfo` with the access token.
    async fn oidc_userinfo(&self, token: &BearerToken, meta: &RequestMeta) -> Result<serde_json::Value, OAuthError>;
    /// `POST /oidc/token/introspection` (RFC 7662).
    async fn oidc_introspect(
        &self,
        client: Option<ClientCredentials>,
        form: TokenForm,
        meta: &RequestMeta,
    ) -> Result<IntrospectionResponse, OAuthError>;
    /// `POST /oidc/logout`: ends the browser session named by `browser_session`; answers the
    /// cookie that clears it.
    async fn oidc_logout(&self, browser_session: Option<&str>, meta: &RequestMeta)
        -> Result<SessionCookie, OAuthError>;
    /// `POST /oidc/token/revocation` (RFC 7009): revokes the token's grant (every token of it).
    async fn oidc_revoke(
        &self,
        client: Option<ClientCredentials>,
        form: TokenForm,
        meta: &RequestMeta,
    ) -> Result<(), OAuthError>;
}
