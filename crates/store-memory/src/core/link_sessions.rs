//! [`LinkSessionStore`] in memory: the widget's state machine.

use super::conflict;
use crate::state::{LinkRow, MembershipRow, PublicRow, State, UserRow, WorkspaceRow};
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{
    GrantId, LinkSession, PublicTokenRecord, ScopeSet, TokenDigest, UserId, WebhookEvent, WorkspaceId, WorkspaceRole,
};
use kc_ports::store::{
    ExtendOutcome, LinkSessionStore, MembershipRecord, NewGuest, NewLinkSession, NewPublicToken, StoreError,
    StoreResult, UserRecord, WorkspaceRecord,
};
use time::OffsetDateTime;

impl State {
    /// Stores a new link session; `Conflict` if its digest exists. Returns its storage key.
    pub(crate) fn insert_link_session(&mut self, s: &NewLinkSession) -> StoreResult<i64> {
        if self.link_sessions.values().any(|l| l.digest == s.digest.as_str()) {
            return Err(conflict("link token", "digest"));
        }
        let id = self.next_id();
        let resumed = s.resumed.as_ref();
        let session = LinkSession {
            id,
            client_id: s.client_id.clone(),
            scopes: s.scopes.clone(),
            expires_at: s.expires_at,
            completed_at: None,
            resumed_grant_id: resumed.map(|g| g.id.clone()),
            user_id: resumed.map(|g| g.user_id.clone()),
            workspace_id: resumed.map(|g| g.workspace_id.clone()),
            consent: None,
            integration_name: s.integration_name.clone(),
            prefill_json: s.prefill_json.clone(),
        };
        self.link_sessions
            .insert(id, LinkRow { digest: s.digest.as_str().to_owned(), session, created_at: s.created_at });
        Ok(id)
    }

    /// Checks that a user (a guest when `email` is `None`) owning a new personal workspace can
    /// be inserted: `Conflict` if the user id, the email or the workspace id is taken.
    pub(crate) fn check_user_with_workspace(
        &self,
        user_id: &UserId,
        email: Option<&str>,
        workspace_id: &WorkspaceId,
    ) -> StoreResult<()> {
        if self.users.contains_key(user_id.as_str()) {
            return Err(conflict("user", user_id.as_str()));
        }
        if let Some(e) = email {
            if self.users.values().any(|u| u.record.email.as_deref() == Some(e)) {
                return Err(conflict("user email", e));
            }
        }
        if self.workspaces.contains_key(workspace_id.as_str()) {
            return Err(conflict("workspace", workspace_id.as_str()));
        }
        Ok(())
    }

    /// Inserts a user (a guest when `email` is `None`) owning a new personal workspace;
    /// `Conflict` (and nothing written) if [`State::check_user_with_workspace`] refuses.
    pub(crate) fn insert_user_with_workspace(
        &mut self,
        user_id: &UserId,
        email: Option<&str>,
        workspace_id: &WorkspaceId,
        workspace_name: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.check_user_with_workspace(user_id, email, workspace_id)?;
        let record = UserRecord {
            id: user_id.clone(),
            email: email.map(str::to_owned),
            is_anonymous: email.is_none(),
            name: None,
            language: "en".to_owned(),
        };
        self.users.insert(user_id.to_string(), UserRow { record });
        let record = WorkspaceRecord { id: workspace_id.clone(), name: workspace_name.to_owned() };
        self.workspaces.insert(workspace_id.to_string(), WorkspaceRow { record });
        let seq = self.next_id();
        self.memberships.push(MembershipRow {
            seq,
            workspace_id: workspace_id.to_string(),
            user_id: user_id.to_string(),
            role: WorkspaceRole::Owner,
            created_at: at,
        });
        Ok(())
    }

    /// The session `id` if it has not completed.
    pub(crate) fn open_session(&mut self, id: i64) -> Option<&mut LinkSession> {
        self.link_sessions.get_mut(&id).map(|l| &mut l.session).filter(|s| s.completed_at.is_none())
    }
}

#[async_trait]
impl LinkSessionStore for MemoryStore {
    async fn insert_link_session(&self, session: &NewLinkSession) -> StoreResult<()> {
        self.with(|s| s.insert_link_session(session).map(|_| ()))
    }

    async fn find_link_session(&self, digest: &TokenDigest) -> StoreResult<Option<LinkSession>> {
        self.with(|s| Ok(s.link_sessions.values().find(|l| l.digest == digest.as_str()).map(|l| l.session.clone())))
    }

    async fn create_guest_for_session(&self, session_id: i64, guest: &NewGuest) -> StoreResult<bool> {
        self.with(|s| {
            // As SeaStore: the user's keys are checked first (a taken id is an error even when
            // the session would refuse), then the session must have no user and be open.
            s.check_user_with_workspace(&guest.user_id, None, &guest.workspace_id)?;
            if s.open_session(session_id).is_none_or(|l| l.user_id.is_some()) {
                return Ok(false);
            }
            s.insert_user_with_workspace(
                &guest.user_id,
                None,
                &guest.workspace_id,
                &guest.workspace_name,
                guest.created_at,
            )?;
            if let Some(l) = s.open_session(session_id) {
                l.user_id = Some(guest.user_id.clone());
                l.workspace_id = Some(guest.workspace_id.clone());
            }
            Ok(true)
        })
    }

    async fn record_consent(&self, session_id: i64, approve: bool) -> StoreResult<bool> {
        self.with(|s| {
            let Some(l) = s.open_session(session_id) else { return Ok(false) };
            l.consent = Some(approve);
            Ok(true)
        })
    }

    async fn extend_grant_for_session(
        &self,
        session_id: i64,
        grant: &GrantId,
        scopes: &ScopeSet,
        now: OffsetDateTime,
    ) -> StoreResult<ExtendOutcome> {
        self.with(|s| {
            if s.open_session(session_id).is_none() {
                return Ok(ExtendOutcome::SessionClosed);
            }
            let Some(g) = s
                .grants
                .get(grant.as_str())
                .filter(|g| g.record.revoked_at.is_none() && g.record.expires_at > now)
                .map(|g| g.record.clone())
            else {
                return Ok(ExtendOutcome::GrantGone);
            };
            if let Some(l) = s.open_session(session_id) {
                l.consent = Some(true);
            }
            let merged = g.scopes.union(scopes);
            let changed = merged.to_string() != g.scopes.to_string();
            let mut g = g;
            if changed {
                g.scopes = merged;
                if let Some(row) = s.grants.get_mut(grant.as_str()) {
                    row.record.scopes = g.scopes.clone();
                }
                s.enqueue_grant_event(WebhookEvent::GrantUpdated, &g, now);
            }
            Ok(ExtendOutcome::Extended { grant: g, changed })
        })
    }

    async fn complete_link_session(
        &self,
        session_id: i64,
        now: OffsetDateTime,
        public_token: Option<NewPublicToken>,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(client_id) = s.open_session(session_id).map(|l| l.client_id.clone()) else { return Ok(false) };
            if let Some(p) = &public_token {
                if s.public_tokens.values().any(|t| t.digest == p.digest.as_str()) {
                    return Err(conflict("public token", "digest"));
                }
            }
            if let Some(l) = s.open_session(session_id) {
                l.completed_at = Some(now);
            }
            if let Some(p) = public_token {
                let id = s.next_id();
                let record = PublicTokenRecord {
                    id,
                    client_id,
                    user_id: p.user_id,
                    workspace_id: p.workspace_id,
                    scopes: p.scopes,
                    expires_at: p.expires_at,
                    used_at: None,
                };
                let row = PublicRow { digest: p.digest.as_str().to_owned(), link_session_id: session_id, record };
                s.public_tokens.insert(id, row);
            }
            Ok(true)
        })
    }

    async fn find_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        self.with(|s| Ok(s.users.get(id.as_str()).map(|u| u.record.clone())))
    }

    async fn find_workspace(&self, id: &WorkspaceId) -> StoreResult<Option<WorkspaceRecord>> {
        self.with(|s| Ok(s.workspaces.get(id.as_str()).map(|w| w.record.clone())))
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<MembershipRecord>> {
        self.with(|s| {
            let mut rows: Vec<&MembershipRow> = s.memberships.iter().filter(|m| m.user_id == user.as_str()).collect();
            rows.sort_by_key(|m| (m.created_at, m.seq));
            rows.into_iter()
                .map(|m| {
                    let workspace = s.workspaces.get(&m.workspace_id).map(|w| w.record.clone()).ok_or_else(|| {
                        StoreError::Corrupt(format!("membership of missing workspace {}", m.workspace_id))
                    })?;
                    Ok(MembershipRecord { workspace, role: m.role })
                })
                .collect()
        })
    }

    async fn select_workspace(&self, session_id: i64, workspace: &WorkspaceId) -> StoreResult<bool> {
        self.with(|s| {
            let Some(l) = s.open_session(session_id) else { return Ok(false) };
            l.workspace_id = Some(workspace.clone());
            Ok(true)
        })
    }
}
