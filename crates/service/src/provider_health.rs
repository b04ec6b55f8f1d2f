//! What the syncs of this process learned about each provider: whether the last sync that
//! used it reached it. `/readyz` reports it without making a network call of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// The last outcome of a provider, as a sync saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderProbe {
    /// `None`: reached; `Some(cause)`: unreachable (transport failure, RPC error, maintenance).
    pub down: Option<String>,
    /// When.
    pub at: OffsetDateTime,
}

/// The last outcome per provider id. Shared by the sync workers and the service of a process.
#[derive(Debug, Default)]
pub struct ProviderHealth {
    last: Mutex<HashMap<String, ProviderProbe>>,
}

impl ProviderHealth {
    /// A sync reached `provider` at `at`.
    pub fn reached(&self, provider: &str, at: OffsetDateTime) {
        self.set(provider, ProviderProbe { down: None, at });
    }

    /// A sync could not reach `provider` at `at`, because of `cause` (technical).
    pub fn unreachable(&self, provider: &str, cause: &str, at: OffsetDateTime) {
        self.set(provider, ProviderProbe { down: Some(cause.to_owned()), at });
    }

    fn set(&self, provider: &str, probe: ProviderProbe) {
        if let Ok(mut last) = self.last.lock() {
            last.insert(provider.to_owned(), probe);
        }
    }

    /// The last outcome of every provider a sync used, by id.
    pub fn snapshot(&self) -> HashMap<String, ProviderProbe> {
        self.last.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_outcome_wins() {
        let h = ProviderHealth::default();
        let t = OffsetDateTime::UNIX_EPOCH;
        h.unreachable("binance", "transport: cannot connect", t);
        assert_eq!(h.snapshot()["binance"].down.as_deref(), Some("transport: cannot connect"));
        h.reached("binance", t + time::Duration::minutes(1));
        assert_eq!(h.snapshot()["binance"], ProviderProbe { down: None, at: t + time::Duration::minutes(1) });
        assert!(!h.snapshot().contains_key("kraken"));
    }
}
