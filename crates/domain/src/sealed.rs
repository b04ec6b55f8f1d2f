//! Authenticated encryption of exchange credentials at rest (XChaCha20-Poly1305), with key
//! ids so keys can rotate: new data is sealed with the active key, old data opens with
//! whichever key sealed it.

use crate::rng::SecretRng;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::BTreeMap;
use std::fmt;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;
const NONCE_LEN: usize = 24;

/// Encryption or decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A key is not 32 bytes of base64.
    #[error("key `{0}` must be 32 bytes, base64-encoded")]
    BadKey(String),
    /// The active key id names no configured key.
    #[error("active key `{0}` is not configured")]
    NoActiveKey(String),
    /// The data names a key that is not configured (any more).
    #[error("data was sealed with unknown key `{0}`")]
    UnknownKey(String),
    /// The data was tampered with, or the wrong key was configured under its id.
    #[error("sealed data failed authentication")]
    Corrupt,
}

/// Sealed bytes and the id of the key that sealed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key id.
    pub key_id: String,
    /// base64(nonce ‖ ciphertext ‖ tag).
    pub blob: String,
}

/// A keyring for sealing credentials.
pub struct CredentialCipher {
    keys: BTreeMap<String, XChaCha20Poly1305>,
    active: String,
}

impl CredentialCipher {
    /// A keyring from `(id, base64 key)` pairs, sealing with `active`.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a str, &'a str)>, active: &str) -> Result<Self, SealError> {
        let mut ring = BTreeMap::new();
        for (id, b64) in keys {
            let bytes = B64.decode(b64.trim().trim_end_matches('=')).map_err(|_| SealError::BadKey(id.to_owned()))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SealError::BadKey(id.to_owned()))?;
            ring.insert(id.to_owned(), cipher);
        }
        if !ring.contains_key(active) {
            return Err(SealError::NoActiveKey(active.to_owned()));
        }
        Ok(Self { keys: ring, active: active.to_owned() })
    }

    /// A fresh random key, base64-encoded (for generating configuration).
    pub fn generate_key(rng: &dyn SecretRng) -> String {
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        B64.encode(key)
    }

    /// Seals `plaintext` with the active key; `context` (e.g. the integration id) is bound
    /// as associated data so a blob cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &str, rng: &dyn SecretRng) -> Result<Sealed, SealError> {
        let cipher = self.keys.get(&self.active).ok_or_else(|| SealError::NoActiveKey(self.active.clone()))?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| SealError::Corrupt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(Sealed { key_id: self.active.clone(), blob: B64.encode(out) })
    }

    /// Opens data sealed by [`CredentialCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
        let cipher = self.keys.get(&sealed.key_id).ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        let raw = B64.decode(&sealed.blob).map_err(|_| SealError::Corrupt)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| SealError::Corrupt)
    }
}

impl fmt::Debug for CredentialCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCipher")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;

    #[test]
    fn sealed_data_opens_only_with_its_key_and_context() {
        let k1 = CredentialCipher::generate_key(&OsSecretRng);
        let ring = CredentialCipher::new([("k1", k1.as_str())], "k1").expect("keyring");
        let sealed = ring.seal(b"api-secret", "wal_1", &OsSecretRng).expect("seal");
        assert!(!sealed.blob.contains("api-secret"));
        assert_eq!(ring.open(&sealed, "wal_1").expect("open"), b"api-secret");
        assert_eq!(ring.open(&sealed, "wal_2"), Err(SealError::Corrupt), "bound to its row");
    }

    #[test]
    fn keys_rotate_old_data_still_opens() {
        let k1 = CredentialCipher::generate_key(&OsSecretRng);
        let k2 = CredentialCipher::generate_key(&OsSecretRng);
        let old = CredentialCipher::new([("k1", k1.as_str())], "k1").expect("old ring");
        let sealed = old.seal(b"s", "c", &OsSecretRng).expect("seal");
        let new = CredentialCipher::new([("k1", k1.as_str()), ("k2", k2.as_str())], "k2").expect("new ring");
        assert_eq!(new.open(&sealed, "c").expect("old data opens"), b"s");
        assert_eq!(new.seal(b"s", "c", &OsSecretRng).expect("seal").key_id, "k2");
    }

    #[test]
    fn bad_configuration_is_reported() {
        assert_eq!(CredentialCipher::new([("k1", "short")], "k1").err(), Some(SealError::BadKey("k1".into())));
        let k = CredentialCipher::generate_key(&OsSecretRng);
        assert_eq!(CredentialCipher::new([("k1", k.as_str())], "k9").err(), Some(SealError::NoActiveKey("k9".into())));
    }
}
