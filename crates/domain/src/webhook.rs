//! Webhooks: the events a client can subscribe to, endpoint secrets, and the signature
//! scheme — pure functions that the server uses to sign deliveries and integrators use to
//! verify them.
//!
//! A delivery is a `POST` whose body is `{"id": "whd_…", "event": …, "timestamp": …, "data": …}`.
//! `X-Webhook-Signature` is the hex HMAC-SHA256 of the raw body keyed with the endpoint's
//! secret (the whole `whsec_…` string, as UTF-8 bytes). `X-Webhook-Timestamp` repeats the
//! body's `timestamp`, the time the delivery attempt was signed; because the body is signed,
//! [`verify`] can reject replays older than a tolerance.
//!
//! ```
//! use kc_domain::{sign_webhook, verify_webhook};
//! let secret = "whsec_example";
//! let body = br#"{"id":"whd_1","event":"grant.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"uid":"u"}}"#;
//! let signature = sign_webhook(secret, body);
//! let now = time::macros::datetime!(2026-01-01 00:01 UTC);
//! let tolerance = time::Duration::minutes(5);
//! assert!(verify_webhook(secret, body, &signature, "2026-01-01T00:00:00.000Z", now, tolerance).is_ok());
//! ```

use crate::rng::{random_urlsafe, SecretRng};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Header carrying the hex HMAC-SHA256 of the raw body.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "X-Webhook-Signature";
/// Header carrying the event name.
pub const WEBHOOK_EVENT_HEADER: &str = "X-Webhook-Event";
/// Header carrying the delivery id (`whd_…`); receivers deduplicate on it.
pub const WEBHOOK_ID_HEADER: &str = "X-Webhook-Id";
/// Header carrying the signing time (ISO 8601), equal to the body's `timestamp`.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "X-Webhook-Timestamp";

/// An event a webhook endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A public token was exchanged: a client now holds a new grant.
    GrantCreated,
    /// A grant's scopes were extended: a returning user approved more scopes in the widget.
    GrantUpdated,
    /// A grant was revoked.
    GrantRevoked,
    /// A wallet or exchange was connected to a workspace the client has a grant on.
    IntegrationCreated,
    /// An integration was synced.
    IntegrationUpdated,
    /// An integration was removed.
    IntegrationDeleted,
    /// An integration's sync failed for good.
    IntegrationFailed,
    /// Transfer detection began for a workspace's ledger.
    TransferDetectionStarted,
    /// Transfer detection finished.
    TransferDetectionCompleted,
    /// Transfer detection failed.
    TransferDetectionFailed,
    /// Cost basis calculation began.
    CostbasisStarted,
    /// Cost basis calculation finished.
    CostbasisCompleted,
    /// Cost basis calculation failed.
    CostbasisFailed,
}

impl WebhookEvent {
    /// Every event, in documentation order.
    pub const ALL: [Self; 13] = [
        Self::GrantCreated,
        Self::GrantUpdated,
        Self::GrantRevoked,
        Self::IntegrationCreated,
        Self::IntegrationUpdated,
        Self::IntegrationDeleted,
        Self::IntegrationFailed,
        Self::TransferDetectionStarted,
        Self::TransferDetectionCompleted,
        Self::TransferDetectionFailed,
        Self::CostbasisStarted,
        Self::CostbasisCompleted,
        Self::CostbasisFailed,
    ];

    /// The wire spelling, `<category>.<action>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GrantCreated => "grant.created",
            Self::GrantUpdated => "grant.updated",
            Self::GrantRevoked => "grant.revoked",
            Self::IntegrationCreated => "integration.created",
            Self::IntegrationUpdated => "integration.updated",
            Self::IntegrationDeleted => "integration.deleted",
            Self::IntegrationFailed => "integration.failed",
            Self::TransferDetectionStarted => "transfer_detection.started",
            Self::TransferDetectionCompleted => "transfer_detection.completed",
            Self::TransferDetectionFailed => "transfer_detection.failed",
            Self::CostbasisStarted => "costbasis.started",
            Self::CostbasisCompleted => "costbasis.completed",
            Self::CostbasisFailed => "costbasis.failed",
        }
    }

    /// For processing events: the `action` (`DETECT_TRANSFER`, `ACCOUNT_MANAGER`) and
    /// `status` (`started`, `completed`, `failed`) of their `data`.
    pub fn processing(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::TransferDetectionStarted => Some(("DETECT_TRANSFER", "started")),
            Self::TransferDetectionCompleted => Some(("DETECT_TRANSFER", "completed")),
            Self::TransferDetectionFailed => Some(("DETECT_TRANSFER", "failed")),
            Self::CostbasisStarted => Some(("ACCOUNT_MANAGER", "started")),
            Self::CostbasisCompleted => Some(("ACCOUNT_MANAGER", "completed")),
            Self::CostbasisFailed => Some(("ACCOUNT_MANAGER", "failed")),
            _ => None,
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook endpoint's signing secret in plaintext: shown once when created or rotated,
/// otherwise kept sealed at rest and opened only to sign.
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    /// A fresh secret with 256 bits of entropy: `whsec_` and 43 URL-safe characters.
    pub fn generate(rng: &dyn SecretRng) -> Self {
        Self(format!("whsec_{}", random_urlsafe(rng, 32)).into())
    }

    /// Wraps a stored or received secret.
    pub fn from_text(s: String) -> Self {
        Self(s.into())
    }

    /// The plaintext, for the places that must show or use it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// A fresh webhook endpoint id: `wh_` and 22 URL-safe characters.
pub fn webhook_endpoint_id(rng: &dyn SecretRng) -> String {
    format!("wh_{}", random_urlsafe(rng, 16))
}

/// A fresh delivery id: `whd_` and 24 hex digits (96 random bits).
pub fn webhook_delivery_id(rng: &dyn SecretRng) -> String {
    let mut b = [0u8; 12];
    rng.fill(&mut b);
    format!("whd_{}", hex::encode(b))
}

/// The time format of `timestamp` and `X-Webhook-Timestamp`: UTC, milliseconds, `Z`
/// (e.g. `2025-02-19T12:00:00.000Z`).
pub fn webhook_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC-SHA256 accepts keys of any length, so `new_from_slice` cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// The `X-Webhook-Signature` of `body`: lower-case hex HMAC-SHA256 keyed with `secret`.
pub fn sign_webhook(secret: impl AsRef<[u8]>, body: &[u8]) -> String {
    let mut m = mac(secret.as_ref());
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Why a delivery failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature is not 64 hex digits.
    #[error("the signature is not a hex HMAC-SHA256")]
    MalformedSignature,
    /// The signature does not match the body and secret.
    #[error("the signature does not match")]
    BadSignature,
    /// The timestamp is not ISO 8601 / RFC 3339.
    #[error("the timestamp is not an ISO 8601 time")]
    MalformedTimestamp,
    /// The timestamp is further from `now` than the tolerance (a replay, or a skewed clock).
    #[error("the timestamp is outside the tolerance")]
    StaleTimestamp,
    /// The timestamp header differs from the signed body's `timestamp`.
    #[error("the timestamp does not match the signed body")]
    TimestampMismatch,
}

/// Verifies a delivery: `signature_hex` (`X-Webhook-Signature`) must be the HMAC of the raw
/// `body` with `secret` (compared in constant time), `timestamp` (`X-Webhook-Timestamp`)
/// must equal the body's signed `timestamp` field and lie within `tolerance` of `now`.
///
/// Pass the body exactly as received, before any JSON parsing.
pub fn verify_webhook(
    secret: impl AsRef<[u8]>,
    body: &[u8],
    signature_hex: &str,
    timestamp: &str,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let given = hex::decode(signature_hex.trim()).map_err(|_| VerifyError::MalformedSignature)?;
    if given.len() != 32 {
        return Err(VerifyError::MalformedSignature);
    }
    let mut m = mac(secret.as_ref());
    m.update(body);
    // `verify_slice` compares in constant time.
    m.verify_slice(&given).map_err(|_| VerifyError::BadSignature)?;
    let at = OffsetDateTime::parse(timestamp.trim(), &Rfc3339).map_err(|_| VerifyError::MalformedTimestamp)?;
    let signed = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("timestamp").and_then(|t| t.as_str()).map(str::to_owned));
    let signed_at = signed.as_deref().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    if signed_at != Some(at) {
        return Err(VerifyError::TimestampMismatch);
    }
    if (now - at).abs() > tolerance {
        return Err(VerifyError::StaleTimestamp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsSecretRng;
    use time::macros::datetime;

    const SECRET: &str = "whsec_test";
    const TS: &str = "2026-02-20T18:09:07.962Z";

    fn body() -> Vec<u8> {
        format!(r#"{{"id":"whd_1","event":"grant.created","timestamp":"{TS}","data":{{"uid":"u1"}}}}"#).into_bytes()
    }

    fn now() -> OffsetDateTime {
        datetime!(2026-02-20 18:10:00 UTC)
    }

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign_webhook("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_good_delivery_verifies() {
        let b = body();
        let sig = sign_webhook(SECRET, &b);
        assert_eq!(verify_webhook(SECRET, &b, &sig, TS, now(), Duration::minutes(5)), Ok(()));
        assert_eq!(verify_webhook(SECRET.as_bytes(), &b, &sig.to_uppercase(), TS, now(), Duration::minutes(5)), Ok(()));
    }

    #[test]
    fn tampering_and_wrong_secrets_are_refused() {
        let b = body();
        let sig = sign_webhook(SECRET, &b);
        let tol = Duration::minutes(5);
        let mut tampered = b.clone();
        tampered[10] ^= 1;
        assert_eq!(verify_webhook(SECRET, &tampered, &sig, TS, now(), tol), Err(VerifyError::BadSignature));
        assert_eq!(verify_webhook("whsec_other", &b, &sig, TS, now(), tol), Err(VerifyError::BadSignature));
        assert_eq!(verify_webhook(SECRET, &b, "zz", TS, now(), tol), Err(VerifyError::MalformedSignature));
        assert_eq!(verify_webhook(SECRET, &b, &sig[..32], TS, now(), tol), Err(VerifyError::MalformedSignature));
    }

    #[test]
    fn old_or_mismatched_timestamps_are_refused() {
        let b = body();
        let sig = sign_webhook(SECRET, &b);
        let tol = Duration::minutes(5);
        let later = now() + Duration::minutes(10);
        assert_eq!(verify_webhook(SECRET, &b, &sig, TS, later, tol), Err(VerifyError::StaleTimestamp));
        let earlier = now() - Duration::minutes(10);
        assert_eq!(verify_webhook(SECRET, &b, &sig, TS, earlier, tol), Err(VerifyError::StaleTimestamp), "future");
        // A replayer cannot refresh the header: it must match the signed body.
        let fresh = "2026-02-20T18:20:00.000Z";
        assert_eq!(verify_webhook(SECRET, &b, &sig, fresh, later, tol), Err(VerifyError::TimestampMismatch));
        assert_eq!(verify_webhook(SECRET, &b, &sig, "yesterday", now(), tol), Err(VerifyError::MalformedTimestamp));
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        assert_eq!(webhook_timestamp(datetime!(2025-02-19 12:00:00.5 +01:00)), "2025-02-19T11:00:00.500Z");
    }

    #[test]
    fn events_round_trip_and_ids_have_their_prefixes() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(e));
        }
        assert_eq!(WebhookEvent::parse("grant.deleted"), None);
        let id = webhook_delivery_id(&OsSecretRng);
        assert!(id.starts_with("whd_") && id.len() == 28, "{id}");
        assert!(webhook_endpoint_id(&OsSecretRng).starts_with("wh_"));
        let s = WebhookSecret::generate(&OsSecretRng);
        assert!(s.expose().starts_with("whsec_") && s.expose().len() == 49);
        assert_eq!(format!("{s:?}"), "WebhookSecret([REDACTED])");
    }
}
