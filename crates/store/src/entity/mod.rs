//! sea-orm entities, one module per table. Timestamps are Unix epoch milliseconds (UTC).
#![allow(missing_docs)]

pub mod access_token;
pub mod audit_event;
pub mod balance_snapshot;
pub mod client;
pub mod email_code;
pub mod grant;
pub mod integration;
pub mod ledger_leg;
pub mod ledger_position;
pub mod ledger_setting;
pub mod ledger_state;
pub mod ledger_transaction;
pub mod link_token;
pub mod membership;
pub mod public_token;
pub mod sync_job;
pub mod user;
pub mod wallet_nonce;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod workspace;
