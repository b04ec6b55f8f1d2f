//! [`WebhookStore`] in memory: endpoints, and the outbox's claims (with a lease, in order per
//! endpoint and grant), attempts and retention.

use super::conflict;
use crate::state::{DeliveryRow, DeliveryStatus, EndpointRow};
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{ClientId, Sealed};
use kc_ports::store::{
    ClaimedDelivery, DeliveryAttempt, StoreResult, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookStore,
};
use time::OffsetDateTime;

/// A delivery as operators see it.
pub(crate) fn delivery_record(d: &DeliveryRow) -> WebhookDeliveryRecord {
    WebhookDeliveryRecord {
        id: d.id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        event: d.event.clone(),
        grant_id: d.ordering_key.clone(),
        status: d.status.as_str().to_owned(),
        attempts: d.attempts,
        occurred_at: d.occurred_at,
        next_attempt_at: d.next_attempt_at,
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        completed_at: d.completed_at,
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()> {
        self.with(|s| {
            // Removed endpoints keep their ids.
            if s.webhook_endpoints.contains_key(&endpoint.id) {
                return Err(conflict("webhook endpoint", &endpoint.id));
            }
            s.webhook_endpoints.insert(endpoint.id.clone(), EndpointRow { record: endpoint.clone(), removed_at: None });
            Ok(())
        })
    }

    async fn list_webhook_endpoints(&self, client: &ClientId) -> StoreResult<Vec<WebhookEndpointRecord>> {
        self.with(|s| {
            let mut rows: Vec<WebhookEndpointRecord> = s
                .webhook_endpoints
                .values()
                .filter(|e| e.removed_at.is_none() && &e.record.client_id == client)
                .map(|e| e.record.clone())
                .collect();
            rows.sort_by_key(|e| e.created_at);
            Ok(rows)
        })
    }

    async fn find_webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>> {
        self.with(|s| Ok(s.webhook_endpoints.get(id).filter(|e| e.removed_at.is_none()).map(|e| e.record.clone())))
    }

    async fn set_webhook_secret(
        &self,
        client: &ClientId,
        id: &str,
        secret: &Sealed,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(e) =
                s.webhook_endpoints.get_mut(id).filter(|e| e.removed_at.is_none() && &e.record.client_id == client)
            else {
                return Ok(false);
            };
            e.record.secret = secret.clone();
            e.record.updated_at = now;
            Ok(true)
        })
    }

    async fn remove_webhook_endpoint(&self, client: &ClientId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some(e) =
                s.webhook_endpoints.get_mut(id).filter(|e| e.removed_at.is_none() && &e.record.client_id == client)
            else {
                return Ok(false);
            };
            e.removed_at = Some(now);
            e.record.updated_at = now;
            // In-flight (`sending`) deliveries are left to their dispatcher, which finds the endpoint gone.
            for d in s.deliveries.values_mut() {
                if d.endpoint_id == id && d.status == DeliveryStatus::Pending {
                    d.status = DeliveryStatus::Cancelled;
                    d.last_error = Some("endpoint removed".to_owned());
                    d.completed_at = Some(now);
                    d.updated_at = now;
                }
            }
            Ok(true)
        })
    }

    async fn claim_webhook_delivery(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        self.with(|s| {
            // Due: pending and its time has come, or claimed by a sender whose lease lapsed.
            // Blocked: an earlier delivery of the same endpoint and grant is still pending or sending.
            let due = |d: &DeliveryRow| match d.status {
                DeliveryStatus::Pending => d.next_attempt_at <= now,
                DeliveryStatus::Sending => d.locked_until.is_some_and(|u| u < now),
                _ => false,
            };
            let blocked = |seq: i64, d: &DeliveryRow| {
                s.deliveries.range(..seq).any(|(_, p)| {
                    p.status.is_open() && p.endpoint_id == d.endpoint_id && p.ordering_key == d.ordering_key
                })
            };
            let next = s
                .deliveries
                .iter()
                .filter(|(seq, d)| due(d) && !blocked(**seq, d))
                .min_by_key(|(seq, d)| (d.next_attempt_at, **seq))
                .map(|(seq, _)| *seq);
            let Some(seq) = next else { return Ok(None) };
            let Some(d) = s.deliveries.get_mut(&seq) else { return Ok(None) };
            d.status = DeliveryStatus::Sending;
            d.locked_by = Some(worker.to_owned());
            d.locked_until = Some(now + lease);
            d.attempts += 1;
            d.updated_at = now;
            Ok(Some(ClaimedDelivery {
                seq,
                id: d.id.clone(),
                endpoint_id: d.endpoint_id.clone(),
                event: d.event.clone(),
                data_json: d.payload.clone(),
                occurred_at: d.occurred_at,
                attempts: d.attempts,
            }))
        })
    }

    async fn finish_webhook_delivery(
        &self,
        seq: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(d) = s
                .deliveries
                .get_mut(&seq)
                .filter(|d| d.status == DeliveryStatus::Sending && d.locked_by.as_deref() == Some(worker))
            else {
                return Ok(false);
            };
            d.locked_by = None;
            d.locked_until = None;
            d.updated_at = now;
            match attempt {
                DeliveryAttempt::Delivered { status } => {
                    d.status = DeliveryStatus::Delivered;
                    d.last_status = Some(*status);
                    d.last_error = None;
                    d.completed_at = Some(now);
                }
                DeliveryAttempt::Retry { at, status, error } => {
                    d.status = DeliveryStatus::Pending;
                    d.next_attempt_at = *at;
                    d.last_status = *status;
                    d.last_error = Some(error.clone());
                }
                DeliveryAttempt::Failed { status, error } => {
                    d.status = DeliveryStatus::Failed;
                    d.last_status = *status;
                    d.last_error = Some(error.clone());
                    d.completed_at = Some(now);
                }
                DeliveryAttempt::Cancelled { reason } => {
                    d.status = DeliveryStatus::Cancelled;
                    d.last_error = Some(reason.clone());
                    d.completed_at = Some(now);
                }
            }
            Ok(true)
        })
    }

    async fn list_webhook_deliveries(&self, client: &ClientId, limit: u64) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        self.with(|s| {
            Ok(s.deliveries
                .values()
                .rev()
                .filter(|d| d.client_id == client.as_str())
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .map(delivery_record)
                .collect())
        })
    }

    async fn purge_webhook_deliveries(
        &self,
        delivered_before: Option<OffsetDateTime>,
        failed_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64> {
        self.with(|s| {
            let n = s.deliveries.len();
            s.deliveries.retain(|_, d| {
                let before = match d.status {
                    DeliveryStatus::Delivered => delivered_before,
                    DeliveryStatus::Failed | DeliveryStatus::Cancelled => failed_before,
                    DeliveryStatus::Pending | DeliveryStatus::Sending => None,
                };
                !matches!((before, d.completed_at), (Some(b), Some(c)) if c < b)
            });
            Ok((n - s.deliveries.len()) as u64)
        })
    }
}
