//! The deterministic generator: the same `today` and seed give the same rows (ids included).
//! Pure: no database, no clock, no thread-local randomness.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::words::{CHURN_REASONS, COUNTRIES, Country, EVENTS, INDUSTRIES, LOST_REASONS, POS_SYSTEMS, TICKET_KINDS};
use crate::company::CATALOG;

pub(super) const CUSTOMERS: usize = 300;
pub(super) const TICKETS: usize = 400;
pub(super) const LEADS: usize = 150;
/// Months of orders and expenses, the current (partial) month included.
pub(super) const MONTHS: u32 = 18;

/// The staff the demo assigns work to, when those users exist.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Staff {
    pub sales_rep: Option<Uuid>,
    pub sales_manager: Option<Uuid>,
    pub support_agent: Option<Uuid>,
    pub support_manager: Option<Uuid>,
}

pub(super) struct Customer {
    pub id: Uuid,
    pub name: String,
    pub industry: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub contact_name: String,
    pub contact_email: String,
    pub status: &'static str,
    pub plan: &'static str,
    pub account_manager: Option<Uuid>,
    pub external_ref: String,
    pub signed_up_at: DateTime<Utc>,
    pub churned_at: Option<DateTime<Utc>>,
    pub churn_reason: Option<&'static str>,
    country_index: usize,
}

pub(super) struct Order {
    pub id: Uuid,
    pub order_no: String,
    pub customer_id: Uuid,
    pub product_id: &'static str,
    pub quantity: i32,
    pub amount_cents: i64,
    pub status: &'static str,
    pub ordered_at: DateTime<Utc>,
}

pub(super) struct Expense {
    pub id: Uuid,
    pub category: &'static str,
    pub vendor: String,
    pub description: String,
    pub department: &'static str,
    pub amount_cents: i64,
    pub incurred_on: NaiveDate,
}

pub(super) struct Ticket {
    pub id: Uuid,
    /// 1-based, in order of creation; the caller turns it into `TCK-000123`.
    pub number: i64,
    pub customer_id: Option<Uuid>,
    pub subject: String,
    pub description: String,
    pub category: &'static str,
    pub priority: &'static str,
    pub status: &'static str,
    pub assigned_to: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub(super) struct Lead {
    pub id: Uuid,
    pub company_name: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub industry: &'static str,
    pub location: String,
    pub source: &'static str,
    pub status: &'static str,
    pub assigned_to: Option<Uuid>,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_contacted: Option<DateTime<Utc>>,
    pub follow_up_date: Option<DateTime<Utc>>,
}

pub(super) struct Demo {
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub expenses: Vec<Expense>,
    pub tickets: Vec<Ticket>,
    pub leads: Vec<Lead>,
}

struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.rng.random_range(lo..=hi) }
    }
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.random::<f64>()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }
    fn index(&mut self, len: usize) -> usize {
        if len <= 1 { 0 } else { self.rng.random_range(0..len) }
    }
    fn pick<T: Copy + Default>(&mut self, xs: &[T]) -> T {
        let i = self.index(xs.len());
        xs.get(i).copied().unwrap_or_default()
    }
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut r = self.rng.random_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        0
    }
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }
    /// An instant during Singapore business hours (09:00–18:00 SGT = 01:00–10:00 UTC) on `d`.
    fn business_time(&mut self, d: NaiveDate) -> DateTime<Utc> {
        let secs = self.int(3_600, 10 * 3_600 - 1);
        d.and_time(NaiveTime::MIN).and_utc() + TimeDelta::seconds(secs)
    }
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_signed(TimeDelta::days(n)).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(d)
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn price(product: &str) -> i64 {
    CATALOG.iter().find(|p| p.id == product).map(|p| p.price_cents).unwrap_or(0)
}

fn product_name(product: &str) -> &'static str {
    CATALOG.iter().find(|p| p.id == product).map(|p| p.name).unwrap_or("Mezzofy")
}

fn slug(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("[%Y-%m-%d %H:%M UTC]").to_string()
}

fn country(i: usize) -> &'static Country {
    COUNTRIES.get(i).unwrap_or(&COUNTRIES[0])
}

/// A company: unique name (never one in `used`), industry, country, city, contact, domain.
struct Company {
    name: String,
    industry: &'static str,
    country_index: usize,
    city: &'static str,
    contact_first: &'static str,
    contact_name: String,
    email: String,
}

fn company(g: &mut Gen, used: &mut HashSet<String>, legal_share: f64) -> Company {
    let ind = g.weighted(&INDUSTRIES.iter().map(|i| i.1).collect::<Vec<_>>());
    let (industry, _, brands, kinds) = INDUSTRIES.get(ind).copied().unwrap_or(INDUSTRIES[0]);
    let country_index = g.weighted(&COUNTRIES.iter().map(|c| c.weight).collect::<Vec<_>>());
    let c = country(country_index);
    let mut base = String::new();
    for attempt in 0..40 {
        let candidate = format!("{} {}", g.pick(brands), g.pick(kinds));
        let candidate = if attempt < 30 { candidate } else { format!("{candidate} {}", g.pick(c.outlets)) };
        if !used.contains(&candidate) {
            base = candidate;
            break;
        }
    }
    if base.is_empty() {
        base = format!("{} {} {}", g.pick(brands), g.pick(kinds), used.len());
    }
    used.insert(base.clone());
    let domain = {
        let s: String = slug(&base).chars().take(24).collect();
        if industry == "E-commerce" { format!("{s}.com") } else { format!("{s}.{}", c.tld) }
    };
    let name = if g.chance(legal_share) { format!("{base} {}", c.legal) } else { base };
    let first = g.pick(c.first_names);
    let last = g.pick(c.last_names);
    let email = if g.chance(0.7) {
        format!("{}.{}@{domain}", slug(first), slug(last))
    } else {
        format!("{}@{domain}", slug(first))
    };
    Company {
        name,
        industry,
        country_index,
        city: g.pick(c.cities),
        contact_first: first,
        contact_name: format!("{first} {last}"),
        email,
    }
}

fn phone(g: &mut Gen, c: &Country) -> String {
    match c.code {
        "SG" => format!("{} {}{:03} {:04}", c.phone, g.pick(&[8, 9]), g.int(0, 999), g.int(0, 9999)),
        "MY" => format!("{} 1{}-{:03} {:04}", c.phone, g.int(0, 9), g.int(0, 999), g.int(0, 9999)),
        _ => format!("{} {}{:03} {:04}", c.phone, g.pick(&[5, 6, 9]), g.int(0, 999), g.int(0, 9999)),
    }
}

/// Everything for `today` and `seed`.
pub(super) fn generate(today: NaiveDate, seed: u64, staff: Staff) -> Demo {
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(seed) };
    let window_start = first_of_month(add_months_back(today, MONTHS - 1));
    let mut used = HashSet::new();
    let customers = customers(&mut g, today, window_start, staff, &mut used);
    let orders = orders(&mut g, today, window_start, &customers);
    let expenses = expenses(&mut g, today, window_start, &orders);
    let tickets = tickets(&mut g, today, window_start, &customers, staff);
    let leads = leads(&mut g, today, &customers, staff, &mut used);
    Demo { customers, orders, expenses, tickets, leads }
}

fn add_months_back(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n)).unwrap_or(d)
}

fn customers(
    g: &mut Gen,
    today: NaiveDate,
    window_start: NaiveDate,
    staff: Staff,
    used: &mut HashSet<String>,
) -> Vec<Customer> {
    let window_days = (today - window_start).num_days();
    let plans = ["coupon-starter", "coupon-business", "coupon-enterprise", "loyalty", "egift"];
    let plan_weights = [35, 28, 8, 17, 12];
    let mut out = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let id = g.uuid();
        let co = company(g, used, 0.6);
        // Half were customers before the window; the rest joined at a rising rate.
        let signup = if g.chance(0.5) {
            add_days(window_start, -g.int(1, 900))
        } else {
            add_days(window_start, ((window_days as f64) * g.rng.random::<f64>().sqrt()) as i64)
        };
        let signed_up_at = g.business_time(signup);
        let age = (today - signup).num_days();
        let plan = plans[g.weighted(&plan_weights)];
        let account_manager = if g.chance(0.7) { staff.sales_rep } else { staff.sales_manager };
        let churn_roll = g.chance(0.14);
        let (status, churned_at, churn_reason) = if age <= 30 && g.chance(0.75) {
            ("trial", None, None)
        } else if churn_roll {
            let earliest = add_days(signup, 60).max(window_start);
            let latest = add_days(today, -3);
            if earliest <= latest {
                let d = add_days(earliest, g.int(0, (latest - earliest).num_days()));
                ("churned", Some(g.business_time(d)), Some(g.pick(CHURN_REASONS)))
            } else {
                ("active", None, None)
            }
        } else {
            ("active", None, None)
        };
        out.push(Customer {
            id,
            name: co.name,
            industry: co.industry,
            country: country(co.country_index).code,
            city: co.city,
            contact_name: co.contact_name,
            contact_email: co.email,
            status,
            plan,
            account_manager,
            external_ref: format!("MZC-{:05}", 10_001 + i),
            signed_up_at,
            churned_at,
            churn_reason,
            country_index: co.country_index,
        });
    }
    out
}

struct Draft {
    customer: usize,
    product: &'static str,
    quantity: i32,
    at: DateTime<Utc>,
}

fn orders(g: &mut Gen, today: NaiveDate, window_start: NaiveDate, customers: &[Customer]) -> Vec<Order> {
    let mut drafts: Vec<Draft> = Vec::new();
    for (ci, c) in customers.iter().enumerate() {
        // Each customer draws from its own stream, so one customer's choices do not shift
        // everyone else's.
        let mut cg = Gen { rng: ChaCha8Rng::seed_from_u64(g.rng.random()) };
        if c.status == "trial" {
            continue;
        }
        let analytics = cg.chance(if c.plan == "coupon-enterprise" { 0.7 } else { 0.3 });
        let loyalty = c.plan.starts_with("coupon") && cg.chance(0.15);
        let egift = c.plan != "egift" && cg.chance(0.1);
        let onboarding = c.plan == "coupon-enterprise" || cg.chance(0.55);
        let pos = cg.chance(if matches!(c.industry, "F&B" | "Retail") { 0.35 } else { 0.25 });
        let pos_quantity = if c.plan == "coupon-starter" { 1 } else { cg.int(1, 3) as i32 };
        let first_bill = add_days(c.signed_up_at.date_naive(), 14);
        let churn = c.churned_at.map(|t| t.date_naive());
        let live = |d: NaiveDate| d >= window_start && d <= today && churn.is_none_or(|x| d < x);
        let mut subs: Vec<(&'static str, NaiveDate)> = vec![(c.plan, first_bill)];
        if analytics {
            subs.push(("analytics", add_days(first_bill, cg.int(0, 180))));
        }
        if loyalty {
            subs.push(("loyalty", add_days(first_bill, cg.int(0, 240))));
        }
        if egift {
            subs.push(("egift", add_days(first_bill, cg.int(0, 240))));
        }
        for (product, start) in subs {
            for k in 0..120u32 {
                let d = add_months(start, k);
                if d > today || churn.is_some_and(|x| d >= x) {
                    break;
                }
                if live(d) {
                    drafts.push(Draft { customer: ci, product, quantity: 1, at: cg.business_time(d) });
                }
            }
        }
        if onboarding && live(first_bill) {
            drafts.push(Draft { customer: ci, product: "onboarding", quantity: 1, at: cg.business_time(first_bill) });
        }
        let pos_day = add_days(first_bill, cg.int(7, 45));
        if pos && live(pos_day) {
            let at = cg.business_time(pos_day);
            drafts.push(Draft { customer: ci, product: "pos-integration", quantity: pos_quantity, at });
        }
    }
    drafts.sort_by(|a, b| a.at.cmp(&b.at).then(a.customer.cmp(&b.customer)).then(a.product.cmp(b.product)));

    let mut out = Vec::with_capacity(drafts.len() + drafts.len() / 50);
    let mut refunds = Vec::new();
    let recent = add_days(today, -2);
    for (n, d) in drafts.into_iter().enumerate() {
        let Some(c) = customers.get(d.customer) else { continue };
        let order_no = format!("SO-{}-{:05}", d.at.format("%Y%m"), n + 1);
        let amount = price(d.product) * i64::from(d.quantity);
        let pending = d.at.date_naive() >= recent && g.chance(0.4);
        let refund_roll =
            g.chance(if d.product == "onboarding" || d.product == "pos-integration" { 0.03 } else { 0.012 });
        let refund_delay = g.int(2, 10);
        let refund_half = g.chance(0.3);
        if !pending && refund_roll {
            let rd = add_days(d.at.date_naive(), refund_delay);
            if rd < today {
                refunds.push(Order {
                    id: g.uuid(),
                    order_no: format!("{order_no}-R"),
                    customer_id: c.id,
                    product_id: d.product,
                    quantity: d.quantity,
                    amount_cents: if refund_half { amount / 2 } else { amount },
                    status: "refunded",
                    ordered_at: g.business_time(rd),
                });
            }
        }
        out.push(Order {
            id: g.uuid(),
            order_no,
            customer_id: c.id,
            product_id: d.product,
            quantity: d.quantity,
            amount_cents: amount,
            status: if pending { "pending" } else { "completed" },
            ordered_at: d.at,
        });
    }
    out.extend(refunds);
    out
}

fn expenses(g: &mut Gen, today: NaiveDate, window_start: NaiveDate, orders: &[Order]) -> Vec<Expense> {
    // Paying customers per month drive hosting and SMS costs.
    let mut paying: BTreeMap<NaiveDate, BTreeSet<Uuid>> = BTreeMap::new();
    for o in orders {
        if o.status == "completed" {
            paying.entry(first_of_month(o.ordered_at.date_naive())).or_default().insert(o.customer_id);
        }
    }
    let mut out = Vec::new();
    for k in 0..MONTHS {
        let month = add_months(window_start, k);
        let label = month.format("%B %Y").to_string();
        let growth = 1.0 + 0.012 * f64::from(k);
        let customers = paying.get(&month).map(|s| s.len()).unwrap_or(0) as f64;
        let mut rows: Vec<(u32, &'static str, String, String, &'static str, f64)> = Vec::new();
        for (dept, base) in [
            ("operations", 38_000.0),
            ("sales", 16_000.0),
            ("management", 15_000.0),
            ("support", 8_500.0),
            ("marketing", 7_500.0),
            ("finance", 5_500.0),
        ] {
            let amount = base * growth * g.float(0.985, 1.015);
            rows.push((
                25,
                "payroll",
                "Mezzofy payroll".into(),
                format!("{label} salaries and CPF, {dept}"),
                dept,
                amount,
            ));
            if month.month() == 12 {
                rows.push((
                    28,
                    "payroll",
                    "Mezzofy payroll".into(),
                    format!("Year-end bonus {}, {dept}", month.year()),
                    dept,
                    amount * 0.5,
                ));
            }
        }
        rows.push((
            3,
            "cloud_hosting",
            "Amazon Web Services".into(),
            format!("AWS hosting, {label}"),
            "operations",
            (3_500.0 + 38.0 * customers) * g.float(0.95, 1.05),
        ));
        rows.push((3, "cloud_hosting", "Cloudflare".into(), "CDN and DDoS protection".into(), "operations", 380.0));
        rows.push((
            5,
            "cloud_hosting",
            "Twilio".into(),
            format!("SMS delivery of e-vouchers, {label}"),
            "operations",
            6.0 * customers * g.float(0.85, 1.15),
        ));
        rows.push((
            10,
            "marketing",
            "Google Ads".into(),
            format!("Search campaigns, {label}"),
            "marketing",
            g.float(3_500.0, 6_000.0) * growth,
        ));
        rows.push((
            12,
            "marketing",
            "Meta".into(),
            format!("Facebook and Instagram ads, {label}"),
            "marketing",
            g.float(2_000.0, 3_800.0) * growth,
        ));
        rows.push((
            15,
            "marketing",
            "LinkedIn".into(),
            format!("Sponsored content for merchants, {label}"),
            "marketing",
            g.float(1_200.0, 2_500.0),
        ));
        if k % 4 == 2 {
            let event = g.pick(EVENTS);
            rows.push((
                18,
                "marketing",
                event.to_string(),
                format!("Exhibition booth at {event}"),
                "marketing",
                g.float(6_000.0, 12_000.0),
            ));
        }
        rows.push((
            1,
            "office_rent",
            "JustCo".into(),
            format!("Singapore office rent, {label}"),
            "operations",
            8_800.0,
        ));
        rows.push((
            1,
            "office_rent",
            "Regus".into(),
            format!("Kuala Lumpur office rent, {label}"),
            "operations",
            2_600.0,
        ));
        rows.push((
            1,
            "office_rent",
            "WeWork".into(),
            format!("Hong Kong office rent, {label}"),
            "operations",
            3_900.0,
        ));
        for (vendor, what, dept, amount) in [
            ("Google", "Google Workspace licences", "operations", 950.0 * growth),
            ("HubSpot", "CRM subscription", "sales", 1_650.0),
            ("Zendesk", "Support desk subscription", "support", 820.0),
            ("Atlassian", "Jira and Confluence", "operations", 640.0),
            ("GitHub", "GitHub Team", "operations", 410.0),
            ("Xero", "Accounting software", "finance", 140.0),
            ("Slack", "Slack Pro", "operations", 520.0),
            ("Anthropic", "AI assistant API usage", "operations", g.float(300.0, 500.0) * growth * growth),
        ] {
            rows.push((7, "software", vendor.into(), format!("{what}, {label}"), dept, amount));
        }
        for _ in 0..g.int(1, 3) {
            let (vendor, what, dept, lo, hi) = g.pick(&[
                ("Singapore Airlines", "Flights SIN-KUL for client meetings", "sales", 380.0, 900.0),
                ("Cathay Pacific", "Flights SIN-HKG for client meetings", "sales", 600.0, 1_400.0),
                ("Marriott", "Hotel in Hong Kong, 3 nights", "sales", 900.0, 1_800.0),
                ("Grab", "Ground transport for client visits", "sales", 80.0, 300.0),
                ("AirAsia", "Flights to Penang for merchant onboarding", "support", 180.0, 420.0),
                ("Singapore Airlines", "Flights to Hong Kong for partner review", "management", 700.0, 1_500.0),
            ]);
            rows.push((g.int(2, 26) as u32, "travel", vendor.into(), what.into(), dept, g.float(lo, hi)));
        }
        rows.push((
            20,
            "professional_fees",
            "Boardroom Corporate Services".into(),
            format!("Bookkeeping and corporate secretary, {label}"),
            "finance",
            850.0,
        ));
        if month.month().is_multiple_of(3) {
            rows.push((
                22,
                "professional_fees",
                "Tan & Partners LLP".into(),
                "Quarterly GST filing".into(),
                "finance",
                g.float(1_200.0, 2_000.0),
            ));
        }
        if month.month() == 4 {
            rows.push((
                16,
                "professional_fees",
                "Tan & Partners LLP".into(),
                format!("Annual audit FY{}", month.year() - 1),
                "finance",
                g.float(12_000.0, 16_000.0),
            ));
        }
        if g.chance(0.2) {
            rows.push((
                g.int(5, 25) as u32,
                "professional_fees",
                "Lex Asia LLC".into(),
                "Merchant contract review".into(),
                "management",
                g.float(1_500.0, 4_500.0),
            ));
        }
        rows.push((
            g.int(2, 27) as u32,
            "other",
            "Popular Bookstore".into(),
            "Office supplies".into(),
            "operations",
            g.float(150.0, 450.0),
        ));
        rows.push((
            g.int(2, 27) as u32,
            "other",
            "Various".into(),
            "Team lunch".into(),
            "management",
            g.float(300.0, 900.0),
        ));
        rows.push((28, "other", "DBS Bank".into(), format!("Bank charges, {label}"), "finance", g.float(60.0, 180.0)));
        for (day, category, vendor, description, department, amount) in rows {
            let date = month.with_day(day).unwrap_or(month);
            let id = g.uuid();
            if date > today {
                continue;
            }
            out.push(Expense {
                id,
                category,
                vendor,
                description,
                department,
                amount_cents: (amount * 100.0).round() as i64,
                incurred_on: date,
            });
        }
    }
    out
}

fn fill(template: &str, g: &mut Gen, outlet: &str, month: &str) -> String {
    template
        .replace("{outlet}", outlet)
        .replace("{pos}", g.pick(POS_SYSTEMS))
        .replace("{month}", month)
        .replace("{n}", &g.int(1_000, 4_999).to_string())
}

fn tickets(
    g: &mut Gen,
    today: NaiveDate,
    window_start: NaiveDate,
    customers: &[Customer],
    staff: Staff,
) -> Vec<Ticket> {
    let window_days = (today - window_start).num_days();
    let end_of_today = today.and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(10);
    let mut out = Vec::with_capacity(TICKETS);
    for _ in 0..TICKETS {
        let id = g.uuid();
        let u = g.rng.random::<f64>();
        let offset = if g.chance(0.5) { u } else { u.sqrt() };
        let day = add_days(window_start, ((window_days as f64) * offset) as i64);
        let created_at = g.business_time(day);
        let mut customer = None;
        for _ in 0..25 {
            let c = customers.get(g.index(customers.len()));
            if let Some(c) = c
                && c.signed_up_at <= created_at
                && c.churned_at.is_none_or(|x| x > created_at)
            {
                customer = Some(c);
                break;
            }
        }
        let kind = g.weighted(&TICKET_KINDS.iter().map(|k| k.1).collect::<Vec<_>>());
        let (category, _, subjects, details, resolutions) = TICKET_KINDS.get(kind).copied().unwrap_or(TICKET_KINDS[0]);
        let c_country = country(customer.map(|c| c.country_index).unwrap_or(0));
        let outlet = g.pick(c_country.outlets);
        let month = add_months_back(day, 1).format("%B").to_string();
        let subject = fill(g.pick(subjects), g, outlet, &month);
        let description = format!("{subject}. {}", fill(g.pick(details), g, outlet, &month));
        let age = (today - day).num_days();
        let priority = if category == "feature_request" {
            if g.chance(0.6) { "low" } else { "normal" }
        } else {
            let urgent = if age <= 3 { 15 } else { 5 };
            ["urgent", "high", "normal", "low"][g.weighted(&[urgent, 18, 52, 25])]
        };
        let hours = match priority {
            "urgent" => g.float(1.0, 8.0),
            "high" => g.float(3.0, 36.0),
            "normal" => g.float(6.0, 96.0),
            _ => g.float(24.0, 240.0),
        };
        let resolved_candidate = created_at + TimeDelta::seconds((hours * 3_600.0) as i64);
        let recent_open = age <= 14 && g.chance(0.6);
        let stuck = (15..=60).contains(&age) && g.chance(0.15);
        let open_kind = if g.chance(0.65) { "open" } else { "pending" };
        let closed = age > 30 && g.chance(0.6);
        let resolution = fill(g.pick(resolutions), g, outlet, &month);
        let to_manager = g.chance(if matches!(priority, "urgent" | "high") { 0.4 } else { 0.15 });
        let unassigned = g.chance(0.3);
        let pending_hours = g.int(2, 48);
        let (status, resolved_at, resolution) = if stuck {
            ("pending", None, None)
        } else if recent_open || resolved_candidate > end_of_today {
            (open_kind, None, None)
        } else {
            (if closed { "closed" } else { "resolved" }, Some(resolved_candidate), Some(resolution))
        };
        let assigned_to = if status == "open" && unassigned {
            None
        } else if to_manager {
            staff.support_manager
        } else {
            staff.support_agent
        };
        let updated_at = resolved_at.unwrap_or_else(|| {
            if status == "pending" {
                (created_at + TimeDelta::hours(pending_hours)).min(end_of_today).max(created_at)
            } else {
                created_at
            }
        });
        out.push(Ticket {
            id,
            number: 0,
            customer_id: customer.map(|c| c.id),
            subject,
            description,
            category,
            priority,
            status,
            assigned_to,
            created_at,
            resolved_at,
            resolution,
            updated_at,
        });
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    for (i, t) in out.iter_mut().enumerate() {
        t.number = i as i64 + 1;
    }
    out
}

fn leads(g: &mut Gen, today: NaiveDate, customers: &[Customer], staff: Staff, used: &mut HashSet<String>) -> Vec<Lead> {
    let end_of_today = today.and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(10);
    let subscriptions: Vec<&'static str> =
        CATALOG.iter().filter(|p| p.billing == "monthly" && p.id != "analytics").map(|p| p.id).collect();
    let mut out = Vec::with_capacity(LEADS);
    for _ in 0..LEADS {
        let id = g.uuid();
        let co = company(g, used, 0.5);
        let c = country(co.country_index);
        let location = if co.city == c.name { co.city.to_string() } else { format!("{}, {}", co.city, c.name) };
        let source = ["linkedin", "website", "referral", "event"][g.weighted(&[30, 30, 22, 18])];
        let age = (270.0 * g.rng.random::<f64>().powf(1.5)) as i64;
        let created_at = g.business_time(add_days(today, -age));
        let stage = if age < 21 {
            g.weighted(&[50, 35, 15, 0, 0, 0])
        } else if age < 90 {
            g.weighted(&[0, 25, 25, 20, 15, 15])
        } else {
            g.weighted(&[0, 0, 10, 10, 40, 40])
        };
        // A lead cannot have moved further than its age allows.
        let mut stage = stage;
        while stage > 0 && [0, 1, 4, 7, 12, 12][stage] > age {
            stage = if stage >= 4 { 3 } else { stage - 1 };
        }
        let status = ["new", "contacted", "qualified", "proposal", "closed_won", "closed_lost"][stage];
        let product = g.pick(&subscriptions);
        let outlets = g.int(1, 25);
        let referrer = customers.get(g.index(customers.len())).map(|c| c.name.as_str()).unwrap_or("a customer");
        let first_note = match source {
            "linkedin" => format!("Connected on LinkedIn; {} runs marketing for {outlets} outlets.", co.contact_first),
            "website" => format!("Demo request through the website; interested in {}.", product_name(product)),
            "referral" => format!("Referred by {referrer}; wants to replace paper vouchers."),
            _ => format!("Met at {}; asked about {} pricing.", g.pick(EVENTS), product_name(product)),
        };
        let role = g.pick(&["the owner", "the marketing director", "the CFO", "the operations manager"]);
        let reason = g.pick(LOST_REASONS);
        // Later notes: (minutes after the previous one, text).
        let mut steps: Vec<(i64, String)> = Vec::new();
        let gap = |g: &mut Gen, lo: i64, hi: i64| g.int(lo, hi) * 1_440 + g.int(0, 240);
        if stage >= 1 {
            steps.push((gap(g, 1, 5), format!("Intro call with {}; sent the deck and pricing.", co.contact_first)));
        }
        if stage >= 2 {
            let budget = price(product) / 100;
            steps.push((
                gap(g, 3, 14),
                format!("Qualified: {outlets} outlets, budget around S${budget}/month; decision by {role}."),
            ));
        }
        if stage >= 3 {
            steps.push((gap(g, 3, 14), format!("Sent a proposal for {} ({outlets} outlets).", product_name(product))));
        }
        if stage == 4 {
            steps.push((gap(g, 5, 30), format!("Won: signed {}; handed over to onboarding.", product_name(product))));
        }
        if stage == 5 {
            steps.push((gap(g, 5, 30), format!("Lost: {reason}.")));
        }
        // A young lead's history is squeezed into the time it has had.
        let needed: i64 = steps.iter().map(|s| s.0).sum();
        let share = g.float(0.5, 0.95);
        let available = (((end_of_today - created_at).num_minutes() - 1).max(0) as f64 * share) as i64;
        let mut t = created_at;
        let mut notes = vec![(created_at, first_note)];
        for (minutes, text) in steps {
            let minutes = if needed > available { minutes * available / needed.max(1) } else { minutes };
            t += TimeDelta::minutes(minutes);
            notes.push((t, text));
        }
        let updated_at = notes.last().map(|n| n.0).unwrap_or(created_at);
        let overdue = g.chance(0.3);
        let due_in = g.int(1, 14);
        let follow_up_date = if stage >= 4 {
            None
        } else {
            let base = today.and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(2);
            let d = if overdue { base - TimeDelta::days(due_in) } else { base + TimeDelta::days(due_in) };
            Some(d.max(created_at + TimeDelta::days(1)))
        };
        let assignee = g.weighted(&[65, 25, 10]);
        let assigned_to = match assignee {
            0 => staff.sales_rep,
            1 => staff.sales_manager,
            _ if status == "new" => None,
            _ => staff.sales_rep,
        };
        let phone = phone(g, c);
        out.push(Lead {
            id,
            company_name: co.name,
            contact_name: co.contact_name,
            contact_email: co.email,
            contact_phone: phone,
            industry: co.industry,
            location,
            source,
            status,
            assigned_to,
            notes: notes.iter().map(|(t, s)| format!("{} {s}", stamp(*t))).collect::<Vec<_>>().join("\n"),
            created_at,
            updated_at,
            last_contacted: if stage >= 1 { Some(updated_at) } else { None },
            follow_up_date,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn is_deterministic_and_plausible() {
        let today = day(2026, 11, 24);
        let a = generate(today, 7, Staff::default());
        let b = generate(today, 7, Staff::default());
        let c = generate(today, 8, Staff::default());
        let ids = |d: &Demo| d.orders.iter().map(|o| (o.id, o.amount_cents)).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a.customers.len(), CUSTOMERS);
        assert_eq!(a.tickets.len(), TICKETS);
        assert_eq!(a.leads.len(), LEADS);
        let names: HashSet<&str> = a.customers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), CUSTOMERS, "customer names are unique");
        let churned = a.customers.iter().filter(|c| c.status == "churned").count();
        assert!((20..=55).contains(&churned), "{churned} churned");
        assert!(a.customers.iter().any(|c| c.status == "trial"));
        let end = today.and_time(NaiveTime::MIN).and_utc() + TimeDelta::days(1);
        let start = day(2025, 6, 1).and_time(NaiveTime::MIN).and_utc();
        assert!(a.orders.iter().all(|o| o.ordered_at < end && o.ordered_at >= start));
        assert!(a.expenses.iter().all(|e| e.incurred_on <= today && e.incurred_on >= day(2025, 6, 1)));
        assert!(a.orders.iter().any(|o| o.status == "refunded"));
        assert!(a.tickets.iter().any(|t| t.status == "open"));
        assert!(a.tickets.iter().filter(|t| t.resolved_at.is_some()).count() > TICKETS / 2);
    }
}
