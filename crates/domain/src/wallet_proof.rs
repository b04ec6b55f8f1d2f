//! Proof that the user controls a wallet: a sign-in message the wallet signs, checked here.
//!
//! EVM wallets sign an EIP-4361 ("Sign-In with Ethereum") message with `personal_sign`
//! (EIP-191); the signer is recovered from the secp256k1 signature (`siwe`, on `k256`) and
//! must be the message's EIP-55 address. Solana wallets sign the same message shape with their
//! Solana account (as in the Solana wallet-standard `signIn` feature); the ed25519 signature is
//! checked with `ed25519-dalek` against the message's base58 address.
//!
//! The server writes the message ([`evm_sign_in_message`], [`solana_sign_in_message`]) with a
//! single-use [`WalletNonce`]; [`verify_evm_proof`] / [`verify_solana_proof`] re-read what the
//! wallet signed and refuse anything that is not exactly such a message for this server,
//! this chain and now. They do no I/O: whether the nonce is live is the store's business.
//!
//! ```
//! use kc_domain::{evm_sign_in_message, verify_evm_proof, ProofChain, ProofExpectations};
//! let now = time::macros::datetime!(2026-01-01 12:00 UTC);
//! let text = evm_sign_in_message(
//!     "connect.example.com", "https://connect.example.com/connect",
//!     "0x6Da01670d8fc844e736095918bbE11fE8D564163", 1, "0123456789abcdef", now, now + time::Duration::minutes(5),
//! );
//! let expect = ProofExpectations { domain: "connect.example.com", origin: "https://connect.example.com", chain: ProofChain::Evm(1), now };
//! // Not a signature of that message: refused.
//! assert!(verify_evm_proof(&text, &format!("0x{}", "11".repeat(65)), &expect).is_err());
//! ```

use crate::rng::SecretRng;
use ed25519_dalek::{Signature as EdSignature, VerifyingKey as EdVerifyingKey};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// How long a wallet nonce (and the message carrying it) stays usable.
pub const WALLET_NONCE_LIFETIME: Duration = Duration::minutes(5);

/// Clock skew tolerated between the wallet's device and the server for `Issued At`.
const CLOCK_SKEW: Duration = Duration::seconds(60);

/// What the user reads in the wallet before signing.
pub const SIGN_IN_STATEMENT: &str =
    "Prove that you own this wallet to share its balances (read-only). Signing costs nothing and authorizes no transaction.";

/// The `Chain ID` of a Solana sign-in message.
pub const SOLANA_CHAIN_ID: &str = "mainnet";

/// A single-use sign-in nonce: 128 random bits as 32 lower-case hex characters (alphanumeric,
/// as EIP-4361 requires). Only its [`WalletNonce::digest`] is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct WalletNonce(String);

impl WalletNonce {
    /// A fresh nonce.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        let mut b = [0u8; 16];
        rng.fill(&mut b);
        Self(hex::encode(b))
    }

    /// A nonce read from a signed message (not checked further: unknown nonces simply match
    /// no stored digest).
    pub fn from_message(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The nonce as written in the message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the nonce, hex: what the store keeps and looks up.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for WalletNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletNonce([REDACTED])")
    }
}

/// The network a sign-in message must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofChain {
    /// An EVM chain with this EIP-155 chain id.
    Evm(u64),
    /// Solana mainnet.
    Solana,
}

/// What a valid proof must say.
#[derive(Debug, Clone, Copy)]
pub struct ProofExpectations<'a> {
    /// This server's public host (`host[:port]` of `server.public_url`): the message's domain.
    pub domain: &'a str,
    /// This server's public origin (`scheme://host[:port]`): the message's URI must be on it.
    pub origin: &'a str,
    /// The chain the connected provider is on.
    pub chain: ProofChain,
    /// The time of the check.
    pub now: OffsetDateTime,
}

/// A proof that checked out: who signed, and with which nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The signer: an EIP-55 address, or a base58 Solana public key.
    pub address: String,
    /// The nonce the message carries (to be consumed by the caller).
    pub nonce: WalletNonce,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofRefusal {
    /// Not a sign-in message for this server, chain and time (the reason says which field).
    #[error("{0}")]
    Message(String),
    /// The signature is malformed or not made by the message's address.
    #[error("{0}")]
    Signature(String),
    /// The signature is not a 65-byte ECDSA signature: a smart-contract (EIP-1271) wallet.
    #[error(
        "This looks like a smart-contract wallet (EIP-1271 signature); its ownership cannot be verified here. \
Paste its address instead"
    )]
    ContractWallet,
}

fn message(reason: impl Into<String>) -> ProofRefusal {
    ProofRefusal::Message(reason.into())
}

fn rfc3339(t: OffsetDateTime) -> String {
    // Whole seconds, UTC: what wallets display and every parser reads.
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The common body after the first two lines (domain and address).
fn body(uri: &str, chain_id: &str, nonce: &str, issued_at: OffsetDateTime, expires_at: OffsetDateTime) -> String {
    format!(
        "\n{SIGN_IN_STATEMENT}\n\nURI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {}\nExpiration Time: {}",
        rfc3339(issued_at),
        rfc3339(expires_at)
    )
}

/// The EIP-4361 message an EVM wallet signs (`address` in EIP-55 form).
pub fn evm_sign_in_message(
    domain: &str,
    uri: &str,
    address: &str,
    chain_id: u64,
    nonce: &str,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> String {
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{address}\n{}",
        body(uri, &chain_id.to_string(), nonce, issued_at, expires_at)
    )
}

/// The Sign-In With Solana message a Solana wallet signs (`address` in base58).
pub fn solana_sign_in_message(
    domain: &str,
    uri: &str,
    address: &str,
    nonce: &str,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> String {
    format!(
        "{domain} wants you to sign in with your Solana account:\n{address}\n{}",
        body(uri, SOLANA_CHAIN_ID, nonce, issued_at, expires_at)
    )
}

/// The EIP-55 form of a `0x…` address (any case), or `None` if it is not 20 bytes of hex.
pub fn eip55_address(address: &str) -> Option<String> {
    let hex_part = address.strip_prefix("0x").or_else(|| address.strip_prefix("0X"))?;
    let bytes: [u8; 20] = hex::decode(hex_part).ok()?.try_into().ok()?;
    Some(siwe::eip55(&bytes))
}

/// Checks the fields every sign-in message shares.
fn check_common(
    domain: &str,
    uri: &str,
    issued_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    not_before: Option<OffsetDateTime>,
    expect: &ProofExpectations<'_>,
) -> Result<(), ProofRefusal> {
    if domain != expect.domain {
        return Err(message(format!(
            "The message is for another domain ({domain}); sign a message for {}",
            expect.domain
        )));
    }
    let on_origin = uri == expect.origin || uri.strip_prefix(expect.origin).is_some_and(|rest| rest.starts_with('/'));
    if !on_origin {
        return Err(message(format!("The message's URI ({uri}) is not on {}", expect.origin)));
    }
    if issued_at > expect.now + CLOCK_SKEW {
        return Err(message("The message's Issued At is in the future"));
    }
    if issued_at < expect.now - WALLET_NONCE_LIFETIME - CLOCK_SKEW {
        return Err(message("The message was issued too long ago; start again"));
    }
    match expires_at {
        None => return Err(message("The message has no Expiration Time")),
        Some(exp) if exp <= expect.now => return Err(message("The message has expired; start again")),
        Some(exp) if exp > issued_at + WALLET_NONCE_LIFETIME + CLOCK_SKEW => {
            return Err(message("The message's Expiration Time is too far away"))
        }
        Some(_) => {}
    }
    if not_before.is_some_and(|nbf| nbf > expect.now + CLOCK_SKEW) {
        return Err(message("The message is not valid yet (Not Before)"));
    }
    Ok(())
}

/// Checks an EIP-4361 message and its `personal_sign` signature (`0x` + 130 hex digits).
///
/// Refuses ([`ProofRefusal::Message`]) a text that is not a canonical EIP-4361 message (the
/// address must be EIP-55), another domain, a URI off this server, a version other than 1,
/// another chain id, an `Issued At` in the future or older than the nonce lifetime, a missing
/// or past `Expiration Time`; ([`ProofRefusal::Signature`]) a malformed signature or one whose
/// signer is not the message's address; ([`ProofRefusal::ContractWallet`]) a well-formed
/// signature longer than 65 bytes.
pub fn verify_evm_proof(
    text: &str,
    signature: &str,
    expect: &ProofExpectations<'_>,
) -> Result<VerifiedProof, ProofRefusal> {
    let ProofChain::Evm(chain_id) = expect.chain else {
        return Err(message("This provider is not an EVM chain"));
    };
    let msg = siwe::Message::from_str(text).map_err(|e| message(format!("Not an EIP-4361 sign-in message: {e}")))?;
    // The signature covers the exact text; accept only the canonical rendering so that what was
    // checked field by field is what was signed.
    if msg.to_string() != text {
        return Err(message("The message is not in canonical EIP-4361 form"));
    }
    check_common(
        msg.domain.as_str(),
        msg.uri.as_str(),
        *msg.issued_at.as_ref(),
        msg.expiration_time.as_ref().map(|t| *t.as_ref()),
        msg.not_before.as_ref().map(|t| *t.as_ref()),
        expect,
    )?;
    if msg.chain_id != chain_id {
        return Err(message(format!(
            "The message is for chain id {}; this network is chain id {chain_id}",
            msg.chain_id
        )));
    }
    let raw = signature.trim();
    let hex_part = raw.strip_prefix("0x").unwrap_or(raw);
    let bytes = hex::decode(hex_part)
        .map_err(|_| ProofRefusal::Signature("The signature is not 0x-prefixed hexadecimal".to_owned()))?;
    // Shorter than an ECDSA signature: malformed. Longer: what smart-contract wallets return
    // (EIP-1271 multi-owner signatures, EIP-6492 wrappers).
    let Ok(sig) = <[u8; 65]>::try_from(bytes.as_slice()) else {
        return Err(if bytes.len() < 65 {
            ProofRefusal::Signature("The signature is shorter than 65 bytes".to_owned())
        } else {
            ProofRefusal::ContractWallet
        });
    };
    let address = siwe::eip55(&msg.address);
    msg.verify_eip191(&sig).map_err(|e| match e {
        siwe::VerificationError::Signer => ProofRefusal::Signature(format!(
            "The signature was not made by {address}. Smart-contract (EIP-1271) wallets are not supported"
        )),
        _ => ProofRefusal::Signature("The signature is not a valid secp256k1 signature".to_owned()),
    })?;
    Ok(VerifiedProof { address, nonce: WalletNonce::from_message(&msg.nonce) })
}

/// The fields of a Sign-In With Solana message, read strictly in [`solana_sign_in_message`]'s
/// layout (optional `Not Before` accepted after `Expiration Time`).
struct SolanaMessage<'a> {
    domain: &'a str,
    address: &'a str,
    uri: &'a str,
    chain_id: &'a str,
    nonce: &'a str,
    issued_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    not_before: Option<OffsetDateTime>,
}

fn parse_solana_message(text: &str) -> Result<SolanaMessage<'_>, ProofRefusal> {
    let bad = |what: &str| message(format!("Not a Sign-In With Solana message: {what}"));
    let mut lines = text.split('\n');
    let domain = lines
        .next()
        .and_then(|l| l.strip_suffix(" wants you to sign in with your Solana account:"))
        .ok_or_else(|| bad("first line"))?;
    let address = lines.next().filter(|a| !a.is_empty()).ok_or_else(|| bad("address line"))?;
    if lines.next() != Some("") {
        return Err(bad("blank line after the address"));
    }
    // An optional statement, then a blank line.
    let mut next = lines.next().ok_or_else(|| bad("URI"))?;
    if !next.starts_with("URI: ") {
        if lines.next() != Some("") {
            return Err(bad("blank line after the statement"));
        }
        next = lines.next().ok_or_else(|| bad("URI"))?;
    }
    let uri = next.strip_prefix("URI: ").ok_or_else(|| bad("URI"))?;
    let version = lines.next().and_then(|l| l.strip_prefix("Version: ")).ok_or_else(|| bad("Version"))?;
    if version != "1" {
        return Err(message(format!("Unsupported sign-in message version {version}")));
    }
    let chain_id = lines.next().and_then(|l| l.strip_prefix("Chain ID: ")).ok_or_else(|| bad("Chain ID"))?;
    let nonce = lines.next().and_then(|l| l.strip_prefix("Nonce: ")).ok_or_else(|| bad("Nonce"))?;
    let time = |s: &str, what: &str| OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad(what));
    let issued_at =
        time(lines.next().and_then(|l| l.strip_prefix("Issued At: ")).ok_or_else(|| bad("Issued At"))?, "Issued At")?;
    let mut expires_at = None;
    let mut not_before = None;
    for line in lines {
        if let Some(v) = line.strip_prefix("Expiration Time: ").filter(|_| expires_at.is_none()) {
            expires_at = Some(time(v, "Expiration Time")?);
        } else if let Some(v) = line.strip_prefix("Not Before: ").filter(|_| not_before.is_none()) {
            not_before = Some(time(v, "Not Before")?);
        } else {
            return Err(bad("unexpected line"));
        }
    }
    Ok(SolanaMessage { domain, address, uri, chain_id, nonce, issued_at, expires_at, not_before })
}

/// Checks a Sign-In With Solana message and its ed25519 signature (base58 of 64 bytes).
///
/// Refuses as [`verify_evm_proof`] does; the chain must be `mainnet` and the address a base58
/// ed25519 public key.
pub fn verify_solana_proof(
    text: &str,
    signature: &str,
    expect: &ProofExpectations<'_>,
) -> Result<VerifiedProof, ProofRefusal> {
    if expect.chain != ProofChain::Solana {
        return Err(message("This provider is not Solana"));
    }
    let msg = parse_solana_message(text)?;
    check_common(msg.domain, msg.uri, msg.issued_at, msg.expires_at, msg.not_before, expect)?;
    if msg.chain_id != SOLANA_CHAIN_ID {
        return Err(message(format!("The message is for Solana {}; expected {SOLANA_CHAIN_ID}", msg.chain_id)));
    }
    if msg.nonce.len() < 8 || !msg.nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(message("The message's nonce is malformed"));
    }
    let key_bytes: [u8; 32] = bs58::decode(msg.address)
        .into_vec()
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| message("The message's address is not a Solana public key"))?;
    let key = EdVerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| message("The message's address is not a valid ed25519 public key"))?;
    let sig_bytes: [u8; 64] = bs58::decode(signature.trim())
        .into_vec()
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ProofRefusal::Signature("The signature is not 64 bytes of base58".to_owned()))?;
    key.verify_strict(text.as_bytes(), &EdSignature::from_bytes(&sig_bytes)).map_err(|_| {
        ProofRefusal::Signature(format!("The signature was not made by {} over this message", msg.address))
    })?;
    Ok(VerifiedProof { address: msg.address.to_owned(), nonce: WalletNonce::from_message(msg.nonce) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;
    use k256::ecdsa::SigningKey;
    use sha3::Keccak256;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);
    const DOMAIN: &str = "connect.example.com";
    const ORIGIN: &str = "https://connect.example.com";

    fn expect(chain: ProofChain) -> ProofExpectations<'static> {
        ProofExpectations { domain: DOMAIN, origin: ORIGIN, chain, now: NOW }
    }

    fn evm_key() -> (SigningKey, String) {
        let key = SigningKey::from_slice(&[7u8; 32]).expect("valid scalar");
        let point = key.verifying_key().to_encoded_point(false);
        let hash = Keccak256::digest(&point.as_bytes()[1..]);
        let addr: [u8; 20] = hash[12..].try_into().expect("20 bytes");
        (key, siwe::eip55(&addr))
    }

    fn personal_sign(key: &SigningKey, text: &str) -> String {
        let prefixed = format!("\x19Ethereum Signed Message:\n{}{}", text.len(), text);
        let digest = Keccak256::digest(prefixed.as_bytes());
        let (sig, rec) = key.sign_prehash_recoverable(&digest).expect("signs");
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + rec.to_byte());
        format!("0x{}", hex::encode(out))
    }

    fn evm_text(address: &str, domain: &str, chain: u64, issued: OffsetDateTime) -> String {
        evm_sign_in_message(
            domain,
            &format!("{ORIGIN}/connect"),
            address,
            chain,
            "00112233445566778899aabbccddeeff",
            issued,
            issued + WALLET_NONCE_LIFETIME,
        )
    }

    #[test]
    fn a_signed_eip4361_message_proves_its_address() {
        let (key, address) = evm_key();
        let text = evm_text(&address, DOMAIN, 1, NOW);
        let proof = verify_evm_proof(&text, &personal_sign(&key, &text), &expect(ProofChain::Evm(1))).expect("valid");
        assert_eq!(proof.address, address);
        assert_eq!(proof.nonce.expose(), "00112233445566778899aabbccddeeff");
    }

    #[test]
    fn every_wrong_evm_proof_is_refused_with_its_reason() {
        let (key, address) = evm_key();
        let other = SigningKey::from_slice(&[9u8; 32]).expect("valid scalar");
        let good = evm_text(&address, DOMAIN, 1, NOW);
        let lower = good.replace(&address, &address.to_lowercase());
        type Case<'a> = (&'a str, String, String, fn(&ProofRefusal) -> bool);
        let cases: Vec<Case> = vec![
            ("another signer", good.clone(), personal_sign(&other, &good), |r| matches!(r, ProofRefusal::Signature(_))),
            (
                "another domain",
                evm_text(&address, "evil.example", 1, NOW),
                personal_sign(&key, &evm_text(&address, "evil.example", 1, NOW)),
                |r| matches!(r, ProofRefusal::Message(m) if m.contains("another domain")),
            ),
            (
                "another chain",
                evm_text(&address, DOMAIN, 137, NOW),
                personal_sign(&key, &evm_text(&address, DOMAIN, 137, NOW)),
                |r| matches!(r, ProofRefusal::Message(m) if m.contains("chain id 137")),
            ),
            (
                "expired",
                evm_text(&address, DOMAIN, 1, NOW - Duration::minutes(6)),
                personal_sign(&key, &evm_text(&address, DOMAIN, 1, NOW - Duration::minutes(6))),
                |r| matches!(r, ProofRefusal::Message(m) if m.contains("expired")),
            ),
            (
                "issued in the future",
                evm_text(&address, DOMAIN, 1, NOW + Duration::minutes(3)),
                personal_sign(&key, &evm_text(&address, DOMAIN, 1, NOW + Duration::minutes(3))),
                |r| matches!(r, ProofRefusal::Message(m) if m.contains("future")),
            ),
            ("not EIP-55", lower.clone(), personal_sign(&key, &lower), |r| matches!(r, ProofRefusal::Message(_))),
            ("not hex", good.clone(), "0xzz".to_owned(), |r| matches!(r, ProofRefusal::Signature(_))),
            ("contract wallet", good.clone(), format!("0x{}", "ab".repeat(96)), |r| *r == ProofRefusal::ContractWallet),
            ("garbage message", "hello".to_owned(), personal_sign(&key, "hello"), |r| {
                matches!(r, ProofRefusal::Message(_))
            }),
        ];
        for (what, text, sig, ok) in cases {
            let got = verify_evm_proof(&text, &sig, &expect(ProofChain::Evm(1)));
            assert!(got.as_ref().is_err_and(ok), "{what}: {got:?}");
        }
    }

    #[test]
    fn the_message_shape_round_trips_through_the_siwe_parser() {
        let (_, address) = evm_key();
        let text = evm_text(&address, "127.0.0.1:8080", 1, NOW);
        let parsed = siwe::Message::from_str(&text).expect("parses");
        assert_eq!(parsed.to_string(), text, "canonical");
        assert_eq!(parsed.statement.as_deref(), Some(SIGN_IN_STATEMENT));
    }

    #[test]
    fn a_signed_solana_message_proves_its_key_and_wrong_ones_are_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
        let text = solana_sign_in_message(
            DOMAIN,
            &format!("{ORIGIN}/connect"),
            &address,
            "00112233445566778899aabbccddeeff",
            NOW,
            NOW + WALLET_NONCE_LIFETIME,
        );
        let sign = |t: &str| bs58::encode(key.sign(t.as_bytes()).to_bytes()).into_string();
        let proof = verify_solana_proof(&text, &sign(&text), &expect(ProofChain::Solana)).expect("valid");
        assert_eq!(proof.address, address);
        let other = ed25519_dalek::SigningKey::from_bytes(&[6u8; 32]);
        let forged = bs58::encode(other.sign(text.as_bytes()).to_bytes()).into_string();
        assert!(matches!(
            verify_solana_proof(&text, &forged, &expect(ProofChain::Solana)),
            Err(ProofRefusal::Signature(_))
        ));
        assert!(matches!(
            verify_solana_proof(&text, "0x12", &expect(ProofChain::Solana)),
            Err(ProofRefusal::Signature(_))
        ));
        let elsewhere = text.replacen(DOMAIN, "evil.example", 1);
        assert!(matches!(
            verify_solana_proof(&elsewhere, &sign(&elsewhere), &expect(ProofChain::Solana)),
            Err(ProofRefusal::Message(m)) if m.contains("another domain")
        ));
        let devnet = text.replace("Chain ID: mainnet", "Chain ID: devnet");
        assert!(matches!(
            verify_solana_proof(&devnet, &sign(&devnet), &expect(ProofChain::Solana)),
            Err(ProofRefusal::Message(m)) if m.contains("devnet")
        ));
    }

    #[test]
    fn nonces_are_alphanumeric_and_stored_as_digests() {
        let n = WalletNonce::generate(&crate::OsSecretRng);
        assert_eq!(n.expose().len(), 32);
        assert!(n.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(n.digest(), n.expose());
        assert_eq!(n.digest().len(), 64);
        assert_eq!(format!("{n:?}"), "WalletNonce([REDACTED])");
    }

    #[test]
    fn eip55_normalizes_any_case() {
        assert_eq!(
            eip55_address("0x6da01670d8fc844e736095918bbe11fe8d564163").as_deref(),
            Some("0x6Da01670d8fc844e736095918bbE11fE8D564163")
        );
        assert_eq!(eip55_address("0x12"), None);
    }
}
