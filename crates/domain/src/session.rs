//! Link-token sessions, public tokens and users: records and the rules that judge them.

use crate::ids::{ClientId, GrantId, UserId, WorkspaceId};
use crate::scope::ScopeSet;
use time::OffsetDateTime;

/// Why a link or public token cannot be used. Maps one-to-one onto SPEC §5 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Unknown, malformed, or issued to another client (`INVALID_TOKEN`).
    #[error("the token is invalid")]
    Invalid,
    /// Past its lifetime (`TOKEN_EXPIRED`).
    #[error("the token has expired")]
    Expired,
    /// Already consumed or completed (`TOKEN_ALREADY_USED`).
    #[error("the token was already used")]
    AlreadyUsed,
}

/// A widget session opened by a link token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSession {
    /// Storage key.
    pub id: i64,
    /// The client that created it.
    pub client_id: ClientId,
    /// Scopes the client asks for.
    pub scopes: ScopeSet,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When the widget completed (the token is dead from then on).
    pub completed_at: Option<OffsetDateTime>,
    /// Set when created with a live access token (returning user).
    pub resumed_grant_id: Option<GrantId>,
    /// The signed-in user.
    pub user_id: Option<UserId>,
    /// The selected workspace.
    pub workspace_id: Option<WorkspaceId>,
    /// The user's decision on the scopes, once made.
    pub consent: Option<bool>,
    /// Provider to preselect.
    pub integration_name: Option<String>,
    /// Prefill values, as JSON text.
    pub prefill_json: Option<String>,
}

impl LinkSession {
    /// Whether the session can still be used at `now` by `client`
    /// (`None` skips the client check, for widget calls that carry only the link token).
    pub fn usable_at(&self, now: OffsetDateTime) -> Result<(), TokenRefusal> {
        if self.completed_at.is_some() {
            Err(TokenRefusal::AlreadyUsed)
        } else if now >= self.expires_at {
            Err(TokenRefusal::Expired)
        } else {
            Ok(())
        }
    }

    /// Whether the session resumes an existing grant (the AUTH step is skipped).
    pub fn is_resumed(&self) -> bool {
        self.resumed_grant_id.is_some()
    }
}

/// A public token as stored (by digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicTokenRecord {
    /// Storage key.
    pub id: i64,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who consented.
    pub user_id: UserId,
    /// The workspace shared.
    pub workspace_id: WorkspaceId,
    /// The approved scopes.
    pub scopes: ScopeSet,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged.
    pub used_at: Option<OffsetDateTime>,
}

impl PublicTokenRecord {
    /// Whether `client` may exchange this token at `now`. A foreign token is
    /// `Invalid` before anything else, so its state leaks nothing to another client.
    pub fn exchangeable_by(&self, client: &ClientId, now: OffsetDateTime) -> Result<(), TokenRefusal> {
        if &self.client_id != client {
            Err(TokenRefusal::Invalid)
        } else if self.used_at.is_some() {
            Err(TokenRefusal::AlreadyUsed)
        } else if now >= self.expires_at {
            Err(TokenRefusal::Expired)
        } else {
            Ok(())
        }
    }
}

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceRole {
    /// Created the workspace; may share it.
    Owner,
    /// May share it.
    Admin,
    /// May look, not share.
    Member,
}

impl WorkspaceRole {
    /// The storage and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    /// Whether this role may share the workspace with a client (`INSUFFICIENT_PERMISSIONS` otherwise).
    pub fn may_share(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;
    use time::macros::datetime;
    use time::Duration;

    fn public_token(client: &ClientId) -> PublicTokenRecord {
        PublicTokenRecord {
            id: 1,
            client_id: client.clone(),
            user_id: UserId::generate(&OsSecretRng),
            workspace_id: WorkspaceId::generate(&OsSecretRng),
            scopes: ScopeSet::default_client(),
            expires_at: datetime!(2026-01-01 0:30 UTC),
            used_at: None,
        }
    }

    #[test]
    fn a_public_token_is_judged_foreign_before_used_before_expired() {
        let me = ClientId::generate(&OsSecretRng);
        let other = ClientId::generate(&OsSecretRng);
        let mut t = public_token(&me);
        let before = datetime!(2026-01-01 0:00 UTC);
        let after = before + Duration::hours(1);
        assert_eq!(t.exchangeable_by(&me, before), Ok(()));
        assert_eq!(t.exchangeable_by(&me, after), Err(TokenRefusal::Expired));
        t.used_at = Some(before);
        assert_eq!(t.exchangeable_by(&me, after), Err(TokenRefusal::AlreadyUsed));
        assert_eq!(t.exchangeable_by(&other, before), Err(TokenRefusal::Invalid));
    }

    #[test]
    fn only_owners_and_admins_may_share_a_workspace() {
        assert!(WorkspaceRole::Owner.may_share());
        assert!(WorkspaceRole::Admin.may_share());
        assert!(!WorkspaceRole::Member.may_share());
    }
}
