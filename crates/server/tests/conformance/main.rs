//! The conformance suite: one set of cases, written once against the `kc-api` traits, run
//! against every adapter that implements them:
//!
//! - `service_sqlite`: the in-process [`kc_service::Service`] on SQLite;
//! - `client_sqlite`: [`kc_client::Client`] over HTTP to a server on SQLite;
//! - `client_postgres`: the same on a fresh PostgreSQL database;
//! - `embedded_memory`: [`kc_client::Client`] over HTTP to the router nested under `/kryptos`
//!   in a host app (`axum::serve`), on the in-memory store — embedding changes no answer.
//!
//! Each case gets a fresh server and database ([`harness::World`]) and drives it only through
//! the traits (administration — registering clients, moving the clock — goes through the
//! server's own service, which is not under test). A new adapter passes by adding one line to
//! [`adapters!`] below: a name and an async expression building its [`harness::World`].
//!
//! `http` holds what only an HTTP client can observe (statuses, rate limiting, redaction);
//! regression cases for server bugs found by the suite or by contract fuzzing live there too.
#![allow(dead_code)]

#[path = "../it/helpers.rs"]
mod helpers;

mod cases;
mod harness;
mod http;

/// One `#[tokio::test]` per case of [`cases`], for the adapter built by `$make`.
macro_rules! suite {
    ($make:expr) => {
        suite!(@cases $make;
            link_token_for_a_new_user,
            link_token_scopes,
            invalid_scope,
            invalid_client,
            whole_lifecycle_of_a_new_user,
            public_token_is_exchanged_once,
            concurrent_exchanges_yield_one_access_token,
            public_token_expires_after_30_minutes,
            bad_public_tokens_are_invalid_token,
            returning_user_resumes_the_session,
            dead_access_token_cannot_resume,
            check_session_reasons,
            access_token_expires_after_15_years,
            revoke_rules,
            grants_are_listed_per_client_and_paged,
            link_token_dies_when_the_widget_completes,
            integrations_are_removed_from_the_sessions_workspace_only,
            link_token_expires_after_30_minutes,
            bad_link_tokens_are_invalid_token,
            widget_steps_run_in_order,
            denied_consent_ends_the_session,
            workspace_selection_errors,
            sandbox_rules,
            data_api_enforces_scopes,
            data_api_rejects_dead_and_foreign_tokens,
            developer_endpoints,
            email_sign_in_rejects_malformed_addresses,
            health_and_public_providers,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let world = $make.await;
                crate::cases::$case(&world).await;
                world.finish().await;
            }
        )*
    };
}

/// The adapters under test: `name => async expression yielding a harness::World`.
macro_rules! adapters {
    ($($name:ident => $make:expr),* $(,)?) => {
        $(
            mod $name {
                suite!($make);
            }
        )*
    };
}

adapters! {
    service_sqlite => crate::harness::in_process(crate::helpers::Db::Sqlite),
    client_sqlite => crate::harness::http_client(crate::helpers::Db::Sqlite),
    client_postgres => crate::harness::http_client(crate::helpers::Db::Postgres),
    embedded_memory => crate::harness::embedded_client(),
}
