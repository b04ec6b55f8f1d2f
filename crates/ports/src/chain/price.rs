//! The price port: current USD prices by token id, and the sandbox's fixed table.

use crate::chain::Chain;
use crate::chain::PriceError;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A USD price of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Price {
    /// Price of one whole unit in US dollars.
    pub usd: Decimal,
    /// Change over the last 24 hours, in percent (`-1.5` = down 1.5 %), when known.
    pub change_24h_pct: Option<Decimal>,
}

/// Prices tokens, named by their token ids ([`AssetInfo::token_id`](crate::chain::AssetInfo::token_id)).
#[async_trait::async_trait]
pub trait PriceSource: Send + Sync {
    /// The prices of those of `token_ids` the source knows; a token it does not
    /// know is simply absent from the map (not an error).
    ///
    /// Errors: [`PriceError::Transport`] when the service cannot be reached or
    /// does not answer within the adapter's timeout, [`PriceError::Status`] for an
    /// HTTP error status (429 when rate limited), [`PriceError::Malformed`] when
    /// the reply is not the expected JSON or a number is not a decimal. A
    /// [`StaticPrices`] never fails.
    async fn prices(&self, token_ids: &[String]) -> Result<HashMap<String, Price>, PriceError>;
}

/// A fixed price table, for sandbox and development. [`StaticPrices::sandbox`]
/// (also the `Default`) holds:
///
/// | token id | USD | 24 h % |
/// |---|---|---|
/// | `ethereum`, `arbitrum`, `optimism`, `base` (ETH) | 3000 | 2.5 |
/// | `ethereum:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2` (WETH) | 3000 | 2.5 |
/// | `ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48` (USDC) | 1 | 0 |
/// | `ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7` (USDT) | 1 | 0 |
/// | `ethereum:0x6b175474e89094c44da98b954eedeac495271d0f` (DAI) | 1 | 0 |
/// | `ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599` (WBTC) | 60000 | 1.2 |
/// | `bitcoin` (BTC) | 60000 | 1.2 |
/// | `solana` (SOL) | 150 | -1.8 |
/// | `solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v` (USDC) | 1 | 0 |
/// | `solana:Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB` (USDT) | 1 | 0 |
/// | `polygon` (POL) | 0.5 | -1 |
/// | `bsc` (BNB) | 600 | 0.8 |
/// | `avalanche` (AVAX) | 30 | -3.1 |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPrices {
    table: HashMap<String, Price>,
}

impl StaticPrices {
    /// A source answering from `table` (token id → price).
    pub fn new(table: HashMap<String, Price>) -> Self {
        Self { table }
    }

    /// The documented sandbox table (see the type's documentation).
    pub fn sandbox() -> Self {
        let p = |usd: i64, usd_scale: u32, change: i64, change_scale: u32| Price {
            usd: Decimal::new(usd, usd_scale),
            change_24h_pct: Some(Decimal::new(change, change_scale)),
        };
        let eth = p(3000, 0, 25, 1);
        let stable = p(1, 0, 0, 0);
        let btc = p(60000, 0, 12, 1);
        let rows = [
            (Chain::Ethereum.native_token_id().to_owned(), eth),
            (Chain::Arbitrum.native_token_id().to_owned(), eth),
            (Chain::Optimism.native_token_id().to_owned(), eth),
            (Chain::Base.native_token_id().to_owned(), eth),
            (Chain::Ethereum.token_id("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), eth),
            (Chain::Ethereum.token_id("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"), stable),
            (Chain::Ethereum.token_id("0xdac17f958d2ee523a2206206994597c13d831ec7"), stable),
            (Chain::Ethereum.token_id("0x6b175474e89094c44da98b954eedeac495271d0f"), stable),
            (Chain::Ethereum.token_id("0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"), btc),
            (Chain::Bitcoin.native_token_id().to_owned(), btc),
            (Chain::Solana.native_token_id().to_owned(), p(150, 0, -18, 1)),
            (Chain::Solana.token_id("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"), stable),
            (Chain::Solana.token_id("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"), stable),
            (Chain::Polygon.native_token_id().to_owned(), p(5, 1, -1, 0)),
            (Chain::Bsc.native_token_id().to_owned(), p(600, 0, 8, 1)),
            (Chain::Avalanche.native_token_id().to_owned(), p(30, 0, -31, 1)),
        ];
        Self { table: rows.into_iter().collect() }
    }
}

impl Default for StaticPrices {
    fn default() -> Self {
        Self::sandbox()
    }
}

#[async_trait::async_trait]
impl PriceSource for StaticPrices {
    async fn prices(&self, token_ids: &[String]) -> Result<HashMap<String, Price>, PriceError> {
        Ok(token_ids.iter().filter_map(|id| self.table.get(id).map(|p| (id.clone(), *p))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_prices_answer_known_ids_only() {
        let source = StaticPrices::sandbox();
        let ids = vec!["ethereum".to_owned(), "unknown".to_owned(), "solana".to_owned()];
        let prices = source.prices(&ids).await.expect("static");
        assert_eq!(prices.len(), 2);
        assert_eq!(prices["ethereum"].usd, Decimal::new(3000, 0));
        assert_eq!(prices["solana"].usd, Decimal::new(150, 0));
    }
}
