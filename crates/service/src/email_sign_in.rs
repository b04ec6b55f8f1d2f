//! Email sign-in: 6-digit codes, stored as keyed digests, 10 minutes, 5 attempts, throttled.

use crate::audit::{AuditKind, Outcome};
use crate::service::{refusal_error, store_error, Service};
use crate::widget::Resolved;
use kc_api::*;
use kc_domain::{TokenRefusal, UserId, WorkspaceId};
use kc_store::{EmailCodeRecord, NewEmailUser};
use time::Duration;

/// A code lives this long.
const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Wrong guesses allowed per code.
const MAX_ATTEMPTS: i32 = 5;
/// Minimum spacing of codes for one address in one session.
const RESEND_AFTER: Duration = Duration::seconds(30);
/// Codes one address may receive per hour, across sessions.
const MAX_CODES_PER_HOUR: u64 = 5;

/// Lower-cases and checks an email address (a pragmatic check: the code proves the rest).
fn normalize_email(raw: &str) -> Result<String, ApiError> {
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

    fn random_code(&self) -> String {
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
        let Resolved { session, client } = r;
        if session.user_id.is_some() {
            return Err(ApiError::invalid_request("This session already has a signed-in user"));
        }
        let email = normalize_email(&req.email)?;
        let now = self.now();
        let store = &self.ports.store;
        if let Some(last) = store.latest_email_code(session.id, &email).await.map_err(store_error)? {
            if now < last.created_at + RESEND_AFTER {
                return Err(ApiError::new(
                    ErrorCode::RateLimited,
                    "A code was just sent; wait a few seconds before asking again",
                ));
            }
        }
        let recent = store.count_email_codes_since(&email, now - Duration::hours(1)).await.map_err(store_error)?;
        if recent >= MAX_CODES_PER_HOUR {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "Too many codes requested for this address; try again later",
            ));
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
        let Resolved { session, client } = r;
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
    use super::normalize_email;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(normalize_email(" Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        for bad in ["", "ada", "@example.com", "ada@", "ada@example", "a b@example.com", "a@b@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
