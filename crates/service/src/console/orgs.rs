//! Organisations, members and invitations.

use super::{forbidden, not_found, Perm, Principal, ROLES};
use crate::email_sign_in::normalize_email;
use crate::service::{rfc3339, store_error};
use crate::Service;
use kc_api::{AdminInvitation, AdminMember, AdminOrg, ApiError, ApiResult, RequestMeta};
use kc_ports::{InvitationRecord, OrgRecord};
use time::Duration;

/// An invitation can be accepted this long.
const INVITATION_LIFETIME: Duration = Duration::days(7);

pub(crate) fn invitation_dto(i: InvitationRecord, org_name: &str) -> AdminInvitation {
    AdminInvitation {
        id: i.id,
        org_id: i.org_id,
        org_name: org_name.to_owned(),
        email: i.email,
        role: i.role,
        expires_at: rfc3339(i.expires_at),
    }
}

fn check_role(role: &str) -> Result<(), ApiError> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(ApiError::invalid_request(format!("role must be one of {}", ROLES.join(", "))))
    }
}

impl Service {
    /// The organisations `p` sees, with its role in each.
    pub(crate) async fn visible_orgs(&self, p: &Principal) -> ApiResult<Vec<AdminOrg>> {
        let store = self.console_store()?;
        let dto = |o: OrgRecord, role: String| AdminOrg { id: o.id, name: o.name, role };
        Ok(match p {
            Principal::Token { org: Some(org), .. } => {
                store.find_org(org).await.map_err(store_error)?.into_iter().map(|o| dto(o, "operator".into())).collect()
            }
            _ if p.is_operator() => {
                store.list_orgs().await.map_err(store_error)?.into_iter().map(|o| dto(o, "operator".into())).collect()
            }
            Principal::User { user, .. } => {
                store.orgs_of_user(&user.id).await.map_err(store_error)?.into_iter().map(|(o, r)| dto(o, r)).collect()
            }
            Principal::Token { .. } => Vec::new(),
        })
    }

    /// Creates an organisation owned by console user `p`.
    pub(crate) async fn create_org(&self, p: &Principal, meta: &RequestMeta, name: &str) -> ApiResult<AdminOrg> {
        let Principal::User { user, .. } = p else {
            return Err(forbidden("Organisations are created by console users"));
        };
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid_request("name must be 1 to 100 characters"));
        }
        let org = OrgRecord {
            id: format!("org_{}", super::random_hex(self.ports.rng.as_ref(), 8)),
            name: name.to_owned(),
            created_at: self.now(),
        };
        self.console_store()?.insert_org(&org, &user.id).await.map_err(store_error)?;
        self.org_audit(p, meta, &format!("organisation {} created", org.id)).await;
        Ok(AdminOrg { id: org.id, name: org.name, role: "owner".into() })
    }

    pub(crate) async fn org_members(&self, p: &Principal, org: &str) -> ApiResult<Vec<AdminMember>> {
        self.authorize_org(p, org, Perm::ClientsRead).await?;
        let members = self.console_store()?.members(org).await.map_err(store_error)?;
        Ok(members.into_iter().map(|m| AdminMember { user_id: m.user.id, email: m.user.email, role: m.role }).collect())
    }

    pub(crate) async fn org_invitations(&self, p: &Principal, org: &str) -> ApiResult<Vec<AdminInvitation>> {
        self.authorize_org(p, org, Perm::ClientsRead).await?;
        let store = self.console_store()?;
        let name = store.find_org(org).await.map_err(store_error)?.map(|o| o.name).unwrap_or_default();
        let list = store.org_invitations(org, self.now()).await.map_err(store_error)?;
        Ok(list.into_iter().map(|i| invitation_dto(i, &name)).collect())
    }

    /// Invites `email` to `org` with `role` and mails them.
    pub(crate) async fn invite(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        org: &str,
        email: &str,
        role: &str,
    ) -> ApiResult<AdminInvitation> {
        let mine = self.authorize_org(p, org, Perm::MembersWrite).await?;
        check_role(role)?;
        if role == "owner" && !matches!(mine.as_str(), "owner" | "operator") {
            return Err(forbidden("Only an owner can invite another owner"));
        }
        let email = normalize_email(email)?;
        let store = self.console_store()?;
        let Some(org_record) = store.find_org(org).await.map_err(store_error)? else {
            return Err(not_found("organisation"));
        };
        let now = self.now();
        let inv = InvitationRecord {
            id: format!("inv_{}", super::random_hex(self.ports.rng.as_ref(), 8)),
            org_id: org.to_owned(),
            email: email.clone(),
            role: role.to_owned(),
            invited_by: p.actor_id().to_owned(),
            created_at: now,
            expires_at: now + INVITATION_LIFETIME,
            accepted_at: None,
        };
        store.insert_invitation(&inv).await.map_err(store_error)?;
        let subject = format!("You are invited to {} on Kryptos Connect", org_record.name);
        let body = format!(
            "You are invited to join the organisation \"{}\" as {role} in the Kryptos Connect developer console.\n\n\
             Sign in with this address ({email}) at /console on your Kryptos Connect server to accept.\n\
             The invitation expires in 7 days.\n",
            org_record.name
        );
        if let Err(e) = self.ports.mailer.send_message(&email, &subject, &body).await {
            tracing::warn!(error = %e, "could not mail an invitation; it can still be accepted in the console");
        }
        self.org_audit(p, meta, &format!("invited {email} to {org} as {role}")).await;
        Ok(invitation_dto(inv, &org_record.name))
    }

    pub(crate) async fn change_role(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        org: &str,
        user: &str,
        role: &str,
    ) -> ApiResult<()> {
        let mine = self.authorize_org(p, org, Perm::MembersWrite).await?;
        check_role(role)?;
        let store = self.console_store()?;
        let members = store.members(org).await.map_err(store_error)?;
        let Some(target) = members.iter().find(|m| m.user.id == user) else { return Err(not_found("member")) };
        let owner_involved = role == "owner" || target.role == "owner";
        if owner_involved && !matches!(mine.as_str(), "owner" | "operator") {
            return Err(forbidden("Only an owner can make or unmake owners"));
        }
        let owners = members.iter().filter(|m| m.role == "owner").count();
        if target.role == "owner" && role != "owner" && owners <= 1 {
            return Err(ApiError::invalid_request("An organisation keeps at least one owner"));
        }
        store.set_member_role(org, user, role).await.map_err(store_error)?;
        self.org_audit(p, meta, &format!("{} is now {role} in {org}", target.user.email)).await;
        Ok(())
    }

    pub(crate) async fn drop_member(&self, p: &Principal, meta: &RequestMeta, org: &str, user: &str) -> ApiResult<()> {
        let mine = self.authorize_org(p, org, Perm::MembersWrite).await?;
        let store = self.console_store()?;
        let members = store.members(org).await.map_err(store_error)?;
        let Some(target) = members.iter().find(|m| m.user.id == user) else { return Err(not_found("member")) };
        if target.role == "owner" {
            if !matches!(mine.as_str(), "owner" | "operator") {
                return Err(forbidden("Only an owner can remove an owner"));
            }
            if members.iter().filter(|m| m.role == "owner").count() <= 1 {
                return Err(ApiError::invalid_request("An organisation keeps at least one owner"));
            }
        }
        store.remove_member(org, user).await.map_err(store_error)?;
        self.org_audit(p, meta, &format!("{} removed from {org}", target.user.email)).await;
        Ok(())
    }

    pub(crate) async fn my_invitations(&self, p: &Principal) -> ApiResult<Vec<AdminInvitation>> {
        let Principal::User { user, .. } = p else { return Ok(Vec::new()) };
        let store = self.console_store()?;
        let list = store.invitations_for(&user.email, self.now()).await.map_err(store_error)?;
        let mut out = Vec::with_capacity(list.len());
        for i in list {
            let name = store.find_org(&i.org_id).await.map_err(store_error)?.map(|o| o.name).unwrap_or_default();
            out.push(invitation_dto(i, &name));
        }
        Ok(out)
    }

    pub(crate) async fn accept(&self, p: &Principal, meta: &RequestMeta, id: &str) -> ApiResult<AdminOrg> {
        let Principal::User { user, .. } = p else {
            return Err(forbidden("Invitations are accepted by console users"));
        };
        let store = self.console_store()?;
        let open = store.invitations_for(&user.email, self.now()).await.map_err(store_error)?;
        let Some(inv) = open.into_iter().find(|i| i.id == id) else { return Err(not_found("invitation")) };
        if !store.accept_invitation(id, user, self.now()).await.map_err(store_error)? {
            return Err(not_found("invitation"));
        }
        self.org_audit(p, meta, &format!("joined {} as {}", inv.org_id, inv.role)).await;
        let org = store.find_org(&inv.org_id).await.map_err(store_error)?.ok_or_else(|| not_found("organisation"))?;
        let role = self.role_in(p, &org.id).await?.unwrap_or(inv.role);
        Ok(AdminOrg { id: org.id, name: org.name, role })
    }

    /// Withdraws an open invitation of `org`: admins and owners; an owner's only by an owner.
    pub(crate) async fn revoke_invitation(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        org: &str,
        id: &str,
    ) -> ApiResult<()> {
        let mine = self.authorize_org(p, org, Perm::MembersWrite).await?;
        let store = self.console_store()?;
        let open = store.org_invitations(org, self.now()).await.map_err(store_error)?;
        let Some(inv) = open.into_iter().find(|i| i.id == id) else { return Err(not_found("invitation")) };
        if inv.role == "owner" && !matches!(mine.as_str(), "owner" | "operator") {
            return Err(forbidden("Only an owner can withdraw an invitation to become an owner"));
        }
        if !store.revoke_invitation(org, id).await.map_err(store_error)? {
            return Err(not_found("invitation"));
        }
        self.org_audit(p, meta, &format!("withdrew the invitation of {} to {org}", inv.email)).await;
        Ok(())
    }

    async fn org_audit(&self, p: &Principal, meta: &RequestMeta, what: &str) {
        self.audit(crate::audit::AuditKind::ConsoleOrg, crate::audit::Outcome::Success, meta, |e| {
            e.user_id = Some(p.actor_id().to_owned());
            e.detail = Some(what.to_owned());
        })
        .await;
    }
}
