//! The audit log. Append-only: this module can add and read rows, nothing else (and a
//! database trigger refuses UPDATE, DELETE and TRUNCATE).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, FromQueryResult, Set, Statement, Value};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::StoreError;
use crate::entities::audit_log as entity;

/// Where an audited action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Mobile,
    Webhook,
    Scheduler,
    Teams,
    Cli,
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Mobile => "mobile",
            Source::Webhook => "webhook",
            Source::Scheduler => "scheduler",
            Source::Teams => "teams",
            Source::Cli => "cli",
            Source::System => "system",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub user_id: Option<Uuid>,
    pub department: Option<&'a str>,
    pub action: &'a str,
    pub source: Source,
    pub details: Json,
    pub ip_address: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub async fn record(db: &impl ConnectionTrait, e: NewEntry<'_>) -> Result<i64, StoreError> {
    let m = entity::ActiveModel {
        user_id: Set(e.user_id),
        department: Set(e.department.map(str::to_string)),
        action: Set(e.action.to_string()),
        source: Set(e.source.as_str().to_string()),
        details: Set(Some(e.details)),
        ip_address: Set(e.ip_address.map(str::to_string)),
        request_id: Set(e.request_id.map(str::to_string)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(m.id)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct Entry {
    pub id: i64,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub source: String,
    pub details: Option<Json>,
    pub ip_address: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<Uuid>,
    /// Exact action, or a prefix when it ends with `*` (`auth.*`).
    pub action: Option<String>,
    pub source: Option<String>,
    pub department: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first; returns the page and the total matching the filter.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &Filter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Entry>, u64), StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(u) = f.user_id {
        values.push(u.into());
        conditions.push(format!("a.user_id = ${}", values.len()));
    }
    if let Some(action) = &f.action {
        match action.strip_suffix('*') {
            Some(prefix) => {
                values.push(format!("{}%", crate::users::escape_like(prefix)).into());
                conditions.push(format!("a.action LIKE ${}", values.len()));
            }
            None => {
                values.push(action.clone().into());
                conditions.push(format!("a.action = ${}", values.len()));
            }
        }
    }
    if let Some(s) = &f.source {
        values.push(s.clone().into());
        conditions.push(format!("a.source = ${}", values.len()));
    }
    if let Some(d) = &f.department {
        values.push(d.clone().into());
        conditions.push(format!("a.department = ${}", values.len()));
    }
    if let Some(from) = f.from {
        values.push(from.into());
        conditions.push(format!("a.created_at >= ${}", values.len()));
    }
    if let Some(to) = f.to {
        values.push(to.into());
        conditions.push(format!("a.created_at < ${}", values.len()));
    }
    let where_clause =
        if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let count_sql = format!("SELECT count(*) AS n FROM audit_log a {where_clause}");
    let total = db
        .query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), count_sql, values.clone()))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64;
    values.push((limit as i64).into());
    values.push((offset as i64).into());
    let sql = format!(
        "SELECT a.id, a.user_id, u.email AS user_email, a.department, a.action, a.source, a.details, \
         a.ip_address, a.request_id, a.created_at \
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id {where_clause} \
         ORDER BY a.created_at DESC, a.id DESC LIMIT ${} OFFSET ${}",
        values.len() - 1,
        values.len()
    );
    let rows = Entry::find_by_statement(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .all(db)
        .await?;
    Ok((rows, total))
}
