//! The one place the tracing subscriber is set up.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber: JSON lines for `json`, human-readable otherwise.
/// `RUST_LOG` overrides `filter`. Calling it twice is harmless.
pub fn init(format: &str, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    use std::io::IsTerminal;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let _ = if format == "json" {
        builder.json().flatten_event(true).with_current_span(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
