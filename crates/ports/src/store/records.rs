//! The records the store capabilities read and write, in domain terms.

use kc_domain::{
    ClientId, GrantId, GrantRecord, ScopeSet, Sealed, SyncStatus, TokenDigest, TokenRefusal, UserId, WebhookEvent,
    WorkspaceId, WorkspaceRole,
};
use time::OffsetDateTime;

/// A link-token session to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLinkSession {
    /// Digest of the `link_…` token.
    pub digest: TokenDigest,
    /// The creating client.
    pub client_id: ClientId,
    /// Requested scopes.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// For a returning user: the grant being resumed, with its user and workspace.
    pub resumed: Option<GrantRecord>,
    /// Provider to preselect.
    pub integration_name: Option<String>,
    /// Prefill values as JSON text.
    pub prefill_json: Option<String>,
}

/// A new guest user with a personal workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGuest {
    /// The user's id.
    pub user_id: UserId,
    /// The personal workspace's id.
    pub workspace_id: WorkspaceId,
    /// The personal workspace's name.
    pub workspace_name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRecord {
    /// Its id.
    pub id: WorkspaceId,
    /// Its name.
    pub name: String,
}

/// A user's membership of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The workspace.
    pub workspace: WorkspaceRecord,
    /// The user's role in it.
    pub role: WorkspaceRole,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// Verified email, for email users.
    pub email: Option<String>,
    /// Whether this is a guest.
    pub is_anonymous: bool,
    /// Display name.
    pub name: Option<String>,
    /// Preferred language (BCP 47).
    pub language: String,
}

/// What the widget's completion stores alongside killing the link token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublicToken {
    /// Digest of the `public_…` token.
    pub digest: TokenDigest,
    /// The consenting user.
    pub user_id: UserId,
    /// The shared workspace.
    pub workspace_id: WorkspaceId,
    /// Approved scopes.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The grant and access token an exchange creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueGrant {
    /// The new grant's id.
    pub grant_id: GrantId,
    /// Digest of the new `cat_…` token.
    pub access_digest: TokenDigest,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry of grant and token.
    pub expires_at: OffsetDateTime,
}

/// The result of an exchange attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// The token was consumed by this call and the grant created.
    Issued(GrantRecord),
    /// The token could not be exchanged.
    Refused(TokenRefusal),
}

/// An access token's grant, found by the token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenGrant {
    /// The grant (check its status).
    pub grant: GrantRecord,
    /// The token's own expiry.
    pub token_expires_at: OffsetDateTime,
}

/// The result of a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now.
    Revoked(GrantRecord),
    /// It already was.
    AlreadyRevoked,
    /// No such grant for this client.
    NotFound,
}

/// What became of a returning user's approval of scopes their grant lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendOutcome {
    /// The approval is recorded on the session and the grant now holds the scopes.
    Extended {
        /// The grant as it now is.
        grant: GrantRecord,
        /// Whether its scopes grew (and `grant.updated` was enqueued) with this call.
        changed: bool,
    },
    /// The session had completed meanwhile: nothing changed.
    SessionClosed,
    /// The grant is revoked or expired: nothing changed.
    GrantGone,
}

/// A sign-in code sent by email (stored as a keyed digest only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCodeRecord {
    /// Storage key.
    pub id: i64,
    /// The link session it belongs to.
    pub session_id: i64,
    /// The (lower-cased) address it was sent to.
    pub email: String,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
    /// Wrong guesses so far.
    pub attempts: i32,
    /// When it was used.
    pub consumed_at: Option<OffsetDateTime>,
    /// The client IP it was requested from, when known.
    pub requested_ip: Option<String>,
}

/// The outcome of spending one unit of a shared rate budget ([`crate::SignInStore::spend_rate_budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSpend {
    /// Within budget: the unit was spent; `remaining` more would be allowed right now.
    Allowed {
        /// Units left before the bucket is empty.
        remaining: u32,
    },
    /// Over budget: nothing was spent.
    Denied {
        /// Milliseconds until one unit is available again.
        retry_after_ms: u64,
    },
}

/// A user signing in by email: who to create if the address is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailUser {
    /// The verified address (lower-cased).
    pub email: String,
    /// Id for the user if the address is new.
    pub user_id: UserId,
    /// Id of the personal workspace if the address is new.
    pub workspace_id: WorkspaceId,
    /// Name of that workspace.
    pub workspace_name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A wallet or exchange account connected to a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    /// The wallet id (`wal_…`).
    pub id: String,
    /// The owning workspace.
    pub workspace_id: WorkspaceId,
    /// Provider id from the catalog (e.g. `ethereum`, `binance`).
    pub provider: String,
    /// `blockchain` or `exchange`.
    pub category: String,
    /// Normalized address, for wallets.
    pub address: Option<String>,
    /// The user's name for it.
    pub alias: Option<String>,
    /// The exchange account name.
    pub account_name: Option<String>,
    /// Sealed exchange credentials (never returned by any API).
    pub credentials: Option<Sealed>,
    /// Keyed digest of the API key, to refuse duplicates without decrypting.
    pub credential_fingerprint: Option<String>,
    /// Sync state.
    pub sync_status: SyncStatus,
    /// The last sync error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Last successful sync.
    pub last_synced_at: Option<OffsetDateTime>,
    /// Transactions imported.
    pub total_transactions: i64,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When the user proved, by signing with the wallet, that they own the address; `None` for
    /// a pasted (unverified) address and for exchanges.
    pub verified_at: Option<OffsetDateTime>,
    /// How ownership was proved: `eip4361` (EVM sign-in) or `siws` (Solana sign-in).
    pub proof_method: Option<String>,
}

/// A claimed sync job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncJob {
    /// Storage key.
    pub id: i64,
    /// The integration to sync.
    pub integration_id: String,
    /// `latest` or `from_start`.
    pub mode: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// One asset balance of an integration, as last synced. Quantities are exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    /// Asset id (`ethereum`, `ethereum:0x…`).
    pub token_id: String,
    /// Ticker.
    pub symbol: String,
    /// Display name.
    pub public_name: String,
    /// Chain id.
    pub chain_id: String,
    /// Token contract or mint.
    pub contract_address: Option<String>,
    /// Logo URL (may be empty).
    pub logo_url: String,
    /// Asset category.
    pub category: String,
    /// Asset type.
    pub asset_type: String,
    /// On-chain decimals.
    pub decimals: u8,
    /// Whole-unit quantity, exact decimal text.
    pub quantity: String,
}

/// A balance row with the integration that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceBalance {
    /// The holding integration.
    pub integration_id: String,
    /// Its provider id.
    pub provider: String,
    /// The balance.
    pub row: SnapshotRow,
}

/// A grant's transaction limiter settings (guest users).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantLimits {
    /// The limit, if set.
    pub transaction_limit: Option<i64>,
    /// Whether the limiter is on.
    pub enable_limiter: bool,
}

/// One entry of the audit trail. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: OffsetDateTime,
    /// What, e.g. `token.exchange`.
    pub kind: String,
    /// `success`, `failure` or `security`.
    pub outcome: String,
    /// The client involved.
    pub client_id: Option<String>,
    /// The grant involved.
    pub grant_id: Option<String>,
    /// The user involved.
    pub user_id: Option<String>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// A short, secret-free detail (e.g. the error code).
    pub detail: Option<String>,
}

/// A client's webhook endpoint. The signing secret is held sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    /// Its id (`wh_…`).
    pub id: String,
    /// The owning client.
    pub client_id: ClientId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<WebhookEvent>,
    /// The signing secret, sealed with the endpoint id as context.
    pub secret: Sealed,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When it was last changed (secret rotated).
    pub updated_at: OffsetDateTime,
}

/// A webhook delivery claimed by a dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// Storage key (also the enqueue order).
    pub seq: i64,
    /// The delivery id (`whd_…`), the same on every attempt.
    pub id: String,
    /// The endpoint to send to.
    pub endpoint_id: String,
    /// The event name.
    pub event: String,
    /// The body's `data` object as JSON text, as of the change that caused it.
    pub data_json: String,
    /// When the change happened.
    pub occurred_at: OffsetDateTime,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAttempt {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// A retryable failure: try again at `at`.
    Retry {
        /// When the next attempt is due.
        at: OffsetDateTime,
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Failed for good (attempts exhausted, or a status that is not retried).
    Failed {
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Not sent: the endpoint was removed.
    Cancelled {
        /// Why.
        reason: String,
    },
}

/// A delivery as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDeliveryRecord {
    /// The delivery id (`whd_…`).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event name.
    pub event: String,
    /// The grant it concerns (deliveries of one grant to one endpoint go out in order).
    pub grant_id: String,
    /// `pending`, `sending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the change happened.
    pub occurred_at: OffsetDateTime,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: OffsetDateTime,
    /// The receiver's last status.
    pub last_status: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was delivered, failed or cancelled.
    pub completed_at: Option<OffsetDateTime>,
}
