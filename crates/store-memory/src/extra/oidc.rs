//! [`OidcStore`] in memory: signing keys, authorization requests, codes and refresh tokens.
//! The atomic transitions (code issue, redemption, rotation) check every condition and unique
//! key in one locked step before they write, as SeaStore's conditional `UPDATE`s do.

use crate::core::conflict;
use crate::state::State;
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{
    AuthorizationCode, ClientId, GrantId, GrantRecord, RefreshTokenRecord, TokenDigest, UserId, WebhookEvent,
    WorkspaceId,
};
use kc_ports::store::{
    BrowserSessionRecord, CodeIssue, GrantLimits, NewBrowserSession, NewLinkSession, NewOAuthGrant, NewOidcRequest,
    NewRefreshToken, NewSilentCode, OidcRequestRecord, OidcStore, SigningKeyRecord, StoreResult,
};
use time::OffsetDateTime;

/// An authorization code (`oidc_codes`), by its storage key.
#[derive(Debug, Clone)]
pub(crate) struct CodeRow {
    /// Digest of the code (unique).
    pub(crate) digest: String,
    /// The request it answers (unique).
    pub(crate) request_id: i64,
    /// The code.
    pub(crate) code: AuthorizationCode,
}

/// A refresh token (`oidc_refresh_tokens`), by its storage key.
#[derive(Debug, Clone)]
pub(crate) struct RefreshRow {
    /// Digest of the token (unique).
    pub(crate) digest: String,
    /// The token.
    pub(crate) record: RefreshTokenRecord,
}

impl State {
    /// Stores refresh token `r` of `grant` (issued to `client`); `Conflict` (nothing written) if its digest exists.
    fn insert_refresh(&mut self, grant: &GrantId, client: &ClientId, r: &NewRefreshToken) -> StoreResult<()> {
        self.check_refresh_digest(r)?;
        let id = self.next_id();
        let record = RefreshTokenRecord {
            id,
            grant_id: grant.clone(),
            client_id: client.clone(),
            auth_time: r.auth_time,
            expires_at: r.expires_at,
            used_at: None,
        };
        self.refresh_tokens.insert(id, RefreshRow { digest: r.digest.as_str().to_owned(), record });
        Ok(())
    }

    /// Checks that request handle `handle` and code digest `code` (when given) are free.
    fn check_request_and_code(&self, handle: &str, code: Option<&TokenDigest>) -> StoreResult<()> {
        if self.oidc_requests.values().any(|r| r.handle == handle) {
            return Err(conflict("oidc request", "handle"));
        }
        if let Some(code) = code {
            if self.oidc_codes.values().any(|c| c.digest == code.as_str()) {
                return Err(conflict("oidc code", "digest"));
            }
        }
        Ok(())
    }

    /// Stores request `r` on link session `link` (already stored); returns the request.
    fn insert_request(
        &mut self,
        link: i64,
        session: &NewLinkSession,
        r: &NewOidcRequest,
        completed_at: Option<OffsetDateTime>,
    ) -> OidcRequestRecord {
        let id = self.next_id();
        let record = OidcRequestRecord {
            id,
            handle: r.handle.clone(),
            link_session_id: link,
            client_id: session.client_id.clone(),
            redirect_uri: r.redirect_uri.clone(),
            state: r.state.clone(),
            nonce: r.nonce.clone(),
            code_challenge: r.code_challenge.clone(),
            scopes: session.scopes.clone(),
            expires_at: session.expires_at,
            completed_at,
        };
        self.oidc_requests.insert(id, record.clone());
        record
    }

    fn check_refresh_digest(&self, r: &NewRefreshToken) -> StoreResult<()> {
        if self.refresh_tokens.values().any(|t| t.digest == r.digest.as_str()) {
            return Err(conflict("refresh token", "digest"));
        }
        Ok(())
    }
}

#[async_trait]
impl OidcStore for MemoryStore {
    async fn oidc_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.with(|s| Ok(s.oidc_keys.values().cloned().collect()))
    }

    async fn insert_oidc_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        self.with(|s| {
            // Unique kid, unique (alg, generation): another node rotated first.
            if s.oidc_keys.values().any(|k| k.kid == key.kid || (k.alg == key.alg && k.generation == key.generation)) {
                return Ok(false);
            }
            let id = s.next_id();
            s.oidc_keys.insert(id, key.clone());
            Ok(true)
        })
    }

    async fn insert_oidc_request(
        &self,
        session: &NewLinkSession,
        request: &NewOidcRequest,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.with(|s| {
            s.check_request_and_code(&request.handle, None)?;
            let link = s.insert_link_session(session)?;
            s.insert_request(link, session, request, None);
            Ok(())
        })
    }

    async fn find_oidc_request(&self, handle: &str) -> StoreResult<Option<OidcRequestRecord>> {
        self.with(|s| Ok(s.oidc_requests.values().find(|r| r.handle == handle).cloned()))
    }

    async fn find_oidc_request_by_session(&self, link_session_id: i64) -> StoreResult<Option<OidcRequestRecord>> {
        self.with(|s| Ok(s.oidc_requests.values().find(|r| r.link_session_id == link_session_id).cloned()))
    }

    async fn complete_oidc_request(&self, request_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| match s.oidc_requests.get_mut(&request_id) {
            Some(r) if r.completed_at.is_none() => {
                r.completed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn issue_oidc_code(
        &self,
        request: &OidcRequestRecord,
        public_digest: &TokenDigest,
        code_digest: &TokenDigest,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<CodeIssue> {
        self.with(|s| {
            let open = s.oidc_requests.get(&request.id).is_some_and(|r| r.completed_at.is_none() && r.expires_at > now);
            let public = s
                .public_tokens
                .iter()
                .find(|(_, p)| {
                    p.digest == public_digest.as_str()
                        && p.link_session_id == request.link_session_id
                        && p.record.client_id == request.client_id
                        && p.record.used_at.is_none()
                        && p.record.expires_at > now
                })
                .map(|(id, p)| (*id, p.clone()));
            let (Some((public_id, public)), true) = (public, open) else {
                return Ok(CodeIssue::Refused);
            };
            if s.oidc_codes.values().any(|c| c.digest == code_digest.as_str() || c.request_id == request.id) {
                return Err(conflict("oidc code", "digest"));
            }
            let completed = s.link_sessions.get(&request.link_session_id).and_then(|l| l.session.completed_at);
            if let Some(r) = s.oidc_requests.get_mut(&request.id) {
                r.completed_at = Some(now);
            }
            if let Some(p) = s.public_tokens.get_mut(&public_id) {
                p.record.used_at = Some(now);
            }
            let id = s.next_id();
            let code = AuthorizationCode {
                id,
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                scopes: public.record.scopes.clone(),
                user_id: public.record.user_id.clone(),
                workspace_id: public.record.workspace_id.clone(),
                // The user signed in during this widget run; it completed when the public token
                // was made (a public token exists only on a completed session, so the fallback —
                // SeaStore's is the token's creation time — is never taken).
                auth_time: completed.unwrap_or(now),
                expires_at,
                used_at: None,
                grant_id: None,
            };
            s.oidc_codes.insert(id, CodeRow { digest: code_digest.as_str().to_owned(), request_id: request.id, code });
            Ok(CodeIssue::Issued)
        })
    }

    async fn find_oidc_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>> {
        self.with(|s| Ok(s.oidc_codes.values().find(|c| c.digest == digest.as_str()).map(|c| c.code.clone())))
    }

    async fn redeem_oidc_code(
        &self,
        code_id: i64,
        now: OffsetDateTime,
        issue: &NewOAuthGrant,
    ) -> StoreResult<Option<GrantRecord>> {
        self.with(|s| {
            let Some(code) = s.oidc_codes.get(&code_id).map(|c| c.code.clone()) else { return Ok(None) };
            if code.used_at.is_some() || code.expires_at <= now {
                return Ok(None);
            }
            if let Some(r) = &issue.refresh {
                s.check_refresh_digest(r)?;
            }
            let grant = GrantRecord {
                id: issue.grant_id.clone(),
                client_id: code.client_id.clone(),
                user_id: code.user_id.clone(),
                workspace_id: code.workspace_id.clone(),
                scopes: code.scopes.clone(),
                created_at: issue.created_at,
                expires_at: issue.expires_at,
                revoked_at: None,
            };
            // Checks the grant id before it writes: a Conflict leaves everything as it was.
            s.insert_grant(&grant, GrantLimits { transaction_limit: None, enable_limiter: false })?;
            if let Some(r) = &issue.refresh {
                s.insert_refresh(&grant.id, &grant.client_id, r)?;
            }
            if let Some(c) = s.oidc_codes.get_mut(&code_id) {
                c.code.used_at = Some(now);
                c.code.grant_id = Some(grant.id.clone());
            }
            s.enqueue_grant_event(WebhookEvent::GrantCreated, &grant, now);
            Ok(Some(grant))
        })
    }

    async fn find_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshTokenRecord>> {
        self.with(|s| Ok(s.refresh_tokens.values().find(|t| t.digest == digest.as_str()).map(|t| t.record.clone())))
    }

    async fn rotate_refresh_token(&self, id: i64, next: &NewRefreshToken, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some(old) = s.refresh_tokens.get(&id).map(|t| t.record.clone()) else { return Ok(false) };
            if old.used_at.is_some() || old.expires_at <= now {
                return Ok(false);
            }
            s.check_refresh_digest(next)?;
            if let Some(t) = s.refresh_tokens.get_mut(&id) {
                t.record.used_at = Some(now);
            }
            s.insert_refresh(&old.grant_id, &old.client_id, next)?;
            Ok(true)
        })
    }

    async fn oidc_grants_of(
        &self,
        client: &ClientId,
        user: &UserId,
        workspace: &WorkspaceId,
    ) -> StoreResult<Vec<GrantRecord>> {
        self.with(|s| {
            let mut v: Vec<(i64, GrantRecord)> = s
                .grants
                .values()
                .filter(|g| {
                    g.record.client_id == *client && g.record.user_id == *user && g.record.workspace_id == *workspace
                })
                .map(|g| (g.seq, g.record.clone()))
                .collect();
            v.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
            Ok(v.into_iter().map(|(_, g)| g).collect())
        })
    }

    async fn insert_silent_oidc_code(
        &self,
        session: &NewLinkSession,
        request: &NewOidcRequest,
        code: &NewSilentCode,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.with(|s| {
            s.check_request_and_code(&request.handle, Some(&code.digest))?;
            let link = s.insert_link_session(session)?;
            if let Some(l) = s.link_sessions.get_mut(&link) {
                // Answered at once: the widget never runs on it.
                l.session.completed_at = Some(now);
                l.session.user_id = Some(code.user_id.clone());
                l.session.workspace_id = Some(code.workspace_id.clone());
            }
            let r = s.insert_request(link, session, request, Some(now));
            let id = s.next_id();
            let c = AuthorizationCode {
                id,
                client_id: session.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.nonce.clone(),
                scopes: session.scopes.clone(),
                user_id: code.user_id.clone(),
                workspace_id: code.workspace_id.clone(),
                auth_time: code.auth_time,
                expires_at: code.expires_at,
                used_at: None,
                grant_id: None,
            };
            s.oidc_codes.insert(id, CodeRow { digest: code.digest.as_str().to_owned(), request_id: r.id, code: c });
            Ok(())
        })
    }

    async fn insert_browser_session(&self, session: &NewBrowserSession) -> StoreResult<()> {
        self.with(|s| {
            if s.browser_sessions.values().any(|(d, _)| d == session.digest.as_str()) {
                return Err(conflict("browser session", "digest"));
            }
            let id = s.next_id();
            let record = BrowserSessionRecord {
                id,
                user_id: session.user_id.clone(),
                workspace_id: session.workspace_id.clone(),
                auth_time: session.auth_time,
                created_at: session.created_at,
                last_used_at: session.created_at,
                expires_at: session.expires_at,
                ended_at: None,
            };
            s.browser_sessions.insert(id, (session.digest.as_str().to_owned(), record));
            Ok(())
        })
    }

    async fn find_browser_session(&self, digest: &TokenDigest) -> StoreResult<Option<BrowserSessionRecord>> {
        self.with(|s| Ok(s.browser_sessions.values().find(|(d, _)| d == digest.as_str()).map(|(_, b)| b.clone())))
    }

    async fn touch_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| match s.browser_sessions.get_mut(&id) {
            Some((_, b)) if b.ended_at.is_none() => {
                b.last_used_at = now;
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn end_browser_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| match s.browser_sessions.get_mut(&id) {
            Some((_, b)) if b.ended_at.is_none() => {
                b.ended_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        })
    }
}
