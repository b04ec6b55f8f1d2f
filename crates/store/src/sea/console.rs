//! [`ConsoleStore`] on sea-orm: the developer console's and the admin API's tables.

use super::console_entities::{
    client_usage_day, console_client_org, console_code, console_invitation, console_member, console_org,
    console_session, console_user, operator_token, webhook_setting,
};
use super::{at, ms, opt_at, to_json_list, SeaStore};
use crate::entity::{client, grant, link_token, webhook_delivery, webhook_endpoint};
use crate::StoreResult;
use crate::*;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientMode, WebhookEvent};
use sea_orm::sea_query::{Alias, Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;

const DAY_MS: i64 = 86_400_000;

fn token_from(m: operator_token::Model) -> StoreResult<OperatorTokenRecord> {
    Ok(OperatorTokenRecord {
        id: m.id,
        name: m.name,
        digest: m.digest,
        scopes: m.scopes,
        org_id: m.org_id,
        created_at: at(m.created_at)?,
        expires_at: at(m.expires_at)?,
        revoked_at: opt_at(m.revoked_at)?,
        last_used_at: opt_at(m.last_used_at)?,
    })
}

fn user_from(m: console_user::Model) -> StoreResult<ConsoleUserRecord> {
    Ok(ConsoleUserRecord { id: m.id, email: m.email, is_operator: m.is_operator, created_at: at(m.created_at)? })
}

fn org_from(m: console_org::Model) -> StoreResult<OrgRecord> {
    Ok(OrgRecord { id: m.id, name: m.name, created_at: at(m.created_at)? })
}

fn invitation_from(m: console_invitation::Model) -> StoreResult<InvitationRecord> {
    Ok(InvitationRecord {
        id: m.id,
        org_id: m.org_id,
        email: m.email,
        role: m.role,
        invited_by: m.invited_by,
        created_at: at(m.created_at)?,
        expires_at: at(m.expires_at)?,
        accepted_at: opt_at(m.accepted_at)?,
    })
}

fn session_from(m: console_session::Model) -> StoreResult<ConsoleSessionRecord> {
    Ok(ConsoleSessionRecord {
        digest: m.digest,
        user_id: m.user_id,
        created_at: at(m.created_at)?,
        last_seen_at: at(m.last_seen_at)?,
        expires_at: at(m.expires_at)?,
        revoked_at: opt_at(m.revoked_at)?,
    })
}

fn code_from(m: console_code::Model) -> StoreResult<ConsoleCodeRecord> {
    Ok(ConsoleCodeRecord {
        id: m.id,
        email: m.email,
        code_digest: m.code_digest,
        created_at: at(m.created_at)?,
        expires_at: at(m.expires_at)?,
        attempts: m.attempts,
        consumed_at: opt_at(m.consumed_at)?,
        requested_ip: m.requested_ip,
    })
}

/// `SELECT endpoint_id FROM webhook_endpoint_settings WHERE disabled_at IS NOT NULL`: the
/// endpoints the outbox writes no deliveries for.
pub(super) fn disabled_endpoints() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(webhook_setting::Column::EndpointId)
        .from(webhook_setting::Entity)
        .and_where(webhook_setting::Column::DisabledAt.is_not_null())
        .to_owned()
}

/// Whether `client`'s endpoint `id` exists and was not removed.
async fn live_endpoint<C: sea_orm::ConnectionTrait>(conn: &C, client: &ClientId, id: &str) -> StoreResult<bool> {
    let n = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::ClientId.eq(client.as_str()))
        .filter(webhook_endpoint::Column::RemovedAt.is_null())
        .count(conn)
        .await
        .map_err(crate::db_err)?;
    Ok(n == 1)
}

/// Counts `times` (Unix ms) into `days` by UTC day.
fn count_days(days: &mut BTreeMap<i64, [u64; 4]>, times: Vec<i64>, slot: usize) {
    for t in times {
        if let Some(d) = days.get_mut(&(t.div_euclid(DAY_MS) * DAY_MS)) {
            d[slot] += 1;
        }
    }
}

#[async_trait]
impl ConsoleStore for SeaStore {
    async fn insert_operator_token(&self, t: &OperatorTokenRecord) -> StoreResult<()> {
        operator_token::Entity::insert(operator_token::ActiveModel {
            id: Set(t.id.clone()),
            name: Set(t.name.clone()),
            digest: Set(t.digest.clone()),
            scopes: Set(t.scopes.clone()),
            org_id: Set(t.org_id.clone()),
            created_at: Set(ms(t.created_at)),
            expires_at: Set(ms(t.expires_at)),
            revoked_at: Set(t.revoked_at.map(ms)),
            last_used_at: Set(None),
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_operator_token(&self, digest: &str) -> StoreResult<Option<OperatorTokenRecord>> {
        operator_token::Entity::find()
            .filter(operator_token::Column::Digest.eq(digest))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(token_from)
            .transpose()
    }

    async fn list_operator_tokens(&self) -> StoreResult<Vec<OperatorTokenRecord>> {
        operator_token::Entity::find()
            .order_by_desc(operator_token::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(token_from)
            .collect()
    }

    async fn touch_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<()> {
        operator_token::Entity::update_many()
            .col_expr(operator_token::Column::LastUsedAt, Expr::value(ms(now)))
            .filter(operator_token::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(())
    }

    async fn revoke_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let res = operator_token::Entity::update_many()
            .col_expr(operator_token::Column::RevokedAt, Expr::value(ms(now)))
            .filter(operator_token::Column::Id.eq(id))
            .filter(operator_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn upsert_console_user(
        &self,
        email: &str,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord> {
        console_user::Entity::insert(console_user::ActiveModel {
            id: Set(new_id.to_owned()),
            email: Set(email.to_owned()),
            is_operator: Set(false),
            created_at: Set(ms(now)),
        })
        .on_conflict(OnConflict::column(console_user::Column::Email).do_nothing().to_owned())
        .do_nothing()
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        let found = console_user::Entity::find()
            .filter(console_user::Column::Email.eq(email))
            .one(&self.db)
            .await
            .map_err(crate::db_err)?;
        match found {
            Some(m) => user_from(m),
            None => Err(crate::StoreError::Other(format!("console user {email} vanished"))),
        }
    }

    async fn find_console_user(&self, id: &str) -> StoreResult<Option<ConsoleUserRecord>> {
        console_user::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(user_from)
            .transpose()
    }

    async fn set_console_operator(
        &self,
        email: &str,
        operator: bool,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord> {
        let user = self.upsert_console_user(email, new_id, now).await?;
        console_user::Entity::update_many()
            .col_expr(console_user::Column::IsOperator, Expr::value(operator))
            .filter(console_user::Column::Id.eq(user.id.as_str()))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(ConsoleUserRecord { is_operator: operator, ..user })
    }

    async fn insert_org(&self, org: &OrgRecord, owner: &str) -> StoreResult<()> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        console_org::Entity::insert(console_org::ActiveModel {
            id: Set(org.id.clone()),
            name: Set(org.name.clone()),
            created_at: Set(ms(org.created_at)),
        })
        .exec(&txn)
        .await
        .map_err(crate::db_err)?;
        console_member::Entity::insert(console_member::ActiveModel {
            org_id: Set(org.id.clone()),
            user_id: Set(owner.to_owned()),
            role: Set("owner".to_owned()),
            created_at: Set(ms(org.created_at)),
        })
        .exec(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_org(&self, id: &str) -> StoreResult<Option<OrgRecord>> {
        console_org::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(org_from)
            .transpose()
    }

    async fn list_orgs(&self) -> StoreResult<Vec<OrgRecord>> {
        console_org::Entity::find()
            .order_by_asc(console_org::Column::CreatedAt)
            .order_by_asc(console_org::Column::Id)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(org_from)
            .collect()
    }

    async fn orgs_of_user(&self, user: &str) -> StoreResult<Vec<(OrgRecord, String)>> {
        let memberships = console_member::Entity::find()
            .filter(console_member::Column::UserId.eq(user))
            .order_by_asc(console_member::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        let mut out = Vec::with_capacity(memberships.len());
        for m in memberships {
            if let Some(org) = console_org::Entity::find_by_id(m.org_id).one(&self.db).await.map_err(crate::db_err)? {
                out.push((org_from(org)?, m.role));
            }
        }
        Ok(out)
    }

    async fn members(&self, org: &str) -> StoreResult<Vec<MemberRecord>> {
        let rows = console_member::Entity::find()
            .filter(console_member::Column::OrgId.eq(org))
            .order_by_asc(console_member::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            if let Some(u) = console_user::Entity::find_by_id(m.user_id).one(&self.db).await.map_err(crate::db_err)? {
                out.push(MemberRecord { user: user_from(u)?, role: m.role });
            }
        }
        Ok(out)
    }

    async fn set_member_role(&self, org: &str, user: &str, role: &str) -> StoreResult<bool> {
        let res = console_member::Entity::update_many()
            .col_expr(console_member::Column::Role, Expr::value(role))
            .filter(console_member::Column::OrgId.eq(org))
            .filter(console_member::Column::UserId.eq(user))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn remove_member(&self, org: &str, user: &str) -> StoreResult<bool> {
        let res = console_member::Entity::delete_many()
            .filter(console_member::Column::OrgId.eq(org))
            .filter(console_member::Column::UserId.eq(user))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn insert_invitation(&self, i: &InvitationRecord) -> StoreResult<()> {
        console_invitation::Entity::insert(console_invitation::ActiveModel {
            id: Set(i.id.clone()),
            org_id: Set(i.org_id.clone()),
            email: Set(i.email.clone()),
            role: Set(i.role.clone()),
            invited_by: Set(i.invited_by.clone()),
            created_at: Set(ms(i.created_at)),
            expires_at: Set(ms(i.expires_at)),
            accepted_at: Set(None),
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn org_invitations(&self, org: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>> {
        console_invitation::Entity::find()
            .filter(console_invitation::Column::OrgId.eq(org))
            .filter(console_invitation::Column::AcceptedAt.is_null())
            .filter(console_invitation::Column::ExpiresAt.gt(ms(now)))
            .order_by_asc(console_invitation::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(invitation_from)
            .collect()
    }

    async fn invitations_for(&self, email: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>> {
        console_invitation::Entity::find()
            .filter(console_invitation::Column::Email.eq(email))
            .filter(console_invitation::Column::AcceptedAt.is_null())
            .filter(console_invitation::Column::ExpiresAt.gt(ms(now)))
            .order_by_asc(console_invitation::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(invitation_from)
            .collect()
    }

    async fn accept_invitation(&self, id: &str, user: &ConsoleUserRecord, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let res = console_invitation::Entity::update_many()
            .col_expr(console_invitation::Column::AcceptedAt, Expr::value(ms(now)))
            .filter(console_invitation::Column::Id.eq(id))
            .filter(console_invitation::Column::Email.eq(user.email.as_str()))
            .filter(console_invitation::Column::AcceptedAt.is_null())
            .filter(console_invitation::Column::ExpiresAt.gt(ms(now)))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        if res.rows_affected != 1 {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let Some(inv) = console_invitation::Entity::find_by_id(id.to_owned()).one(&txn).await.map_err(crate::db_err)?
        else {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        };
        // Already a member: keep the existing role (an invitation never demotes).
        console_member::Entity::insert(console_member::ActiveModel {
            org_id: Set(inv.org_id),
            user_id: Set(user.id.clone()),
            role: Set(inv.role),
            created_at: Set(ms(now)),
        })
        .on_conflict(
            OnConflict::columns([console_member::Column::OrgId, console_member::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec(&txn)
        .await
        .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn revoke_invitation(&self, org: &str, id: &str) -> StoreResult<bool> {
        let res = console_invitation::Entity::delete_many()
            .filter(console_invitation::Column::Id.eq(id))
            .filter(console_invitation::Column::OrgId.eq(org))
            .filter(console_invitation::Column::AcceptedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn assign_client(&self, client: &ClientId, org: &str, now: OffsetDateTime) -> StoreResult<()> {
        console_client_org::Entity::insert(console_client_org::ActiveModel {
            client_id: Set(client.to_string()),
            org_id: Set(Some(org.to_owned())),
            created_at: Set(ms(now)),
            production_requested_by: Set(None),
            production_requested_at: Set(None),
        })
        .on_conflict(
            OnConflict::column(console_client_org::Column::ClientId)
                .update_column(console_client_org::Column::OrgId)
                .to_owned(),
        )
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn client_org(&self, client: &ClientId) -> StoreResult<Option<String>> {
        Ok(console_client_org::Entity::find_by_id(client.to_string())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .and_then(|m| m.org_id))
    }

    async fn org_clients(&self, org: &str) -> StoreResult<Vec<ClientId>> {
        let ids: Vec<String> = console_client_org::Entity::find()
            .select_only()
            .column(console_client_org::Column::ClientId)
            .filter(console_client_org::Column::OrgId.eq(org))
            .order_by_asc(console_client_org::Column::CreatedAt)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(ids.into_iter().map(ClientId::from_stored).collect())
    }

    async fn set_client_mode(&self, id: &ClientId, mode: ClientMode) -> StoreResult<bool> {
        let res = client::Entity::update_many()
            .col_expr(client::Column::Mode, Expr::value(mode.as_str()))
            .filter(client::Column::Id.eq(id.as_str()))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn set_production_request(
        &self,
        id: &ClientId,
        requested: Option<(String, OffsetDateTime)>,
    ) -> StoreResult<()> {
        let (by, when) = match requested {
            Some((by, when)) => (Some(by), Some(ms(when))),
            None => (None, None),
        };
        console_client_org::Entity::update_many()
            .col_expr(console_client_org::Column::ProductionRequestedBy, Expr::value(by))
            .col_expr(console_client_org::Column::ProductionRequestedAt, Expr::value(when))
            .filter(console_client_org::Column::ClientId.eq(id.as_str()))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(())
    }

    async fn production_requests(&self) -> StoreResult<Vec<(ClientId, String, OffsetDateTime)>> {
        let rows = console_client_org::Entity::find()
            .filter(console_client_org::Column::ProductionRequestedAt.is_not_null())
            .order_by_asc(console_client_org::Column::ProductionRequestedAt)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        rows.into_iter()
            .filter_map(|m| match (m.production_requested_by, m.production_requested_at) {
                (Some(by), Some(when)) => Some(at(when).map(|t| (ClientId::from_stored(m.client_id), by, t))),
                _ => None,
            })
            .collect()
    }

    async fn insert_console_session(&self, s: &ConsoleSessionRecord) -> StoreResult<()> {
        console_session::Entity::insert(console_session::ActiveModel {
            digest: Set(s.digest.clone()),
            user_id: Set(s.user_id.clone()),
            created_at: Set(ms(s.created_at)),
            last_seen_at: Set(ms(s.last_seen_at)),
            expires_at: Set(ms(s.expires_at)),
            revoked_at: Set(None),
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn find_console_session(&self, digest: &str) -> StoreResult<Option<ConsoleSessionRecord>> {
        console_session::Entity::find_by_id(digest.to_owned())
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(session_from)
            .transpose()
    }

    async fn touch_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()> {
        console_session::Entity::update_many()
            .col_expr(console_session::Column::LastSeenAt, Expr::value(ms(now)))
            .filter(console_session::Column::Digest.eq(digest))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(())
    }

    async fn revoke_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()> {
        console_session::Entity::update_many()
            .col_expr(console_session::Column::RevokedAt, Expr::value(ms(now)))
            .filter(console_session::Column::Digest.eq(digest))
            .filter(console_session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(())
    }

    async fn insert_console_code(&self, c: &ConsoleCodeRecord) -> StoreResult<()> {
        console_code::Entity::insert(console_code::ActiveModel {
            email: Set(c.email.clone()),
            code_digest: Set(c.code_digest.clone()),
            created_at: Set(ms(c.created_at)),
            expires_at: Set(ms(c.expires_at)),
            attempts: Set(0),
            consumed_at: Set(None),
            requested_ip: Set(c.requested_ip.clone()),
            ..Default::default()
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(())
    }

    async fn latest_console_code(&self, email: &str) -> StoreResult<Option<ConsoleCodeRecord>> {
        console_code::Entity::find()
            .filter(console_code::Column::Email.eq(email))
            .order_by_desc(console_code::Column::Id)
            .one(&self.db)
            .await
            .map_err(crate::db_err)?
            .map(code_from)
            .transpose()
    }

    async fn console_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        let mut q = console_code::Entity::find()
            .select_only()
            .column(console_code::Column::CreatedAt)
            .filter(console_code::Column::Email.eq(email))
            .filter(console_code::Column::CreatedAt.gte(ms(since)));
        if let Some(ip) = ip {
            q = q.filter(console_code::Column::RequestedIp.eq(ip));
        }
        let times: Vec<i64> =
            q.order_by_asc(console_code::Column::CreatedAt).into_tuple().all(&self.db).await.map_err(crate::db_err)?;
        times.into_iter().map(at).collect()
    }

    async fn console_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool> {
        let n = console_code::Entity::find()
            .filter(console_code::Column::Email.eq(email))
            .filter(console_code::Column::RequestedIp.eq(ip))
            .filter(console_code::Column::ConsumedAt.gte(ms(since)))
            .count(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(n > 0)
    }

    async fn spend_console_code_attempt(&self, id: i64, max: i32) -> StoreResult<bool> {
        let res = console_code::Entity::update_many()
            .col_expr(console_code::Column::Attempts, Expr::col(console_code::Column::Attempts).add(1))
            .filter(console_code::Column::Id.eq(id))
            .filter(console_code::Column::Attempts.lt(max))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn consume_console_code(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let res = console_code::Entity::update_many()
            .col_expr(console_code::Column::ConsumedAt, Expr::value(ms(now)))
            .filter(console_code::Column::Id.eq(id))
            .filter(console_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn webhook_settings(&self, endpoints: Vec<String>) -> StoreResult<Vec<(String, WebhookSettings)>> {
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let rows = webhook_setting::Entity::find()
            .filter(webhook_setting::Column::EndpointId.is_in(endpoints))
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        rows.into_iter()
            .map(|m| {
                Ok((m.endpoint_id, WebhookSettings { description: m.description, disabled_at: opt_at(m.disabled_at)? }))
            })
            .collect()
    }

    async fn update_webhook(
        &self,
        client: &ClientId,
        id: &str,
        url: Option<String>,
        events: Option<Vec<WebhookEvent>>,
        description: Option<Option<String>>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        if !live_endpoint(&txn, client, id).await? {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let mut upd = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(webhook_endpoint::Column::Id.eq(id));
        if let Some(url) = url {
            upd = upd.col_expr(webhook_endpoint::Column::Url, Expr::value(url));
        }
        if let Some(events) = events {
            let names: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();
            upd = upd.col_expr(webhook_endpoint::Column::Events, Expr::value(to_json_list(&names)));
        }
        upd.exec(&txn).await.map_err(crate::db_err)?;
        if let Some(description) = description {
            webhook_setting::Entity::insert(webhook_setting::ActiveModel {
                endpoint_id: Set(id.to_owned()),
                description: Set(description),
                disabled_at: Set(None),
            })
            .on_conflict(
                OnConflict::column(webhook_setting::Column::EndpointId)
                    .update_column(webhook_setting::Column::Description)
                    .to_owned(),
            )
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn set_webhook_disabled(
        &self,
        client: &ClientId,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        if !live_endpoint(&txn, client, id).await? {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let disabled_at = disabled.then(|| ms(now));
        webhook_setting::Entity::insert(webhook_setting::ActiveModel {
            endpoint_id: Set(id.to_owned()),
            description: Set(None),
            disabled_at: Set(disabled_at),
        })
        .on_conflict(
            OnConflict::column(webhook_setting::Column::EndpointId)
                .update_column(webhook_setting::Column::DisabledAt)
                .to_owned(),
        )
        .exec(&txn)
        .await
        .map_err(crate::db_err)?;
        if disabled {
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, Expr::value("cancelled"))
                .col_expr(webhook_delivery::Column::LastError, Expr::value("endpoint disabled"))
                .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(ms(now)))
                .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(ms(now)))
                .filter(webhook_delivery::Column::EndpointId.eq(id))
                .filter(webhook_delivery::Column::Status.eq("pending"))
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(true)
    }

    async fn enqueue_direct_delivery(
        &self,
        client: &ClientId,
        id: &str,
        delivery_id: &str,
        event: &str,
        data: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        if !live_endpoint(&self.db, client, id).await? {
            return Ok(false);
        }
        let now = ms(now);
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            id: Set(delivery_id.to_owned()),
            endpoint_id: Set(id.to_owned()),
            client_id: Set(client.to_string()),
            event: Set(event.to_owned()),
            // Its own ordering key: a test never waits behind (or holds up) a grant's events.
            ordering_key: Set(delivery_id.to_owned()),
            payload: Set(data.to_string()),
            occurred_at: Set(now),
            status: Set("pending".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_by: Set(None),
            locked_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            completed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&self.db)
        .await
        .map_err(crate::db_err)?;
        Ok(true)
    }

    async fn redeliver(&self, client: &ClientId, delivery_id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        let Some(d) = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Id.eq(delivery_id))
            .filter(webhook_delivery::Column::ClientId.eq(client.as_str()))
            .one(&txn)
            .await
            .map_err(crate::db_err)?
        else {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        };
        if !live_endpoint(&txn, client, &d.endpoint_id).await? {
            txn.rollback().await.map_err(crate::db_err)?;
            return Ok(false);
        }
        let res = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(ms(now)))
            .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(Option::<i64>::None))
            .col_expr(webhook_delivery::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(ms(now)))
            .filter(webhook_delivery::Column::Seq.eq(d.seq))
            .filter(webhook_delivery::Column::Status.is_in(["delivered", "failed", "cancelled"]))
            .exec(&txn)
            .await
            .map_err(crate::db_err)?;
        txn.commit().await.map_err(crate::db_err)?;
        Ok(res.rows_affected == 1)
    }

    async fn usage(&self, client: &ClientId, since: OffsetDateTime, now: OffsetDateTime) -> StoreResult<Vec<UsageDay>> {
        let (from, to) = (ms(since).div_euclid(DAY_MS) * DAY_MS, ms(now));
        let mut days: BTreeMap<i64, [u64; 4]> = BTreeMap::new();
        let mut d = from;
        while d <= to {
            days.insert(d, [0; 4]);
            d += DAY_MS;
        }
        let created: Vec<i64> = link_token::Entity::find()
            .select_only()
            .column(link_token::Column::CreatedAt)
            .filter(link_token::Column::ClientId.eq(client.as_str()))
            .filter(link_token::Column::CreatedAt.gte(from))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        count_days(&mut days, created, 0);
        let completed: Vec<Option<i64>> = link_token::Entity::find()
            .select_only()
            .column(link_token::Column::CompletedAt)
            .filter(link_token::Column::ClientId.eq(client.as_str()))
            .filter(link_token::Column::CompletedAt.gte(from))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        count_days(&mut days, completed.into_iter().flatten().collect(), 1);
        let exchanged: Vec<i64> = grant::Entity::find()
            .select_only()
            .column(grant::Column::CreatedAt)
            .filter(grant::Column::ClientId.eq(client.as_str()))
            .filter(grant::Column::CreatedAt.gte(from))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        count_days(&mut days, exchanged, 2);
        let calls: Vec<(i64, i64)> = client_usage_day::Entity::find()
            .select_only()
            .column(client_usage_day::Column::Day)
            .column(client_usage_day::Column::DataApiCalls)
            .filter(client_usage_day::Column::ClientId.eq(client.as_str()))
            .filter(client_usage_day::Column::Day.gte(from))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(crate::db_err)?;
        for (day, n) in calls {
            if let Some(d) = days.get_mut(&day) {
                d[3] += u64::try_from(n).unwrap_or(0);
            }
        }
        days.into_iter()
            .map(|(day, [link_tokens, completions, exchanges, data_api_calls])| {
                Ok(UsageDay { day: at(day)?, link_tokens, completions, exchanges, data_api_calls })
            })
            .collect()
    }

    async fn add_data_api_calls(&self, counts: &[(ClientId, OffsetDateTime, u64)]) -> StoreResult<()> {
        use client_usage_day::Column as U;
        // One row per key within a statement (PostgreSQL refuses to upsert a row twice).
        let mut merged: BTreeMap<(&str, i64), u64> = BTreeMap::new();
        for (client, day, n) in counts {
            *merged.entry((client.as_str(), ms(*day).div_euclid(DAY_MS) * DAY_MS)).or_insert(0) += n;
        }
        let rows: Vec<_> = merged.into_iter().collect();
        if rows.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin().await.map_err(crate::db_err)?;
        // 3 parameters a row: well under SQLite's and PostgreSQL's limits.
        for chunk in rows.chunks(300) {
            let models = chunk.iter().map(|((client, day), n)| client_usage_day::ActiveModel {
                client_id: Set((*client).to_owned()),
                day: Set(*day),
                data_api_calls: Set(i64::try_from(*n).unwrap_or(i64::MAX)),
            });
            client_usage_day::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([U::ClientId, U::Day])
                        .value(
                            U::DataApiCalls,
                            Expr::col((client_usage_day::Entity, U::DataApiCalls))
                                .add(Expr::col((Alias::new("excluded"), U::DataApiCalls))),
                        )
                        .to_owned(),
                )
                .exec(&txn)
                .await
                .map_err(crate::db_err)?;
        }
        txn.commit().await.map_err(crate::db_err)?;
        Ok(())
    }
}
