//! Console sign-in by emailed code and console sessions.
//!
//! Codes follow the widget's rules and throttles ([`crate::email_sign_in`]): six digits, stored
//! as keyed digests, 10 minutes, 5 guesses, at most a few per (address, IP) and per address in
//! a short window — an IP that verified the address recently is exempt from the per-address
//! cap, so a stranger cannot lock the owner out. Sessions are random tokens kept as digests,
//! with an idle and an absolute timeout; the CSRF token is an HMAC of the session digest.

use super::Principal;
use crate::email_sign_in::{
    normalize_email, rate_limited, wait_for_window, CODES_PER_ADDRESS, CODES_PER_ADDRESS_AND_IP, CODE_LIFETIME,
    CODE_WINDOW, MAX_ATTEMPTS, OWNER_MEMORY, RESEND_AFTER,
};
use crate::service::store_error;
use crate::Service;
use kc_api::{AdminCaller, ApiError, ApiResult, ConsoleSessionOpened, ErrorCode, RequestMeta};
use kc_domain::TokenDigest;
use kc_ports::{ConsoleCodeRecord, ConsoleSessionRecord};
use secrecy::SecretString;
use time::Duration;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// The prefix of console session tokens.
const SESSION_PREFIX: &str = "kccs_";

fn code_input(email: &str, code: &str) -> String {
    format!("console-code:{email}:{code}")
}

fn csrf_input(session_digest: &str) -> String {
    format!("console-csrf:{session_digest}")
}

impl Service {
    /// Sends a console sign-in code to `email`.
    pub(crate) async fn console_start(&self, meta: &RequestMeta, email: &str) -> ApiResult<()> {
        let email = normalize_email(email)?;
        let store = self.console_store()?;
        let now = self.now();
        let ip = meta.ip.map(|ip| ip.to_string());
        let last = store.latest_console_code(&email).await.map_err(store_error)?;
        if let Some(last) = &last {
            if now < last.created_at + RESEND_AFTER && last.requested_ip == ip {
                return Err(rate_limited(
                    "A code was just sent; wait a few seconds before asking again",
                    last.created_at + RESEND_AFTER - now,
                ));
            }
        }
        let since = now - CODE_WINDOW;
        if let Some(ip) = &ip {
            let mine = store.console_code_times(&email, Some(ip.clone()), since).await.map_err(store_error)?;
            if let Some(wait) = wait_for_window(&mine, CODES_PER_ADDRESS_AND_IP, CODE_WINDOW, now) {
                return Err(rate_limited("Too many codes requested for this address from here", wait));
            }
        }
        let owner = match &ip {
            Some(ip) => store.console_verified_from(&email, ip, now - OWNER_MEMORY).await.map_err(store_error)?,
            None => false,
        };
        if !owner {
            let all = store.console_code_times(&email, None, since).await.map_err(store_error)?;
            if let Some(wait) = wait_for_window(&all, CODES_PER_ADDRESS, CODE_WINDOW, now) {
                tracing::warn!("console sign-in: per-address code cap reached");
                return Err(rate_limited("Too many codes requested for this address", wait));
            }
        }
        let code = self.random_code();
        store
            .insert_console_code(&ConsoleCodeRecord {
                id: 0,
                email: email.clone(),
                code_digest: self.ports.pepper.digest_text(&code_input(&email, &code)),
                created_at: now,
                expires_at: now + CODE_LIFETIME,
                attempts: 0,
                consumed_at: None,
                requested_ip: ip,
            })
            .await
            .map_err(store_error)?;
        let subject = format!("{code} is your Kryptos Connect console code");
        let body = format!(
            "Your code to sign in to the Kryptos Connect developer console is:\n\n    {code}\n\n\
             It expires in 10 minutes. If you did not ask for it, ignore this message.\n"
        );
        if let Err(e) = self.ports.mailer.send_message(&email, &subject, &body).await {
            tracing::error!(error = %e, "could not send a console sign-in code");
            return Err(ApiError::new(ErrorCode::ServiceUnavailable, "The code could not be sent; try again shortly"));
        }
        self.console_audit(meta, None, "sign-in code sent").await;
        Ok(())
    }

    /// Checks a console sign-in code and opens a session.
    pub(crate) async fn console_verify(
        &self,
        meta: &RequestMeta,
        email: &str,
        code: &str,
    ) -> ApiResult<ConsoleSessionOpened> {
        let email = normalize_email(email)?;
        let code = code.trim();
        let store = self.console_store()?;
        let now = self.now();
        let refuse = |m: &str| ApiError::invalid_request(m.to_owned());
        let Some(record) = store.latest_console_code(&email).await.map_err(store_error)? else {
            return Err(refuse("No code was sent to this address; request a new one"));
        };
        if record.consumed_at.is_some() {
            return Err(refuse("This code was already used; request a new one"));
        }
        if now >= record.expires_at {
            return Err(refuse("This code has expired; request a new one"));
        }
        if !store.spend_console_code_attempt(record.id, MAX_ATTEMPTS).await.map_err(store_error)? {
            self.console_audit(meta, None, "sign-in refused: attempts exhausted").await;
            return Err(refuse("Too many wrong codes; request a new one"));
        }
        let matches = code.len() == 6
            && code.bytes().all(|b| b.is_ascii_digit())
            && self.ports.pepper.verify_text(&code_input(&email, code), &record.code_digest);
        if !matches {
            self.console_audit(meta, None, "sign-in refused: wrong code").await;
            let left = MAX_ATTEMPTS - record.attempts - 1;
            return Err(refuse(&if left > 0 {
                format!("That code is not right; {left} attempt(s) left")
            } else {
                "That code is not right; request a new one".to_owned()
            }));
        }
        if !store.consume_console_code(record.id, now).await.map_err(store_error)? {
            return Err(refuse("This code was already used; request a new one"));
        }
        let new_id = format!("cu_{}", super::random_hex(self.ports.rng.as_ref(), 8));
        let user = store.upsert_console_user(&email, &new_id, now).await.map_err(store_error)?;
        let token = format!("{SESSION_PREFIX}{}", super::random_hex(self.ports.rng.as_ref(), 32));
        store
            .insert_console_session(&ConsoleSessionRecord {
                digest: TokenDigest::of(&token).as_str().to_owned(),
                user_id: user.id.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + ABSOLUTE_TIMEOUT,
                revoked_at: None,
            })
            .await
            .map_err(store_error)?;
        self.console_audit(meta, Some(user.id), "signed in").await;
        Ok(ConsoleSessionOpened { token: SecretString::from(token), max_age_secs: ABSOLUTE_TIMEOUT.whole_seconds() })
    }

    /// Authenticates a console session (idle and absolute timeouts).
    pub(crate) async fn session_principal(&self, caller: &AdminCaller) -> Result<Principal, ApiError> {
        let expired = || ApiError::new(ErrorCode::InvalidToken, "Your console session has ended; sign in again");
        let raw = caller.credential.expose().unwrap_or_default();
        if !raw.starts_with(SESSION_PREFIX) {
            return Err(expired());
        }
        let store = self.console_store()?;
        let digest = TokenDigest::of(raw);
        let Some(s) = store.find_console_session(digest.as_str()).await.map_err(store_error)? else {
            return Err(expired());
        };
        let now = self.now();
        if s.revoked_at.is_some() || now >= s.expires_at || now >= s.last_seen_at + IDLE_TIMEOUT {
            return Err(expired());
        }
        let Some(user) = store.find_console_user(&s.user_id).await.map_err(store_error)? else {
            return Err(expired());
        };
        if now - s.last_seen_at > Duration::seconds(30) {
            store.touch_console_session(&s.digest, now).await.map_err(store_error)?;
        }
        let csrf = self.ports.pepper.digest_text(&csrf_input(&s.digest));
        Ok(Principal::User { user, csrf })
    }

    /// Ends the caller's console session.
    pub(crate) async fn console_end(&self, caller: &AdminCaller) -> ApiResult<()> {
        let p = self.principal(caller, true).await?;
        let raw = caller.credential.expose().unwrap_or_default();
        self.console_store()?
            .revoke_console_session(TokenDigest::of(raw).as_str(), self.now())
            .await
            .map_err(store_error)?;
        self.console_audit(&caller.meta, Some(p.actor_id().to_owned()), "signed out").await;
        Ok(())
    }

    pub(crate) async fn console_audit(&self, meta: &RequestMeta, user: Option<String>, what: &str) {
        let outcome =
            if what.contains("refused") { crate::audit::Outcome::Failure } else { crate::audit::Outcome::Success };
        self.audit(crate::audit::AuditKind::ConsoleAuth, outcome, meta, |e| {
            e.user_id = user;
            e.detail = Some(what.to_owned());
        })
        .await;
    }
}
