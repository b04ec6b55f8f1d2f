//! Schema migrations, run at start-up and by `kryptos-connect migrate`.

use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_widget;
mod m20261123_000003_data;
mod m20261123_000004_webhooks;
mod m20261124_000001_abuse_limits;
mod m20261125_000001_ledger;
mod m20261125_000001_oidc;
mod m20261126_000001_client_origins;
mod m20261127_000001_console;
mod m20261128_000001_wallet_proofs;
mod m20261129_000001_ledger_import_source;
mod m20261130_000001_client_usage;
mod m20261201_000001_ledger_position;
mod m20261201_000001_oidc_browser_sessions;
mod m20261202_000001_ledger_transaction_count;
mod m20261203_000001_ledger_ordinals;

pub(crate) use m20261126_000001_client_origins::ClientOrigins;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_widget::Migration),
            Box::new(m20261123_000003_data::Migration),
            Box::new(m20261123_000004_webhooks::Migration),
            Box::new(m20261124_000001_abuse_limits::Migration),
            Box::new(m20261125_000001_ledger::Migration),
            Box::new(m20261125_000001_oidc::Migration),
            Box::new(m20261126_000001_client_origins::Migration),
            Box::new(m20261127_000001_console::Migration),
            Box::new(m20261128_000001_wallet_proofs::Migration),
            Box::new(m20261129_000001_ledger_import_source::Migration),
            Box::new(m20261130_000001_client_usage::Migration),
            Box::new(m20261201_000001_ledger_position::Migration),
            Box::new(m20261201_000001_oidc_browser_sessions::Migration),
            Box::new(m20261202_000001_ledger_transaction_count::Migration),
            Box::new(m20261203_000001_ledger_ordinals::Migration),
        ]
    }
}
