//! The developer console and the admin API: who may do what, and the [`kc_api::AdminApi`]
//! implementation that both HTTP adapters (`/admin/api`, `/console`) call.
//!
//! Every operation goes through the same service functions as the command line
//! ([`Service::register_client`], [`Service::update_client`], [`Service::add_webhook`], …), on a
//! copy of the service that knows its [`Actor`], so their audit events record who acted.
//!
//! Callers are operator API tokens (scoped, expiring, optionally limited to one organisation)
//! and console users (members of organisations with a role; platform operators see every
//! organisation). A client outside the caller's reach answers 404, exactly as an unknown one.

mod api;
mod ops;
mod orgs;
mod session;
mod tokens;
mod usage;

pub use ops::WebhookUpdate;
pub use tokens::{parse_lifetime, NewOperatorToken, ADMIN_SCOPES};
pub use usage::{CallBatch, DataCallCounter, FLUSH_EVERY, MAX_PENDING};

/// The scopes, for messages.
const ADMIN_SCOPES_DOC: &str =
    "clients:read, clients:write, webhooks:read, webhooks:write, grants:read, grants:write, audit:read, members:write";

use crate::admin::AdminError;
use crate::service::store_error;
use crate::Service;
use kc_api::{AdminCaller, AdminCredential, ApiError, ErrorCode, RequestMeta};
use kc_domain::{ClientId, ClientRecord};
use kc_ports::{ConsoleStore, ConsoleUserRecord, StoreError};
use std::sync::Arc;

/// Who an administration call is made by, as the audit trail records it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `op_…` (operator token) or `cu_…` (console user).
    pub id: String,
    /// Where the request came from.
    pub meta: RequestMeta,
}

/// Organisation roles, weakest first.
pub const ROLES: [&str; 4] = ["viewer", "developer", "admin", "owner"];

/// What a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Perm {
    ClientsRead,
    ClientsWrite,
    WebhooksRead,
    WebhooksWrite,
    GrantsRead,
    GrantsWrite,
    AuditRead,
    MembersWrite,
}

impl Perm {
    /// The operator-token scope that grants it.
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Self::ClientsRead => "clients:read",
            Self::ClientsWrite => "clients:write",
            Self::WebhooksRead => "webhooks:read",
            Self::WebhooksWrite => "webhooks:write",
            Self::GrantsRead => "grants:read",
            Self::GrantsWrite => "grants:write",
            Self::AuditRead => "audit:read",
            Self::MembersWrite => "members:write",
        }
    }

    /// Whether organisation role `role` allows it.
    pub(crate) fn allowed_for_role(self, role: &str) -> bool {
        match self {
            Self::ClientsRead | Self::WebhooksRead | Self::GrantsRead | Self::AuditRead => ROLES.contains(&role),
            Self::ClientsWrite | Self::WebhooksWrite | Self::GrantsWrite => {
                matches!(role, "developer" | "admin" | "owner")
            }
            Self::MembersWrite => matches!(role, "admin" | "owner"),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// An operator API token.
    Token {
        /// `op_…`.
        id: String,
        /// Its name.
        name: String,
        /// Its scopes.
        scopes: Vec<String>,
        /// The one organisation it may see, if limited.
        org: Option<String>,
    },
    /// A console user.
    User {
        /// The user.
        user: ConsoleUserRecord,
        /// The session's CSRF token.
        csrf: String,
    },
}

impl Principal {
    pub(crate) fn actor_id(&self) -> &str {
        match self {
            Self::Token { id, .. } => id,
            Self::User { user, .. } => &user.id,
        }
    }

    /// A platform operator: an unscoped token or an operator user.
    pub(crate) fn is_operator(&self) -> bool {
        match self {
            Self::Token { org, .. } => org.is_none(),
            Self::User { user, .. } => user.is_operator,
        }
    }

    fn has_scope(&self, perm: Perm) -> bool {
        match self {
            Self::Token { scopes, .. } => scopes.iter().any(|s| s == perm.scope()),
            Self::User { .. } => true,
        }
    }
}

/// 404 for a client (or anything else) outside the caller's reach, as for an unknown one. The
/// HTTP adapters answer 404 for `INVALID_REQUEST` errors whose message starts with
/// [`NOT_FOUND_PREFIX`].
pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::invalid_request(format!("{NOT_FOUND_PREFIX}{what}"))
}

/// How the message of a "not found" error starts.
pub const NOT_FOUND_PREFIX: &str = "No such ";

/// 403 for a caller who may see but not do.
pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InsufficientPermissions, message)
}

/// Maps an administrative failure onto the API.
pub(crate) fn admin_error(e: AdminError) -> ApiError {
    match e {
        AdminError::Invalid(m) => ApiError::invalid_request(m),
        AdminError::NotFound(_) => not_found("client"),
        AdminError::Store(StoreError::Conflict(m)) => ApiError::invalid_request(m),
        AdminError::Store(s) => store_error(s),
    }
}

impl Service {
    /// The console store, or `SERVICE_UNAVAILABLE` when none is configured.
    pub(crate) fn console_store(&self) -> Result<&Arc<dyn ConsoleStore>, ApiError> {
        self.ports.console.as_ref().ok_or_else(|| {
            tracing::error!("the console store is not configured");
            ApiError::unavailable()
        })
    }

    /// The console store for command-line functions.
    pub(crate) fn console_store_admin(&self) -> Result<&Arc<dyn ConsoleStore>, AdminError> {
        self.ports
            .console
            .as_ref()
            .ok_or_else(|| AdminError::Invalid("the console tables are not available on this service".into()))
    }

    /// This service acting as `actor`: administration calls made through it record who acted.
    pub fn acting_as(&self, actor: Actor) -> Service {
        Service { ports: self.ports.clone(), actor: Some(actor) }
    }

    /// Authenticates `caller`; writes by a console session also need its CSRF token.
    pub(crate) async fn principal(&self, caller: &AdminCaller, write: bool) -> Result<Principal, ApiError> {
        match &caller.credential {
            AdminCredential::Token(_) => self.token_principal(caller).await,
            AdminCredential::Session { csrf, .. } => {
                let p = self.session_principal(caller).await?;
                if write {
                    let Principal::User { csrf: expected, .. } = &p else { return Err(ApiError::internal()) };
                    let ok = csrf.as_deref().is_some_and(|c| constant_time_eq(c.as_bytes(), expected.as_bytes()));
                    if !ok {
                        return Err(forbidden("Missing or wrong CSRF token; reload the page and try again"));
                    }
                }
                Ok(p)
            }
            AdminCredential::Missing => Err(ApiError::new(
                ErrorCode::InvalidToken,
                "Sign in to the console or send an operator token (Authorization: Bearer kcop_…)",
            )),
        }
    }

    /// Checks `p` may use `perm` at all (token scopes).
    pub(crate) fn require_scope(p: &Principal, perm: Perm) -> Result<(), ApiError> {
        if p.has_scope(perm) {
            Ok(())
        } else {
            Err(forbidden(format!("This token lacks the `{}` scope", perm.scope())))
        }
    }

    /// The caller's role in `org`: `operator` for platform operators, the member's role, or
    /// `None` when the organisation is outside the caller's reach.
    pub(crate) async fn role_in(&self, p: &Principal, org: &str) -> Result<Option<String>, ApiError> {
        match p {
            Principal::Token { org: Some(mine), .. } => Ok((mine == org).then(|| "operator".to_owned())),
            Principal::Token { org: None, .. } => Ok(Some("operator".to_owned())),
            Principal::User { user, .. } if user.is_operator => Ok(Some("operator".to_owned())),
            Principal::User { user, .. } => {
                let orgs = self.console_store()?.orgs_of_user(&user.id).await.map_err(store_error)?;
                Ok(orgs.into_iter().find(|(o, _)| o.id == org).map(|(_, role)| role))
            }
        }
    }

    /// Checks `p` may `perm` in `org` (404 when it cannot see the org, 403 when it may only look).
    pub(crate) async fn authorize_org(&self, p: &Principal, org: &str, perm: Perm) -> Result<String, ApiError> {
        Self::require_scope(p, perm)?;
        let Some(role) = self.role_in(p, org).await? else { return Err(not_found("organisation")) };
        if role == "operator" || perm.allowed_for_role(&role) {
            Ok(role)
        } else {
            Err(forbidden(format!("Your role ({role}) cannot do this; ask an admin of the organisation")))
        }
    }

    /// The client `id` if `p` may `perm` on it (404 when it cannot see it, 403 when it may only look).
    pub(crate) async fn authorize_client(
        &self,
        p: &Principal,
        id: &str,
        perm: Perm,
    ) -> Result<(ClientRecord, Option<String>), ApiError> {
        Self::require_scope(p, perm)?;
        let parsed = id.parse::<ClientId>().map_err(|_| not_found("client"))?;
        let org = self.console_store()?.client_org(&parsed).await.map_err(store_error)?;
        if !p.is_operator() {
            let Some(org) = &org else { return Err(not_found("client")) };
            let Some(role) = self.role_in(p, org).await? else { return Err(not_found("client")) };
            if role != "operator" && !perm.allowed_for_role(&role) {
                return Err(forbidden(format!("Your role ({role}) cannot change this app")));
            }
        }
        let client = self.client(id).await.map_err(admin_error)?;
        Ok((client, org))
    }

    /// The service acting as `p`, from `meta`.
    pub(crate) fn as_principal(&self, p: &Principal, meta: &RequestMeta) -> Service {
        self.acting_as(Actor { id: p.actor_id().to_owned(), meta: meta.clone() })
    }
}

/// Equal-length byte strings compared without an early exit.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `n` random bytes as lower-case hex.
pub(crate) fn random_hex(rng: &dyn kc_domain::SecretRng, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_reads_to_all_writes_to_developers_and_members_to_admins() {
        for role in ROLES {
            assert!(Perm::ClientsRead.allowed_for_role(role), "{role}");
            assert!(Perm::AuditRead.allowed_for_role(role), "{role}");
        }
        assert!(!Perm::ClientsWrite.allowed_for_role("viewer"));
        assert!(!Perm::GrantsWrite.allowed_for_role("viewer"));
        assert!(Perm::WebhooksWrite.allowed_for_role("developer"));
        assert!(!Perm::MembersWrite.allowed_for_role("developer"));
        assert!(Perm::MembersWrite.allowed_for_role("admin"));
        assert!(!Perm::ClientsRead.allowed_for_role("stranger"));
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
