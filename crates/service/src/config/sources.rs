//! What the configuration layers contain beyond typed values: keys no setting knows (reported,
//! not fatal), and secrets given as files (`KEY_FILE`, as systemd `LoadCredential` and
//! Kubernetes secrets pass them).

use super::ConfigError;
use ::config::{Map, Value, ValueKind};
use std::path::Path;

/// Settings whose children are free-form ids (every child key is known).
const FREE_MAPS: &[&str] =
    &["chains.rpc_urls", "chains.explorer_urls", "chains.explorer_api_keys", "security.credentials_keys"];

/// Secrets that may be given as `<key>_file` (a path whose contents are the value).
/// `security.pepper` has its own `security.pepper_file`; credential keys take
/// `security.credentials_keys.<id>_file`.
pub(super) const SECRET_FILE_KEYS: &[&str] = &["database.url", "mail.smtp_password", "prices.api_key"];

/// A configuration key that no setting reads, and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The dotted key, e.g. `server.listn`.
    pub key: String,
    /// `file <path>` or `environment KRYPTOS__…`.
    pub source: String,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` (from {})", self.key, self.source)
    }
}

/// The default configuration as a tree of tables.
fn known_tree(defaults: &str) -> Result<Map<String, Value>, ConfigError> {
    Ok(::config::Config::builder()
        .add_source(::config::File::from_str(defaults, ::config::FileFormat::Toml))
        .build()?
        .try_deserialize::<Map<String, Value>>()?)
}

/// Whether the dotted `path` names a setting of `tree` (or a `_file` variant of a secret).
fn is_known(tree: &Map<String, Value>, path: &[String]) -> bool {
    let dotted = path.join(".");
    if SECRET_FILE_KEYS.iter().any(|k| dotted == format!("{k}_file")) {
        return true;
    }
    let mut node = tree;
    for (i, seg) in path.iter().enumerate() {
        let here = path[..=i].join(".");
        match node.get(seg).map(|v| &v.kind) {
            None => return false,
            Some(ValueKind::Table(child)) => {
                if FREE_MAPS.contains(&here.as_str()) {
                    return true;
                }
                node = child;
            }
            // A scalar or list: known only if nothing is nested below it.
            Some(_) => return i + 1 == path.len(),
        }
    }
    true
}

/// Every leaf key (dotted path segments) of a parsed file.
fn leaves(table: &Map<String, Value>, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (k, v) in table {
        prefix.push(k.to_lowercase());
        match &v.kind {
            ValueKind::Table(child) if !child.is_empty() => leaves(child, prefix, out),
            _ => out.push(prefix.clone()),
        }
        prefix.pop();
    }
}

/// The keys set in `file` and in `env` (`KRYPTOS__…` variables) that no setting reads.
pub(super) fn unknown_keys(
    defaults: &str,
    file: Option<&Path>,
    env: &Map<String, String>,
) -> Result<Vec<UnknownKey>, ConfigError> {
    let tree = known_tree(defaults)?;
    let mut unknown = Vec::new();
    if let Some(path) = file {
        let parsed: Map<String, Value> = ::config::Config::builder()
            .add_source(::config::File::from(path).required(true))
            .build()?
            .try_deserialize()?;
        let mut found = Vec::new();
        leaves(&parsed, &mut Vec::new(), &mut found);
        found.sort();
        for key in found {
            if !is_known(&tree, &key) {
                unknown.push(UnknownKey { key: key.join("."), source: format!("file {}", path.display()) });
            }
        }
    }
    let mut names: Vec<&String> = env.keys().collect();
    names.sort();
    for name in names {
        let Some(rest) = name.strip_prefix("KRYPTOS__") else { continue };
        let key: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if key.iter().any(String::is_empty) || !is_known(&tree, &key) {
            unknown.push(UnknownKey { key: key.join("."), source: format!("environment {name}") });
        }
    }
    Ok(unknown)
}

/// Reads a secret from `path` for `key`: the whole file, without its trailing newline.
pub fn read_secret_file(key: &str, path: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Value(format!("{key}_file: cannot read the secret file {path}: {e}")))?;
    let value = text.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        return Err(ConfigError::Value(format!("{key}_file: the secret file {path} is empty")));
    }
    Ok(value)
}

/// Overrides every secret given as a file in `merged` with the file's contents.
pub(super) fn secret_file_overrides(merged: &::config::Config) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for key in SECRET_FILE_KEYS {
        let Ok(path) = merged.get_string(&format!("{key}_file")) else { continue };
        if path.is_empty() {
            continue;
        }
        if merged.get_string(key).is_ok_and(|v| !v.is_empty()) {
            return Err(ConfigError::Value(format!("set either {key} or {key}_file, not both")));
        }
        out.push(((*key).to_owned(), read_secret_file(key, &path)?));
    }
    if let Ok(keys) = merged.get_table("security.credentials_keys") {
        for (id, v) in keys {
            let Some(base) = id.strip_suffix("_file") else { continue };
            let path = v.into_string()?;
            let key = format!("security.credentials_keys.{base}");
            out.push((key.clone(), read_secret_file(&key, &path)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn temp_file(contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("kc-config-{}", uuid_like()));
        std::fs::write(&path, contents).expect("write temp file");
        path
    }

    fn uuid_like() -> String {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        format!("{:016x}", h.finish())
    }

    #[test]
    fn secrets_come_from_files_without_their_trailing_newline() {
        let password = temp_file("s3cret pass\n");
        let url = temp_file("postgres://kc@db/kc\r\n");
        let key = temp_file(&format!("{}\n", "A".repeat(43) + "="));
        let s = Settings::load_with(
            None,
            env(&[
                ("KRYPTOS__MAIL__SMTP_PASSWORD_FILE", password.to_str().expect("utf-8")),
                ("KRYPTOS__DATABASE__URL_FILE", url.to_str().expect("utf-8")),
                ("KRYPTOS__SECURITY__CREDENTIALS_KEYS__K1_FILE", key.to_str().expect("utf-8")),
                ("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY", "k1"),
            ]),
        )
        .expect("valid");
        assert_eq!(s.mail.smtp_password.expose_secret(), "s3cret pass");
        assert_eq!(s.database.url, "postgres://kc@db/kc");
        assert_eq!(s.security.credentials_keys.keys().collect::<Vec<_>>(), ["k1"]);
        assert_eq!(s.security.credentials_keys["k1"].expose_secret(), &("A".repeat(43) + "="));
        assert!(s.unknown_keys.is_empty(), "{:?}", s.unknown_keys);
    }

    #[test]
    fn a_missing_secret_file_is_an_error_naming_the_key_and_the_file() {
        let err = Settings::load_with(None, env(&[("KRYPTOS__MAIL__SMTP_PASSWORD_FILE", "/nonexistent/kc-password")]))
            .expect_err("missing file");
        let text = err.to_string();
        assert!(text.contains("mail.smtp_password_file") && text.contains("/nonexistent/kc-password"), "{text}");
    }

    #[test]
    fn a_secret_and_its_file_together_are_an_error() {
        let f = temp_file("x\n");
        let err = Settings::load_with(
            None,
            env(&[
                ("KRYPTOS__PRICES__API_KEY", "inline"),
                ("KRYPTOS__PRICES__API_KEY_FILE", f.to_str().expect("utf-8")),
            ]),
        )
        .expect_err("both");
        assert!(err.to_string().contains("prices.api_key"), "{err}");
    }

    #[test]
    fn unknown_keys_are_reported_with_their_source() {
        let file = temp_file("[server]\nlisten = \"127.0.0.1:9\"\nlistn = \"x\"\n[chains.rpc_urls]\nethereum = \"http://x\"\n[nope]\na = 1\n");
        let toml = file.with_extension("toml");
        std::fs::rename(&file, &toml).expect("rename");
        let s = Settings::load_with(
            Some(&toml),
            env(&[
                ("KRYPTOS__SERVER__BODY_LIMIT", "1"),
                ("KRYPTOS__SECURITY__CREDENTIALS_KEYS__ANY", "x"),
                ("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY", "any"),
                ("KRYPTOS__LOGS__FORMAT", "json"),
            ]),
        );
        // The bogus credential key fails validation later only if used; loading succeeds.
        let s = s.expect("valid");
        let found: Vec<String> = s.unknown_keys.iter().map(ToString::to_string).collect();
        let file_src = format!("file {}", toml.display());
        assert_eq!(
            found,
            [
                format!("`nope.a` (from {file_src})"),
                format!("`server.listn` (from {file_src})"),
                "`logs.format` (from environment KRYPTOS__LOGS__FORMAT)".to_owned(),
                "`server.body_limit` (from environment KRYPTOS__SERVER__BODY_LIMIT)".to_owned(),
            ]
        );
    }

    #[test]
    fn data_dir_follows_the_sqlite_file_unless_configured() {
        let s = Settings::load_with(None, []).expect("valid");
        assert_eq!(s.data_dir, std::path::PathBuf::from("./data"));
        assert_eq!(s.sqlite_file(), Some(std::path::PathBuf::from("./data/kryptos.db")));
        let s = Settings::load_with(None, env(&[("KRYPTOS__DATABASE__URL", "sqlite:///var/lib/kc/main.db?mode=rwc")]))
            .expect("valid");
        assert_eq!(s.data_dir, std::path::PathBuf::from("/var/lib/kc"));
        let mut s = Settings::load_with(None, env(&[("KRYPTOS__DATABASE__URL", "postgres://x@h/db")])).expect("valid");
        assert_eq!(s.data_dir, std::path::PathBuf::from("./data"));
        assert_eq!(s.sqlite_file(), None);
        s.set_database_url("sqlite://other/kc.db".to_owned());
        assert_eq!(s.data_dir, std::path::PathBuf::from("other"));
        let mut s = Settings::load_with(None, env(&[("KRYPTOS__DATA_DIR", "/srv/kc")])).expect("valid");
        s.set_database_url("sqlite://other/kc.db".to_owned());
        assert_eq!(s.data_dir, std::path::PathBuf::from("/srv/kc"), "a configured data_dir stays");
    }
}
