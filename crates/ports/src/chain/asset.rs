//! What a provider reports: assets and the quantity held of each.

use crate::chain::Chain;
use rust_decimal::Decimal;

/// The description of an asset, shaped after the Data API's asset object
/// (`tokenId`, `symbol`, `publicName`, `chainId`, `contractAddress`, `logoUrl`,
/// `category`, `type`). Not serializable: the HTTP layer maps it to its DTO.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetInfo {
    /// Unique id: the chain id for a native asset (`ethereum`), `<chain id>:<contract>`
    /// for a token (`ethereum:0xa0b8…eb48`, `solana:EPjF…Dt1v`); see [`Chain::token_id`].
    pub token_id: String,
    /// Ticker (`ETH`, `USDC`); for an SPL mint without configured metadata, the
    /// shortened mint (`EPjF…Dt1v`).
    pub symbol: String,
    /// Display name (`Ethereum`, `USD Coin`).
    pub public_name: String,
    /// The chain's id (`ethereum`, `solana`, …).
    pub chain_id: String,
    /// Token contract (lowercase on EVM chains) or SPL mint; `None` for a native asset.
    pub contract_address: Option<String>,
    /// Logo URL; empty when unknown (the adapters here know none).
    pub logo_url: String,
    /// Decimals of the smallest on-chain unit.
    pub decimals: u8,
    /// Asset category; the adapters report [`AssetInfo::CATEGORY_CRYPTO`].
    pub category: String,
    /// Asset classification; always [`AssetInfo::TYPE_CRYPTO`] here.
    pub asset_type: String,
}

impl AssetInfo {
    /// The category the adapters report for every asset.
    pub const CATEGORY_CRYPTO: &'static str = "crypto";
    /// The asset type of fungible tokens and native coins.
    pub const TYPE_CRYPTO: &'static str = "crypto";

    /// A token (ERC-20 contract or SPL mint) on `chain`.
    pub fn token(chain: Chain, contract: &str, symbol: &str, name: &str, decimals: u8) -> Self {
        let contract = match chain.family() {
            kc_domain::ChainFamily::Evm => contract.to_ascii_lowercase(),
            _ => contract.to_owned(),
        };
        Self {
            token_id: chain.token_id(&contract),
            symbol: symbol.to_owned(),
            public_name: name.to_owned(),
            chain_id: chain.id().to_owned(),
            contract_address: Some(contract),
            logo_url: String::new(),
            decimals,
            category: Self::CATEGORY_CRYPTO.to_owned(),
            asset_type: Self::TYPE_CRYPTO.to_owned(),
        }
    }
}

/// The quantity of one asset held by one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Balance {
    /// The asset.
    pub asset: AssetInfo,
    /// Quantity in whole units (1.5 ETH, not wei), exact and normalized (no
    /// trailing zeros).
    pub quantity: Decimal,
}
