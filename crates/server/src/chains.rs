//! Chain providers and the price source, from configuration.

use kc_chain::{
    Chain, CoinGeckoPrices, Erc20Token, EvmRpcProvider, PriceSource, SolanaRpcProvider, SplToken, StaticPrices,
};
use kc_service::catalog::{Availability, Catalog};
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
            Chain::Bitcoin => {
                return Err("chains.rpc_urls: bitcoin is read from an Esplora API: set chains.esplora_url".to_owned())
            }
            evm => Arc::new(
                EvmRpcProvider::new(evm, url, Erc20Token::well_known(evm), timeout)
                    .map_err(|e| format!("{id}: {e}"))?,
            ),
        };
        registry = registry.with(provider);
    }
    let esplora = settings.chains.esplora_url.trim();
    if !esplora.is_empty() {
        let provider = kc_chain::esplora::EsploraProvider::new(esplora, timeout, settings.chains.bitcoin_gap_limit)
            .map_err(|e| format!("chains.esplora_url: {e}"))?;
        registry = registry.with(Arc::new(provider));
    }
    for source in history_sources(settings)? {
        registry = registry.with_history(source);
    }
    Ok(registry)
}

/// The transaction-history sources of the ledger: per chain, the Etherscan-compatible
/// explorer of `chains.explorer_urls` when set, else the JSON-RPC endpoint of
/// `chains.rpc_urls` (EVM: `eth_getLogs` + receipts; Solana: signatures + `getTransaction`).
pub fn history_sources(settings: &Settings) -> Result<Vec<Arc<dyn kc_chain::TransactionSource>>, String> {
    let c = &settings.chains;
    let timeout = Duration::from_secs(c.timeout_secs);
    let mut sources: Vec<Arc<dyn kc_chain::TransactionSource>> = Vec::new();
    for (id, url) in c.explorer_urls.iter().filter(|(_, url)| !url.trim().is_empty()) {
        let chain: Chain = id.parse().map_err(|e| format!("chains.explorer_urls: {e}"))?;
        let key = c.explorer_api_keys.get(id).map(|k| k.expose_secret().to_owned()).filter(|k| !k.is_empty());
        let options = kc_chain::ExplorerOptions { page_size: c.explorer_page_size, ..Default::default() };
        sources.push(Arc::new(
            kc_chain::ExplorerHistory::new(chain, url, key.map(Into::into), options, timeout)
                .map_err(|e| format!("chains.explorer_urls.{id}: {e}"))?,
        ));
    }
    for (id, url) in c.rpc_urls.iter().filter(|(_, url)| !url.trim().is_empty()) {
        let chain: Chain = id.parse().map_err(|e| format!("chains.rpc_urls: {e}"))?;
        if sources.iter().any(|s| s.chain() == chain) {
            continue;
        }
        let source: Arc<dyn kc_chain::TransactionSource> = match chain {
            Chain::Solana => {
                let options = kc_chain::SolanaHistoryOptions { page_size: c.solana_page_size, ..Default::default() };
                Arc::new(
                    kc_chain::SolanaHistory::new(url, SplToken::well_known(), options, timeout)
                        .map_err(|e| format!("solana history: {e}"))?,
                )
            }
            Chain::Bitcoin => continue,
            evm => {
                let options = kc_chain::EvmHistoryOptions {
                    blocks_per_page: c.history_blocks_per_page,
                    log_span: c.log_span_blocks,
                    scan_blocks: c.scan_blocks,
                    traces: c.traces,
                    confirmations: c.confirmations,
                    ..Default::default()
                };
                Arc::new(
                    kc_chain::EvmRpcHistory::new(evm, url, Erc20Token::well_known(evm), options, timeout)
                        .map_err(|e| format!("{id} history: {e}"))?,
                )
            }
        };
        sources.push(source);
    }
    Ok(sources)
}

/// The configured price source; its cache ages on `clock`.
pub fn prices(settings: &Settings, clock: Arc<dyn kc_domain::Clock>) -> Result<Arc<dyn PriceSource>, String> {
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
                .map_err(|e| format!("prices: {e}"))?
                .with_clock(clock),
            )
        }
        _ => Arc::new(StaticPrices::sandbox()),
    })
}

/// The configured historical price source of the ledger: the documented static table
/// (sandbox and development; see `kc_chain::StaticHistoricalPrices`) unless an adapter is
/// configured.
pub fn historical_prices(settings: &Settings) -> Result<Arc<dyn kc_chain::HistoricalPriceSource>, String> {
    let p = &settings.prices;
    Ok(match p.history_source.as_str() {
        "coingecko" => {
            let key = p.api_key.expose_secret();
            let options = kc_chain::CoinGeckoHistoryOptions {
                window_days: p.history_window_days,
                max_retries: p.max_retries,
                backoff: Duration::from_millis(p.retry_backoff_ms),
            };
            Arc::new(
                kc_chain::CoinGeckoHistory::new(
                    &p.base_url,
                    (!key.is_empty()).then(|| key.to_owned().into()),
                    CoinGeckoPrices::default_ids(),
                    options,
                    Duration::from_secs(p.timeout_secs),
                )
                .map_err(|e| format!("prices.history_source: {e}"))?,
            )
        }
        "static" => Arc::new(kc_chain::StaticHistoricalPrices::sandbox()),
        other => return Err(format!("prices.history_source: unknown source {other:?} (static or coingecko)")),
    })
}

/// The exchange connectors: every built-in one (Binance, Coinbase, Kraken, OKX) not listed in
/// `exchanges.disabled`, on its public API URL or the one of `exchanges.base_urls`.
pub fn connectors(settings: &Settings) -> Result<kc_chain::exchanges::ConnectorRegistry, String> {
    use kc_chain::exchanges::{ConnectorRegistry, ExchangeOptions};
    let x = &settings.exchanges;
    let mut registry = ConnectorRegistry::new();
    for id in BUILT_IN_EXCHANGES {
        if x.disabled.iter().any(|d| d.eq_ignore_ascii_case(id)) {
            continue;
        }
        let base = x
            .base_urls
            .get(id)
            .filter(|u| !u.trim().is_empty())
            .map(String::as_str)
            .or_else(|| kc_chain::exchanges::default_base_url(id))
            .unwrap_or_default();
        let options = ExchangeOptions {
            base_url: base.to_owned(),
            timeout: Duration::from_secs(x.timeout_secs.max(1)),
            max_retries: x.max_retries,
            max_wait: Duration::from_secs(x.max_wait_secs),
        };
        if let Some(built) = kc_chain::exchanges::build(id, options) {
            registry = registry.with(built.map_err(|e| format!("exchanges.base_urls.{id}: {e}"))?);
        }
    }
    Ok(registry)
}

/// The exchanges this server has a connector for.
const BUILT_IN_EXCHANGES: [&str; 4] = ["binance", "coinbase", "kraken", "okx"];

/// Whether this server can sync each catalogue provider, from its configuration: an exchange
/// with a connector (not disabled) syncs, others are never offered; Bitcoin needs
/// `chains.esplora_url`; a chain with an RPC URL
/// syncs any address; Ethereum and Solana without one sync only the sandbox test address
/// (offered to sandbox clients only); other EVM chains without one sync nothing.
pub fn availability(settings: &Settings) -> impl Fn(&kc_api::WidgetProvider) -> Availability {
    let with_rpc: Vec<String> = settings
        .chains
        .rpc_urls
        .iter()
        .filter(|(_, url)| !url.trim().is_empty())
        .map(|(id, _)| id.to_ascii_lowercase())
        .collect();
    let disabled: Vec<String> = settings.exchanges.disabled.iter().map(|d| d.to_ascii_lowercase()).collect();
    let esplora = !settings.chains.esplora_url.trim().is_empty();
    move |p| {
        let id = p.provider.id.as_str();
        match (p.provider.kind.as_str(), p.chain.as_deref()) {
            ("exchange", _) if disabled.iter().any(|d| d == id) => {
                Availability::Unavailable("switched off in exchanges.disabled".to_owned())
            }
            ("exchange", _) if BUILT_IN_EXCHANGES.contains(&id) => Availability::Live,
            ("exchange", _) => Availability::Unavailable(
                "this server has no connector for this exchange (it has binance, coinbase, kraken, okx)".to_owned(),
            ),
            (_, Some("bitcoin")) if esplora => Availability::Live,
            (_, Some("bitcoin")) => Availability::Unavailable("no Esplora API URL in chains.esplora_url".to_owned()),
            _ if with_rpc.iter().any(|c| c == id) => Availability::Live,
            _ if kc_domain::SANDBOX_PROVIDERS.contains(&id) => Availability::SandboxOnly(
                "no RPC URL in chains.rpc_urls: only the sandbox test address syncs, so only sandbox clients see it"
                    .to_owned(),
            ),
            _ => Availability::Unavailable("no RPC URL in chains.rpc_urls".to_owned()),
        }
    }
}

/// Logs, once at start, which providers this server does not offer (or offers to sandbox
/// clients only) and why: one line per reason.
pub fn log_availability(catalog: &Catalog) {
    let mut hidden: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    let mut sandbox_only: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for p in catalog.all() {
        match catalog.availability(&p.provider.id) {
            Availability::Live => {}
            Availability::SandboxOnly(why) => sandbox_only.entry(why).or_default().push(&p.provider.id),
            Availability::Unavailable(why) => hidden.entry(why).or_default().push(&p.provider.id),
        }
    }
    for (why, ids) in sandbox_only {
        tracing::info!(providers = %ids.join(", "), reason = %why, "providers offered to sandbox clients only");
    }
    for (why, ids) in hidden {
        tracing::warn!(providers = %ids.join(", "), reason = %why, "providers hidden: this server cannot sync them");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::load_with(None, env).expect("valid settings")
    }

    #[test]
    fn history_sources_prefer_the_explorer_then_the_rpc_endpoint() {
        let s = settings(&[
            ("KRYPTOS__CHAINS__RPC_URLS__ETHEREUM", "http://127.0.0.1:8545"),
            ("KRYPTOS__CHAINS__RPC_URLS__POLYGON", "http://127.0.0.1:8546"),
            ("KRYPTOS__CHAINS__RPC_URLS__SOLANA", "http://127.0.0.1:8899"),
            ("KRYPTOS__CHAINS__EXPLORER_URLS__ETHEREUM", "https://api.etherscan.io/v2/api?chainid=1"),
            ("KRYPTOS__CHAINS__EXPLORER_URLS__BASE", "https://api.basescan.org/api"),
            ("KRYPTOS__CHAINS__EXPLORER_API_KEYS__ETHEREUM", "123456"),
            ("KRYPTOS__CHAINS__SCAN_BLOCKS", "true"),
            ("KRYPTOS__CHAINS__TRACES", "true"),
        ]);
        assert!(s.unknown_keys.is_empty(), "{:?}", s.unknown_keys);
        assert!(s.chains.scan_blocks && s.chains.traces);
        assert_eq!(s.chains.explorer_api_keys["ethereum"].expose_secret(), "123456");
        let mut chains: Vec<Chain> = history_sources(&s).expect("sources").iter().map(|h| h.chain()).collect();
        chains.sort();
        assert_eq!(chains, vec![Chain::Ethereum, Chain::Polygon, Chain::Base, Chain::Solana], "one source per chain");
        assert!(registry(&s).is_ok());

        let defaults = settings(&[]);
        assert!(history_sources(&defaults).expect("none").is_empty(), "no endpoint, no source");
        let bad = settings(&[("KRYPTOS__CHAINS__EXPLORER_URLS__SOLANA", "https://x.example/api")]);
        assert!(history_sources(&bad).is_err(), "explorers are EVM only");
    }

    #[test]
    fn historical_prices_are_static_or_coingecko() {
        assert!(historical_prices(&settings(&[])).is_ok());
        let cg = settings(&[("KRYPTOS__PRICES__HISTORY_SOURCE", "coingecko")]);
        assert_eq!(cg.prices.history_window_days, 180);
        assert!(historical_prices(&cg).is_ok());
        assert!(historical_prices(&settings(&[("KRYPTOS__PRICES__HISTORY_SOURCE", "oracle")])).is_err());
    }
}
