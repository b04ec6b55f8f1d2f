//! Everything [`crate::MemoryStore`] holds: one [`State`] behind one mutex.
//!
//! Each store call takes the lock once, checks everything it needs (the conditions of a
//! transition, the unique keys of the rows it inserts), and only then writes: a call that
//! answers "no" or an error has changed nothing, and a call that changes something does it in
//! one critical section — the in-memory equivalent of SeaStore's transactions. The lock is
//! never held across an `.await` (store calls take it through [`crate::MemoryStore::with`]).
//!
//! The rows mirror SeaStore's tables column by column where the contract depends on them
//! (timestamps, lease holders, statuses, orderings); ids that the database assigns
//! (`BIGSERIAL`) come from [`State::next_id`], one increasing counter for every table.
//!
//! Transitions shared by several capabilities live beside the core code as `impl State`
//! blocks, for the extra capabilities to reuse:
//! - `core/outbox.rs`: [`State::enqueue`], [`State::enqueue_grant_event`],
//!   [`State::enqueue_integration_event`] (the transactional outbox: call them inside the
//!   same `with` closure as the change they report);
//! - `core/link_sessions.rs`: [`State::insert_link_session`], [`State::insert_user_with_workspace`];
//! - `core/integrations.rs`: [`State::insert_integration`] (row, first sync job, `integration.created`);
//! - `core/grants.rs`: [`State::insert_grant`] (a grant row, unique id checked).

use kc_domain::{ClientRecord, GrantRecord, LinkSession, PublicTokenRecord, WorkspaceRole};
use kc_ports::store::{
    AuditEvent, EmailCodeRecord, GrantLimits, IntegrationRecord, SnapshotRow, UserRecord, WebhookEndpointRecord,
    WebhookSettings, WorkspaceRecord,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A registered client.
#[derive(Debug, Clone)]
pub(crate) struct ClientRow {
    /// The client (`disabled` set when `disabled_at` is).
    pub(crate) record: ClientRecord,
    /// When it was registered (clients list oldest first).
    pub(crate) created_at: OffsetDateTime,
    /// When it was disabled.
    pub(crate) disabled_at: Option<OffsetDateTime>,
}

/// A user.
#[derive(Debug, Clone)]
pub(crate) struct UserRow {
    /// The user.
    pub(crate) record: UserRecord,
}

/// A workspace.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceRow {
    /// The workspace.
    pub(crate) record: WorkspaceRecord,
}

/// A user's membership of a workspace (unique per workspace and user).
#[derive(Debug, Clone)]
pub(crate) struct MembershipRow {
    /// Insertion order (ties of `created_at`).
    pub(crate) seq: i64,
    /// The workspace.
    pub(crate) workspace_id: String,
    /// The member.
    pub(crate) user_id: String,
    /// Their role.
    pub(crate) role: WorkspaceRole,
    /// When they joined.
    pub(crate) created_at: OffsetDateTime,
}

/// A link session (`link_tokens`), by its storage key.
#[derive(Debug, Clone)]
pub(crate) struct LinkRow {
    /// Digest of the link token (unique).
    pub(crate) digest: String,
    /// The session (its `id` is the map key).
    pub(crate) session: LinkSession,
    /// When it was created (the console's usage counts it).
    #[allow(dead_code)] // read by the extra capabilities (console usage)
    pub(crate) created_at: OffsetDateTime,
}

/// A public token, by its storage key.
#[derive(Debug, Clone)]
pub(crate) struct PublicRow {
    /// Digest of the public token (unique).
    pub(crate) digest: String,
    /// The link session that issued it.
    #[allow(dead_code)] // kept as SeaStore's column, for the extra capabilities
    pub(crate) link_session_id: i64,
    /// The token (its `id` is the map key).
    pub(crate) record: PublicTokenRecord,
}

/// A grant, by id.
#[derive(Debug, Clone)]
pub(crate) struct GrantRow {
    /// Its position (`list_active_grants` pages by it).
    pub(crate) seq: i64,
    /// The grant.
    pub(crate) record: GrantRecord,
    /// Its limiter settings.
    pub(crate) limits: GrantLimits,
}

/// An access token, by digest.
#[derive(Debug, Clone)]
pub(crate) struct AccessRow {
    /// Its grant.
    pub(crate) grant_id: String,
    /// The client it was issued to.
    pub(crate) client_id: String,
    /// Its own expiry.
    pub(crate) expires_at: OffsetDateTime,
}

/// An integration, by id.
#[derive(Debug, Clone)]
pub(crate) struct IntegrationRow {
    /// The integration.
    pub(crate) record: IntegrationRecord,
    /// When it last changed.
    pub(crate) updated_at: OffsetDateTime,
}

/// Where a sync job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobStatus {
    /// Waiting until `run_after`.
    Queued,
    /// Claimed by `locked_by` until `locked_until`.
    Running,
    /// Finished.
    Done,
    /// Failed for good.
    Failed,
}

/// A sync job, by id.
#[derive(Debug, Clone)]
pub(crate) struct SyncJobRow {
    /// The integration to sync.
    pub(crate) integration_id: String,
    /// `latest` or `from_start`.
    pub(crate) mode: String,
    /// Where it stands.
    pub(crate) status: JobStatus,
    /// Attempts so far.
    pub(crate) attempts: i32,
    /// When it is due.
    pub(crate) run_after: OffsetDateTime,
    /// The worker holding it.
    pub(crate) locked_by: Option<String>,
    /// Until when the worker holds it.
    pub(crate) locked_until: Option<OffsetDateTime>,
    /// The last error.
    pub(crate) last_error: Option<String>,
    /// When it was queued.
    pub(crate) created_at: OffsetDateTime,
    /// When it last changed.
    pub(crate) updated_at: OffsetDateTime,
}

/// One balance of an integration, by id (the order they were written).
#[derive(Debug, Clone)]
pub(crate) struct BalanceRow {
    /// The holding integration.
    pub(crate) integration_id: String,
    /// The balance.
    pub(crate) row: SnapshotRow,
}

/// A webhook endpoint, by id (removed ones are kept: their ids stay taken).
#[derive(Debug, Clone)]
pub(crate) struct EndpointRow {
    /// The endpoint.
    pub(crate) record: WebhookEndpointRecord,
    /// When it was removed.
    pub(crate) removed_at: Option<OffsetDateTime>,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryStatus {
    /// Waiting until `next_attempt_at`.
    Pending,
    /// Claimed by a dispatcher until `locked_until`.
    Sending,
    /// The receiver answered 2xx.
    Delivered,
    /// Failed for good.
    Failed,
    /// Not sent: the endpoint was removed or disabled.
    Cancelled,
}

impl DeliveryStatus {
    /// The storage and wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether it still waits to be delivered (it blocks later deliveries of its endpoint and grant).
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Sending)
    }
}

/// A webhook delivery (the outbox), by its `seq` (the enqueue order).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRow {
    /// The delivery id (`whd_…`, unique).
    pub(crate) id: String,
    /// The endpoint.
    pub(crate) endpoint_id: String,
    /// The endpoint's client.
    pub(crate) client_id: String,
    /// The event name.
    pub(crate) event: String,
    /// Deliveries of one endpoint with one ordering key (the grant id) go out in `seq` order.
    pub(crate) ordering_key: String,
    /// The `data` object as JSON text.
    pub(crate) payload: String,
    /// When the change happened.
    pub(crate) occurred_at: OffsetDateTime,
    /// Where it stands.
    pub(crate) status: DeliveryStatus,
    /// Attempts so far.
    pub(crate) attempts: i32,
    /// When the next attempt is due.
    pub(crate) next_attempt_at: OffsetDateTime,
    /// The dispatcher holding it.
    pub(crate) locked_by: Option<String>,
    /// Until when the dispatcher holds it.
    pub(crate) locked_until: Option<OffsetDateTime>,
    /// The receiver's last status.
    pub(crate) last_status: Option<u16>,
    /// The last error.
    pub(crate) last_error: Option<String>,
    /// When it was delivered, failed or cancelled.
    pub(crate) completed_at: Option<OffsetDateTime>,
    /// When it last changed.
    pub(crate) updated_at: OffsetDateTime,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The last id handed out by [`State::next_id`].
    pub(crate) last_id: i64,

    // --- core capabilities (clients, link sessions, sign-in, integrations, grants, audit, webhooks) ---
    /// Clients by id.
    pub(crate) clients: BTreeMap<String, ClientRow>,
    /// Users by id.
    pub(crate) users: BTreeMap<String, UserRow>,
    /// Workspaces by id.
    pub(crate) workspaces: BTreeMap<String, WorkspaceRow>,
    /// Memberships, in insertion order.
    pub(crate) memberships: Vec<MembershipRow>,
    /// Link sessions by storage key.
    pub(crate) link_sessions: BTreeMap<i64, LinkRow>,
    /// Public tokens by storage key.
    pub(crate) public_tokens: BTreeMap<i64, PublicRow>,
    /// Grants by id.
    pub(crate) grants: BTreeMap<String, GrantRow>,
    /// Access tokens by digest.
    pub(crate) access_tokens: BTreeMap<String, AccessRow>,
    /// Email sign-in codes by id (the record's `id` is the key).
    pub(crate) email_codes: BTreeMap<i64, EmailCodeRecord>,
    /// GCRA rate budgets: bucket → theoretical arrival time (Unix ms).
    pub(crate) rate_budgets: BTreeMap<String, i64>,
    /// Integrations by id.
    pub(crate) integrations: BTreeMap<String, IntegrationRow>,
    /// Sync jobs by id.
    pub(crate) sync_jobs: BTreeMap<i64, SyncJobRow>,
    /// Balance snapshots by id.
    pub(crate) balances: BTreeMap<i64, BalanceRow>,
    /// The audit trail by id.
    pub(crate) audit: BTreeMap<i64, AuditEvent>,
    /// Webhook endpoints by id.
    pub(crate) webhook_endpoints: BTreeMap<String, EndpointRow>,
    /// The console's settings of webhook endpoints, by endpoint id. Written by the console
    /// capability (`ConsoleStore::update_webhook`, `set_webhook_disabled`); the outbox reads
    /// `disabled_at`: no delivery is written for a disabled endpoint.
    pub(crate) webhook_settings: BTreeMap<String, WebhookSettings>,
    /// The outbox: webhook deliveries by `seq`.
    pub(crate) deliveries: BTreeMap<i64, DeliveryRow>,

    // --- extra capabilities (ledger, oidc, console, wallets) ---
    /// Ledger transactions (with their legs) by id.
    pub(crate) ledger_txs: BTreeMap<String, crate::extra::ledger::LedgerTxRow>,
    /// Ledger cursors and sync stages by integration id.
    pub(crate) ledger_states: BTreeMap<String, crate::extra::ledger::LedgerStateRow>,
    /// Ledger positions, in insertion order.
    pub(crate) ledger_positions: Vec<crate::extra::ledger::PositionRow>,
    /// Cost basis method (and when it was set) by workspace id.
    pub(crate) cost_basis_methods: BTreeMap<String, (String, OffsetDateTime)>,
    /// OIDC signing keys by storage key (oldest first).
    pub(crate) oidc_keys: BTreeMap<i64, kc_ports::store::SigningKeyRecord>,
    /// OIDC authorization requests by storage key.
    pub(crate) oidc_requests: BTreeMap<i64, kc_ports::store::OidcRequestRecord>,
    /// OIDC authorization codes by storage key.
    pub(crate) oidc_codes: BTreeMap<i64, crate::extra::oidc::CodeRow>,
    /// OIDC refresh tokens by storage key.
    pub(crate) refresh_tokens: BTreeMap<i64, crate::extra::oidc::RefreshRow>,
    /// OIDC browser sessions (cookie digest, session) by storage key.
    pub(crate) browser_sessions: BTreeMap<i64, (String, kc_ports::store::BrowserSessionRecord)>,
    /// Operator API tokens by id.
    pub(crate) operator_tokens: BTreeMap<String, kc_ports::store::OperatorTokenRecord>,
    /// Console users by id.
    pub(crate) console_users: BTreeMap<String, kc_ports::store::ConsoleUserRecord>,
    /// Organisations by id.
    pub(crate) orgs: BTreeMap<String, kc_ports::store::OrgRecord>,
    /// Organisation memberships, in insertion order.
    pub(crate) org_members: Vec<crate::extra::console::OrgMemberRow>,
    /// Invitations by id.
    pub(crate) invitations: BTreeMap<String, kc_ports::store::InvitationRecord>,
    /// The owning organisation (and production request) by client id.
    pub(crate) client_orgs: BTreeMap<String, crate::extra::console::ClientOrgRow>,
    /// Console sessions by digest.
    pub(crate) console_sessions: BTreeMap<String, kc_ports::store::ConsoleSessionRecord>,
    /// Console sign-in codes by id (the record's `id` is the key).
    pub(crate) console_codes: BTreeMap<i64, kc_ports::store::ConsoleCodeRecord>,
    /// Data API calls by (client id, UTC day start in Unix ms).
    pub(crate) data_api_calls: BTreeMap<(String, i64), u64>,
    /// Wallet sign-in nonces by storage key.
    pub(crate) wallet_nonces: BTreeMap<i64, crate::extra::wallets::NonceRow>,
}

impl State {
    /// A new id, greater than every id handed out before (the `BIGSERIAL` of every table).
    pub(crate) fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// Whether endpoint `id` was disabled in the console.
    pub(crate) fn endpoint_disabled(&self, id: &str) -> bool {
        self.webhook_settings.get(id).is_some_and(|s| s.disabled_at.is_some())
    }
}
