//! [`GrantStore`] in memory: the exactly-once exchange, lookups, limits, revocation.

use super::conflict;
use crate::state::{AccessRow, GrantRow, State};
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{ClientId, GrantId, GrantRecord, TokenDigest, TokenRefusal, UserId, WebhookEvent, WorkspaceId};
use kc_ports::store::{
    AccessTokenGrant, ExchangeOutcome, GrantLimits, GrantStore, IssueGrant, RevokeOutcome, StoreError, StoreResult,
};
use time::OffsetDateTime;

impl State {
    /// Inserts grant `g` with `limits`; `Conflict` (nothing written) if its id is taken.
    /// Returns its position.
    pub(crate) fn insert_grant(&mut self, g: &GrantRecord, limits: GrantLimits) -> StoreResult<i64> {
        if self.grants.contains_key(g.id.as_str()) {
            return Err(conflict("grant", g.id.as_str()));
        }
        let seq = self.next_id();
        self.grants.insert(g.id.to_string(), GrantRow { seq, record: g.clone(), limits });
        Ok(seq)
    }

    /// The exchange, in one locked step: consumes public token `digest` of `client` and creates
    /// the grant, its access token and the `grant.created` deliveries. A refusal, or a
    /// `Conflict` on the new grant id or access digest, writes nothing.
    pub(crate) fn exchange(
        &mut self,
        digest: &TokenDigest,
        client: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
    ) -> StoreResult<ExchangeOutcome> {
        let Some(id) = self.public_tokens.iter().find(|(_, p)| p.digest == digest.as_str()).map(|(id, _)| *id) else {
            return Ok(ExchangeOutcome::Refused(TokenRefusal::Invalid));
        };
        let token = match self.public_tokens.get(&id) {
            Some(p) => p.record.clone(),
            None => return Ok(ExchangeOutcome::Refused(TokenRefusal::Invalid)),
        };
        // Foreign before used before expired: a foreign token's state leaks nothing.
        if let Err(refusal) = token.exchangeable_by(client, now) {
            return Ok(ExchangeOutcome::Refused(refusal));
        }
        if self.grants.contains_key(issue.grant_id.as_str()) {
            return Err(conflict("grant", issue.grant_id.as_str()));
        }
        if self.access_tokens.contains_key(issue.access_digest.as_str()) {
            return Err(conflict("access token", "digest"));
        }
        if let Some(p) = self.public_tokens.get_mut(&id) {
            p.record.used_at = Some(now);
        }
        let grant = GrantRecord {
            id: issue.grant_id.clone(),
            client_id: client.clone(),
            user_id: token.user_id,
            workspace_id: token.workspace_id,
            scopes: token.scopes,
            created_at: issue.created_at,
            expires_at: issue.expires_at,
            revoked_at: None,
        };
        self.insert_grant(&grant, GrantLimits { transaction_limit: None, enable_limiter: false })?;
        self.access_tokens.insert(
            issue.access_digest.as_str().to_owned(),
            AccessRow {
                grant_id: issue.grant_id.to_string(),
                client_id: client.to_string(),
                expires_at: issue.expires_at,
            },
        );
        self.enqueue_grant_event(WebhookEvent::GrantCreated, &grant, now);
        Ok(ExchangeOutcome::Issued(grant))
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn client_grant_for(
        &self,
        client: &ClientId,
        user: &UserId,
        workspace: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.grants.values().map(|g| &g.record).any(|g| {
                &g.client_id == client
                    && &g.user_id == user
                    && &g.workspace_id == workspace
                    && g.revoked_at.is_none()
                    && g.expires_at > now
            }))
        })
    }

    async fn workspace_transaction_limit(
        &self,
        workspace: &WorkspaceId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        self.with(|s| {
            Ok(s.grants
                .values()
                .filter(|g| &g.record.workspace_id == workspace && g.record.revoked_at.is_none())
                .filter(|g| g.record.expires_at > now && g.limits.enable_limiter)
                .filter_map(|g| g.limits.transaction_limit)
                .min())
        })
    }

    async fn grant_limits(&self, id: &GrantId) -> StoreResult<Option<GrantLimits>> {
        self.with(|s| Ok(s.grants.get(id.as_str()).map(|g| g.limits)))
    }

    async fn set_grant_limits(
        &self,
        id: &GrantId,
        transaction_limit: Option<Option<i64>>,
        enable_limiter: Option<bool>,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(g) = s.grants.get_mut(id.as_str()) else { return Ok(false) };
            if let Some(limit) = transaction_limit {
                g.limits.transaction_limit = limit;
            }
            if let Some(enable) = enable_limiter {
                g.limits.enable_limiter = enable;
            }
            Ok(true)
        })
    }

    async fn exchange_public_token(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
    ) -> StoreResult<ExchangeOutcome> {
        self.with(|s| s.exchange(digest, client, now, issue))
    }

    async fn find_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessTokenGrant>> {
        self.with(|s| {
            let Some(t) = s.access_tokens.get(digest.as_str()) else { return Ok(None) };
            let grant = s
                .grants
                .get(&t.grant_id)
                .map(|g| g.record.clone())
                .ok_or_else(|| StoreError::Corrupt(format!("access token of missing grant {}", t.grant_id)))?;
            Ok(Some(AccessTokenGrant { grant, token_expires_at: t.expires_at }))
        })
    }

    async fn find_grant(&self, id: &GrantId) -> StoreResult<Option<GrantRecord>> {
        self.with(|s| Ok(s.grants.get(id.as_str()).map(|g| g.record.clone())))
    }

    async fn revoke_grant(&self, id: &GrantId, client: &ClientId, now: OffsetDateTime) -> StoreResult<RevokeOutcome> {
        self.with(|s| {
            let Some(g) = s.grants.get_mut(id.as_str()).filter(|g| &g.record.client_id == client) else {
                return Ok(RevokeOutcome::NotFound);
            };
            if g.record.revoked_at.is_some() {
                return Ok(RevokeOutcome::AlreadyRevoked);
            }
            g.record.revoked_at = Some(now);
            let revoked = g.record.clone();
            s.enqueue_grant_event(WebhookEvent::GrantRevoked, &revoked, now);
            Ok(RevokeOutcome::Revoked(revoked))
        })
    }

    async fn list_active_grants(
        &self,
        client: &ClientId,
        now: OffsetDateTime,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<(i64, GrantRecord)>> {
        self.with(|s| {
            let mut rows: Vec<(i64, GrantRecord)> = s
                .grants
                .values()
                .filter(|g| &g.record.client_id == client && g.record.revoked_at.is_none() && g.record.expires_at > now)
                .filter(|g| after.is_none_or(|a| g.seq > a))
                .map(|g| (g.seq, g.record.clone()))
                .collect();
            rows.sort_by_key(|(seq, _)| *seq);
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(rows)
        })
    }
}
