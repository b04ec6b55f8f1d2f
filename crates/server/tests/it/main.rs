//! Black-box tests: a real server on a random port, a real database (SQLite file or a
//! fresh PostgreSQL database per test), spoken to over HTTP only.
#![allow(dead_code)]

mod helpers;
/// The SMTP sink shared with the browser tests.
#[path = "../e2e/smtp.rs"]
mod smtp;

mod audit;
mod concurrency;
mod connect_flow;
mod data_api;
mod errors;
mod expiry;
mod integration_delete;
mod resilience;
mod security;
mod sync_worker;
mod webhooks;
