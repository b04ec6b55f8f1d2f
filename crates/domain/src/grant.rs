//! Grants: the authorization record an access token belongs to.

use crate::ids::{ClientId, GrantId, UserId, WorkspaceId};
use crate::scope::ScopeSet;
use time::OffsetDateTime;

/// Token and grant lifetimes (SPEC §2).
pub mod lifetimes {
    use time::Duration;

    /// A link token lives 30 minutes.
    pub const LINK_TOKEN: Duration = Duration::minutes(30);
    /// A public token lives 30 minutes.
    pub const PUBLIC_TOKEN: Duration = Duration::minutes(30);
    /// An access token (and its grant) lives 15 years: 473,040,000 seconds.
    pub const ACCESS_TOKEN: Duration = Duration::seconds(ACCESS_TOKEN_SECONDS);
    /// The `expires_in` value of an exchange response.
    pub const ACCESS_TOKEN_SECONDS: i64 = 473_040_000;
}

/// An authorization a user gave a client over one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's id.
    pub id: GrantId,
    /// The client it was given to.
    pub client_id: ClientId,
    /// The user who approved it.
    pub user_id: UserId,
    /// The workspace it shares.
    pub workspace_id: WorkspaceId,
    /// Exactly the scopes the user approved.
    pub scopes: ScopeSet,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Where a grant stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// Usable.
    Active,
    /// Revoked by the client.
    Revoked,
    /// Past its lifetime.
    Expired,
}

impl GrantRecord {
    /// The grant's status at `now`. Revocation wins over expiry.
    pub fn status_at(&self, now: OffsetDateTime) -> GrantStatus {
        if self.revoked_at.is_some() {
            GrantStatus::Revoked
        } else if now >= self.expires_at {
            GrantStatus::Expired
        } else {
            GrantStatus::Active
        }
    }
}

/// Why `check-session` found no valid session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionReason {
    /// The access token is past its lifetime.
    TokenExpired,
    /// The grant was revoked.
    TokenRevoked,
    /// Unknown, malformed or another client's token.
    InvalidToken,
}

impl SessionReason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::InvalidToken => "invalid_token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;
    use time::macros::datetime;

    fn grant(revoked: bool) -> GrantRecord {
        let created = datetime!(2026-01-01 0:00 UTC);
        GrantRecord {
            id: GrantId::generate(&OsSecretRng),
            client_id: crate::ClientId::generate(&OsSecretRng),
            user_id: UserId::generate(&OsSecretRng),
            workspace_id: WorkspaceId::generate(&OsSecretRng),
            scopes: ScopeSet::default_client(),
            created_at: created,
            expires_at: created + lifetimes::ACCESS_TOKEN,
            revoked_at: revoked.then_some(created),
        }
    }

    #[test]
    fn a_grant_is_active_until_it_expires_or_is_revoked() {
        let g = grant(false);
        assert_eq!(g.status_at(g.created_at), GrantStatus::Active);
        assert_eq!(g.status_at(g.expires_at), GrantStatus::Expired);
        assert_eq!(grant(true).status_at(g.created_at), GrantStatus::Revoked);
    }

    #[test]
    fn fifteen_years_is_the_documented_number_of_seconds() {
        assert_eq!(lifetimes::ACCESS_TOKEN.whole_seconds(), 473_040_000);
    }
}
