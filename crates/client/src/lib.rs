//! A Rust client for Kryptos Connect: the `kc-api` traits implemented over HTTP.
//!
//! - [`ConnectClient`] is what a client backend uses: one app's credentials, the Connect API
//!   (link tokens, exchange, check-session, grants, revocation), the developer endpoints and the
//!   Data API (`userinfo`, `integrations`, `holdings`, `transactions`).
//! - [`Client`] is the transport. It implements [`kc_api::ConnectApi`], [`kc_api::WidgetApi`],
//!   [`kc_api::DataApi`], [`kc_api::DeveloperApi`], [`kc_api::HealthApi`] and
//!   [`kc_api::ProvidersApi`], so code written against those traits runs unchanged in-process
//!   (`kc-service`) or against a remote server.
//!
//! Errors are typed: [`ClientError::Api`] carries the HTTP status, the server's SPEC §5
//! [`ErrorCode`](kc_api::ErrorCode) and its message; `From<ClientError> for ApiError` keeps the
//! code. TLS is rustls; redirects are never followed (they would carry the client secret
//! elsewhere); plain `http` is refused except to loopback hosts unless explicitly allowed.
//! Every request has a timeout. Reads and check-session are retried with jittered exponential
//! backoff on connection errors and 502/503/504; calls that change state — above all the token
//! exchange — are retried only if the connection could not even be opened, so a public token is
//! never sent twice. Secrets (client secret, access, link and public tokens) never appear in
//! `Debug` output and are marked sensitive in headers.
//!
//! # Example
//!
//! The whole token lifecycle against a server (here one started in-process on SQLite; the
//! widget, which normally runs in the user's browser, is driven headlessly through
//! [`kc_api::WidgetApi`]):
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("kc-client-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let mut settings = kc_service::config::Settings::load_with(None, [])?;
//! # settings.data_dir = dir.clone();
//! # settings.database.url = format!("sqlite://{}?mode=rwc", dir.join("kryptos.db").display());
//! # settings.server.listen = "127.0.0.1:0".to_owned();
//! # settings.security.pepper = "doc-pepper-doc-pepper-doc-pepper-doc".to_owned().into();
//! # settings.demo.enabled = false;
//! # let app = kc_server::Application::build(&settings).await?;
//! # let base_url = format!("http://127.0.0.1:{}", app.port());
//! # let (registered, secret) = app.service().register_client(kc_service::NewClient::sandbox("Docs")).await?;
//! # let (client_id, client_secret) = (registered.id.to_string(), secret.expose().to_owned());
//! # tokio::spawn(app.run_until(std::future::pending()));
//! use kc_client::api::{ClientCredentials, ConsentRequest, CreateLinkTokenRequest};
//! use kc_client::api::{LinkTokenCredential, RequestMeta, WidgetApi};
//! use kc_client::Client;
//!
//! // Once, at start-up of your backend.
//! let kryptos = Client::new(base_url)?.with_credentials(ClientCredentials::new(client_id, client_secret));
//!
//! // 1. The Web SDK's `generateLinkToken` asks your backend for a link token.
//! let link = kryptos.create_link_token(CreateLinkTokenRequest::default()).await?;
//! assert!(link.link_token.starts_with("link_"));
//!
//! // 2. The user goes through the widget (headless here), which yields a public token.
//! let (widget, meta) = (kryptos.client(), RequestMeta::default());
//! let lt = LinkTokenCredential::new(&link.link_token);
//! widget.auth_anonymous(&lt, &meta).await?;
//! widget.consent(&lt, &meta, ConsentRequest { approve: true }).await?;
//! let public_token = widget.complete(&lt, &meta).await?.public_token.expect("a new user");
//!
//! // 3. Your backend exchanges it, once, and stores the access token and grant id.
//! let grant = kryptos.exchange_public_token(&public_token).await?;
//! assert_eq!(grant.expires_in, 473_040_000);
//! assert!(!format!("{grant:?}").contains(grant.access_token.expose()), "Debug hides the token");
//!
//! // 4. Later: is the stored token still good?
//! assert!(kryptos.check_session(&grant.access_token).await?.has_valid_session);
//!
//! // 5. The user disconnects; the token is dead at once.
//! kryptos.revoke_grant(&grant.grant_id).await?;
//! let session = kryptos.check_session(&grant.access_token).await?;
//! assert_eq!(session.reason.as_deref(), Some("token_revoked"));
//!
//! // Errors carry the server's code.
//! let again = kryptos.exchange_public_token(&public_token).await.unwrap_err();
//! assert_eq!(again.code(), Some(kc_client::api::ErrorCode::TokenAlreadyUsed));
//! # Ok(())
//! # }
//! ```
//!
//! `examples/backend` in the repository is a complete client backend (axum) built on this crate.

mod connect;
mod data;
mod error;
mod retry;
mod transport;
mod widget;

pub use connect::{AccessGrant, ConnectClient};
pub use error::ClientError;
pub use retry::RetryPolicy;
pub use transport::{BuildError, Client, ClientBuilder};

/// The request and response types, traits and error codes this client speaks (`kc-api`).
pub use kc_api as api;
