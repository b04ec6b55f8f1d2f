//! Layered configuration: built-in defaults → an optional file → `KRYPTOS__…` environment.

use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The defaults shipped with the binary (`config/default.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

/// Every setting of a server process.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Directory of the embedded database, the generated pepper and the demo client file.
    pub data_dir: PathBuf,
    /// `development` or `production`.
    pub environment: String,
    /// HTTP server.
    pub server: ServerSettings,
    /// Database.
    pub database: DatabaseSection,
    /// Secrets and abuse limits.
    pub security: SecuritySettings,
    /// The Connect widget.
    pub widget: WidgetSettings,
    /// Logging.
    pub log: LogSettings,
    /// The development demo.
    pub demo: DemoSettings,
    /// Outgoing mail.
    pub mail: MailSettings,
    /// Balance-sync workers.
    pub sync: SyncSection,
    /// Chain RPC endpoints.
    pub chains: ChainsSection,
    /// Price source.
    pub prices: PricesSection,
    /// Webhook dispatchers.
    pub webhooks: WebhooksSection,
    /// The audit trail.
    pub audit: AuditSection,
}

/// `[webhooks]`.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhooksSection {
    /// Dispatchers per process (0 sends nothing from this process; deliveries wait in the database).
    pub dispatchers: u32,
    /// Per-attempt timeout in seconds.
    pub timeout_secs: u64,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// Backoff after the first failed attempt in milliseconds; it doubles each time.
    pub first_backoff_ms: u64,
    /// Idle poll interval in milliseconds.
    pub poll_interval_ms: u64,
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSection {
    /// Days audit events are kept; 0 keeps them forever.
    pub retention_days: u32,
    /// How often each server process purges expired events, in seconds.
    pub purge_interval_secs: u64,
}

/// `[sync]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SyncSection {
    /// Workers per process (0 disables syncing in this process).
    pub workers: u32,
    /// Idle poll interval in milliseconds.
    pub poll_interval_ms: u64,
    /// Attempts before failing for good.
    pub max_attempts: i32,
}

/// `[chains]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChainsSection {
    /// Chain id → JSON-RPC URL.
    pub rpc_urls: std::collections::BTreeMap<String, String>,
    /// Per-request timeout in seconds.
    pub timeout_secs: u64,
}

/// `[prices]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PricesSection {
    /// `static` or `coingecko`.
    pub source: String,
    /// CoinGecko-compatible base URL.
    pub base_url: String,
    /// API key (empty: none).
    pub api_key: SecretString,
    /// Cache lifetime in seconds.
    pub cache_ttl_secs: u64,
    /// Request timeout in seconds.
    pub timeout_secs: u64,
}

/// `[mail]`.
#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    /// `log` or `smtp`.
    pub transport: String,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_security: String,
    /// SMTP user (empty: no authentication).
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: SecretString,
    /// The From header.
    pub from: String,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Listen address, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// Externally visible base URL.
    pub public_url: String,
    /// Request body cap in bytes.
    pub body_limit_bytes: usize,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Graceful shutdown window in seconds.
    pub shutdown_grace_secs: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSection {
    /// Database URL; empty means `<data_dir>/kryptos.db`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// Seconds to wait for a connection before 503.
    pub acquire_timeout_secs: u64,
}

/// `[security]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    /// HMAC key for client secrets (hex or any string); empty → `pepper_file`.
    pub pepper: SecretString,
    /// File holding the pepper; empty → `<data_dir>/pepper`.
    pub pepper_file: String,
    /// Failed client authentications per minute (per IP and per client id) before 429.
    pub auth_failures_per_minute: u32,
    /// Credential-sealing keys: id → base64 of 32 bytes.
    pub credentials_keys: std::collections::BTreeMap<String, SecretString>,
    /// The key new credentials are sealed with.
    pub credentials_active_key: String,
}

/// `[widget]`.
#[derive(Debug, Clone, Deserialize)]
pub struct WidgetSettings {
    /// Sign-in methods offered.
    pub auth_methods: Vec<String>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: String,
    /// A `tracing` filter directive.
    pub filter: String,
}

/// `[demo]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoSettings {
    /// Whether to create the demo client and serve `/demo` (development only).
    pub enabled: bool,
}

/// Configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    /// A value is present but unusable.
    #[error("invalid configuration: {0}")]
    Value(String),
}

impl Settings {
    /// Loads defaults, then `file` (if any), then `KRYPTOS__SECTION__KEY` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULT_CONFIG, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let env_map: config::Map<String, String> =
            env.into_iter().filter(|(k, _)| k.starts_with("KRYPTOS__")).collect();
        builder = builder.add_source(
            config::Environment::with_prefix("KRYPTOS")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("widget.auth_methods")
                .try_parsing(true)
                .source(Some(env_map)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError::Value("server.body_limit_bytes must be at least 1024".into()));
        }
        for m in &self.widget.auth_methods {
            if m != "anonymous" && m != "email" {
                return Err(ConfigError::Value(format!("widget.auth_methods: unknown method `{m}`")));
            }
        }
        if !matches!(self.mail.transport.as_str(), "log" | "smtp") {
            return Err(ConfigError::Value("mail.transport must be `log` or `smtp`".into()));
        }
        if !matches!(self.mail.smtp_security.as_str(), "starttls" | "tls" | "none") {
            return Err(ConfigError::Value("mail.smtp_security must be `starttls`, `tls` or `none`".into()));
        }
        if !self.security.credentials_keys.is_empty()
            && !self.security.credentials_keys.contains_key(&self.security.credentials_active_key)
        {
            return Err(ConfigError::Value(
                "security.credentials_active_key must name one of security.credentials_keys".into(),
            ));
        }
        if !matches!(self.prices.source.as_str(), "static" | "coingecko") {
            return Err(ConfigError::Value("prices.source must be `static` or `coingecko`".into()));
        }
        for chain in self.chains.rpc_urls.keys() {
            if chain.parse::<kc_chain::Chain>().is_err() {
                return Err(ConfigError::Value(format!("chains.rpc_urls: unknown chain `{chain}`")));
            }
        }
        if self.webhooks.timeout_secs == 0 || self.webhooks.max_attempts == 0 {
            return Err(ConfigError::Value(
                "webhooks.timeout_secs and webhooks.max_attempts must be at least 1".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            return Err(ConfigError::Value("log.format must be `pretty` or `json`".into()));
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("kryptos.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// The pepper file in effect.
    pub fn pepper_path(&self) -> PathBuf {
        if self.security.pepper_file.is_empty() {
            self.data_dir.join("pepper")
        } else {
            PathBuf::from(&self.security.pepper_file)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_load_and_point_at_the_embedded_database() {
        let s = Settings::load_with(None, []).expect("defaults are valid");
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert!(s.database_url().starts_with("sqlite://"), "{}", s.database_url());
        assert!(s.security.pepper.expose_secret().is_empty());
    }

    #[test]
    fn environment_overrides_defaults() {
        let env = [
            ("KRYPTOS__DATABASE__URL".to_string(), "postgres://x@h/db".to_string()),
            ("KRYPTOS__SERVER__BODY_LIMIT_BYTES".to_string(), "2048".to_string()),
            ("KRYPTOS__WIDGET__AUTH_METHODS".to_string(), "email,anonymous".to_string()),
            ("UNRELATED".to_string(), "1".to_string()),
        ];
        let s = Settings::load_with(None, env).expect("valid");
        assert_eq!(s.database_url(), "postgres://x@h/db");
        assert_eq!(s.server.body_limit_bytes, 2048);
        assert_eq!(s.widget.auth_methods, vec!["email", "anonymous"]);
    }

    #[test]
    fn a_bad_value_is_reported_by_name() {
        let env = [("KRYPTOS__LOG__FORMAT".to_string(), "xml".to_string())];
        let err = Settings::load_with(None, env).expect_err("invalid");
        assert!(err.to_string().contains("log.format"), "{err}");
    }
}
