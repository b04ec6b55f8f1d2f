//! The provider's signing keys: generated on first use (RS256 for ID tokens, EdDSA for access
//! tokens), stored sealed with the credentials cipher, rotated every
//! [`oidc_lifetimes::SIGNING_KEY_ROTATION`] with an [`oidc_lifetimes::SIGNING_KEY_OVERLAP`]
//! during which the old key is still published and accepted. Every node reads the same
//! table; a node that meets an unknown `kid` reloads it.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use kc_domain::{keys_in_use, oidc_lifetimes, rotation_due, CredentialCipher, SecretRng, SigningAlg, SigningKeyInfo};
use kc_ports::{OidcStore, SigningKeyRecord, StoreError};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::RwLock;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// How long a node trusts its copy of the key table before reading it again (rotation by another node).
const RELOAD_AFTER: Duration = Duration::minutes(5);
/// The least time between two reloads caused by unknown `kid`s (so junk tokens cannot flood the database).
const MISS_RELOAD_GAP: Duration = Duration::seconds(1);
/// RSA modulus size.
const RSA_BITS: usize = 2048;

/// A key could not be made, stored or opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be generated, sealed, opened or parsed.
    #[error("signing key: {0}")]
    Key(String),
}

/// A usable key.
pub(crate) struct LoadedKey {
    pub(crate) info: SigningKeyInfo,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    pub(crate) jwk: serde_json::Value,
}

impl LoadedKey {
    /// The `jsonwebtoken` algorithm of this key.
    pub(crate) fn algorithm(&self) -> Algorithm {
        jose_alg(self.info.alg)
    }
}

/// The `jsonwebtoken` spelling of `alg`.
pub(crate) fn jose_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::Rs256 => Algorithm::RS256,
        SigningAlg::EdDsa => Algorithm::EdDSA,
    }
}

#[derive(Default)]
struct Cache {
    /// Keys in use (signing or still accepted), newest generation first per algorithm.
    keys: Vec<Arc<LoadedKey>>,
    loaded_at: Option<OffsetDateTime>,
    last_miss_reload: Option<OffsetDateTime>,
}

/// The keyring of one process.
pub(crate) struct Keyring {
    store: Arc<dyn OidcStore>,
    cipher: Arc<CredentialCipher>,
    cache: RwLock<Cache>,
}

fn key_error(e: impl std::fmt::Display) -> KeyError {
    KeyError::Key(e.to_string())
}

impl Keyring {
    pub(crate) fn new(store: Arc<dyn OidcStore>, cipher: Arc<CredentialCipher>) -> Self {
        Self { store, cipher, cache: RwLock::new(Cache::default()) }
    }

    /// The key that signs with `alg` now (generating or rotating as due).
    pub(crate) async fn signing_key(
        &self,
        alg: SigningAlg,
        now: OffsetDateTime,
        rng: &dyn SecretRng,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        {
            let cache = self.cache.read().await;
            if cache.loaded_at.is_some_and(|t| now < t + RELOAD_AFTER) {
                if let Some(k) = newest(&cache.keys, alg) {
                    if now < k.info.created_at + oidc_lifetimes::SIGNING_KEY_ROTATION {
                        return Ok(k);
                    }
                }
            }
        }
        self.refresh(now, rng).await?;
        let cache = self.cache.read().await;
        newest(&cache.keys, alg).ok_or_else(|| KeyError::Key(format!("no {} key after refresh", alg.as_str())))
    }

    /// The key `kid`, if it is in use; reloads the table once when it is unknown here.
    pub(crate) async fn verifying_key(
        &self,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<LoadedKey>>, KeyError> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.loaded_at.is_some_and(|t| now < t + RELOAD_AFTER);
            if let Some(k) = cache.keys.iter().find(|k| k.info.kid == kid) {
                if fresh {
                    return Ok(Some(k.clone()));
                }
            } else if fresh && cache.last_miss_reload.is_some_and(|t| now < t + MISS_RELOAD_GAP) {
                return Ok(None);
            }
        }
        {
            let mut cache = self.cache.write().await;
            cache.last_miss_reload = Some(now);
            self.reload(&mut cache, now).await?;
        }
        let cache = self.cache.read().await;
        Ok(cache.keys.iter().find(|k| k.info.kid == kid).cloned())
    }

    /// The published keys (JWK Set `keys`).
    pub(crate) async fn jwks(
        &self,
        now: OffsetDateTime,
        rng: &dyn SecretRng,
    ) -> Result<Vec<serde_json::Value>, KeyError> {
        self.refresh(now, rng).await?;
        let cache = self.cache.read().await;
        Ok(cache.keys.iter().map(|k| k.jwk.clone()).collect())
    }

    /// Generates a new key of each algorithm now, whatever the age of the current ones (the old
    /// ones stay published for the overlap).
    pub(crate) async fn rotate_now(&self, now: OffsetDateTime, rng: &dyn SecretRng) -> Result<(), KeyError> {
        let stored = self.store.oidc_signing_keys().await?;
        for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
            let generation = stored.iter().filter(|k| k.alg == alg).map(|k| k.generation).max().unwrap_or(0) + 1;
            self.generate(alg, generation, now, rng).await?;
        }
        let mut cache = self.cache.write().await;
        self.reload(&mut cache, now).await
    }

    /// Every stored key and where it stands at `now`.
    pub(crate) async fn statuses(&self, now: OffsetDateTime) -> Result<Vec<SigningKeyStatus>, KeyError> {
        Ok(key_statuses(&self.store.oidc_signing_keys().await?, now))
    }

    /// Reads the table, generates the keys that are missing or due, and keeps those in use.
    async fn refresh(&self, now: OffsetDateTime, rng: &dyn SecretRng) -> Result<(), KeyError> {
        let mut cache = self.cache.write().await;
        if cache.loaded_at.is_some_and(|t| now < t + RELOAD_AFTER)
            && [SigningAlg::Rs256, SigningAlg::EdDsa].iter().all(|a| {
                newest(&cache.keys, *a).is_some_and(|k| now < k.info.created_at + oidc_lifetimes::SIGNING_KEY_ROTATION)
            })
        {
            return Ok(());
        }
        let stored = self.store.oidc_signing_keys().await?;
        let infos: Vec<SigningKeyInfo> = stored.iter().map(info_of).collect();
        for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
            if rotation_due(&infos, alg, now, oidc_lifetimes::SIGNING_KEY_ROTATION) {
                let generation = infos.iter().filter(|k| k.alg == alg).map(|k| k.generation).max().unwrap_or(0) + 1;
                self.generate(alg, generation, now, rng).await?;
            }
        }
        self.reload(&mut cache, now).await
    }

    async fn reload(&self, cache: &mut Cache, now: OffsetDateTime) -> Result<(), KeyError> {
        let stored = self.store.oidc_signing_keys().await?;
        let infos: Vec<SigningKeyInfo> = stored.iter().map(info_of).collect();
        let mut keys = Vec::new();
        for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
            for info in keys_in_use(&infos, alg, now, oidc_lifetimes::SIGNING_KEY_OVERLAP) {
                if let Some(existing) = cache.keys.iter().find(|k| k.info.kid == info.kid) {
                    keys.push(existing.clone());
                    continue;
                }
                let record = stored
                    .iter()
                    .find(|r| r.kid == info.kid)
                    .ok_or_else(|| KeyError::Key(format!("key {} vanished", info.kid)))?;
                keys.push(Arc::new(self.open(record)?));
            }
        }
        cache.keys = keys;
        cache.loaded_at = Some(now);
        Ok(())
    }

    /// Generates and stores a key of `generation`; losing a race to another node is not an error.
    async fn generate(
        &self,
        alg: SigningAlg,
        generation: i32,
        now: OffsetDateTime,
        rng: &dyn SecretRng,
    ) -> Result<(), KeyError> {
        let mut id = [0u8; 12];
        rng.fill(&mut id);
        let kid = format!("{}-{}", alg.as_str().to_lowercase(), B64URL.encode(id));
        let (private, jwk) = match alg {
            SigningAlg::Rs256 => {
                let key = tokio::task::spawn_blocking(|| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS))
                    .await
                    .map_err(key_error)?
                    .map_err(key_error)?;
                let der = key.to_pkcs1_der().map_err(key_error)?.as_bytes().to_vec();
                let jwk = serde_json::json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                    "n": B64URL.encode(key.n().to_bytes_be()),
                    "e": B64URL.encode(key.e().to_bytes_be()),
                });
                (der, jwk)
            }
            SigningAlg::EdDsa => {
                let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                    .map_err(key_error)?;
                let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(key_error)?;
                use ring::signature::KeyPair as _;
                let jwk = serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                    "x": B64URL.encode(pair.public_key().as_ref()),
                });
                (pkcs8.as_ref().to_vec(), jwk)
            }
        };
        let sealed = self.cipher.seal(&private, &kid, rng).map_err(key_error)?;
        let record = SigningKeyRecord {
            kid: kid.clone(),
            alg,
            generation,
            private_key: sealed,
            public_jwk: jwk.to_string(),
            created_at: now,
        };
        if self.store.insert_oidc_signing_key(&record).await? {
            tracing::info!(kid = %kid, alg = alg.as_str(), generation, "OpenID Connect signing key generated");
        }
        Ok(())
    }

    fn open(&self, r: &SigningKeyRecord) -> Result<LoadedKey, KeyError> {
        let private = self.cipher.open(&r.private_key, &r.kid).map_err(key_error)?;
        let jwk: serde_json::Value = serde_json::from_str(&r.public_jwk).map_err(key_error)?;
        let field =
            |name: &str| jwk[name].as_str().map(str::to_owned).ok_or_else(|| KeyError::Key(format!("jwk {name}")));
        let (encoding, decoding) = match r.alg {
            SigningAlg::Rs256 => (
                EncodingKey::from_rsa_der(&private),
                DecodingKey::from_rsa_components(&field("n")?, &field("e")?).map_err(key_error)?,
            ),
            SigningAlg::EdDsa => {
                (EncodingKey::from_ed_der(&private), DecodingKey::from_ed_components(&field("x")?).map_err(key_error)?)
            }
        };
        Ok(LoadedKey { info: info_of(r), encoding, decoding, jwk })
    }
}

/// Where a stored signing key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKeyState {
    /// The newest key of its algorithm: it signs new tokens.
    Signing,
    /// Replaced, but still published in the JWKS and accepted until the tokens it signed have expired.
    Published,
    /// Replaced for longer than the overlap: neither published nor accepted.
    Retired,
}

impl SigningKeyState {
    /// Its name in the CLI's output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }
}

/// A signing key as `kryptos-connect oidc keys` lists it (never its private part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyStatus {
    /// Key id (`kid`).
    pub kid: String,
    /// `RS256` or `EdDSA`.
    pub alg: &'static str,
    /// Generation within its algorithm.
    pub generation: i32,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Where it stands now.
    pub state: SigningKeyState,
    /// For a replaced key: when it leaves (left) the JWKS (its successor's creation plus the overlap).
    pub published_until: Option<OffsetDateTime>,
}

/// The state of every stored key at `now`, oldest first.
pub(crate) fn key_statuses(stored: &[SigningKeyRecord], now: OffsetDateTime) -> Vec<SigningKeyStatus> {
    let infos: Vec<SigningKeyInfo> = stored.iter().map(info_of).collect();
    let mut in_use = Vec::new();
    for alg in [SigningAlg::Rs256, SigningAlg::EdDsa] {
        in_use.extend(keys_in_use(&infos, alg, now, oidc_lifetimes::SIGNING_KEY_OVERLAP));
    }
    infos
        .iter()
        .map(|k| {
            let successor =
                infos.iter().filter(|o| o.alg == k.alg && o.generation > k.generation).min_by_key(|o| o.generation);
            let state = match successor {
                None => SigningKeyState::Signing,
                Some(_) if in_use.iter().any(|u| u.kid == k.kid) => SigningKeyState::Published,
                Some(_) => SigningKeyState::Retired,
            };
            SigningKeyStatus {
                kid: k.kid.clone(),
                alg: k.alg.as_str(),
                generation: k.generation,
                created_at: k.created_at,
                state,
                published_until: successor.map(|s| s.created_at + oidc_lifetimes::SIGNING_KEY_OVERLAP),
            }
        })
        .collect()
}

fn info_of(r: &SigningKeyRecord) -> SigningKeyInfo {
    SigningKeyInfo { kid: r.kid.clone(), alg: r.alg, generation: r.generation, created_at: r.created_at }
}

fn newest(keys: &[Arc<LoadedKey>], alg: SigningAlg) -> Option<Arc<LoadedKey>> {
    keys.iter().filter(|k| k.info.alg == alg).max_by_key(|k| k.info.generation).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kc_domain::Sealed;
    use time::macros::datetime;

    fn record(alg: SigningAlg, generation: i32, created_at: OffsetDateTime) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: format!("{}-{generation}", alg.as_str()),
            alg,
            generation,
            private_key: Sealed { key_id: "k".into(), blob: "b".into() },
            public_jwk: "{}".into(),
            created_at,
        }
    }

    #[test]
    fn a_replaced_key_is_published_for_the_overlap_then_retired() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let t1 = datetime!(2026-03-01 0:00 UTC);
        let stored =
            [record(SigningAlg::Rs256, 1, t0), record(SigningAlg::EdDsa, 1, t0), record(SigningAlg::Rs256, 2, t1)];
        let during = key_statuses(&stored, t1 + Duration::days(1));
        let state = |list: &[SigningKeyStatus], kid: &str| {
            list.iter().find(|k| k.kid == kid).map(|k| (k.state, k.published_until)).expect("listed")
        };
        assert_eq!(
            state(&during, "RS256-1"),
            (SigningKeyState::Published, Some(t1 + oidc_lifetimes::SIGNING_KEY_OVERLAP))
        );
        assert_eq!(state(&during, "RS256-2"), (SigningKeyState::Signing, None));
        assert_eq!(state(&during, "EdDSA-1"), (SigningKeyState::Signing, None), "algorithms rotate apart");
        let after = key_statuses(&stored, t1 + oidc_lifetimes::SIGNING_KEY_OVERLAP);
        assert_eq!(state(&after, "RS256-1").0, SigningKeyState::Retired);
        assert_eq!(after.len(), 3, "retired keys are still listed");
    }
}
