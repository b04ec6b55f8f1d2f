//! Email sign-in: 6-digit codes, stored as keyed digests, 10 minutes, 5 attempts, throttled.

use crate::audit::{AuditKind, Outcome};
use crate::service::{refusal_error, store_error, Service};
use crate::widget::Resolved;
use kc_api::*;
use kc_domain::{TokenRefusal, UserId, WorkspaceId};
use kc_ports::{EmailCodeRecord, NewEmailUser};
use time::{Duration, OffsetDateTime};

/// A code lives this long.
pub(crate) const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Wrong guesses allowed per code.
pub(crate) const MAX_ATTEMPTS: i32 = 5;
/// Minimum spacing of codes for one address in one session.
pub(crate) const RESEND_AFTER: Duration = Duration::seconds(30);
/// The window of the per-address throttles below: short, so that nobody can keep an address
/// locked out for long.
pub(crate) const CODE_WINDOW: Duration = Duration::minutes(15);
/// Codes one address may receive per [`CODE_WINDOW`] from one client IP.
pub(crate) const CODES_PER_ADDRESS_AND_IP: usize = 5;
/// Codes one address may receive per [`CODE_WINDOW`] from all IPs together. A resend within a
/// session that already received a code, and any request from an IP that verified the address
/// within [`OWNER_MEMORY`], are exempt: a stranger filling this cap cannot lock the owner out.
pub(crate) const CODES_PER_ADDRESS: usize = 10;
/// How long a successful verification from an IP marks that IP as the address owner's.
pub(crate) const OWNER_MEMORY: Duration = Duration::days(30);

/// How long until a count limit of `limit` per `window` admits one more, given the send times
/// in the window (oldest first); `None` if it admits one now.
pub(crate) fn wait_for_window(
    times: &[OffsetDateTime],
    limit: usize,
    window: Duration,
    now: OffsetDateTime,
) -> Option<Duration> {
    if times.len() < limit {
        return None;
    }
    let frees_at = times[times.len() - limit] + window;
    (frees_at > now).then(|| frees_at - now)
}

pub(crate) fn rate_limited(message: &str, wait: Duration) -> ApiError {
    let wait = std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::rate_limited(format!("{message}; try again in {} s", secs.max(1)), wait)
}

/// Lower-cases and checks an email address (a pragmatic check: the code proves the rest).
pub(crate) fn normalize_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_ascii_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.matches('@').count() == 1
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::invalid_request("Enter a valid email address"))
    }
}

fn code_digest_input(session_id: i64, email: &str, code: &str) -> String {
    format!("email-code:{session_id}:{email}:{code}")
}

impl Service {
    fn email_enabled(&self) -> Result<(), ApiError> {
        if self.ports.auth_methods.iter().any(|m| m == "email") {
            Ok(())
        } else {
            Err(ApiError::invalid_request("Email sign-in is not enabled on this server"))
        }
    }

    pub(crate) fn random_code(&self) -> String {
        // Rejection sampling keeps the six digits uniform.
        loop {
            let mut b = [0u8; 4];
            self.ports.rng.fill(&mut b);
            let n = u32::from_le_bytes(b);
            if n < 4_294_000_000 {
                return format!("{:06}", n % 1_000_000);
            }
        }
    }

    pub(crate) async fn start_email(
        &self,
        r: Resolved,
        meta: &RequestMeta,
        req: EmailStartRequest,
    ) -> ApiResult<EmailStartResponse> {
        self.email_enabled()?;
        let Resolved { session, client, .. } = r;
        if session.user_id.is_some() {
            return Err(ApiError::invalid_request("This session already has a signed-in user"));
        }
        let email = normalize_email(&req.email)?;
        let now = self.now();
        let store = &self.ports.store;
        let ip = meta.ip.map(|ip| ip.to_string());
        let last = store.latest_email_code(session.id, &email).await.map_err(store_error)?;
        if let Some(last) = &last {
            if now < last.created_at + RESEND_AFTER {
                return Err(rate_limited(
                    "A code was just sent; wait a few seconds before asking again",
                    last.created_at + RESEND_AFTER - now,
                ));
            }
        }
        let since = now - CODE_WINDOW;
        if let Some(ip) = &ip {
            let mine = store.email_code_times(&email, Some(ip.clone()), since).await.map_err(store_error)?;
            if let Some(wait) = wait_for_window(&mine, CODES_PER_ADDRESS_AND_IP, CODE_WINDOW, now) {
                return Err(rate_limited("Too many codes requested for this address from here", wait));
            }
        }
        let resend = last.is_some();
        let owner = match &ip {
            Some(ip) => store.email_verified_from(&email, ip, now - OWNER_MEMORY).await.map_err(store_error)?,
            None => false,
        };
        if !resend && !owner {
            let all = store.email_code_times(&email, None, since).await.map_err(store_error)?;
            if let Some(wait) = wait_for_window(&all, CODES_PER_ADDRESS, CODE_WINDOW, now) {
                tracing::warn!("email sign-in: per-address code cap reached");
                return Err(rate_limited("Too many codes requested for this address", wait));
            }
        }
        let code = self.random_code();
        let record = EmailCodeRecord {
            id: 0,
            session_id: session.id,
            email: email.clone(),
            code_digest: self.ports.pepper.digest_text(&code_digest_input(session.id, &email, &code)),
            created_at: now,
            expires_at: now + CODE_LIFETIME,
            attempts: 0,
            consumed_at: None,
            requested_ip: ip,
        };
        store.insert_email_code(&record).await.map_err(store_error)?;
        if let Err(e) = self.ports.mailer.send_sign_in_code(&email, &code, &client.name).await {
            tracing::error!(error = %e, "could not send sign-in code");
            return Err(ApiError::new(ErrorCode::ServiceUnavailable, "The code could not be sent; try again shortly"));
        }
        self.audit(AuditKind::WidgetAuthEmail, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.detail = Some("code sent".into());
        })
        .await;
        Ok(EmailStartResponse {
            sent: true,
            expires_in: CODE_LIFETIME.whole_seconds(),
            resend_after: RESEND_AFTER.whole_seconds(),
        })
    }

    pub(crate) async fn verify_email(
        &self,
        r: Resolved,
        meta: &RequestMeta,
        req: EmailVerifyRequest,
    ) -> ApiResult<EmailVerifyResponse> {
        self.email_enabled()?;
        let Resolved { session, client, .. } = r;
        if session.user_id.is_some() {
            return Err(ApiError::invalid_request("This session already has a signed-in user"));
        }
        let email = normalize_email(&req.email)?;
        let code = req.code.trim();
        let store = &self.ports.store;
        let now = self.now();
        let client_id = client.id.to_string();
        let fail = |why: &'static str| {
            let client_id = client_id.clone();
            async move {
                self.audit(AuditKind::WidgetAuthEmail, Outcome::Failure, meta, |e| {
                    e.client_id = Some(client_id);
                    e.detail = Some(why.to_owned());
                })
                .await;
            }
        };
        let Some(record) = store.latest_email_code(session.id, &email).await.map_err(store_error)? else {
            return Err(ApiError::invalid_request("No code was sent to this address; request a new one"));
        };
        if record.consumed_at.is_some() {
            return Err(ApiError::invalid_request("This code was already used; request a new one"));
        }
        if now >= record.expires_at {
            fail("code expired").await;
            return Err(ApiError::invalid_request("This code has expired; request a new one"));
        }
        if !store.spend_email_attempt(record.id, MAX_ATTEMPTS).await.map_err(store_error)? {
            fail("attempts exhausted").await;
            return Err(ApiError::invalid_request("Too many wrong codes; request a new one"));
        }
        let matches = code.len() == 6
            && code.bytes().all(|b| b.is_ascii_digit())
            && self.ports.pepper.verify_text(&code_digest_input(session.id, &email, code), &record.code_digest);
        if !matches {
            fail("wrong code").await;
            let left = MAX_ATTEMPTS - record.attempts - 1;
            return Err(ApiError::invalid_request(if left > 0 {
                format!("That code is not right; {left} attempt(s) left")
            } else {
                "That code is not right; request a new one".to_owned()
            }));
        }
        if !store.consume_email_code(record.id, now).await.map_err(store_error)? {
            return Err(ApiError::invalid_request("This code was already used; request a new one"));
        }
        let new_user = NewEmailUser {
            email,
            user_id: UserId::generate(self.ports.rng.as_ref()),
            workspace_id: WorkspaceId::generate(self.ports.rng.as_ref()),
            workspace_name: "Personal workspace".to_owned(),
            created_at: now,
        };
        let user_id = store
            .sign_in_email_user(session.id, &new_user)
            .await
            .map_err(store_error)?
            .ok_or_else(|| refusal_error(TokenRefusal::AlreadyUsed, "link token"))?;
        let workspaces = store
            .memberships(&user_id)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|m| WorkspaceChoice {
                workspace_id: m.workspace.id.to_string(),
                name: m.workspace.name,
                role: m.role.as_str().to_owned(),
            })
            .collect();
        self.audit(AuditKind::WidgetAuthEmail, Outcome::Success, meta, |e| {
            e.client_id = Some(client.id.to_string());
            e.user_id = Some(user_id.to_string());
        })
        .await;
        Ok(EmailVerifyResponse { user_id: user_id.to_string(), workspaces })
    }
}

#[cfg(test)]
mod tests {
    use super::{normalize_email, wait_for_window};
    use time::{Duration, OffsetDateTime};

    #[test]
    fn a_count_window_frees_when_its_oldest_counted_send_leaves_it() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let window = Duration::minutes(15);
        let sends = [t0, t0 + Duration::minutes(1), t0 + Duration::minutes(2)];
        let now = t0 + Duration::minutes(3);
        assert_eq!(wait_for_window(&sends, 4, window, now), None, "under the limit");
        assert_eq!(wait_for_window(&sends, 3, window, now), Some(Duration::minutes(12)), "the oldest leaves first");
        assert_eq!(wait_for_window(&sends, 2, window, now), Some(Duration::minutes(13)), "then the second");
        assert_eq!(wait_for_window(&sends, 3, window, t0 + window), None, "the oldest has left");
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(normalize_email(" Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        for bad in ["", "ada", "@example.com", "ada@", "ada@example", "a b@example.com", "a@b@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
