//! The sales pipeline (`sales_leads`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::{LEAD_STATUSES, check_instant, contains_pattern, limit, one_of, opt_one_of, optional, required, stmt};
use crate::StoreError;

/// Every column of `sales_leads`, plus the assignee's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct LeadRow {
    pub id: Uuid,
    pub company_name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub industry: Option<String>,
    pub location: Option<String>,
    /// linkedin | website | referral | event | … (free text).
    pub source: Option<String>,
    /// new | contacted | qualified | proposal | closed_won | closed_lost.
    pub status: String,
    pub assigned_to: Option<Uuid>,
    pub assigned_to_name: Option<String>,
    /// One line per entry, newest last, each `[YYYY-MM-DD HH:MM UTC] text`.
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_contacted: Option<DateTime<Utc>>,
    pub follow_up_date: Option<DateTime<Utc>>,
}

const LEAD_COLUMNS: &str = "l.id, l.company_name, l.contact_name, l.contact_email, l.contact_phone, l.industry, \
    l.location, l.source, l.status, l.assigned_to, u.name AS assigned_to_name, l.notes, l.created_at, l.updated_at, \
    l.last_contacted, l.follow_up_date";

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Case-insensitive substring of the company, contact name or contact e-mail (literal).
    pub query: Option<String>,
    /// Case-insensitive substring.
    pub industry: Option<String>,
    /// Case-insensitive substring ("Malaysia", "Kuala Lumpur").
    pub location: Option<String>,
    pub status: Option<String>,
    pub assigned_to: Option<Uuid>,
    /// Follow-up due before this instant (overdue or upcoming); such a search is sorted by
    /// follow-up date, others by last update, newest first.
    pub follow_up_before: Option<DateTime<Utc>>,
    /// 0 → 50; at most 200.
    pub limit: u64,
}

pub async fn search_leads(db: &impl ConnectionTrait, f: &LeadFilter) -> Result<Vec<LeadRow>, StoreError> {
    let status = opt_one_of("status", &f.status, LEAD_STATUSES)?;
    check_instant("follow_up_before", &f.follow_up_before)?;
    let order =
        if f.follow_up_before.is_some() { "l.follow_up_date, l.company_name, l.id" } else { "l.updated_at DESC, l.id" };
    Ok(LeadRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {LEAD_COLUMNS} FROM sales_leads l LEFT JOIN users u ON u.id = l.assigned_to \
             WHERE ($1::text IS NULL OR l.company_name ILIKE $1 ESCAPE '\\' OR l.contact_name ILIKE $1 ESCAPE '\\' \
                 OR l.contact_email ILIKE $1 ESCAPE '\\') \
             AND ($2::text IS NULL OR l.industry ILIKE $2 ESCAPE '\\') \
             AND ($3::text IS NULL OR l.location ILIKE $3 ESCAPE '\\') \
             AND ($4::text IS NULL OR l.status = $4) AND ($5::uuid IS NULL OR l.assigned_to = $5) \
             AND ($6::timestamptz IS NULL OR l.follow_up_date < $6) \
             ORDER BY {order} LIMIT $7"
        ),
        vec![
            contains_pattern(&f.query).into(),
            contains_pattern(&f.industry).into(),
            contains_pattern(&f.location).into(),
            status.into(),
            f.assigned_to.into(),
            f.follow_up_before.into(),
            limit(f.limit).into(),
        ],
    ))
    .all(db)
    .await?)
}

pub async fn lead(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<LeadRow>, StoreError> {
    Ok(LeadRow::find_by_statement(stmt(
        db,
        &format!("SELECT {LEAD_COLUMNS} FROM sales_leads l LEFT JOIN users u ON u.id = l.assigned_to WHERE l.id = $1"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub company_name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub industry: Option<String>,
    pub location: Option<String>,
    pub source: Option<String>,
    /// `None` → new.
    pub status: Option<String>,
    pub assigned_to: Option<Uuid>,
    /// The first note (stamped like the ones `update_lead` appends).
    pub notes: Option<String>,
    pub follow_up_date: Option<DateTime<Utc>>,
}

const NOTE_STAMP: &str = "'[' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC] '";

pub async fn create_lead(db: &impl ConnectionTrait, new: NewLead) -> Result<LeadRow, StoreError> {
    let company = required("company_name", &new.company_name, 300)?;
    let status = match &new.status {
        Some(s) => one_of("status", s, LEAD_STATUSES)?,
        None => "new".to_string(),
    };
    check_instant("follow_up_date", &new.follow_up_date)?;
    let row = LeadRow::find_by_statement(stmt(
        db,
        &format!(
            "WITH l AS (INSERT INTO sales_leads (id, company_name, contact_name, contact_email, contact_phone, \
                 industry, location, source, status, assigned_to, notes, follow_up_date) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, {NOTE_STAMP} || $11, $12) RETURNING *) \
             SELECT {LEAD_COLUMNS} FROM l LEFT JOIN users u ON u.id = l.assigned_to"
        ),
        vec![
            Uuid::now_v7().into(),
            company.into(),
            optional("contact_name", &new.contact_name, 200)?.into(),
            optional("contact_email", &new.contact_email, 254)?.into(),
            optional("contact_phone", &new.contact_phone, 50)?.into(),
            optional("industry", &new.industry, 100)?.into(),
            optional("location", &new.location, 200)?.into(),
            optional("source", &new.source, 100)?.map(|s| s.to_lowercase()).into(),
            status.into(),
            new.assigned_to.into(),
            optional("notes", &new.notes, 10_000)?.into(),
            new.follow_up_date.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "lead (unknown assignee)"))?
    .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("INSERT … RETURNING returned no row".into())))?;
    Ok(row)
}

/// Changes to a lead; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LeadUpdate {
    pub status: Option<String>,
    /// Appended as a new line `[YYYY-MM-DD HH:MM UTC] text`; earlier notes are kept.
    pub notes: Option<String>,
    pub follow_up_date: Option<DateTime<Utc>>,
    pub last_contacted: Option<DateTime<Utc>>,
    pub assigned_to: Option<Uuid>,
}

/// Applies `u` to the lead; `None` when there is no such lead.
pub async fn update_lead(db: &impl ConnectionTrait, id: Uuid, u: LeadUpdate) -> Result<Option<LeadRow>, StoreError> {
    let status = opt_one_of("status", &u.status, LEAD_STATUSES)?;
    let note = optional("notes", &u.notes, 10_000)?;
    check_instant("follow_up_date", &u.follow_up_date)?;
    check_instant("last_contacted", &u.last_contacted)?;
    LeadRow::find_by_statement(stmt(
        db,
        &format!(
            "WITH l AS (UPDATE sales_leads SET status = COALESCE($2, status), \
                 notes = CASE WHEN $3::text IS NULL THEN notes \
                              WHEN notes IS NULL OR notes = '' THEN {NOTE_STAMP} || $3 \
                              ELSE notes || E'\\n' || {NOTE_STAMP} || $3 END, \
                 follow_up_date = COALESCE($4, follow_up_date), last_contacted = COALESCE($5, last_contacted), \
                 assigned_to = COALESCE($6, assigned_to), updated_at = now() \
                 WHERE id = $1 RETURNING *) \
             SELECT {LEAD_COLUMNS} FROM l LEFT JOIN users u ON u.id = l.assigned_to"
        ),
        vec![
            id.into(),
            status.into(),
            note.into(),
            u.follow_up_date.into(),
            u.last_contacted.into(),
            u.assigned_to.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "lead update (unknown assignee)"))
}

/// Leads per pipeline stage, every stage listed (zeros included), in pipeline order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

pub async fn leads_by_status(db: &impl ConnectionTrait) -> Result<Vec<StatusCount>, StoreError> {
    Ok(StatusCount::find_by_statement(stmt(
        db,
        "SELECT s.status, count(l.id) AS count \
         FROM unnest($1::text[]) WITH ORDINALITY AS s(status, ord) LEFT JOIN sales_leads l ON l.status = s.status \
         GROUP BY s.status, s.ord ORDER BY s.ord",
        vec![LEAD_STATUSES.iter().map(|s| s.to_string()).collect::<Vec<String>>().into()],
    ))
    .all(db)
    .await?)
}

/// A contact with a lead, a follow-up or another CRM activity.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct ActivityRow {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub channel: Option<String>,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub const ACTIVITY_KINDS: &[&str] = &["contact", "follow_up", "status", "note"];

#[derive(Debug, Clone)]
pub struct NewActivity {
    pub lead_id: Uuid,
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub channel: Option<String>,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    /// For a contact: the lead's next follow-up date, set in the same statement.
    pub follow_up_date: Option<DateTime<Utc>>,
    /// Exactly-once key: a second call with the same key changes nothing and returns the
    /// first activity.
    pub idempotency_key: String,
}

/// Records an activity and applies it to the lead in one statement: a contact sets
/// `last_contacted` (and moves a `new` lead to `contacted`), a follow-up sets
/// `follow_up_date`; either appends the summary to the lead's notes. Returns the activity
/// and whether it was new; `None` when the lead does not exist.
pub async fn log_activity(
    db: &impl ConnectionTrait,
    a: NewActivity,
) -> Result<Option<(ActivityRow, bool)>, StoreError> {
    let kind = one_of("kind", &a.kind, ACTIVITY_KINDS)?;
    let summary = optional("summary", &Some(a.summary.clone()), 4_000)?
        .ok_or_else(|| StoreError::Invalid("summary: must not be empty".into()))?;
    let channel = optional("channel", &a.channel, 40)?;
    check_instant("occurred_at", &Some(a.occurred_at))?;
    check_instant("follow_up_date", &a.follow_up_date)?;
    let inserted = ActivityRow::find_by_statement(stmt(
        db,
        &format!(
            "WITH a AS (INSERT INTO crm_activities (id, lead_id, user_id, kind, channel, summary, occurred_at, idempotency_key) \
                 SELECT $1, id, $3, $4, $5, $6, $7, $8 FROM sales_leads WHERE id = $2 \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING *), \
             l AS (UPDATE sales_leads SET \
                 last_contacted = CASE WHEN a.kind = 'contact' THEN GREATEST(last_contacted, a.occurred_at) ELSE last_contacted END, \
                 status = CASE WHEN a.kind = 'contact' AND status = 'new' THEN 'contacted' ELSE status END, \
                 follow_up_date = COALESCE($9, follow_up_date), \
                 notes = CASE WHEN notes IS NULL OR notes = '' THEN {NOTE_STAMP} || a.summary \
                              ELSE notes || E'\\n' || {NOTE_STAMP} || a.summary END, \
                 updated_at = now() \
                 FROM a WHERE sales_leads.id = a.lead_id RETURNING sales_leads.id) \
             SELECT a.id, a.lead_id, a.user_id, a.kind, a.channel, a.summary, a.occurred_at, a.created_at FROM a"
        ),
        vec![
            Uuid::now_v7().into(),
            a.lead_id.into(),
            a.user_id.into(),
            kind.into(),
            channel.into(),
            summary.into(),
            a.occurred_at.into(),
            a.idempotency_key.clone().into(),
            a.follow_up_date.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "CRM activity (unknown user)"))?;
    if let Some(row) = inserted {
        return Ok(Some((row, true)));
    }
    let existing = ActivityRow::find_by_statement(stmt(
        db,
        "SELECT id, lead_id, user_id, kind, channel, summary, occurred_at, created_at FROM crm_activities \
         WHERE idempotency_key = $1 AND lead_id = $2",
        vec![a.idempotency_key.into(), a.lead_id.into()],
    ))
    .one(db)
    .await?;
    Ok(existing.map(|r| (r, false)))
}

/// A lead's activities, newest first.
pub async fn activities(db: &impl ConnectionTrait, lead_id: Uuid, limit: u64) -> Result<Vec<ActivityRow>, StoreError> {
    Ok(ActivityRow::find_by_statement(stmt(
        db,
        "SELECT id, lead_id, user_id, kind, channel, summary, occurred_at, created_at FROM crm_activities \
         WHERE lead_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
        vec![lead_id.into(), (limit.min(200) as i64).into()],
    ))
    .all(db)
    .await?)
}
