//! [`ConnectApi`] on the store: link tokens, sessions, exchange, revocation, grant listing.

use crate::audit::{AuditKind, Outcome};
use crate::cursor;
use crate::service::{refusal_error, rfc3339, store_error, Service};
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{
    lifetimes, GrantId, GrantRecord, GrantStatus, PlainToken, ScopeError, ScopeSet, SessionReason, TokenKind,
    TokenRefusal,
};
use kc_ports::{ExchangeOutcome, IssueGrant, NewLinkSession, RevokeOutcome};

/// Largest page of `GET /token/grants`.
const MAX_GRANTS_PAGE: u32 = 100;
/// Default page of `GET /token/grants`.
const DEFAULT_GRANTS_PAGE: u32 = 50;
/// Longest accepted `integration_name`.
const MAX_INTEGRATION_NAME: usize = 64;
/// Largest accepted `prefill` object, serialized.
const MAX_PREFILL_BYTES: usize = 4096;

fn scope_error(e: ScopeError) -> ApiError {
    ApiError::new(ErrorCode::InvalidScope, e.to_string())
}

/// Where an access token stands for a client at `now`.
pub(crate) enum TokenLookup {
    Live(GrantRecord),
    Dead(SessionReason),
}

impl Service {
    pub(crate) async fn lookup_access_token(
        &self,
        raw: &str,
        client: &kc_domain::ClientId,
    ) -> Result<TokenLookup, ApiError> {
        // An OAuth 2.0 access token (a JWT) stands for its grant like a `cat_…` token.
        if crate::oidc::looks_like_jwt(raw) {
            return self.lookup_oidc_access_token(raw, client).await;
        }
        let Ok(token) = PlainToken::parse(TokenKind::Access, raw) else {
            return Ok(TokenLookup::Dead(SessionReason::InvalidToken));
        };
        let Some(found) = self.ports.store.find_access_token(&token.digest()).await.map_err(store_error)? else {
            return Ok(TokenLookup::Dead(SessionReason::InvalidToken));
        };
        if &found.grant.client_id != client {
            return Ok(TokenLookup::Dead(SessionReason::InvalidToken));
        }
        let now = self.now();
        Ok(match found.grant.status_at(now) {
            GrantStatus::Revoked => TokenLookup::Dead(SessionReason::TokenRevoked),
            GrantStatus::Expired => TokenLookup::Dead(SessionReason::TokenExpired),
            GrantStatus::Active if now >= found.token_expires_at => TokenLookup::Dead(SessionReason::TokenExpired),
            GrantStatus::Active => TokenLookup::Live(found.grant),
        })
    }
}

impl Service {
    /// Where an access token read with its client ([`Service::authenticate_with_token`])
    /// stands at `now`: live, or why not.
    pub(crate) fn live_token(
        &self,
        found: Option<kc_ports::TokenAccess>,
        client: &kc_domain::ClientId,
    ) -> Result<kc_ports::TokenAccess, SessionReason> {
        let Some(found) = found.filter(|f| &f.grant.client_id == client) else {
            return Err(SessionReason::InvalidToken);
        };
        let now = self.now();
        match found.grant.status_at(now) {
            GrantStatus::Revoked => Err(SessionReason::TokenRevoked),
            GrantStatus::Expired => Err(SessionReason::TokenExpired),
            GrantStatus::Active if now >= found.token_expires_at => Err(SessionReason::TokenExpired),
            GrantStatus::Active => Ok(found),
        }
    }
}

#[async_trait]
impl ConnectApi for Service {
    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn create_link_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CreateLinkTokenRequest,
    ) -> ApiResult<CreateLinkTokenResponse> {
        let client = self.authenticate(client, meta).await?;
        let scopes = match req.scopes.as_deref() {
            None => client.allowed_scopes.clone(),
            Some(s) => s.parse::<ScopeSet>().map_err(scope_error)?,
        };
        scopes.ensure_within(&client.allowed_scopes).map_err(scope_error)?;
        if req.integration_name.as_ref().is_some_and(|n| n.is_empty() || n.len() > MAX_INTEGRATION_NAME) {
            return Err(ApiError::invalid_request(format!(
                "integration_name must be 1 to {MAX_INTEGRATION_NAME} characters"
            )));
        }
        let prefill_json = match &req.prefill {
            Some(map) => {
                let text = serde_json::Value::Object(map.clone()).to_string();
                if text.len() > MAX_PREFILL_BYTES {
                    return Err(ApiError::invalid_request(format!(
                        "prefill must be at most {MAX_PREFILL_BYTES} bytes"
                    )));
                }
                Some(text)
            }
            None => None,
        };
        let resumed = match req.access_token.as_deref() {
            None => None,
            Some(raw) => match self.lookup_access_token(raw, &client.id).await? {
                TokenLookup::Live(grant) => Some(grant),
                TokenLookup::Dead(reason) => {
                    self.audit(AuditKind::LinkTokenCreate, Outcome::Failure, meta, |e| {
                        e.client_id = Some(client.id.to_string());
                        e.detail = Some(format!("INVALID_TOKEN ({})", reason.as_str()));
                    })
                    .await;
                    return Err(ApiError::new(
                        ErrorCode::InvalidToken,
                        format!("access_token cannot resume a session ({})", reason.as_str()),
                    ));
                }
            },
        };
        let now = self.now();
        let token = PlainToken::generate(TokenKind::Link, self.ports.rng.as_ref());
        let expires_at = now + lifetimes::LINK_TOKEN;
        let audit = self.audit_event(AuditKind::LinkTokenCreate, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = resumed.as_ref().map(|g| g.id.to_string());
            e.user_id = resumed.as_ref().map(|g| g.user_id.to_string());
        });
        let session = NewLinkSession {
            digest: token.digest(),
            client_id: client.id.clone(),
            scopes,
            created_at: now,
            expires_at,
            resumed: resumed.clone(),
            integration_name: req.integration_name,
            prefill_json,
        };
        // The session and its audit event in one write.
        self.ports.hot.create_link_session(&session, &audit).await.map_err(store_error)?;
        crate::service::report_audit(AuditKind::LinkTokenCreate, Outcome::Success, &audit);
        Ok(CreateLinkTokenResponse {
            link_token: token.expose().to_owned(),
            expires_at: rfc3339(expires_at),
            user_id: resumed.as_ref().map(|g| g.user_id.to_string()),
            workspace_id: resumed.as_ref().map(|g| g.workspace_id.to_string()),
            has_existing_grant: resumed.as_ref().map(|_| true),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn check_session(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: CheckSessionRequest,
    ) -> ApiResult<CheckSessionResponse> {
        let (_, state) =
            self.authenticate_with_token(client, meta, &req.access_token, kc_ports::AccessDetail::Workspace).await?;
        let access = match state {
            Ok(access) => access,
            Err(reason) => {
                return Ok(CheckSessionResponse {
                    has_valid_session: false,
                    reason: Some(reason.as_str().to_owned()),
                    user_id: None,
                    workspace_id: None,
                    workspace_name: None,
                    granted_scopes: None,
                    grant_id: None,
                })
            }
        };
        let (grant, workspace_name) = (access.grant, access.workspace_name.unwrap_or_default());
        Ok(CheckSessionResponse {
            has_valid_session: true,
            reason: None,
            user_id: Some(grant.user_id.to_string()),
            workspace_id: Some(grant.workspace_id.to_string()),
            workspace_name: Some(workspace_name),
            granted_scopes: Some(grant.scopes.to_string()),
            grant_id: Some(grant.id.to_string()),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn exchange_public_token(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        req: ExchangeRequest,
    ) -> ApiResult<ExchangeResponse> {
        let client = self.authenticate(client, meta).await?;
        let Ok(public) = PlainToken::parse(TokenKind::Public, &req.public_token) else {
            self.audit(AuditKind::TokenExchange, Outcome::Failure, meta, |e| {
                e.client_id = Some(client.id.to_string());
                e.detail = Some("INVALID_TOKEN (malformed)".to_owned());
            })
            .await;
            return Err(refusal_error(TokenRefusal::Invalid, "public token"));
        };
        let now = self.now();
        let access = PlainToken::generate(TokenKind::Access, self.ports.rng.as_ref());
        let issue = IssueGrant {
            grant_id: GrantId::generate(self.ports.rng.as_ref()),
            access_digest: access.digest(),
            created_at: now,
            expires_at: now + lifetimes::ACCESS_TOKEN,
        };
        // The success audit event is written in the exchange's own transaction.
        let mut audit = self.audit_event(AuditKind::TokenExchange, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = Some(issue.grant_id.to_string());
        });
        let outcome = self
            .ports
            .hot
            .exchange_and_audit(&public.digest(), &client.id, now, &issue, &audit)
            .await
            .map_err(store_error)?;
        match outcome {
            ExchangeOutcome::Issued(grant) => {
                audit.user_id = Some(grant.user_id.to_string());
                crate::service::report_audit(AuditKind::TokenExchange, Outcome::Success, &audit);
                Ok(ExchangeResponse {
                    access_token: access.expose().to_owned(),
                    grant_id: grant.id.to_string(),
                    token_type: "Bearer".to_owned(),
                    expires_in: lifetimes::ACCESS_TOKEN_SECONDS,
                    scope: grant.scopes.to_string(),
                    workspace_id: grant.workspace_id.to_string(),
                })
            }
            ExchangeOutcome::Refused(refusal) => {
                // A second use of a public token is a replay: flag it as a security event.
                let outcome = if refusal == TokenRefusal::AlreadyUsed { Outcome::Security } else { Outcome::Failure };
                let error = refusal_error(refusal, "public token");
                self.audit(AuditKind::TokenExchange, outcome, meta, |e| {
                    e.client_id = Some(client.id.to_string());
                    e.detail = Some(error.code.as_str().to_owned());
                })
                .await;
                if refusal == TokenRefusal::AlreadyUsed {
                    tracing::warn!(client_id = %client.id, "replayed public token refused");
                }
                Err(error)
            }
        }
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn revoke_grant(&self, client: &ClientCredentials, meta: &RequestMeta, req: RevokeRequest) -> ApiResult<()> {
        let client = self.authenticate(client, meta).await?;
        let invalid = || ApiError::new(ErrorCode::InvalidGrant, "Unknown grant_id for this client");
        let grant_id = req.grant_id.parse::<GrantId>().map_err(|_| invalid())?;
        let outcome = self.ports.store.revoke_grant(&grant_id, &client.id, self.now()).await.map_err(store_error)?;
        let (result, audit_outcome) = match &outcome {
            RevokeOutcome::Revoked(_) | RevokeOutcome::AlreadyRevoked => (Ok(()), Outcome::Success),
            RevokeOutcome::NotFound => (Err(invalid()), Outcome::Failure),
        };
        self.audit(AuditKind::GrantRevoke, audit_outcome, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = Some(grant_id.to_string());
            e.user_id = match &outcome {
                RevokeOutcome::Revoked(g) => Some(g.user_id.to_string()),
                _ => None,
            };
            e.detail = match outcome {
                RevokeOutcome::Revoked(_) => None,
                RevokeOutcome::AlreadyRevoked => Some("already revoked".into()),
                RevokeOutcome::NotFound => Some("INVALID_GRANT".into()),
            };
        })
        .await;
        result
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn list_grants(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        query: ListGrantsQuery,
    ) -> ApiResult<GrantsPage> {
        let client = self.authenticate(client, meta).await?;
        let limit = query.limit.unwrap_or(DEFAULT_GRANTS_PAGE);
        if !(1..=MAX_GRANTS_PAGE).contains(&limit) {
            return Err(ApiError::invalid_request(format!("limit must be between 1 and {MAX_GRANTS_PAGE}")));
        }
        let after = match query.cursor.as_deref() {
            None => None,
            Some(c) => Some(cursor::decode(c).ok_or_else(|| ApiError::invalid_request("cursor is not valid"))?),
        };
        let mut rows = self
            .ports
            .store
            .list_active_grants(&client.id, self.now(), after, u64::from(limit) + 1)
            .await
            .map_err(store_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|(pos, _)| cursor::encode(*pos)) } else { None };
        let grants: Vec<GrantSummary> = rows
            .into_iter()
            .map(|(_, g)| GrantSummary {
                grant_id: g.id.to_string(),
                workspace_id: g.workspace_id.to_string(),
                scopes: g.scopes.to_string(),
                created_at: rfc3339(g.created_at),
                expires_at: rfc3339(g.expires_at),
            })
            .collect();
        Ok(GrantsPage { count: grants.len(), grants, next_cursor })
    }
}
