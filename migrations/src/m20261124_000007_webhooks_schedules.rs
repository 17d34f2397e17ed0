//! Webhook events with their provider ids (a duplicate delivery is stored once), schedules
//! with typed specs, and one row per schedule occurrence (a fire happens once however many
//! schedulers run).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE webhook_events
    ADD COLUMN event_id   TEXT,
    ADD COLUMN job_id     UUID,
    ADD COLUMN error      TEXT,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
UPDATE webhook_events SET event_id = id::text WHERE event_id IS NULL;
ALTER TABLE webhook_events ALTER COLUMN event_id SET NOT NULL;
CREATE UNIQUE INDEX idx_webhook_events_dedup ON webhook_events(source, event_id);
CREATE INDEX idx_webhook_events_created ON webhook_events(created_at DESC);
CREATE INDEX idx_webhook_events_status_created ON webhook_events(status, created_at DESC);

ALTER TABLE scheduled_jobs
    ADD COLUMN description TEXT,
    ADD COLUMN spec        JSONB,
    ADD COLUMN department  TEXT,
    -- Built-in schedules from the configuration have a key; user schedules do not.
    ADD COLUMN builtin_key TEXT UNIQUE,
    ADD COLUMN updated_at  TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE TABLE schedule_runs (
    id          UUID PRIMARY KEY,
    schedule_id UUID NOT NULL REFERENCES scheduled_jobs(id) ON DELETE CASCADE,
    -- The occurrence (the scheduled instant, not when it was noticed); manual runs use now.
    fire_time   TIMESTAMPTZ NOT NULL,
    manual      BOOLEAN NOT NULL DEFAULT false,
    skipped     INTEGER NOT NULL DEFAULT 0,
    job_id      UUID,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (schedule_id, fire_time)
);
CREATE INDEX idx_schedule_runs_schedule ON schedule_runs(schedule_id, fire_time DESC);
"#;

const DOWN: &str = r#"
DROP TABLE schedule_runs;
ALTER TABLE scheduled_jobs DROP COLUMN description, DROP COLUMN spec, DROP COLUMN department,
    DROP COLUMN builtin_key, DROP COLUMN updated_at;
DROP INDEX idx_webhook_events_status_created;
DROP INDEX idx_webhook_events_created;
DROP INDEX idx_webhook_events_dedup;
ALTER TABLE webhook_events DROP COLUMN event_id, DROP COLUMN job_id, DROP COLUMN error, DROP COLUMN updated_at;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await.map(|_| ())
    }
}
