//! The store capability of the request hot paths: every authenticated read is one round trip,
//! the widget's CORS check one indexed lookup, and an exchange commits its grant, token,
//! webhook deliveries and audit event together.
//!
//! Nothing here is cached: each call reads the database, so a revoked grant, a disabled
//! client or a rotated secret takes effect on the very next request on every node.

use crate::store::{
    AuditEvent, ExchangeOutcome, GrantLimits, IssueGrant, LedgerPosition, NewLinkSession, Store, UserRecord,
    WorkspaceBalance,
};
use crate::StoreResult;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientRecord, GrantRecord, TokenDigest};
use std::sync::Arc;
use time::OffsetDateTime;

/// What a caller reads alongside the grant of an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDetail {
    /// The grant only (Data API routes that read the workspace's data themselves).
    Grant,
    /// The grant and its workspace's name (check-session).
    Workspace,
    /// The grant, its user and its limiter settings (userinfo).
    User,
    /// The grant and, where the store can read them in the same statement, its workspace's
    /// holdings rows (`GET /api/v1/holdings`). A store that cannot leaves
    /// [`TokenAccess::holdings`] `None` and the caller reads them itself.
    Holdings,
}

/// What `GET /api/v1/holdings` reads of a workspace: its ledger positions and its balances, as
/// [`crate::LedgerStore::ledger_positions`] and [`crate::IntegrationStore::workspace_balances`]
/// return them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldingsRows {
    /// The ledger positions of the workspace's current integrations.
    pub positions: Vec<LedgerPosition>,
    /// The balances of the workspace's integrations, with their providers.
    pub balances: Vec<WorkspaceBalance>,
}

/// An access token of the client, with its grant and what [`AccessDetail`] asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccess {
    /// The grant (check its status).
    pub grant: GrantRecord,
    /// The token's own expiry.
    pub token_expires_at: OffsetDateTime,
    /// The workspace's name ([`AccessDetail::Workspace`]; `None` if the workspace is gone).
    pub workspace_name: Option<String>,
    /// The grant's user ([`AccessDetail::User`]; `None` if the user is gone).
    pub user: Option<UserRecord>,
    /// The grant's limiter settings ([`AccessDetail::User`]).
    pub limits: Option<GrantLimits>,
    /// The workspace's holdings rows ([`AccessDetail::Holdings`], when the store read them with
    /// the grant; `None` otherwise).
    pub holdings: Option<HoldingsRows>,
}

/// A client record, read together with one of its access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccess {
    /// The client (disabled ones too: the caller decides). Verify the secret against
    /// `client.secret_digest` before using anything else.
    pub client: ClientRecord,
    /// The access token asked for, when it exists and belongs to this client.
    pub token: Option<TokenAccess>,
}

/// The hot-path reads, each one round trip to the database, and the exchange (on PostgreSQL a
/// pre-read and one write statement inside `BEGIN`/`COMMIT`). Implemented by `kc_store::SeaStore` with one sea-query
/// statement for both backends; [`ComposedHotPath`] implements it on any [`Store`].
#[async_trait]
pub trait HotPathStore: Send + Sync {
    /// Client `client` and, when `token` is given and `admit` accepts the client (the caller's
    /// secret check), its access token with that digest, the token's grant and what `detail`
    /// asks for — in one statement. `None` if there is no such client. `now` lets an
    /// implementation skip the detail of a grant that is not live.
    async fn client_access(
        &self,
        client: &ClientId,
        token: Option<&TokenDigest>,
        detail: AccessDetail,
        now: OffsetDateTime,
        admit: &(dyn for<'c> Fn(&'c ClientRecord) -> bool + Send + Sync),
    ) -> StoreResult<Option<ClientAccess>>;

    /// Whether an enabled client registered `origin` (one indexed lookup).
    async fn origin_registered(&self, origin: &str) -> StoreResult<bool>;

    /// As [`crate::LinkSessionStore::insert_link_session`], and appends `audit` in the same
    /// transaction: one write instead of two on the busiest write path.
    async fn create_link_session(&self, session: &NewLinkSession, audit: &AuditEvent) -> StoreResult<()>;

    /// As [`crate::GrantStore::exchange_public_token`], and on success also appends `audit` (with
    /// its `user_id` set to the token's user) in the same transaction.
    async fn exchange_and_audit(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: OffsetDateTime,
        issue: &IssueGrant,
        audit: &AuditEvent,
    ) -> StoreResult<ExchangeOutcome>;
}

/// [`HotPathStore`] composed of single-purpose [`Store`] calls, in the order the service made
/// them before the joined reads existed: for stores that implement only [`Store`] (the mocked
/// store of unit tests, an embedder's own store). Same answers, several round trips; the
/// exchange's audit event is written after the exchange commits, and a failure to write it is
/// logged, not returned.
pub struct ComposedHotPath(pub Arc<dyn Store>);

mod composed {
    use super::*;
    use kc_domain::GrantStatus;

    #[async_trait]
    impl HotPathStore for ComposedHotPath {
        async fn create_link_session(&self, session: &NewLinkSession, audit: &AuditEvent) -> StoreResult<()> {
            self.0.insert_link_session(session).await?;
            // As the service's own audit writes: a failed audit write is logged, not returned.
            if let Err(e) = self.0.record_audit(audit).await {
                tracing::error!(error = %e, "could not store audit event");
            }
            Ok(())
        }

        async fn client_access(
            &self,
            client: &ClientId,
            token: Option<&TokenDigest>,
            detail: AccessDetail,
            now: OffsetDateTime,
            admit: &(dyn for<'c> Fn(&'c ClientRecord) -> bool + Send + Sync),
        ) -> StoreResult<Option<ClientAccess>> {
            let Some(record) = self.0.find_client(client).await? else { return Ok(None) };
            let mut access = ClientAccess { client: record, token: None };
            let Some(digest) = token else { return Ok(Some(access)) };
            // Nothing about the token is read for a caller that failed authentication.
            if !admit(&access.client) {
                return Ok(Some(access));
            }
            let Some(found) = self.0.find_access_token(digest).await? else { return Ok(Some(access)) };
            if &found.grant.client_id != client {
                return Ok(Some(access));
            }
            let live = found.grant.status_at(now) == GrantStatus::Active && now < found.token_expires_at;
            let mut t = TokenAccess {
                grant: found.grant,
                token_expires_at: found.token_expires_at,
                workspace_name: None,
                user: None,
                limits: None,
                holdings: None,
            };
            if live {
                match detail {
                    AccessDetail::Grant | AccessDetail::Holdings => {}
                    AccessDetail::Workspace => {
                        t.workspace_name = self.0.find_workspace(&t.grant.workspace_id).await?.map(|w| w.name);
                    }
                    AccessDetail::User => {
                        t.user = self.0.find_user(&t.grant.user_id).await?;
                        t.limits = self.0.grant_limits(&t.grant.id).await?;
                    }
                }
            }
            access.token = Some(t);
            Ok(Some(access))
        }

        async fn origin_registered(&self, origin: &str) -> StoreResult<bool> {
            let clients = self.0.list_clients().await?;
            Ok(clients.iter().any(|c| !c.disabled && c.allowed_origins.iter().any(|o| o == origin)))
        }

        async fn exchange_and_audit(
            &self,
            digest: &TokenDigest,
            client: &ClientId,
            now: OffsetDateTime,
            issue: &IssueGrant,
            audit: &AuditEvent,
        ) -> StoreResult<ExchangeOutcome> {
            let outcome = self.0.exchange_public_token(digest, client, now, issue).await?;
            if let ExchangeOutcome::Issued(grant) = &outcome {
                let mut event = audit.clone();
                event.user_id = Some(grant.user_id.to_string());
                // As the service's own audit writes: a failed audit write is logged, not returned.
                if let Err(e) = self.0.record_audit(&event).await {
                    tracing::error!(error = %e, "could not store audit event");
                }
            }
            Ok(outcome)
        }
    }
}
