use chrono::{DateTime, Utc};
use domain::{Permission, Principal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Paging;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub source: String,
    #[schema(value_type = Object)]
    pub details: Option<serde_json::Value>,
    pub ip_address: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    pub user_id: Option<Uuid>,
    /// Exact action (`auth.login.failure`) or a prefix ending in `*` (`auth.*`).
    pub action: Option<String>,
    /// mobile | webhook | scheduler | teams | cli | system
    pub source: Option<String>,
    pub department: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339 upper bound (exclusive).
    pub to: Option<DateTime<Utc>>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub async fn list(ctx: &AppContext, caller: &Principal, q: AuditQuery) -> ApiResult<AuditPage> {
    caller.require(Permission::AuditRead)?;
    let (page, per_page, offset) = Paging { page: q.page, per_page: q.per_page }.resolve()?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::bad_request("invalid_query", "from must not be after to"));
    }
    let filter = store::audit::Filter {
        user_id: q.user_id,
        action: q.action.map(|a| a.chars().take(100).collect()),
        source: q.source,
        department: q.department,
        from: q.from,
        to: q.to,
    };
    let (rows, total) = store::audit::list(&ctx.db, &filter, offset, per_page).await?;
    let entries = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            user_id: r.user_id,
            user_email: r.user_email,
            department: r.department,
            action: r.action,
            source: r.source,
            details: r.details,
            ip_address: r.ip_address,
            request_id: r.request_id,
            created_at: r.created_at,
        })
        .collect();
    Ok(AuditPage { entries, page, per_page, total })
}
