//! The pepper and the credentials key: configured, or (development, `serve`) generated once
//! into a 0600 file in the data directory.

use kc_domain::{OsSecretRng, SecretRng};
use secrecy::ExposeSecret;
use std::io::Write;
use std::path::Path;

/// The pepper could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[error("pepper file {path}: {source}{hint}")]
pub struct PepperError {
    path: String,
    source: std::io::Error,
    hint: &'static str,
}

/// Whether a missing secret file may be created with a fresh random secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Create it (`serve` and `migrate` on the default path in the data directory).
    Generate,
    /// Fail: a configured file must exist, and administration commands never invent secrets
    /// (a new pepper would not match the one the servers use).
    Refuse,
}

/// The configured pepper, else the contents of `file`, created with 32 random bytes if
/// missing and `missing` allows it.
pub fn load_pepper(configured: &secrecy::SecretString, file: &Path, missing: Missing) -> Result<Vec<u8>, PepperError> {
    let configured = configured.expose_secret();
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    let err = |source| PepperError { path: file.display().to_string(), source, hint: "" };
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(text.trim().as_bytes().to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing == Missing::Refuse => Err(PepperError {
            path: file.display().to_string(),
            source: e,
            hint: " (the pepper the servers use is needed: pass the same --config or data_dir, or set \
                   security.pepper / KRYPTOS__SECURITY__PEPPER_FILE)",
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            OsSecretRng.fill(&mut bytes);
            let text = hex::encode(bytes);
            write_private(file, &text).map_err(err)?;
            tracing::info!(path = %file.display(), "generated a new pepper");
            Ok(text.into_bytes())
        }
        Err(e) => Err(err(e)),
    }
}

/// Writes `contents` to a new file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// The credentials keyring: the configured keys, or a key `local` read from `file`, generated
/// once into it when missing and `missing` allows it. With [`Missing::Refuse`] and no key
/// file, a throw-away in-memory key is used: callers must not seal anything with it (see
/// [`credentials_key_available`]).
pub fn load_cipher(
    keys: &std::collections::BTreeMap<String, secrecy::SecretString>,
    active: &str,
    file: &Path,
    missing: Missing,
) -> Result<kc_domain::CredentialCipher, String> {
    if !keys.is_empty() {
        let pairs: Vec<(&str, &str)> = keys.iter().map(|(id, k)| (id.as_str(), k.expose_secret())).collect();
        return kc_domain::CredentialCipher::new(pairs, active).map_err(|e| e.to_string());
    }
    let key = match std::fs::read_to_string(file) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing == Missing::Refuse => {
            kc_domain::CredentialCipher::generate_key(&OsSecretRng)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = kc_domain::CredentialCipher::generate_key(&OsSecretRng);
            write_private(file, &key).map_err(|e| format!("{}: {e}", file.display()))?;
            tracing::info!(path = %file.display(), "generated a new credentials key");
            key
        }
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    kc_domain::CredentialCipher::new([("local", key.as_str())], "local").map_err(|e| e.to_string())
}

/// Whether a persistent credentials key exists: configured, or in `file`.
pub fn credentials_key_available(
    keys: &std::collections::BTreeMap<String, secrecy::SecretString>,
    file: &Path,
) -> bool {
    !keys.is_empty() || file.exists()
}
