//! The [`Service`] value and the helpers every operation shares.

use crate::audit::{AuditKind, Outcome};
use crate::catalog::Catalog;
use crate::mailer::{LogMailer, Mailer};
use kc_api::{ApiError, ClientCredentials, ErrorCode, RequestMeta};
use kc_domain::{
    ClientId, ClientRecord, ClientSecret, Clock, CredentialCipher, OsSecretRng, SecretPepper, SecretRng, SystemClock,
    TokenRefusal,
};
use kc_store::{AuditEvent, Store, StoreError};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The adapters a [`Service`] runs on. Swap any of them through its trait.
#[derive(Clone)]
pub struct Ports {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for tokens and ids.
    pub rng: Arc<dyn SecretRng>,
    /// The key client secrets are HMAC'd with.
    pub pepper: Arc<SecretPepper>,
    /// Sign-in methods the widget offers.
    pub auth_methods: Vec<String>,
    /// Sends email sign-in codes.
    pub mailer: Arc<dyn Mailer>,
    /// Seals exchange credentials at rest.
    pub cipher: Arc<CredentialCipher>,
    /// The providers users may connect.
    pub catalog: Arc<Catalog>,
    /// Prices for holdings.
    pub prices: Arc<dyn kc_chain::PriceSource>,
}

impl Ports {
    /// The system clock and OS randomness on `store`; guest and email sign-in with the
    /// logging mailer; an ephemeral credentials key (configure a real one to keep sealed
    /// credentials readable across restarts); relative logo URLs.
    pub fn system(store: Arc<dyn Store>, pepper: Vec<u8>) -> Self {
        let key = CredentialCipher::generate_key(&OsSecretRng);
        let cipher = CredentialCipher::new([("ephemeral", key.as_str())], "ephemeral")
            .unwrap_or_else(|e| unreachable!("a generated key is valid: {e}"));
        Self {
            store,
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsSecretRng),
            pepper: Arc::new(SecretPepper::new(pepper)),
            auth_methods: vec!["email".to_owned(), "anonymous".to_owned()],
            mailer: Arc::new(LogMailer),
            cipher: Arc::new(cipher),
            catalog: Arc::new(Catalog::builtin("")),
            prices: Arc::new(kc_chain::StaticPrices::sandbox()),
        }
    }
}

/// Kryptos Connect's business logic. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Service {
    pub(crate) ports: Ports,
}

impl Service {
    /// A service on `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The store, for callers that need it directly (health checks, admin tools).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.ports.store
    }

    /// The current time.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.ports.clock.now()
    }

    /// Authenticates a client backend. Unknown id, wrong secret and disabled client all
    /// answer the same `INVALID_CLIENT`, and each failure is audited.
    pub(crate) async fn authenticate(
        &self,
        creds: &ClientCredentials,
        meta: &RequestMeta,
    ) -> Result<ClientRecord, ApiError> {
        let secret = ClientSecret::from_input(creds.secret());
        let found = match creds.client_id.parse::<ClientId>() {
            Ok(id) => self.ports.store.find_client(&id).await.map_err(store_error)?,
            Err(_) => None,
        };
        let verdict = match found {
            Some(c) if !c.disabled && self.ports.pepper.verify(&secret, &c.secret_digest) => Ok(c),
            Some(c) if c.disabled => Err("client disabled"),
            Some(_) => Err("wrong secret"),
            None => {
                // Spend the same HMAC work as a real check so timing does not reveal unknown ids.
                let _ = self.ports.pepper.verify(&secret, "");
                Err("unknown client")
            }
        };
        match verdict {
            Ok(client) => Ok(client),
            Err(why) => {
                let known_id = creds.client_id.parse::<ClientId>().ok().map(|c| c.to_string());
                self.audit(AuditKind::ClientAuth, Outcome::Failure, meta, |e| {
                    e.client_id = known_id;
                    e.detail = Some(why.to_owned());
                })
                .await;
                tracing::warn!(client_id = %creds.client_id.chars().take(40).collect::<String>(), reason = why, "client authentication failed");
                Err(ApiError::invalid_client())
            }
        }
    }

    /// Appends an audit event; a storage failure here is logged, never returned.
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        outcome: Outcome,
        meta: &RequestMeta,
        fill: impl FnOnce(&mut AuditEvent),
    ) {
        let mut event = AuditEvent {
            at: self.now(),
            kind: kind.as_str().to_owned(),
            outcome: outcome.as_str().to_owned(),
            client_id: None,
            grant_id: None,
            user_id: None,
            ip: meta.ip.map(|ip| ip.to_string()),
            request_id: meta.request_id.clone(),
            detail: None,
        };
        fill(&mut event);
        tracing::info!(
            target: "audit",
            kind = %event.kind,
            outcome = %event.outcome,
            client_id = event.client_id.as_deref(),
            grant_id = event.grant_id.as_deref(),
            user_id = event.user_id.as_deref(),
            detail = event.detail.as_deref(),
            "audit event"
        );
        if let Err(e) = self.ports.store.record_audit(&event).await {
            tracing::error!(error = %e, kind = %event.kind, "could not store audit event");
        }
    }
}

/// Maps a store failure onto the API: unreachable database → `SERVICE_UNAVAILABLE`,
/// anything else → `INTERNAL_ERROR` (the cause is logged, not returned).
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Unavailable(cause) => {
            tracing::warn!(%cause, "database unavailable");
            ApiError::unavailable()
        }
        other => {
            tracing::error!(error = %other, "storage error");
            ApiError::internal()
        }
    }
}

/// The API error for a refused link or public token.
pub(crate) fn refusal_error(r: TokenRefusal, what: &str) -> ApiError {
    match r {
        TokenRefusal::Invalid => ApiError::new(
            ErrorCode::InvalidToken,
            format!("Invalid {what}: it is unknown, malformed or was issued to another client"),
        ),
        TokenRefusal::Expired => {
            ApiError::new(ErrorCode::TokenExpired, format!("The {what} has expired; create a new link token"))
        }
        TokenRefusal::AlreadyUsed => {
            ApiError::new(ErrorCode::TokenAlreadyUsed, format!("The {what} was already used; create a new link token"))
        }
    }
}

/// RFC 3339 in UTC with whole seconds, e.g. `2024-01-28T10:30:00Z`.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}
