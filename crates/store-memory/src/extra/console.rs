//! [`ConsoleStore`] in memory: operator tokens, console users, organisations, members,
//! invitations, sessions, sign-in codes, client ownership, webhook settings, direct and repeated
//! deliveries, and usage per day (counted from the core tables, as SeaStore counts them).

use crate::core::{conflict, ms};
use crate::state::{DeliveryRow, DeliveryStatus, State};
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{ClientId, ClientMode, WebhookEvent};
use kc_ports::store::{
    ConsoleCodeRecord, ConsoleSessionRecord, ConsoleStore, ConsoleUserRecord, InvitationRecord, MemberRecord,
    OperatorTokenRecord, OrgRecord, StoreResult, UsageDay, WebhookSettings,
};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

const DAY_MS: i64 = 86_400_000;

/// A member of an organisation (`console_members`, unique per organisation and user).
#[derive(Debug, Clone)]
pub(crate) struct OrgMemberRow {
    /// Insertion order (ties of `created_at`).
    pub(crate) seq: i64,
    /// The organisation.
    pub(crate) org_id: String,
    /// The person.
    pub(crate) user_id: String,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub(crate) role: String,
    /// When they joined.
    pub(crate) created_at: OffsetDateTime,
}

/// Which organisation owns a client, and its open production request (`console_client_orgs`).
#[derive(Debug, Clone)]
pub(crate) struct ClientOrgRow {
    /// The owning organisation.
    pub(crate) org_id: String,
    /// When it was first assigned.
    pub(crate) created_at: OffsetDateTime,
    /// Who asked for production, and when.
    pub(crate) production_request: Option<(String, OffsetDateTime)>,
}

impl State {
    /// The user with `email`, created with `new_id` if there is none.
    fn upsert_console_user(
        &mut self,
        email: &str,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord> {
        if let Some(u) = self.console_users.values().find(|u| u.email == email) {
            return Ok(u.clone());
        }
        if self.console_users.contains_key(new_id) {
            return Err(conflict("console user", new_id));
        }
        let user =
            ConsoleUserRecord { id: new_id.to_owned(), email: email.to_owned(), is_operator: false, created_at: now };
        self.console_users.insert(new_id.to_owned(), user.clone());
        Ok(user)
    }

    /// Whether `client`'s endpoint `id` exists and was not removed.
    fn live_endpoint(&self, client: &ClientId, id: &str) -> bool {
        self.webhook_endpoints.get(id).is_some_and(|e| e.removed_at.is_none() && e.record.client_id == *client)
    }

    /// Adds a membership unless `user` already is a member of `org` (an invitation never demotes).
    fn add_member(&mut self, org: &str, user: &str, role: &str, at: OffsetDateTime) {
        if self.org_members.iter().any(|m| m.org_id == org && m.user_id == user) {
            return;
        }
        let seq = self.next_id();
        self.org_members.push(OrgMemberRow {
            seq,
            org_id: org.to_owned(),
            user_id: user.to_owned(),
            role: role.to_owned(),
            created_at: at,
        });
    }
}

fn open(i: &InvitationRecord, now: OffsetDateTime) -> bool {
    i.accepted_at.is_none() && i.expires_at > now
}

fn sorted_invitations<'a>(it: impl Iterator<Item = &'a InvitationRecord>) -> Vec<InvitationRecord> {
    let mut v: Vec<InvitationRecord> = it.cloned().collect();
    v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    v
}

#[async_trait]
impl ConsoleStore for MemoryStore {
    async fn insert_operator_token(&self, token: &OperatorTokenRecord) -> StoreResult<()> {
        self.with(|s| {
            if s.operator_tokens.contains_key(&token.id) {
                return Err(conflict("operator token", &token.id));
            }
            if s.operator_tokens.values().any(|t| t.digest == token.digest) {
                return Err(conflict("operator token", "digest"));
            }
            s.operator_tokens.insert(token.id.clone(), OperatorTokenRecord { last_used_at: None, ..token.clone() });
            Ok(())
        })
    }

    async fn find_operator_token(&self, digest: &str) -> StoreResult<Option<OperatorTokenRecord>> {
        self.with(|s| Ok(s.operator_tokens.values().find(|t| t.digest == digest).cloned()))
    }

    async fn list_operator_tokens(&self) -> StoreResult<Vec<OperatorTokenRecord>> {
        self.with(|s| {
            let mut v: Vec<OperatorTokenRecord> = s.operator_tokens.values().cloned().collect();
            v.sort_by_key(|t| std::cmp::Reverse(t.created_at));
            Ok(v)
        })
    }

    async fn touch_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(t) = s.operator_tokens.get_mut(id) {
                t.last_used_at = Some(now);
            }
            Ok(())
        })
    }

    async fn revoke_operator_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| match s.operator_tokens.get_mut(id) {
            Some(t) if t.revoked_at.is_none() => {
                t.revoked_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn upsert_console_user(
        &self,
        email: &str,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord> {
        self.with(|s| s.upsert_console_user(email, new_id, now))
    }

    async fn find_console_user(&self, id: &str) -> StoreResult<Option<ConsoleUserRecord>> {
        self.with(|s| Ok(s.console_users.get(id).cloned()))
    }

    async fn set_console_operator(
        &self,
        email: &str,
        operator: bool,
        new_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<ConsoleUserRecord> {
        self.with(|s| {
            let user = s.upsert_console_user(email, new_id, now)?;
            let user = ConsoleUserRecord { is_operator: operator, ..user };
            s.console_users.insert(user.id.clone(), user.clone());
            Ok(user)
        })
    }

    async fn insert_org(&self, org: &OrgRecord, owner: &str) -> StoreResult<()> {
        self.with(|s| {
            if s.orgs.contains_key(&org.id) {
                return Err(conflict("organisation", &org.id));
            }
            s.orgs.insert(org.id.clone(), org.clone());
            s.add_member(&org.id, owner, "owner", org.created_at);
            Ok(())
        })
    }

    async fn find_org(&self, id: &str) -> StoreResult<Option<OrgRecord>> {
        self.with(|s| Ok(s.orgs.get(id).cloned()))
    }

    async fn list_orgs(&self) -> StoreResult<Vec<OrgRecord>> {
        self.with(|s| {
            let mut v: Vec<OrgRecord> = s.orgs.values().cloned().collect();
            v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(v)
        })
    }

    async fn orgs_of_user(&self, user: &str) -> StoreResult<Vec<(OrgRecord, String)>> {
        self.with(|s| {
            let mut rows: Vec<&OrgMemberRow> = s.org_members.iter().filter(|m| m.user_id == user).collect();
            rows.sort_by_key(|m| (m.created_at, m.seq));
            Ok(rows.into_iter().filter_map(|m| s.orgs.get(&m.org_id).map(|o| (o.clone(), m.role.clone()))).collect())
        })
    }

    async fn members(&self, org: &str) -> StoreResult<Vec<MemberRecord>> {
        self.with(|s| {
            let mut rows: Vec<&OrgMemberRow> = s.org_members.iter().filter(|m| m.org_id == org).collect();
            rows.sort_by_key(|m| (m.created_at, m.seq));
            Ok(rows
                .into_iter()
                .filter_map(|m| {
                    s.console_users.get(&m.user_id).map(|u| MemberRecord { user: u.clone(), role: m.role.clone() })
                })
                .collect())
        })
    }

    async fn set_member_role(&self, org: &str, user: &str, role: &str) -> StoreResult<bool> {
        self.with(|s| match s.org_members.iter_mut().find(|m| m.org_id == org && m.user_id == user) {
            Some(m) => {
                m.role = role.to_owned();
                Ok(true)
            }
            None => Ok(false),
        })
    }

    async fn remove_member(&self, org: &str, user: &str) -> StoreResult<bool> {
        self.with(|s| {
            let before = s.org_members.len();
            s.org_members.retain(|m| !(m.org_id == org && m.user_id == user));
            Ok(s.org_members.len() != before)
        })
    }

    async fn insert_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()> {
        self.with(|s| {
            if s.invitations.contains_key(&invitation.id) {
                return Err(conflict("invitation", &invitation.id));
            }
            s.invitations.insert(invitation.id.clone(), InvitationRecord { accepted_at: None, ..invitation.clone() });
            Ok(())
        })
    }

    async fn org_invitations(&self, org: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>> {
        self.with(|s| Ok(sorted_invitations(s.invitations.values().filter(|i| i.org_id == org && open(i, now)))))
    }

    async fn invitations_for(&self, email: &str, now: OffsetDateTime) -> StoreResult<Vec<InvitationRecord>> {
        self.with(|s| Ok(sorted_invitations(s.invitations.values().filter(|i| i.email == email && open(i, now)))))
    }

    async fn accept_invitation(&self, id: &str, user: &ConsoleUserRecord, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some(inv) = s.invitations.get_mut(id) else { return Ok(false) };
            if inv.email != user.email || !open(inv, now) {
                return Ok(false);
            }
            inv.accepted_at = Some(now);
            let (org, role) = (inv.org_id.clone(), inv.role.clone());
            s.add_member(&org, &user.id, &role, now);
            Ok(true)
        })
    }

    async fn revoke_invitation(&self, org: &str, id: &str) -> StoreResult<bool> {
        self.with(|s| {
            if !s.invitations.get(id).is_some_and(|i| i.org_id == org && i.accepted_at.is_none()) {
                return Ok(false);
            }
            s.invitations.remove(id);
            Ok(true)
        })
    }

    async fn assign_client(&self, client: &ClientId, org: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            s.client_orgs
                .entry(client.as_str().to_owned())
                .and_modify(|r| r.org_id = org.to_owned())
                .or_insert_with(|| ClientOrgRow { org_id: org.to_owned(), created_at: now, production_request: None });
            Ok(())
        })
    }

    async fn client_org(&self, client: &ClientId) -> StoreResult<Option<String>> {
        self.with(|s| Ok(s.client_orgs.get(client.as_str()).map(|r| r.org_id.clone())))
    }

    async fn org_clients(&self, org: &str) -> StoreResult<Vec<ClientId>> {
        self.with(|s| {
            let mut v: Vec<(OffsetDateTime, &String)> =
                s.client_orgs.iter().filter(|(_, r)| r.org_id == org).map(|(id, r)| (r.created_at, id)).collect();
            v.sort();
            Ok(v.into_iter().map(|(_, id)| ClientId::from_stored(id.clone())).collect())
        })
    }

    async fn set_client_mode(&self, client: &ClientId, mode: ClientMode) -> StoreResult<bool> {
        self.with(|s| match s.clients.get_mut(client.as_str()) {
            Some(c) => {
                c.record.mode = mode;
                Ok(true)
            }
            None => Ok(false),
        })
    }

    async fn set_production_request(
        &self,
        client: &ClientId,
        requested: Option<(String, OffsetDateTime)>,
    ) -> StoreResult<()> {
        self.with(|s| {
            if let Some(r) = s.client_orgs.get_mut(client.as_str()) {
                r.production_request = requested;
            }
            Ok(())
        })
    }

    async fn production_requests(&self) -> StoreResult<Vec<(ClientId, String, OffsetDateTime)>> {
        self.with(|s| {
            let mut v: Vec<(ClientId, String, OffsetDateTime)> = s
                .client_orgs
                .iter()
                .filter_map(|(id, r)| {
                    r.production_request.as_ref().map(|(by, at)| (ClientId::from_stored(id.clone()), by.clone(), *at))
                })
                .collect();
            v.sort_by_key(|(_, _, at)| *at);
            Ok(v)
        })
    }

    async fn insert_console_session(&self, session: &ConsoleSessionRecord) -> StoreResult<()> {
        self.with(|s| {
            if s.console_sessions.contains_key(&session.digest) {
                return Err(conflict("console session", "digest"));
            }
            s.console_sessions
                .insert(session.digest.clone(), ConsoleSessionRecord { revoked_at: None, ..session.clone() });
            Ok(())
        })
    }

    async fn find_console_session(&self, digest: &str) -> StoreResult<Option<ConsoleSessionRecord>> {
        self.with(|s| Ok(s.console_sessions.get(digest).cloned()))
    }

    async fn touch_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(x) = s.console_sessions.get_mut(digest) {
                x.last_seen_at = now;
            }
            Ok(())
        })
    }

    async fn revoke_console_session(&self, digest: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            if let Some(x) = s.console_sessions.get_mut(digest) {
                x.revoked_at.get_or_insert(now);
            }
            Ok(())
        })
    }

    async fn insert_console_code(&self, code: &ConsoleCodeRecord) -> StoreResult<()> {
        self.with(|s| {
            let id = s.next_id();
            s.console_codes.insert(id, ConsoleCodeRecord { id, attempts: 0, consumed_at: None, ..code.clone() });
            Ok(())
        })
    }

    async fn latest_console_code(&self, email: &str) -> StoreResult<Option<ConsoleCodeRecord>> {
        self.with(|s| Ok(s.console_codes.values().rev().find(|c| c.email == email).cloned()))
    }

    async fn console_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        self.with(|s| {
            let mut v: Vec<OffsetDateTime> = s
                .console_codes
                .values()
                .filter(|c| c.email == email && c.created_at >= since)
                .filter(|c| ip.is_none() || c.requested_ip == ip)
                .map(|c| c.created_at)
                .collect();
            v.sort();
            Ok(v)
        })
    }

    async fn console_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.console_codes.values().any(|c| {
                c.email == email && c.requested_ip.as_deref() == Some(ip) && c.consumed_at.is_some_and(|t| t >= since)
            }))
        })
    }

    async fn spend_console_code_attempt(&self, id: i64, max: i32) -> StoreResult<bool> {
        self.with(|s| match s.console_codes.get_mut(&id) {
            Some(c) if c.attempts < max => {
                c.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn consume_console_code(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| match s.console_codes.get_mut(&id) {
            Some(c) if c.consumed_at.is_none() => {
                c.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        })
    }

    async fn webhook_settings(&self, endpoints: Vec<String>) -> StoreResult<Vec<(String, WebhookSettings)>> {
        self.with(|s| {
            Ok(endpoints.into_iter().filter_map(|id| s.webhook_settings.get(&id).cloned().map(|w| (id, w))).collect())
        })
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
        self.with(|s| {
            if !s.live_endpoint(client, id) {
                return Ok(false);
            }
            if let Some(e) = s.webhook_endpoints.get_mut(id) {
                e.record.updated_at = now;
                if let Some(url) = url {
                    e.record.url = url;
                }
                if let Some(events) = events {
                    e.record.events = events;
                }
            }
            if let Some(description) = description {
                s.webhook_settings.entry(id.to_owned()).or_default().description = description;
            }
            Ok(true)
        })
    }

    async fn set_webhook_disabled(
        &self,
        client: &ClientId,
        id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            if !s.live_endpoint(client, id) {
                return Ok(false);
            }
            s.webhook_settings.entry(id.to_owned()).or_default().disabled_at = disabled.then_some(now);
            if disabled {
                for d in
                    s.deliveries.values_mut().filter(|d| d.endpoint_id == id && d.status == DeliveryStatus::Pending)
                {
                    d.status = DeliveryStatus::Cancelled;
                    d.last_error = Some("endpoint disabled".to_owned());
                    d.completed_at = Some(now);
                    d.updated_at = now;
                }
            }
            Ok(true)
        })
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
        self.with(|s| {
            if !s.live_endpoint(client, id) {
                return Ok(false);
            }
            if s.deliveries.values().any(|d| d.id == delivery_id) {
                return Err(conflict("webhook delivery", delivery_id));
            }
            let seq = s.next_id();
            s.deliveries.insert(
                seq,
                DeliveryRow {
                    id: delivery_id.to_owned(),
                    endpoint_id: id.to_owned(),
                    client_id: client.as_str().to_owned(),
                    event: event.to_owned(),
                    // Its own ordering key: a test never waits behind (or holds up) a grant's events.
                    ordering_key: delivery_id.to_owned(),
                    payload: data.to_string(),
                    occurred_at: now,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    locked_by: None,
                    locked_until: None,
                    last_status: None,
                    last_error: None,
                    completed_at: None,
                    updated_at: now,
                },
            );
            Ok(true)
        })
    }

    async fn redeliver(&self, client: &ClientId, delivery_id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some((seq, endpoint)) = s
                .deliveries
                .iter()
                .find(|(_, d)| d.id == delivery_id && d.client_id == client.as_str())
                .map(|(seq, d)| (*seq, d.endpoint_id.clone()))
            else {
                return Ok(false);
            };
            if !s.live_endpoint(client, &endpoint) {
                return Ok(false);
            }
            let Some(d) = s.deliveries.get_mut(&seq) else { return Ok(false) };
            if !matches!(d.status, DeliveryStatus::Delivered | DeliveryStatus::Failed | DeliveryStatus::Cancelled) {
                return Ok(false);
            }
            d.status = DeliveryStatus::Pending;
            d.attempts = 0;
            d.next_attempt_at = now;
            d.completed_at = None;
            d.locked_by = None;
            d.locked_until = None;
            d.updated_at = now;
            Ok(true)
        })
    }

    async fn usage(&self, client: &ClientId, since: OffsetDateTime, now: OffsetDateTime) -> StoreResult<Vec<UsageDay>> {
        self.with(|s| {
            let (from, to) = (ms(since).div_euclid(DAY_MS) * DAY_MS, ms(now));
            let mut days: BTreeMap<i64, [u64; 4]> = BTreeMap::new();
            let mut d = from;
            while d <= to {
                days.insert(d, [0; 4]);
                d += DAY_MS;
            }
            let mut count = |t: OffsetDateTime, slot: usize, n: u64| {
                let t = ms(t);
                if t >= from {
                    if let Some(day) = days.get_mut(&(t.div_euclid(DAY_MS) * DAY_MS)) {
                        day[slot] += n;
                    }
                }
            };
            for l in s.link_sessions.values().filter(|l| l.session.client_id == *client) {
                count(l.created_at, 0, 1);
                if let Some(done) = l.session.completed_at {
                    count(done, 1, 1);
                }
            }
            for g in s.grants.values().filter(|g| g.record.client_id == *client) {
                count(g.record.created_at, 2, 1);
            }
            for ((c, day), calls) in &s.data_api_calls {
                if c == client.as_str() {
                    count(OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(*day), 3, *calls);
                }
            }
            Ok(days
                .into_iter()
                .map(|(day, [link_tokens, completions, exchanges, data_api_calls])| UsageDay {
                    day: OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(day),
                    link_tokens,
                    completions,
                    exchanges,
                    data_api_calls,
                })
                .collect())
        })
    }

    async fn add_data_api_calls(&self, counts: &[(ClientId, OffsetDateTime, u64)]) -> StoreResult<()> {
        self.with(|s| {
            for (client, day, calls) in counts {
                let key = (client.as_str().to_owned(), ms(*day).div_euclid(DAY_MS) * DAY_MS);
                let total = s.data_api_calls.entry(key).or_insert(0);
                *total = total.saturating_add(*calls);
            }
            Ok(())
        })
    }
}
