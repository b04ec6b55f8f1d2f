//! The conformance checks of the capabilities kept apart from [`Store`]: [`LedgerStore`],
//! [`OidcStore`], [`ConsoleStore`] and [`WalletProofStore`].
//!
//! Each check is a public async function of one fresh store, named after the promise it checks,
//! that panics with a clear message when the store breaks it. Run them all with [`run_extra`]
//! (which reports every failed check by name), or one `#[tokio::test]` each with
//! [`extra_tests!`](crate::extra_tests). The checks keep to what the ports' doc comments promise
//! (and what `kc_store::SeaStore`, the reference, does where the docs leave a detail open); where several of those operations touch the core tables
//! (a redeemed authorization code creates a grant and its outbox rows, a verified wallet an
//! integration and its first sync job, usage counts link sessions and exchanges), the checks
//! read the effect back through the core capabilities.

mod console;
mod ledger;
mod oidc;
mod wallets;

use kc_domain::{
    ClientId, ClientMode, ClientRecord, GrantId, GrantRecord, LinkSession, ScopeSet, Sealed, SyncStatus, TokenDigest,
    UserId, WebhookEvent, WorkspaceId,
};
use kc_ports::{
    ConsoleStore, ExchangeOutcome, IntegrationRecord, IssueGrant, LedgerStore, NewGuest, NewLinkSession,
    NewPublicToken, OidcStore, Store, StoreResult, WalletProofStore, WebhookEndpointRecord,
};
use std::future::Future;
use time::{Duration, OffsetDateTime};

/// Everything the extra checks need of an adapter (clones share one store: race checks run
/// [`RACERS`](crate::RACERS) tasks at once on clones).
pub trait ExtraStore: Store + LedgerStore + OidcStore + ConsoleStore + WalletProofStore + Clone + 'static {}
impl<T: Store + LedgerStore + OidcStore + ConsoleStore + WalletProofStore + Clone + 'static> ExtraStore for T {}

/// One `#[tokio::test]` per extra check, each on a fresh store from `$fresh` (an async fn or
/// closure returning the store); also the list behind [`EXTRA_CHECKS`] and [`run_extra_check`].
///
/// ```text
/// async fn fresh() -> MyStore { MyStore::new().await }
/// kc_store_conformance::extra_tests!(fresh);
/// ```
#[macro_export]
macro_rules! extra_tests {
    (@names) => { $crate::extra_tests! { @list names () } };
    (@list $mode:ident $ctx:tt) => {
        $crate::extra_tests! { @$mode $ctx
            ledger_pages_are_idempotent_per_platform_id,
            ledger_query_orders_filters_and_pages,
            ledger_offset_pages_stay_exact,
            ledger_offset_pages_stay_exact_while_syncs_race_processing,
            ledger_unpriced_legs_and_prices,
            ledger_prices_and_processing_race_without_deadlock,
            ledger_racing_pages_never_duplicate,
            ledger_outcome_positions_and_reset,
            ledger_stages_cursor_and_cost_basis_method,
            ledger_processing_events_reach_live_grants_once,
            oidc_signing_keys_one_per_generation,
            oidc_code_issue_is_single_use,
            oidc_code_redemption_is_single_use,
            oidc_code_redemption_race_has_one_winner,
            oidc_refresh_rotation_detects_reuse,
            oidc_refresh_rotation_race_has_one_winner,
            oidc_grants_of_and_silent_codes,
            oidc_browser_sessions,
            console_operator_tokens,
            console_users_orgs_and_members,
            console_invitations,
            console_invitation_accept_race_has_one_winner,
            console_sessions_and_sign_in_codes,
            console_client_orgs_modes_and_production_requests,
            console_webhook_settings_and_deliveries,
            console_usage_per_day,
            wallet_nonce_is_single_use,
            wallet_nonce_race_has_one_winner,
            wallet_nonce_purge,
        }
    };
    (@names () $($name:ident),* $(,)?) => { &[$(stringify!($name)),*] };
    (@dispatch ($name_var:ident, $store:ident) $($name:ident),* $(,)?) => {
        match $name_var {
            $(stringify!($name) => $crate::extra::$name($store).await,)*
            _ => return false,
        }
    };
    (@tests ($fresh:expr) $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = ($fresh)().await;
                $crate::extra::$name(store).await;
            }
        )*
    };
    ($fresh:expr) => { $crate::extra_tests! { @list tests ($fresh) } };
}

/// The names of the extra checks, in the order [`run_extra`] runs them.
pub const EXTRA_CHECKS: &[&str] = crate::extra_tests!(@names);

/// Runs one extra check by name on `store`; `false` if there is no check of that name.
pub async fn run_extra_check<S: ExtraStore>(name: &str, store: S) -> bool {
    crate::extra_tests! { @list dispatch (name, store) }
    true
}

/// Runs every extra check, each on a fresh store from `fresh`. Every check runs even when an
/// earlier one failed; then it panics naming each failed check and why.
pub async fn run_extra<S, F, Fut>(fresh: F)
where
    S: ExtraStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    crate::run_checks("extra", EXTRA_CHECKS, fresh, |name, store| run_extra_check(name, store)).await;
}

/// The extra check `ledger_pages_are_idempotent_per_platform_id`.
pub async fn ledger_pages_are_idempotent_per_platform_id<S: ExtraStore>(store: S) {
    ledger::pages_are_idempotent(&store).await
}

/// The extra check `ledger_query_orders_filters_and_pages`.
pub async fn ledger_query_orders_filters_and_pages<S: ExtraStore>(store: S) {
    ledger::query_orders_filters_and_pages(&store).await
}

/// The extra check `ledger_offset_pages_stay_exact`.
pub async fn ledger_offset_pages_stay_exact<S: ExtraStore>(store: S) {
    ledger::offset_pages_stay_exact(&store).await
}

/// The extra check `ledger_offset_pages_stay_exact_while_syncs_race_processing`.
pub async fn ledger_offset_pages_stay_exact_while_syncs_race_processing<S: ExtraStore>(store: S) {
    ledger::offset_pages_stay_exact_while_syncs_race_processing(&store).await
}

/// The extra check `ledger_prices_and_processing_race_without_deadlock`.
pub async fn ledger_prices_and_processing_race_without_deadlock<S: ExtraStore>(store: S) {
    ledger::prices_and_processing_race_without_deadlock(&store).await
}

/// The extra check `ledger_unpriced_legs_and_prices`.
pub async fn ledger_unpriced_legs_and_prices<S: ExtraStore>(store: S) {
    ledger::unpriced_legs_and_prices(&store).await
}

/// The extra check `ledger_outcome_positions_and_reset`.
pub async fn ledger_outcome_positions_and_reset<S: ExtraStore>(store: S) {
    ledger::outcome_positions_and_reset(&store).await
}

/// The extra check `ledger_stages_cursor_and_cost_basis_method`.
pub async fn ledger_stages_cursor_and_cost_basis_method<S: ExtraStore>(store: S) {
    ledger::stages_cursor_and_method(&store).await
}

/// The extra check `ledger_processing_events_reach_live_grants_once`.
pub async fn ledger_processing_events_reach_live_grants_once<S: ExtraStore>(store: S) {
    ledger::processing_events(&store).await
}

/// The extra check `oidc_signing_keys_one_per_generation`.
pub async fn oidc_signing_keys_one_per_generation<S: ExtraStore>(store: S) {
    oidc::signing_keys(&store).await
}

/// The extra check `oidc_code_issue_is_single_use`.
pub async fn oidc_code_issue_is_single_use<S: ExtraStore>(store: S) {
    oidc::code_issue_single_use(&store).await
}

/// The extra check `oidc_code_redemption_is_single_use`.
pub async fn oidc_code_redemption_is_single_use<S: ExtraStore>(store: S) {
    oidc::code_redemption_single_use(&store).await
}

/// The extra check `oidc_code_redemption_race_has_one_winner`.
pub async fn oidc_code_redemption_race_has_one_winner<S: ExtraStore>(store: S) {
    oidc::code_redemption_race(&store).await
}

/// The extra check `oidc_refresh_rotation_detects_reuse`.
pub async fn oidc_refresh_rotation_detects_reuse<S: ExtraStore>(store: S) {
    oidc::refresh_rotation(&store).await
}

/// The extra check `oidc_refresh_rotation_race_has_one_winner`.
pub async fn oidc_refresh_rotation_race_has_one_winner<S: ExtraStore>(store: S) {
    oidc::refresh_rotation_race(&store).await
}

/// The extra check `ledger_racing_pages_never_duplicate`.
pub async fn ledger_racing_pages_never_duplicate<S: ExtraStore>(store: S) {
    ledger::racing_pages_never_duplicate(&store).await
}

/// The extra check `oidc_grants_of_and_silent_codes`.
pub async fn oidc_grants_of_and_silent_codes<S: ExtraStore>(store: S) {
    oidc::grants_of_and_silent_codes(&store).await
}

/// The extra check `oidc_browser_sessions`.
pub async fn oidc_browser_sessions<S: ExtraStore>(store: S) {
    oidc::browser_sessions(&store).await
}

/// The extra check `console_operator_tokens`.
pub async fn console_operator_tokens<S: ExtraStore>(store: S) {
    console::operator_tokens(&store).await
}

/// The extra check `console_users_orgs_and_members`.
pub async fn console_users_orgs_and_members<S: ExtraStore>(store: S) {
    console::users_orgs_members(&store).await
}

/// The extra check `console_invitations`.
pub async fn console_invitations<S: ExtraStore>(store: S) {
    console::invitations(&store).await
}

/// The extra check `console_invitation_accept_race_has_one_winner`.
pub async fn console_invitation_accept_race_has_one_winner<S: ExtraStore>(store: S) {
    console::invitation_race(&store).await
}

/// The extra check `console_sessions_and_sign_in_codes`.
pub async fn console_sessions_and_sign_in_codes<S: ExtraStore>(store: S) {
    console::sessions_and_codes(&store).await
}

/// The extra check `console_client_orgs_modes_and_production_requests`.
pub async fn console_client_orgs_modes_and_production_requests<S: ExtraStore>(store: S) {
    console::client_orgs(&store).await
}

/// The extra check `console_webhook_settings_and_deliveries`.
pub async fn console_webhook_settings_and_deliveries<S: ExtraStore>(store: S) {
    console::webhook_settings(&store).await
}

/// The extra check `console_usage_per_day`.
pub async fn console_usage_per_day<S: ExtraStore>(store: S) {
    console::usage(&store).await
}

/// The extra check `wallet_nonce_is_single_use`.
pub async fn wallet_nonce_is_single_use<S: ExtraStore>(store: S) {
    wallets::nonce_single_use(&store).await
}

/// The extra check `wallet_nonce_race_has_one_winner`.
pub async fn wallet_nonce_race_has_one_winner<S: ExtraStore>(store: S) {
    wallets::nonce_race(&store).await
}

/// The extra check `wallet_nonce_purge`.
pub async fn wallet_nonce_purge<S: ExtraStore>(store: S) {
    wallets::nonce_purge(&store).await
}

/// Runs [`RACERS`](crate::RACERS) copies of `f` at once, each a task on its own clone of the
/// store, released together by a barrier; their results in task order.
pub(crate) async fn race<S, T, F, Fut>(s: &S, f: F) -> Vec<T>
where
    S: ExtraStore,
    T: Send + 'static,
    F: Fn(S, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let n = usize::try_from(crate::RACERS).unwrap_or(8);
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (fut, gate) = (f(s.clone(), i), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| panic!("a racing task failed: {e}")));
    }
    out
}

// ---- fixtures shared by the extra checks ----

/// A fixed instant at a UTC midnight, with whole seconds (every adapter keeps milliseconds).
pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(20_718 * 86_400).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The value of a store call that must succeed.
#[track_caller]
pub(crate) fn must<T>(r: StoreResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: store error {e}"),
    }
}

/// Registers an enabled sandbox client.
pub(crate) async fn client<S: ExtraStore>(s: &S, tag: &str) -> ClientRecord {
    let c = ClientRecord {
        id: ClientId::from_stored(format!("kc_{tag}")),
        name: format!("client {tag}"),
        mode: ClientMode::Sandbox,
        allowed_scopes: ScopeSet::default_client(),
        allowed_origins: vec!["https://app.example".to_owned()],
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        logo_url: None,
        secret_digest: format!("digest-{tag}"),
        disabled: false,
    };
    must(s.insert_client(&c, t0()).await, "insert_client");
    c
}

/// The scopes the fixtures ask for.
pub(crate) fn scopes() -> ScopeSet {
    ScopeSet::from_stored("openid offline_access transactions:read")
}

/// A new link session of `client` created at `now`, living an hour.
pub(crate) fn new_session(client: &ClientId, tag: &str, now: OffsetDateTime) -> NewLinkSession {
    NewLinkSession {
        digest: TokenDigest::of(&format!("link_{tag}")),
        client_id: client.clone(),
        scopes: scopes(),
        created_at: now,
        expires_at: now + Duration::hours(1),
        resumed: None,
        integration_name: None,
        prefill_json: None,
    }
}

/// Stores a link session and reads it back.
pub(crate) async fn session<S: ExtraStore>(s: &S, client: &ClientId, tag: &str, now: OffsetDateTime) -> LinkSession {
    let n = new_session(client, tag, now);
    must(s.insert_link_session(&n).await, "insert_link_session");
    match must(s.find_link_session(&n.digest).await, "find_link_session") {
        Some(l) => l,
        None => panic!("link session {tag} not found after insert"),
    }
}

/// Signs a new guest in on `session_id`: its user and personal workspace.
pub(crate) async fn guest<S: ExtraStore>(
    s: &S,
    session_id: i64,
    tag: &str,
    now: OffsetDateTime,
) -> (UserId, WorkspaceId) {
    let g = NewGuest {
        user_id: UserId::from_stored(format!("00000000-0000-4000-8000-{:0>12}", tag_digits(tag))),
        workspace_id: WorkspaceId::from_stored(format!("00000000-0000-4000-9000-{:0>12}", tag_digits(tag))),
        workspace_name: format!("workspace {tag}"),
        created_at: now,
    };
    assert!(must(s.create_guest_for_session(session_id, &g).await, "create_guest_for_session"), "guest {tag} refused");
    (g.user_id, g.workspace_id)
}

fn tag_digits(tag: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in tag.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    format!("{:012}", h % 1_000_000_000_000)
}

/// Completes `session_id` with a public token of `user` over `workspace`; returns its digest.
pub(crate) async fn complete<S: ExtraStore>(
    s: &S,
    session_id: i64,
    user: &UserId,
    workspace: &WorkspaceId,
    tag: &str,
    now: OffsetDateTime,
) -> TokenDigest {
    let digest = TokenDigest::of(&format!("public_{tag}"));
    let p = NewPublicToken {
        digest: digest.clone(),
        user_id: user.clone(),
        workspace_id: workspace.clone(),
        scopes: scopes(),
        created_at: now,
        expires_at: now + Duration::minutes(30),
    };
    assert!(
        must(s.complete_link_session(session_id, now, Some(p)).await, "complete_link_session"),
        "completion refused"
    );
    digest
}

/// A live grant of `client` over `workspace` of `user`, through a full widget run and exchange at `now`.
pub(crate) async fn grant_on<S: ExtraStore>(
    s: &S,
    client: &ClientId,
    user: &UserId,
    workspace: &WorkspaceId,
    tag: &str,
    now: OffsetDateTime,
) -> GrantRecord {
    let l = session(s, client, &format!("g-{tag}"), now).await;
    let public = complete(s, l.id, user, workspace, &format!("g-{tag}"), now).await;
    let issue = IssueGrant {
        grant_id: GrantId::from_stored(format!("cgrant_{tag}")),
        access_digest: TokenDigest::of(&format!("cat_{tag}")),
        created_at: now,
        expires_at: now + Duration::days(365),
    };
    match must(s.exchange_public_token(&public, client, now, &issue).await, "exchange_public_token") {
        ExchangeOutcome::Issued(g) => g,
        ExchangeOutcome::Refused(why) => panic!("exchange of a fresh public token refused: {why:?}"),
    }
}

/// A new guest (and workspace) on a fresh widget run of `client`, with a live grant of `client`.
pub(crate) async fn connected<S: ExtraStore>(s: &S, client: &ClientId, tag: &str, now: OffsetDateTime) -> GrantRecord {
    let l = session(s, client, &format!("u-{tag}"), now).await;
    let (user, ws) = guest(s, l.id, tag, now).await;
    grant_on(s, client, &user, &ws, tag, now).await
}

/// A webhook endpoint of `client` subscribed to `events` (empty: every event).
pub(crate) async fn endpoint<S: ExtraStore>(
    s: &S,
    client: &ClientId,
    id: &str,
    events: Vec<WebhookEvent>,
    now: OffsetDateTime,
) -> WebhookEndpointRecord {
    let e = WebhookEndpointRecord {
        id: id.to_owned(),
        client_id: client.clone(),
        url: format!("https://hooks.example/{id}"),
        events,
        secret: Sealed { key_id: "k1".to_owned(), blob: format!("sealed-{id}") },
        created_at: now,
        updated_at: now,
    };
    must(s.insert_webhook_endpoint(&e).await, "insert_webhook_endpoint");
    e
}

/// A wallet integration of `workspace` (not yet stored).
pub(crate) fn wallet(
    id: &str,
    workspace: &WorkspaceId,
    provider: &str,
    address: &str,
    now: OffsetDateTime,
) -> IntegrationRecord {
    IntegrationRecord {
        id: id.to_owned(),
        workspace_id: workspace.clone(),
        provider: provider.to_owned(),
        category: "blockchain".to_owned(),
        address: Some(address.to_owned()),
        alias: None,
        account_name: None,
        credentials: None,
        credential_fingerprint: None,
        sync_status: SyncStatus::Queued,
        last_error: None,
        last_synced_at: None,
        total_transactions: 0,
        created_at: now,
        verified_at: None,
        proof_method: None,
    }
}
