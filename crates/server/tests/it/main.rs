//! Black-box tests: a real server on a random port, a real database (SQLite file or a
//! fresh PostgreSQL database per test), spoken to over HTTP only.
#![allow(dead_code)]

mod helpers;
/// The SMTP sink shared with the browser tests.
#[path = "../e2e/smtp.rs"]
mod smtp;

/// The two-node topology behind nginx, shared with `cargo xtask cluster`.
#[path = "../support/cluster.rs"]
mod cluster_support;

/// A host app mounting Kryptos Connect under `/kryptos`, shared with the browser test.
#[path = "../support/host.rs"]
mod host_support;

mod admin_api;
mod audit;
mod clients_update;
mod cluster;
mod concurrency;
mod connect_flow;
mod console;
mod csv_import;
mod data_api;
mod email_limits;
mod errors;
mod exchanges;
mod expiry;
mod explorer_ledger;
#[path = "../../../chain/tests/shared/ganache_install.rs"]
mod ganache_install;
mod ganache_ledger;
mod holdings_prices;
mod integration_delete;
mod ledger_order;
mod limiter;
mod oidc;
mod operations;
mod prefix;
mod proxies;
mod resilience;
mod returning_user;
mod sdk_mobile;
mod sdk_web;
mod security;
mod statement_budget;
mod sync_worker;
mod transactions;
mod wallet_proof;
mod webhooks;
