//! Demo company data: a plausible Mezzofy with ~300 merchants, 18 months of orders and
//! expenses, ~400 support tickets and ~150 sales leads, so the agents have something to
//! report on. Deterministic: the same `today` and seed give the same rows (ids included).

mod generate;
mod words;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, FromQueryResult, TransactionSession, TransactionTrait, Value};
use serde::Serialize;
use uuid::Uuid;

use crate::StoreError;
use crate::company::{check_date, stmt, upsert_catalog};
use generate::Staff;

/// Rows written (or, when `already_seeded`, the rows the tables hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct DemoCounts {
    pub products: i64,
    pub customers: i64,
    pub orders: i64,
    pub expenses: i64,
    pub tickets: i64,
    pub leads: i64,
    /// `customers` had rows: nothing was written.
    pub already_seeded: bool,
}

#[derive(Debug, FromQueryResult)]
struct StaffRow {
    email: String,
    id: Uuid,
}

/// Fills the company tables for a demo, in one transaction, unless `customers` already has
/// rows (then nothing is written and `already_seeded` is true). Orders and expenses cover
/// the 18 months ending on `today`. Account managers and assignees are the active users
/// `sales@`, `sales.manager@`, `support@` and `support-manager@mezzofy.com` where they exist,
/// else NULL.
pub async fn seed_company_demo<C>(db: &C, today: NaiveDate, seed: u64) -> Result<DemoCounts, StoreError>
where
    C: ConnectionTrait + TransactionTrait,
{
    check_date("today", today)?;
    let txn = db.begin().await?;
    // Two seeds at once: the second waits, then finds the first one's customers.
    txn.execute_raw(stmt(&txn, "SELECT pg_advisory_xact_lock(hashtext('mezzofy.seed_company_demo'))", vec![])).await?;
    let seeded = txn
        .query_one_raw(stmt(&txn, "SELECT EXISTS (SELECT 1 FROM customers) AS seeded", vec![]))
        .await?
        .map(|r| r.try_get::<bool>("", "seeded"))
        .transpose()?
        .unwrap_or(false);
    if seeded {
        let counts = DemoCounts::find_by_statement(stmt(
            &txn,
            "SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM customers) AS customers, \
                    (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM expenses) AS expenses, \
                    (SELECT count(*) FROM support_tickets) AS tickets, (SELECT count(*) FROM sales_leads) AS leads, \
                    true AS already_seeded",
            vec![],
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("the count query returned no row".into())))?;
        txn.commit().await?;
        return Ok(counts);
    }

    let staff = staff(&txn).await?;
    let demo = generate::generate(today, seed, staff);

    let products = upsert_catalog(&txn).await?;
    let customers = insert_rows(
        &txn,
        "INSERT INTO customers (id, name, industry, country, city, contact_name, contact_email, status, \
         plan_product_id, account_manager, external_ref, signed_up_at, churned_at, churn_reason, created_at, updated_at)",
        "",
        demo.customers
            .iter()
            .map(|c| {
                vec![
                    c.id.into(),
                    c.name.clone().into(),
                    c.industry.into(),
                    c.country.into(),
                    c.city.into(),
                    c.contact_name.clone().into(),
                    c.contact_email.clone().into(),
                    c.status.into(),
                    c.plan.into(),
                    c.account_manager.into(),
                    c.external_ref.clone().into(),
                    c.signed_up_at.into(),
                    c.churned_at.into(),
                    c.churn_reason.map(str::to_string).into(),
                    c.signed_up_at.into(),
                    c.churned_at.unwrap_or(c.signed_up_at).into(),
                ]
            })
            .collect(),
    )
    .await?;
    let orders = insert_rows(
        &txn,
        "INSERT INTO orders (id, order_no, customer_id, product_id, quantity, amount_cents, currency, status, \
         ordered_at, created_at)",
        "",
        demo.orders
            .iter()
            .map(|o| {
                vec![
                    o.id.into(),
                    o.order_no.clone().into(),
                    o.customer_id.into(),
                    o.product_id.into(),
                    o.quantity.into(),
                    o.amount_cents.into(),
                    "SGD".into(),
                    o.status.into(),
                    o.ordered_at.into(),
                    o.ordered_at.into(),
                ]
            })
            .collect(),
    )
    .await?;
    let expenses = insert_rows(
        &txn,
        "INSERT INTO expenses (id, category, vendor, description, department, amount_cents, currency, incurred_on, \
         created_at)",
        "",
        demo.expenses
            .iter()
            .map(|e| {
                vec![
                    e.id.into(),
                    e.category.into(),
                    e.vendor.clone().into(),
                    e.description.clone().into(),
                    e.department.into(),
                    e.amount_cents.into(),
                    "SGD".into(),
                    e.incurred_on.into(),
                    crate::company::start_of(e.incurred_on).into(),
                ]
            })
            .collect(),
    )
    .await?;
    // Ticket numbers continue the sequence create_ticket draws from.
    let base = txn
        .query_one_raw(stmt(
            &txn,
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM support_ticket_no_seq",
            vec![],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let tickets = insert_rows(
        &txn,
        "INSERT INTO support_tickets (id, ticket_no, customer_id, subject, description, category, priority, status, \
         assigned_to, created_at, resolved_at, resolution, updated_at)",
        " ON CONFLICT (ticket_no) DO NOTHING",
        demo.tickets
            .iter()
            .map(|t| {
                vec![
                    t.id.into(),
                    format!("TCK-{:06}", base + t.number).into(),
                    t.customer_id.into(),
                    t.subject.clone().into(),
                    t.description.clone().into(),
                    t.category.into(),
                    t.priority.into(),
                    t.status.into(),
                    t.assigned_to.into(),
                    t.created_at.into(),
                    t.resolved_at.into(),
                    t.resolution.clone().into(),
                    t.updated_at.into(),
                ]
            })
            .collect(),
    )
    .await?;
    let last = base + demo.tickets.len() as i64;
    if last > 0 {
        txn.execute_raw(stmt(&txn, "SELECT setval('support_ticket_no_seq', $1)", vec![last.into()])).await?;
    }
    let leads = insert_rows(
        &txn,
        "INSERT INTO sales_leads (id, company_name, contact_name, contact_email, contact_phone, industry, location, \
         source, status, assigned_to, notes, created_at, updated_at, last_contacted, follow_up_date)",
        "",
        demo.leads
            .iter()
            .map(|l| {
                vec![
                    l.id.into(),
                    l.company_name.clone().into(),
                    l.contact_name.clone().into(),
                    l.contact_email.clone().into(),
                    l.contact_phone.clone().into(),
                    l.industry.into(),
                    l.location.clone().into(),
                    l.source.into(),
                    l.status.into(),
                    l.assigned_to.into(),
                    l.notes.clone().into(),
                    l.created_at.into(),
                    l.updated_at.into(),
                    l.last_contacted.into(),
                    l.follow_up_date.into(),
                ]
            })
            .collect(),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(customers, orders, expenses, tickets, leads, "company demo data seeded");
    Ok(DemoCounts {
        products: products as i64,
        customers: customers as i64,
        orders: orders as i64,
        expenses: expenses as i64,
        tickets: tickets as i64,
        leads: leads as i64,
        already_seeded: false,
    })
}

async fn staff(db: &impl ConnectionTrait) -> Result<Staff, StoreError> {
    let rows = StaffRow::find_by_statement(stmt(
        db,
        "SELECT email, id FROM users WHERE is_active AND email IN \
         ('sales@mezzofy.com','sales.manager@mezzofy.com','support@mezzofy.com','support-manager@mezzofy.com')",
        vec![],
    ))
    .all(db)
    .await?;
    let find = |email: &str| rows.iter().find(|r| r.email == email).map(|r| r.id);
    Ok(Staff {
        sales_rep: find("sales@mezzofy.com"),
        sales_manager: find("sales.manager@mezzofy.com"),
        support_agent: find("support@mezzofy.com"),
        support_manager: find("support-manager@mezzofy.com"),
    })
}

/// Multi-row INSERTs of `rows` (all the same width), as few statements as PostgreSQL's
/// 65,535 parameters allow. Returns the rows inserted.
async fn insert_rows(
    db: &impl ConnectionTrait,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<u64, StoreError> {
    let Some(width) = rows.first().map(Vec::len) else { return Ok(0) };
    let per_statement = (60_000 / width.max(1)).max(1);
    let mut total = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 6);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * width);
        for (r, row) in chunk.into_iter().enumerate() {
            if row.len() != width {
                return Err(StoreError::Db(sea_orm::DbErr::Custom("demo rows of different widths".into())));
            }
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(r * width + c + 1).to_string());
            }
            sql.push(')');
            values.extend(row);
        }
        sql.push_str(tail);
        total += db.execute_raw(stmt(db, &sql, values)).await?.rows_affected();
    }
    Ok(total)
}
