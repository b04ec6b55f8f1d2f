//! The sandbox adapter: fixed balances, no I/O.

use crate::chain::Chain;
use crate::chain::ChainError;
use crate::chain::ChainProvider;
use crate::chain::{AssetInfo, Balance};
use rust_decimal::Decimal;

/// Fixed balances for the sandbox test addresses (SPEC §6), without any I/O.
///
/// | chain | address | balances |
/// |---|---|---|
/// | `ethereum` | `0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa` (any case) | 1.5 ETH; 2500 USDC (`ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48`, 6 decimals) |
/// | `solana` | `2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1` | 12.5 SOL |
///
/// Any other valid address of the provider's chain holds nothing (an empty list);
/// an invalid one is [`ChainError::UnsupportedAddress`]. No other error occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxProvider {
    chain: Chain,
}

impl SandboxProvider {
    /// The Ethereum sandbox test address.
    pub const ETHEREUM_TEST_ADDRESS: &'static str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
    /// The Solana sandbox test address.
    pub const SOLANA_TEST_ADDRESS: &'static str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";
    /// The USDC contract on Ethereum, as held by the Ethereum test address.
    pub const USDC_CONTRACT: &'static str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";

    /// A sandbox provider for `chain`.
    pub fn new(chain: Chain) -> Self {
        Self { chain }
    }

    /// The fixed balances of `address` (already normalized) on `chain`.
    fn fixed(chain: Chain, address: &str) -> Vec<Balance> {
        match chain {
            Chain::Ethereum if address == Self::ETHEREUM_TEST_ADDRESS => vec![
                Balance { asset: chain.native_asset(), quantity: Decimal::new(15, 1) },
                Balance {
                    asset: AssetInfo::token(chain, Self::USDC_CONTRACT, "USDC", "USD Coin", 6),
                    quantity: Decimal::new(2500, 0),
                },
            ],
            Chain::Solana if address == Self::SOLANA_TEST_ADDRESS => {
                vec![Balance { asset: chain.native_asset(), quantity: Decimal::new(125, 1) }]
            }
            _ => Vec::new(),
        }
    }
}

#[async_trait::async_trait]
impl ChainProvider for SandboxProvider {
    fn chain(&self) -> Chain {
        self.chain
    }

    /// See the type's table. Errors: [`ChainError::UnsupportedAddress`] only.
    async fn balances(&self, address: &str) -> Result<Vec<Balance>, ChainError> {
        let address = self.chain.family().validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        Ok(Self::fixed(self.chain, &address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_balances_are_fixed() {
        let eth = SandboxProvider::new(Chain::Ethereum);
        let upper = "0x47C2E31E9CE22437BCF6313D2B9E98245A7BFCFA";
        for address in [SandboxProvider::ETHEREUM_TEST_ADDRESS, upper] {
            let balances = eth.balances(address).await.expect("test address");
            let shown: Vec<(String, String, String)> = balances
                .iter()
                .map(|b| (b.asset.token_id.clone(), b.asset.symbol.clone(), b.quantity.to_string()))
                .collect();
            assert_eq!(
                shown,
                vec![
                    ("ethereum".into(), "ETH".into(), "1.5".into()),
                    ("ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".into(), "USDC".into(), "2500".into()),
                ],
                "balances of {address}"
            );
        }
        let sol = SandboxProvider::new(Chain::Solana);
        let balances = sol.balances(SandboxProvider::SOLANA_TEST_ADDRESS).await.expect("test address");
        assert_eq!(balances.len(), 1);
        assert_eq!((balances[0].asset.symbol.as_str(), balances[0].quantity.to_string()), ("SOL", "12.5".into()));

        let other = eth.balances("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").await;
        assert_eq!(other, Ok(vec![]), "other addresses hold nothing");
        let polygon = SandboxProvider::new(Chain::Polygon).balances(SandboxProvider::ETHEREUM_TEST_ADDRESS).await;
        assert_eq!(polygon, Ok(vec![]), "the test address holds nothing on other chains");
        assert_eq!(eth.balances(SandboxProvider::SOLANA_TEST_ADDRESS).await, Err(ChainError::UnsupportedAddress));
        assert_eq!(sol.balances(SandboxProvider::ETHEREUM_TEST_ADDRESS).await, Err(ChainError::UnsupportedAddress));
    }
}
