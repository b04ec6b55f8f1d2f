//! The OAuth 2.0 / OpenID Connect provider ([`OidcApi`]) over the ordinary grants and widget.
//!
//! `/oidc/auth` validates the request, creates a link session and an authorization request,
//! and sends the browser to the widget as a full page whose only redirect target is this
//! provider's callback for that request. The widget signs the user in, asks consent and lets
//! them connect integrations exactly as for any client; its public token comes back to the
//! callback, which consumes it and redirects to the client with a single-use, 10-minute code
//! bound to the client, the redirect URI and the PKCE challenge. The token endpoint turns the
//! code into an ordinary grant (listed by `/token/grants`, revoked by `/token/revoke`) with a
//! JWT access token, an ID token and a rotating refresh token. Every token use reads the
//! grant: revocation is immediate on every node.

mod keys;

use crate::audit::{AuditKind, Outcome};
use crate::connect::TokenLookup;
use crate::service::{store_error, Service};
use async_trait::async_trait;
use jsonwebtoken::{Header, Validation};
use kc_api::*;
use kc_domain::{
    lifetimes, oidc_lifetimes, valid_code_challenge, ClientId, ClientRecord, CredentialCipher, GrantId, GrantRecord,
    GrantRefusal, GrantStatus, OAuthErrorCode, OidcSecret, PlainToken, ScopeSet, SessionReason, SigningAlg,
    TokenDigest, TokenKind,
};
use kc_ports::{
    BrowserSessionRecord, CodeIssue, NewBrowserSession, NewLinkSession, NewOAuthGrant, NewOidcRequest, NewRefreshToken,
    NewSilentCode, OidcStore, StoreError,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

pub(crate) use keys::KeyError;
pub use keys::{SigningKeyState, SigningKeyStatus};

/// Longest accepted `state` and `nonce`.
const MAX_PARAM_LEN: usize = 512;
/// The `typ` of access tokens (RFC 9068), so an ID token is never taken for one.
const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The scopes that concern a signed-in user, never granted to `client_credentials`.
const USER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// The `grant_type` claim of client-credentials access tokens (absent from users' tokens).
const CLIENT_CREDENTIALS: &str = "client_credentials";
/// The resource scopes the reference's userinfo reports as `<resource>_access`.
const ACCESS_FLAGS: [&str; 8] =
    ["portfolios", "transactions", "integrations", "tax", "accounting", "reports", "workspace", "users"];

/// The provider's own state: where it lives and its signing keys.
pub struct OidcProvider {
    store: Arc<dyn OidcStore>,
    issuer: String,
    public_url: String,
    keyring: keys::Keyring,
}

impl OidcProvider {
    /// A provider on `store` whose issuer is `{public_url}/oidc`; signing keys are sealed with `cipher`.
    pub fn new(store: Arc<dyn OidcStore>, public_url: &str, cipher: Arc<CredentialCipher>) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Self {
            keyring: keys::Keyring::new(store.clone(), cipher),
            store,
            issuer: format!("{public_url}/oidc"),
            public_url,
        }
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn callback_url(&self, handle: &str) -> String {
        format!("{}/callback/{handle}", self.issuer)
    }
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider").field("issuer", &self.issuer).finish()
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    auth_time: i64,
    jti: String,
    client_id: String,
    scope: String,
    /// The grant (checked on every use).
    grant_id: String,
    workspace_id: String,
}

/// The claims of a `client_credentials` access token: the client acting for itself, no user and
/// no grant (so the Data API and userinfo, which serve a user's data, refuse it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientClaims {
    iss: String,
    /// The client id.
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    scope: String,
    /// Always `client_credentials`: what tells these tokens from users' ones.
    grant_type: String,
}

/// Claims with an expiry, judged on the service clock.
trait Expiring {
    fn exp(&self) -> i64;
}

impl Expiring for AccessClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for ClientClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// The claims of an ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: String,
    azp: String,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    scope: String,
}

fn oauth_store_error(e: StoreError) -> OAuthError {
    let api = store_error(e);
    oauth_from_api(api)
}

fn oauth_from_api(e: ApiError) -> OAuthError {
    match e.code {
        ErrorCode::InvalidClient => OAuthError::invalid_client(),
        ErrorCode::ServiceUnavailable => OAuthError::new(OAuthErrorCode::TemporarilyUnavailable, e.message),
        _ => OAuthError::new(OAuthErrorCode::ServerError, "The server failed; try again"),
    }
}

fn key_failure(e: KeyError) -> OAuthError {
    match e {
        KeyError::Store(s) => oauth_store_error(s),
        KeyError::Key(why) => {
            tracing::error!(error = %why, "OpenID Connect signing key unusable");
            OAuthError::new(OAuthErrorCode::ServerError, "The server failed; try again")
        }
    }
}

/// `url` with `params` appended to its query.
fn with_query(url: &str, params: &[(&str, Option<&str>)]) -> String {
    // Keep the registered URI byte-for-byte: only append.
    let out = url.to_owned() + if url.contains('?') { "&" } else { "?" };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if let Some(v) = v {
            ser.append_pair(k, v);
        }
    }
    out + &ser.finish()
}

/// Whether `raw` has the shape of a JWT (three base64url parts): the OAuth access tokens.
pub(crate) fn looks_like_jwt(raw: &str) -> bool {
    raw.starts_with("eyJ") && raw.split('.').count() == 3
}

fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Service {
    fn oidc(&self) -> Result<&Arc<OidcProvider>, OAuthError> {
        self.ports
            .oidc
            .as_ref()
            .ok_or_else(|| OAuthError::new(OAuthErrorCode::TemporarilyUnavailable, "OpenID Connect is not configured"))
    }

    /// The redirect URIs the widget may return to for link session `session_id`: only the
    /// provider's callback for an authorization request, the client's registered ones otherwise.
    pub(crate) async fn widget_redirect_uris(
        &self,
        session_id: i64,
        registered: Vec<String>,
    ) -> ApiResult<Vec<String>> {
        let Some(p) = self.ports.oidc.as_ref() else { return Ok(registered) };
        match p.store.find_oidc_request_by_session(session_id).await.map_err(store_error)? {
            Some(r) => Ok(vec![p.callback_url(&r.handle)]),
            None => Ok(registered),
        }
    }

    /// Generates a new signing key of each algorithm now (the old ones stay published for the overlap).
    pub async fn rotate_oidc_keys(&self) -> Result<(), OAuthError> {
        let p = self.oidc()?;
        p.keyring.rotate_now(self.now(), self.ports.rng.as_ref()).await.map_err(key_failure)
    }

    /// Every stored signing key and where it stands now (`kryptos-connect oidc keys`).
    pub async fn oidc_signing_keys(&self) -> Result<Vec<SigningKeyStatus>, OAuthError> {
        let p = self.oidc()?;
        p.keyring.statuses(self.now()).await.map_err(key_failure)
    }

    /// Verifies a user's access token (see [`Self::verify_jwt`]).
    async fn verify_access_token(&self, raw: &str) -> Result<Option<AccessClaims>, OAuthError> {
        self.verify_jwt::<AccessClaims>(raw).await
    }

    /// Verifies a `client_credentials` access token (see [`Self::verify_jwt`]).
    async fn verify_client_token(&self, raw: &str) -> Result<Option<ClientClaims>, OAuthError> {
        Ok(self.verify_jwt::<ClientClaims>(raw).await?.filter(|c| c.grant_type == CLIENT_CREDENTIALS))
    }

    /// Verifies an access token's signature, `typ`, issuer and expiry and reads its claims as
    /// `T`; `None` if any fails (`alg: none`, foreign keys, unknown `kid`s and the other kind
    /// of access token included).
    async fn verify_jwt<T: DeserializeOwned + Expiring>(&self, raw: &str) -> Result<Option<T>, OAuthError> {
        let p = self.oidc()?;
        let Ok(header) = jsonwebtoken::decode_header(raw) else { return Ok(None) };
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Ok(None);
        }
        let Some(kid) = header.kid.as_deref() else { return Ok(None) };
        let now = self.now();
        let Some(key) = p.keyring.verifying_key(kid, now).await.map_err(key_failure)? else { return Ok(None) };
        if key.algorithm() != header.alg || key.info.alg != SigningAlg::EdDsa {
            return Ok(None);
        }
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[p.issuer.as_str()]);
        v.validate_aud = false;
        // Expiry is judged on the service clock below.
        v.validate_exp = false;
        v.set_required_spec_claims(&["iss", "sub", "exp"]);
        let Ok(data) = jsonwebtoken::decode::<T>(raw, &key.decoding, &v) else { return Ok(None) };
        if secs(now) >= data.claims.exp() {
            return Ok(None);
        }
        Ok(Some(data.claims))
    }

    /// The live grant of an access token, with the grant's scopes narrowed to the token's.
    async fn access_token_grant(&self, raw: &str) -> Result<Option<(AccessClaims, GrantRecord)>, OAuthError> {
        let Some(claims) = self.verify_access_token(raw).await? else { return Ok(None) };
        let Ok(grant_id) = claims.grant_id.parse::<GrantId>() else { return Ok(None) };
        let Some(mut grant) = self.ports.store.find_grant(&grant_id).await.map_err(oauth_store_error)? else {
            return Ok(None);
        };
        if grant.client_id.as_str() != claims.client_id || grant.status_at(self.now()) != GrantStatus::Active {
            return Ok(None);
        }
        let token_scopes = ScopeSet::from_stored(&claims.scope);
        grant.scopes = ScopeSet::from_stored(
            &grant.scopes.iter().filter(|s| token_scopes.contains_str(s)).collect::<Vec<_>>().join(" "),
        );
        Ok(Some((claims, grant)))
    }

    /// An OAuth access token presented where a `cat_…` token is accepted (Data API, check-session).
    pub(crate) async fn lookup_oidc_access_token(&self, raw: &str, client: &ClientId) -> ApiResult<TokenLookup> {
        match self.access_token_grant(raw).await {
            Ok(Some((_, grant))) if &grant.client_id == client => Ok(TokenLookup::Live(grant)),
            Ok(_) => Ok(TokenLookup::Dead(SessionReason::InvalidToken)),
            Err(e) if e.code == OAuthErrorCode::TemporarilyUnavailable => Err(ApiError::unavailable()),
            Err(_) => Err(ApiError::internal()),
        }
    }

    async fn oidc_client(
        &self,
        creds: Option<ClientCredentials>,
        meta: &RequestMeta,
    ) -> Result<ClientRecord, OAuthError> {
        let creds = creds.ok_or_else(OAuthError::invalid_client)?;
        self.authenticate(&creds, meta).await.map_err(oauth_from_api)
    }

    async fn sign<T: Serialize>(&self, alg: SigningAlg, typ: &str, claims: &T) -> Result<String, OAuthError> {
        let p = self.oidc()?;
        let key = p.keyring.signing_key(alg, self.now(), self.ports.rng.as_ref()).await.map_err(key_failure)?;
        let mut header = Header::new(key.algorithm());
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.info.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| {
            tracing::error!(error = %e, "signing a token failed");
            OAuthError::new(OAuthErrorCode::ServerError, "The server failed; try again")
        })
    }

    /// The access token, ID token (with `openid`) and token response of `grant`.
    async fn token_response(
        &self,
        grant: &GrantRecord,
        scopes: &ScopeSet,
        auth_time: OffsetDateTime,
        nonce: Option<String>,
        refresh: Option<OidcSecret>,
    ) -> Result<TokenResponse, OAuthError> {
        let p = self.oidc()?;
        let now = self.now();
        let mut jti = [0u8; 16];
        self.ports.rng.fill(&mut jti);
        let access = AccessClaims {
            iss: p.issuer.clone(),
            sub: grant.user_id.to_string(),
            aud: grant.client_id.to_string(),
            exp: secs(now + oidc_lifetimes::ACCESS_TOKEN),
            iat: secs(now),
            auth_time: secs(auth_time),
            jti: hex::encode(jti),
            client_id: grant.client_id.to_string(),
            scope: scopes.to_string(),
            grant_id: grant.id.to_string(),
            workspace_id: grant.workspace_id.to_string(),
        };
        let access_token = self.sign(SigningAlg::EdDsa, ACCESS_TOKEN_TYP, &access).await?;
        let id_token = if scopes.contains_str("openid") {
            let id = IdClaims {
                iss: p.issuer.clone(),
                sub: grant.user_id.to_string(),
                aud: grant.client_id.to_string(),
                azp: grant.client_id.to_string(),
                exp: secs(now + oidc_lifetimes::ID_TOKEN),
                iat: secs(now),
                auth_time: secs(auth_time),
                nonce,
                scope: scopes.to_string(),
            };
            Some(self.sign(SigningAlg::Rs256, "JWT", &id).await?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: oidc_lifetimes::ACCESS_TOKEN.whole_seconds(),
            refresh_token: refresh.map(|r| r.expose().to_owned()),
            id_token,
            scope: scopes.to_string(),
        })
    }

    /// Revokes `grant` of `client` after a replay, auditing it as a security event.
    async fn revoke_after_replay(&self, grant: &GrantId, client: &ClientId, what: &str, meta: &RequestMeta) {
        let revoked = self.ports.store.revoke_grant(grant, client, self.now()).await;
        if let Err(e) = &revoked {
            tracing::error!(error = %e, grant_id = %grant, "could not revoke a grant after a replay");
        }
        tracing::warn!(client_id = %client, grant_id = %grant, "{what} replayed: grant revoked");
        self.audit(AuditKind::GrantRevoke, Outcome::Security, meta, |e| {
            e.client_id = Some(client.to_string());
            e.grant_id = Some(grant.to_string());
            e.detail = Some(format!("oidc: {what} replayed, grant revoked"));
        })
        .await;
    }

    async fn refused_grant(&self, client: &ClientId, why: GrantRefusal, what: &str, meta: &RequestMeta) -> OAuthError {
        self.audit(AuditKind::TokenExchange, Outcome::Failure, meta, |e| {
            e.client_id = Some(client.to_string());
            e.detail = Some(format!("oidc {what}: invalid_grant ({why})"));
        })
        .await;
        OAuthError::invalid_grant(format!("The {what} is invalid: {why}"))
    }

    async fn redeem_code(
        &self,
        client: &ClientRecord,
        req: TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        let p = self.oidc()?;
        let raw = req
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let verifier = req
            .code_verifier
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
        let invalid =
            || OAuthError::invalid_grant("The authorization code is invalid, expired or was issued to another client");
        if !OidcSecret::well_formed(OidcSecret::CODE_PREFIX, raw) {
            return Err(invalid());
        }
        let Some(code) = p.store.find_oidc_code(&TokenDigest::of(raw)).await.map_err(oauth_store_error)? else {
            return Err(invalid());
        };
        let now = self.now();
        match code.redeemable_by(&client.id, req.redirect_uri.as_deref(), verifier, now) {
            Ok(()) => {}
            Err(GrantRefusal::Replayed) => {
                if let Some(g) = &code.grant_id {
                    self.revoke_after_replay(g, &client.id, "authorization code", meta).await;
                }
                return Err(OAuthError::invalid_grant(
                    "The authorization code was already used; the tokens issued with it are revoked",
                ));
            }
            Err(why) => return Err(self.refused_grant(&client.id, why, "authorization code", meta).await),
        }
        let refresh = code
            .scopes
            .contains_str("offline_access")
            .then(|| OidcSecret::generate(OidcSecret::REFRESH_PREFIX, self.ports.rng.as_ref()));
        let issue = NewOAuthGrant {
            grant_id: GrantId::generate(self.ports.rng.as_ref()),
            created_at: now,
            expires_at: now + lifetimes::ACCESS_TOKEN,
            refresh: refresh.as_ref().map(|r| NewRefreshToken {
                digest: r.digest(),
                auth_time: code.auth_time,
                created_at: now,
                expires_at: now + oidc_lifetimes::REFRESH_TOKEN,
            }),
        };
        let Some(grant) = p.store.redeem_oidc_code(code.id, now, &issue).await.map_err(oauth_store_error)? else {
            // Another request redeemed it first (or it lapsed this instant): a replay.
            if let Some(g) =
                p.store.find_oidc_code(&TokenDigest::of(raw)).await.map_err(oauth_store_error)?.and_then(|c| c.grant_id)
            {
                self.revoke_after_replay(&g, &client.id, "authorization code", meta).await;
            }
            return Err(OAuthError::invalid_grant("The authorization code was already used or has expired"));
        };
        self.audit(AuditKind::TokenExchange, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = Some(grant.id.to_string());
            e.user_id = Some(grant.user_id.to_string());
            e.detail = Some("oidc authorization_code".to_owned());
        })
        .await;
        let scopes = grant.scopes.clone();
        self.token_response(&grant, &scopes, code.auth_time, code.nonce.clone(), refresh).await
    }

    async fn refresh(
        &self,
        client: &ClientRecord,
        req: TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        let p = self.oidc()?;
        let raw = req
            .refresh_token
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let invalid =
            || OAuthError::invalid_grant("The refresh token is invalid, expired or was issued to another client");
        if !OidcSecret::well_formed(OidcSecret::REFRESH_PREFIX, raw) {
            return Err(invalid());
        }
        let Some(token) = p.store.find_refresh_token(&TokenDigest::of(raw)).await.map_err(oauth_store_error)? else {
            return Err(invalid());
        };
        let now = self.now();
        match token.usable_by(&client.id, now) {
            Ok(()) => {}
            Err(GrantRefusal::Replayed) => {
                self.revoke_after_replay(&token.grant_id, &client.id, "refresh token", meta).await;
                return Err(OAuthError::invalid_grant(
                    "The refresh token was already used; every token of its grant is revoked",
                ));
            }
            Err(why) => return Err(self.refused_grant(&client.id, why, "refresh token", meta).await),
        }
        let grant = self
            .ports
            .store
            .find_grant(&token.grant_id)
            .await
            .map_err(oauth_store_error)?
            .filter(|g| g.status_at(now) == GrantStatus::Active);
        let Some(grant) = grant else {
            return Err(self.refused_grant(&client.id, GrantRefusal::GrantGone, "refresh token", meta).await);
        };
        let scopes = match req.scope.as_deref() {
            None => grant.scopes.clone(),
            Some(s) => {
                let asked =
                    s.parse::<ScopeSet>().map_err(|e| OAuthError::new(OAuthErrorCode::InvalidScope, e.to_string()))?;
                asked
                    .ensure_within(&grant.scopes)
                    .map_err(|e| OAuthError::new(OAuthErrorCode::InvalidScope, format!("{e}: not granted")))?;
                asked
            }
        };
        let next = OidcSecret::generate(OidcSecret::REFRESH_PREFIX, self.ports.rng.as_ref());
        let record = NewRefreshToken {
            digest: next.digest(),
            auth_time: token.auth_time,
            created_at: now,
            expires_at: now + oidc_lifetimes::REFRESH_TOKEN,
        };
        if !p.store.rotate_refresh_token(token.id, &record, now).await.map_err(oauth_store_error)? {
            self.revoke_after_replay(&token.grant_id, &client.id, "refresh token", meta).await;
            return Err(OAuthError::invalid_grant(
                "The refresh token was already used; every token of its grant is revoked",
            ));
        }
        self.token_response(&grant, &scopes, token.auth_time, None, Some(next)).await
    }

    /// `grant_type=client_credentials` (RFC 6749 §4.4): the client, authenticated, acting for
    /// itself. The token is a JWT access token (1 hour) for no user and no grant: it carries data
    /// scopes only (never `openid`, `profile`, `email` or `offline_access`), within the client's
    /// allowed scopes; no refresh token, no ID token. The Data API and userinfo serve a user's
    /// data under that user's grant, so they refuse it; introspection by its client describes it.
    async fn client_credentials(
        &self,
        client: &ClientRecord,
        req: TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        let p = self.oidc()?;
        let invalid_scope = |d: String| OAuthError::new(OAuthErrorCode::InvalidScope, d);
        let scopes = match req.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                let asked = s.parse::<ScopeSet>().map_err(|e| invalid_scope(e.to_string()))?;
                if let Some(user_scope) = asked.iter().find(|s| USER_SCOPES.contains(s)) {
                    return Err(invalid_scope(format!(
                        "{user_scope} concerns a signed-in user; client_credentials acts for the client alone"
                    )));
                }
                asked.ensure_within(&client.allowed_scopes).map_err(|e| invalid_scope(e.to_string()))?;
                asked
            }
            None => ScopeSet::from_stored(
                &client.allowed_scopes.iter().filter(|s| !USER_SCOPES.contains(s)).collect::<Vec<_>>().join(" "),
            ),
        };
        if scopes.is_empty() {
            return Err(invalid_scope("This client is allowed no data scope to ask for".to_owned()));
        }
        let now = self.now();
        let mut jti = [0u8; 16];
        self.ports.rng.fill(&mut jti);
        let claims = ClientClaims {
            iss: p.issuer.clone(),
            sub: client.id.to_string(),
            aud: client.id.to_string(),
            exp: secs(now + oidc_lifetimes::CLIENT_ACCESS_TOKEN),
            iat: secs(now),
            jti: hex::encode(jti),
            client_id: client.id.to_string(),
            scope: scopes.to_string(),
            grant_type: CLIENT_CREDENTIALS.to_owned(),
        };
        let access_token = self.sign(SigningAlg::EdDsa, ACCESS_TOKEN_TYP, &claims).await?;
        self.audit(AuditKind::TokenExchange, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.detail = Some(format!("oidc client_credentials ({scopes})"));
        })
        .await;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: oidc_lifetimes::CLIENT_ACCESS_TOKEN.whole_seconds(),
            refresh_token: None,
            id_token: None,
            scope: scopes.to_string(),
        })
    }

    /// The live browser session named by the cookie value `raw`, if any.
    async fn live_browser_session(&self, raw: Option<&str>) -> Result<Option<BrowserSessionRecord>, OAuthError> {
        let p = self.oidc()?;
        let Some(raw) = raw.filter(|r| OidcSecret::well_formed(OidcSecret::BROWSER_SESSION_PREFIX, r)) else {
            return Ok(None);
        };
        let found = p.store.find_browser_session(&TokenDigest::of(raw)).await.map_err(oauth_store_error)?;
        Ok(found.filter(|s| s.live_at(self.now(), oidc_lifetimes::BROWSER_SESSION_IDLE)))
    }

    /// Answers a `prompt=none` authorization from the browser session: a code when the session is
    /// live and a live grant of the client by its user covers `scopes`; otherwise the error to
    /// send back (`login_required`, `consent_required`). A grant of the client revoked during the
    /// session ends the session.
    #[allow(clippy::too_many_arguments)]
    async fn silent_authorization(
        &self,
        client: &ClientRecord,
        scopes: &ScopeSet,
        redirect_uri: &str,
        q: &AuthorizeParams,
        challenge: &str,
        browser_session: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<OidcSecret, (OAuthErrorCode, &'static str)> {
        let failed = |_| (OAuthErrorCode::ServerError, "The server failed; try again");
        let p = self.oidc().map_err(failed)?;
        let Some(session) = self.live_browser_session(browser_session).await.map_err(failed)? else {
            return Err((OAuthErrorCode::LoginRequired, "The user must sign in"));
        };
        let now = self.now();
        let grants =
            p.store.oidc_grants_of(&client.id, &session.user_id, &session.workspace_id).await.map_err(|e| {
                tracing::error!(error = %e, "reading grants for a silent authorization failed");
                (OAuthErrorCode::ServerError, "The server failed; try again")
            })?;
        if grants.iter().any(|g| g.revoked_at.is_some_and(|r| r >= session.created_at)) {
            if let Err(e) = p.store.end_browser_session(session.id, now).await {
                tracing::error!(error = %e, "could not end a browser session after a revocation");
            }
            return Err((OAuthErrorCode::LoginRequired, "The user must sign in"));
        }
        let covered =
            grants.iter().any(|g| g.status_at(now) == GrantStatus::Active && scopes.ensure_within(&g.scopes).is_ok());
        if !covered {
            return Err((OAuthErrorCode::ConsentRequired, "The user must approve this request"));
        }
        if !p.store.touch_browser_session(session.id, now).await.map_err(|e| {
            tracing::error!(error = %e, "touching a browser session failed");
            (OAuthErrorCode::ServerError, "The server failed; try again")
        })? {
            return Err((OAuthErrorCode::LoginRequired, "The user must sign in"));
        }
        let link = PlainToken::generate(TokenKind::Link, self.ports.rng.as_ref());
        let handle = OidcSecret::generate("", self.ports.rng.as_ref());
        let code = OidcSecret::generate(OidcSecret::CODE_PREFIX, self.ports.rng.as_ref());
        let link_session = NewLinkSession {
            digest: link.digest(),
            client_id: client.id.clone(),
            scopes: scopes.clone(),
            created_at: now,
            expires_at: now + oidc_lifetimes::AUTHORIZATION_REQUEST,
            resumed: None,
            integration_name: None,
            prefill_json: None,
        };
        let request = NewOidcRequest {
            handle: handle.expose().to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: q.state.clone(),
            nonce: q.nonce.clone(),
            code_challenge: challenge.to_owned(),
        };
        let silent = NewSilentCode {
            digest: code.digest(),
            user_id: session.user_id.clone(),
            workspace_id: session.workspace_id.clone(),
            auth_time: session.auth_time,
            expires_at: now + oidc_lifetimes::AUTHORIZATION_CODE,
        };
        p.store.insert_silent_oidc_code(&link_session, &request, &silent, now).await.map_err(|e| {
            tracing::error!(error = %e, "storing a silent authorization code failed");
            (OAuthErrorCode::ServerError, "The server failed; try again")
        })?;
        self.audit(AuditKind::WidgetComplete, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(session.user_id.to_string());
            e.detail = Some("oidc: authorization code issued silently (prompt=none, browser session)".to_owned());
        })
        .await;
        Ok(code)
    }

    /// Starts a browser session for the user of the code just issued (`None` if that fails:
    /// the authorization itself goes on).
    async fn start_browser_session(&self, code: &OidcSecret) -> Option<SessionCookie> {
        let p = self.oidc().ok()?;
        let issued = match p.store.find_oidc_code(&code.digest()).await {
            Ok(Some(c)) => c,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "reading the code just issued failed");
                return None;
            }
        };
        let now = self.now();
        let secret = OidcSecret::generate(OidcSecret::BROWSER_SESSION_PREFIX, self.ports.rng.as_ref());
        let record = NewBrowserSession {
            digest: secret.digest(),
            user_id: issued.user_id,
            workspace_id: issued.workspace_id,
            auth_time: issued.auth_time,
            created_at: now,
            expires_at: now + oidc_lifetimes::BROWSER_SESSION_ABSOLUTE,
        };
        if let Err(e) = p.store.insert_browser_session(&record).await {
            tracing::error!(error = %e, "storing a browser session failed");
            return None;
        }
        Some(SessionCookie {
            value: secret.expose().to_owned(),
            max_age_secs: oidc_lifetimes::BROWSER_SESSION_ABSOLUTE.whole_seconds(),
            secure: p.public_url.starts_with("https://"),
        })
    }

    /// The grant of `raw` (an access or refresh token) if it was issued to `client`, live or not.
    async fn token_grant_of(&self, raw: &str, client: &ClientId) -> Result<Option<GrantId>, OAuthError> {
        let p = self.oidc()?;
        if looks_like_jwt(raw) {
            return Ok(self
                .verify_access_token(raw)
                .await?
                .filter(|c| c.client_id == client.as_str())
                .and_then(|c| c.grant_id.parse::<GrantId>().ok()));
        }
        if !OidcSecret::well_formed(OidcSecret::REFRESH_PREFIX, raw) {
            return Ok(None);
        }
        Ok(p.store
            .find_refresh_token(&TokenDigest::of(raw))
            .await
            .map_err(oauth_store_error)?
            .filter(|t| &t.client_id == client)
            .map(|t| t.grant_id))
    }
}

#[async_trait]
impl OidcApi for Service {
    async fn oidc_discovery(&self) -> Result<serde_json::Value, OAuthError> {
        let p = self.oidc()?;
        let i = &p.issuer;
        Ok(serde_json::json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/auth"),
            "token_endpoint": format!("{i}/token"),
            "userinfo_endpoint": format!("{i}/userinfo"),
            "jwks_uri": format!("{i}/jwks"),
            "introspection_endpoint": format!("{i}/token/introspection"),
            "revocation_endpoint": format!("{i}/token/revocation"),
            "scopes_supported": kc_domain::DEFAULT_CLIENT_SCOPES.split(' ').collect::<Vec<_>>(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "scope", "name", "preferred_username", "email", "email_verified", "locale"],
            "ui_locales_supported": ["en", "fr"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        }))
    }

    async fn oidc_jwks(&self) -> Result<serde_json::Value, OAuthError> {
        let p = self.oidc()?;
        let keys = p.keyring.jwks(self.now(), self.ports.rng.as_ref()).await.map_err(key_failure)?;
        Ok(serde_json::json!({ "keys": keys }))
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_authorize(
        &self,
        q: AuthorizeParams,
        browser_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthorizeStep {
        let p = match self.oidc() {
            Ok(p) => p,
            Err(e) => return AuthorizeStep::Refuse(e),
        };
        let refuse = |d: &str| AuthorizeStep::Refuse(OAuthError::invalid_request(d));
        let Some(client_id) = q.client_id.as_deref().and_then(|c| c.parse::<ClientId>().ok()) else {
            return refuse("client_id is missing or unknown");
        };
        let client = match self.ports.store.find_client(&client_id).await {
            Ok(Some(c)) if !c.disabled => c,
            Ok(_) => return refuse("client_id is missing or unknown"),
            Err(e) => return AuthorizeStep::Refuse(oauth_store_error(e)),
        };
        let Some(redirect_uri) = q.redirect_uri.clone() else { return refuse("redirect_uri is required") };
        if !kc_domain::redirect_uri_registered(&redirect_uri, &client.redirect_uris) {
            self.audit(AuditKind::LinkTokenCreate, Outcome::Failure, meta, |e| {
                e.client_id = Some(client.id.to_string());
                e.detail = Some("oidc authorize: unregistered redirect_uri".to_owned());
            })
            .await;
            return refuse("redirect_uri is not registered for this client (it must match exactly)");
        }
        let state = q.state.clone();
        let back = |code: OAuthErrorCode, d: &str| {
            AuthorizeStep::Redirect(with_query(
                &redirect_uri,
                &[
                    ("error", Some(code.as_str())),
                    ("error_description", Some(d)),
                    ("state", state.as_deref()),
                    ("iss", Some(p.issuer.as_str())),
                ],
            ))
        };
        if q.response_type.as_deref() != Some("code") {
            return back(OAuthErrorCode::UnsupportedResponseType, "response_type must be code");
        }
        if q.state.as_ref().is_some_and(|s| s.len() > MAX_PARAM_LEN)
            || q.nonce.as_ref().is_some_and(|s| s.len() > MAX_PARAM_LEN)
        {
            return back(OAuthErrorCode::InvalidRequest, "state and nonce must be at most 512 characters");
        }
        let Some(challenge) = q.code_challenge.as_deref() else {
            return back(OAuthErrorCode::InvalidRequest, "code_challenge is required (PKCE with S256)");
        };
        if q.code_challenge_method.as_deref() != Some("S256") {
            return back(OAuthErrorCode::InvalidRequest, "code_challenge_method must be S256 (plain is not accepted)");
        }
        if !valid_code_challenge(challenge) {
            return back(OAuthErrorCode::InvalidRequest, "code_challenge must be BASE64URL(SHA256(code_verifier))");
        }
        let Some(scope) = q.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
            return back(OAuthErrorCode::InvalidRequest, "scope is required");
        };
        let scopes = match scope.parse::<ScopeSet>() {
            Ok(s) => s,
            Err(e) => return back(OAuthErrorCode::InvalidScope, &e.to_string()),
        };
        if let Err(e) = scopes.ensure_within(&client.allowed_scopes) {
            return back(OAuthErrorCode::InvalidScope, &e.to_string());
        }
        let prompts: Vec<&str> = q.prompt.as_deref().unwrap_or("").split(' ').filter(|v| !v.is_empty()).collect();
        if prompts.contains(&"none") {
            if prompts.len() > 1 {
                return back(OAuthErrorCode::InvalidRequest, "prompt=none cannot be combined with other values");
            }
            return match self
                .silent_authorization(&client, &scopes, &redirect_uri, &q, challenge, browser_session, meta)
                .await
            {
                Ok(code) => AuthorizeStep::Redirect(with_query(
                    &redirect_uri,
                    &[("code", Some(code.expose())), ("state", q.state.as_deref()), ("iss", Some(p.issuer.as_str()))],
                )),
                Err((code, description)) => back(code, description),
            };
        }
        let now = self.now();
        let link = PlainToken::generate(TokenKind::Link, self.ports.rng.as_ref());
        let handle = OidcSecret::generate("", self.ports.rng.as_ref());
        let session = NewLinkSession {
            digest: link.digest(),
            client_id: client.id.clone(),
            scopes,
            created_at: now,
            expires_at: now + oidc_lifetimes::AUTHORIZATION_REQUEST,
            resumed: None,
            integration_name: None,
            prefill_json: None,
        };
        let request = NewOidcRequest {
            handle: handle.expose().to_owned(),
            redirect_uri,
            state: q.state.clone(),
            nonce: q.nonce.clone(),
            code_challenge: challenge.to_owned(),
        };
        if let Err(e) = p.store.insert_oidc_request(&session, &request, now).await {
            return AuthorizeStep::Refuse(oauth_store_error(e));
        }
        self.audit(AuditKind::LinkTokenCreate, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.detail = Some("oidc authorize".to_owned());
        })
        .await;
        let lang = q
            .ui_locales
            .as_deref()
            .and_then(|l| l.split(' ').find(|l| l.starts_with("fr") || l.starts_with("en")))
            .map(|l| l[..2].to_owned());
        let mut fragment = url::form_urlencoded::Serializer::new(String::new());
        fragment.append_pair("link_token", link.expose());
        fragment.append_pair("mode", "page");
        fragment.append_pair("redirect_uri", &p.callback_url(handle.expose()));
        if let Some(lang) = &lang {
            fragment.append_pair("lang", lang);
        }
        AuthorizeStep::RedirectBindingRequest {
            to: format!("{}/connect#{}", p.public_url, fragment.finish()),
            handle: handle.expose().to_owned(),
            secure: p.public_url.starts_with("https://"),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_callback(
        &self,
        handle: &str,
        q: CallbackParams,
        request_binding: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthorizeStep {
        let p = match self.oidc() {
            Ok(p) => p,
            Err(e) => return AuthorizeStep::Refuse(e),
        };
        let request = match p.store.find_oidc_request(handle).await {
            Ok(Some(r)) => r,
            Ok(None) => return AuthorizeStep::Refuse(OAuthError::invalid_request("Unknown authorization request")),
            Err(e) => return AuthorizeStep::Refuse(oauth_store_error(e)),
        };
        if request.completed_at.is_some() {
            return AuthorizeStep::Refuse(OAuthError::invalid_request(
                "This authorization request was already answered",
            ));
        }
        let now = self.now();
        let back = |params: &[(&str, Option<&str>)]| {
            let mut all = params.to_vec();
            all.push(("state", request.state.as_deref()));
            all.push(("iss", Some(p.issuer.as_str())));
            AuthorizeStep::Redirect(with_query(&request.redirect_uri, &all))
        };
        if let Some(public) = q.public_token.as_deref() {
            let Ok(public) = PlainToken::parse(TokenKind::Public, public) else {
                return AuthorizeStep::Refuse(OAuthError::invalid_request("The widget's answer is malformed"));
            };
            let code = OidcSecret::generate(OidcSecret::CODE_PREFIX, self.ports.rng.as_ref());
            let issued = p
                .store
                .issue_oidc_code(
                    &request,
                    &public.digest(),
                    &code.digest(),
                    now,
                    now + oidc_lifetimes::AUTHORIZATION_CODE,
                )
                .await;
            return match issued {
                Ok(CodeIssue::Issued) => {
                    self.audit(AuditKind::WidgetComplete, Outcome::Success, meta, |e| {
                        e.client_id = Some(request.client_id.to_string());
                        e.detail = Some("oidc: authorization code issued".to_owned());
                    })
                    .await;
                    let step = back(&[("code", Some(code.expose()))]);
                    // Only the browser that started this authorization gets a session (login CSRF).
                    if request_binding != Some(handle) {
                        return step;
                    }
                    match (step, self.start_browser_session(&code).await) {
                        (AuthorizeStep::Redirect(to), Some(cookie)) => AuthorizeStep::RedirectWithSession(to, cookie),
                        (step, _) => step,
                    }
                }
                Ok(CodeIssue::Refused) => AuthorizeStep::Refuse(OAuthError::invalid_request(
                    "This authorization request has expired or was already answered",
                )),
                Err(e) => AuthorizeStep::Refuse(oauth_store_error(e)),
            };
        }
        match p.store.complete_oidc_request(request.id, now).await {
            Ok(true) => {}
            Ok(false) => {
                return AuthorizeStep::Refuse(OAuthError::invalid_request(
                    "This authorization request was already answered",
                ))
            }
            Err(e) => return AuthorizeStep::Refuse(oauth_store_error(e)),
        }
        let (code, description) = match q.error.as_deref() {
            Some("ACCESS_DENIED") => (OAuthErrorCode::AccessDenied, "The user denied the request"),
            Some("USER_CLOSED") => (OAuthErrorCode::AccessDenied, "The user closed the window"),
            _ if now >= request.expires_at => (OAuthErrorCode::AccessDenied, "The authorization request expired"),
            _ => (OAuthErrorCode::ServerError, "The sign-in could not be completed"),
        };
        self.audit(AuditKind::WidgetComplete, Outcome::Failure, meta, |e| {
            e.client_id = Some(request.client_id.to_string());
            e.detail = Some(format!("oidc: {}", code.as_str()));
        })
        .await;
        back(&[("error", Some(code.as_str())), ("error_description", Some(description))])
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_token(
        &self,
        client: Option<ClientCredentials>,
        req: TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        self.oidc()?;
        let client = self.oidc_client(client, meta).await?;
        match req.grant_type.as_deref() {
            None | Some("") => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => self.redeem_code(&client, req, meta).await,
            Some("refresh_token") => {
                if !client.allowed_scopes.contains_str("offline_access") {
                    return Err(OAuthError::new(
                        OAuthErrorCode::UnauthorizedClient,
                        "This client is not allowed offline_access, so it may not use refresh_token",
                    ));
                }
                self.refresh(&client, req, meta).await
            }
            Some("client_credentials") => self.client_credentials(&client, req, meta).await,
            Some(other) => Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!("grant_type {} is not supported", other.chars().take(40).collect::<String>()),
            )),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_userinfo(&self, token: &BearerToken, _meta: &RequestMeta) -> Result<serde_json::Value, OAuthError> {
        let Some((_, grant)) = self.access_token_grant(token.expose()).await? else {
            return Err(OAuthError::invalid_token());
        };
        if !grant.scopes.contains_str("openid") {
            return Err(OAuthError::new(OAuthErrorCode::InvalidToken, "The access token was not granted openid"));
        }
        let user = self
            .ports
            .store
            .find_user(&grant.user_id)
            .await
            .map_err(oauth_store_error)?
            .ok_or_else(OAuthError::invalid_token)?;
        let mut out = serde_json::Map::new();
        out.insert("sub".into(), user.id.to_string().into());
        if grant.scopes.contains_str("profile") {
            let display = user
                .name
                .clone()
                .or_else(|| user.email.as_deref().and_then(|e| e.split('@').next()).map(str::to_owned))
                .or_else(|| user.is_anonymous.then(|| "Guest".to_owned()));
            if let Some(d) = display {
                out.insert("name".into(), d.clone().into());
                out.insert("preferred_username".into(), d.into());
            }
            out.insert("locale".into(), user.language.clone().into());
        }
        if grant.scopes.contains_str("email") {
            if let Some(email) = &user.email {
                out.insert("email".into(), email.clone().into());
            }
            out.insert("email_verified".into(), user.email.is_some().into());
        }
        for resource in ACCESS_FLAGS {
            let granted = grant.scopes.iter().any(|s| s.split_once(':').is_some_and(|(r, _)| r == resource));
            out.insert(format!("{resource}_access"), granted.into());
        }
        Ok(serde_json::Value::Object(out))
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_introspect(
        &self,
        client: Option<ClientCredentials>,
        form: TokenForm,
        meta: &RequestMeta,
    ) -> Result<IntrospectionResponse, OAuthError> {
        let p = self.oidc()?;
        let client = self.oidc_client(client, meta).await?;
        let raw =
            form.token.filter(|t| !t.is_empty()).ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let inactive = IntrospectionResponse::default();
        if looks_like_jwt(&raw) {
            if let Some(c) = self.verify_client_token(&raw).await? {
                return Ok(if c.client_id == client.id.as_str() {
                    IntrospectionResponse {
                        active: true,
                        scope: Some(c.scope),
                        client_id: Some(c.client_id),
                        sub: Some(c.sub),
                        token_type: Some("Bearer".into()),
                        exp: Some(c.exp),
                        iat: Some(c.iat),
                        iss: Some(c.iss),
                        aud: Some(c.aud),
                        grant_id: None,
                        workspace_id: None,
                    }
                } else {
                    inactive
                });
            }
            return Ok(match self.access_token_grant(&raw).await? {
                Some((c, g)) if g.client_id == client.id => IntrospectionResponse {
                    active: true,
                    scope: Some(c.scope),
                    client_id: Some(c.client_id),
                    sub: Some(c.sub),
                    token_type: Some("Bearer".into()),
                    exp: Some(c.exp),
                    iat: Some(c.iat),
                    iss: Some(c.iss),
                    aud: Some(c.aud),
                    grant_id: Some(c.grant_id),
                    workspace_id: Some(c.workspace_id),
                },
                _ => inactive,
            });
        }
        if !OidcSecret::well_formed(OidcSecret::REFRESH_PREFIX, &raw) {
            return Ok(inactive);
        }
        let Some(t) = p.store.find_refresh_token(&TokenDigest::of(&raw)).await.map_err(oauth_store_error)? else {
            return Ok(inactive);
        };
        let now = self.now();
        if t.usable_by(&client.id, now).is_err() {
            return Ok(inactive);
        }
        let grant = self.ports.store.find_grant(&t.grant_id).await.map_err(oauth_store_error)?;
        Ok(match grant.filter(|g| g.status_at(now) == GrantStatus::Active) {
            Some(g) => IntrospectionResponse {
                active: true,
                scope: Some(g.scopes.to_string()),
                client_id: Some(g.client_id.to_string()),
                sub: Some(g.user_id.to_string()),
                token_type: Some("refresh_token".into()),
                exp: Some(secs(t.expires_at)),
                iat: None,
                iss: Some(p.issuer.clone()),
                aud: Some(g.client_id.to_string()),
                grant_id: Some(g.id.to_string()),
                workspace_id: Some(g.workspace_id.to_string()),
            },
            None => inactive,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_logout(
        &self,
        browser_session: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<SessionCookie, OAuthError> {
        let p = self.oidc()?;
        if let Some(raw) = browser_session.filter(|r| OidcSecret::well_formed(OidcSecret::BROWSER_SESSION_PREFIX, r)) {
            if let Some(s) = p.store.find_browser_session(&TokenDigest::of(raw)).await.map_err(oauth_store_error)? {
                if p.store.end_browser_session(s.id, self.now()).await.map_err(oauth_store_error)? {
                    self.audit(AuditKind::GrantRevoke, Outcome::Success, meta, |e| {
                        e.user_id = Some(s.user_id.to_string());
                        e.detail = Some("oidc: browser session ended (sign-out)".to_owned());
                    })
                    .await;
                }
            }
        }
        Ok(SessionCookie { value: String::new(), max_age_secs: 0, secure: p.public_url.starts_with("https://") })
    }

    #[tracing::instrument(skip_all)]
    async fn oidc_revoke(
        &self,
        client: Option<ClientCredentials>,
        form: TokenForm,
        meta: &RequestMeta,
    ) -> Result<(), OAuthError> {
        self.oidc()?;
        let client = self.oidc_client(client, meta).await?;
        let raw =
            form.token.filter(|t| !t.is_empty()).ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if looks_like_jwt(&raw)
            && self.verify_client_token(&raw).await?.is_some_and(|c| c.client_id == client.id.as_str())
        {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedTokenType,
                "A client_credentials access token belongs to no grant and cannot be revoked; it expires within an hour, \
                 and disabling the client ends it at once",
            ));
        }
        // RFC 7009 §2.2: an unknown or foreign token is answered 200 all the same.
        let Some(grant) = self.token_grant_of(&raw, &client.id).await? else { return Ok(()) };
        let outcome = self.ports.store.revoke_grant(&grant, &client.id, self.now()).await.map_err(oauth_store_error)?;
        self.audit(AuditKind::GrantRevoke, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = Some(grant.to_string());
            e.detail = Some(format!(
                "oidc revocation ({})",
                if matches!(outcome, kc_ports::RevokeOutcome::Revoked(_)) { "revoked" } else { "already revoked" }
            ));
        })
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_append_to_the_registered_uri_unchanged() {
        assert_eq!(
            with_query("https://app.example/cb", &[("code", Some("a b")), ("state", None)]),
            "https://app.example/cb?code=a+b"
        );
        assert_eq!(
            with_query("https://app.example/cb?x=1", &[("code", Some("c"))]),
            "https://app.example/cb?x=1&code=c"
        );
    }

    #[test]
    fn only_three_part_tokens_are_taken_for_jwts() {
        assert!(looks_like_jwt("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("cat_abc"));
        assert!(!looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0"));
    }
}
