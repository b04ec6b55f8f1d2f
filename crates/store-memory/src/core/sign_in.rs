//! [`SignInStore`] in memory: email codes and the GCRA rate budgets.

use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::UserId;
use kc_ports::store::{BudgetSpend, EmailCodeRecord, NewEmailUser, SignInStore, StoreResult};
use time::OffsetDateTime;

#[async_trait]
impl SignInStore for MemoryStore {
    async fn insert_email_code(&self, code: &EmailCodeRecord) -> StoreResult<()> {
        self.with(|s| {
            let id = s.next_id();
            s.email_codes.insert(id, EmailCodeRecord { id, ..code.clone() });
            Ok(())
        })
    }

    async fn latest_email_code(&self, session_id: i64, email: &str) -> StoreResult<Option<EmailCodeRecord>> {
        self.with(|s| {
            Ok(s.email_codes.values().rev().find(|c| c.session_id == session_id && c.email == email).cloned())
        })
    }

    async fn count_email_codes_since(&self, email: &str, since: OffsetDateTime) -> StoreResult<u64> {
        self.with(|s| Ok(s.email_codes.values().filter(|c| c.email == email && c.created_at >= since).count() as u64))
    }

    async fn email_code_times(
        &self,
        email: &str,
        ip: Option<String>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        self.with(|s| {
            let mut times: Vec<OffsetDateTime> = s
                .email_codes
                .values()
                .filter(|c| c.email == email && c.created_at >= since)
                .filter(|c| ip.is_none() || c.requested_ip == ip)
                .map(|c| c.created_at)
                .collect();
            times.sort();
            Ok(times)
        })
    }

    async fn email_verified_from(&self, email: &str, ip: &str, since: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.email_codes.values().any(|c| {
                c.email == email && c.requested_ip.as_deref() == Some(ip) && c.consumed_at.is_some_and(|t| t >= since)
            }))
        })
    }

    async fn spend_rate_budget(
        &self,
        bucket: &str,
        now_ms: i64,
        interval_ms: i64,
        burst: u32,
    ) -> StoreResult<BudgetSpend> {
        // GCRA on the bucket's theoretical arrival time `tat`, exactly as SeaStore's upsert.
        let interval = interval_ms.max(1);
        let horizon = now_ms + interval * i64::from(burst.max(1));
        self.with(|s| {
            let tat = s.rate_budgets.get(bucket).copied();
            let next = tat.map_or(now_ms, |t| t.max(now_ms)) + interval;
            // A new bucket starts full: its first spend is always allowed.
            if tat.is_none() || next <= horizon {
                s.rate_budgets.insert(bucket.to_owned(), next);
                let remaining = ((horizon - next) / interval).clamp(0, i64::from(u32::MAX));
                return Ok(BudgetSpend::Allowed { remaining: u32::try_from(remaining).unwrap_or(0) });
            }
            let retry_after_ms = (next - horizon).max(1);
            Ok(BudgetSpend::Denied { retry_after_ms: u64::try_from(retry_after_ms).unwrap_or(1) })
        })
    }

    async fn purge_rate_budgets(&self, now_ms: i64) -> StoreResult<u64> {
        self.with(|s| {
            let before = s.rate_budgets.len();
            s.rate_budgets.retain(|_, tat| *tat > now_ms);
            Ok((before - s.rate_budgets.len()) as u64)
        })
    }

    async fn spend_email_attempt(&self, code_id: i64, max_attempts: i32) -> StoreResult<bool> {
        self.with(|s| {
            let Some(c) = s.email_codes.get_mut(&code_id) else { return Ok(false) };
            if c.attempts >= max_attempts || c.consumed_at.is_some() {
                return Ok(false);
            }
            c.attempts += 1;
            Ok(true)
        })
    }

    async fn consume_email_code(&self, code_id: i64, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            let Some(c) = s.email_codes.get_mut(&code_id) else { return Ok(false) };
            if c.consumed_at.is_some() {
                return Ok(false);
            }
            c.consumed_at = Some(now);
            Ok(true)
        })
    }

    async fn sign_in_email_user(&self, session_id: i64, user: &NewEmailUser) -> StoreResult<Option<UserId>> {
        self.with(|s| {
            if s.open_session(session_id).is_none_or(|l| l.user_id.is_some()) {
                return Ok(None);
            }
            let existing = s.users.values().find(|u| u.record.email.as_deref() == Some(user.email.as_str()));
            let user_id = match existing {
                Some(found) => found.record.id.clone(),
                None => {
                    s.insert_user_with_workspace(
                        &user.user_id,
                        Some(&user.email),
                        &user.workspace_id,
                        &user.workspace_name,
                        user.created_at,
                    )?;
                    user.user_id.clone()
                }
            };
            if let Some(l) = s.open_session(session_id) {
                l.user_id = Some(user_id.clone());
            }
            Ok(Some(user_id))
        })
    }
}
