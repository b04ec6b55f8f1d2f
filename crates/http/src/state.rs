//! Shared state of the HTTP adapter.

use crate::client_ip::ForwardedHeader;
use crate::limiter::{AuthLimiter, AuthLimits, FailureBudget, FailureQuota, LocalFailureBudget};
use ipnet::IpNet;
use kc_api::{
    AdminApi, ConnectApi, CsvImportApi, DataApi, DeveloperApi, HealthApi, OidcApi, ProvidersApi, TransactionsApi,
    WalletApi, WidgetApi,
};
use std::sync::Arc;
use std::time::Duration;

/// Everything the HTTP adapter serves: the Connect API, the widget API and health.
pub trait Api:
    ConnectApi
    + WidgetApi
    + HealthApi
    + ProvidersApi
    + DataApi
    + TransactionsApi
    + DeveloperApi
    + OidcApi
    + AdminApi
    + WalletApi
    + CsvImportApi
{
}
impl<
        T: ConnectApi
            + WidgetApi
            + HealthApi
            + ProvidersApi
            + DataApi
            + TransactionsApi
            + DeveloperApi
            + OidcApi
            + AdminApi
            + WalletApi
            + CsvImportApi,
    > Api for T
{
}

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
    /// Failed authentications per minute of one client id from one source IP before 429
    /// (a quarter of it may come at once). A correct secret is never refused.
    pub auth_failures_per_minute: u32,
    /// Failed authentications per minute from one source IP, any client id (at least
    /// `auth_failures_per_minute`).
    pub ip_auth_failures_per_minute: u32,
    /// The longest delay before a failed authentication is answered; the delay grows as the
    /// caller's budget empties.
    pub auth_failure_max_delay: Duration,
    /// Peers whose `X-Forwarded-For`/`Forwarded` is believed (see `client_ip`).
    pub trusted_proxies: Vec<IpNet>,
    /// Which of the two headers the trusted proxies write.
    pub forwarded_header: ForwardedHeader,
    /// `Strict-Transport-Security: max-age=…` when `public_origin` is `https://`; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// The server's own origin (`scheme://host[:port]`); requests from it are same-origin.
    pub public_origin: String,
    /// The server's externally visible base URL (`server.public_url`): the default `baseUrl` of
    /// the SDK packages it serves. Empty: taken from each request.
    ///
    /// Its path is the **base path** ([`HttpOptions::base_path`]) under which browsers reach the
    /// router: `http://127.0.0.1:8080/kryptos` when a host app mounts it with
    /// `Router::new().nest("/kryptos", kc_http::router(…))` (or a proxy strips `/kryptos`).
    /// Routes are matched without it; every URL handed to a browser carries it — the widget,
    /// demo and docs pages (`<meta name="kc-base">`, their `href`/`src` and every `fetch`), the
    /// console's links, forms, redirects and cookie path, and (via the service, which is given
    /// the same URL) the OIDC issuer and endpoints, logo URLs and redirects to `/connect`.
    /// `connect.js` loaded from `{public_url}/sdk/connect.js` defaults its `baseUrl` to it.
    pub public_url: String,
    /// `production` or `development`, reported by `/api/health`.
    pub environment: String,
    /// Serve the development demo site at `/demo`.
    pub demo_enabled: bool,
}

impl HttpOptions {
    /// The path prefix browsers reach this router under: the path of [`Self::public_url`]
    /// without its trailing slash (`/kryptos`), `""` at the root. A path with characters other
    /// than `A-Z a-z 0-9 - . _ ~ % /` (or with `//`, `.` or `..` segments) is refused: `""`, and
    /// [`AppState::new`] logs it as a misconfiguration.
    pub fn base_path(&self) -> &str {
        crate::base_path::base_path(&self.public_url)
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(15),
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            auth_failures_per_minute: 20,
            ip_auth_failures_per_minute: 60,
            auth_failure_max_delay: Duration::from_secs(1),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            hsts_max_age_secs: 31_536_000,
            public_origin: "http://127.0.0.1:8080".to_owned(),
            public_url: "http://127.0.0.1:8080".to_owned(),
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
    pub(crate) limiter: Arc<AuthLimiter>,
}

impl AppState {
    /// State serving `api` with `options`; failure budgets are kept in this process.
    pub fn new(api: Arc<dyn Api>, options: HttpOptions) -> Self {
        Self::with_failure_budget(api, options, Arc::new(LocalFailureBudget::default()))
    }

    /// State whose failed-authentication budgets live in `budget` (e.g. a database shared by
    /// every node, so that the configured rates hold for the whole deployment).
    pub fn with_failure_budget(api: Arc<dyn Api>, options: HttpOptions, budget: Arc<dyn FailureBudget>) -> Self {
        let client_ip = FailureQuota::per_minute(options.auth_failures_per_minute);
        let ip = FailureQuota::per_minute(options.ip_auth_failures_per_minute.max(options.auth_failures_per_minute));
        let limits = AuthLimits { client_ip, ip, max_delay: options.auth_failure_max_delay };
        let limiter = Arc::new(AuthLimiter::new(budget, limits));
        if crate::base_path::base_path_of(&options.public_url).1 {
            tracing::error!(
                public_url = %options.public_url,
                "misconfiguration: the path of public_url has characters a base path may not hold; \
                 serving pages as if at the root, which breaks them under a path prefix"
            );
        }
        Self { api, options: Arc::new(options), limiter }
    }

    /// The path prefix browsers reach this router under ([`HttpOptions::base_path`]).
    pub fn base_path(&self) -> &str {
        self.options.base_path()
    }
}
