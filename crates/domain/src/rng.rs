//! Randomness as an injectable port.

use rand::RngCore;

/// A source of cryptographically secure random bytes.
///
/// Production uses [`OsSecretRng`]; tests may inject a deterministic source.
pub trait SecretRng: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsSecretRng;

impl SecretRng for OsSecretRng {
    fn fill(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

/// Random bytes encoded URL-safe without padding (`len` bytes of entropy).
pub(crate) fn random_urlsafe(rng: &dyn SecretRng, len: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; len];
    rng.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
