//! [`WidgetApi`] on the store: the steps of a link-token session.

use crate::audit::{AuditKind, Outcome};
use crate::service::{refusal_error, rfc3339, store_error, Service};
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{lifetimes, ClientRecord, LinkSession, PlainToken, TokenKind, TokenRefusal, UserId, WorkspaceId};
use kc_store::{NewGuest, NewPublicToken};

/// A live session with its client.
pub(crate) struct Resolved {
    pub(crate) session: LinkSession,
    pub(crate) client: ClientRecord,
}

impl Service {
    /// Resolves a link token to a usable session, or the SPEC error for why it is not.
    async fn resolve_link(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<Resolved> {
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
        Ok(Resolved { session, client })
    }
}

#[async_trait]
impl WidgetApi for Service {
    #[tracing::instrument(skip_all)]
    async fn session(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<WidgetSession> {
        let Resolved { session, client } = self.resolve_link(link, meta).await?;
        let user = match &session.user_id {
            Some(id) => self.ports.store.find_user(id).await.map_err(store_error)?,
            None => None,
        };
        let workspace = match &session.workspace_id {
            Some(id) => self.ports.store.find_workspace(id).await.map_err(store_error)?,
            None => None,
        };
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
            integration_name: session.integration_name,
            prefill,
            expires_at: rfc3339(session.expires_at),
            allowed_origins: client.allowed_origins,
            redirect_uris: client.redirect_uris,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn auth_anonymous(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<AnonymousAuthResponse> {
        let Resolved { session, client } = self.resolve_link(link, meta).await?;
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
        let Resolved { session, client } = self.resolve_link(link, meta).await?;
        if session.user_id.is_none() || session.workspace_id.is_none() {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before consenting"));
        }
        let recorded = self.ports.store.record_consent(session.id, req.approve).await.map_err(store_error)?;
        if !recorded {
            return Err(refusal_error(TokenRefusal::AlreadyUsed, "link token"));
        }
        if !req.approve {
            // A denial ends the session: the link token dies and no public token is issued.
            self.ports.store.complete_link_session(session.id, self.now(), None).await.map_err(store_error)?;
        }
        let outcome = if req.approve { Outcome::Success } else { Outcome::Failure };
        self.audit(AuditKind::WidgetConsent, outcome, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = session.user_id.as_ref().map(|u| u.to_string());
            e.detail = Some(if req.approve { "approved" } else { "denied" }.to_owned());
        })
        .await;
        Ok(ConsentResponse {
            approved: req.approve,
            granted_scopes: if req.approve { session.scopes.to_string() } else { String::new() },
        })
    }

    #[tracing::instrument(skip_all)]
    async fn complete(&self, link: &LinkTokenCredential, meta: &RequestMeta) -> ApiResult<CompleteResponse> {
        let Resolved { session, client } = self.resolve_link(link, meta).await?;
        let (Some(user_id), Some(workspace_id)) = (session.user_id.clone(), session.workspace_id.clone()) else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before completing"));
        };
        if session.consent != Some(true) {
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
        let clients = self.ports.store.list_clients().await.map_err(store_error)?;
        Ok(clients.iter().any(|c| !c.disabled && c.allowed_origins.iter().any(|o| o == origin)))
    }
}

#[async_trait]
impl HealthApi for Service {
    async fn ready(&self) -> ApiResult<()> {
        self.ports.store.ping().await.map_err(store_error)
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
