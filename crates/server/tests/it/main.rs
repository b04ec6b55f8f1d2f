//! Black-box tests: a real server on a random port, a real database (SQLite file or a
//! fresh PostgreSQL database per test), spoken to over HTTP only.
#![allow(dead_code)]

mod helpers;

mod concurrency;
mod connect_flow;
mod errors;
mod expiry;
mod resilience;
mod security;
