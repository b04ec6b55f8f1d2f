//! The extra capabilities of [`crate::MemoryStore`]: ledger, OpenID Connect, console, wallet proofs.
//!
//! Their rows are declared here (the [`State`](crate::state::State) fields in its "extra
//! capabilities" section hold them). Operations that touch the core tables — a redeemed code
//! creates a grant and its `grant.created` deliveries, a verified wallet an integration, usage
//! counts link sessions and grants, console settings gate the outbox — do it in the same locked
//! step, through the core's `impl State` helpers.

pub(crate) mod console;
pub(crate) mod ledger;
pub(crate) mod oidc;
pub(crate) mod wallets;
