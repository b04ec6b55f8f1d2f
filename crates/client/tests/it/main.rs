//! The client against scripted servers: what it sends, how it decodes the documented answers,
//! and when it repeats a call. (The conformance suite in `crates/server/tests/conformance` runs
//! it against the real server.)

mod mock;
mod retries;
mod shapes;
