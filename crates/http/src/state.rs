//! Shared state of the HTTP adapter.

use crate::limiter::AuthFailureLimiter;
use kc_api::{ConnectApi, DataApi, DeveloperApi, HealthApi, ProvidersApi, WidgetApi};
use std::sync::Arc;
use std::time::Duration;

/// Everything the HTTP adapter serves: the Connect API, the widget API and health.
pub trait Api: ConnectApi + WidgetApi + HealthApi + ProvidersApi + DataApi + DeveloperApi {}
impl<T: ConnectApi + WidgetApi + HealthApi + ProvidersApi + DataApi + DeveloperApi> Api for T {}

/// Limits and facts the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// A request running longer is answered 503.
    pub request_timeout: Duration,
    /// A connection that does not send its headers within this is closed.
    pub header_read_timeout: Duration,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Failed client authentications per minute, per IP and per client id, before 429.
    pub auth_failures_per_minute: u32,
    /// The server's own origin (`scheme://host[:port]`); requests from it are same-origin.
    pub public_origin: String,
    /// `production` or `development`, reported by `/api/health`.
    pub environment: String,
    /// Serve the development demo site at `/demo`.
    pub demo_enabled: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(15),
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            auth_failures_per_minute: 20,
            public_origin: "http://127.0.0.1:8080".to_owned(),
            environment: "development".to_owned(),
            demo_enabled: false,
        }
    }
}

/// The state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) api: Arc<dyn Api>,
    pub(crate) options: Arc<HttpOptions>,
    pub(crate) limiter: Arc<AuthFailureLimiter>,
}

impl AppState {
    /// State serving `api` with `options`.
    pub fn new(api: Arc<dyn Api>, options: HttpOptions) -> Self {
        let limiter = Arc::new(AuthFailureLimiter::new(options.auth_failures_per_minute));
        Self { api, options: Arc::new(options), limiter }
    }
}
