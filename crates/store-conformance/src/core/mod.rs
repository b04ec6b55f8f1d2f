//! The conformance checks of the core capabilities ([`Store`]) and [`HotPathStore`].
//!
//! Each check is a public async function of one fresh store, named after the promise it
//! checks, that panics with a clear message when the store breaks it. They keep to what the
//! ports' doc comments promise (and what `kc_store::SeaStore`, the reference, does where the
//! docs leave a detail open); race checks run [`RACERS`] tasks at once on clones of the store.
//!
//! Run them all with [`run_core`], or one `#[tokio::test]` each with [`core_tests!`](crate::core_tests):
//!
//! ```text
//! // tests/conformance.rs of an adapter (dev-dependencies: kc-store-conformance, tokio with
//! // the `macros` and `rt-multi-thread` features)
//! async fn fresh() -> MyStore { MyStore::connect_to_a_new_empty_database().await }
//! kc_store_conformance::core_tests!(fresh);
//! ```

mod audit;
mod clients;
pub(crate) mod fixtures;
mod grants;
mod hot;
mod integrations;
mod sessions;
mod sign_in;
mod webhooks;

pub use audit::*;
pub use clients::*;
pub use grants::*;
pub use hot::*;
pub use integrations::*;
pub use sessions::*;
pub use sign_in::*;
pub use webhooks::*;

use kc_ports::store::{HotPathStore, Store};
use std::future::Future;

/// How many tasks a race check runs at once.
pub const RACERS: i64 = 8;

/// Everything the core checks need of an adapter: every core capability and the hot paths,
/// cheap to clone (clones share the data) so race checks can run tasks on it.
pub trait CoreStore: Store + HotPathStore + Clone + 'static {}
impl<T: Store + HotPathStore + Clone + 'static> CoreStore for T {}

/// One `#[tokio::test]` per core check, each on a fresh store from `$fresh` (an async
/// function, or anything callable returning a future of a store). Also, with `@names`, the
/// checks' names (that is [`CORE_CHECKS`]): the list is written once, here.
#[macro_export]
macro_rules! core_tests {
    (@names) => { $crate::core_tests! { @list names () } };
    (@list $mode:ident $ctx:tt) => {
        $crate::core_tests! { @$mode $ctx
            clients_insert_find_list,
            clients_duplicate_is_conflict,
            clients_update_is_compare_and_swap,
            clients_update_race_has_one_winner,
            clients_secret_and_disable,
            link_session_roundtrip,
            guest_creation_is_once,
            guest_creation_race_has_one_winner,
            consent_and_workspace_need_an_open_session,
            completion_is_exactly_once,
            completion_race_has_one_winner,
            extend_grant_unions_scopes,
            concurrent_extensions_keep_every_scope,
            email_code_attempts_and_consumption,
            email_code_counts_and_times,
            email_code_races_spend_exactly_the_budget,
            email_sign_in_creates_or_finds_the_user,
            email_sign_in_race_creates_one_user,
            email_sign_in_race_on_one_session_has_one_winner,
            rate_budget_is_gcra,
            rate_budget_race_admits_exactly_burst,
            integration_insert_queues_first_sync,
            sync_claim_lease_and_reclaim,
            a_sync_finished_with_a_follow_up_runs_again_at_its_time,
            sync_failure_requeues_or_fails,
            sync_claim_race_has_one_winner,
            sync_claims_spread_over_due_jobs,
            enqueue_sync_race_queues_one_job,
            delete_integration_removes_everything,
            integration_events_reach_each_granted_client_once,
            exchange_is_exactly_once,
            exchange_refusals_are_classified,
            exchange_race_has_one_winner,
            exchange_and_audit_is_one_step,
            exchange_conflict_consumes_nothing,
            revocation_is_seen_everywhere,
            revocation_race_has_one_winner,
            grant_limits_roundtrip,
            active_grants_page_in_order,
            audit_trail_lists_and_purges,
            queue_stats_count_open_work,
            webhook_endpoints_roundtrip,
            outbox_fans_out_to_subscribed_endpoints,
            outbox_orders_per_endpoint_and_grant,
            delivery_claim_lease_and_holder,
            delivery_claim_race_has_one_winner,
            delivery_claim_race_keeps_grant_order,
            removing_an_endpoint_cancels_its_pending_deliveries,
            purge_deliveries_by_outcome,
            client_access_reads_in_one_step,
            client_access_may_read_holdings_with_the_grant,
            create_link_session_audits_in_one_step,
            concurrent_link_sessions_each_get_their_own_answer,
        }
    };
    (@names () $($name:ident),* $(,)?) => { &[$(stringify!($name)),*] };
    (@dispatch ($name_var:ident, $store:ident) $($name:ident),* $(,)?) => {
        match $name_var {
            $(stringify!($name) => $crate::core::$name($store).await,)*
            _ => return false,
        }
    };
    (@tests ($fresh:expr) $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = ($fresh)().await;
                $crate::core::$name(store).await;
            }
        )*
    };
    ($fresh:expr) => { $crate::core_tests! { @list tests ($fresh) } };
}

/// The names of the core checks, in the order [`run_core`] runs them.
pub const CORE_CHECKS: &[&str] = crate::core_tests!(@names);

/// Runs one core check by name on `store`; `false` if there is no check of that name.
pub async fn run_core_check<S: CoreStore>(name: &str, store: S) -> bool {
    crate::core_tests! { @list dispatch (name, store) }
    true
}

/// Runs every core check, each on a fresh store from `fresh`. Every check runs even when an
/// earlier one failed; then it panics naming each failed check and why.
pub async fn run_core<S, F, Fut>(fresh: F)
where
    S: CoreStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    crate::run_checks("core", CORE_CHECKS, fresh, |name, store| run_core_check(name, store)).await;
}
