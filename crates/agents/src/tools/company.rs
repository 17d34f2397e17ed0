//! Read-only company data: finance, KPIs, customers, support tickets, named datasets.

use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use store::company;

use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool, format_cents};
use crate::period::{self, Period};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(FinanceSummaryTool);
    r.add(KpiDashboard);
    r.add(CustomersQuery);
    r.add(SupportTickets);
    r.add(DataQuery);
}

/// Resolves a period argument (`last_month`, `Q4 2025`, `上个月`, …); missing means `default`.
pub(super) fn period_arg(ctx: &ToolContext, raw: Option<&str>, default: &str) -> Result<Period, ToolError> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
    period::parse(raw, ctx.today).ok_or_else(|| {
        ToolError::InvalidInput(format!(
            "'{}' is not a period I understand; try last_month, this_quarter, Q4 2025, October 2025 or 2025",
            raw.chars().take(60).collect::<String>()
        ))
    })
}

fn money(cents: i64) -> String {
    format_cents(company::REPORT_CURRENCY, cents)
}

fn amounts(list: &[company::Amount]) -> Value {
    list.iter().map(|a| json!({"name": a.key, "amount": money(a.cents), "cents": a.cents, "count": a.count})).collect()
}

fn limit(n: Option<u32>) -> u64 {
    u64::from(n.unwrap_or(20).clamp(1, 200))
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    /// The period: last_month, this_month, last_quarter, this_quarter, this_year, last_year,
    /// latest, or text such as "Q4 2025", "October 2025", "2025". Default: last month.
    pub period: Option<String>,
}

pub struct FinanceSummaryTool;

#[async_trait::async_trait]
impl TypedTool for FinanceSummaryTool {
    type Input = PeriodInput;
    const NAME: &'static str = "finance_summary";
    const DESCRIPTION: &'static str = "Profit and loss for a period from the company's books: revenue (completed \
        orders), refunds, expenses, net income, revenue by product, expenses by category and month by month.";
    const ACCESS: Access = Access::AnyOf(&[Permission::FinanceRead]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Querying revenue and expenses…";

    async fn run(&self, ctx: &ToolContext, input: PeriodInput) -> Result<ToolOutput, ToolError> {
        let p = period_arg(ctx, input.period.as_deref(), "last_month")?;
        let s = company::finance_summary(&ctx.db, p.from, p.to).await?;
        ToolOutput::json(json!({
            "period_label": p.label,
            "from": p.from,
            "to_exclusive": p.to,
            "currency": s.currency,
            "revenue": money(s.revenue_cents),
            "revenue_cents": s.revenue_cents,
            "refunds": money(s.refunds_cents),
            "refunds_cents": s.refunds_cents,
            "expenses": money(s.expenses_cents),
            "expenses_cents": s.expenses_cents,
            "net_income": money(s.net_income_cents),
            "net_income_cents": s.net_income_cents,
            "order_count": s.order_count,
            "revenue_by_product": amounts(&s.revenue_by_product),
            "expenses_by_category": amounts(&s.expenses_by_category),
            "by_month": s.by_month.iter().map(|m| json!({
                "month": m.month.format("%Y-%m").to_string(),
                "revenue": money(m.revenue_cents),
                "expenses": money(m.expenses_cents),
                "net": money(m.net_cents),
                "revenue_cents": m.revenue_cents,
                "expenses_cents": m.expenses_cents,
                "net_cents": m.net_cents,
            })).collect::<Vec<_>>(),
        }))
    }
}

pub struct KpiDashboard;

#[async_trait::async_trait]
impl TypedTool for KpiDashboard {
    type Input = PeriodInput;
    const NAME: &'static str = "kpi_dashboard";
    const DESCRIPTION: &'static str = "Cross-department KPIs for a period: revenue, orders, average order, new \
        and churned customers, active customers, support tickets opened/resolved and resolution time, leads \
        created, won, lost and the win rate.";
    const ACCESS: Access = Access::AnyOf(&[Permission::ManagementRead]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Computing KPIs…";

    async fn run(&self, ctx: &ToolContext, input: PeriodInput) -> Result<ToolOutput, ToolError> {
        let p = period_arg(ctx, input.period.as_deref(), "last_month")?;
        let k = company::kpis(&ctx.db, p.from, p.to).await?;
        let pct = |x: Option<f64>| x.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "n/a".into());
        ToolOutput::json(json!({
            "period_label": p.label,
            "revenue": money(k.revenue_cents),
            "revenue_cents": k.revenue_cents,
            "refunds": money(k.refunds_cents),
            "order_count": k.order_count,
            "avg_order": money(k.avg_order_cents),
            "new_customers": k.new_customers,
            "churned_customers": k.churned_customers,
            "active_customers": k.active_customers_at_end,
            "tickets_opened": k.tickets_opened,
            "tickets_resolved": k.tickets_resolved,
            "avg_resolution_hours": k.avg_resolution_hours.map(|h| (h * 10.0).round() / 10.0),
            "leads_created": k.leads_created,
            "leads_won": k.leads_won,
            "leads_lost": k.leads_lost,
            "win_rate": pct(k.win_rate),
        }))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomersInput {
    /// Part of the customer's name, contact name or contact e-mail.
    pub query: Option<String>,
    /// trial, active or churned.
    pub status: Option<String>,
    /// Industry, e.g. F&B, retail, beauty, fitness, hospitality, e-commerce, education.
    pub industry: Option<String>,
    /// SG, MY, HK (or Singapore, Malaysia, Hong Kong).
    pub country: Option<String>,
    /// Most rows to return (default 20, at most 200).
    pub limit: Option<u32>,
}

pub struct CustomersQuery;

#[async_trait::async_trait]
impl TypedTool for CustomersQuery {
    type Input = CustomersInput;
    const NAME: &'static str = "customers_query";
    const DESCRIPTION: &'static str = "Find customers (merchants) by name, status, industry or country, with \
        their plan, contact and account manager.";
    const ACCESS: Access = Access::AnyOf(&[
        Permission::SalesRead,
        Permission::SupportRead,
        Permission::FinanceRead,
        Permission::MarketingRead,
        Permission::ManagementRead,
    ]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Looking up customers…";

    async fn run(&self, ctx: &ToolContext, input: CustomersInput) -> Result<ToolOutput, ToolError> {
        let filter = company::CustomerFilter {
            query: clean(input.query),
            status: clean(input.status).map(|s| s.to_lowercase()),
            industry: clean(input.industry),
            country: clean(input.country),
            limit: limit(input.limit),
        };
        let rows = company::search_customers(&ctx.db, &filter).await.map_err(invalid_or_failed)?;
        let customers: Vec<Value> = rows
            .iter()
            .map(|c| {
                json!({
                    "id": c.id, "name": c.name, "industry": c.industry, "country": c.country, "city": c.city,
                    "status": c.status, "plan": c.plan_name, "contact_name": c.contact_name,
                    "contact_email": c.contact_email, "account_manager": c.account_manager_name,
                    "signed_up": c.signed_up_at.date_naive(), "churned": c.churned_at.map(|d| d.date_naive()),
                    "churn_reason": c.churn_reason,
                })
            })
            .collect();
        ToolOutput::json(json!({
            "count": customers.len(),
            "names": rows.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "customers": customers,
        }))
    }
}

/// Invalid filter values become the model's (or user's) problem, not a server error.
pub(super) fn invalid_or_failed(e: store::StoreError) -> ToolError {
    match e {
        store::StoreError::Invalid(m) => ToolError::InvalidInput(m),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketsInput {
    /// Period for the summary (default: last month).
    pub period: Option<String>,
    /// open, pending, resolved or closed.
    pub status: Option<String>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
    pub category: Option<String>,
    /// Words from the subject or description.
    pub query: Option<String>,
    pub limit: Option<u32>,
}

pub struct SupportTickets;

#[async_trait::async_trait]
impl TypedTool for SupportTickets {
    type Input = TicketsInput;
    const NAME: &'static str = "support_tickets";
    const DESCRIPTION: &'static str = "Support tickets: a summary for a period (opened, resolved, open now, by \
        priority and category, average resolution time, oldest open) and the tickets matching the filters.";
    const ACCESS: Access = Access::AnyOf(&[Permission::SupportRead, Permission::ManagementRead]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Checking support tickets…";

    async fn run(&self, ctx: &ToolContext, input: TicketsInput) -> Result<ToolOutput, ToolError> {
        let p = period_arg(ctx, input.period.as_deref(), "last_month")?;
        let s = company::tickets_summary(&ctx.db, p.from, p.to).await?;
        let filter = company::TicketFilter {
            status: clean(input.status).map(|s| s.to_lowercase()),
            priority: clean(input.priority).map(|s| s.to_lowercase()),
            category: clean(input.category),
            query: clean(input.query),
            limit: limit(input.limit.or(Some(10))),
            ..Default::default()
        };
        let tickets = company::search_tickets(&ctx.db, &filter).await.map_err(invalid_or_failed)?;
        let pairs = |v: &[(String, i64)]| v.iter().map(|(k, n)| json!({"name": k, "count": n})).collect::<Vec<_>>();
        ToolOutput::json(json!({
            "period_label": p.label,
            "summary": {
                "opened": s.opened,
                "resolved": s.resolved,
                "open_now": s.open_now,
                "by_priority": pairs(&s.by_priority),
                "by_category": pairs(&s.by_category),
                "avg_resolution_hours": s.avg_resolution_hours.map(|h| (h * 10.0).round() / 10.0),
                "oldest_open": s.oldest_open.iter().map(|t| json!({"ticket_no": t.ticket_no, "subject": t.subject, "priority": t.priority, "created": t.created_at.date_naive()})).collect::<Vec<_>>(),
            },
            "count": tickets.len(),
            "tickets": tickets.iter().map(|t| json!({
                "ticket_no": t.ticket_no, "subject": t.subject, "customer": t.customer_name,
                "category": t.category, "priority": t.priority, "status": t.status,
                "created": t.created_at.date_naive(), "resolution": t.resolution,
            })).collect::<Vec<_>>(),
        }))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataQueryInput {
    /// revenue_by_month, revenue_by_product, expenses_by_category, tickets_by_category,
    /// leads_by_status or top_customers.
    pub dataset: String,
    /// The period (default: the last 6 months for monthly data, else last month).
    pub period: Option<String>,
}

pub struct DataQuery;

pub const DATASETS: &[&str] = &[
    "revenue_by_month",
    "revenue_by_product",
    "expenses_by_category",
    "tickets_by_category",
    "leads_by_status",
    "top_customers",
];

#[async_trait::async_trait]
impl TypedTool for DataQuery {
    type Input = DataQueryInput;
    const NAME: &'static str = "data_query";
    const DESCRIPTION: &'static str = "A named dataset as a table (columns and rows) for analysis or export: \
        revenue_by_month, revenue_by_product, expenses_by_category, tickets_by_category, leads_by_status, \
        top_customers.";
    const ACCESS: Access = Access::AnyOf(&[
        Permission::FinanceRead,
        Permission::SalesRead,
        Permission::SupportRead,
        Permission::ManagementRead,
    ]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Querying data…";

    async fn run(&self, ctx: &ToolContext, input: DataQueryInput) -> Result<ToolOutput, ToolError> {
        let dataset = input.dataset.trim().to_lowercase();
        // Each dataset needs the permission of the department that owns the data.
        let need: &[Permission] = match dataset.as_str() {
            "revenue_by_month" | "revenue_by_product" | "expenses_by_category" | "top_customers" => {
                &[Permission::FinanceRead, Permission::ManagementRead]
            }
            "tickets_by_category" => &[Permission::SupportRead, Permission::ManagementRead],
            "leads_by_status" => &[Permission::SalesRead, Permission::ManagementRead],
            _ => {
                return Err(ToolError::InvalidInput(format!(
                    "unknown dataset '{}'; choose one of {}",
                    dataset.chars().take(60).collect::<String>(),
                    DATASETS.join(", ")
                )));
            }
        };
        if !need.iter().any(|p| ctx.principal.has(*p)) {
            return Err(ToolError::Forbidden(need.to_vec()));
        }
        let default = if dataset == "revenue_by_month" { "last 6 months" } else { "last_month" };
        let p = period_arg(ctx, input.period.as_deref(), default)?;
        let (columns, rows): (Vec<&str>, Vec<Vec<Value>>) = match dataset.as_str() {
            "revenue_by_month" => {
                let s = company::finance_summary(&ctx.db, p.from, p.to).await?;
                (
                    vec!["month", "revenue", "refunds", "expenses", "net", "orders"],
                    s.by_month
                        .iter()
                        .map(|m| {
                            vec![
                                json!(m.month.format("%Y-%m").to_string()),
                                json!(cents_to_units(m.revenue_cents)),
                                json!(cents_to_units(m.refunds_cents)),
                                json!(cents_to_units(m.expenses_cents)),
                                json!(cents_to_units(m.net_cents)),
                                json!(m.order_count),
                            ]
                        })
                        .collect(),
                )
            }
            "revenue_by_product" | "expenses_by_category" => {
                let s = company::finance_summary(&ctx.db, p.from, p.to).await?;
                let list =
                    if dataset == "revenue_by_product" { &s.revenue_by_product } else { &s.expenses_by_category };
                let first = if dataset == "revenue_by_product" { "product" } else { "category" };
                (
                    vec![first, "amount", "count"],
                    list.iter().map(|a| vec![json!(a.key), json!(cents_to_units(a.cents)), json!(a.count)]).collect(),
                )
            }
            "tickets_by_category" => {
                let s = company::tickets_summary(&ctx.db, p.from, p.to).await?;
                (vec!["category", "tickets"], s.by_category.iter().map(|(k, n)| vec![json!(k), json!(n)]).collect())
            }
            "leads_by_status" => {
                let s = company::leads_by_status(&ctx.db).await?;
                (vec!["status", "leads"], s.iter().map(|c| vec![json!(c.status), json!(c.count)]).collect())
            }
            _ => {
                let s = company::top_customers(&ctx.db, p.from, p.to, 20).await?;
                (
                    vec!["customer", "industry", "country", "revenue", "orders"],
                    s.iter()
                        .map(|c| {
                            vec![
                                json!(c.name),
                                json!(c.industry),
                                json!(c.country),
                                json!(cents_to_units(c.revenue_cents)),
                                json!(c.orders),
                            ]
                        })
                        .collect(),
                )
            }
        };
        ToolOutput::json(json!({
            "dataset": dataset,
            "period_label": p.label,
            "currency": company::REPORT_CURRENCY,
            "columns": columns,
            "rows": rows,
            "count": rows.len(),
        }))
    }
}

/// Cents as a decimal number of currency units (for tables and charts).
fn cents_to_units(cents: i64) -> f64 {
    cents as f64 / 100.0
}
