//! Workspace selection, providers and integrations in the widget.

use crate::audit::{AuditKind, Outcome};
use crate::catalog::kind_of;
use crate::service::{refusal_error, store_error, Service};
use crate::widget::Resolved;
use kc_api::*;
use kc_domain::{sandbox_check, ClientMode, ProviderKind, SandboxViolation, SyncStatus, TokenRefusal, WorkspaceId};
use kc_ports::{IntegrationRecord, StoreError};

/// Longest alias or account name.
const MAX_LABEL: usize = 64;
/// Longest credential field.
const MAX_CREDENTIAL: usize = 512;

fn optional_label(v: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_LABEL => {
            Err(ApiError::invalid_request(format!("{what} must be at most {MAX_LABEL} characters")))
        }
        other => Ok(other),
    }
}

fn required_secret<'a>(v: &'a Option<String>, what: &str) -> Result<&'a str, ApiError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() && s.len() <= MAX_CREDENTIAL => Ok(s),
        Some(s) if s.len() > MAX_CREDENTIAL => Err(ApiError::invalid_request(format!("{what} is too long"))),
        _ => Err(ApiError::invalid_request(format!("{what} is required"))),
    }
}

impl Service {
    /// The integration object for `r`, in the Data API shape.
    pub(crate) fn integration_view(&self, r: &IntegrationRecord) -> IntegrationView {
        let provider = self.ports.catalog.get(&r.provider);
        let has_run = r.last_synced_at.is_some() || r.last_error.is_some();
        // `active` means "never synced"; a queued re-sync of a synced wallet is ongoing.
        let status = match r.sync_status {
            SyncStatus::Queued if has_run => "ONGOING",
            other => other.data_api_status(),
        };
        let log = has_run.then(|| {
            let stage = match (r.sync_status, &r.last_error) {
                (SyncStatus::Failed, _) | (SyncStatus::Queued, Some(_)) => "FAILED",
                (SyncStatus::Synced, _) => "COMPLETED",
                _ => "ONGOING",
            };
            let mut summary = serde_json::Map::new();
            summary.insert("Balances".to_owned(), stage.into());
            let mut detail = serde_json::Map::new();
            detail.insert("status".to_owned(), stage.into());
            if let (Some(msg), "FAILED") = (&r.last_error, stage) {
                detail.insert("message".to_owned(), msg.clone().into());
            }
            let mut details = serde_json::Map::new();
            details.insert("Balances".to_owned(), serde_json::Value::Object(detail));
            (summary, details)
        });
        IntegrationView {
            provider: r.provider.clone(),
            provider_public_name: provider.map_or_else(|| r.provider.clone(), |p| p.provider.public_name.clone()),
            public_address: r.address.clone(),
            wallet_id: r.id.clone(),
            logo_url: provider.map(|p| p.provider.logo.clone()).unwrap_or_default(),
            is_contract: false,
            alias: r.alias.clone().or_else(|| r.account_name.clone()),
            status: status.to_owned(),
            message: r.last_error.clone(),
            limit_exceeded: None,
            warning: None,
            last_sync_log: log.as_ref().map(|(summary, _)| summary.clone()),
            last_sync_log_details: log.map(|(_, details)| details),
            added_on: (r.created_at.unix_timestamp_nanos() / 1_000_000) as i64,
            last_synced_at: r.last_synced_at.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
            category: r.category.clone(),
            kind: "api".to_owned(),
            total_transactions: r.total_transactions,
            sync_status: r.sync_status.as_str().to_owned(),
            is_verified: r.verified_at.is_some(),
            verified_at: r.verified_at.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
        }
    }

    pub(crate) async fn choose_workspace(
        &self,
        r: Resolved,
        meta: &RequestMeta,
        req: SelectWorkspaceRequest,
    ) -> ApiResult<WidgetWorkspace> {
        let Resolved { session, client, .. } = r;
        let Some(user_id) = session.user_id.clone() else {
            return Err(ApiError::invalid_request("Sign in before choosing a workspace"));
        };
        if session.is_resumed() {
            return Err(ApiError::invalid_request("A resumed session keeps the workspace of its grant"));
        }
        let not_found = || ApiError::new(ErrorCode::WorkspaceNotFound, "Workspace not found");
        let wanted = req.workspace_id.parse::<WorkspaceId>().map_err(|_| not_found())?;
        let membership = self
            .ports
            .store
            .memberships(&user_id)
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|m| m.workspace.id == wanted)
            .ok_or_else(not_found)?;
        if !membership.role.may_share() {
            return Err(ApiError::new(
                ErrorCode::InsufficientPermissions,
                "Only a workspace owner or admin can share this workspace",
            ));
        }
        if !self.ports.store.select_workspace(session.id, &wanted).await.map_err(store_error)? {
            return Err(refusal_error(TokenRefusal::AlreadyUsed, "link token"));
        }
        self.audit(AuditKind::WidgetWorkspace, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(user_id.to_string());
            e.detail = Some(wanted.to_string());
        })
        .await;
        Ok(WidgetWorkspace { workspace_id: wanted.to_string(), name: membership.workspace.name })
    }

    pub(crate) fn providers_for(&self, mode: ClientMode) -> ProvidersResponse {
        ProvidersResponse { providers: self.ports.catalog.for_mode(mode) }
    }

    pub(crate) async fn add_integration(
        &self,
        r: Resolved,
        meta: &RequestMeta,
        req: CreateIntegrationRequest,
    ) -> ApiResult<IntegrationView> {
        let Resolved { session, client, .. } = r;
        let (Some(user_id), Some(workspace_id)) = (session.user_id.clone(), session.workspace_id.clone()) else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before connecting accounts"));
        };
        let provider = self
            .ports
            .catalog
            .get(req.provider.trim())
            .ok_or_else(|| ApiError::invalid_request(format!("Unknown provider `{}`", req.provider)))?;
        let provider_id = provider.provider.id.clone();
        if client.mode == ClientMode::Sandbox {
            sandbox_check(&provider_id, req.address.as_deref()).map_err(|v| match v {
                SandboxViolation::Provider => ApiError::new(
                    ErrorCode::SandboxProviderNotAllowed,
                    "Only Ethereum and Solana are available in sandbox mode",
                ),
                SandboxViolation::Address => ApiError::new(
                    ErrorCode::SandboxAddressNotAllowed,
                    "In sandbox mode only the documented test address can be connected",
                ),
            })?;
        }
        let id = format!("wal_{}", {
            let mut b = [0u8; 12];
            self.ports.rng.fill(&mut b);
            hex::encode(b)
        });
        let alias = optional_label(req.alias.clone(), "alias")?;
        let mut warning = None;
        let (category, address, credentials, fingerprint, account_name) = match kind_of(provider)
            .ok_or_else(ApiError::internal)?
        {
            ProviderKind::Wallet(kc_domain::ChainFamily::Bitcoin)
                if kc_domain::bitcoin_keys::is_extended_key(req.address.as_deref().unwrap_or_default()) =>
            {
                let key = req.address.as_deref().unwrap_or_default().trim();
                kc_domain::bitcoin_keys::parse_target(key)
                    .map_err(|e| ApiError::invalid_request(format!("Invalid Bitcoin extended public key: {e}")))?;
                let sealed = self.ports.cipher.seal(key.as_bytes(), &id, self.ports.rng.as_ref()).map_err(|e| {
                    tracing::error!(error = %e, "could not seal an extended key");
                    ApiError::internal()
                })?;
                let fingerprint = self.ports.pepper.digest_text(&format!("xpub:{provider_id}:{key}"));
                let shown = format!("{}…{}", &key[..4], &key[key.len().saturating_sub(6)..]);
                ("blockchain", None, Some(sealed), Some(fingerprint), Some(shown))
            }
            ProviderKind::Wallet(family) => {
                let raw = req.address.as_deref().unwrap_or_default();
                let normalized = family.validate(raw).map_err(|e| {
                    ApiError::invalid_request(format!(
                        "Invalid {} address: {}",
                        provider.provider.public_name, e.reason
                    ))
                })?;
                ("blockchain", Some(normalized), None, None, None)
            }
            ProviderKind::Exchange => {
                let api_key = required_secret(&req.api_key, "apiKey")?;
                let secret_key = required_secret(&req.secret_key, "secretKey")?;
                let needs_password = provider.fields.iter().any(|f| f.name == "password" && f.required);
                let password = if needs_password { Some(required_secret(&req.password, "password")?) } else { None };
                warning = self.check_exchange_key(&provider_id, api_key, secret_key, password).await?;
                let plaintext = serde_json::json!({ "apiKey": api_key, "secretKey": secret_key, "password": password });
                let sealed =
                    self.ports.cipher.seal(plaintext.to_string().as_bytes(), &id, self.ports.rng.as_ref()).map_err(
                        |e| {
                            tracing::error!(error = %e, "could not seal credentials");
                            ApiError::internal()
                        },
                    )?;
                let fingerprint = self.ports.pepper.digest_text(&format!("api-key:{provider_id}:{api_key}"));
                let account = optional_label(req.account_name.clone(), "accountName")?;
                ("exchange", None, Some(sealed), Some(fingerprint), account)
            }
        };
        let record = IntegrationRecord {
            id,
            workspace_id,
            provider: provider_id,
            category: category.to_owned(),
            address,
            alias,
            account_name,
            credentials,
            credential_fingerprint: fingerprint,
            sync_status: SyncStatus::Queued,
            last_error: None,
            last_synced_at: None,
            total_transactions: 0,
            created_at: self.now(),
            verified_at: None,
            proof_method: None,
        };
        match self.ports.store.insert_integration(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::invalid_request("This account is already connected to the workspace"))
            }
            Err(e) => return Err(store_error(e)),
        }
        self.audit(AuditKind::IntegrationCreate, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(user_id.to_string());
            e.detail = Some(format!("{} {}", record.provider, record.id));
        })
        .await;
        let mut view = self.integration_view(&record);
        view.warning = warning;
        Ok(view)
    }

    /// One cheap authenticated call with the exchange's connector, so that "connected" means
    /// connected: a refused key is an error the widget shows at once (the technical cause is
    /// logged); a key that can also trade or withdraw is accepted with a warning.
    async fn check_exchange_key(
        &self,
        provider_id: &str,
        api_key: &str,
        secret_key: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let connector = self.ports.connectors.get(provider_id).ok_or_else(|| {
            tracing::warn!(provider = provider_id, "an exchange without a connector was offered; refusing it");
            ApiError::invalid_request("This exchange cannot be connected on this server")
        })?;
        let credentials = kc_ports::exchange::ExchangeCredentials {
            api_key: api_key.to_owned(),
            secret: secret_key.to_owned().into(),
            passphrase: password.map(|p| p.to_owned().into()),
        };
        match connector.check(&credentials).await {
            Ok(check) => Ok(check.warning(connector.name())),
            Err(e) if e.is_retryable() => {
                tracing::warn!(provider = provider_id, error = %e, "could not check exchange credentials");
                Err(ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    format!("{} could not be reached to check the API key; try again in a moment.", connector.name()),
                ))
            }
            Err(e) => {
                tracing::info!(provider = provider_id, error = %e, "exchange refused the credentials");
                Err(ApiError::invalid_request(e.user_message(connector.name())))
            }
        }
    }

    pub(crate) async fn remove_integration(&self, r: Resolved, meta: &RequestMeta, wallet_id: &str) -> ApiResult<()> {
        let Resolved { session, client, .. } = r;
        let (Some(user_id), Some(workspace_id)) = (session.user_id.clone(), session.workspace_id.clone()) else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before removing accounts"));
        };
        let not_found = || ApiError::new(ErrorCode::WorkspaceNotFound, "No such integration in this workspace");
        // Wallet ids are `wal_` + hex; anything else cannot exist (and stays out of the audit trail).
        let well_formed = wallet_id.len() <= 64
            && wallet_id
                .strip_prefix("wal_")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !well_formed {
            return Err(not_found());
        }
        let removed =
            self.ports.store.delete_integration(&workspace_id, wallet_id, self.now()).await.map_err(store_error)?;
        if !removed {
            return Err(not_found());
        }
        self.audit(AuditKind::IntegrationDelete, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(user_id.to_string());
            e.detail = Some(wallet_id.to_owned());
        })
        .await;
        Ok(())
    }

    pub(crate) async fn workspace_integrations(&self, r: Resolved) -> ApiResult<IntegrationsResponse> {
        let Some(workspace_id) = r.session.workspace_id else {
            return Ok(IntegrationsResponse { integrations: Vec::new() });
        };
        let list = self.ports.store.list_integrations(&workspace_id).await.map_err(store_error)?;
        Ok(IntegrationsResponse { integrations: list.iter().map(|i| self.integration_view(i)).collect() })
    }
}
