//! Webhooks: endpoint administration (for the command line) and the dispatcher that sends
//! deliveries from the database outbox.
//!
//! Deliveries are written by the store in the same transaction as the change they report
//! (SPEC §9). Every server process runs dispatchers; each claims one delivery at a time
//! (the store guarantees no two claim the same one), signs the body with the endpoint's
//! secret, POSTs it and records the outcome: delivered on 2xx; retried with exponential
//! backoff on 429, 500, 502, 503, 504, timeouts and network errors; failed after the last
//! attempt or on any other status. A sender that dies mid-delivery loses its claim when the
//! lease lapses and another dispatcher sends the delivery again: delivery is at least once,
//! and receivers deduplicate on `X-Webhook-Id`.

use crate::admin::AdminError;
use crate::audit::{AuditKind, Outcome};
use crate::{Ports, Service};
use kc_domain::{
    sign_webhook, webhook_endpoint_id, webhook_timestamp, ClientMode, WebhookEvent, WebhookSecret,
    WEBHOOK_EVENT_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER,
};
use kc_ports::{
    ClaimedDelivery, DeliveryAttempt, StoreError, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookRequest,
    WebhookResponse, WebhookSender,
};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::Instrument as _;

/// Most endpoints one client may have.
pub const MAX_ENDPOINTS_PER_CLIENT: usize = 10;
/// Longest accepted endpoint URL.
const MAX_URL_LEN: usize = 2048;
/// Statuses that are retried (besides timeouts and network errors).
pub const RETRYABLE_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// Checks an endpoint URL: `https://` for every client; `http://` only for sandbox clients
/// and only to this machine (`127.0.0.1`, `[::1]`, `localhost`), for development.
/// Returns the normalized URL.
pub fn validate_webhook_url(raw: &str, mode: ClientMode) -> Result<String, AdminError> {
    let raw = raw.trim();
    let bad = |why: &str| AdminError::Invalid(format!("webhook URL `{raw}` {why}"));
    if raw.len() > MAX_URL_LEN {
        return Err(bad(&format!("is longer than {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("has no host")),
    };
    match (url.scheme(), mode) {
        ("https", _) => Ok(url.to_string()),
        ("http", ClientMode::Sandbox) if loopback => Ok(url.to_string()),
        ("http", ClientMode::Sandbox) => {
            Err(bad("must use https:// (sandbox clients may use http:// only for 127.0.0.1, [::1] or localhost)"))
        }
        ("http", ClientMode::Production) => Err(bad("must use https:// (production client)")),
        _ => Err(bad("must use https://")),
    }
}

/// Parses an event filter; empty means every event.
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

impl Service {
    /// Adds a webhook endpoint to client `client_id`, subscribed to `events` (every event
    /// when empty). Returns it with its signing secret, which is shown this once only.
    pub async fn add_webhook(
        &self,
        client_id: &str,
        url: &str,
        events: &[String],
    ) -> Result<(WebhookEndpointRecord, WebhookSecret), AdminError> {
        let client = self.client(client_id).await?;
        let url = validate_webhook_url(url, client.mode)?;
        let events = parse_events(events)?;
        if self.ports.store.list_webhook_endpoints(&client.id).await?.len() >= MAX_ENDPOINTS_PER_CLIENT {
            return Err(AdminError::Invalid(format!(
                "client {client_id} already has {MAX_ENDPOINTS_PER_CLIENT} webhook endpoints; remove one first"
            )));
        }
        let id = webhook_endpoint_id(self.ports.rng.as_ref());
        let secret = WebhookSecret::generate(self.ports.rng.as_ref());
        let sealed = self.seal_webhook_secret(&id, &secret)?;
        let now = self.now();
        let record = WebhookEndpointRecord {
            id,
            client_id: client.id.clone(),
            url,
            events,
            secret: sealed,
            created_at: now,
            updated_at: now,
        };
        self.ports.store.insert_webhook_endpoint(&record).await?;
        self.webhook_audit(&record.client_id.to_string(), &format!("webhook {} added", record.id)).await;
        Ok((record, secret))
    }

    /// A client's webhook endpoints, oldest first.
    pub async fn list_webhooks(&self, client_id: &str) -> Result<Vec<WebhookEndpointRecord>, AdminError> {
        let client = self.client(client_id).await?;
        Ok(self.ports.store.list_webhook_endpoints(&client.id).await?)
    }

    /// Removes an endpoint; its undelivered deliveries are cancelled.
    pub async fn remove_webhook(&self, client_id: &str, id: &str) -> Result<(), AdminError> {
        let client = self.client(client_id).await?;
        if !self.ports.store.remove_webhook_endpoint(&client.id, id, self.now()).await? {
            return Err(AdminError::Invalid(format!("client {client_id} has no webhook {id}")));
        }
        self.webhook_audit(client_id, &format!("webhook {id} removed")).await;
        Ok(())
    }

    /// Replaces an endpoint's signing secret; deliveries from now on are signed with the new
    /// one, which is shown this once only.
    pub async fn rotate_webhook_secret(&self, client_id: &str, id: &str) -> Result<WebhookSecret, AdminError> {
        let client = self.client(client_id).await?;
        let secret = WebhookSecret::generate(self.ports.rng.as_ref());
        let sealed = self.seal_webhook_secret(id, &secret)?;
        if !self.ports.store.set_webhook_secret(&client.id, id, &sealed, self.now()).await? {
            return Err(AdminError::Invalid(format!("client {client_id} has no webhook {id}")));
        }
        self.webhook_audit(client_id, &format!("webhook {id} secret rotated")).await;
        Ok(secret)
    }

    /// A client's most recent deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        client_id: &str,
        limit: u64,
    ) -> Result<Vec<WebhookDeliveryRecord>, AdminError> {
        let client = self.client(client_id).await?;
        Ok(self.ports.store.list_webhook_deliveries(&client.id, limit).await?)
    }

    /// A dispatcher named `id` (unique per process and task) on this service's ports.
    pub fn webhook_dispatcher(
        &self,
        sender: Arc<dyn WebhookSender>,
        settings: DispatchSettings,
        id: String,
    ) -> WebhookDispatcher {
        WebhookDispatcher::new(self.ports.clone(), sender, settings, id)
    }

    fn seal_webhook_secret(&self, id: &str, secret: &WebhookSecret) -> Result<kc_domain::Sealed, AdminError> {
        self.ports
            .cipher
            .seal(secret.expose().as_bytes(), id, self.ports.rng.as_ref())
            .map_err(|e| AdminError::Invalid(format!("cannot seal the webhook secret: {e}")))
    }

    pub(crate) async fn webhook_audit(&self, client_id: &str, what: &str) {
        let meta = self.actor.as_ref().map(|a| a.meta.clone()).unwrap_or_default();
        self.audit(AuditKind::ClientAdmin, Outcome::Success, &meta, |e| {
            e.client_id = Some(client_id.to_owned());
            e.user_id = self.actor.as_ref().map(|a| a.id.clone());
            e.detail = Some(what.to_owned());
        })
        .await;
    }
}

/// Dispatcher tuning.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts before a delivery fails.
    pub max_attempts: u32,
    /// Backoff after the first failed attempt; it doubles each time.
    pub first_backoff: Duration,
    /// How long an idle dispatcher waits before polling again.
    pub poll_interval: Duration,
    /// How long a claim holds before another dispatcher may take the delivery over.
    pub lease: Duration,
}

impl DispatchSettings {
    /// Settings with the lease derived from the timeout (timeout + 5 s: an attempt never
    /// outlives its claim).
    pub fn new(timeout: Duration, max_attempts: u32, first_backoff: Duration, poll_interval: Duration) -> Self {
        Self {
            timeout,
            max_attempts: max_attempts.max(1),
            first_backoff,
            poll_interval,
            lease: timeout + Duration::from_secs(5),
        }
    }
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self::new(Duration::from_secs(10), 3, Duration::from_secs(1), Duration::from_millis(500))
    }
}

/// How one HTTP attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer: timeout, refused connection, TLS or other network error.
    Network(String),
}

/// What to record for an attempt (`attempts` counts it) that ended in `result` at `now`.
pub fn classify(
    result: SendResult,
    attempts: i32,
    settings: &DispatchSettings,
    now: OffsetDateTime,
) -> DeliveryAttempt {
    let (status, error) = match result {
        SendResult::Status(s) if (200..300).contains(&s) => return DeliveryAttempt::Delivered { status: s },
        SendResult::Status(s) if !RETRYABLE_STATUSES.contains(&s) => {
            return DeliveryAttempt::Failed { status: Some(s), error: format!("HTTP {s} (not retried)") }
        }
        SendResult::Status(s) => (Some(s), format!("HTTP {s}")),
        SendResult::Network(e) => (None, e),
    };
    let attempts = u32::try_from(attempts.max(1)).unwrap_or(1);
    if attempts >= settings.max_attempts {
        return DeliveryAttempt::Failed { status, error: format!("{error}; gave up after {attempts} attempts") };
    }
    let factor = 2u32.saturating_pow(attempts - 1);
    let wait = settings.first_backoff.saturating_mul(factor).min(Duration::from_secs(3600));
    let at = now + time::Duration::try_from(wait).unwrap_or(time::Duration::HOUR);
    DeliveryAttempt::Retry { at, status, error }
}

/// One dispatcher: claims deliveries from the outbox and sends them.
pub struct WebhookDispatcher {
    ports: Ports,
    sender: Arc<dyn WebhookSender>,
    settings: DispatchSettings,
    id: String,
}

impl WebhookDispatcher {
    /// A dispatcher named `id` (unique per process and task), sending through `sender`
    /// (which should time out after `settings.timeout` and never follow redirects).
    pub fn new(ports: Ports, sender: Arc<dyn WebhookSender>, settings: DispatchSettings, id: String) -> Self {
        Self { ports, sender, settings, id }
    }

    /// Sends at most one due delivery; `Ok(true)` if one was processed.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let store = &self.ports.store;
        let lease = time::Duration::try_from(self.settings.lease).unwrap_or(time::Duration::seconds(15));
        let Some(delivery) = store.claim_webhook_delivery(&self.id, self.ports.clock.now(), lease).await? else {
            return Ok(false);
        };
        let span = tracing::info_span!(
            "webhook_delivery",
            delivery = %delivery.id,
            event = %delivery.event,
            endpoint = %delivery.endpoint_id,
            attempt = delivery.attempts
        );
        let outcome = self.attempt(&delivery).instrument(span.clone()).await?;
        let label = match &outcome {
            DeliveryAttempt::Delivered { .. } => "delivered",
            DeliveryAttempt::Retry { .. } => "retry",
            DeliveryAttempt::Failed { .. } => "failed",
            DeliveryAttempt::Cancelled { .. } => "cancelled",
        };
        metrics::counter!("kc_webhook_attempts_total", "outcome" => label).increment(1);
        span.in_scope(|| match &outcome {
            DeliveryAttempt::Delivered { status } => tracing::info!(status, "webhook delivered"),
            DeliveryAttempt::Retry { error, .. } => tracing::warn!(%error, "webhook attempt failed; will retry"),
            DeliveryAttempt::Failed { error, .. } => tracing::warn!(%error, "webhook delivery failed for good"),
            DeliveryAttempt::Cancelled { reason } => tracing::info!(%reason, "webhook delivery cancelled"),
        });
        if !store.finish_webhook_delivery(delivery.seq, &self.id, &outcome, self.ports.clock.now()).await? {
            span.in_scope(|| {
                tracing::warn!("lost the delivery's lease before recording it; another dispatcher owns it")
            });
        }
        Ok(true)
    }

    async fn attempt(&self, d: &ClaimedDelivery) -> Result<DeliveryAttempt, StoreError> {
        let Some(endpoint) = self.ports.store.find_webhook_endpoint(&d.endpoint_id).await? else {
            return Ok(DeliveryAttempt::Cancelled { reason: "endpoint removed".to_owned() });
        };
        let now = self.ports.clock.now();
        let secret = match self.ports.cipher.open(&endpoint.secret, &endpoint.id) {
            Ok(bytes) => bytes,
            Err(e) => {
                // A node without the key that sealed the secret: count the attempt so another
                // (correctly configured) node can take over, but never send unsigned.
                tracing::error!(error = %e, "cannot open the webhook secret; check security.credentials_keys on this node");
                let result = SendResult::Network(format!("this node cannot open the endpoint secret: {e}"));
                return Ok(classify(result, d.attempts, &self.settings, now));
            }
        };
        let timestamp = webhook_timestamp(now);
        let body = match self.body(d, &timestamp) {
            Ok(body) => body,
            Err(e) => return Ok(DeliveryAttempt::Failed { status: None, error: e }),
        };
        let signature = sign_webhook(&secret, body.as_bytes());
        let request = WebhookRequest {
            url: endpoint.url.clone(),
            headers: vec![
                (WEBHOOK_SIGNATURE_HEADER, signature),
                (WEBHOOK_EVENT_HEADER, d.event.clone()),
                (WEBHOOK_ID_HEADER, d.id.clone()),
                (WEBHOOK_TIMESTAMP_HEADER, timestamp),
            ],
            body,
        };
        let result = match self.sender.send(request).await {
            WebhookResponse::Status(status) => SendResult::Status(status),
            WebhookResponse::Timeout => {
                SendResult::Network(format!("no answer within {} s", self.settings.timeout.as_secs_f32()))
            }
            WebhookResponse::ConnectFailed => SendResult::Network("connection failed".to_owned()),
            WebhookResponse::Failed(e) => SendResult::Network(format!("request failed: {e}")),
        };
        Ok(classify(result, d.attempts, &self.settings, self.ports.clock.now()))
    }

    /// The body: `{"id", "event", "timestamp", "data"}`, with catalogue names and logos filled
    /// into integration events.
    fn body(&self, d: &ClaimedDelivery, timestamp: &str) -> Result<String, String> {
        let mut data: serde_json::Value =
            serde_json::from_str(&d.data_json).map_err(|e| format!("stored payload is not JSON: {e}"))?;
        if d.event.starts_with("integration.") {
            let provider = data.get("provider").and_then(|p| p.as_str()).map(str::to_owned);
            if let Some(p) = provider.as_deref().and_then(|id| self.ports.catalog.get(id)) {
                data["providerPublicName"] = p.provider.public_name.clone().into();
                data["logoUrl"] = p.provider.logo.clone().into();
            }
        }
        Ok(serde_json::json!({ "id": d.id, "event": d.event, "timestamp": timestamp, "data": data }).to_string())
    }

    /// Runs until `stop` turns true: send due deliveries back to back, sleep when idle, and
    /// back off when the database is unreachable.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let poll = self.settings.poll_interval;
        crate::background::poll_until_stopped("webhook dispatcher", &self.id, poll, stop, || self.run_once()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn urls_https_everywhere_http_only_to_this_machine_in_sandbox() {
        use ClientMode::{Production, Sandbox};
        let ok = [
            ("https://hooks.example.com/kryptos", Production),
            ("https://hooks.example.com/kryptos", Sandbox),
            ("http://127.0.0.1:9000/hook", Sandbox),
            ("http://localhost/hook", Sandbox),
            ("http://[::1]:8080/", Sandbox),
        ];
        for (url, mode) in ok {
            assert!(validate_webhook_url(url, mode).is_ok(), "{url} for {mode:?}");
        }
        let refused = [
            ("http://127.0.0.1:9000/hook", Production),
            ("http://hooks.example.com/", Sandbox),
            ("http://10.0.0.1/", Sandbox),
            ("ftp://example.com/", Sandbox),
            ("https://user:pw@example.com/", Production),
            ("https://example.com/#frag", Production),
            ("not a url", Sandbox),
        ];
        for (url, mode) in refused {
            assert!(validate_webhook_url(url, mode).is_err(), "{url} for {mode:?} must be refused");
        }
    }

    #[test]
    fn event_filters_parse_dedupe_and_reject_unknown_names() {
        let e = parse_events(&["grant.created,grant.revoked".into(), "grant.created".into()]).expect("valid");
        assert_eq!(e, vec![WebhookEvent::GrantCreated, WebhookEvent::GrantRevoked]);
        assert_eq!(parse_events(&[]).expect("empty"), vec![]);
        assert!(parse_events(&["grant.deleted".into()]).is_err());
    }

    #[test]
    fn retryable_outcomes_back_off_exponentially_then_fail() {
        let s = DispatchSettings::new(Duration::from_secs(10), 3, Duration::from_secs(1), Duration::from_millis(10));
        assert_eq!(classify(SendResult::Status(204), 1, &s, NOW), DeliveryAttempt::Delivered { status: 204 });
        let first = classify(SendResult::Status(503), 1, &s, NOW);
        assert!(
            matches!(&first, DeliveryAttempt::Retry { at, status: Some(503), .. } if *at == NOW + time::Duration::SECOND),
            "{first:?}"
        );
        let second = classify(SendResult::Network("connection failed".into()), 2, &s, NOW);
        assert!(
            matches!(&second, DeliveryAttempt::Retry { at, status: None, .. } if *at == NOW + time::Duration::seconds(2)),
            "{second:?}"
        );
        for code in RETRYABLE_STATUSES {
            assert!(matches!(classify(SendResult::Status(code), 1, &s, NOW), DeliveryAttempt::Retry { .. }), "{code}");
        }
        let last = classify(SendResult::Status(500), 3, &s, NOW);
        assert!(matches!(&last, DeliveryAttempt::Failed { status: Some(500), .. }), "{last:?}");
        for code in [400, 401, 404, 410, 501, 301] {
            let r = classify(SendResult::Status(code), 1, &s, NOW);
            assert!(matches!(r, DeliveryAttempt::Failed { status: Some(c), .. } if c == code), "{code} is not retried");
        }
    }
}
