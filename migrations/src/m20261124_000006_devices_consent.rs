//! Push devices, side effects waiting for the user's consent, and the CRM activity log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE devices (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- An FCM registration token belongs to one app install, so to one user at a time.
    token        TEXT NOT NULL UNIQUE CHECK (length(token) BETWEEN 16 AND 4096),
    platform     TEXT NOT NULL CHECK (platform IN ('android','ios','web')),
    app_version  TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_devices_user ON devices(user_id);

CREATE TABLE pending_actions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id   UUID,
    turn_id      UUID NOT NULL,
    tool         TEXT NOT NULL,
    input        JSONB NOT NULL,
    -- Why consent is needed: the untrusted content the agent had read.
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','failed')),
    result       JSONB,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    -- The same call asked twice in one turn is one pending action.
    UNIQUE (turn_id, tool, input)
);
CREATE INDEX idx_pending_actions_user ON pending_actions(user_id, created_at DESC);

CREATE TABLE crm_activities (
    id              UUID PRIMARY KEY,
    lead_id         UUID NOT NULL REFERENCES sales_leads(id) ON DELETE CASCADE,
    user_id         UUID REFERENCES users(id),
    kind            TEXT NOT NULL CHECK (kind IN ('contact','follow_up','status','note')),
    channel         TEXT,
    summary         TEXT NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    -- A retried turn or job logs the activity once.
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_crm_activities_lead ON crm_activities(lead_id, occurred_at DESC);
"#;

const DOWN: &str = r#"
DROP TABLE crm_activities;
DROP TABLE pending_actions;
DROP TABLE devices;
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
