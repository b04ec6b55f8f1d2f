//! Chain providers and the price source, from configuration.

use kc_chain::{
    Chain, CoinGeckoPrices, Erc20Token, EvmRpcProvider, PriceSource, SolanaRpcProvider, SplToken, StaticPrices,
};
use kc_service::config::Settings;
use kc_service::sync::ChainRegistry;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// The registry of configured RPC adapters.
pub fn registry(settings: &Settings) -> Result<ChainRegistry, String> {
    let timeout = Duration::from_secs(settings.chains.timeout_secs);
    let mut registry = ChainRegistry::new();
    for (id, url) in &settings.chains.rpc_urls {
        if url.trim().is_empty() {
            continue;
        }
        let chain: Chain = id.parse().map_err(|e| format!("chains.rpc_urls: {e}"))?;
        let provider: Arc<dyn kc_chain::ChainProvider> = match chain {
            Chain::Solana => Arc::new(
                SolanaRpcProvider::new(url, SplToken::well_known(), timeout).map_err(|e| format!("solana: {e}"))?,
            ),
            Chain::Bitcoin => return Err("chains.rpc_urls: bitcoin has no RPC adapter yet".to_owned()),
            evm => Arc::new(
                EvmRpcProvider::new(evm, url, Erc20Token::well_known(evm), timeout)
                    .map_err(|e| format!("{id}: {e}"))?,
            ),
        };
        registry = registry.with(provider);
    }
    Ok(registry)
}

/// The configured price source.
pub fn prices(settings: &Settings) -> Result<Arc<dyn PriceSource>, String> {
    let p = &settings.prices;
    Ok(match p.source.as_str() {
        "coingecko" => {
            let key = p.api_key.expose_secret();
            Arc::new(
                CoinGeckoPrices::new(
                    &p.base_url,
                    (!key.is_empty()).then(|| key.to_owned().into()),
                    CoinGeckoPrices::default_ids(),
                    Duration::from_secs(p.timeout_secs),
                    Duration::from_secs(p.cache_ttl_secs),
                )
                .map_err(|e| format!("prices: {e}"))?,
            )
        }
        _ => Arc::new(StaticPrices::sandbox()),
    })
}
