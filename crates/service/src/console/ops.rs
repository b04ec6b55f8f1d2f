//! Administration operations the command line lacked: webhook update, disable, test event and
//! redelivery; a client's grants with search and revocation; usage per day; production
//! requests. Plain service functions, as callable from the command line as from the admin API.

use crate::admin::AdminError;
use crate::audit::{AuditKind, Outcome};
use crate::webhooks::validate_webhook_url;
use crate::Service;
use kc_domain::{webhook_delivery_id, ClientMode, GrantId, GrantRecord, WebhookEvent};
use kc_ports::{RevokeOutcome, UsageDay, WebhookSettings};
use time::Duration;

/// The event name of test deliveries.
pub const TEST_EVENT: &str = "webhook.test";
/// Longest accepted endpoint description.
const MAX_DESCRIPTION: usize = 200;
/// Most grants a search looks through.
const GRANT_SCAN: u64 = 1000;

/// Changes to a webhook endpoint; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    /// New URL (validated as when adding).
    pub url: Option<String>,
    /// New events (empty: every event).
    pub events: Option<Vec<String>>,
    /// New description (`Some("")` removes it).
    pub description: Option<String>,
    /// Disable (`true`) or re-enable (`false`).
    pub disabled: Option<bool>,
}

fn parse_events(events: &[String]) -> Result<Vec<WebhookEvent>, AdminError> {
    let mut out = Vec::new();
    for name in events.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
        let event = WebhookEvent::parse(name).ok_or_else(|| {
            let known: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            AdminError::Invalid(format!("unknown event `{name}`; known events: {}", known.join(", ")))
        })?;
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

/// Checks a description: at most 200 characters, no control characters; empty means none.
pub(crate) fn validate_description(d: &str) -> Result<Option<String>, AdminError> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION} characters on one line"
        )));
    }
    Ok((!d.is_empty()).then(|| d.to_owned()))
}

impl Service {
    /// The console settings (description, disabled) of a client's endpoints, by endpoint id.
    pub async fn webhook_settings(&self, ids: Vec<String>) -> Result<Vec<(String, WebhookSettings)>, AdminError> {
        Ok(self.console_store_admin()?.webhook_settings(ids).await?)
    }

    /// Changes a webhook endpoint: URL, events, description, disabled. Everything is validated
    /// before anything changes. A disabled endpoint gets no new deliveries and its pending ones
    /// are cancelled.
    pub async fn update_webhook(&self, client_id: &str, id: &str, update: WebhookUpdate) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        let url = update.url.as_deref().map(|u| validate_webhook_url(u, client.mode)).transpose()?;
        let events = update.events.as_deref().map(parse_events).transpose()?;
        let description = update.description.as_deref().map(validate_description).transpose()?;
        if url.is_none() && events.is_none() && description.is_none() && update.disabled.is_none() {
            return Err(AdminError::Invalid("nothing to change".into()));
        }
        let store = self.console_store_admin()?;
        let now = self.now();
        let no_such = || AdminError::Invalid(format!("client {client_id} has no webhook {id}"));
        if (url.is_some() || events.is_some() || description.is_some())
            && !store.update_webhook(&client.id, id, url, events, description, now).await?
        {
            return Err(no_such());
        }
        if let Some(disabled) = update.disabled {
            if !store.set_webhook_disabled(&client.id, id, disabled, now).await? {
                return Err(no_such());
            }
        }
        let what = match update.disabled {
            Some(true) => "disabled",
            Some(false) => "enabled",
            None => "updated",
        };
        self.webhook_audit(client_id, &format!("webhook {id} {what}")).await;
        Ok(())
    }

    /// Queues a `webhook.test` delivery to one endpoint (it is sent, signed, logged and can be
    /// redelivered like any other). Returns the delivery id.
    pub async fn send_test_webhook(&self, client_id: &str, id: &str) -> Result<String, AdminError> {
        let client = self.client(client_id).await?;
        let delivery = webhook_delivery_id(self.ports.rng.as_ref());
        let data = serde_json::json!({
            "message": "A test event from the Kryptos Connect console",
            "client_id": client.id.to_string(),
            "endpoint_id": id,
        });
        let store = self.console_store_admin()?;
        if !store.enqueue_direct_delivery(&client.id, id, &delivery, TEST_EVENT, &data, self.now()).await? {
            return Err(AdminError::Invalid(format!("client {client_id} has no webhook {id}")));
        }
        self.webhook_audit(client_id, &format!("webhook {id} test event {delivery} queued")).await;
        Ok(delivery)
    }

    /// Sends a finished (delivered, failed or cancelled) delivery again, with the same id.
    pub async fn redeliver_webhook(&self, client_id: &str, delivery: &str) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        if !self.console_store_admin()?.redeliver(&client.id, delivery, self.now()).await? {
            return Err(AdminError::Invalid(format!(
                "client {client_id} has no finished delivery {delivery} to a live endpoint"
            )));
        }
        self.webhook_audit(client_id, &format!("delivery {delivery} queued again")).await;
        Ok(())
    }

    /// A client's active grants whose id, user id or workspace id contains `search`.
    pub async fn client_grants(&self, client_id: &str, search: Option<&str>) -> Result<Vec<GrantRecord>, AdminError> {
        let client = self.client(client_id).await?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let rows = self.ports.store.list_active_grants(&client.id, self.now(), None, GRANT_SCAN).await?;
        Ok(rows
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| {
                search.is_none_or(|s| {
                    g.id.as_str().contains(s) || g.user_id.as_str().contains(s) || g.workspace_id.as_str().contains(s)
                })
            })
            .collect())
    }

    /// Revokes a grant of a client at once (as `POST /token/revoke` does, with its
    /// `grant.revoked` webhook), audited with who did it.
    pub async fn revoke_client_grant(&self, client_id: &str, grant: &str) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        let no_such = || AdminError::Invalid(format!("client {client_id} has no grant {grant}"));
        let id = grant.parse::<GrantId>().map_err(|_| no_such())?;
        let outcome = self.ports.store.revoke_grant(&id, &client.id, self.now()).await?;
        let user = match &outcome {
            RevokeOutcome::Revoked(g) => Some(g.user_id.to_string()),
            RevokeOutcome::AlreadyRevoked => None,
            RevokeOutcome::NotFound => return Err(no_such()),
        };
        let meta = self.actor.as_ref().map(|a| a.meta.clone()).unwrap_or_default();
        let actor = self.actor.as_ref().map_or_else(|| "cli".to_owned(), |a| a.id.clone());
        self.audit(AuditKind::GrantRevoke, Outcome::Success, &meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.grant_id = Some(id.to_string());
            e.user_id = Some(actor.clone());
            e.detail = Some(match user {
                Some(u) => format!("revoked by {actor} (user {u})"),
                None => format!("already revoked; asked by {actor}"),
            });
        })
        .await;
        Ok(())
    }

    /// A client's usage per UTC day over the last `days` days.
    pub async fn client_usage(&self, client_id: &str, days: i64) -> Result<Vec<UsageDay>, AdminError> {
        let client = self.client(client_id).await?;
        let now = self.now();
        let since = now - Duration::days(days.clamp(1, 366) - 1);
        Ok(self.console_store_admin()?.usage(&client.id, since, now).await?)
    }

    /// Switches a client to `mode` (operators), clearing any open production request.
    pub async fn set_client_mode(&self, client_id: &str, mode: ClientMode) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        let store = self.console_store_admin()?;
        store.set_client_mode(&client.id, mode).await?;
        store.set_production_request(&client.id, None).await?;
        self.admin_client_audit(client_id, &format!("mode set to {}", mode.as_str())).await;
        Ok(())
    }

    /// Records a request to switch a client to production, for an operator to approve.
    pub async fn request_production(&self, client_id: &str, by: &str) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        self.console_store_admin()?.set_production_request(&client.id, Some((by.to_owned(), self.now()))).await?;
        self.admin_client_audit(client_id, "production requested").await;
        Ok(())
    }

    async fn admin_client_audit(&self, client_id: &str, what: &str) {
        self.webhook_audit(client_id, what).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_short_single_lines() {
        assert_eq!(validate_description("  Orders  ").expect("ok").as_deref(), Some("Orders"));
        assert_eq!(validate_description("").expect("empty"), None);
        assert!(validate_description(&"x".repeat(201)).is_err());
        assert!(validate_description("two\nlines").is_err());
    }
}
