//! [`AdminApi`] on [`Service`]: authenticate, authorize, then call the same service functions
//! the command line calls, acting as the caller.

use super::{admin_error, not_found, Perm, Principal, WebhookUpdate};
use crate::admin::{AdminError, ClientUpdate, NewClient};
use crate::service::{rfc3339, store_error};
use crate::Service;
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{ClientMode, ClientRecord};
use kc_ports::{AuditEvent, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookSettings};

fn client_dto(c: ClientRecord, org: Option<String>, production_requested: bool) -> AdminClient {
    AdminClient {
        client_id: c.id.to_string(),
        name: c.name,
        mode: c.mode.as_str().to_owned(),
        scopes: c.allowed_scopes.to_string(),
        origins: c.allowed_origins,
        redirect_uris: c.redirect_uris,
        logo_url: c.logo_url,
        disabled: c.disabled,
        org_id: org,
        production_requested,
    }
}

fn webhook_dto(w: WebhookEndpointRecord, s: Option<WebhookSettings>) -> AdminWebhook {
    let s = s.unwrap_or_default();
    AdminWebhook {
        id: w.id,
        url: w.url,
        events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
        description: s.description,
        disabled: s.disabled_at.is_some(),
        created_at: rfc3339(w.created_at),
    }
}

fn delivery_dto(d: WebhookDeliveryRecord) -> AdminDelivery {
    AdminDelivery {
        duration_ms: d
            .completed_at
            .map(|c| (c - d.occurred_at).whole_milliseconds().clamp(0, i128::from(i64::MAX)) as i64),
        id: d.id,
        endpoint_id: d.endpoint_id,
        event: d.event,
        status: d.status,
        attempts: d.attempts,
        response_status: d.last_status,
        error: d.last_error,
        occurred_at: rfc3339(d.occurred_at),
        completed_at: d.completed_at.map(rfc3339),
    }
}

fn audit_dto(e: AuditEvent) -> AdminAuditEvent {
    AdminAuditEvent {
        at: rfc3339(e.at),
        kind: e.kind,
        outcome: e.outcome,
        client_id: e.client_id,
        grant_id: e.grant_id,
        user_id: e.user_id,
        ip: e.ip,
        detail: e.detail,
    }
}

/// Webhook "no such" errors of the shared service functions become 404s.
fn webhook_error(e: AdminError) -> ApiError {
    match e {
        AdminError::Invalid(m) if m.contains(" has no ") => not_found("webhook, delivery or grant for this app"),
        other => admin_error(other),
    }
}

fn empty_to_none(s: Option<String>) -> Option<Option<String>> {
    s.map(|v| if v.trim().is_empty() { None } else { Some(v) })
}

impl Service {
    async fn client_view(&self, c: ClientRecord, org: Option<String>) -> ApiResult<AdminClient> {
        let requested = self
            .console_store()?
            .production_requests()
            .await
            .map_err(store_error)?
            .iter()
            .any(|(id, _, _)| *id == c.id);
        Ok(client_dto(c, org, requested))
    }

    async fn webhook_view(&self, client: &str, id: &str) -> ApiResult<AdminWebhook> {
        let list = self.list_webhooks(client).await.map_err(admin_error)?;
        let Some(w) = list.into_iter().find(|w| w.id == id) else { return Err(not_found("webhook")) };
        let s =
            self.webhook_settings(vec![w.id.clone()]).await.map_err(admin_error)?.into_iter().next().map(|(_, s)| s);
        Ok(webhook_dto(w, s))
    }

    async fn write_client(
        &self,
        caller: &AdminCaller,
        id: &str,
        perm: Perm,
    ) -> ApiResult<(Service, Principal, Option<String>)> {
        let p = self.principal(caller, true).await?;
        let (_, org) = self.authorize_client(&p, id, perm).await?;
        Ok((self.as_principal(&p, &caller.meta), p, org))
    }
}

#[async_trait]
impl AdminApi for Service {
    async fn admin_me(&self, caller: &AdminCaller) -> ApiResult<AdminIdentity> {
        let p = self.principal(caller, false).await?;
        let orgs = self.visible_orgs(&p).await?;
        Ok(match p {
            Principal::Token { id, name, scopes, org } => AdminIdentity {
                actor: id,
                kind: "token".into(),
                label: name,
                operator: org.is_none(),
                scopes,
                orgs,
                csrf_token: None,
            },
            Principal::User { user, csrf } => AdminIdentity {
                actor: user.id,
                kind: "user".into(),
                label: user.email,
                operator: user.is_operator,
                scopes: super::ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                orgs,
                csrf_token: Some(csrf),
            },
        })
    }

    async fn admin_orgs(&self, caller: &AdminCaller) -> ApiResult<Vec<AdminOrg>> {
        let p = self.principal(caller, false).await?;
        self.visible_orgs(&p).await
    }

    async fn admin_create_org(&self, caller: &AdminCaller, req: AdminOrgCreate) -> ApiResult<AdminOrg> {
        let p = self.principal(caller, true).await?;
        self.create_org(&p, &caller.meta, &req.name).await
    }

    async fn admin_members(&self, caller: &AdminCaller, org: &str) -> ApiResult<Vec<AdminMember>> {
        let p = self.principal(caller, false).await?;
        self.org_members(&p, org).await
    }

    async fn admin_invitations(&self, caller: &AdminCaller, org: &str) -> ApiResult<Vec<AdminInvitation>> {
        let p = self.principal(caller, false).await?;
        self.org_invitations(&p, org).await
    }

    async fn admin_invite(&self, caller: &AdminCaller, org: &str, req: AdminInvite) -> ApiResult<AdminInvitation> {
        let p = self.principal(caller, true).await?;
        self.invite(&p, &caller.meta, org, &req.email, &req.role).await
    }

    async fn admin_set_role(&self, caller: &AdminCaller, org: &str, user: &str, req: AdminRoleChange) -> ApiResult<()> {
        let p = self.principal(caller, true).await?;
        self.change_role(&p, &caller.meta, org, user, &req.role).await
    }

    async fn admin_remove_member(&self, caller: &AdminCaller, org: &str, user: &str) -> ApiResult<()> {
        let p = self.principal(caller, true).await?;
        self.drop_member(&p, &caller.meta, org, user).await
    }

    async fn admin_my_invitations(&self, caller: &AdminCaller) -> ApiResult<Vec<AdminInvitation>> {
        let p = self.principal(caller, false).await?;
        self.my_invitations(&p).await
    }

    async fn admin_accept_invitation(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminOrg> {
        let p = self.principal(caller, true).await?;
        self.accept(&p, &caller.meta, id).await
    }

    async fn admin_revoke_invitation(&self, caller: &AdminCaller, org: &str, id: &str) -> ApiResult<()> {
        let p = self.principal(caller, true).await?;
        self.revoke_invitation(&p, &caller.meta, org, id).await
    }

    async fn admin_clients(&self, caller: &AdminCaller, org: Option<String>) -> ApiResult<Vec<AdminClient>> {
        let p = self.principal(caller, false).await?;
        Self::require_scope(&p, Perm::ClientsRead)?;
        let store = self.console_store()?;
        let requested: Vec<_> =
            store.production_requests().await.map_err(store_error)?.into_iter().map(|(id, _, _)| id).collect();
        let mut out = Vec::new();
        if p.is_operator() && org.is_none() {
            for c in self.list_clients().await.map_err(admin_error)? {
                let o = store.client_org(&c.id).await.map_err(store_error)?;
                let r = requested.contains(&c.id);
                out.push(client_dto(c, o, r));
            }
            return Ok(out);
        }
        let orgs: Vec<String> = match org {
            Some(o) => {
                self.authorize_org(&p, &o, Perm::ClientsRead).await?;
                vec![o]
            }
            None => self.visible_orgs(&p).await?.into_iter().map(|o| o.id).collect(),
        };
        for o in orgs {
            for id in store.org_clients(&o).await.map_err(store_error)? {
                let c = self.client(id.as_str()).await.map_err(admin_error)?;
                let r = requested.contains(&c.id);
                out.push(client_dto(c, Some(o.clone()), r));
            }
        }
        Ok(out)
    }

    async fn admin_create_client(&self, caller: &AdminCaller, req: AdminClientCreate) -> ApiResult<AdminClientSecret> {
        let p = self.principal(caller, true).await?;
        let org = match (&req.org_id, &p) {
            (Some(o), _) => Some(o.clone()),
            (None, Principal::Token { org: Some(o), .. }) => Some(o.clone()),
            (None, _) if p.is_operator() => None,
            (None, _) => return Err(ApiError::invalid_request("org_id is required")),
        };
        if let Some(o) = &org {
            self.authorize_org(&p, o, Perm::ClientsWrite).await?;
        } else {
            Self::require_scope(&p, Perm::ClientsWrite)?;
        }
        let acting = self.as_principal(&p, &caller.meta);
        let new = NewClient {
            name: req.name,
            // Every new app starts in the sandbox; an operator approves production.
            mode: ClientMode::Sandbox,
            scopes: req.scopes.filter(|s| !s.trim().is_empty()),
            origins: req.origins,
            redirect_uris: req.redirect_uris,
            logo_url: req.logo_url.filter(|l| !l.trim().is_empty()),
        };
        let (client, secret) = acting.register_client(new).await.map_err(admin_error)?;
        if let Some(o) = &org {
            self.console_store()?.assign_client(&client.id, o, self.now()).await.map_err(store_error)?;
        }
        Ok(AdminClientSecret { client: client_dto(client, org, false), client_secret: secret.expose().to_owned() })
    }

    async fn admin_client(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClient> {
        let p = self.principal(caller, false).await?;
        let (c, org) = self.authorize_client(&p, id, Perm::ClientsRead).await?;
        self.client_view(c, org).await
    }

    async fn admin_update_client(
        &self,
        caller: &AdminCaller,
        id: &str,
        req: AdminClientUpdate,
    ) -> ApiResult<AdminClient> {
        let (acting, _, org) = self.write_client(caller, id, Perm::ClientsWrite).await?;
        let update = ClientUpdate {
            name: req.name,
            scopes: req.scopes,
            add_origins: req.add_origins,
            remove_origins: req.remove_origins,
            add_redirect_uris: req.add_redirect_uris,
            remove_redirect_uris: req.remove_redirect_uris,
            logo_url: empty_to_none(req.logo_url),
        };
        let c = acting.update_client(id, update).await.map_err(admin_error)?;
        self.client_view(c, org).await
    }

    async fn admin_rotate_client_secret(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClientSecret> {
        let (acting, _, org) = self.write_client(caller, id, Perm::ClientsWrite).await?;
        let secret = acting.rotate_client_secret(id).await.map_err(admin_error)?;
        let c = self.client(id).await.map_err(admin_error)?;
        Ok(AdminClientSecret { client: self.client_view(c, org).await?, client_secret: secret.expose().to_owned() })
    }

    async fn admin_disable_client(&self, caller: &AdminCaller, id: &str) -> ApiResult<AdminClient> {
        let (acting, p, org) = self.write_client(caller, id, Perm::ClientsWrite).await?;
        // Disabling is for the organisation's admins and owners (and operators), not developers.
        if !p.is_operator() {
            let role = match &org {
                Some(org) => self.role_in(&p, org).await?,
                None => None,
            };
            if !matches!(role.as_deref(), Some("admin" | "owner" | "operator")) {
                return Err(super::forbidden("Only an admin or owner of the organisation can disable an app"));
            }
        }
        acting.disable_client(id).await.map_err(admin_error)?;
        let c = self.client(id).await.map_err(admin_error)?;
        self.client_view(c, org).await
    }

    async fn admin_set_mode(&self, caller: &AdminCaller, id: &str, req: AdminModeChange) -> ApiResult<AdminClient> {
        let (acting, p, org) = self.write_client(caller, id, Perm::ClientsWrite).await?;
        let mode = ClientMode::parse(&req.mode)
            .ok_or_else(|| ApiError::invalid_request("mode must be `sandbox` or `production`"))?;
        match mode {
            ClientMode::Production if !p.is_operator() => {
                acting.request_production(id, p.actor_id()).await.map_err(admin_error)?
            }
            _ => acting.set_client_mode(id, mode).await.map_err(admin_error)?,
        }
        let c = self.client(id).await.map_err(admin_error)?;
        self.client_view(c, org).await
    }

    async fn admin_webhooks(&self, caller: &AdminCaller, client: &str) -> ApiResult<Vec<AdminWebhook>> {
        let p = self.principal(caller, false).await?;
        self.authorize_client(&p, client, Perm::WebhooksRead).await?;
        let list = self.list_webhooks(client).await.map_err(admin_error)?;
        let settings = self.webhook_settings(list.iter().map(|w| w.id.clone()).collect()).await.map_err(admin_error)?;
        Ok(list
            .into_iter()
            .map(|w| {
                let s = settings.iter().find(|(id, _)| *id == w.id).map(|(_, s)| s.clone());
                webhook_dto(w, s)
            })
            .collect())
    }

    async fn admin_add_webhook(
        &self,
        caller: &AdminCaller,
        client: &str,
        req: AdminWebhookCreate,
    ) -> ApiResult<AdminWebhookSecret> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        let description = match req.description.as_deref() {
            Some(d) => super::ops::validate_description(d).map_err(admin_error)?,
            None => None,
        };
        let (w, secret) = acting.add_webhook(client, &req.url, &req.events).await.map_err(admin_error)?;
        if let Some(d) = description {
            let update = WebhookUpdate { description: Some(d), ..WebhookUpdate::default() };
            acting.update_webhook(client, &w.id, update).await.map_err(webhook_error)?;
        }
        let webhook = self.webhook_view(client, &w.id).await?;
        Ok(AdminWebhookSecret { webhook, secret: secret.expose().to_owned() })
    }

    async fn admin_update_webhook(
        &self,
        caller: &AdminCaller,
        client: &str,
        id: &str,
        req: AdminWebhookUpdate,
    ) -> ApiResult<AdminWebhook> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        let update =
            WebhookUpdate { url: req.url, events: req.events, description: req.description, disabled: req.disabled };
        acting.update_webhook(client, id, update).await.map_err(webhook_error)?;
        self.webhook_view(client, id).await
    }

    async fn admin_rotate_webhook_secret(
        &self,
        caller: &AdminCaller,
        client: &str,
        id: &str,
    ) -> ApiResult<AdminWebhookSecret> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        let secret = acting.rotate_webhook_secret(client, id).await.map_err(webhook_error)?;
        let webhook = self.webhook_view(client, id).await?;
        Ok(AdminWebhookSecret { webhook, secret: secret.expose().to_owned() })
    }

    async fn admin_remove_webhook(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<()> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        acting.remove_webhook(client, id).await.map_err(webhook_error)
    }

    async fn admin_test_webhook(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<AdminDelivery> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        let delivery = acting.send_test_webhook(client, id).await.map_err(webhook_error)?;
        let list = self.webhook_deliveries(client, 50).await.map_err(admin_error)?;
        list.into_iter().find(|d| d.id == delivery).map(delivery_dto).ok_or_else(|| not_found("delivery"))
    }

    async fn admin_deliveries(&self, caller: &AdminCaller, client: &str, limit: u64) -> ApiResult<Vec<AdminDelivery>> {
        let p = self.principal(caller, false).await?;
        self.authorize_client(&p, client, Perm::WebhooksRead).await?;
        let list = self.webhook_deliveries(client, limit.clamp(1, 500)).await.map_err(admin_error)?;
        Ok(list.into_iter().map(delivery_dto).collect())
    }

    async fn admin_redeliver(&self, caller: &AdminCaller, client: &str, id: &str) -> ApiResult<()> {
        let (acting, _, _) = self.write_client(caller, client, Perm::WebhooksWrite).await?;
        acting.redeliver_webhook(client, id).await.map_err(webhook_error)
    }

    async fn admin_grants(&self, caller: &AdminCaller, client: &str, q: AdminGrantQuery) -> ApiResult<Vec<AdminGrant>> {
        let p = self.principal(caller, false).await?;
        self.authorize_client(&p, client, Perm::GrantsRead).await?;
        let list = self.client_grants(client, q.q.as_deref()).await.map_err(admin_error)?;
        Ok(list
            .into_iter()
            .map(|g| AdminGrant {
                grant_id: g.id.to_string(),
                user_id: g.user_id.to_string(),
                workspace_id: g.workspace_id.to_string(),
                scopes: g.scopes.to_string(),
                created_at: rfc3339(g.created_at),
                expires_at: rfc3339(g.expires_at),
            })
            .collect())
    }

    async fn admin_revoke_grant(&self, caller: &AdminCaller, client: &str, grant: &str) -> ApiResult<()> {
        let (acting, _, _) = self.write_client(caller, client, Perm::GrantsWrite).await?;
        acting.revoke_client_grant(client, grant).await.map_err(webhook_error)
    }

    async fn admin_audit(&self, caller: &AdminCaller, q: AdminAuditQuery) -> ApiResult<Vec<AdminAuditEvent>> {
        let p = self.principal(caller, false).await?;
        Self::require_scope(&p, Perm::AuditRead)?;
        let since = match q.since.as_deref() {
            Some(s) => Some(
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| ApiError::invalid_request("since must be an RFC 3339 time"))?,
            ),
            None => None,
        };
        let limit = q.limit.unwrap_or(200).clamp(1, 1000);
        let events = match q.client_id {
            Some(c) => {
                self.authorize_client(&p, &c, Perm::AuditRead).await?;
                self.audit_events(Some(c), since, limit).await.map_err(admin_error)?
            }
            None if p.is_operator() => self.audit_events(None, since, limit).await.map_err(admin_error)?,
            None => {
                // Only the events of the apps the caller can see.
                let apps = self.admin_clients(caller, None).await?;
                let mut all = Vec::new();
                for a in apps {
                    all.extend(self.audit_events(Some(a.client_id), since, limit).await.map_err(admin_error)?);
                }
                all.sort_by_key(|e| e.at);
                all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                all
            }
        };
        Ok(events.into_iter().map(audit_dto).collect())
    }

    async fn admin_usage(&self, caller: &AdminCaller, client: &str) -> ApiResult<AdminUsage> {
        let p = self.principal(caller, false).await?;
        self.authorize_client(&p, client, Perm::ClientsRead).await?;
        // This node's pending Data API call counts first, so the view is current here.
        self.flush_data_calls().await?;
        let days = self.client_usage(client, 30).await.map_err(admin_error)?;
        let mut funnel =
            AdminUsageDay { day: "total".into(), link_tokens: 0, completions: 0, exchanges: 0, data_api_calls: 0 };
        let days = days
            .into_iter()
            .map(|d| {
                funnel.link_tokens += d.link_tokens;
                funnel.completions += d.completions;
                funnel.exchanges += d.exchanges;
                funnel.data_api_calls += d.data_api_calls;
                AdminUsageDay {
                    day: rfc3339(d.day).chars().take(10).collect(),
                    link_tokens: d.link_tokens,
                    completions: d.completions,
                    exchanges: d.exchanges,
                    data_api_calls: d.data_api_calls,
                }
            })
            .collect();
        Ok(AdminUsage { days, funnel })
    }

    async fn console_sign_in_start(&self, meta: &RequestMeta, req: ConsoleSignInStart) -> ApiResult<()> {
        self.console_start(meta, &req.email).await
    }

    async fn console_sign_in_verify(
        &self,
        meta: &RequestMeta,
        email: &str,
        code: &str,
    ) -> ApiResult<ConsoleSessionOpened> {
        self.console_verify(meta, email, code).await
    }

    async fn console_sign_out(&self, caller: &AdminCaller) -> ApiResult<()> {
        self.console_end(caller).await
    }
}
