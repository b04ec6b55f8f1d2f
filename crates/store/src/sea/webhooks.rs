//! `SeaStore`: Webhook endpoints and the delivery outbox.

use super::*;

#[async_trait]
impl crate::WebhookStore for SeaStore {
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()> {
        self.insert_webhook_endpoint_impl(endpoint).await
    }

    async fn list_webhook_endpoints(&self, client: &ClientId) -> StoreResult<Vec<WebhookEndpointRecord>> {
        self.list_webhook_endpoints_impl(client).await
    }

    async fn find_webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRecord>> {
        self.find_webhook_endpoint_impl(id).await
    }

    async fn set_webhook_secret(
        &self,
        client: &ClientId,
        id: &str,
        secret: &Sealed,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.set_webhook_secret_impl(client, id, secret, now).await
    }

    async fn remove_webhook_endpoint(&self, client: &ClientId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.remove_webhook_endpoint_impl(client, id, now).await
    }

    async fn claim_webhook_delivery(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        self.claim_webhook_delivery_impl(worker, now, lease).await
    }

    async fn finish_webhook_delivery(
        &self,
        seq: i64,
        worker: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.finish_webhook_delivery_impl(seq, worker, attempt, now).await
    }

    async fn list_webhook_deliveries(&self, client: &ClientId, limit: u64) -> StoreResult<Vec<WebhookDeliveryRecord>> {
        self.list_webhook_deliveries_impl(client, limit).await
    }

    async fn purge_webhook_deliveries(
        &self,
        delivered_before: Option<OffsetDateTime>,
        failed_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64> {
        self.purge_webhook_deliveries_impl(delivered_before, failed_before).await
    }
}
