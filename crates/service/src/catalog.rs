//! The provider catalogue shipped with the server (`catalog/providers.json`).

use kc_api::{PublicProvider, WidgetProvider};
use kc_domain::{ChainFamily, ProviderKind};

const PROVIDERS_JSON: &str = include_str!("../catalog/providers.json");

/// Every provider the server can connect.
#[derive(Debug, Clone)]
pub struct Catalog {
    providers: Vec<WidgetProvider>,
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
        Self { providers }
    }

    /// All providers.
    pub fn all(&self) -> &[WidgetProvider] {
        &self.providers
    }

    /// The provider with `id`.
    pub fn get(&self, id: &str) -> Option<&WidgetProvider> {
        self.providers.iter().find(|p| p.provider.id == id)
    }

    /// The public objects.
    pub fn public(&self) -> Vec<PublicProvider> {
        self.providers.iter().map(|p| p.provider.clone()).collect()
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
}
