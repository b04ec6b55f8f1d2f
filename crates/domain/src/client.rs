//! Client applications and their secrets.

use crate::ids::ClientId;
use crate::rng::{random_urlsafe, SecretRng};
use crate::scope::ScopeSet;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

/// Whether a client is restricted to test chains and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMode {
    /// Ethereum and Solana test addresses only (the default for new clients).
    Sandbox,
    /// Every provider and address.
    Production,
}

impl ClientMode {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// Parses `sandbox` or `production`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

/// A registered client as the service sees it. The secret is held only as its keyed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// Public identifier, sent as `X-Client-Id`.
    pub id: ClientId,
    /// Display name shown in the widget.
    pub name: String,
    /// Sandbox or production.
    pub mode: ClientMode,
    /// Scopes the client may request.
    pub allowed_scopes: ScopeSet,
    /// Origins allowed to embed the widget and call widget routes (exact match).
    pub allowed_origins: Vec<String>,
    /// Where a full-page widget may return to.
    pub redirect_uris: Vec<String>,
    /// Logo shown in the widget.
    pub logo_url: Option<String>,
    /// HMAC-SHA256 (with the server pepper) of the secret, hex.
    pub secret_digest: String,
    /// Disabled clients fail authentication with `INVALID_CLIENT`.
    pub disabled: bool,
}

/// A client secret in plaintext: shown once at creation or rotation, then only its digest remains.
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// A fresh secret with 256 bits of entropy.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(format!("kcs_{}", random_urlsafe(rng, 32)).into())
    }

    /// Wraps a secret received from a caller.
    pub fn from_input(s: &str) -> Self {
        Self(s.to_owned().into())
    }

    /// The plaintext, for the one place that must show it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([REDACTED])")
    }
}

/// The server-side key that client secrets are HMAC'd with. Secrets have 256 bits of
/// entropy, so a fast keyed hash is enough and no slow password hash sits on the request path.
pub struct SecretPepper(SecretBox<Vec<u8>>);

impl SecretPepper {
    /// Wraps pepper bytes (at least 32 are recommended).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The keyed digest (hex) of `secret`.
    pub fn digest(&self, secret: &ClientSecret) -> String {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret()).unwrap_or_else(|_| unreachable_hmac());
        mac.update(secret.expose().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keyed digest (hex) of any short secret text (email codes, API-key fingerprints).
    pub fn digest_text(&self, text: &str) -> String {
        self.digest(&ClientSecret::from_input(text))
    }

    /// Whether `text` matches `stored_digest` (from [`SecretPepper::digest_text`]), in constant time.
    pub fn verify_text(&self, text: &str, stored_digest: &str) -> bool {
        self.verify(&ClientSecret::from_input(text), stored_digest)
    }

    /// Whether `secret` matches `stored_digest`, compared in constant time.
    pub fn verify(&self, secret: &ClientSecret, stored_digest: &str) -> bool {
        let computed = self.digest(secret);
        computed.as_bytes().ct_eq(stored_digest.as_bytes()).into()
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC-SHA256 takes keys of any length; this path cannot run.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

impl fmt::Debug for SecretPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPepper([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;

    #[test]
    fn a_secret_verifies_against_its_own_digest_only() {
        let pepper = SecretPepper::new(vec![7; 32]);
        let secret = ClientSecret::generate(&OsSecretRng);
        let digest = pepper.digest(&secret);
        assert!(pepper.verify(&secret, &digest));
        assert!(!pepper.verify(&ClientSecret::from_input("kcs_wrong"), &digest));
        let other_pepper = SecretPepper::new(vec![8; 32]);
        assert!(!other_pepper.verify(&secret, &digest), "the pepper is part of the key");
    }

    #[test]
    fn modes_round_trip() {
        for m in [ClientMode::Sandbox, ClientMode::Production] {
            assert_eq!(ClientMode::parse(m.as_str()), Some(m));
        }
    }
}
