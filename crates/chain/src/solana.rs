//! The Solana JSON-RPC adapter: SOL balance and SPL token accounts.

use crate::http::{kind, units_to_decimal, RpcClient};
use crate::Chain;
use crate::ChainError;
use crate::ChainProvider;
use crate::{AssetInfo, Balance};
use kc_domain::ChainFamily;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// An SPL token mint whose metadata the [`SolanaRpcProvider`] knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplToken {
    /// The mint address (base58).
    pub mint: String,
    /// Ticker (`USDC`).
    pub symbol: String,
    /// Display name (`USD Coin`).
    pub name: String,
    /// The mint's decimals (the chain's own figure is used for amounts).
    pub decimals: u8,
}

impl SplToken {
    /// A mint description.
    pub fn new(mint: impl Into<String>, symbol: impl Into<String>, name: impl Into<String>, decimals: u8) -> Self {
        Self { mint: mint.into(), symbol: symbol.into(), name: name.into(), decimals }
    }

    /// A default mint list: USDC and USDT on Solana mainnet.
    pub fn well_known() -> Vec<SplToken> {
        vec![
            SplToken::new("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "USDC", "USD Coin", 6),
            SplToken::new("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", "USDT", "Tether USD", 6),
        ]
    }
}

/// Reads balances from a Solana node over JSON-RPC.
///
/// Two requests, sent concurrently: `getBalance(owner)` (lamports, 9 decimals)
/// and `getTokenAccountsByOwner(owner, {programId: Tokenkeg…}, {encoding:
/// "jsonParsed"})`. Token accounts are summed per mint from their integer
/// `tokenAmount.amount` and `decimals` (or, lacking those, the `uiAmountString`),
/// never from the floating-point `uiAmount`. Mints in the configured list are
/// reported with their symbol and name; any other mint with the shortened mint
/// (`EPjF…Dt1v`) as symbol and the full mint as name. SOL is always reported,
/// tokens only when non-zero: configured mints first in list order, then the rest
/// by mint. Token-2022 accounts are not read.
#[derive(Debug, Clone)]
pub struct SolanaRpcProvider {
    rpc: RpcClient,
    tokens: Vec<SplToken>,
}

impl SolanaRpcProvider {
    /// The SPL Token program, owner of the token accounts read.
    pub const TOKEN_PROGRAM_ID: &'static str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";

    /// A provider reading the node at `url`, naming the mints in `tokens`; every
    /// request ends within `timeout`.
    ///
    /// Returns [`ChainError::Config`] when `url` is not an http(s) URL or a mint is
    /// not a valid Solana address.
    pub fn new(url: &str, tokens: Vec<SplToken>, timeout: Duration) -> Result<Self, ChainError> {
        for token in &tokens {
            ChainFamily::Solana
                .validate(&token.mint)
                .map_err(|e| ChainError::Config(format!("mint of {}: {e}", token.symbol)))?;
        }
        Ok(Self { rpc: RpcClient::new(url, timeout)?, tokens })
    }

    /// The configured mints.
    pub fn tokens(&self) -> &[SplToken] {
        &self.tokens
    }

    fn asset(&self, mint: &str, decimals: u8) -> AssetInfo {
        match self.tokens.iter().find(|t| t.mint == mint) {
            Some(token) => AssetInfo::token(Chain::Solana, mint, &token.symbol, &token.name, decimals),
            None => AssetInfo::token(Chain::Solana, mint, &shorten(mint), mint, decimals),
        }
    }
}

#[async_trait::async_trait]
impl ChainProvider for SolanaRpcProvider {
    fn chain(&self) -> Chain {
        Chain::Solana
    }

    #[tracing::instrument(name = "solana_balances", skip_all, fields(rpc = %self.rpc.shown_url()))]
    async fn balances(&self, address: &str) -> Result<Vec<Balance>, ChainError> {
        let owner = ChainFamily::Solana.validate(address).map_err(|_| ChainError::UnsupportedAddress)?;
        let (balance, accounts) = tokio::try_join!(
            self.rpc.call("getBalance", json!([owner])),
            self.rpc.call(
                "getTokenAccountsByOwner",
                json!([owner, {"programId": Self::TOKEN_PROGRAM_ID}, {"encoding": "jsonParsed"}]),
            ),
        )
        .inspect_err(|e| tracing::warn!(error = %e, "Solana balance query failed"))?;

        let lamports =
            balance.get("value").unwrap_or(&balance).as_u64().ok_or_else(|| {
                ChainError::Malformed(format!("getBalance value is {}, not lamports", kind(&balance)))
            })?;
        let sol =
            units_to_decimal(u128::from(lamports), Chain::Solana.native_decimals()).map_err(ChainError::Malformed)?;
        let mut balances = vec![Balance { asset: Chain::Solana.native_asset(), quantity: sol }];

        let mut per_mint: BTreeMap<String, (u8, Decimal)> = BTreeMap::new();
        let list = accounts
            .get("value")
            .and_then(Value::as_array)
            .ok_or_else(|| ChainError::Malformed("getTokenAccountsByOwner has no value array".to_owned()))?;
        for account in list {
            let (mint, decimals, amount) = token_account(account).map_err(ChainError::Malformed)?;
            let entry = per_mint.entry(mint).or_insert((decimals, Decimal::ZERO));
            entry.1 = entry
                .1
                .checked_add(amount)
                .ok_or_else(|| ChainError::Malformed("token amounts overflow a decimal".to_owned()))?;
        }

        for token in &self.tokens {
            if let Some((decimals, amount)) = per_mint.remove(&token.mint) {
                if !amount.is_zero() {
                    balances.push(Balance { asset: self.asset(&token.mint, decimals), quantity: amount.normalize() });
                }
            }
        }
        for (mint, (decimals, amount)) in per_mint {
            if !amount.is_zero() {
                balances.push(Balance { asset: self.asset(&mint, decimals), quantity: amount.normalize() });
            }
        }
        tracing::debug!(assets = balances.len(), "Solana balances read");
        Ok(balances)
    }
}

/// Mint, decimals and amount of one `jsonParsed` token account.
fn token_account(account: &Value) -> Result<(String, u8, Decimal), String> {
    let info = account
        .pointer("/account/data/parsed/info")
        .ok_or_else(|| "token account without account.data.parsed.info (not jsonParsed?)".to_owned())?;
    let mint = info.get("mint").and_then(Value::as_str).ok_or_else(|| "token account without mint".to_owned())?;
    if !ChainFamily::Solana.is_valid(mint) {
        return Err(format!("token account mint {mint:?} is not a Solana address"));
    }
    let amount = info.get("tokenAmount").ok_or_else(|| format!("token account of {mint} without tokenAmount"))?;
    let decimals = amount
        .get("decimals")
        .and_then(Value::as_u64)
        .and_then(|d| u8::try_from(d).ok())
        .ok_or_else(|| format!("tokenAmount of {mint} without valid decimals"))?;
    let quantity =
        match (amount.get("amount").and_then(Value::as_str), amount.get("uiAmountString").and_then(Value::as_str)) {
            (Some(units), _) => {
                if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("tokenAmount.amount {units:?} of {mint} is not an integer"));
                }
                let units = u128::from_str(units).map_err(|e| format!("tokenAmount.amount of {mint}: {e}"))?;
                units_to_decimal(units, decimals)?
            }
            (None, Some(ui)) => {
                Decimal::from_str_exact(ui).map_err(|e| format!("tokenAmount.uiAmountString {ui:?} of {mint}: {e}"))?
            }
            (None, None) => return Err(format!("tokenAmount of {mint} has neither amount nor uiAmountString")),
        };
    Ok((mint.to_owned(), decimals, quantity))
}

/// `EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v` → `EPjF…Dt1v`.
pub(crate) fn shorten(mint: &str) -> String {
    let chars: Vec<char> = mint.chars().collect();
    if chars.len() <= 10 {
        return mint.to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mints_shorten() {
        assert_eq!(shorten("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"), "EPjF…Dt1v");
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn well_known_mints_are_valid() {
        let provider = SolanaRpcProvider::new("http://127.0.0.1:8899", SplToken::well_known(), Duration::from_secs(1));
        assert!(provider.is_ok(), "{provider:?}");
        let bad = SolanaRpcProvider::new(
            "http://127.0.0.1:8899",
            vec![SplToken::new("0xabc", "X", "X", 6)],
            Duration::from_secs(1),
        );
        assert!(matches!(bad, Err(ChainError::Config(_))), "{bad:?}");
    }
}
