//! The transport-agnostic surface of Kryptos Connect: async traits split by
//! capability, and the request/response DTOs they exchange.
//!
//! `kc-service` implements these traits on a store; `kc-http` exposes them over
//! HTTP; `kc-client` implements them again over HTTP, so code written against a
//! trait runs unchanged in-process or remotely.
//!
//! ```
//! use kc_api::{ApiError, ErrorCode};
//! let e = ApiError::new(ErrorCode::TokenAlreadyUsed, "public token was already exchanged");
//! assert_eq!(e.code.as_str(), "TOKEN_ALREADY_USED");
//! ```

mod admin;
mod connect;
mod credentials;
mod csv_import;
mod data;
mod error;
mod health;
mod integrations;
mod oidc;
mod transactions;
mod wallets;
mod widget;

pub use admin::*;
pub use connect::*;
pub use credentials::{ClientCredentials, LinkTokenCredential, RequestMeta};
pub use csv_import::{CsvImportApi, CsvImportResponse, CSV_MAX_BYTES};
pub use data::*;
pub use error::{ApiError, ApiResult, ParamIssue};
pub use health::{HealthApi, HealthInfo, ProviderReadiness, Readiness};
pub use integrations::*;
pub use kc_domain::ErrorCode;
pub use oidc::*;
pub use transactions::*;
pub use wallets::*;
pub use widget::*;
