//! Client administration, for the command line and embedding systems.

use crate::audit::{AuditKind, Outcome};
use crate::Service;
use kc_api::RequestMeta;
use kc_domain::{ClientId, ClientMode, ClientRecord, ClientSecret, ScopeSet};
use kc_store::{AuditEvent, StoreError};

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Display name.
    pub name: String,
    /// Sandbox or production.
    pub mode: ClientMode,
    /// Allowed scopes; `None` means the default client scopes.
    pub scopes: Option<String>,
    /// Origins allowed to embed the widget (`scheme://host[:port]`).
    pub origins: Vec<String>,
    /// Redirect URIs for the full-page widget.
    pub redirect_uris: Vec<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
}

impl NewClient {
    /// A sandbox client with default scopes and no origins.
    pub fn sandbox(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            mode: ClientMode::Sandbox,
            scopes: None,
            origins: Vec::new(),
            redirect_uris: Vec::new(),
            logo_url: None,
        }
    }
}

/// An administrative operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No client has that id.
    #[error("no client with id {0}")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks an origin is exactly `scheme://host[:port]` with http(s), as a browser sends it in
/// `Origin` (lower-case host, no credentials, no default port, no path).
fn validate_origin(o: &str) -> Result<(), AdminError> {
    let bad = || AdminError::Invalid(format!("origin `{o}` must look like https://app.example.com[:port]"));
    let url = url::Url::parse(o).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.origin().ascii_serialization() == o;
    if plain {
        Ok(())
    } else {
        Err(bad())
    }
}

fn validate_url(u: &str, what: &str) -> Result<(), AdminError> {
    let ok = (u.starts_with("https://") || u.starts_with("http://")) && u.len() > 8 && !u.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("{what} `{u}` must be an http(s) URL")))
    }
}

impl Service {
    /// Registers a client and returns it with its secret, which is shown this once only.
    pub async fn register_client(&self, new: NewClient) -> Result<(ClientRecord, ClientSecret), AdminError> {
        let name = new.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AdminError::Invalid("name must be 1 to 100 characters".into()));
        }
        let allowed_scopes = match new.scopes.as_deref() {
            None => ScopeSet::default_client(),
            Some(s) => s.parse::<ScopeSet>().map_err(|e| AdminError::Invalid(e.to_string()))?,
        };
        for o in &new.origins {
            validate_origin(o)?;
        }
        for u in &new.redirect_uris {
            validate_url(u, "redirect URI")?;
        }
        if let Some(l) = &new.logo_url {
            validate_url(l, "logo URL")?;
        }
        let secret = ClientSecret::generate(self.ports.rng.as_ref());
        let record = ClientRecord {
            id: ClientId::generate(self.ports.rng.as_ref()),
            name: name.to_owned(),
            mode: new.mode,
            allowed_scopes,
            allowed_origins: new.origins,
            redirect_uris: new.redirect_uris,
            logo_url: new.logo_url,
            secret_digest: self.ports.pepper.digest(&secret),
            disabled: false,
        };
        self.ports.store.insert_client(&record, self.now()).await?;
        self.admin_audit(&record.id, "created").await;
        Ok((record, secret))
    }

    /// Every client, oldest first.
    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, AdminError> {
        Ok(self.ports.store.list_clients().await?)
    }

    /// One client.
    pub async fn client(&self, id: &str) -> Result<ClientRecord, AdminError> {
        let parsed = id.parse::<ClientId>().map_err(|_| AdminError::NotFound(id.to_owned()))?;
        self.ports.store.find_client(&parsed).await?.ok_or_else(|| AdminError::NotFound(id.to_owned()))
    }

    /// Replaces a client's secret; the old one stops working at once.
    pub async fn rotate_client_secret(&self, id: &str) -> Result<ClientSecret, AdminError> {
        let client = self.client(id).await?;
        let secret = ClientSecret::generate(self.ports.rng.as_ref());
        self.ports.store.set_client_secret(&client.id, &self.ports.pepper.digest(&secret)).await?;
        self.admin_audit(&client.id, "secret rotated").await;
        Ok(secret)
    }

    /// Disables a client: its credentials and link tokens stop working at once.
    pub async fn disable_client(&self, id: &str) -> Result<(), AdminError> {
        let client = self.client(id).await?;
        self.ports.store.disable_client(&client.id, self.now()).await?;
        self.admin_audit(&client.id, "disabled").await;
        Ok(())
    }

    /// Audit events, oldest first (all clients when `client` is `None`).
    pub async fn audit_events(
        &self,
        client: Option<String>,
        since: Option<time::OffsetDateTime>,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, AdminError> {
        Ok(self.ports.store.list_audit(client, since, limit).await?)
    }

    async fn admin_audit(&self, id: &ClientId, what: &str) {
        self.audit(AuditKind::ClientAdmin, Outcome::Success, &RequestMeta::default(), |e| {
            e.client_id = Some(id.to_string());
            e.detail = Some(what.to_owned());
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_bare_scheme_host_port() {
        assert!(validate_origin("https://app.example.com").is_ok());
        assert!(validate_origin("http://127.0.0.1:3000").is_ok());
        assert!(validate_origin("https://app.example.com/path").is_err());
        assert!(validate_origin("app.example.com").is_err());
        assert!(validate_origin("*").is_err());
    }
}
