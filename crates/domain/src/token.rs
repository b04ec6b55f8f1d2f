//! Bearer tokens: generation, parsing by prefix, and the digest stored at rest.

use crate::rng::{random_urlsafe, SecretRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// Bytes of entropy in every generated token (256 bits).
const TOKEN_ENTROPY_BYTES: usize = 32;
/// Length of the URL-safe body of a generated token.
const TOKEN_BODY_LEN: usize = 43;

/// The kinds of bearer token, each with its own prefix (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `link_…`: opens the widget; dead once the widget completes.
    Link,
    /// `public_…`: exchanged exactly once for an access token.
    Public,
    /// `cat_…`: the long-lived Data API bearer token.
    Access,
}

impl TokenKind {
    /// The prefix every token of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Link => "link_",
            Self::Public => "public_",
            Self::Access => "cat_",
        }
    }
}

/// A token string did not have the shape of its kind (wrong prefix, length or alphabet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed {kind:?} token")]
pub struct MalformedToken {
    /// The kind that was expected.
    pub kind: TokenKind,
}

/// A plaintext token. It exists only between generation and the response, or
/// between the request and hashing; it is never stored, logged or `Debug`-printed.
#[derive(Clone)]
pub struct PlainToken {
    kind: TokenKind,
    value: SecretString,
}

impl PlainToken {
    /// A new token of `kind` with 256 bits from `rng`.
    pub fn generate(kind: TokenKind, rng: &dyn SecretRng) -> Self {
        let value = format!("{}{}", kind.prefix(), random_urlsafe(rng, TOKEN_ENTROPY_BYTES));
        Self { kind, value: value.into() }
    }

    /// Accepts `raw` as a token of `kind` if it has that kind's exact shape;
    /// anything else is rejected before any lookup.
    pub fn parse(kind: TokenKind, raw: &str) -> Result<Self, MalformedToken> {
        let body = raw.strip_prefix(kind.prefix()).ok_or(MalformedToken { kind })?;
        let well_formed =
            body.len() == TOKEN_BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(MalformedToken { kind });
        }
        Ok(Self { kind, value: raw.to_owned().into() })
    }

    /// The kind of this token.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The plaintext, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// The digest under which the token is stored and looked up.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.expose())
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainToken({}[REDACTED])", self.kind.prefix())
    }
}

/// The hex SHA-256 digest of a token: the only form in which tokens are stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest(String);

impl TokenDigest {
    /// Digest of a plaintext token.
    pub fn of(plain: &str) -> Self {
        Self(hex::encode(Sha256::digest(plain.as_bytes())))
    }

    /// Wraps a digest read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex form, for storage and lookup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits are enough to correlate, too few to matter.
        write!(f, "TokenDigest({}…)", &self.0[..self.0.len().min(8)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;

    #[test]
    fn generated_tokens_carry_their_prefix_and_parse_back() {
        for kind in [TokenKind::Link, TokenKind::Public, TokenKind::Access] {
            let t = PlainToken::generate(kind, &OsSecretRng);
            assert!(t.expose().starts_with(kind.prefix()));
            let parsed = PlainToken::parse(kind, t.expose()).expect("parses");
            assert_eq!(parsed.digest(), t.digest());
        }
    }

    #[test]
    fn a_token_of_another_kind_or_shape_is_malformed() {
        let access = PlainToken::generate(TokenKind::Access, &OsSecretRng);
        assert!(PlainToken::parse(TokenKind::Public, access.expose()).is_err());
        assert!(PlainToken::parse(TokenKind::Public, "public_short").is_err());
        let bad_alphabet = format!("public_{}", "!".repeat(TOKEN_BODY_LEN));
        assert!(PlainToken::parse(TokenKind::Public, &bad_alphabet).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let t = PlainToken::generate(TokenKind::Access, &OsSecretRng);
        assert!(!format!("{t:?}").contains(&t.expose()[4..]));
    }

    #[test]
    fn two_tokens_differ() {
        let a = PlainToken::generate(TokenKind::Link, &OsSecretRng);
        let b = PlainToken::generate(TokenKind::Link, &OsSecretRng);
        assert_ne!(a.expose(), b.expose());
    }
}
