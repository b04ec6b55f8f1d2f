//! The sandbox history and historical prices: fixed, documented, no I/O.

use crate::chain::AssetInfo;
use crate::chain::Chain;
use crate::chain::SandboxProvider;
use crate::chain::{ChainError, PriceError};
use crate::chain::{
    ChainPosition, HistoricalPriceSource, HistoryLeg, HistoryPage, HistoryTransaction, LegDirection, TransactionSource,
};
use crate::chain::{PriceSource as _, StaticPrices};
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::macros::datetime;
use time::OffsetDateTime;

/// The fixed history of the sandbox test addresses. It sums exactly to the balances
/// [`SandboxProvider`] serves, and with [`StaticHistoricalPrices::sandbox`] gives a cost basis
/// that can be checked by hand (FIFO):
///
/// | date (UTC) | address | legs | price (USD) |
/// |---|---|---|---|
/// | 2024-01-15 10:00 | Ethereum | +1 ETH (Deposit) | 2 000 |
/// | 2024-03-10 10:00 | Ethereum | +1 ETH (Deposit) | 2 600 |
/// | 2024-05-20 10:00 | Ethereum | +2 500 USDC (Deposit) | 1 |
/// | 2024-07-01 10:00 | Ethereum | −0.49 ETH sent, −0.01 ETH fee (Withdrawal) | 3 000 |
/// | 2024-02-01 10:00 | Solana | +10 SOL (Deposit) | 100 |
/// | 2024-04-01 10:00 | Solana | +2.5 SOL (Airdrops) | 100 |
///
/// Ending balances: 1.5 ETH, 2 500 USDC, 12.5 SOL. FIFO: the send and its fee consume 0.5 of
/// the 2 000 lot (cost 1 000, proceeds 1 500, realized gain 500); held: 0.5 ETH @ 2 000 +
/// 1 ETH @ 2 600 = cost basis 3 600 ETH, 2 500 USDC, 1 250 SOL. At the sandbox market prices
/// (ETH 3 000, USDC 1, SOL 150): unrealized PnL 900 (ROI 25 %), 0, 625 (ROI 50 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxHistory {
    chain: Chain,
}

/// One row of the fixed history: (platform id, time, label, legs as (direction, asset, quantity, counterparty)).
type Row = (&'static str, OffsetDateTime, Option<&'static str>, Vec<(LegDirection, AssetInfo, Decimal, &'static str)>);

impl SandboxHistory {
    /// The exchange hot wallet the Ethereum test address received from and sent to.
    pub const ETHEREUM_COUNTERPARTY: &'static str = "0x28c6c06298d514db089934071355e5743bf21d60";
    /// The Solana address the test address received from.
    pub const SOLANA_COUNTERPARTY: &'static str = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";

    /// The sandbox history of `chain`.
    pub fn new(chain: Chain) -> Self {
        Self { chain }
    }

    fn rows(chain: Chain, address: &str) -> Vec<Row> {
        use LegDirection::{Fee, Incoming, Outgoing};
        let eth = Chain::Ethereum.native_asset();
        let usdc = AssetInfo::token(Chain::Ethereum, SandboxProvider::USDC_CONTRACT, "USDC", "USD Coin", 6);
        let sol = Chain::Solana.native_asset();
        let (e, s) = (Self::ETHEREUM_COUNTERPARTY, Self::SOLANA_COUNTERPARTY);
        match chain {
            Chain::Ethereum if address == SandboxProvider::ETHEREUM_TEST_ADDRESS => vec![
                (
                    "0x5a1d0c3f1b7e4e2f9a6c8d0b2e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f01",
                    datetime!(2024-01-15 10:00 UTC),
                    None,
                    vec![(Incoming, eth.clone(), Decimal::ONE, e)],
                ),
                (
                    "0x5a1d0c3f1b7e4e2f9a6c8d0b2e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f02",
                    datetime!(2024-03-10 10:00 UTC),
                    None,
                    vec![(Incoming, eth.clone(), Decimal::ONE, e)],
                ),
                (
                    "0x5a1d0c3f1b7e4e2f9a6c8d0b2e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f03",
                    datetime!(2024-05-20 10:00 UTC),
                    None,
                    vec![(Incoming, usdc, Decimal::new(2500, 0), e)],
                ),
                (
                    "0x5a1d0c3f1b7e4e2f9a6c8d0b2e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f04",
                    datetime!(2024-07-01 10:00 UTC),
                    None,
                    vec![(Outgoing, eth.clone(), Decimal::new(49, 2), e), (Fee, eth, Decimal::new(1, 2), "")],
                ),
            ],
            Chain::Solana if address == SandboxProvider::SOLANA_TEST_ADDRESS => vec![
                (
                    "4sGjMW1sUnHzSxGspuhpqLDx6wiyjNtZAMdL4VZHirAn3BVnpgzUXfczLP8h5mV1UXQ3Gd1pSUx3YG9vkd8Kd1aB",
                    datetime!(2024-02-01 10:00 UTC),
                    None,
                    vec![(Incoming, sol.clone(), Decimal::TEN, s)],
                ),
                (
                    "3nBvTjXyNQv8RkB2Yk6rV1b3P9yF7uJb6dQkW2sHkS6mV7e1Zt4pJd9QxL5rF8cN2aH7gT3uY6iK9oP1sD4fG5hJ",
                    datetime!(2024-04-01 10:00 UTC),
                    Some("Airdrops"),
                    vec![(Incoming, sol, Decimal::new(25, 1), s)],
                ),
            ],
            _ => Vec::new(),
        }
    }
}

#[async_trait::async_trait]
impl TransactionSource for SandboxHistory {
    fn chain(&self) -> Chain {
        self.chain
    }

    /// The whole fixed history in one page, whatever the cursor; the cursor returned is
    /// `"sandbox"` (a resync adds nothing new: the ledger ignores transactions it has).
    async fn transactions(&self, address: &str, cursor: Option<&str>) -> Result<HistoryPage, ChainError> {
        let address = self.chain.family().validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        if cursor.is_some_and(|c| c != "sandbox") {
            return Err(ChainError::Malformed("not a sandbox history cursor".to_owned()));
        }
        let transactions = Self::rows(self.chain, &address)
            .into_iter()
            .enumerate()
            .map(|(row, (id, timestamp, label, legs))| HistoryTransaction {
                id: id.to_owned(),
                timestamp,
                position: ChainPosition::new(0, row as u64),
                failed: false,
                label: label.map(str::to_owned),
                raw: serde_json::json!({ "source": "sandbox", "hash": id, "blockTime": timestamp.unix_timestamp() }),
                legs: legs
                    .into_iter()
                    .map(|(direction, asset, quantity, other)| {
                        let (from, to) = match direction {
                            LegDirection::Incoming => (Some(other.to_owned()), Some(address.clone())),
                            LegDirection::Outgoing => (Some(address.clone()), Some(other.to_owned())),
                            LegDirection::Fee => (Some(address.clone()), None),
                        };
                        HistoryLeg { asset, quantity, direction, from, to }
                    })
                    .collect(),
            })
            .collect();
        Ok(HistoryPage { transactions, cursor: Some("sandbox".to_owned()), has_more: false })
    }
}

/// Historical prices from a fixed table of dated points per token id: the price at an
/// instant is that of the latest point at or before it (the first point before any); a
/// token without points is priced at its [`StaticPrices`] price, so every asset the
/// sandbox and development prices know has a price at any time.
///
/// [`StaticHistoricalPrices::sandbox`] holds the points of [`SandboxHistory`]: ETH 2 000 from
/// 2024-01-01, 2 600 from 2024-03-01, 3 000 from 2024-06-01; SOL 100 from 2024-01-01 (then
/// the static 150 from 2024-06-01); USDC 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticHistoricalPrices {
    points: HashMap<String, Vec<(OffsetDateTime, Decimal)>>,
    current: StaticPrices,
}

impl StaticHistoricalPrices {
    /// A table of points per token id, falling back to `current`.
    pub fn new(points: HashMap<String, Vec<(OffsetDateTime, Decimal)>>, current: StaticPrices) -> Self {
        let points = points
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by_key(|(t, _)| *t);
                (k, v)
            })
            .collect();
        Self { points, current }
    }

    /// The documented sandbox table.
    pub fn sandbox() -> Self {
        let eth = vec![
            (datetime!(2024-01-01 0:00 UTC), Decimal::new(2000, 0)),
            (datetime!(2024-03-01 0:00 UTC), Decimal::new(2600, 0)),
            (datetime!(2024-06-01 0:00 UTC), Decimal::new(3000, 0)),
        ];
        let sol = vec![
            (datetime!(2024-01-01 0:00 UTC), Decimal::ONE_HUNDRED),
            (datetime!(2024-06-01 0:00 UTC), Decimal::new(150, 0)),
        ];
        let points =
            [(Chain::Ethereum.native_token_id().to_owned(), eth), (Chain::Solana.native_token_id().to_owned(), sol)];
        Self::new(points.into_iter().collect(), StaticPrices::sandbox())
    }
}

impl Default for StaticHistoricalPrices {
    fn default() -> Self {
        Self::sandbox()
    }
}

#[async_trait::async_trait]
impl HistoricalPriceSource for StaticHistoricalPrices {
    async fn price_at(&self, token_id: &str, at: OffsetDateTime) -> Result<Option<Decimal>, PriceError> {
        if let Some(points) = self.points.get(token_id) {
            let i = points.partition_point(|(t, _)| *t <= at);
            return Ok(points.get(i.saturating_sub(1)).map(|(_, p)| *p));
        }
        let prices = self.current.prices(&[token_id.to_owned()]).await?;
        Ok(prices.get(token_id).map(|p| p.usd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainProvider as _;

    /// The history sums to the balances served, leg by leg.
    #[tokio::test]
    async fn history_sums_to_the_sandbox_balances() {
        for (chain, address) in [
            (Chain::Ethereum, SandboxProvider::ETHEREUM_TEST_ADDRESS),
            (Chain::Solana, SandboxProvider::SOLANA_TEST_ADDRESS),
        ] {
            let page = SandboxHistory::new(chain).transactions(address, None).await.expect("history");
            assert!(!page.has_more);
            let mut sums: HashMap<String, Decimal> = HashMap::new();
            for tx in &page.transactions {
                for leg in &tx.legs {
                    let sign =
                        if leg.direction == LegDirection::Incoming { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
                    *sums.entry(leg.asset.token_id.clone()).or_default() += sign * leg.quantity;
                }
            }
            let balances = SandboxProvider::new(chain).balances(address).await.expect("balances");
            assert_eq!(sums.len(), balances.len(), "{chain}");
            for b in balances {
                assert_eq!(sums.get(&b.asset.token_id), Some(&b.quantity), "{chain} {}", b.asset.token_id);
            }
            let again = SandboxHistory::new(chain).transactions(address, page.cursor.as_deref()).await.expect("resume");
            assert_eq!(again.transactions.len(), page.transactions.len());
        }
        let other =
            SandboxHistory::new(Chain::Ethereum).transactions(SandboxHistory::ETHEREUM_COUNTERPARTY, None).await;
        assert_eq!(other.map(|p| p.transactions.len()), Ok(0));
        let bad = SandboxHistory::new(Chain::Ethereum).transactions(SandboxProvider::SOLANA_TEST_ADDRESS, None).await;
        assert_eq!(bad, Err(ChainError::UnsupportedAddress));
    }

    #[tokio::test]
    async fn historical_prices_step_by_date() {
        let p = StaticHistoricalPrices::sandbox();
        let at = |token: &str, t: OffsetDateTime| {
            let p = p.clone();
            let token = token.to_owned();
            async move { p.price_at(&token, t).await.expect("static prices never fail") }
        };
        assert_eq!(at("ethereum", datetime!(2024-01-15 10:00 UTC)).await, Some(Decimal::new(2000, 0)));
        assert_eq!(at("ethereum", datetime!(2024-03-10 10:00 UTC)).await, Some(Decimal::new(2600, 0)));
        assert_eq!(at("ethereum", datetime!(2024-07-01 10:00 UTC)).await, Some(Decimal::new(3000, 0)));
        assert_eq!(at("ethereum", datetime!(2020-01-01 0:00 UTC)).await, Some(Decimal::new(2000, 0)));
        assert_eq!(at("solana", datetime!(2024-04-01 10:00 UTC)).await, Some(Decimal::ONE_HUNDRED));
        let usdc = Chain::Ethereum.token_id(SandboxProvider::USDC_CONTRACT);
        assert_eq!(at(&usdc, datetime!(2024-05-20 10:00 UTC)).await, Some(Decimal::ONE));
        assert_eq!(at("ethereum:0xnothing", datetime!(2024-05-20 10:00 UTC)).await, None);
    }
}
