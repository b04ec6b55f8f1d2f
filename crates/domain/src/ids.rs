//! Identifier newtypes. Ids are not secrets: each is always used together with
//! client credentials or a token.

use crate::rng::{random_urlsafe, SecretRng};
use std::fmt;

/// An identifier string did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}")]
pub struct IdError {
    /// What kind of id was expected.
    pub what: &'static str,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps an id read back from storage (trusted).
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                if Self::is_well_formed(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { what: $what })
                }
            }
        }
    };
}

string_id!(
    /// A registered client application: `kc_` followed by 22 URL-safe characters.
    ClientId,
    "client id"
);
string_id!(
    /// A grant: `cgrant_` followed by 32 URL-safe characters.
    GrantId,
    "grant id"
);
string_id!(
    /// An end user (a UUID).
    UserId,
    "user id"
);
string_id!(
    /// A workspace (a UUID).
    WorkspaceId,
    "workspace id"
);

fn prefixed_well_formed(s: &str, prefix: &str, len: usize) -> bool {
    s.strip_prefix(prefix).is_some_and(|body| {
        body.len() == len && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

impl ClientId {
    /// A fresh client id.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(format!("kc_{}", random_urlsafe(rng, 16)))
    }
    fn is_well_formed(s: &str) -> bool {
        prefixed_well_formed(s, "kc_", 22)
    }
}

impl GrantId {
    /// A fresh grant id.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(format!("cgrant_{}", random_urlsafe(rng, 24)))
    }
    fn is_well_formed(s: &str) -> bool {
        prefixed_well_formed(s, "cgrant_", 32)
    }
}

fn random_uuid(rng: &dyn SecretRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

impl UserId {
    /// A fresh user id.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(random_uuid(rng))
    }
    fn is_well_formed(s: &str) -> bool {
        uuid::Uuid::try_parse(s).is_ok()
    }
}

impl WorkspaceId {
    /// A fresh workspace id.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(random_uuid(rng))
    }
    fn is_well_formed(s: &str) -> bool {
        uuid::Uuid::try_parse(s).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;

    #[test]
    fn generated_ids_parse_back() {
        let c = ClientId::generate(&OsSecretRng);
        assert_eq!(c.as_str().parse::<ClientId>(), Ok(c.clone()));
        let g = GrantId::generate(&OsSecretRng);
        assert_eq!(g.as_str().parse::<GrantId>(), Ok(g.clone()));
        let u = UserId::generate(&OsSecretRng);
        assert_eq!(u.as_str().parse::<UserId>(), Ok(u.clone()));
    }

    #[test]
    fn foreign_shapes_are_rejected() {
        assert!("cgrant_x".parse::<GrantId>().is_err());
        assert!("kc_' OR 1=1 --".parse::<ClientId>().is_err());
        assert!("not-a-uuid".parse::<WorkspaceId>().is_err());
    }
}
