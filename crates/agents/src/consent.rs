//! `POST /chat/confirm/{id}`: runs exactly the side-effecting call that was held for the
//! user's consent (same user, tool and arguments), once, before it expires.

use std::sync::Arc;

use domain::Principal;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::assistant::Assistant;
use crate::tools::{ArtifactRef, ToolContext, TurnTrust};

/// What confirming did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirmed {
    pub confirmation_id: Uuid,
    pub tool: String,
    /// `done` or `failed`.
    pub status: String,
    pub result: Value,
    pub artifacts: Vec<ArtifactRef>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no such confirmation")]
    NotFound,
    #[error("this confirmation expired; ask the assistant again")]
    Expired,
    #[error("this action was already confirmed (status {0})")]
    AlreadyConfirmed(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl Assistant {
    /// A tool context for a call the user confirmed: it runs even after untrusted content.
    pub fn confirmed_context(&self, principal: &Principal, session_id: Option<Uuid>, call_id: Uuid) -> ToolContext {
        ToolContext {
            principal: principal.clone(),
            db: self.db.clone(),
            knowledge: self.knowledge.clone(),
            settings: self.settings.clone(),
            session_id,
            turn_id: call_id,
            today: chrono::Utc::now().date_naive(),
            integrations: self.integrations.clone(),
            trust: Arc::new(TurnTrust::confirmed()),
        }
    }

    /// Claims the held call (owner only, unexpired, once) and runs it with the caller's
    /// current permissions. A tool that fails is reported as `failed`, not retried.
    pub async fn confirm(&self, principal: &Principal, id: Uuid) -> Result<Confirmed, ConfirmError> {
        let row = match store::pending::claim(&self.db, id, principal.user_id).await? {
            Ok(row) => row,
            Err(store::pending::ClaimRefused::NotFound) => return Err(ConfirmError::NotFound),
            Err(store::pending::ClaimRefused::Expired) => return Err(ConfirmError::Expired),
            Err(store::pending::ClaimRefused::AlreadyConfirmed(s)) => return Err(ConfirmError::AlreadyConfirmed(s)),
        };
        // The call's own id keys its idempotency (it can be claimed only once anyway).
        let ctx = self.confirmed_context(principal, row.session_id, row.id);
        let out = self.tools.call(&ctx, &row.tool, row.input.clone()).await;
        let (status, result, artifacts) = match out {
            Ok(o) => ("done", o.value, o.artifacts),
            Err(e) => ("failed", json!({"error": e.to_string()}), Vec::new()),
        };
        store::pending::finish(&self.db, row.id, status == "done", result.clone()).await?;
        store::audit::record(
            &self.db,
            store::audit::NewEntry {
                user_id: Some(principal.user_id),
                department: Some(principal.department.as_str()),
                action: "chat.confirm",
                source: store::audit::Source::Mobile,
                details: json!({"confirmation_id": row.id, "tool": row.tool, "status": status, "turn_id": row.turn_id}),
                ip_address: None,
                request_id: None,
            },
        )
        .await?;
        Ok(Confirmed { confirmation_id: row.id, tool: row.tool, status: status.into(), result, artifacts })
    }
}
