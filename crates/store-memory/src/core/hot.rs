//! [`HotPathStore`] in memory: each read is one locked step, and the exchange writes its
//! grant, token, deliveries and audit event in one.

use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientRecord, TokenDigest};
use kc_ports::store::{
    AccessDetail, AuditEvent, ClientAccess, ExchangeOutcome, HotPathStore, IssueGrant, NewLinkSession, StoreError,
    StoreResult, TokenAccess,
};
use time::OffsetDateTime;

#[async_trait]
impl HotPathStore for MemoryStore {
    async fn client_access(
        &self,
        client: &ClientId,
        token: Option<&TokenDigest>,
        detail: AccessDetail,
        _now: OffsetDateTime,
        admit: &(dyn for<'c> Fn(&'c ClientRecord) -> bool + Send + Sync),
    ) -> StoreResult<Option<ClientAccess>> {
        self.with(|s| {
            let Some(record) = s.clients.get(client.as_str()).map(|c| c.record.clone()) else { return Ok(None) };
            let mut access = ClientAccess { client: record, token: None };
            let Some(digest) = token else { return Ok(Some(access)) };
            // Nothing about the token is read for a caller that failed authentication.
            if !admit(&access.client) {
                return Ok(Some(access));
            }
            let Some(t) = s.access_tokens.get(digest.as_str()).filter(|t| t.client_id == client.as_str()) else {
                return Ok(Some(access));
            };
            let g = s
                .grants
                .get(&t.grant_id)
                .ok_or_else(|| StoreError::Corrupt("access token of a missing grant".into()))?;
            // As SeaStore's joined read: the detail is read whether or not the grant is live.
            let mut found = TokenAccess {
                grant: g.record.clone(),
                token_expires_at: t.expires_at,
                workspace_name: None,
                user: None,
                limits: None,
                holdings: None,
            };
            match detail {
                AccessDetail::Grant | AccessDetail::Holdings => {}
                AccessDetail::Workspace => {
                    found.workspace_name =
                        s.workspaces.get(g.record.workspace_id.as_str()).map(|w| w.record.name.clone());
                }
                AccessDetail::User => {
                    found.user = s.users.get(g.record.user_id.as_str()).map(|u| u.record.clone());
                    found.limits = Some(g.limits);
                }
            }
            access.token = Some(found);
            Ok(Some(access))
        })
    }

    async fn origin_registered(&self, origin: &str) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.clients
                .values()
                .any(|c| c.disabled_at.is_none() && c.record.allowed_origins.iter().any(|o| o == origin)))
        })
    }

    async fn create_link_session(&self, session: &NewLinkSession, audit: &AuditEvent) -> StoreResult<()> {
        self.with(|s| {
            s.insert_link_session(session)?;
            let id = s.next_id();
            s.audit.insert(id, audit.clone());
            Ok(())
        })
    }

    async fn exchange_and_audit(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
        audit: &AuditEvent,
    ) -> StoreResult<ExchangeOutcome> {
        self.with(|s| {
            let outcome = s.exchange(digest, client, now, issue)?;
            if let ExchangeOutcome::Issued(grant) = &outcome {
                let id = s.next_id();
                s.audit.insert(id, AuditEvent { user_id: Some(grant.user_id.to_string()), ..audit.clone() });
            }
            Ok(outcome)
        })
    }
}
