//! Scopes: space-separated permission strings (SPEC §3).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The scopes a new client is allowed by default, in the documented order.
pub const DEFAULT_CLIENT_SCOPES: &str = "openid profile offline_access email portfolios:read transactions:read integrations:read tax:read accounting:read reports:read workspace:read users:read";

const CORE_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const RESOURCES: [&str; 11] = [
    "portfolios",
    "transactions",
    "balances",
    "integrations",
    "defi",
    "nft",
    "tax",
    "accounting",
    "reports",
    "workspace",
    "users",
];

/// A scope string was unknown, or not allowed where it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The scope is not one the system knows.
    #[error("unknown scope `{0}`")]
    Unknown(String),
    /// The scope is known but the client may not request it.
    #[error("scope `{0}` is not allowed for this client")]
    NotAllowed(String),
    /// No scope was given.
    #[error("at least one scope is required")]
    Empty,
}

fn is_known(scope: &str) -> bool {
    if CORE_SCOPES.contains(&scope) {
        return true;
    }
    match scope.split_once(':') {
        Some((resource, access)) => RESOURCES.contains(&resource) && (access == "read" || access == "write"),
        None => false,
    }
}

/// A set of known scopes, kept in first-seen order for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet {
    ordered: Vec<String>,
}

impl ScopeSet {
    /// The default client scopes.
    pub fn default_client() -> Self {
        DEFAULT_CLIENT_SCOPES.parse().unwrap_or_else(|_| Self { ordered: Vec::new() })
    }

    /// Whether `scope` is in the set.
    pub fn contains_str(&self, scope: &str) -> bool {
        self.ordered.iter().any(|s| s == scope)
    }

    /// Whether every scope of `self` is in `allowed`; the first that is not is the error.
    pub fn ensure_within(&self, allowed: &ScopeSet) -> Result<(), ScopeError> {
        match self.ordered.iter().find(|s| !allowed.contains_str(s)) {
            Some(s) => Err(ScopeError::NotAllowed(s.clone())),
            None => Ok(()),
        }
    }

    /// The scopes of `self` that `granted` lacks, in `self`'s order (empty when `self` is within `granted`).
    pub fn missing_from(&self, granted: &ScopeSet) -> ScopeSet {
        Self { ordered: self.ordered.iter().filter(|s| !granted.contains_str(s)).cloned().collect() }
    }

    /// `self` followed by the scopes of `more` it lacks.
    pub fn union(&self, more: &ScopeSet) -> ScopeSet {
        let mut ordered = self.ordered.clone();
        ordered.extend(more.missing_from(self).ordered);
        Self { ordered }
    }

    /// The scopes in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.ordered.iter().map(String::as_str)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }

    /// Builds a set from scopes known to be valid (e.g. read from storage).
    pub fn from_stored(s: &str) -> Self {
        let mut seen = BTreeSet::new();
        let ordered = s.split_whitespace().filter(|s| seen.insert(s.to_string())).map(str::to_owned).collect();
        Self { ordered }
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;

    /// Parses a space-separated list; duplicates collapse; unknown scopes fail.
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        let set = Self::from_stored(s);
        if set.is_empty() {
            return Err(ScopeError::Empty);
        }
        if let Some(unknown) = set.ordered.iter().find(|s| !is_known(s)) {
            return Err(ScopeError::Unknown(unknown.clone()));
        }
        Ok(set)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ordered.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scopes_are_all_known() {
        let set: ScopeSet = DEFAULT_CLIENT_SCOPES.parse().expect("defaults parse");
        assert_eq!(set.to_string(), DEFAULT_CLIENT_SCOPES);
    }

    #[test]
    fn unknown_scopes_are_rejected_by_name() {
        assert_eq!("openid wallet:read".parse::<ScopeSet>(), Err(ScopeError::Unknown("wallet:read".into())));
        assert_eq!("nft:delete".parse::<ScopeSet>(), Err(ScopeError::Unknown("nft:delete".into())));
        assert_eq!("   ".parse::<ScopeSet>(), Err(ScopeError::Empty));
    }

    #[test]
    fn a_scope_outside_the_allowed_set_is_not_allowed() {
        let allowed = ScopeSet::default_client();
        let asked: ScopeSet = "openid nft:write".parse().expect("known");
        assert_eq!(asked.ensure_within(&allowed), Err(ScopeError::NotAllowed("nft:write".into())));
    }

    #[test]
    fn missing_scopes_and_unions_keep_the_order() {
        let granted: ScopeSet = "openid users:read".parse().expect("known");
        let asked: ScopeSet = "portfolios:read openid integrations:read".parse().expect("known");
        assert_eq!(asked.missing_from(&granted).to_string(), "portfolios:read integrations:read");
        assert!(granted.missing_from(&asked.union(&granted)).is_empty());
        assert_eq!(granted.union(&asked).to_string(), "openid users:read portfolios:read integrations:read");
        assert_eq!(granted.union(&granted), granted);
    }

    #[test]
    fn duplicates_collapse_and_order_is_kept() {
        let s: ScopeSet = "email openid email".parse().expect("parses");
        assert_eq!(s.to_string(), "email openid");
    }
}
