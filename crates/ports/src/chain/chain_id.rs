//! The chains the system reads balances from.

use crate::chain::AssetInfo;
use kc_domain::ChainFamily;
use std::fmt;
use std::str::FromStr;

/// A blockchain network. Its [`Chain::id`] is the `chainId` of the Data API's
/// asset objects.
///
/// | chain | id | family | native asset | decimals | EVM chain id |
/// |---|---|---|---|---|---|
/// | Ethereum | `ethereum` | EVM | ETH (Ethereum) | 18 | 1 |
/// | Polygon PoS | `polygon` | EVM | POL (Polygon) | 18 | 137 |
/// | Arbitrum One | `arbitrum` | EVM | ETH (Ethereum) | 18 | 42161 |
/// | OP Mainnet | `optimism` | EVM | ETH (Ethereum) | 18 | 10 |
/// | Base | `base` | EVM | ETH (Ethereum) | 18 | 8453 |
/// | BNB Smart Chain | `bsc` | EVM | BNB (BNB) | 18 | 56 |
/// | Avalanche C-Chain | `avalanche` | EVM | AVAX (Avalanche) | 18 | 43114 |
/// | Solana | `solana` | Solana | SOL (Solana) | 9 | — |
/// | Bitcoin | `bitcoin` | Bitcoin | BTC (Bitcoin) | 8 | — |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Ethereum mainnet.
    Ethereum,
    /// Polygon PoS.
    Polygon,
    /// Arbitrum One.
    Arbitrum,
    /// OP Mainnet (Optimism).
    Optimism,
    /// Base.
    Base,
    /// BNB Smart Chain.
    Bsc,
    /// Avalanche C-Chain.
    Avalanche,
    /// Solana mainnet.
    Solana,
    /// Bitcoin mainnet.
    Bitcoin,
}

/// A chain id that names no known [`Chain`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chain {0:?}")]
pub struct UnknownChain(pub String);

impl Chain {
    /// Every chain, in declaration order.
    pub const ALL: [Chain; 9] = [
        Chain::Ethereum,
        Chain::Polygon,
        Chain::Arbitrum,
        Chain::Optimism,
        Chain::Base,
        Chain::Bsc,
        Chain::Avalanche,
        Chain::Solana,
        Chain::Bitcoin,
    ];

    /// The chain's id, as in an asset's `chainId`: `ethereum`, `polygon`, `solana`, …
    pub fn id(self) -> &'static str {
        match self {
            Chain::Ethereum => "ethereum",
            Chain::Polygon => "polygon",
            Chain::Arbitrum => "arbitrum",
            Chain::Optimism => "optimism",
            Chain::Base => "base",
            Chain::Bsc => "bsc",
            Chain::Avalanche => "avalanche",
            Chain::Solana => "solana",
            Chain::Bitcoin => "bitcoin",
        }
    }

    /// The address format of the chain.
    pub fn family(self) -> ChainFamily {
        match self {
            Chain::Solana => ChainFamily::Solana,
            Chain::Bitcoin => ChainFamily::Bitcoin,
            _ => ChainFamily::Evm,
        }
    }

    /// The EIP-155 chain id of an EVM chain; `None` for Solana and Bitcoin.
    pub fn evm_chain_id(self) -> Option<u64> {
        match self {
            Chain::Ethereum => Some(1),
            Chain::Polygon => Some(137),
            Chain::Arbitrum => Some(42161),
            Chain::Optimism => Some(10),
            Chain::Base => Some(8453),
            Chain::Bsc => Some(56),
            Chain::Avalanche => Some(43114),
            Chain::Solana | Chain::Bitcoin => None,
        }
    }

    /// The ticker of the native asset: `ETH`, `POL`, `BNB`, `AVAX`, `SOL`, `BTC`.
    pub fn native_symbol(self) -> &'static str {
        match self {
            Chain::Ethereum | Chain::Arbitrum | Chain::Optimism | Chain::Base => "ETH",
            Chain::Polygon => "POL",
            Chain::Bsc => "BNB",
            Chain::Avalanche => "AVAX",
            Chain::Solana => "SOL",
            Chain::Bitcoin => "BTC",
        }
    }

    /// The display name of the native asset.
    pub fn native_name(self) -> &'static str {
        match self {
            Chain::Ethereum | Chain::Arbitrum | Chain::Optimism | Chain::Base => "Ethereum",
            Chain::Polygon => "Polygon",
            Chain::Bsc => "BNB",
            Chain::Avalanche => "Avalanche",
            Chain::Solana => "Solana",
            Chain::Bitcoin => "Bitcoin",
        }
    }

    /// The number of decimals of the native asset's smallest unit (wei: 18,
    /// lamports: 9, satoshis: 8).
    pub fn native_decimals(self) -> u8 {
        match self {
            Chain::Solana => 9,
            Chain::Bitcoin => 8,
            _ => 18,
        }
    }

    /// The token id of the native asset: the chain id itself (`ethereum`,
    /// `arbitrum`, `solana`, …). ETH on an L2 is therefore its own token id
    /// (`arbitrum`), priced like `ethereum` by the price sources.
    pub fn native_token_id(self) -> &'static str {
        self.id()
    }

    /// The token id of a token contract (ERC-20 contract or SPL mint) on this chain:
    /// `<chain id>:<contract>`, the contract lowercased on EVM chains
    /// (`ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48`) and as given on Solana.
    pub fn token_id(self, contract: &str) -> String {
        match self.family() {
            ChainFamily::Evm => format!("{}:{}", self.id(), contract.to_ascii_lowercase()),
            _ => format!("{}:{contract}", self.id()),
        }
    }

    /// The asset description of the chain's native asset.
    pub fn native_asset(self) -> AssetInfo {
        AssetInfo {
            token_id: self.native_token_id().to_owned(),
            symbol: self.native_symbol().to_owned(),
            public_name: self.native_name().to_owned(),
            chain_id: self.id().to_owned(),
            contract_address: None,
            logo_url: String::new(),
            decimals: self.native_decimals(),
            category: AssetInfo::CATEGORY_CRYPTO.to_owned(),
            asset_type: AssetInfo::TYPE_CRYPTO.to_owned(),
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Chain {
    type Err = UnknownChain;

    /// Parses a chain id (see [`Chain::id`]), case-insensitively.
    fn from_str(s: &str) -> Result<Self, UnknownChain> {
        Chain::ALL.into_iter().find(|c| c.id().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownChain(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for chain in Chain::ALL {
            assert_eq!(chain.id().parse::<Chain>(), Ok(chain), "round trip of {chain}");
            assert_eq!(chain.native_asset().chain_id, chain.id(), "native asset chain of {chain}");
        }
        assert_eq!("Ethereum".parse::<Chain>(), Ok(Chain::Ethereum));
        assert_eq!("dogecoin".parse::<Chain>(), Err(UnknownChain("dogecoin".into())));
    }

    #[test]
    fn token_ids_lowercase_evm_contracts_only() {
        assert_eq!(
            Chain::Ethereum.token_id("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
            "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
        );
        assert_eq!(
            Chain::Solana.token_id("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
            "solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
        );
    }
}
