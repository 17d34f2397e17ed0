//! Customer support tickets.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::{
    TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES, check_instant, contains_pattern, limit, one_of, opt_one_of,
    optional, period, required, stmt,
};
use crate::StoreError;

/// A ticket with its customer's and assignee's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct TicketRow {
    pub id: Uuid,
    pub ticket_no: String,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub subject: String,
    pub description: String,
    /// billing | technical | integration | account | feature_request.
    pub category: String,
    /// low | normal | high | urgent.
    pub priority: String,
    /// open | pending | resolved | closed.
    pub status: String,
    pub assigned_to: Option<Uuid>,
    pub assigned_to_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const TICKET_COLUMNS: &str = "t.id, t.ticket_no, t.customer_id, c.name AS customer_name, t.subject, t.description, \
    t.category, t.priority, t.status, t.assigned_to, u.name AS assigned_to_name, t.created_at, t.resolved_at, \
    t.resolution, t.updated_at";
const TICKET_JOINS: &str = "LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN users u ON u.id = t.assigned_to";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSummary {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// Created in the period.
    pub opened: i64,
    /// Resolved in the period (whenever created).
    pub resolved: i64,
    /// open or pending now, whenever created.
    pub open_now: i64,
    /// Of the tickets opened in the period: urgent, high, normal, low (zeros included).
    pub by_priority: Vec<(String, i64)>,
    /// Of the tickets opened in the period, largest first (zeros included).
    pub by_category: Vec<(String, i64)>,
    /// Over the tickets resolved in the period.
    pub avg_resolution_hours: Option<f64>,
    /// The five oldest tickets open or pending now.
    pub oldest_open: Vec<TicketRow>,
}

#[derive(Debug, FromQueryResult)]
struct Totals {
    opened: i64,
    resolved: i64,
    open_now: i64,
    avg_resolution_hours: Option<f64>,
}

#[derive(Debug, FromQueryResult)]
struct KeyCount {
    key: String,
    n: i64,
}

pub async fn tickets_summary(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<TicketSummary, StoreError> {
    let (t_from, t_to) = period(from, to)?;
    let totals = Totals::find_by_statement(stmt(
        db,
        "SELECT count(*) FILTER (WHERE created_at >= $1 AND created_at < $2) AS opened, \
                count(*) FILTER (WHERE resolved_at >= $1 AND resolved_at < $2) AS resolved, \
                count(*) FILTER (WHERE status IN ('open','pending')) AS open_now, \
                (avg(EXTRACT(EPOCH FROM resolved_at - created_at)) \
                   FILTER (WHERE resolved_at >= $1 AND resolved_at < $2) / 3600)::float8 AS avg_resolution_hours \
         FROM support_tickets",
        vec![t_from.into(), t_to.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("the ticket totals query returned no row".into())))?;
    let count_by = |column: &str, allowed: &[&str], order: &str| {
        stmt(
            db,
            &format!(
                "SELECT k.key, count(t.id) AS n FROM unnest($3::text[]) WITH ORDINALITY AS k(key, ord) \
                 LEFT JOIN support_tickets t ON t.{column} = k.key AND t.created_at >= $1 AND t.created_at < $2 \
                 GROUP BY k.key, k.ord ORDER BY {order}"
            ),
            vec![t_from.into(), t_to.into(), allowed.iter().map(|s| s.to_string()).collect::<Vec<String>>().into()],
        )
    };
    let by_priority = KeyCount::find_by_statement(count_by("priority", TICKET_PRIORITIES, "k.ord")).all(db).await?;
    let by_category =
        KeyCount::find_by_statement(count_by("category", TICKET_CATEGORIES, "n DESC, k.key")).all(db).await?;
    let oldest_open = TicketRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {TICKET_COLUMNS} FROM support_tickets t {TICKET_JOINS} \
             WHERE t.status IN ('open','pending') ORDER BY t.created_at, t.ticket_no LIMIT 5"
        ),
        vec![],
    ))
    .all(db)
    .await?;
    Ok(TicketSummary {
        from,
        to,
        opened: totals.opened,
        resolved: totals.resolved,
        open_now: totals.open_now,
        by_priority: by_priority.into_iter().map(|k| (k.key, k.n)).collect(),
        by_category: by_category.into_iter().map(|k| (k.key, k.n)).collect(),
        avg_resolution_hours: totals.avg_resolution_hours,
        oldest_open,
    })
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub customer_id: Option<Uuid>,
    /// Case-insensitive substring of the ticket number, subject, description or customer's
    /// name (literal).
    pub query: Option<String>,
    /// 0 → 50; at most 200.
    pub limit: u64,
}

/// Tickets matching every given criterion, newest first.
pub async fn search_tickets(db: &impl ConnectionTrait, f: &TicketFilter) -> Result<Vec<TicketRow>, StoreError> {
    let status = opt_one_of("status", &f.status, TICKET_STATUSES)?;
    let priority = opt_one_of("priority", &f.priority, TICKET_PRIORITIES)?;
    let category = opt_one_of("category", &f.category, TICKET_CATEGORIES)?;
    Ok(TicketRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {TICKET_COLUMNS} FROM support_tickets t {TICKET_JOINS} \
             WHERE ($1::text IS NULL OR t.status = $1) AND ($2::text IS NULL OR t.priority = $2) \
             AND ($3::text IS NULL OR t.category = $3) AND ($4::uuid IS NULL OR t.customer_id = $4) \
             AND ($5::text IS NULL OR t.ticket_no ILIKE $5 ESCAPE '\\' OR t.subject ILIKE $5 ESCAPE '\\' \
                  OR t.description ILIKE $5 ESCAPE '\\' OR c.name ILIKE $5 ESCAPE '\\') \
             ORDER BY t.created_at DESC, t.ticket_no DESC LIMIT $6"
        ),
        vec![
            status.into(),
            priority.into(),
            category.into(),
            f.customer_id.into(),
            contains_pattern(&f.query).into(),
            limit(f.limit).into(),
        ],
    ))
    .all(db)
    .await?)
}

pub async fn ticket(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<TicketRow>, StoreError> {
    Ok(TicketRow::find_by_statement(stmt(
        db,
        &format!("SELECT {TICKET_COLUMNS} FROM support_tickets t {TICKET_JOINS} WHERE t.id = $1"),
        vec![id.into()],
    ))
    .one(db)
    .await?)
}

#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    /// `None` → the next `TCK-000123`; given, creating it again returns the existing ticket.
    pub ticket_no: Option<String>,
    pub customer_id: Option<Uuid>,
    pub subject: String,
    pub description: String,
    /// billing | technical | integration | account | feature_request.
    pub category: String,
    /// `None` → normal.
    pub priority: Option<String>,
    pub assigned_to: Option<Uuid>,
    /// `None` → now.
    pub created_at: Option<DateTime<Utc>>,
}

/// Opens a ticket (status `open`). With a `ticket_no` that exists, returns that ticket
/// unchanged.
pub async fn create_ticket(db: &impl ConnectionTrait, new: NewTicket) -> Result<TicketRow, StoreError> {
    let given_no = optional("ticket_no", &new.ticket_no, 100)?;
    let subject = required("subject", &new.subject, 300)?;
    let description = required("description", &new.description, 20_000)?;
    let category = one_of("category", &new.category, TICKET_CATEGORIES)?;
    let priority = match &new.priority {
        Some(p) => one_of("priority", p, TICKET_PRIORITIES)?,
        None => "normal".to_string(),
    };
    check_instant("created_at", &new.created_at)?;
    // COALESCE evaluates only what it needs: the sequence moves only without a given number.
    let sql = format!(
        "WITH t AS (INSERT INTO support_tickets (id, ticket_no, customer_id, subject, description, category, \
             priority, status, assigned_to, created_at, updated_at) \
             VALUES ($1, COALESCE($2::text, 'TCK-' || lpad(nextval('support_ticket_no_seq')::text, 6, '0')), $3, $4, $5, $6, $7, 'open', $8, COALESCE($9, now()), COALESCE($9, now())) \
             ON CONFLICT (ticket_no) DO NOTHING RETURNING *) \
         SELECT {TICKET_COLUMNS} FROM t {TICKET_JOINS}"
    );
    // A generated number can collide with one a caller chose; the sequence moves on, so a
    // few tries find a free one.
    for _ in 0..100 {
        let row = TicketRow::find_by_statement(stmt(
            db,
            &sql,
            vec![
                Uuid::now_v7().into(),
                given_no.clone().into(),
                new.customer_id.into(),
                subject.clone().into(),
                description.clone().into(),
                category.clone().into(),
                priority.clone().into(),
                new.assigned_to.into(),
                new.created_at.into(),
            ],
        ))
        .one(db)
        .await
        .map_err(|e| StoreError::refused(e, "ticket (unknown customer or assignee)"))?;
        if let Some(row) = row {
            return Ok(row);
        }
        if let Some(no) = &given_no {
            return TicketRow::find_by_statement(stmt(
                db,
                &format!("SELECT {TICKET_COLUMNS} FROM support_tickets t {TICKET_JOINS} WHERE t.ticket_no = $1"),
                vec![no.clone().into()],
            ))
            .one(db)
            .await?
            .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("ticket_no conflict without a row".into())));
        }
    }
    Err(StoreError::Conflict("a free ticket number"))
}

/// Changes to a ticket; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    /// Moving to resolved or closed sets `resolved_at` (if unset); back to open or pending
    /// clears it.
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub resolution: Option<String>,
}

/// Applies `u`; `None` when there is no such ticket.
pub async fn update_ticket(
    db: &impl ConnectionTrait,
    id: Uuid,
    u: TicketUpdate,
) -> Result<Option<TicketRow>, StoreError> {
    let status = opt_one_of("status", &u.status, TICKET_STATUSES)?;
    let priority = opt_one_of("priority", &u.priority, TICKET_PRIORITIES)?;
    let resolution = optional("resolution", &u.resolution, 20_000)?;
    TicketRow::find_by_statement(stmt(
        db,
        &format!(
            "WITH t AS (UPDATE support_tickets SET status = COALESCE($2, status), \
                 priority = COALESCE($3, priority), assigned_to = COALESCE($4, assigned_to), \
                 resolution = COALESCE($5, resolution), \
                 resolved_at = CASE WHEN COALESCE($2, status) IN ('resolved','closed') \
                                    THEN COALESCE(resolved_at, now()) ELSE NULL END, \
                 updated_at = now() WHERE id = $1 RETURNING *) \
             SELECT {TICKET_COLUMNS} FROM t {TICKET_JOINS}"
        ),
        vec![id.into(), status.into(), priority.into(), u.assigned_to.into(), resolution.into()],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "ticket update (unknown assignee)"))
}
