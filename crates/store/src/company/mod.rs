//! The company's business data the department agents report on: the product catalog,
//! customers (merchants), orders, expenses, support tickets and the sales pipeline
//! (`sales_leads`).
//!
//! Conventions:
//! - Money is `i64` cents with a currency code. Reports (`finance_summary`, `kpis`,
//!   `top_customers`) are in [`REPORT_CURRENCY`] and leave rows in other currencies out
//!   (`FinanceSummary::other_currency_rows` counts them).
//! - Periods are half-open `[from, to)` of `NaiveDate`s, read in UTC.
//! - A refund is its own `orders` row with status `refunded` (the amount given back); the
//!   order it refunds stays `completed`. Revenue counts `completed` rows, refunds `refunded`
//!   rows, `pending` rows count nowhere.
//! - Every value a caller can get wrong (an unknown status, a negative amount, a reference to
//!   a row that does not exist) comes back as [`StoreError::Invalid`].

mod customers;
mod finance;
mod leads;
mod tickets;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
pub use customers::{
    CATALOG, CatalogProduct, CustomerFilter, CustomerRevenue, CustomerRow, NewOrder, OrderFilter, OrderRow, ProductRow,
    customer, customer_by_external_ref, products, record_order, search_customers, search_orders, top_customers,
    upsert_catalog,
};
pub use finance::{Amount, FinanceSummary, Kpis, MonthFigures, finance_summary, kpis};
pub use leads::{
    ACTIVITY_KINDS, ActivityRow, LeadFilter, LeadRow, LeadUpdate, NewActivity, NewLead, StatusCount, activities,
    create_lead, lead, leads_by_status, log_activity, search_leads, update_lead,
};
pub use tickets::{
    NewTicket, TicketFilter, TicketRow, TicketSummary, TicketUpdate, create_ticket, search_tickets, ticket,
    tickets_summary, update_ticket,
};

use crate::StoreError;
pub(crate) use crate::stmt;

/// The currency reports are in; Mezzofy invoices in Singapore dollars.
pub const REPORT_CURRENCY: &str = "SGD";
/// Rows a search returns when the caller asks for 0.
pub const DEFAULT_LIMIT: u64 = 50;
/// The most rows a search returns.
pub const MAX_LIMIT: u64 = 200;

pub const CUSTOMER_STATUSES: &[&str] = &["trial", "active", "churned"];
pub const ORDER_STATUSES: &[&str] = &["completed", "refunded", "pending"];
pub const LEAD_STATUSES: &[&str] = &["new", "contacted", "qualified", "proposal", "closed_won", "closed_lost"];
pub const TICKET_STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];
pub const TICKET_PRIORITIES: &[&str] = &["urgent", "high", "normal", "low"];
pub const TICKET_CATEGORIES: &[&str] = &["billing", "technical", "integration", "account", "feature_request"];
pub const EXPENSE_CATEGORIES: &[&str] =
    &["payroll", "cloud_hosting", "marketing", "office_rent", "software", "travel", "professional_fees", "other"];

/// `0` → [`DEFAULT_LIMIT`], anything above [`MAX_LIMIT`] → `MAX_LIMIT`.
pub(crate) fn limit(n: u64) -> i64 {
    (if n == 0 { DEFAULT_LIMIT } else { n.min(MAX_LIMIT) }) as i64
}

/// Trimmed and lower-cased, and one of `allowed`, else `Invalid` naming the field.
pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, StoreError> {
    let v = value.trim().to_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(StoreError::invalid(format!("{field} must be one of {}, not {value:?}", allowed.join(", "))))
    }
}

pub(crate) fn opt_one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<Option<String>, StoreError> {
    value.as_deref().map(|v| one_of(field, v, allowed)).transpose()
}

/// A required text: trimmed, not empty, at most `max` characters.
pub(crate) fn required(field: &str, value: &str, max: usize) -> Result<String, StoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StoreError::invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(StoreError::invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(v.to_string())
}

/// An optional text: trimmed; empty means absent.
pub(crate) fn optional(field: &str, value: &Option<String>, max: usize) -> Result<Option<String>, StoreError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

/// Three upper-case letters (`sgd` → `SGD`).
pub(crate) fn currency(value: Option<&str>) -> Result<String, StoreError> {
    let v = value.map(|c| c.trim().to_uppercase()).unwrap_or_else(|| REPORT_CURRENCY.to_string());
    if v.len() == 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err(StoreError::invalid(format!("currency must be a three-letter code like SGD, not {v:?}")))
    }
}

/// A `%…%` ILIKE pattern matching `q` literally (`%`, `_` and `\` escaped; use with
/// `ESCAPE '\'`). `None` for an absent or blank query.
pub(crate) fn contains_pattern(q: &Option<String>) -> Option<String> {
    let q = q.as_deref()?.trim();
    if q.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    Some(out)
}

const MIN_YEAR: i32 = 1970;
const MAX_YEAR: i32 = 2200;

/// Checks a date is in the range the reports accept (1970–2200).
pub(crate) fn check_date(field: &str, d: NaiveDate) -> Result<(), StoreError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!("{field} must be between {MIN_YEAR} and {MAX_YEAR}, not {d}")))
    }
}

/// Midnight UTC starting `d`.
pub(crate) fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// A checked half-open period: `from <= to`, both in range; as UTC instants.
pub(crate) fn period(from: NaiveDate, to: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), StoreError> {
    check_date("from", from)?;
    check_date("to", to)?;
    if from > to {
        return Err(StoreError::invalid(format!("the period's start ({from}) is after its end ({to})")));
    }
    Ok((start_of(from), start_of(to)))
}

pub(crate) fn check_instant(field: &str, t: &Option<DateTime<Utc>>) -> Result<(), StoreError> {
    match t {
        Some(t) => check_date(field, t.date_naive()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(contains_pattern(&Some("50%_off\\".into())).as_deref(), Some("%50\\%\\_off\\\\%"));
        assert_eq!(contains_pattern(&Some("  ".into())), None);
        assert_eq!(contains_pattern(&None), None);
    }

    #[test]
    fn validates_choices_and_limits() {
        assert_eq!(one_of("status", " Active ", CUSTOMER_STATUSES).ok().as_deref(), Some("active"));
        assert!(matches!(one_of("status", "gone", CUSTOMER_STATUSES), Err(StoreError::Invalid(_))));
        assert_eq!(limit(0), 50);
        assert_eq!(limit(10_000), 200);
        assert!(currency(Some("sgd")).is_ok());
        assert!(currency(Some("S$")).is_err());
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert!(period(d(2026, 2, 1), d(2026, 1, 1)).is_err());
        assert!(period(d(1, 1, 1), d(2026, 1, 1)).is_err());
        assert!(period(d(2026, 1, 1), d(2026, 1, 1)).is_ok());
    }
}
