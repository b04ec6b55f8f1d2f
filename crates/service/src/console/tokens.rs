//! Operator API tokens: `kcop_…`, created from the command line, stored as SHA-256 digests,
//! scoped, expiring, optionally limited to one organisation.

use super::{Principal, ADMIN_SCOPES_DOC};
use crate::admin::AdminError;
use crate::service::store_error;
use crate::Service;
use kc_api::{AdminCaller, ApiError, ErrorCode};
use kc_domain::TokenDigest;
use kc_ports::OperatorTokenRecord;
use time::{Duration, OffsetDateTime};

/// Every scope an operator token may carry.
pub const ADMIN_SCOPES: [&str; 8] = [
    "clients:read",
    "clients:write",
    "webhooks:read",
    "webhooks:write",
    "grants:read",
    "grants:write",
    "audit:read",
    "members:write",
];

/// The prefix of operator tokens.
const TOKEN_PREFIX: &str = "kcop_";
/// The longest lifetime a token may be given.
const MAX_LIFETIME: Duration = Duration::days(366);

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewOperatorToken {
    /// A label for people (1–100 characters).
    pub name: String,
    /// Scopes (space- or comma-separated, repeatable); `*` means every scope.
    pub scopes: Vec<String>,
    /// Lifetime (at most 366 days).
    pub expires_in: Duration,
    /// Limit the token to this organisation's clients.
    pub org: Option<String>,
}

fn parse_scopes(raw: &[String]) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.iter().flat_map(|s| s.split([' ', ','])).map(str::trim).filter(|s| !s.is_empty()) {
        if s == "*" {
            return Ok(ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        }
        if !ADMIN_SCOPES.contains(&s) {
            return Err(AdminError::Invalid(format!("unknown scope `{s}`; known scopes: {ADMIN_SCOPES_DOC}")));
        }
        if !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    }
    if out.is_empty() {
        return Err(AdminError::Invalid(format!("give at least one --scope ({ADMIN_SCOPES_DOC}, or *)")));
    }
    Ok(out)
}

/// Parses a lifetime such as `90d`, `12h`, `30m`.
pub fn parse_lifetime(raw: &str) -> Result<Duration, AdminError> {
    let raw = raw.trim();
    let bad = || AdminError::Invalid(format!("expiry `{raw}` must look like 90d, 12h or 30m"));
    let (num, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "d" => Duration::days(n),
        "h" => Duration::hours(n),
        "m" => Duration::minutes(n),
        _ => return Err(bad()),
    };
    if d <= Duration::ZERO {
        return Err(bad());
    }
    Ok(d)
}

impl Service {
    /// Creates an operator token; the token is returned this once only (stored as a digest).
    pub async fn create_operator_token(
        &self,
        new: NewOperatorToken,
    ) -> Result<(OperatorTokenRecord, String), AdminError> {
        let name = new.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AdminError::Invalid("name must be 1 to 100 characters".into()));
        }
        let scopes = parse_scopes(&new.scopes)?;
        if new.expires_in > MAX_LIFETIME || new.expires_in <= Duration::ZERO {
            return Err(AdminError::Invalid("a token lives at most 366 days".into()));
        }
        let store = self.console_store_admin()?;
        if let Some(org) = &new.org {
            if store.find_org(org).await?.is_none() {
                return Err(AdminError::Invalid(format!("no organisation {org}")));
            }
        }
        let now = self.now();
        let token = format!("{TOKEN_PREFIX}{}", super::random_hex(self.ports.rng.as_ref(), 32));
        let record = OperatorTokenRecord {
            id: format!("op_{}", super::random_hex(self.ports.rng.as_ref(), 8)),
            name: name.to_owned(),
            digest: TokenDigest::of(&token).as_str().to_owned(),
            scopes: scopes.join(" "),
            org_id: new.org,
            created_at: now,
            expires_at: now + new.expires_in,
            revoked_at: None,
            last_used_at: None,
        };
        store.insert_operator_token(&record).await?;
        self.operator_audit(&record.id, &format!("operator token {} created ({})", record.id, record.scopes)).await;
        Ok((record, token))
    }

    /// Every operator token, newest first (digests only).
    pub async fn operator_tokens(&self) -> Result<Vec<OperatorTokenRecord>, AdminError> {
        Ok(self.console_store_admin()?.list_operator_tokens().await?)
    }

    /// Revokes an operator token at once.
    pub async fn revoke_operator_token(&self, id: &str) -> Result<(), AdminError> {
        if !self.console_store_admin()?.revoke_operator_token(id, self.now()).await? {
            return Err(AdminError::Invalid(format!("no live operator token {id}")));
        }
        self.operator_audit(id, &format!("operator token {id} revoked")).await;
        Ok(())
    }

    /// Makes the console user with `email` a platform operator (or not).
    pub async fn set_console_operator(&self, email: &str, operator: bool) -> Result<(), AdminError> {
        let email = crate::email_sign_in::normalize_email(email).map_err(|e| AdminError::Invalid(e.message))?;
        let id = format!("cu_{}", super::random_hex(self.ports.rng.as_ref(), 8));
        let user = self.console_store_admin()?.set_console_operator(&email, operator, &id, self.now()).await?;
        let what = if operator { "granted" } else { "withdrawn" };
        self.operator_audit(&user.id, &format!("platform operator role {what} for {email}")).await;
        Ok(())
    }

    async fn operator_audit(&self, subject: &str, what: &str) {
        let meta = self.actor.as_ref().map(|a| a.meta.clone()).unwrap_or_default();
        self.audit(crate::audit::AuditKind::ClientAdmin, crate::audit::Outcome::Success, &meta, |e| {
            e.user_id = Some(self.actor.as_ref().map_or_else(|| "cli".to_owned(), |a| a.id.clone()));
            e.detail = Some(format!("{what} [{subject}]"));
        })
        .await;
    }

    /// Authenticates an operator token.
    pub(crate) async fn token_principal(&self, caller: &AdminCaller) -> Result<Principal, ApiError> {
        let invalid = || ApiError::new(ErrorCode::InvalidToken, "Invalid, expired or revoked operator token");
        let raw = caller.credential.expose().unwrap_or_default();
        if !raw.starts_with(TOKEN_PREFIX) || raw.len() != TOKEN_PREFIX.len() + 64 {
            return Err(invalid());
        }
        let store = self.console_store()?;
        let digest = TokenDigest::of(raw);
        let Some(t) = store.find_operator_token(digest.as_str()).await.map_err(store_error)? else {
            return Err(invalid());
        };
        let now: OffsetDateTime = self.now();
        if t.revoked_at.is_some() || now >= t.expires_at {
            return Err(invalid());
        }
        if t.last_used_at.is_none_or(|u| now - u > Duration::minutes(1)) {
            store.touch_operator_token(&t.id, now).await.map_err(store_error)?;
        }
        Ok(Principal::Token {
            id: t.id,
            name: t.name,
            scopes: t.scopes.split(' ').map(str::to_owned).collect(),
            org: t.org_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_deduplicated_and_star_means_all() {
        let s = parse_scopes(&["clients:read,clients:write".into(), "clients:read".into()]).expect("valid");
        assert_eq!(s, vec!["clients:read", "clients:write"]);
        assert_eq!(parse_scopes(&["*".into()]).expect("all").len(), ADMIN_SCOPES.len());
        assert!(parse_scopes(&["root".into()]).is_err());
        assert!(parse_scopes(&[]).is_err());
    }

    #[test]
    fn lifetimes_parse_days_hours_minutes() {
        assert_eq!(parse_lifetime("90d").expect("d"), Duration::days(90));
        assert_eq!(parse_lifetime("12h").expect("h"), Duration::hours(12));
        assert_eq!(parse_lifetime("30m").expect("m"), Duration::minutes(30));
        for bad in ["", "d", "0d", "-1d", "5y", "1.5d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
