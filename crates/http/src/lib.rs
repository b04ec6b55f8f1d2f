//! The HTTP adapter of Kryptos Connect: axum routes mapped onto the `kc-api` traits,
//! the SPEC §5 error envelopes, request ids, body and time limits, failed-auth rate
//! limiting that never refuses a correct secret (budgets local or shared, see
//! [`FailureBudget`]), the client IP behind trusted proxies, HSTS, CORS for widget routes,
//! and a hyper accept loop with header-read timeouts and graceful shutdown.
//!
//! It knows nothing of storage: give it any [`kc_api::ConnectApi`] + [`kc_api::WidgetApi`].
//!
//! The caller's IP (for the failure budgets and the audit trail) is the [`axum::extract::ConnectInfo`]
//! peer, which [`serve`] inserts; under your own `axum::serve`, pass
//! `router.into_make_service_with_connect_info::<std::net::SocketAddr>()`.
//!
//! ```no_run
//! # async fn demo(api: std::sync::Arc<dyn kc_http::Api>) -> std::io::Result<()> {
//! let options = kc_http::HttpOptions::default();
//! let app = kc_http::router(kc_http::AppState::new(api, options.clone()), axum::Router::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! kc_http::serve(listener, app, options, std::future::pending()).await
//! # }
//! ```

mod client_ip;
mod envelope;
mod extract;
mod limiter;
mod middleware;
pub mod observe;
pub mod openapi;
mod routes;
mod serve;
mod state;

pub use client_ip::{parse_trusted_proxies, ForwardedHeader};
pub use limiter::{BudgetError, FailureBudget, FailureQuota, LocalFailureBudget, Spend};
pub use routes::router;
pub use serve::serve;
pub use state::{Api, AppState, HttpOptions};
