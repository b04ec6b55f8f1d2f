//! The EVM JSON-RPC adapter: native balance and ERC-20 `balanceOf` in one batch.

use crate::http::{kind, parse_hex_units, units_to_decimal, RpcClient};
use crate::Chain;
use crate::ChainError;
use crate::ChainProvider;
use crate::{AssetInfo, Balance};
use kc_domain::ChainFamily;
use serde_json::{json, Value};
use std::time::Duration;

/// The selector of ERC-20 `balanceOf(address)`.
const BALANCE_OF: &str = "0x70a08231";

/// An ERC-20 token whose balance the [`EvmRpcProvider`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erc20Token {
    /// The token contract (`0x…`, any valid case; reported lowercase).
    pub contract: String,
    /// Ticker (`USDC`).
    pub symbol: String,
    /// Display name (`USD Coin`).
    pub name: String,
    /// The token's `decimals()` (6 for USDC, 18 for most), at most 28.
    pub decimals: u8,
}

impl Erc20Token {
    /// A token description.
    pub fn new(contract: impl Into<String>, symbol: impl Into<String>, name: impl Into<String>, decimals: u8) -> Self {
        Self { contract: contract.into(), symbol: symbol.into(), name: name.into(), decimals }
    }

    /// A default token list for `chain`: on Ethereum, USDC, USDT, DAI, WETH and
    /// WBTC; on other chains none (configure them explicitly).
    pub fn well_known(chain: Chain) -> Vec<Erc20Token> {
        match chain {
            Chain::Ethereum => vec![
                Erc20Token::new("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", "USD Coin", 6),
                Erc20Token::new("0xdAC17F958D2ee523a2206206994597C13D831ec7", "USDT", "Tether USD", 6),
                Erc20Token::new("0x6B175474E89094C44Da98b954EedeAC495271d0F", "DAI", "Dai Stablecoin", 18),
                Erc20Token::new("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", "Wrapped Ether", 18),
                Erc20Token::new("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", "WBTC", "Wrapped BTC", 8),
            ],
            _ => Vec::new(),
        }
    }
}

/// Reads balances from an EVM node over JSON-RPC.
///
/// One HTTP request per [`ChainProvider::balances`] call: a JSON-RPC batch of
/// `eth_getBalance(address, "latest")` and, per configured token,
/// `eth_call({to: token, data: 0x70a08231 ‖ address left-padded to 32 bytes}, "latest")`.
/// Replies are matched by `id`, so the node may answer in any order. Hex
/// quantities of up to 256 bits are parsed exactly; one above Decimal's 96-bit
/// mantissa is [`ChainError::Malformed`]. The native balance is always reported,
/// tokens only when non-zero. A token "contract" without code (`eth_call` returns
/// `0x`) counts as a zero balance; a reverting call is a [`ChainError::Rpc`].
#[derive(Debug, Clone)]
pub struct EvmRpcProvider {
    chain: Chain,
    rpc: RpcClient,
    tokens: Vec<(Erc20Token, AssetInfo)>,
}

impl EvmRpcProvider {
    /// A provider for `chain` (an EVM chain) reading the node at `url`, checking
    /// `tokens`; every request ends within `timeout`.
    ///
    /// Returns [`ChainError::Config`] when `chain` is not an EVM chain, `url` is
    /// not an http(s) URL, a token contract is not a valid address, or a token has
    /// more than 28 decimals.
    pub fn new(chain: Chain, url: &str, tokens: Vec<Erc20Token>, timeout: Duration) -> Result<Self, ChainError> {
        if chain.family() != ChainFamily::Evm {
            return Err(ChainError::Config(format!("{chain} is not an EVM chain")));
        }
        let tokens = tokens
            .into_iter()
            .map(|token| {
                let contract = ChainFamily::Evm
                    .validate(&token.contract)
                    .map_err(|e| ChainError::Config(format!("token {}: {e}", token.symbol)))?;
                if token.decimals > 28 {
                    return Err(ChainError::Config(format!("token {} has more than 28 decimals", token.symbol)));
                }
                let asset = AssetInfo::token(chain, &contract, &token.symbol, &token.name, token.decimals);
                Ok((Erc20Token { contract, ..token }, asset))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { chain, rpc: RpcClient::new(url, timeout)?, tokens })
    }

    /// The configured tokens (contracts lowercased).
    pub fn tokens(&self) -> impl Iterator<Item = &Erc20Token> {
        self.tokens.iter().map(|(token, _)| token)
    }
}

#[async_trait::async_trait]
impl ChainProvider for EvmRpcProvider {
    fn chain(&self) -> Chain {
        self.chain
    }

    #[tracing::instrument(
        name = "evm_balances",
        skip_all,
        fields(chain = %self.chain, rpc = %self.rpc.shown_url(), tokens = self.tokens.len())
    )]
    async fn balances(&self, address: &str) -> Result<Vec<Balance>, ChainError> {
        let address = ChainFamily::Evm.validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let call_data = format!("{BALANCE_OF}{:0>64}", address.trim_start_matches("0x"));
        let mut calls = vec![("eth_getBalance", json!([address, "latest"]))];
        for (token, _) in &self.tokens {
            calls.push(("eth_call", json!([{"to": token.contract, "data": call_data}, "latest"])));
        }
        let results =
            self.rpc.batch(calls).await.inspect_err(|e| tracing::warn!(error = %e, "EVM balance query failed"))?;
        let mut results = results.iter();

        let native = results.next().ok_or_else(|| ChainError::Malformed("no eth_getBalance result".to_owned()))?;
        let wei = parse_hex_units(as_str(native, "eth_getBalance")?).map_err(ChainError::Malformed)?;
        let quantity = units_to_decimal(wei, self.chain.native_decimals()).map_err(ChainError::Malformed)?;
        let mut balances = vec![Balance { asset: self.chain.native_asset(), quantity }];

        for ((token, asset), result) in self.tokens.iter().zip(results) {
            let units = abi_uint256(as_str(result, "eth_call")?).map_err(|e| {
                ChainError::Malformed(format!("balanceOf on {} ({}): {e}", token.symbol, token.contract))
            })?;
            if units == 0 {
                continue;
            }
            let quantity = units_to_decimal(units, token.decimals).map_err(ChainError::Malformed)?;
            balances.push(Balance { asset: asset.clone(), quantity });
        }
        tracing::debug!(assets = balances.len(), "EVM balances read");
        Ok(balances)
    }
}

fn as_str<'a>(value: &'a Value, method: &str) -> Result<&'a str, ChainError> {
    value.as_str().ok_or_else(|| ChainError::Malformed(format!("{method} returned {}, not a hex string", kind(value))))
}

/// Decodes the first 32-byte word of `eth_call` return data as a uint256; empty
/// return data (no contract code) is zero.
fn abi_uint256(data: &str) -> Result<u128, String> {
    let hex = data.strip_prefix("0x").ok_or_else(|| "return data is not 0x-prefixed".to_owned())?;
    if hex.is_empty() {
        return Ok(0);
    }
    let word =
        hex.get(..64).ok_or_else(|| format!("return data has {} hex digits, expected at least 64", hex.len()))?;
    parse_hex_units(&format!("0x{word}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_tokens_are_valid() {
        let provider = EvmRpcProvider::new(
            Chain::Ethereum,
            "http://127.0.0.1:8545",
            Erc20Token::well_known(Chain::Ethereum),
            Duration::from_secs(1),
        )
        .expect("well-known tokens pass validation (EIP-55 checksums included)");
        assert_eq!(provider.tokens().count(), 5);
        assert!(provider.tokens().all(|t| t.contract == t.contract.to_ascii_lowercase()));
    }

    #[test]
    fn misconfiguration_is_refused() {
        let bad = [
            (Chain::Solana, "http://127.0.0.1:1", vec![]),
            (Chain::Ethereum, "127.0.0.1:8545", vec![]),
            (Chain::Ethereum, "http://127.0.0.1:1", vec![Erc20Token::new("0x1234", "X", "X", 6)]),
            (
                Chain::Ethereum,
                "http://127.0.0.1:1",
                vec![Erc20Token::new("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "X", "X", 29)],
            ),
        ];
        for (chain, url, tokens) in bad {
            let result = EvmRpcProvider::new(chain, url, tokens, Duration::from_secs(1));
            assert!(matches!(result, Err(ChainError::Config(_))), "{chain} {url}: {result:?}");
        }
    }

    #[test]
    fn abi_words_decode() {
        assert_eq!(abi_uint256("0x"), Ok(0));
        assert_eq!(abi_uint256(&format!("0x{:0>64}", "5f5e100")), Ok(100_000_000));
        assert_eq!(abi_uint256(&format!("0x{:0>64}{:0>64}", "1", "2")), Ok(1));
        assert!(abi_uint256("0x1234").is_err());
        assert!(abi_uint256("1234").is_err());
    }
}
