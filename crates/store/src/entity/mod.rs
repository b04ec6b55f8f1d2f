//! sea-orm entities, one module per table. Timestamps are Unix epoch milliseconds (UTC).
#![allow(missing_docs)]

pub mod access_token;
pub mod audit_event;
pub mod balance_snapshot;
pub mod client;
pub mod email_code;
pub mod grant;
pub mod integration;
pub mod link_token;
pub mod membership;
pub mod public_token;
pub mod sync_job;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod workspace;
