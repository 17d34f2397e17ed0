//! The delivery outbox (permission `outbox_read`): every e-mail and Teams post with its full
//! rendered content, sent or (without Microsoft 365 credentials) kept here.

use chrono::{DateTime, Utc};
use domain::{Permission, Principal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Paging;
use crate::context::AppContext;
use crate::error::ApiResult;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// email | teams | calendar | push
    pub channel: Option<String>,
    /// outbox | sent | failed
    pub status: Option<String>,
    pub user_id: Option<Uuid>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub channel: String,
    pub status: String,
    pub user_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub recipients: serde_json::Value,
    pub subject: Option<String>,
    /// The rendered message (HTML for e-mail).
    pub body: String,
    #[schema(value_type = Vec<Object>)]
    pub attachments: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub job_id: Option<Uuid>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub entries: Vec<OutboxEntry>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

pub async fn list(ctx: &AppContext, caller: &Principal, q: OutboxQuery) -> ApiResult<OutboxPage> {
    caller.require(Permission::OutboxRead)?;
    let (page, per_page, offset) = Paging { page: q.page, per_page: q.per_page }.resolve()?;
    let filter = store::outbox::OutboxFilter { channel: q.channel, status: q.status, user_id: q.user_id };
    let (rows, total) = store::outbox::list(&ctx.db, &filter, per_page, offset).await?;
    Ok(OutboxPage {
        entries: rows
            .into_iter()
            .map(|r| OutboxEntry {
                id: r.id,
                channel: r.channel,
                status: r.status,
                user_id: r.user_id,
                recipients: r.recipients,
                subject: r.subject,
                body: r.body,
                attachments: r.attachments,
                detail: r.detail,
                job_id: r.job_id,
                error: r.error,
                created_at: r.created_at,
                sent_at: r.sent_at,
            })
            .collect(),
        page,
        per_page,
        total,
    })
}
