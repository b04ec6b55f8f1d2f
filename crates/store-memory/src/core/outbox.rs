//! The transactional outbox: the `enqueue_*` helpers run inside the same locked step as the
//! change they report (an exchange, a revocation, a grant extended, a new, synced, failed or
//! deleted integration), so a delivery exists if and only if the change happened.

use super::ms;
use crate::state::{DeliveryRow, DeliveryStatus, IntegrationRow, State};
use kc_domain::{webhook_delivery_id, GrantRecord, OsSecretRng, WebhookEvent};
use serde_json::json;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// RFC 3339 in UTC with whole seconds, as the Connect API's grant objects print times.
fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).replace_nanosecond(0).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// `data` of `grant.*` events: the Connect API's grant object with the user as `uid`.
pub(crate) fn grant_data(g: &GrantRecord) -> serde_json::Value {
    let mut v = json!({
        "uid": g.user_id.as_str(),
        "grant_id": g.id.as_str(),
        "workspace_id": g.workspace_id.as_str(),
        "scopes": g.scopes.to_string(),
        "created_at": rfc3339(g.created_at),
        "expires_at": rfc3339(g.expires_at),
    });
    if let Some(r) = g.revoked_at {
        v["revoked_at"] = rfc3339(r).into();
    }
    v
}

/// `data` of `integration.*` events, as SeaStore writes it (the dispatcher fills in the
/// catalogue's `providerPublicName` and `logoUrl`).
pub(crate) fn integration_data(row: &IntegrationRow, g: &GrantRecord) -> serde_json::Value {
    let i = &row.record;
    let mut v = json!({
        "uid": g.user_id.as_str(),
        "provider": i.provider,
        "providerPublicName": i.provider,
        "publicAddress": i.address,
        "walletId": i.id,
        "logoUrl": "",
        "isContract": false,
        "alias": i.alias.clone().or_else(|| i.account_name.clone()),
        "status": i.sync_status.data_api_status(),
        "addedOn": ms(i.created_at),
        "lastSyncedAt": i.last_synced_at.map(ms),
        "category": i.category,
        "type": "api",
        "totalTransactions": i.total_transactions,
    });
    if let Some(e) = &i.last_error {
        v["message"] = e.clone().into();
    }
    v["workspaceId"] = i.workspace_id.as_str().into();
    v["grantId"] = g.id.as_str().into();
    v
}

impl State {
    /// Writes one pending delivery per live (not removed, not disabled) endpoint of
    /// `client_id` subscribed to `event`, endpoints oldest first.
    pub(crate) fn enqueue(
        &mut self,
        client_id: &str,
        event: WebhookEvent,
        ordering_key: &str,
        data: &serde_json::Value,
        now: OffsetDateTime,
    ) {
        let mut endpoints: Vec<(OffsetDateTime, String)> = self
            .webhook_endpoints
            .values()
            .filter(|e| e.removed_at.is_none() && e.record.client_id.as_str() == client_id)
            .filter(|e| !self.endpoint_disabled(&e.record.id))
            .filter(|e| e.record.events.is_empty() || e.record.events.contains(&event))
            .map(|e| (e.record.created_at, e.record.id.clone()))
            .collect();
        endpoints.sort();
        let payload = data.to_string();
        for (_, endpoint_id) in endpoints {
            let seq = self.next_id();
            self.deliveries.insert(
                seq,
                DeliveryRow {
                    id: webhook_delivery_id(&OsSecretRng),
                    endpoint_id,
                    client_id: client_id.to_owned(),
                    event: event.as_str().to_owned(),
                    ordering_key: ordering_key.to_owned(),
                    payload: payload.clone(),
                    occurred_at: now,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    locked_by: None,
                    locked_until: None,
                    last_status: None,
                    last_error: None,
                    completed_at: None,
                    updated_at: now,
                },
            );
        }
    }

    /// Enqueues `event` about grant `g` (as it now is) for its client, ordered by the grant.
    pub(crate) fn enqueue_grant_event(&mut self, event: WebhookEvent, g: &GrantRecord, now: OffsetDateTime) {
        self.enqueue(g.client_id.as_str(), event, g.id.as_str(), &grant_data(g), now);
    }

    /// Enqueues `event` about integration `integration_id` for every enabled client holding a
    /// live grant over its workspace (once per client, ordered with that client's oldest such grant).
    pub(crate) fn enqueue_integration_event(&mut self, event: WebhookEvent, integration_id: &str, now: OffsetDateTime) {
        let Some(row) = self.integrations.get(integration_id).cloned() else { return };
        let mut grants: Vec<(i64, GrantRecord)> = self
            .grants
            .values()
            .filter(|g| g.record.workspace_id == row.record.workspace_id)
            .filter(|g| g.record.revoked_at.is_none() && g.record.expires_at > now)
            .map(|g| (g.seq, g.record.clone()))
            .collect();
        grants.sort_by_key(|(seq, _)| *seq);
        let mut seen = HashSet::new();
        for (_, g) in grants {
            if !seen.insert(g.client_id.clone()) {
                continue;
            }
            let enabled = self.clients.get(g.client_id.as_str()).is_some_and(|c| c.disabled_at.is_none());
            if enabled {
                self.enqueue(g.client_id.as_str(), event, g.id.as_str(), &integration_data(&row, &g), now);
            }
        }
    }
}
