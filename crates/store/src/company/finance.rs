//! Financial statements and KPIs over a period.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;

use super::{REPORT_CURRENCY, period, stmt};
use crate::StoreError;

/// One line of a breakdown: a product's name or an expense category, and its total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub key: String,
    pub cents: i64,
    /// Rows summed.
    pub count: i64,
}

/// One calendar month of the period (the first and last may be partial).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthFigures {
    /// The first day of the month.
    pub month: NaiveDate,
    pub revenue_cents: i64,
    pub refunds_cents: i64,
    pub expenses_cents: i64,
    /// revenue − refunds − expenses.
    pub net_cents: i64,
    pub order_count: i64,
}

/// A profit-and-loss view of `[from, to)` in [`REPORT_CURRENCY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinanceSummary {
    pub currency: String,
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// Completed orders.
    pub revenue_cents: i64,
    /// Refund rows (status `refunded`).
    pub refunds_cents: i64,
    /// Completed orders counted.
    pub order_count: i64,
    pub expenses_cents: i64,
    /// revenue − refunds − expenses.
    pub net_income_cents: i64,
    /// Completed orders by product name, largest first.
    pub revenue_by_product: Vec<Amount>,
    /// Largest first.
    pub expenses_by_category: Vec<Amount>,
    /// Every month the period touches, in order, including months with nothing.
    pub by_month: Vec<MonthFigures>,
    /// Orders and expenses of the period in other currencies, left out of every figure.
    pub other_currency_rows: i64,
}

#[derive(Debug, FromQueryResult)]
struct OrderGroup {
    month: NaiveDate,
    product: String,
    status: String,
    currency: String,
    cents: i64,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct ExpenseGroup {
    month: NaiveDate,
    category: String,
    currency: String,
    cents: i64,
    n: i64,
}

fn sorted(map: BTreeMap<String, (i64, i64)>) -> Vec<Amount> {
    let mut v: Vec<Amount> = map.into_iter().map(|(key, (cents, count))| Amount { key, cents, count }).collect();
    v.sort_by(|a, b| b.cents.cmp(&a.cents).then_with(|| a.key.cmp(&b.key)));
    v
}

/// First days of every month `[from, to)` touches.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    if from >= to {
        return out;
    }
    let mut m = from.with_day(1).unwrap_or(from);
    while m < to {
        out.push(m);
        match m.checked_add_months(Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    out
}

/// Revenue, refunds, expenses and net income of `[from, to)`, with breakdowns by product,
/// by expense category and by month. The totals are sums of the breakdowns (both come from
/// the same grouped rows).
pub async fn finance_summary(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<FinanceSummary, StoreError> {
    let (t_from, t_to) = period(from, to)?;
    let orders = OrderGroup::find_by_statement(stmt(
        db,
        "SELECT date_trunc('month', o.ordered_at AT TIME ZONE 'UTC')::date AS month, p.name AS product, \
                o.status, o.currency, sum(o.amount_cents)::bigint AS cents, count(*) AS n \
         FROM orders o JOIN products p ON p.id = o.product_id \
         WHERE o.ordered_at >= $1 AND o.ordered_at < $2 AND o.status IN ('completed','refunded') \
         GROUP BY 1, 2, 3, 4",
        vec![t_from.into(), t_to.into()],
    ))
    .all(db)
    .await?;
    let expenses = ExpenseGroup::find_by_statement(stmt(
        db,
        "SELECT date_trunc('month', incurred_on)::date AS month, category, currency, \
                sum(amount_cents)::bigint AS cents, count(*) AS n \
         FROM expenses WHERE incurred_on >= $1 AND incurred_on < $2 GROUP BY 1, 2, 3",
        vec![from.into(), to.into()],
    ))
    .all(db)
    .await?;

    let mut by_month: BTreeMap<NaiveDate, MonthFigures> = months(from, to)
        .into_iter()
        .map(|month| {
            (
                month,
                MonthFigures {
                    month,
                    revenue_cents: 0,
                    refunds_cents: 0,
                    expenses_cents: 0,
                    net_cents: 0,
                    order_count: 0,
                },
            )
        })
        .collect();
    let mut by_product: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut by_category: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut other_currency_rows = 0;
    for g in orders {
        if g.currency != REPORT_CURRENCY {
            other_currency_rows += g.n;
            continue;
        }
        let Some(m) = by_month.get_mut(&g.month) else { continue };
        if g.status == "completed" {
            m.revenue_cents += g.cents;
            m.order_count += g.n;
            let e = by_product.entry(g.product).or_default();
            e.0 += g.cents;
            e.1 += g.n;
        } else {
            m.refunds_cents += g.cents;
        }
    }
    for g in expenses {
        if g.currency != REPORT_CURRENCY {
            other_currency_rows += g.n;
            continue;
        }
        let Some(m) = by_month.get_mut(&g.month) else { continue };
        m.expenses_cents += g.cents;
        let e = by_category.entry(g.category).or_default();
        e.0 += g.cents;
        e.1 += g.n;
    }
    let mut by_month: Vec<MonthFigures> = by_month.into_values().collect();
    for m in &mut by_month {
        m.net_cents = m.revenue_cents - m.refunds_cents - m.expenses_cents;
    }
    let revenue_cents = by_month.iter().map(|m| m.revenue_cents).sum();
    let refunds_cents = by_month.iter().map(|m| m.refunds_cents).sum();
    let expenses_cents = by_month.iter().map(|m| m.expenses_cents).sum();
    let order_count = by_month.iter().map(|m| m.order_count).sum();
    Ok(FinanceSummary {
        currency: REPORT_CURRENCY.to_string(),
        from,
        to,
        revenue_cents,
        refunds_cents,
        order_count,
        expenses_cents,
        net_income_cents: revenue_cents - refunds_cents - expenses_cents,
        revenue_by_product: sorted(by_product),
        expenses_by_category: sorted(by_category),
        by_month,
        other_currency_rows,
    })
}

/// Headline numbers of `[from, to)` for a dashboard (one statement, one snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct Kpis {
    /// Completed orders, in [`REPORT_CURRENCY`].
    pub revenue_cents: i64,
    /// Refund rows.
    pub refunds_cents: i64,
    /// Completed orders.
    pub order_count: i64,
    /// revenue / orders, rounded; 0 without orders.
    pub avg_order_cents: i64,
    /// Sign-ups in the period (trials included).
    pub new_customers: i64,
    /// Customers whose `churned_at` falls in the period.
    pub churned_customers: i64,
    /// Paying customers (status active or churned, so not current trials) signed up before
    /// the end and not churned by then.
    pub active_customers_at_end: i64,
    pub tickets_opened: i64,
    pub tickets_resolved: i64,
    /// Over the tickets resolved in the period.
    pub avg_resolution_hours: Option<f64>,
    pub leads_created: i64,
    /// Leads now `closed_won` whose last update falls in the period (`sales_leads` has no
    /// close date; its `updated_at` stands in).
    pub leads_won: i64,
    pub leads_lost: i64,
    /// won / (won + lost); `None` when nothing closed.
    pub win_rate: Option<f64>,
}

pub async fn kpis(db: &impl ConnectionTrait, from: NaiveDate, to: NaiveDate) -> Result<Kpis, StoreError> {
    let (t_from, t_to) = period(from, to)?;
    let k = Kpis::find_by_statement(stmt(
        db,
        "WITH o AS (SELECT \
             COALESCE(sum(amount_cents) FILTER (WHERE status = 'completed'), 0)::bigint AS revenue_cents, \
             COALESCE(sum(amount_cents) FILTER (WHERE status = 'refunded'), 0)::bigint AS refunds_cents, \
             count(*) FILTER (WHERE status = 'completed') AS order_count \
           FROM orders WHERE ordered_at >= $1 AND ordered_at < $2 AND currency = $3), \
         l AS (SELECT \
             count(*) FILTER (WHERE created_at >= $1 AND created_at < $2) AS leads_created, \
             count(*) FILTER (WHERE status = 'closed_won' AND updated_at >= $1 AND updated_at < $2) AS leads_won, \
             count(*) FILTER (WHERE status = 'closed_lost' AND updated_at >= $1 AND updated_at < $2) AS leads_lost \
           FROM sales_leads) \
         SELECT o.revenue_cents, o.refunds_cents, o.order_count, \
           CASE WHEN o.order_count = 0 THEN 0 ELSE round(o.revenue_cents::numeric / o.order_count)::bigint END \
             AS avg_order_cents, \
           (SELECT count(*) FROM customers WHERE signed_up_at >= $1 AND signed_up_at < $2) AS new_customers, \
           (SELECT count(*) FROM customers WHERE churned_at >= $1 AND churned_at < $2) AS churned_customers, \
           (SELECT count(*) FROM customers WHERE status <> 'trial' AND signed_up_at < $2 \
              AND (churned_at IS NULL OR churned_at >= $2)) AS active_customers_at_end, \
           (SELECT count(*) FROM support_tickets WHERE created_at >= $1 AND created_at < $2) AS tickets_opened, \
           (SELECT count(*) FROM support_tickets WHERE resolved_at >= $1 AND resolved_at < $2) AS tickets_resolved, \
           (SELECT (avg(EXTRACT(EPOCH FROM resolved_at - created_at)) / 3600)::float8 FROM support_tickets \
              WHERE resolved_at >= $1 AND resolved_at < $2) AS avg_resolution_hours, \
           l.leads_created, l.leads_won, l.leads_lost, \
           CASE WHEN l.leads_won + l.leads_lost = 0 THEN NULL \
             ELSE l.leads_won::float8 / (l.leads_won + l.leads_lost) END AS win_rate \
         FROM o, l",
        vec![t_from.into(), t_to.into(), REPORT_CURRENCY.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("the KPI query returned no row".into())))?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_period() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(months(d(2025, 11, 15), d(2026, 2, 1)), vec![d(2025, 11, 1), d(2025, 12, 1), d(2026, 1, 1)]);
        assert_eq!(months(d(2026, 1, 1), d(2026, 1, 1)), Vec::<NaiveDate>::new());
        assert_eq!(months(d(2026, 1, 10), d(2026, 1, 10)), Vec::<NaiveDate>::new());
        assert_eq!(months(d(2026, 1, 10), d(2026, 1, 11)), vec![d(2026, 1, 1)]);
    }
}
