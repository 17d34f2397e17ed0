//! The job system's truth: `jobs` (one row per unit of background work) and `effects`
//! (one row per side effect, keyed by job and step, so a retried job never repeats one).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE jobs (
    id               UUID PRIMARY KEY,
    queue            TEXT NOT NULL CHECK (queue IN ('agent','media','webhook','delivery','maintenance')),
    kind             TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    priority         SMALLINT NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    lane             TEXT NOT NULL CHECK (lane IN ('high','normal','low')),
    payload          JSONB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued','running','retrying','completed','dead','cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 6 CHECK (max_attempts >= 1),
    run_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    idempotency_key  TEXT UNIQUE,
    user_id          UUID REFERENCES users(id),
    progress_percent SMALLINT CHECK (progress_percent BETWEEN 0 AND 100),
    progress_message TEXT,
    result           JSONB,
    last_error       TEXT,
    worker           TEXT,
    heartbeat_at     TIMESTAMPTZ,
    pushed_at        TIMESTAMPTZ,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Due work that has not been handed to Redis recently (the sweeper's scan).
CREATE INDEX idx_jobs_due ON jobs (run_at) WHERE status IN ('queued','retrying');
-- Running work whose worker may have died.
CREATE INDEX idx_jobs_running ON jobs (heartbeat_at) WHERE status = 'running';
CREATE INDEX idx_jobs_queue_status ON jobs (queue, status);
CREATE INDEX idx_jobs_finished ON jobs (finished_at DESC) WHERE finished_at IS NOT NULL;
CREATE INDEX idx_jobs_user ON jobs (user_id, created_at DESC);

CREATE TABLE effects (
    key          TEXT PRIMARY KEY,
    job_id       UUID NOT NULL REFERENCES jobs(id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('started','done')),
    result       JSONB,
    attempts     INTEGER NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at TIMESTAMPTZ
);
CREATE INDEX idx_effects_job ON effects (job_id);
"#;

const DOWN: &str = r#"
DROP TABLE IF EXISTS effects;
DROP TABLE IF EXISTS jobs;
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
