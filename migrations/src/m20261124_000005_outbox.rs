//! The delivery outbox: every e-mail, Teams post, calendar event and push the system sends,
//! fully rendered, whether it went to a provider or (without credentials) stayed here.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE outbox (
    id          UUID PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('email','teams','calendar','push')),
    status      TEXT NOT NULL CHECK (status IN ('outbox','sent','failed')),
    user_id     UUID REFERENCES users(id),
    recipients  JSONB NOT NULL DEFAULT '[]',
    subject     TEXT,
    body        TEXT NOT NULL,
    attachments JSONB NOT NULL DEFAULT '[]',
    detail      JSONB,
    job_id      UUID,
    effect_key  TEXT NOT NULL UNIQUE,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ
);
CREATE INDEX idx_outbox_created ON outbox(created_at DESC);
CREATE INDEX idx_outbox_channel ON outbox(channel, status, created_at DESC);
ALTER TABLE email_log ADD COLUMN outbox_id UUID REFERENCES outbox(id);
"#;

const DOWN: &str = r#"
ALTER TABLE email_log DROP COLUMN outbox_id;
DROP TABLE outbox;
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
