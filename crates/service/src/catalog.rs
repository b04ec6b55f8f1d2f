//! The provider catalogue shipped with the server (`catalog/providers.json`).

use kc_api::{PublicProvider, WidgetProvider};
use kc_domain::{ChainFamily, ClientMode, ProviderKind};
use std::collections::HashMap;

const PROVIDERS_JSON: &str = include_str!("../catalog/providers.json");

/// Whether this server can sync a provider's balances (see [`Catalog::with_availability`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Any address or account syncs.
    Live,
    /// Only the sandbox test address syncs (a chain without an RPC URL): offered to sandbox
    /// clients, hidden from production clients.
    SandboxOnly(String),
    /// Nothing syncs (no connector or adapter): never offered. The reason is logged at start.
    Unavailable(String),
}

/// Every provider the server can connect.
#[derive(Debug, Clone)]
pub struct Catalog {
    providers: Vec<WidgetProvider>,
    /// Per provider id; a provider without an entry is [`Availability::Live`].
    availability: HashMap<String, Availability>,
}

impl Catalog {
    /// The built-in catalogue, with logos served under `base_url` (`{base_url}/logos/{id}.svg`).
    pub fn builtin(base_url: &str) -> Self {
        // The file is embedded at build time and checked by a unit test, so it always parses.
        let mut providers: Vec<WidgetProvider> = serde_json::from_str(PROVIDERS_JSON).unwrap_or_default();
        let base = base_url.trim_end_matches('/');
        for p in &mut providers {
            p.provider.logo = format!("{base}/logos/{}.svg", p.provider.id);
        }
        Self { providers, availability: HashMap::new() }
    }

    /// The catalogue with each provider's [`Availability`] on this server, as `judge`
    /// decides it.
    pub fn with_availability(mut self, judge: impl Fn(&WidgetProvider) -> Availability) -> Self {
        self.availability = self.providers.iter().map(|p| (p.provider.id.clone(), judge(p))).collect();
        self
    }

    /// The availability of the provider with `id` (unknown ids are [`Availability::Unavailable`]).
    pub fn availability(&self, id: &str) -> Availability {
        match self.get(id) {
            Some(_) => self.availability.get(id).cloned().unwrap_or(Availability::Live),
            None => Availability::Unavailable("unknown provider".to_owned()),
        }
    }

    /// Whether a client in `mode` can sync the provider `id` on this server.
    pub fn works_for(&self, id: &str, mode: ClientMode) -> bool {
        match self.availability(id) {
            Availability::Live => true,
            Availability::SandboxOnly(_) => mode == ClientMode::Sandbox,
            Availability::Unavailable(_) => false,
        }
    }

    /// The providers a client in `mode` may see, `isWorking` set for this server: a sandbox
    /// client sees only the sandbox providers.
    pub fn for_mode(&self, mode: ClientMode) -> Vec<WidgetProvider> {
        self.providers
            .iter()
            .filter(|p| {
                mode == ClientMode::Production || kc_domain::SANDBOX_PROVIDERS.contains(&p.provider.id.as_str())
            })
            .map(|p| {
                let mut p = p.clone();
                p.provider.is_working = p.provider.is_working && self.works_for(&p.provider.id, mode);
                p
            })
            .collect()
    }

    /// All providers.
    pub fn all(&self) -> &[WidgetProvider] {
        &self.providers
    }

    /// The provider with `id`.
    pub fn get(&self, id: &str) -> Option<&WidgetProvider> {
        self.providers.iter().find(|p| p.provider.id == id)
    }

    /// The public objects; `isWorking` says whether any address or account syncs on this
    /// server (a chain that syncs only the sandbox test address is not working).
    pub fn public(&self) -> Vec<PublicProvider> {
        self.providers
            .iter()
            .map(|p| {
                let mut p = p.provider.clone();
                p.is_working = p.is_working && self.works_for(&p.id, ClientMode::Production);
                p
            })
            .collect()
    }
}

/// How a catalogue provider connects.
pub fn kind_of(p: &WidgetProvider) -> Option<ProviderKind> {
    match (p.provider.kind.as_str(), p.chain.as_deref()) {
        ("exchange", _) => Some(ProviderKind::Exchange),
        ("wallet", Some("evm")) => Some(ProviderKind::Wallet(ChainFamily::Evm)),
        ("wallet", Some("solana")) => Some(ProviderKind::Wallet(ChainFamily::Solana)),
        ("wallet", Some("bitcoin")) => Some(ProviderKind::Wallet(ChainFamily::Bitcoin)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_parses_and_every_provider_has_a_kind() {
        let all: Vec<WidgetProvider> = serde_json::from_str(PROVIDERS_JSON).expect("providers.json parses");
        assert!(all.len() >= 10);
        for p in &all {
            assert!(kind_of(p).is_some(), "{} has a kind", p.provider.id);
        }
        let c = Catalog::builtin("http://x");
        assert_eq!(c.get("ethereum").map(|p| p.provider.logo.as_str()), Some("http://x/logos/ethereum.svg"));
        assert!(c.get("solana").is_some() && c.get("binance").is_some() && c.get("bitcoin").is_some());
    }

    #[test]
    fn availability_decides_is_working_per_client_mode() {
        let c = Catalog::builtin("").with_availability(|p| match p.provider.id.as_str() {
            "bitcoin" => Availability::Unavailable("no adapter".into()),
            "ethereum" | "solana" => Availability::SandboxOnly("no RPC URL".into()),
            "polygon" => Availability::Live,
            _ => Availability::Unavailable("no connector".into()),
        });
        let working = |mode| {
            c.for_mode(mode).into_iter().filter(|p| p.provider.is_working).map(|p| p.provider.id).collect::<Vec<_>>()
        };
        assert_eq!(working(ClientMode::Sandbox), vec!["ethereum", "solana"]);
        assert_eq!(working(ClientMode::Production), vec!["polygon"]);
        assert_eq!(c.for_mode(ClientMode::Production).len(), c.all().len(), "production lists every provider");
        let public: Vec<_> = c.public().into_iter().filter(|p| p.is_working).map(|p| p.id).collect();
        assert_eq!(public, vec!["polygon"]);
        assert!(Catalog::builtin("").public().iter().all(|p| p.is_working), "live unless told otherwise");
    }
}
