//! The business logic of Kryptos Connect: [`Service`] implements the `kc-api` traits
//! ([`kc_api::ConnectApi`], [`kc_api::WidgetApi`]) on the [`kc_ports::Store`] port, with
//! time, randomness and storage injected so the whole service can be embedded in a larger
//! system or tested with a mocked store and a manual clock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kc_service::{Service, Ports};
//! use kc_store::{DatabaseSettings, SeaStore};
//! let store = SeaStore::connect(&DatabaseSettings::new("sqlite::memory:")).await?;
//! store.migrate().await?;
//! let service = Service::new(Ports::system(Arc::new(store), b"pepper-of-32-bytes-or-more.......".to_vec()));
//! let (client, secret) = service
//!     .register_client(kc_service::NewClient::sandbox("My app"))
//!     .await?;
//! println!("{} {}", client.id, secret.expose());
//! # Ok(()) }
//! ```

mod admin;
mod audit;
mod background;
pub mod catalog;
pub mod config;
mod connect;
pub mod console;
pub mod csv_formats;
mod csv_import;
mod cursor;
mod data;
mod email_sign_in;
pub mod embed;
mod integrations;
pub mod ledger;
pub mod mailer;
pub mod oidc;
mod processing_lock;
pub mod provider_health;
pub mod retention;
mod service;
pub mod sync;
mod transactions;
mod wallets;
pub mod webhooks;
mod widget;

#[cfg(test)]
mod tests;

pub use admin::{AdminError, ClientUpdate, NewClient};
pub use audit::AuditKind;
pub use embed::{Embedded, EmbeddedBuilder, FullStore, Running, Workers};
pub use service::{Ports, Service};
