//! OAuth 2.0 / OpenID Connect: authorization codes, refresh tokens, PKCE and the rules that
//! judge them (RFC 6749, RFC 7636, OpenID Connect Core 1.0). Pure: no I/O, time comes in.

use crate::ids::{ClientId, GrantId, UserId, WorkspaceId};
use crate::rng::{random_urlsafe, SecretRng};
use crate::scope::ScopeSet;
use crate::token::TokenDigest;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

/// Lifetimes of the OpenID Connect provider's artefacts.
pub mod oidc_lifetimes {
    use time::Duration;

    /// An authorization code lives 10 minutes (and is single-use).
    pub const AUTHORIZATION_CODE: Duration = Duration::minutes(10);
    /// A pending authorization request (the widget run behind it) lives as long as a link token.
    pub const AUTHORIZATION_REQUEST: Duration = Duration::minutes(30);
    /// A JWT access token lives 24 hours.
    pub const ACCESS_TOKEN: Duration = Duration::hours(24);
    /// An ID token lives 24 hours.
    pub const ID_TOKEN: Duration = Duration::hours(24);
    /// A refresh token lives 30 days; each use rotates it (the new one lives 30 days again).
    pub const REFRESH_TOKEN: Duration = Duration::days(30);
    /// A signing key signs for 90 days, then a new one takes over.
    pub const SIGNING_KEY_ROTATION: Duration = Duration::days(90);
    /// A replaced signing key is still published and accepted this long (longer than any token it signed lives).
    pub const SIGNING_KEY_OVERLAP: Duration = Duration::days(2);
    /// A `client_credentials` access token lives 1 hour: it belongs to no grant, so nothing
    /// revokes it early but disabling its client.
    pub const CLIENT_ACCESS_TOKEN: Duration = Duration::hours(1);
    /// The provider's browser session ends after this long without an authorization.
    pub const BROWSER_SESSION_IDLE: Duration = Duration::hours(1);
    /// The provider's browser session ends this long after sign-in, however active.
    pub const BROWSER_SESSION_ABSOLUTE: Duration = Duration::hours(12);
}

/// The `error` values of RFC 6749 §4.1.2.1 and §5.2 (and OpenID Connect's `login_required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code or refresh token is invalid, expired, revoked, used, or was issued to another client or redirect URI.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is unknown or exceeds what was granted or is allowed.
    InvalidScope,
    /// The user (or the server) denied the request.
    AccessDenied,
    /// `response_type` other than `code`.
    UnsupportedResponseType,
    /// The bearer token is invalid (RFC 6750).
    InvalidToken,
    /// `prompt=none` but the user must sign in.
    LoginRequired,
    /// `prompt=none`, the user is signed in, but no grant of the client covers the scopes.
    ConsentRequired,
    /// Revocation of this kind of token is not supported (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// The server failed.
    ServerError,
    /// The server is temporarily unable to answer.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidToken => "invalid_token",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// A one-time secret of the provider (authorization code or refresh token): generated with
/// 256 bits, handed out once, stored only as its [`TokenDigest`].
#[derive(Clone)]
pub struct OidcSecret(SecretString);

impl OidcSecret {
    /// Prefix of authorization codes.
    pub const CODE_PREFIX: &'static str = "kcoc_";
    /// Prefix of refresh tokens.
    pub const REFRESH_PREFIX: &'static str = "kcrt_";
    /// Prefix of browser session ids (the provider's session cookie).
    pub const BROWSER_SESSION_PREFIX: &'static str = "kcbs_";

    /// A fresh secret starting with `prefix`.
    pub fn generate(prefix: &str, rng: &dyn SecretRng) -> Self {
        Self(format!("{prefix}{}", random_urlsafe(rng, 32)).into())
    }

    /// The plaintext, for the one response that carries it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The stored form.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.expose())
    }

    /// Whether `raw` has the shape of a secret with `prefix` (checked before any lookup).
    pub fn well_formed(prefix: &str, raw: &str) -> bool {
        raw.strip_prefix(prefix).is_some_and(|body| {
            body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}

impl fmt::Debug for OidcSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OidcSecret([REDACTED])")
    }
}

/// Whether `challenge` is a well-formed S256 code challenge: base64url without padding of 32 bytes.
pub fn valid_code_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is a well-formed code verifier (RFC 7636 §4.1: 43 to 128 unreserved characters).
pub fn valid_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`: `BASE64URL(SHA256(verifier))`.
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` proves possession for `challenge` (S256), compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    valid_code_verifier(verifier) && s256_challenge(verifier).as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// Whether `redirect_uri` is one of `registered`, compared exactly (RFC 6749 §3.1.2.3, no normalisation).
pub fn redirect_uri_registered(redirect_uri: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| r == redirect_uri)
}

/// An authorization code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Storage key.
    pub id: i64,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The redirect URI of the authorization request (the token request must repeat it).
    pub redirect_uri: String,
    /// The S256 challenge of the authorization request.
    pub code_challenge: String,
    /// The `nonce` of the authorization request.
    pub nonce: Option<String>,
    /// The approved scopes.
    pub scopes: ScopeSet,
    /// The user who signed in.
    pub user_id: UserId,
    /// The workspace shared.
    pub workspace_id: WorkspaceId,
    /// When the user signed in.
    pub auth_time: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was redeemed.
    pub used_at: Option<OffsetDateTime>,
    /// The grant its redemption created (revoked if the code is replayed).
    pub grant_id: Option<GrantId>,
}

/// Why a code or refresh token is refused (all are `invalid_grant` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    /// Issued to another client.
    #[error("it was issued to another client")]
    ForeignClient,
    /// Already redeemed or rotated: a replay.
    #[error("it was already used")]
    Replayed,
    /// Past its lifetime.
    #[error("it has expired")]
    Expired,
    /// The token request's `redirect_uri` differs from the authorization request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    /// The PKCE verifier does not match the challenge.
    #[error("code_verifier does not match the code_challenge")]
    PkceMismatch,
    /// The grant behind it is revoked or expired.
    #[error("the grant was revoked or has expired")]
    GrantGone,
}

impl AuthorizationCode {
    /// Whether `client` may redeem this code at `now` with `redirect_uri` and `verifier`.
    /// A foreign code is refused before anything else, so its state leaks nothing to another client.
    pub fn redeemable_by(
        &self,
        client: &ClientId,
        redirect_uri: Option<&str>,
        verifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), GrantRefusal> {
        if &self.client_id != client {
            Err(GrantRefusal::ForeignClient)
        } else if self.used_at.is_some() {
            Err(GrantRefusal::Replayed)
        } else if now >= self.expires_at {
            Err(GrantRefusal::Expired)
        } else if redirect_uri != Some(self.redirect_uri.as_str()) {
            Err(GrantRefusal::RedirectMismatch)
        } else if !pkce_matches(verifier, &self.code_challenge) {
            Err(GrantRefusal::PkceMismatch)
        } else {
            Ok(())
        }
    }
}

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Storage key.
    pub id: i64,
    /// The grant (the token family): revoking it kills every token of the family.
    pub grant_id: GrantId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// When the user signed in (carried into refreshed ID tokens).
    pub auth_time: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// When it was rotated (used): a second use is a replay.
    pub used_at: Option<OffsetDateTime>,
}

impl RefreshTokenRecord {
    /// Whether `client` may use this refresh token at `now`.
    pub fn usable_by(&self, client: &ClientId, now: OffsetDateTime) -> Result<(), GrantRefusal> {
        if &self.client_id != client {
            Err(GrantRefusal::ForeignClient)
        } else if self.used_at.is_some() {
            Err(GrantRefusal::Replayed)
        } else if now >= self.expires_at {
            Err(GrantRefusal::Expired)
        } else {
            Ok(())
        }
    }
}

/// The signing algorithms the provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys): ID tokens (what every OIDC client accepts).
    Rs256,
    /// Ed25519: access tokens.
    EdDsa,
}

impl SigningAlg {
    /// The JOSE `alg` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses the JOSE spelling (only the two supported algorithms; `none` is never one).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// A signing key as the keyring sees it (the private part sealed elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm.
    pub alg: SigningAlg,
    /// 1 for the first key of the algorithm, then one more per rotation.
    pub generation: i32,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Which keys of one algorithm are in use at `now`: the newest signs; older ones are still
/// published and accepted until their successor is older than the overlap.
pub fn keys_in_use(
    keys: &[SigningKeyInfo],
    alg: SigningAlg,
    now: OffsetDateTime,
    overlap: Duration,
) -> Vec<SigningKeyInfo> {
    let mut of_alg: Vec<&SigningKeyInfo> = keys.iter().filter(|k| k.alg == alg).collect();
    of_alg.sort_by_key(|k| std::cmp::Reverse(k.generation));
    let mut out = Vec::new();
    let mut successor: Option<&SigningKeyInfo> = None;
    for k in of_alg {
        match successor {
            None => out.push(k.clone()),
            Some(s) if now < s.created_at + overlap => out.push(k.clone()),
            Some(_) => break,
        }
        successor = Some(k);
    }
    out
}

/// Whether the newest key of `alg` is due to be replaced at `now` (or there is none).
pub fn rotation_due(keys: &[SigningKeyInfo], alg: SigningAlg, now: OffsetDateTime, rotate_after: Duration) -> bool {
    keys.iter().filter(|k| k.alg == alg).max_by_key(|k| k.generation).is_none_or(|k| now >= k.created_at + rotate_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;
    use time::macros::datetime;

    fn code(client: &ClientId) -> AuthorizationCode {
        AuthorizationCode {
            id: 1,
            client_id: client.clone(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            nonce: None,
            scopes: ScopeSet::default_client(),
            user_id: UserId::generate(&OsSecretRng),
            workspace_id: WorkspaceId::generate(&OsSecretRng),
            auth_time: datetime!(2026-01-01 0:00 UTC),
            expires_at: datetime!(2026-01-01 0:10 UTC),
            used_at: None,
            grant_id: None,
        }
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches("short", &s256_challenge("short")), "a verifier under 43 characters is refused");
    }

    #[test]
    fn a_code_is_judged_foreign_then_used_then_expired_then_bound() {
        let me = ClientId::generate(&OsSecretRng);
        let other = ClientId::generate(&OsSecretRng);
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let now = datetime!(2026-01-01 0:05 UTC);
        let mut c = code(&me);
        assert_eq!(c.redeemable_by(&me, Some("https://app.example/cb"), v, now), Ok(()));
        assert_eq!(c.redeemable_by(&other, Some("https://app.example/cb"), v, now), Err(GrantRefusal::ForeignClient));
        assert_eq!(c.redeemable_by(&me, Some("https://app.example/cb/"), v, now), Err(GrantRefusal::RedirectMismatch));
        assert_eq!(c.redeemable_by(&me, None, v, now), Err(GrantRefusal::RedirectMismatch));
        assert_eq!(
            c.redeemable_by(&me, Some("https://app.example/cb"), &format!("{v}x"), now),
            Err(GrantRefusal::PkceMismatch)
        );
        assert_eq!(
            c.redeemable_by(&me, Some("https://app.example/cb"), v, datetime!(2026-01-01 0:10 UTC)),
            Err(GrantRefusal::Expired)
        );
        c.used_at = Some(now);
        assert_eq!(c.redeemable_by(&me, Some("https://app.example/cb"), v, now), Err(GrantRefusal::Replayed));
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let reg = vec!["https://app.example/cb".to_owned()];
        assert!(redirect_uri_registered("https://app.example/cb", &reg));
        for near in
            ["https://app.example/cb/", "https://app.example/c", "HTTPS://app.example/cb", "https://app.example/cb?x=1"]
        {
            assert!(!redirect_uri_registered(near, &reg), "{near}");
        }
    }

    #[test]
    fn old_keys_stay_published_for_the_overlap_only() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let k = |g: i32, at: OffsetDateTime| SigningKeyInfo {
            kid: format!("k{g}"),
            alg: SigningAlg::Rs256,
            generation: g,
            created_at: at,
        };
        let keys = vec![k(1, t0), k(2, t0 + Duration::days(90))];
        let overlap = oidc_lifetimes::SIGNING_KEY_OVERLAP;
        let at = |d: i64| t0 + Duration::days(d);
        assert_eq!(keys_in_use(&keys, SigningAlg::Rs256, at(91), overlap).len(), 2);
        let later = keys_in_use(&keys, SigningAlg::Rs256, at(93), overlap);
        assert_eq!(later.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k2"]);
        assert!(keys_in_use(&keys, SigningAlg::EdDsa, at(1), overlap).is_empty());
        assert!(!rotation_due(&keys, SigningAlg::Rs256, at(100), oidc_lifetimes::SIGNING_KEY_ROTATION));
        assert!(rotation_due(&keys, SigningAlg::Rs256, at(180), oidc_lifetimes::SIGNING_KEY_ROTATION));
        assert!(rotation_due(&keys, SigningAlg::EdDsa, at(1), oidc_lifetimes::SIGNING_KEY_ROTATION));
    }

    #[test]
    fn secrets_have_their_shape_and_never_print() {
        let s = OidcSecret::generate(OidcSecret::CODE_PREFIX, &OsSecretRng);
        assert!(OidcSecret::well_formed(OidcSecret::CODE_PREFIX, s.expose()));
        assert!(!OidcSecret::well_formed(OidcSecret::REFRESH_PREFIX, s.expose()));
        assert!(!format!("{s:?}").contains(&s.expose()[5..]));
        assert_eq!(OAuthErrorCode::InvalidGrant.as_str(), "invalid_grant");
        assert_eq!(SigningAlg::parse("none"), None);
    }
}
