//! [`HttpWebhookSender`]: the [`WebhookSender`] port over HTTP with reqwest.
//!
//! One POST per attempt with `Content-Type: application/json`, the service's signature
//! headers and body as given, a total timeout, no redirects followed (a receiver that moved
//! must be reconfigured, never silently followed to another host), and errors described
//! without the URL (receivers put secrets in query strings).

use kc_ports::{WebhookRequest, WebhookResponse, WebhookSender};
use std::time::Duration;

/// Sends webhook requests with one shared connection pool.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    http: reqwest::Client,
}

impl HttpWebhookSender {
    /// A sender whose attempts give up after `timeout` (connecting included).
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kryptos-connect-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self { http })
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: WebhookRequest) -> WebhookResponse {
        let mut builder =
            self.http.post(&request.url).header(reqwest::header::CONTENT_TYPE, "application/json").body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        match builder.send().await {
            Ok(res) => WebhookResponse::Status(res.status().as_u16()),
            Err(e) if e.is_timeout() => WebhookResponse::Timeout,
            Err(e) if e.is_connect() => WebhookResponse::ConnectFailed,
            Err(e) => WebhookResponse::Failed(e.without_url().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

    async fn receiver(status: u16, delay: Duration) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new()
            .route(
                "/hook",
                post(move |headers: HeaderMap, body: String| async move {
                    log.lock().expect("lock").push((headers, body));
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::from_u16(status).expect("status")
                }),
            )
            .route("/moved", post(|| async { axum::response::Redirect::temporary("/hook") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        (format!("http://{addr}"), seen)
    }

    fn request(url: String) -> WebhookRequest {
        WebhookRequest {
            url,
            headers: vec![("X-Webhook-Signature", "sig".to_owned()), ("X-Webhook-Id", "whd_1".to_owned())],
            body: r#"{"event":"grant.created"}"#.to_owned(),
        }
    }

    #[tokio::test]
    async fn posts_the_body_and_headers_and_reports_the_status() {
        let (base, seen) = receiver(202, Duration::ZERO).await;
        let sender = HttpWebhookSender::new(Duration::from_secs(5)).expect("client");
        assert_eq!(sender.send(request(format!("{base}/hook"))).await, WebhookResponse::Status(202));
        let seen = seen.lock().expect("lock");
        let (headers, body) = &seen[0];
        assert_eq!(body, r#"{"event":"grant.created"}"#);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-webhook-signature"], "sig");
        assert_eq!(headers["x-webhook-id"], "whd_1");
    }

    #[tokio::test]
    async fn never_follows_a_redirect() {
        let (base, seen) = receiver(200, Duration::ZERO).await;
        let sender = HttpWebhookSender::new(Duration::from_secs(5)).expect("client");
        assert_eq!(sender.send(request(format!("{base}/moved"))).await, WebhookResponse::Status(307));
        assert!(seen.lock().expect("lock").is_empty(), "the redirect target must not be called");
    }

    #[tokio::test]
    async fn a_slow_receiver_is_a_timeout_and_a_closed_port_a_connect_failure() {
        let (base, _) = receiver(200, Duration::from_secs(3)).await;
        let sender = HttpWebhookSender::new(Duration::from_millis(300)).expect("client");
        assert_eq!(sender.send(request(format!("{base}/hook"))).await, WebhookResponse::Timeout);
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let refused = sender.send(request(format!("http://127.0.0.1:{port}/hook?token=secret"))).await;
        assert_eq!(refused, WebhookResponse::ConnectFailed);
    }
}
