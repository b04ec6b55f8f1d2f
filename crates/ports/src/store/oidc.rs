//! The OpenID Connect capability of the store: signing keys, authorization requests, codes
//! and refresh tokens. Grants themselves are the ordinary grants of [`crate::Store`].

use crate::{NewLinkSession, StoreResult};
use async_trait::async_trait;
use kc_domain::{
    AuthorizationCode, ClientId, GrantId, GrantRecord, RefreshTokenRecord, ScopeSet, Sealed, SigningAlg, TokenDigest,
    UserId, WorkspaceId,
};
use time::OffsetDateTime;

/// A signing key as stored: its private part sealed with the credentials cipher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm.
    pub alg: SigningAlg,
    /// 1 for the first key of the algorithm, one more per rotation (unique per algorithm).
    pub generation: i32,
    /// The private key (PKCS#1 DER for RSA, PKCS#8 DER for Ed25519), sealed with `kid` as context.
    pub private_key: Sealed,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A pending authorization request: the `/oidc/auth` parameters behind a widget run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcRequestRecord {
    /// Storage key.
    pub id: i64,
    /// The opaque handle in the callback URL.
    pub handle: String,
    /// The link session the widget runs on.
    pub link_session_id: i64,
    /// The client.
    pub client_id: ClientId,
    /// The (registered) redirect URI.
    pub redirect_uri: String,
    /// The client's `state`, returned as given.
    pub state: Option<String>,
    /// The client's `nonce`, put into the ID token.
    pub nonce: Option<String>,
    /// The S256 code challenge.
    pub code_challenge: String,
    /// The requested scopes.
    pub scopes: ScopeSet,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was answered (code or error).
    pub completed_at: Option<OffsetDateTime>,
}

/// A new authorization request (stored with its link session in one transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOidcRequest {
    /// The opaque handle in the callback URL.
    pub handle: String,
    /// The redirect URI.
    pub redirect_uri: String,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// The S256 code challenge.
    pub code_challenge: String,
}

/// What became of turning a finished widget run into an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeIssue {
    /// The public token was consumed, the request completed and the code stored.
    Issued,
    /// The request was already answered, has expired, or the public token is not this request's
    /// (or was used or has expired): nothing changed.
    Refused,
}

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// Its digest.
    pub digest: TokenDigest,
    /// When the user signed in.
    pub auth_time: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The grant a code redemption creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOAuthGrant {
    /// The grant's id.
    pub grant_id: GrantId,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// The grant's expiry.
    pub expires_at: OffsetDateTime,
    /// The first refresh token, when `offline_access` was granted.
    pub refresh: Option<NewRefreshToken>,
}

/// The provider's browser session: who signed in through `/oidc/auth` in one browser, behind an
/// opaque cookie stored only as its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSessionRecord {
    /// Storage key.
    pub id: i64,
    /// The user who signed in.
    pub user_id: UserId,
    /// The workspace they shared.
    pub workspace_id: WorkspaceId,
    /// When they signed in (`auth_time` of tokens issued silently).
    pub auth_time: OffsetDateTime,
    /// When the session was created.
    pub created_at: OffsetDateTime,
    /// The last authorization it served.
    pub last_used_at: OffsetDateTime,
    /// Its absolute end.
    pub expires_at: OffsetDateTime,
    /// When it was ended (sign-out, revocation), if it was.
    pub ended_at: Option<OffsetDateTime>,
}

impl BrowserSessionRecord {
    /// Whether it may still serve an authorization at `now`: not ended, before its absolute end,
    /// and used within `idle`.
    pub fn live_at(&self, now: OffsetDateTime, idle: time::Duration) -> bool {
        self.ended_at.is_none() && now < self.expires_at && now < self.last_used_at + idle
    }
}

/// A browser session to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBrowserSession {
    /// The digest of the cookie's value.
    pub digest: TokenDigest,
    /// The user.
    pub user_id: UserId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// When they signed in.
    pub auth_time: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
}

/// An authorization code issued without the widget (`prompt=none` over a live browser session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilentCode {
    /// The code's digest.
    pub digest: TokenDigest,
    /// The user.
    pub user_id: UserId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The session's sign-in time.
    pub auth_time: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The OpenID Connect provider's persistence. Implemented by `kc_store::SeaStore`.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Every signing key, oldest first.
    async fn oidc_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Stores a signing key; `false` (nothing stored) if its algorithm already has a key of
    /// that generation (another node rotated first).
    async fn insert_oidc_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<bool>;

    /// Stores the link session a `/oidc/auth` request runs the widget on, with the request, in one transaction.
    async fn insert_oidc_request(
        &self,
        session: &NewLinkSession,
        request: &NewOidcRequest,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Finds a request by its callback handle.
    async fn find_oidc_request(&self, handle: &str) -> StoreResult<Option<OidcRequestRecord>>;
    /// Finds the request a link session belongs to, if it is one.
    async fn find_oidc_request_by_session(&self, link_session_id: i64) -> StoreResult<Option<OidcRequestRecord>>;
    /// Marks a request answered (with an error); `false` if it already was.
    async fn complete_oidc_request(&self, request_id: i64, now: OffsetDateTime) -> StoreResult<bool>;
    /// Consumes public token `public_digest` of the request's link session, completes the
    /// request and stores the code (user, workspace and scopes from the public token), in one transaction.
    async fn issue_oidc_code(
        &self,
        request: &OidcRequestRecord,
        public_digest: &TokenDigest,
        code_digest: &TokenDigest,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<CodeIssue>;

    /// Finds a code by digest.
    async fn find_oidc_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>>;
    /// Redeems code `code_id` (still unused and unexpired at `now`): creates the grant (with
    /// `grant.created` in the outbox) and its first refresh token, atomically. `None` if the
    /// code was redeemed (or lapsed) meanwhile: exactly one of any number of racers gets the grant.
    async fn redeem_oidc_code(
        &self,
        code_id: i64,
        now: OffsetDateTime,
        grant: &NewOAuthGrant,
    ) -> StoreResult<Option<GrantRecord>>;

    /// Finds a refresh token by digest.
    async fn find_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Rotates refresh token `id` (still unused and unexpired at `now`) into `next`, atomically;
    /// `false` if it was used meanwhile (a replay).
    async fn rotate_refresh_token(&self, id: i64, next: &NewRefreshToken, now: OffsetDateTime) -> StoreResult<bool>;

    /// Every grant (live or not) of `client` by `user` over `workspace`, newest first.
    async fn oidc_grants_of(
        &self,
        client: &ClientId,
        user: &UserId,
        workspace: &WorkspaceId,
    ) -> StoreResult<Vec<GrantRecord>>;
    /// Stores the request, its (already completed) link session and a code for the session's
    /// user, in one transaction: an authorization answered without the widget.
    async fn insert_silent_oidc_code(
        &self,
        session: &NewLinkSession,
        request: &NewOidcRequest,
        code: &NewSilentCode,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Stores a browser session.
    async fn insert_browser_session(&self, session: &NewBrowserSession) -> StoreResult<()>;
    /// Finds a browser session by its cookie's digest.
    async fn find_browser_session(&self, digest: &TokenDigest) -> StoreResult<Option<BrowserSessionRecord>>;
    /// Records that the session served an authorization at `now`; `false` if it has ended.
    async fn touch_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool>;
    /// Ends the session; `false` if it already was.
    async fn end_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn a_browser_session_ends_idle_absolute_or_ended() {
        let t = datetime!(2026-01-01 0:00 UTC);
        let s = BrowserSessionRecord {
            id: 1,
            user_id: UserId::from_stored("usr_a".to_owned()),
            workspace_id: WorkspaceId::from_stored("ws_a".to_owned()),
            auth_time: t,
            created_at: t,
            last_used_at: t + Duration::hours(11),
            expires_at: t + Duration::hours(12),
            ended_at: None,
        };
        let idle = Duration::hours(1);
        assert!(s.live_at(t + Duration::hours(11) + Duration::minutes(59), idle));
        assert!(!s.live_at(t + Duration::hours(12), idle), "absolute end");
        let quiet = BrowserSessionRecord { last_used_at: t, ..s.clone() };
        assert!(!quiet.live_at(t + idle, idle), "idle end");
        let ended = BrowserSessionRecord { ended_at: Some(t + Duration::hours(1)), ..s };
        assert!(!ended.live_at(t + Duration::hours(11), idle), "signed out");
    }
}
