//! Client administration, for the command line and embedding systems.

use crate::audit::{AuditKind, Outcome};
use crate::Service;
use kc_domain::{ClientId, ClientMode, ClientRecord, ClientSecret, ScopeSet};
use kc_ports::{AuditEvent, StoreError};

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

/// Changes to a registered client (`clients update`). What is left `None` or empty stays as it
/// is; every value is validated exactly as [`Service::register_client`] validates it.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New allowed scopes (space-separated), replacing the current ones. Existing grants keep
    /// the scopes their users approved; new link tokens may ask only for these.
    pub scopes: Option<String>,
    /// Origins to allow (already registered ones are kept once).
    pub add_origins: Vec<String>,
    /// Origins to remove; each must be registered.
    pub remove_origins: Vec<String>,
    /// Redirect URIs to allow (already registered ones are kept once).
    pub add_redirect_uris: Vec<String>,
    /// Redirect URIs to remove; each must be registered.
    pub remove_redirect_uris: Vec<String>,
    /// `Some(Some(url))` sets the logo, `Some(None)` removes it.
    pub logo_url: Option<Option<String>>,
}

impl ClientUpdate {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.scopes.is_none()
            && self.add_origins.is_empty()
            && self.remove_origins.is_empty()
            && self.add_redirect_uris.is_empty()
            && self.remove_redirect_uris.is_empty()
            && self.logo_url.is_none()
    }

    /// Refuses any value `clients create` would refuse, before anything is read or written.
    fn validate(&self) -> Result<(), AdminError> {
        if self.is_empty() {
            return Err(AdminError::Invalid(
                "nothing to change: give --name, --logo, --scope, --add-origin, --remove-origin, \
                 --add-redirect-uri or --remove-redirect-uri"
                    .into(),
            ));
        }
        if let Some(n) = &self.name {
            validate_name(n)?;
        }
        if let Some(s) = &self.scopes {
            parse_scopes(s)?;
        }
        for o in &self.add_origins {
            validate_origin(o)?;
        }
        for u in &self.add_redirect_uris {
            validate_url(u, "redirect URI")?;
        }
        if let Some(Some(l)) = &self.logo_url {
            validate_url(l, "logo URL")?;
        }
        Ok(())
    }

    /// `current` with these changes; removing what is not registered is refused.
    fn apply_to(&self, current: &ClientRecord) -> Result<ClientRecord, AdminError> {
        let mut next = current.clone();
        if let Some(n) = &self.name {
            next.name = validate_name(n)?.to_owned();
        }
        if let Some(s) = &self.scopes {
            next.allowed_scopes = parse_scopes(s)?;
        }
        edit_list(&mut next.allowed_origins, &self.remove_origins, &self.add_origins, "origin")?;
        edit_list(&mut next.redirect_uris, &self.remove_redirect_uris, &self.add_redirect_uris, "redirect URI")?;
        if let Some(l) = &self.logo_url {
            next.logo_url = l.clone();
        }
        Ok(next)
    }
}

/// Removes `remove` (each must be present) from `list`, then appends what of `add` is missing.
fn edit_list(list: &mut Vec<String>, remove: &[String], add: &[String], what: &str) -> Result<(), AdminError> {
    for r in remove {
        let before = list.len();
        list.retain(|x| x != r);
        if list.len() == before {
            return Err(AdminError::Invalid(format!("{what} `{r}` is not registered for this client")));
        }
    }
    for a in add {
        if !list.contains(a) {
            list.push(a.clone());
        }
    }
    Ok(())
}

/// How many times an update re-reads the client when another change came in between.
const UPDATE_ATTEMPTS: usize = 5;

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

fn validate_name(name: &str) -> Result<&str, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AdminError::Invalid("name must be 1 to 100 characters".into()));
    }
    Ok(name)
}

fn parse_scopes(s: &str) -> Result<ScopeSet, AdminError> {
    s.parse::<ScopeSet>().map_err(|e| AdminError::Invalid(e.to_string()))
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
        let name = validate_name(&new.name)?;
        let allowed_scopes = match new.scopes.as_deref() {
            None => ScopeSet::default_client(),
            Some(s) => parse_scopes(s)?,
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

    /// Changes a client's name, allowed scopes, origins, redirect URIs or logo and returns it as
    /// it now is. Invalid values are refused and nothing changes. Nothing caches client records,
    /// so every node serves the change (CORS, `frame-ancestors`, the widget) from the next request.
    pub async fn update_client(&self, id: &str, update: ClientUpdate) -> Result<ClientRecord, AdminError> {
        update.validate()?;
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.client(id).await?;
            let next = update.apply_to(&current)?;
            if next == current {
                return Ok(current);
            }
            // Conditional on `current`: a concurrent update makes this match nothing, and the
            // change is re-applied to what that update wrote.
            if self.ports.store.update_client(&current, &next).await? {
                self.admin_audit(&next.id, "updated").await;
                return Ok(next);
            }
        }
        Err(AdminError::Store(StoreError::Conflict(format!("client {id} kept changing; try again"))))
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
        let meta = self.actor.as_ref().map(|a| a.meta.clone()).unwrap_or_default();
        self.audit(AuditKind::ClientAdmin, Outcome::Success, &meta, |e| {
            e.client_id = Some(id.to_string());
            e.user_id = self.actor.as_ref().map(|a| a.id.clone());
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
