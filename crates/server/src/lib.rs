//! The Kryptos Connect server: [`Application`] wires configuration, storage, the service
//! and the HTTP adapter together; the `kryptos-connect` binary adds the command line.

pub mod app;
pub mod chains;
pub mod demo;
pub mod guards;
pub mod limits;
pub mod mail;
pub mod monitoring;
pub mod secrets;
pub mod telemetry;

pub use app::{Application, BuildError};
