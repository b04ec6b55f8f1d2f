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
//! `app.into_make_service_with_connect_info::<std::net::SocketAddr>()`. Without it every
//! caller shares one "unknown address" failure budget (still limited, but one client's bad
//! secrets slow down all the others) and the first such request logs the misconfiguration.
//!
//! To mount it in a host app under a prefix, set [`HttpOptions::public_url`] to the URL with
//! that path (see there) and nest it:
//!
//! ```no_run
//! # async fn demo(api: std::sync::Arc<dyn kc_http::Api>) -> std::io::Result<()> {
//! let options = kc_http::HttpOptions {
//!     public_url: "http://127.0.0.1:8080/kryptos".to_owned(),
//!     public_origin: "http://127.0.0.1:8080".to_owned(),
//!     ..kc_http::HttpOptions::default()
//! };
//! let kc = kc_http::router(kc_http::AppState::new(api, options), axum::Router::new());
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "host" })).nest("/kryptos", kc);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```
//!
//! ```no_run
//! # async fn demo(api: std::sync::Arc<dyn kc_http::Api>) -> std::io::Result<()> {
//! let options = kc_http::HttpOptions::default();
//! let app = kc_http::router(kc_http::AppState::new(api, options.clone()), axum::Router::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! kc_http::serve(listener, app, options, std::future::pending()).await
//! # }
//! ```

mod base_path;
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

pub use base_path::base_path;
pub use client_ip::{parse_trusted_proxies, ForwardedHeader};
pub use limiter::{BudgetError, FailureBudget, FailureQuota, LocalFailureBudget, Spend};
pub use routes::router;
pub use serve::serve;
pub use state::{Api, AppState, HttpOptions};
