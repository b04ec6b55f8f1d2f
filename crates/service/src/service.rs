//! The [`Service`] value and the helpers every operation shares.

use crate::audit::{AuditKind, Outcome};
use crate::catalog::Catalog;
use crate::mailer::{LogMailer, Mailer};
use kc_api::{ApiError, ClientCredentials, ErrorCode, RequestMeta};
use kc_domain::{
    ClientId, ClientRecord, ClientSecret, Clock, CredentialCipher, OsSecretRng, SecretPepper, SecretRng, SystemClock,
    TokenRefusal,
};
use kc_ports::{AuditEvent, Store, StoreError};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The adapters a [`Service`] runs on. Swap any of them through its trait.
#[derive(Clone)]
pub struct Ports {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The request hot paths: one round trip per authenticated read, the exchange with its
    /// audit event in one transaction. [`Ports::system`] composes it from `store`
    /// ([`kc_ports::ComposedHotPath`]); set it to the store itself when the store implements
    /// [`kc_ports::HotPathStore`] (`SeaStore` does).
    pub hot: Arc<dyn kc_ports::HotPathStore>,
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
    pub prices: Arc<dyn kc_ports::PriceSource>,
    /// Exchange connectors: credentials are checked with them when a user adds an exchange.
    pub connectors: Arc<kc_ports::exchange::ConnectorRegistry>,
    /// What this process's syncs learned about each provider (reported by `/readyz`).
    pub provider_health: Arc<crate::provider_health::ProviderHealth>,
    /// The OpenID Connect provider (`None`: its endpoints answer `temporarily_unavailable`).
    pub oidc: Option<Arc<crate::oidc::OidcProvider>>,
    /// The transaction ledger (`GET /api/v1/transactions`, cost basis in holdings); `None`:
    /// no ledger is kept, transactions are empty and cost basis is 0.
    pub ledger: Option<Arc<dyn kc_ports::LedgerStore>>,
    /// Historical prices for the legs of imported CSV files; `None`: their prices are missing.
    pub ledger_prices: Option<Arc<dyn kc_ports::HistoricalPriceSource>>,
    /// The developer console's and admin API's tables; `None`: those answer
    /// `SERVICE_UNAVAILABLE` (the command line's client commands still work).
    pub console: Option<Arc<dyn kc_ports::ConsoleStore>>,
    /// This process's Data API call counts waiting to be written to `console` (see
    /// [`crate::console::DataCallCounter`]); shared by every clone of the service.
    pub data_calls: Arc<crate::console::DataCallCounter>,
    /// Wallet sign-in nonces and verified integrations; `None`: wallet sign-in answers
    /// `SERVICE_UNAVAILABLE` (pasting an address still works).
    pub wallet_proofs: Option<Arc<dyn kc_ports::WalletProofStore>>,
    /// The server's externally visible base URL: wallet sign-in messages name its host.
    pub public_url: String,
    /// Sandbox clients accept a wallet whose ownership was proved by signature whatever its
    /// address (`widget.sandbox_verified_any_address`); otherwise only the test addresses.
    pub sandbox_verified_any_address: bool,
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
            hot: Arc::new(kc_ports::ComposedHotPath(store.clone())),
            store,
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsSecretRng),
            pepper: Arc::new(SecretPepper::new(pepper)),
            auth_methods: vec!["email".to_owned(), "anonymous".to_owned()],
            mailer: Arc::new(LogMailer),
            cipher: Arc::new(cipher),
            catalog: Arc::new(Catalog::builtin("")),
            prices: Arc::new(kc_ports::StaticPrices::sandbox()),
            connectors: Arc::new(kc_ports::exchange::ConnectorRegistry::new()),
            provider_health: Arc::default(),
            oidc: None,
            ledger: None,
            ledger_prices: None,
            console: None,
            data_calls: Arc::default(),
            wallet_proofs: None,
            public_url: "http://127.0.0.1:8080".to_owned(),
            sandbox_verified_any_address: false,
        }
    }
}

/// Kryptos Connect's business logic. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Service {
    pub(crate) ports: Ports,
    /// Who administration calls are made by (recorded in their audit events); `None` for the
    /// command line.
    pub(crate) actor: Option<crate::console::Actor>,
}

impl Service {
    /// A service on `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports, actor: None }
    }

    /// The store, for callers that need it directly (health checks, admin tools).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.ports.store
    }

    /// The transaction ledger's store, when one is kept (the sync workers write it).
    pub fn ledger(&self) -> Option<&Arc<dyn kc_ports::LedgerStore>> {
        self.ports.ledger.as_ref()
    }

    /// The exchange connectors (the sync workers read balances with them).
    pub fn connectors(&self) -> &Arc<kc_ports::exchange::ConnectorRegistry> {
        &self.ports.connectors
    }

    /// The cipher exchange credentials and extended keys are sealed with.
    pub fn cipher(&self) -> &Arc<CredentialCipher> {
        &self.ports.cipher
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
        // The hot path's client read (no token): one indexed read, on SQLite's direct path.
        let found = match creds.client_id.parse::<ClientId>() {
            Ok(id) => self
                .ports
                .hot
                .client_access(&id, None, kc_ports::AccessDetail::Grant, self.now(), &|_| false)
                .await
                .map_err(store_error)?
                .map(|access| access.client),
            Err(_) => None,
        };
        self.verify_client(creds, meta, found).await
    }

    /// [`Service::authenticate`] and the lookup of access token `raw` in one round trip
    /// ([`kc_ports::HotPathStore::client_access`]), with where the token stands now. The
    /// secret is verified (in constant time) before anything else read is used. An OAuth
    /// access token (a JWT) takes the OpenID provider's lookup instead.
    pub(crate) async fn authenticate_with_token(
        &self,
        creds: &ClientCredentials,
        meta: &RequestMeta,
        raw: &str,
        detail: kc_ports::AccessDetail,
    ) -> Result<(ClientRecord, Result<kc_ports::TokenAccess, kc_domain::SessionReason>), ApiError> {
        if crate::oidc::looks_like_jwt(raw) {
            return self.authenticate_with_oauth_token(creds, meta, raw, detail).await;
        }
        let digest = kc_domain::PlainToken::parse(kc_domain::TokenKind::Access, raw).ok().map(|t| t.digest());
        let secret = ClientSecret::from_input(creds.secret());
        let pepper = self.ports.pepper.clone();
        let admit = move |c: &ClientRecord| !c.disabled && pepper.verify(&secret, &c.secret_digest);
        let found = match creds.client_id.parse::<ClientId>() {
            Ok(id) => self
                .ports
                .hot
                .client_access(&id, digest.as_ref(), detail, self.now(), &admit)
                .await
                .map_err(store_error)?,
            Err(_) => None,
        };
        let (client, token) = match found {
            Some(access) => (Some(access.client), access.token),
            None => (None, None),
        };
        let client = self.verify_client(creds, meta, client).await?;
        let state = self.live_token(token, &client.id);
        Ok((client, state))
    }

    /// [`Service::authenticate_with_token`] for an OAuth access token: the client, the
    /// provider's lookup, then what `detail` asks for (several round trips).
    async fn authenticate_with_oauth_token(
        &self,
        creds: &ClientCredentials,
        meta: &RequestMeta,
        raw: &str,
        detail: kc_ports::AccessDetail,
    ) -> Result<(ClientRecord, Result<kc_ports::TokenAccess, kc_domain::SessionReason>), ApiError> {
        let client = self.authenticate(creds, meta).await?;
        let grant = match self.lookup_oidc_access_token(raw, &client.id).await? {
            crate::connect::TokenLookup::Live(grant) => grant,
            crate::connect::TokenLookup::Dead(reason) => return Ok((client, Err(reason))),
        };
        let mut access = kc_ports::TokenAccess {
            token_expires_at: grant.expires_at,
            grant,
            workspace_name: None,
            user: None,
            limits: None,
            holdings: None,
        };
        let store = &self.ports.store;
        match detail {
            kc_ports::AccessDetail::Grant | kc_ports::AccessDetail::Holdings => {}
            kc_ports::AccessDetail::Workspace => {
                access.workspace_name =
                    store.find_workspace(&access.grant.workspace_id).await.map_err(store_error)?.map(|w| w.name);
            }
            kc_ports::AccessDetail::User => {
                access.user = store.find_user(&access.grant.user_id).await.map_err(store_error)?;
                access.limits = store.grant_limits(&access.grant.id).await.map_err(store_error)?;
            }
        }
        let state = self.live_token(Some(access), &client.id);
        Ok((client, state))
    }

    /// Checks the secret of `creds` against `found` (the client the id names, if any).
    async fn verify_client(
        &self,
        creds: &ClientCredentials,
        meta: &RequestMeta,
        found: Option<ClientRecord>,
    ) -> Result<ClientRecord, ApiError> {
        let secret = ClientSecret::from_input(creds.secret());
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
        let event = self.audit_event(kind, outcome, meta, fill);
        report_audit(kind, outcome, &event);
        if let Err(e) = self.ports.store.record_audit(&event).await {
            tracing::error!(error = %e, kind = %event.kind, "could not store audit event");
        }
    }

    /// An audit event at the current time from `meta`, filled in by `fill` (not stored).
    pub(crate) fn audit_event(
        &self,
        kind: AuditKind,
        outcome: Outcome,
        meta: &RequestMeta,
        fill: impl FnOnce(&mut AuditEvent),
    ) -> AuditEvent {
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
        event
    }
}

/// Counts an audit event (metric `kc_auth_events_total`) and logs it (target `audit`).
pub(crate) fn report_audit(kind: AuditKind, outcome: Outcome, event: &AuditEvent) {
    metrics::counter!("kc_auth_events_total", "kind" => kind.as_str(), "outcome" => outcome.as_str()).increment(1);
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
