//! [`WidgetApi`] on the store: the steps of a link-token session.

use crate::audit::{AuditKind, Outcome};
use crate::service::{refusal_error, rfc3339, store_error, Service};
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{
    lifetimes, ClientId, ClientRecord, GrantId, GrantRecord, GrantStatus, LinkSession, PlainToken, ScopeSet, TokenKind,
    TokenRefusal, UserId, WorkspaceId,
};
use kc_ports::{ExtendOutcome, NewGuest, NewPublicToken};

/// A live session with its client.
pub(crate) struct Resolved {
    pub(crate) session: LinkSession,
    pub(crate) client: ClientRecord,
    /// For a resumed session (returning user): the grant it resumes, live, as it is now.
    pub(crate) grant: Option<GrantRecord>,
}

/// The scopes the consent step asks for: every requested scope for a new user; for a
/// returning user only those the grant lacks (none: no consent screen).
fn scopes_to_approve(session: &LinkSession, grant: Option<&GrantRecord>) -> ScopeSet {
    match grant {
        Some(g) => session.scopes.missing_from(&g.scopes),
        None => session.scopes.clone(),
    }
}

fn grant_gone() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidGrant,
        "The grant this session resumes was revoked or has expired; create a link token without access_token",
    )
}

impl Service {
    /// Resolves a link token to a usable session, or the SPEC error for why it is not.
    pub(crate) async fn resolve_link(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<Resolved> {
        let token = PlainToken::parse(TokenKind::Link, link.expose())
            .map_err(|_| refusal_error(TokenRefusal::Invalid, "link token"))?;
        let session = self
            .ports
            .store
            .find_link_session(&token.digest())
            .await
            .map_err(store_error)?
            .ok_or_else(|| refusal_error(TokenRefusal::Invalid, "link token"))?;
        session.usable_at(self.now()).map_err(|r| refusal_error(r, "link token"))?;
        let client = self
            .ports
            .store
            .find_client(&session.client_id)
            .await
            .map_err(store_error)?
            .filter(|c| !c.disabled)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidClient, "The client of this link token is disabled"))?;
        if let Some(origin) = &meta.origin {
            if !client.allowed_origins.iter().any(|o| o == origin) {
                return Err(ApiError::new(
                    ErrorCode::InvalidClient,
                    format!("Origin {origin} is not registered for this client"),
                ));
            }
        }
        let grant = match &session.resumed_grant_id {
            Some(id) => Some(self.live_grant(id, &client.id).await?),
            None => None,
        };
        Ok(Resolved { session, client, grant })
    }

    /// The resumed grant, read now (revocation is immediate): `INVALID_GRANT` unless it is live.
    async fn live_grant(&self, id: &GrantId, client: &ClientId) -> ApiResult<GrantRecord> {
        let grant = self.ports.store.find_grant(id).await.map_err(store_error)?;
        grant
            .filter(|g| &g.client_id == client && g.status_at(self.now()) == GrantStatus::Active)
            .ok_or_else(grant_gone)
    }
}

#[async_trait]
impl WidgetApi for Service {
    #[tracing::instrument(skip_all)]
    async fn session(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<WidgetSession> {
        let Resolved { session, client, grant } = self.resolve_link(link, meta).await?;
        let to_approve = scopes_to_approve(&session, grant.as_ref());
        let user = match &session.user_id {
            Some(id) => self.ports.store.find_user(id).await.map_err(store_error)?,
            None => None,
        };
        let workspace = match &session.workspace_id {
            Some(id) => self.ports.store.find_workspace(id).await.map_err(store_error)?,
            None => None,
        };
        // A session behind an OpenID Connect authorization returns only to the provider's callback.
        let redirect_uris = self.widget_redirect_uris(session.id, client.redirect_uris.clone()).await?;
        let prefill = session
            .prefill_json
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok());
        Ok(WidgetSession {
            client: WidgetClient { name: client.name, logo: client.logo_url, mode: client.mode.as_str().to_owned() },
            requested_scopes: session.scopes.to_string(),
            is_authorized: session.is_resumed(),
            auth_methods: self.ports.auth_methods.clone(),
            user: user.map(|u| WidgetUser { user_id: u.id.to_string(), is_anonymous: u.is_anonymous }),
            workspace: workspace.map(|w| WidgetWorkspace { workspace_id: w.id.to_string(), name: w.name }),
            consent: session.consent,
            consent_required: session.consent.is_none() && !to_approve.is_empty(),
            consent_scopes: to_approve.to_string(),
            integration_name: session.integration_name,
            prefill,
            expires_at: rfc3339(session.expires_at),
            allowed_origins: client.allowed_origins,
            redirect_uris,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn auth_anonymous(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<AnonymousAuthResponse> {
        let Resolved { session, client, .. } = self.resolve_link(link, meta).await?;
        if !self.ports.auth_methods.iter().any(|m| m == "anonymous") {
            return Err(ApiError::invalid_request("Guest sign-in is not enabled on this server"));
        }
        if session.user_id.is_some() {
            return Err(ApiError::invalid_request("This session already has a signed-in user"));
        }
        let guest = NewGuest {
            user_id: UserId::generate(self.ports.rng.as_ref()),
            workspace_id: WorkspaceId::generate(self.ports.rng.as_ref()),
            workspace_name: "Personal workspace".to_owned(),
            created_at: self.now(),
        };
        let attached = self.ports.store.create_guest_for_session(session.id, &guest).await.map_err(store_error)?;
        if !attached {
            return Err(ApiError::invalid_request("This session already has a signed-in user"));
        }
        self.audit(AuditKind::WidgetAuthAnonymous, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(guest.user_id.to_string());
        })
        .await;
        Ok(AnonymousAuthResponse { user_id: guest.user_id.to_string(), workspace_id: guest.workspace_id.to_string() })
    }

    #[tracing::instrument(skip_all)]
    async fn consent(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: ConsentRequest,
    ) -> ApiResult<ConsentResponse> {
        let Resolved { session, client, grant } = self.resolve_link(link, meta).await?;
        if session.user_id.is_none() || session.workspace_id.is_none() {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before consenting"));
        }
        let (granted_scopes, detail) = match (&grant, req.approve) {
            // A returning user's approval extends the grant, atomically with recording it.
            (Some(g), true) => {
                let added = scopes_to_approve(&session, Some(g));
                match self
                    .ports
                    .store
                    .extend_grant_for_session(session.id, &g.id, &added, self.now())
                    .await
                    .map_err(store_error)?
                {
                    ExtendOutcome::Extended { grant, changed } => {
                        let detail =
                            if changed { format!("approved; grant extended with {added}") } else { "approved".into() };
                        (grant.scopes.to_string(), detail)
                    }
                    ExtendOutcome::SessionClosed => return Err(refusal_error(TokenRefusal::AlreadyUsed, "link token")),
                    ExtendOutcome::GrantGone => return Err(grant_gone()),
                }
            }
            _ => {
                let recorded = self.ports.store.record_consent(session.id, req.approve).await.map_err(store_error)?;
                if !recorded {
                    return Err(refusal_error(TokenRefusal::AlreadyUsed, "link token"));
                }
                if !req.approve {
                    // A denial ends the session: the link token dies, no public token is issued
                    // and a resumed grant stays as it was.
                    self.ports.store.complete_link_session(session.id, self.now(), None).await.map_err(store_error)?;
                }
                let granted = if req.approve { session.scopes.to_string() } else { String::new() };
                (granted, if req.approve { "approved" } else { "denied" }.to_owned())
            }
        };
        let outcome = if req.approve { Outcome::Success } else { Outcome::Failure };
        self.audit(AuditKind::WidgetConsent, outcome, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = session.user_id.as_ref().map(|u| u.to_string());
            e.grant_id = grant.as_ref().map(|g| g.id.to_string());
            e.detail = Some(detail);
        })
        .await;
        Ok(ConsentResponse { approved: req.approve, granted_scopes })
    }

    #[tracing::instrument(skip_all)]
    async fn complete(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<CompleteResponse> {
        let Resolved { session, client, grant } = self.resolve_link(link, meta).await?;
        let (Some(user_id), Some(workspace_id)) = (session.user_id.clone(), session.workspace_id.clone()) else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before completing"));
        };
        // A returning user needs no consent while the grant holds every requested scope.
        let approved = match &grant {
            Some(g) => scopes_to_approve(&session, Some(g)).is_empty(),
            None => session.consent == Some(true),
        };
        if !approved {
            return Err(ApiError::invalid_request("The user has not approved the requested scopes"));
        }
        let now = self.now();
        let public = (!session.is_resumed()).then(|| PlainToken::generate(TokenKind::Public, self.ports.rng.as_ref()));
        let record = public.as_ref().map(|t| NewPublicToken {
            digest: t.digest(),
            user_id: user_id.clone(),
            workspace_id,
            scopes: session.scopes.clone(),
            created_at: now,
            expires_at: now + lifetimes::PUBLIC_TOKEN,
        });
        let completed = self.ports.store.complete_link_session(session.id, now, record).await.map_err(store_error)?;
        if !completed {
            return Err(refusal_error(TokenRefusal::AlreadyUsed, "link token"));
        }
        self.audit(AuditKind::WidgetComplete, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(user_id.to_string());
            e.grant_id = session.resumed_grant_id.as_ref().map(|g| g.to_string());
            e.detail = Some(if public.is_some() { "public token issued" } else { "session resumed" }.to_owned());
        })
        .await;
        Ok(CompleteResponse { public_token: public.map(|t| t.expose().to_owned()) })
    }

    #[tracing::instrument(skip_all)]
    async fn email_start(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailStartRequest,
    ) -> ApiResult<EmailStartResponse> {
        let r = self.resolve_link(link, meta).await?;
        self.start_email(r, meta, req).await
    }

    #[tracing::instrument(skip_all)]
    async fn email_verify(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: EmailVerifyRequest,
    ) -> ApiResult<EmailVerifyResponse> {
        let r = self.resolve_link(link, meta).await?;
        self.verify_email(r, meta, req).await
    }

    #[tracing::instrument(skip_all)]
    async fn select_workspace(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: SelectWorkspaceRequest,
    ) -> ApiResult<WidgetWorkspace> {
        let r = self.resolve_link(link, meta).await?;
        self.choose_workspace(r, meta, req).await
    }

    #[tracing::instrument(skip_all)]
    async fn providers(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<ProvidersResponse> {
        let r = self.resolve_link(link, meta).await?;
        Ok(self.providers_for(r.client.mode))
    }

    #[tracing::instrument(skip_all)]
    async fn create_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        req: CreateIntegrationRequest,
    ) -> ApiResult<IntegrationView> {
        let r = self.resolve_link(link, meta).await?;
        self.add_integration(r, meta, req).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_integrations(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
    ) -> ApiResult<IntegrationsResponse> {
        let r = self.resolve_link(link, meta).await?;
        self.workspace_integrations(r).await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_integration(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        wallet_id: &str,
    ) -> ApiResult<()> {
        let r = self.resolve_link(link, meta).await?;
        self.remove_integration(r, meta, wallet_id).await
    }

    async fn is_registered_origin(&self, origin: &str) -> ApiResult<bool> {
        self.ports.hot.origin_registered(origin).await.map_err(store_error)
    }
}

#[async_trait]
impl HealthApi for Service {
    /// The database is pinged; the providers are reported from the configuration (the
    /// catalogue's availability) and from the last sync that used each (no network call).
    async fn ready(&self) -> ApiResult<kc_api::Readiness> {
        self.ports.store.ping().await.map_err(store_error)?;
        let probes = self.ports.provider_health.snapshot();
        let mut providers = Vec::new();
        for p in self.ports.catalog.all() {
            let id = &p.provider.id;
            let (status, reason, checked_at) = match (self.ports.catalog.availability(id), probes.get(id)) {
                (crate::catalog::Availability::Unavailable(why), _) => ("not_configured", Some(why), None),
                (crate::catalog::Availability::SandboxOnly(why), None) => ("sandbox_only", Some(why), None),
                (_, None) => continue,
                (_, Some(probe)) => (
                    if probe.down.is_some() { "unavailable" } else { "ok" },
                    probe.down.clone(),
                    Some(i64::try_from(probe.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)),
                ),
            };
            providers.push(kc_api::ProviderReadiness {
                provider: id.clone(),
                status: status.to_owned(),
                reason,
                checked_at,
            });
        }
        providers.sort_by(|a, b| a.provider.cmp(&b.provider));
        Ok(kc_api::Readiness { status: "ready".to_owned(), providers })
    }
}

#[async_trait]
impl ProvidersApi for Service {
    async fn public_providers(&self) -> ApiResult<Vec<PublicProvider>> {
        Ok(self.ports.catalog.public())
    }

    async fn client_origins(&self, client_id: &str) -> ApiResult<Vec<String>> {
        let Ok(id) = client_id.parse::<kc_domain::ClientId>() else {
            return Ok(Vec::new());
        };
        let client = self.ports.store.find_client(&id).await.map_err(store_error)?;
        Ok(client.filter(|c| !c.disabled).map(|c| c.allowed_origins).unwrap_or_default())
    }
}
