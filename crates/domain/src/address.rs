//! Address validation per chain family: pure checks of an address's shape and
//! checksum, with no network access. A valid address may still hold nothing.
//!
//! | family | accepted | normalized form |
//! |---|---|---|
//! | EVM | `0x` + 40 hex digits; all-lowercase, all-uppercase, or mixed case passing EIP-55 | lowercase |
//! | Solana | base58 decoding to exactly 32 bytes | as given |
//! | Bitcoin | base58check P2PKH (`1…`, version 0x00) / P2SH (`3…`, version 0x05); bech32 segwit v0 / bech32m v1 (`bc1…`), mainnet only | base58: as given; bech32: lowercase |
//!
//! Leading and trailing whitespace is trimmed before validation.

use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use std::fmt;

/// The address formats the system validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainFamily {
    /// Ethereum and EVM chains: `0x` + 40 hex digits (EIP-55 checksum when mixed case).
    Evm,
    /// Solana: base58 of 32 bytes.
    Solana,
    /// Bitcoin: base58check P2PKH/P2SH or bech32/bech32m segwit.
    Bitcoin,
}

/// An address is not valid for its chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {family} address: {reason}")]
pub struct AddressError {
    /// The chain family.
    pub family: ChainFamily,
    /// Why.
    pub reason: String,
}

impl ChainFamily {
    /// The family's lowercase name: `evm`, `solana` or `bitcoin`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainFamily::Evm => "evm",
            ChainFamily::Solana => "solana",
            ChainFamily::Bitcoin => "bitcoin",
        }
    }

    /// Checks `address` for this family and returns its normalized form (see the
    /// module table). Returns [`AddressError`] naming the first rule the address
    /// breaks: empty, wrong prefix or length, a character outside the alphabet,
    /// a bad checksum, or an unsupported version / network.
    pub fn validate(self, address: &str) -> Result<String, AddressError> {
        let address = address.trim();
        let fail = |reason: &str| AddressError { family: self, reason: reason.to_owned() };
        if address.is_empty() {
            return Err(fail("empty"));
        }
        match self {
            ChainFamily::Evm => validate_evm(address).map_err(fail),
            ChainFamily::Solana => validate_solana(address).map_err(fail),
            ChainFamily::Bitcoin => validate_bitcoin(address).map_err(fail),
        }
    }

    /// Whether `address` is valid for this family (see [`ChainFamily::validate`]).
    pub fn is_valid(self, address: &str) -> bool {
        self.validate(address).is_ok()
    }
}

impl fmt::Display for ChainFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn validate_evm(address: &str) -> Result<String, &'static str> {
    let body = address.strip_prefix("0x").ok_or("missing 0x prefix")?;
    if body.len() != 40 {
        return Err("expected 40 hex digits after 0x");
    }
    if !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("not hexadecimal");
    }
    let lower = body.to_ascii_lowercase();
    let has_lower = body.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = body.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && body != eip55_body(&lower) {
        return Err("mixed-case address fails the EIP-55 checksum");
    }
    Ok(format!("0x{lower}"))
}

/// The EIP-55 spelling of 40 lowercase hex digits (without `0x`).
fn eip55_body(lower: &str) -> String {
    let hash = Keccak256::digest(lower.as_bytes());
    lower
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let byte = hash[i / 2];
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
            if c.is_ascii_alphabetic() && nibble >= 8 {
                char::from(c.to_ascii_uppercase())
            } else {
                char::from(c)
            }
        })
        .collect()
}

fn validate_solana(address: &str) -> Result<String, &'static str> {
    // 32 bytes are 32 to 44 base58 characters.
    if !(32..=44).contains(&address.len()) {
        return Err("expected 32 to 44 base58 characters");
    }
    let bytes = bs58::decode(address).into_vec().map_err(|_| "not base58")?;
    if bytes.len() != 32 {
        return Err("does not decode to 32 bytes");
    }
    Ok(address.to_owned())
}

fn validate_bitcoin(address: &str) -> Result<String, &'static str> {
    if address.len() >= 3 && address[..3].eq_ignore_ascii_case("bc1") {
        return validate_segwit(address);
    }
    if address.starts_with(['1', '3']) {
        return validate_base58check(address);
    }
    Err("expected a mainnet address starting with 1, 3 or bc1")
}

fn validate_base58check(address: &str) -> Result<String, &'static str> {
    if !(25..=35).contains(&address.len()) {
        return Err("expected 25 to 35 base58 characters");
    }
    let bytes = bs58::decode(address).into_vec().map_err(|_| "not base58")?;
    if bytes.len() != 25 {
        return Err("does not decode to 25 bytes");
    }
    let (payload, checksum) = bytes.split_at(21);
    let digest = Sha256::digest(Sha256::digest(payload));
    if digest[..4] != *checksum {
        return Err("base58check checksum mismatch");
    }
    match payload[0] {
        0x00 | 0x05 => Ok(address.to_owned()),
        _ => Err("unsupported version byte (only mainnet P2PKH 0x00 and P2SH 0x05)"),
    }
}

fn validate_segwit(address: &str) -> Result<String, &'static str> {
    let (hrp, version, _program) =
        bech32::segwit::decode(address).map_err(|_| "invalid bech32 segwit address (checksum, case or length)")?;
    if hrp != bech32::hrp::BC {
        return Err("not a mainnet (bc) address");
    }
    if version != bech32::segwit::VERSION_0 && version != bech32::segwit::VERSION_1 {
        return Err("unsupported witness version (only v0 and v1)");
    }
    Ok(address.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVM: ChainFamily = ChainFamily::Evm;
    const SOL: ChainFamily = ChainFamily::Solana;
    const BTC: ChainFamily = ChainFamily::Bitcoin;

    #[test]
    fn valid_addresses_normalize() {
        let cases: &[(ChainFamily, &str, &str)] = &[
            // EIP-55 examples (mixed case, valid checksum).
            (EVM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            (EVM, "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"),
            (EVM, "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"),
            (EVM, "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"),
            // Sandbox test address, all lowercase.
            (EVM, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"),
            // All uppercase needs no checksum.
            (EVM, "0x47C2E31E9CE22437BCF6313D2B9E98245A7BFCFA", "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"),
            (EVM, "  0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa\n", "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"),
            // Solana: sandbox test address, system program, USDC mint.
            (SOL, "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1", "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1"),
            (SOL, "11111111111111111111111111111111", "11111111111111111111111111111111"),
            (SOL, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
            (SOL, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
            // Bitcoin: genesis P2PKH, P2SH, bech32 v0, bech32m v1 (BIP-350 vector).
            (BTC, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            (BTC, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            (BTC, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
            (BTC, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            (BTC, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            (
                BTC,
                "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
                "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            ),
            (
                BTC,
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            ),
        ];
        for (family, input, normalized) in cases {
            assert_eq!(
                family.validate(input).as_deref(),
                Ok(*normalized),
                "{family} address {input:?} should be valid"
            );
        }
    }

    #[test]
    fn invalid_addresses_are_rejected_with_a_reason() {
        let cases: &[(ChainFamily, &str, &str)] = &[
            (EVM, "", "empty"),
            (EVM, "47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", "missing 0x prefix"),
            (EVM, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcf", "expected 40 hex digits"),
            (EVM, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa0", "expected 40 hex digits"),
            (EVM, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfg", "not hexadecimal"),
            // One letter's case flipped: EIP-55 checksum fails.
            (EVM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAEd", "EIP-55"),
            (EVM, "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "EIP-55"),
            (SOL, "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk", "32 bytes"),
            (SOL, "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk0", "not base58"),
            (SOL, "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrkl", "not base58"),
            (SOL, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", "not base58"),
            (SOL, "abc", "expected 32 to 44"),
            (SOL, "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1zzzz", "expected 32 to 44"),
            // Last character changed: base58check checksum fails.
            (BTC, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"),
            // A plausible-looking misspelling of the genesis address.
            (BTC, "1A1zP1eP5QGefi2DMPTfTL5SNmEDHnM6qd", "checksum"),
            (BTC, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", "checksum"),
            (BTC, "1A1zP1eP5QGefi2DMPTfTL5SNmEDHnM6q0", "not base58"),
            (BTC, "1A1zP1eP5QGefi2DMPTfTL5SNm", "does not decode to 25 bytes"),
            (BTC, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bech32"),
            (BTC, "bc1qw508d6qejxtdg4y5r3zarvaRy0c5xw7kv8f3t4", "bech32"),
            (BTC, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb", "bech32"),
            // A v1 program with a bech32 (not bech32m) checksum (BIP-350 invalid vector).
            (BTC, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "bech32"),
            // Testnet.
            (BTC, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "expected a mainnet"),
            (BTC, "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "expected a mainnet"),
            (BTC, "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa", "expected a mainnet"),
        ];
        for (family, input, reason) in cases {
            match family.validate(input) {
                Ok(n) => panic!("{family} address {input:?} should be invalid, got {n:?}"),
                Err(e) => {
                    assert_eq!(e.family, *family, "family of the error for {input:?}");
                    assert!(
                        e.reason.contains(reason),
                        "{family} address {input:?}: reason {:?} lacks {reason:?}",
                        e.reason
                    );
                }
            }
        }
    }

    #[test]
    fn eip55_spelling_matches_the_published_examples() {
        for addr in ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"] {
            let lower = addr[2..].to_ascii_lowercase();
            assert_eq!(eip55_body(&lower), addr[2..], "EIP-55 spelling of {addr}");
        }
    }

    #[test]
    fn errors_name_the_family() {
        let err = EVM.validate("nope").expect_err("invalid");
        assert_eq!(err.to_string(), "invalid evm address: missing 0x prefix");
    }
}
