//! Database migrations (sea-orm-migration). One file per migration; migrations are additive
//! and each has a `down`. Run them with `mezzofy migrate` (the api and worker refuse to start
//! on a database that is behind).

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_jobs;
mod m20261124_000003_company;
mod m20261124_000004_artifacts;
mod m20261124_000005_outbox;
mod m20261124_000006_devices_consent;
mod m20261124_000007_webhooks_schedules;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_jobs::Migration),
            Box::new(m20261124_000003_company::Migration),
            Box::new(m20261124_000004_artifacts::Migration),
            Box::new(m20261124_000005_outbox::Migration),
            Box::new(m20261124_000006_devices_consent::Migration),
            Box::new(m20261124_000007_webhooks_schedules::Migration),
        ]
    }
}

/// Names of all migrations, in order (used to detect a database that is behind).
pub fn migration_names() -> Vec<String> {
    Migrator::migrations().iter().map(|m| m.name().to_string()).collect()
}
