//! Bitcoin targets: one mainnet address (P2PKH, P2SH, bech32, taproot) or an account-level
//! extended public key (`xpub`/`ypub`/`zpub`), parsed and derived with the `bitcoin` crate
//! (BIP32). Pure: the Esplora adapter in `kc-chain` reads balances for them.

use ::bitcoin::bip32::{ChildNumber, Xpub};
use ::bitcoin::secp256k1::{Secp256k1, VerifyOnly};
use ::bitcoin::{Address, CompressedPublicKey, Network};
use std::str::FromStr;

/// The address type an extended key's prefix stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `xpub`: BIP44 pay-to-pubkey-hash (`1…`).
    P2pkh,
    /// `ypub`: BIP49 pay-to-witness-pubkey-hash nested in P2SH (`3…`).
    P2shP2wpkh,
    /// `zpub`: BIP84 native segwit (`bc1q…`).
    P2wpkh,
}

/// What a Bitcoin integration watches.
#[derive(Debug, Clone)]
pub enum BitcoinTarget {
    /// One mainnet address (normalized: bech32 lowercase).
    Address(String),
    /// An account-level extended public key and the address type it derives.
    Extended(Xpub, ScriptKind),
}

/// Whether `text` looks like an extended public key (`xpub`/`ypub`/`zpub` prefix).
pub fn is_extended_key(text: &str) -> bool {
    let t = text.trim();
    t.len() > 100 && (t.starts_with("xpub") || t.starts_with("ypub") || t.starts_with("zpub"))
}

/// Parses an address or an extended public key (mainnet only).
pub fn parse_target(text: &str) -> Result<BitcoinTarget, String> {
    let text = text.trim();
    if is_extended_key(text) {
        let kind = match &text[..4] {
            "xpub" => ScriptKind::P2pkh,
            "ypub" => ScriptKind::P2shP2wpkh,
            _ => ScriptKind::P2wpkh,
        };
        // ypub/zpub are xpubs with other SLIP-132 version bytes: swap them for xpub's.
        let mut data = ::bitcoin::base58::decode_check(text).map_err(|_| "bad extended key checksum".to_owned())?;
        if data.len() != 78 {
            return Err("extended key has the wrong length".to_owned());
        }
        data[..4].copy_from_slice(&[0x04, 0x88, 0xB2, 0x1E]);
        let xpub = Xpub::decode(&data).map_err(|e| format!("bad extended key: {e}"))?;
        return Ok(BitcoinTarget::Extended(xpub, kind));
    }
    let address = Address::from_str(text)
        .map_err(|e| format!("not a Bitcoin address: {e}"))?
        .require_network(Network::Bitcoin)
        .map_err(|_| "not a mainnet address".to_owned())?;
    Ok(BitcoinTarget::Address(address.to_string()))
}

/// The address at `chain/index` (chain 0: receive, 1: change) below an account key.
pub fn derive_address(
    secp: &Secp256k1<VerifyOnly>,
    xpub: &Xpub,
    kind: ScriptKind,
    chain: u32,
    index: u32,
) -> Result<String, String> {
    let path = [
        ChildNumber::from_normal_idx(chain).map_err(|e| e.to_string())?,
        ChildNumber::from_normal_idx(index).map_err(|e| e.to_string())?,
    ];
    let child = xpub.derive_pub(secp, &path).map_err(|e| e.to_string())?;
    let key = CompressedPublicKey(child.public_key);
    Ok(match kind {
        ScriptKind::P2pkh => Address::p2pkh(key, Network::Bitcoin),
        ScriptKind::P2shP2wpkh => Address::p2shwpkh(&key, Network::Bitcoin),
        ScriptKind::P2wpkh => Address::p2wpkh(&key, Network::Bitcoin),
    }
    .to_string())
}
