//! Start-up guards: settings that are only safe in development, and administration commands
//! pointed at a database that does not exist.

use kc_service::config::Settings;
use secrecy::ExposeSecret;

/// Shortest pepper accepted in production (32 bytes, e.g. 64 hex digits or 44 base64 characters).
pub const MIN_PEPPER_LEN: usize = 32;

/// Everything that makes `settings` unfit for `environment = "production"`, one sentence
/// each; empty outside production or when all is well.
pub fn production_problems(settings: &Settings) -> Vec<String> {
    if settings.environment != "production" {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if settings.mail.transport == "log" {
        problems.push(
            "mail.transport is \"log\": email sign-in codes would be written to the log, where anyone \
             who reads it can sign in as any user; configure SMTP (mail.transport = \"smtp\", mail.smtp_*)"
                .to_owned(),
        );
    }
    if settings.demo.enabled {
        problems.push(
            "demo.enabled is true: the demo client and /demo are for development; set \
             KRYPTOS__DEMO__ENABLED=false"
                .to_owned(),
        );
    }
    let pepper = settings.security.pepper.expose_secret();
    if pepper.is_empty() && settings.security.pepper_file.is_empty() {
        problems.push(format!(
            "security.pepper is not configured: a random pepper would be generated into {}, different on \
             every node; set security.pepper or security.pepper_file (KRYPTOS__SECURITY__PEPPER_FILE) to the \
             same secret on every node",
            settings.pepper_path().display()
        ));
    } else if !pepper.is_empty() && pepper.len() < MIN_PEPPER_LEN {
        problems.push(format!(
            "security.pepper is shorter than {MIN_PEPPER_LEN} characters; use 32 random bytes, e.g. \
             `openssl rand -hex 32`"
        ));
    }
    if settings.security.credentials_keys.is_empty() {
        problems.push(format!(
            "security.credentials_keys is empty: a random key would be generated into {}, different on every \
             node; configure one (KRYPTOS__SECURITY__CREDENTIALS_KEYS__K1_FILE=… and \
             security.credentials_active_key = \"k1\"; a key is base64 of 32 bytes: `openssl rand -base64 32`)",
            settings.data_dir.join("credentials.key").display()
        ));
    }
    if !settings.server.public_url.starts_with("https://") {
        problems.push(format!(
            "server.public_url is {:?}: production must be reached over https:// (terminate TLS in the \
             reverse proxy and set the public https URL)",
            settings.server.public_url
        ));
    }
    problems
}

/// For administration commands: the SQLite database file must exist (they never create it).
pub fn require_existing_database(settings: &Settings) -> Result<(), String> {
    match settings.sqlite_file() {
        Some(file) if !file.exists() => {
            let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
            Err(format!(
                "no database at {} (working directory {cwd}); run this command where the server runs, or point \
                 it at the server's database with --config, --database-url or KRYPTOS__DATA_DIR (`serve` and \
                 `migrate` create a new database)",
                file.display()
            ))
        }
        _ => Ok(()),
    }
}

/// Writes one warning per configuration key that no setting reads.
pub fn warn_unknown_keys(settings: &Settings) {
    for k in &settings.unknown_keys {
        tracing::warn!(key = %k.key, source = %k.source, "unknown configuration key {k} is ignored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        let mut s = Settings::load_with(None, []).expect("defaults");
        s.environment = "production".to_owned();
        s
    }

    #[test]
    fn development_defaults_have_no_problems() {
        let s = Settings::load_with(None, []).expect("defaults");
        assert!(production_problems(&s).is_empty());
    }

    #[test]
    fn production_defaults_list_every_problem() {
        let p = production_problems(&production());
        assert_eq!(p.len(), 5, "{p:#?}");
        for word in ["mail.transport", "demo.enabled", "security.pepper", "credentials_keys", "public_url"] {
            assert!(p.iter().any(|x| x.contains(word)), "{word} in {p:#?}");
        }
    }

    #[test]
    fn a_complete_production_configuration_passes() {
        let mut s = production();
        s.mail.transport = "smtp".to_owned();
        s.demo.enabled = false;
        s.security.pepper = "0123456789abcdef0123456789abcdef".to_owned().into();
        s.security.credentials_keys.insert("k1".to_owned(), "a".repeat(44).into());
        s.server.public_url = "https://connect.example.com".to_owned();
        assert!(production_problems(&s).is_empty(), "{:?}", production_problems(&s));
        s.security.pepper = "short".to_owned().into();
        assert_eq!(production_problems(&s).len(), 1);
    }
}
