//! Schema migrations, run at start-up and by `kryptos-connect migrate`.

use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_widget;
mod m20261123_000003_data;
mod m20261123_000004_webhooks;

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
        ]
    }
}
