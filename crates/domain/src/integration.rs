//! Integrations (connected wallets and exchanges): kinds, sync states, sandbox rules.

use crate::address::ChainFamily;

/// The providers a sandbox client may connect.
pub const SANDBOX_PROVIDERS: [&str; 2] = ["ethereum", "solana"];
/// The Ethereum sandbox test address (compared case-insensitively).
pub const SANDBOX_ETHEREUM_ADDRESS: &str = "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa";
/// The Solana sandbox test address.
pub const SANDBOX_SOLANA_ADDRESS: &str = "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1";

/// Why a sandbox client may not connect something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SandboxViolation {
    /// Only ethereum and solana are available in sandbox mode.
    #[error("only ethereum and solana are available in sandbox mode")]
    Provider,
    /// Only the documented test addresses may be connected in sandbox mode.
    #[error("only the sandbox test address may be connected in sandbox mode")]
    Address,
}

/// Checks a sandbox client's integration: provider first, then address.
pub fn sandbox_check(provider: &str, address: Option<&str>) -> Result<(), SandboxViolation> {
    let expected = match provider {
        "ethereum" => SANDBOX_ETHEREUM_ADDRESS,
        "solana" => SANDBOX_SOLANA_ADDRESS,
        _ => return Err(SandboxViolation::Provider),
    };
    match address {
        Some(a) if a.trim().eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(SandboxViolation::Address),
    }
}

/// How a provider is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// A blockchain address of this family.
    Wallet(ChainFamily),
    /// An exchange account, by API credentials.
    Exchange,
}

/// Where an integration's synchronisation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is fetching balances.
    Syncing,
    /// Balances are current.
    Synced,
    /// The last attempt failed for good; see the last error.
    Failed,
}

impl SyncStatus {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Syncing => "syncing",
            Self::Synced => "synced",
            Self::Failed => "failed",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "syncing" => Some(Self::Syncing),
            "synced" => Some(Self::Synced),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The Data API's `status` spelling (`ONGOING`, `COMPLETED`, `FAILED`; `active` before any sync).
    pub fn data_api_status(self) -> &'static str {
        match self {
            Self::Queued => "active",
            Self::Syncing => "ONGOING",
            Self::Synced => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_allows_only_the_test_addresses_of_ethereum_and_solana() {
        assert_eq!(sandbox_check("ethereum", Some("0x47C2E31E9CE22437BCF6313D2B9E98245A7BFCFA")), Ok(()));
        assert_eq!(sandbox_check("solana", Some(SANDBOX_SOLANA_ADDRESS)), Ok(()));
        assert_eq!(sandbox_check("polygon", Some(SANDBOX_ETHEREUM_ADDRESS)), Err(SandboxViolation::Provider));
        assert_eq!(sandbox_check("binance", None), Err(SandboxViolation::Provider));
        assert_eq!(
            sandbox_check("ethereum", Some("0x0000000000000000000000000000000000000001")),
            Err(SandboxViolation::Address)
        );
        assert_eq!(sandbox_check("solana", Some(SANDBOX_ETHEREUM_ADDRESS)), Err(SandboxViolation::Address));
    }
}
