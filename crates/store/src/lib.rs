//! Persistence for Kryptos Connect: sea-orm entities and migrations, and [`SeaStore`], the
//! implementation of the store port (`kc-ports`) on SQLite (the embedded
//! default) and PostgreSQL.
//!
//! Only digests of tokens and keyed digests of client secrets are ever written.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kc_store::StoreError> {
//! let store = kc_store::SeaStore::connect(&kc_store::DatabaseSettings::new("sqlite::memory:")).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

pub mod entity;
mod error;
pub mod migration;
mod sea;

pub use error::db_err;
/// The store port this crate implements (re-exported from `kc-ports`).
pub use kc_ports::store::*;
pub use sea::{DatabaseSettings, SeaStore};
