//! The base schema: the tables of the seed's INFRASTRUCTURE.md (users, conversations,
//! sales_leads, artifacts, audit_log, llm_usage, email_log, scheduled_jobs, webhook_events)
//! with their indexes, plus chat sessions and the token families of the auth design.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE users (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email               TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    password_hash       TEXT NOT NULL,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    department          TEXT NOT NULL CHECK (department IN ('finance','sales','marketing','support','operations','management')),
    role                TEXT NOT NULL,
    is_active           BOOLEAN NOT NULL DEFAULT true,
    -- Tokens issued before this instant are refused (password change, deactivation).
    tokens_valid_after  TIMESTAMPTZ NOT NULL DEFAULT to_timestamp(0),
    password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at       TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_users_department ON users(department, role);

-- One family per login; refresh rotation stays in the family. Revoking a family revokes
-- its refresh tokens and every access token minted from it.
CREATE TABLE token_families (
    id             UUID PRIMARY KEY,
    user_id        UUID NOT NULL REFERENCES users(id),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT,
    user_agent     TEXT,
    ip_address     TEXT
);
CREATE INDEX idx_token_families_user ON token_families(user_id) WHERE revoked_at IS NULL;
CREATE INDEX idx_token_families_revoked ON token_families(expires_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    jti         UUID PRIMARY KEY,
    family_id   UUID NOT NULL REFERENCES token_families(id),
    user_id     UUID NOT NULL REFERENCES users(id),
    issued_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    replaced_by UUID
);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE chat_sessions (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID NOT NULL REFERENCES users(id),
    title      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_chat_sessions_user ON chat_sessions(user_id, updated_at DESC);

CREATE TABLE conversations (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID REFERENCES users(id),
    session_id UUID NOT NULL REFERENCES chat_sessions(id),
    role       TEXT NOT NULL CHECK (role IN ('user','assistant','system','tool')),
    content    TEXT NOT NULL,
    metadata   JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_conversations_session ON conversations(session_id, created_at);
CREATE INDEX idx_conversations_user ON conversations(user_id, created_at DESC);

CREATE TABLE sales_leads (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    company_name   TEXT NOT NULL,
    contact_name   TEXT,
    contact_email  TEXT,
    contact_phone  TEXT,
    industry       TEXT,
    location       TEXT,
    source         TEXT,
    status         TEXT NOT NULL DEFAULT 'new'
                   CHECK (status IN ('new','contacted','qualified','proposal','closed_won','closed_lost')),
    assigned_to    UUID REFERENCES users(id),
    notes          TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_contacted TIMESTAMPTZ,
    follow_up_date TIMESTAMPTZ
);
CREATE INDEX idx_leads_status ON sales_leads(status, assigned_to);
CREATE INDEX idx_leads_company ON sales_leads(company_name);
CREATE INDEX idx_leads_followup ON sales_leads(follow_up_date) WHERE follow_up_date IS NOT NULL;

CREATE TABLE artifacts (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID REFERENCES users(id),
    session_id UUID,
    type       TEXT NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    size_bytes BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_artifacts_user ON artifacts(user_id, created_at DESC);

-- Append-only for the application: a trigger refuses UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    user_id     UUID REFERENCES users(id),
    department  TEXT,
    action      TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'mobile',
    details     JSONB,
    ip_address  TEXT,
    request_id  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_audit_user ON audit_log(user_id, created_at DESC);
CREATE INDEX idx_audit_action ON audit_log(action, created_at DESC);
CREATE INDEX idx_audit_created ON audit_log(created_at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

CREATE TABLE llm_usage (
    id            BIGSERIAL PRIMARY KEY,
    model         TEXT NOT NULL,
    department    TEXT,
    user_id       UUID REFERENCES users(id),
    input_tokens  INTEGER,
    output_tokens INTEGER,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_llm_usage_created ON llm_usage(created_at DESC);

CREATE TABLE email_log (
    id         BIGSERIAL PRIMARY KEY,
    user_id    UUID REFERENCES users(id),
    to_address TEXT NOT NULL,
    subject    TEXT,
    status     TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_email_log_user ON email_log(user_id, created_at DESC);

CREATE TABLE scheduled_jobs (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID REFERENCES users(id),
    name       TEXT NOT NULL,
    agent      TEXT NOT NULL,
    message    TEXT NOT NULL,
    schedule   TEXT NOT NULL,
    deliver_to JSONB NOT NULL,
    is_active  BOOLEAN NOT NULL DEFAULT true,
    last_run   TIMESTAMPTZ,
    next_run   TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_scheduled_active ON scheduled_jobs(is_active, next_run);

CREATE TABLE webhook_events (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    source       TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      JSONB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'received'
                 CHECK (status IN ('received','processing','completed','failed')),
    task_id      TEXT,
    result       JSONB,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);
CREATE INDEX idx_webhook_events_source ON webhook_events(source, created_at DESC);
CREATE INDEX idx_webhook_events_status ON webhook_events(status) WHERE status != 'completed';
"#;

const DOWN: &str = r#"
DROP TABLE IF EXISTS webhook_events;
DROP TABLE IF EXISTS scheduled_jobs;
DROP TABLE IF EXISTS email_log;
DROP TABLE IF EXISTS llm_usage;
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_log_is_append_only();
DROP TABLE IF EXISTS artifacts;
DROP TABLE IF EXISTS sales_leads;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS chat_sessions;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS token_families;
DROP TABLE IF EXISTS users;
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
