//! Artifacts become owned files: what their content was detected as, where they came from,
//! and the key of the stored bytes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE artifacts
    ADD COLUMN content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    ADD COLUMN source       TEXT NOT NULL DEFAULT 'generated' CHECK (source IN ('upload','generated')),
    ADD COLUMN category     TEXT;
ALTER TABLE artifacts ALTER COLUMN user_id SET NOT NULL;
CREATE INDEX idx_artifacts_session ON artifacts(session_id) WHERE session_id IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP INDEX IF EXISTS idx_artifacts_session;
ALTER TABLE artifacts ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE artifacts DROP COLUMN category, DROP COLUMN source, DROP COLUMN content_type;
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
