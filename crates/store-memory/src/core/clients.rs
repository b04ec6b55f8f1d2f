//! [`ClientStore`] in memory.

use super::conflict;
use crate::state::ClientRow;
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientRecord};
use kc_ports::store::{ClientStore, StoreResult};
use time::OffsetDateTime;

#[async_trait]
impl ClientStore for MemoryStore {
    async fn insert_client(&self, client: &ClientRecord, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            if s.clients.contains_key(client.id.as_str()) {
                return Err(conflict("client", client.id.as_str()));
            }
            let row =
                ClientRow { record: client.clone(), created_at: now, disabled_at: client.disabled.then_some(now) };
            s.clients.insert(client.id.to_string(), row);
            Ok(())
        })
    }

    async fn find_client(&self, id: &ClientId) -> StoreResult<Option<ClientRecord>> {
        self.with(|s| Ok(s.clients.get(id.as_str()).map(|c| c.record.clone())))
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        self.with(|s| {
            let mut rows: Vec<&ClientRow> = s.clients.values().collect();
            // The map iterates by id, so a stable sort by creation time breaks ties by id.
            rows.sort_by_key(|c| c.created_at);
            Ok(rows.into_iter().map(|c| c.record.clone()).collect())
        })
    }

    async fn set_client_secret(&self, id: &ClientId, secret_digest: &str) -> StoreResult<bool> {
        self.with(|s| {
            let Some(c) = s.clients.get_mut(id.as_str()) else { return Ok(false) };
            c.record.secret_digest = secret_digest.to_owned();
            Ok(true)
        })
    }

    async fn disable_client(&self, id: &ClientId, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some(c) = s.clients.get_mut(id.as_str()) else { return Ok(false) };
            if c.disabled_at.is_none() {
                c.disabled_at = Some(now);
                c.record.disabled = true;
            }
            Ok(true)
        })
    }

    async fn update_client(&self, current: &ClientRecord, updated: &ClientRecord) -> StoreResult<bool> {
        self.with(|s| {
            let Some(c) = s.clients.get_mut(current.id.as_str()) else { return Ok(false) };
            // Compare-and-swap on every editable field, as SeaStore's conditional UPDATE.
            let r = &mut c.record;
            let unchanged = r.name == current.name
                && r.allowed_scopes.to_string() == current.allowed_scopes.to_string()
                && r.allowed_origins == current.allowed_origins
                && r.redirect_uris == current.redirect_uris
                && r.logo_url == current.logo_url;
            if !unchanged {
                return Ok(false);
            }
            r.name = updated.name.clone();
            r.allowed_scopes = updated.allowed_scopes.clone();
            r.allowed_origins = updated.allowed_origins.clone();
            r.redirect_uris = updated.redirect_uris.clone();
            r.logo_url = updated.logo_url.clone();
            Ok(true)
        })
    }
}
