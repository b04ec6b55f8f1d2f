//! Layered configuration: built-in defaults → an optional file → `KRYPTOS__…` environment.

use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

mod sources;
pub use sources::{read_secret_file, UnknownKey};

/// The defaults shipped with the binary (`config/default.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

/// Every setting of a server process.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Directory of the embedded database, the generated pepper and the demo client file.
    /// Resolved once at load: the configured `data_dir`, else the directory of the SQLite
    /// database file, else `./data`.
    pub data_dir: PathBuf,
    /// Whether `data_dir` was configured (otherwise it follows the database URL).
    #[serde(skip)]
    data_dir_configured: bool,
    /// Keys set in the configuration file or the environment that no setting reads.
    #[serde(skip)]
    pub unknown_keys: Vec<UnknownKey>,
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
    /// Exchange connectors.
    #[serde(default)]
    pub exchanges: ExchangesSection,
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
    /// Days delivered deliveries are kept; 0 keeps them forever.
    pub delivered_retention_days: u32,
    /// Days failed and cancelled deliveries are kept; 0 keeps them forever.
    pub failed_retention_days: u32,
    /// How often each server process purges deliveries past retention, in seconds.
    pub purge_interval_secs: u64,
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
    /// Chain id → Etherscan-compatible explorer API URL: the chain's transaction-history
    /// source when set (EVM chains), else its JSON-RPC endpoint is.
    pub explorer_urls: std::collections::BTreeMap<String, String>,
    /// Chain id → explorer API key (empty: none).
    pub explorer_api_keys: std::collections::BTreeMap<String, SecretString>,
    /// Records per explorer request (`offset`, 1 to 10 000).
    pub explorer_page_size: u64,
    /// JSON-RPC history: the most blocks one sync step reads.
    pub history_blocks_per_page: u64,
    /// JSON-RPC history: the initial `eth_getLogs` span in blocks (halved on "too many results").
    pub log_span_blocks: u64,
    /// JSON-RPC history: also fetch every block for plain native transfers (local nodes).
    pub scan_blocks: bool,
    /// JSON-RPC history: also ask `trace_filter` for plain and internal native transfers.
    pub traces: bool,
    /// JSON-RPC history: blocks below the head not read yet.
    pub confirmations: u64,
    /// Solana history: transactions per sync step.
    pub solana_page_size: usize,
    /// Esplora-compatible API of Bitcoin balances (`https://blockstream.info/api`, a
    /// self-hosted electrs/mempool); empty: Bitcoin is not offered.
    #[serde(default)]
    pub esplora_url: String,
    /// Unused addresses in a row that end the scan of an xpub/ypub/zpub chain (BIP44: 20).
    #[serde(default = "default_gap_limit")]
    pub bitcoin_gap_limit: u32,
}

fn default_gap_limit() -> u32 {
    20
}

/// `[exchanges]`: the connectors of the exchanges (Binance, Coinbase, Kraken, OKX).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ExchangesSection {
    /// Exchange id → API base URL, overriding the public default (tests point these at fakes).
    pub base_urls: std::collections::BTreeMap<String, String>,
    /// Exchange ids whose connector is switched off (not offered in the widget).
    pub disabled: Vec<String>,
    /// Per-request timeout in seconds.
    pub timeout_secs: u64,
    /// Rate-limited replies waited out (per `Retry-After`) before a sync attempt gives up.
    pub max_retries: u32,
    /// The longest single rate-limit wait in seconds; a longer `Retry-After` ends the attempt
    /// (the sync worker retries the job later).
    pub max_wait_secs: u64,
}

impl Default for ExchangesSection {
    fn default() -> Self {
        Self {
            base_urls: Default::default(),
            disabled: Vec::new(),
            timeout_secs: 10,
            max_retries: 3,
            max_wait_secs: 30,
        }
    }
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
    /// Historical prices of the ledger: `static` or `coingecko`.
    pub history_source: String,
    /// Days one historical range request covers.
    pub history_window_days: u32,
    /// Retries after HTTP 429.
    pub max_retries: u32,
    /// First backoff after HTTP 429, in milliseconds (doubles per retry).
    pub retry_backoff_ms: u64,
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
    /// Reverse proxies (IP addresses or CIDRs) whose forwarded-for header names the client;
    /// from any other peer the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// The header those proxies write: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// `Strict-Transport-Security` max-age when `public_url` is `https://`; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Prometheus `/metrics`: empty (off), `main` (on the main listener) or an address for a
    /// separate listener, e.g. `127.0.0.1:9464`.
    pub metrics_listen: String,
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
    /// Failed authentications per minute of one client id from one source IP before 429.
    pub auth_failures_per_minute: u32,
    /// Failed authentications per minute from one source IP, whatever the client id.
    pub ip_auth_failures_per_minute: u32,
    /// Longest delay, in milliseconds, before a failed authentication is answered.
    pub auth_failure_max_delay_ms: u64,
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
    /// Sandbox clients accept any address whose ownership was proved by a wallet signature
    /// (default: only the test addresses, as for pasted ones).
    #[serde(default)]
    pub sandbox_verified_any_address: bool,
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
        let unknown_keys = sources::unknown_keys(DEFAULT_CONFIG, file, &env_map)?;
        builder = builder.add_source(
            config::Environment::with_prefix("KRYPTOS")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("widget.auth_methods")
                .with_list_parse_key("server.trusted_proxies")
                .try_parsing(true)
                .source(Some(env_map)),
        );
        let merged = builder.clone().build()?;
        for (key, value) in sources::secret_file_overrides(&merged)? {
            builder = builder.set_override(key, value)?;
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.security.credentials_keys.retain(|id, _| !id.ends_with("_file"));
        settings.unknown_keys = unknown_keys;
        settings.data_dir_configured = !settings.data_dir.as_os_str().is_empty();
        settings.resolve_data_dir();
        settings.validate()?;
        Ok(settings)
    }

    /// Uses `url` as the database URL (e.g. from `--database-url`); an unconfigured
    /// `data_dir` follows it.
    pub fn set_database_url(&mut self, url: String) {
        self.database.url = url;
        self.resolve_data_dir();
    }

    /// An unconfigured `data_dir` is the directory of the SQLite database file, else `./data`.
    fn resolve_data_dir(&mut self) {
        if self.data_dir_configured {
            return;
        }
        let from_db = if self.database.url.is_empty() {
            None
        } else {
            sqlite_file(&self.database.url).map(|f| match f.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            })
        };
        self.data_dir = from_db.unwrap_or_else(|| PathBuf::from("./data"));
    }

    /// The SQLite database file in effect, if the database is a SQLite file.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        sqlite_file(&self.database_url())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.environment.as_str(), "development" | "production") {
            return Err(ConfigError::Value("environment must be `development` or `production`".into()));
        }
        let m = self.server.metrics_listen.as_str();
        if !m.is_empty() && m != "main" && m.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Value(format!(
                "server.metrics_listen must be empty, `main` or an address such as 127.0.0.1:9464, not `{m}`"
            )));
        }
        if !matches!(self.server.forwarded_header.as_str(), "x-forwarded-for" | "forwarded") {
            return Err(ConfigError::Value("server.forwarded_header must be `x-forwarded-for` or `forwarded`".into()));
        }
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
        for id in self.exchanges.base_urls.keys().chain(&self.exchanges.disabled) {
            if !kc_ports::exchange::EXCHANGE_IDS.contains(&id.as_str()) {
                return Err(ConfigError::Value(format!(
                    "exchanges: unknown exchange `{id}` (binance, coinbase, kraken, okx)"
                )));
            }
        }
        for chain in self.chains.rpc_urls.keys() {
            if chain.parse::<kc_ports::Chain>().is_err() {
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

/// The file of a `sqlite:` URL (`None` for an in-memory database or another scheme).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
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
    fn trusted_proxies_come_from_a_comma_separated_variable() {
        let env = [("KRYPTOS__SERVER__TRUSTED_PROXIES".to_string(), "127.0.0.1,10.0.0.0/8".to_string())];
        let s = Settings::load_with(None, env).expect("valid");
        assert_eq!(s.server.trusted_proxies, vec!["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(s.server.forwarded_header, "x-forwarded-for");
        let bad = [("KRYPTOS__SERVER__FORWARDED_HEADER".to_string(), "x-real-ip".to_string())];
        let err = Settings::load_with(None, bad).expect_err("invalid");
        assert!(err.to_string().contains("server.forwarded_header"), "{err}");
    }

    #[test]
    fn a_bad_value_is_reported_by_name() {
        let env = [("KRYPTOS__LOG__FORMAT".to_string(), "xml".to_string())];
        let err = Settings::load_with(None, env).expect_err("invalid");
        assert!(err.to_string().contains("log.format"), "{err}");
    }
}
