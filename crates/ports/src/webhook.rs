//! The webhook-sender port: one signed POST to a receiver, and what came of it.
//!
//! The service builds, signs, schedules and retries deliveries; a [`WebhookSender`] only
//! carries one request. The HTTP adapter is `kc_webhook_sender::HttpWebhookSender` (reqwest).

use async_trait::async_trait;

/// One delivery attempt, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The receiver's URL.
    pub url: String,
    /// Headers to send besides `Content-Type: application/json` (signature, event, id, timestamp).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body, exactly as signed.
    pub body: String,
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookResponse {
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// No answer within the sender's timeout.
    Timeout,
    /// The connection could not be made.
    ConnectFailed,
    /// Any other failure, described without the URL (it may carry a secret).
    Failed(String),
}

/// Carries webhook requests to receivers.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Sends `request` once, without following redirects.
    async fn send(&self, request: WebhookRequest) -> WebhookResponse;
}
