//! The company data on real PostgreSQL: the demo seed (deterministic, idempotent,
//! consistent), the reports (totals equal their breakdowns, KPIs equal direct counts) and
//! the repository functions (idempotent writes, LIKE escaping, refused input). Every test
//! has its own database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, Statement};
use store::company::{
    self, CustomerFilter, FinanceSummary, LeadFilter, LeadUpdate, NewLead, NewOrder, NewTicket, OrderFilter,
    TicketFilter, TicketUpdate,
};
use store::demo::{DemoCounts, seed_company_demo};
use store::llm_usage::{self, NewUsage};
use store::{DatabaseConnection, StoreError};
use testkit::TestDb;
use uuid::Uuid;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const TODAY: (i32, u32, u32) = (2026, 11, 24);

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

/// The seed's 18 months: 2025-06-01 up to and including today.
fn window() -> (NaiveDate, NaiveDate) {
    (day(2025, 6, 1), today().succ_opt().unwrap())
}

async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn scalar_text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get::<String>("", "t").unwrap()
}

/// A digest of every row the seed writes, so two databases can be compared.
async fn digest(db: &DatabaseConnection) -> String {
    let mut out = String::new();
    for table in ["products", "customers", "orders", "expenses", "support_tickets", "sales_leads"] {
        let sql = format!("SELECT COALESCE(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS t FROM {table} x");
        out.push_str(&scalar_text(db, &sql).await);
        out.push(' ');
    }
    out
}

async fn seeded(seed: u64) -> (TestDb, DatabaseConnection, DemoCounts) {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    let started = Instant::now();
    let counts = seed_company_demo(&db, today(), seed).await.unwrap();
    eprintln!("seed_company_demo(seed={seed}) took {:?}: {counts:?}", started.elapsed());
    (tdb, db, counts)
}

fn assert_adds_up(s: &FinanceSummary) {
    let sum = |v: &[company::Amount]| v.iter().map(|a| a.cents).sum::<i64>();
    assert_eq!(sum(&s.revenue_by_product), s.revenue_cents, "revenue = its products");
    assert_eq!(sum(&s.expenses_by_category), s.expenses_cents, "expenses = their categories");
    assert_eq!(s.by_month.iter().map(|m| m.revenue_cents).sum::<i64>(), s.revenue_cents);
    assert_eq!(s.by_month.iter().map(|m| m.refunds_cents).sum::<i64>(), s.refunds_cents);
    assert_eq!(s.by_month.iter().map(|m| m.expenses_cents).sum::<i64>(), s.expenses_cents);
    assert_eq!(s.by_month.iter().map(|m| m.net_cents).sum::<i64>(), s.net_income_cents);
    assert_eq!(s.by_month.iter().map(|m| m.order_count).sum::<i64>(), s.order_count);
    assert_eq!(s.revenue_by_product.iter().map(|a| a.count).sum::<i64>(), s.order_count);
    assert_eq!(s.net_income_cents, s.revenue_cents - s.refunds_cents - s.expenses_cents);
    for m in &s.by_month {
        assert_eq!(m.net_cents, m.revenue_cents - m.refunds_cents - m.expenses_cents);
        assert_eq!(m.month.day(), 1);
    }
    for w in s.revenue_by_product.windows(2).chain(s.expenses_by_category.windows(2)) {
        assert!(w[0].cents >= w[1].cents, "sorted by amount, largest first");
    }
    // Every month the period touches, in order, no gaps.
    if s.from < s.to {
        let first = s.by_month.first().unwrap().month;
        let last = s.by_month.last().unwrap().month;
        assert_eq!(first, s.from.with_day(1).unwrap());
        assert_eq!(last, s.to.pred_opt().unwrap().with_day(1).unwrap());
        for w in s.by_month.windows(2) {
            assert_eq!(w[1].month, w[0].month.checked_add_months(Months::new(1)).unwrap());
        }
    } else {
        assert!(s.by_month.is_empty());
    }
}

#[tokio::test]
async fn demo_seed_is_deterministic_and_idempotent() {
    let ((_a, db_a, counts_a), (_b, db_b, counts_b), (_c, db_c, counts_c)) =
        tokio::join!(seeded(42), seeded(42), seeded(7));
    assert!(!counts_a.already_seeded);
    assert_eq!(counts_a, counts_b);
    assert_eq!(counts_a.products, 8);
    assert_eq!(counts_a.customers, 300);
    assert_eq!(counts_a.tickets, 400);
    assert_eq!(counts_a.leads, 150);
    assert!(counts_a.orders > 3_000 && counts_a.expenses > 400, "{counts_a:?}");

    let (from, to) = window();
    let fa = company::finance_summary(&db_a, from, to).await.unwrap();
    let fb = company::finance_summary(&db_b, from, to).await.unwrap();
    let fc = company::finance_summary(&db_c, from, to).await.unwrap();
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
    assert_ne!(counts_a.orders, 0);
    assert_eq!(digest(&db_a).await, digest(&db_b).await, "same seed, same rows");
    assert_ne!(digest(&db_a).await, digest(&db_c).await);
    assert_eq!(company::kpis(&db_a, from, to).await.unwrap(), company::kpis(&db_b, from, to).await.unwrap());
    let _ = counts_c;

    // Second call: nothing written, the tables' counts returned.
    let before = digest(&db_a).await;
    let again = seed_company_demo(&db_a, today(), 42).await.unwrap();
    assert!(again.already_seeded);
    assert_eq!(DemoCounts { already_seeded: false, ..again }, counts_a);
    let other_seed = seed_company_demo(&db_a, today(), 99).await.unwrap();
    assert!(other_seed.already_seeded);
    assert_eq!(digest(&db_a).await, before);
}

#[tokio::test]
async fn demo_data_is_plausible() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    // With the staff users present, the seed assigns work to them.
    let mut ids = Vec::new();
    for (email, dept, role) in [
        ("sales@mezzofy.com", domain::Department::Sales, "sales_rep"),
        ("sales.manager@mezzofy.com", domain::Department::Sales, "sales_manager"),
        ("support@mezzofy.com", domain::Department::Support, "support_agent"),
        ("support-manager@mezzofy.com", domain::Department::Support, "support_manager"),
    ] {
        let email = domain::EmailAddress::parse(email).unwrap();
        let u = store::users::create(
            &db,
            store::users::NewUser { email: &email, password_hash: "x".into(), name: "Staff", department: dept, role },
        )
        .await
        .unwrap();
        ids.push(u.id);
    }
    let counts = seed_company_demo(&db, today(), 1).await.unwrap();
    assert!(!counts.already_seeded);

    let n = |sql: &'static str| {
        let db = &db;
        async move { scalar_i64(db, sql).await }
    };
    assert_eq!(n("SELECT count(*) AS n FROM customers WHERE account_manager IS NULL").await, 0);
    assert_eq!(
        n("SELECT count(*) AS n FROM support_tickets WHERE assigned_to IS NOT NULL \
           AND assigned_to NOT IN (SELECT id FROM users WHERE email LIKE 'support%')")
        .await,
        0
    );
    assert!(n("SELECT count(*) AS n FROM support_tickets WHERE assigned_to IS NOT NULL").await > 300);
    assert!(n("SELECT count(*) AS n FROM sales_leads WHERE assigned_to IS NOT NULL").await > 120);
    let churned = n("SELECT count(*) AS n FROM customers WHERE status = 'churned'").await;
    assert!((20..=55).contains(&churned), "{churned} churned");
    assert_eq!(n("SELECT count(*) AS n FROM customers WHERE status = 'churned' AND churned_at IS NULL").await, 0);
    assert!(n("SELECT count(*) AS n FROM customers WHERE status = 'trial'").await > 0);
    assert_eq!(n("SELECT count(DISTINCT country) AS n FROM customers").await, 3);
    assert_eq!(n("SELECT count(DISTINCT industry) AS n FROM customers").await, 7);
    assert!(n("SELECT count(*) AS n FROM orders WHERE status = 'refunded'").await > 10);
    assert!(n("SELECT count(*) AS n FROM support_tickets WHERE status IN ('open','pending')").await > 5);
    assert!(
        n("SELECT count(*) AS n FROM support_tickets WHERE status IN ('resolved','closed') \
           AND resolved_at IS NOT NULL AND resolution IS NOT NULL")
        .await
            > 300
    );
    assert_eq!(n("SELECT count(*) AS n FROM support_tickets WHERE resolved_at < created_at").await, 0);
    assert!(n("SELECT count(*) AS n FROM support_tickets WHERE priority = 'urgent'").await > 3);
    assert_eq!(n("SELECT count(DISTINCT status) AS n FROM sales_leads").await, 6);
    assert_eq!(n("SELECT count(DISTINCT source) AS n FROM sales_leads").await, 4);
    assert!(n("SELECT count(*) AS n FROM sales_leads WHERE follow_up_date < '2026-11-24'").await > 5);
    assert!(
        n("SELECT count(*) AS n FROM sales_leads WHERE follow_up_date BETWEEN '2026-11-24' AND '2026-12-09'").await
            > 20
    );
    assert_eq!(n("SELECT count(*) AS n FROM orders WHERE ordered_at >= '2026-11-25'").await, 0);
    assert_eq!(n("SELECT count(*) AS n FROM orders WHERE ordered_at < '2025-06-01'").await, 0);
    assert_eq!(
        n("SELECT count(*) AS n FROM customers WHERE contact_email NOT LIKE '%@%.%'").await,
        0,
        "contacts have e-mail addresses"
    );

    // The story the numbers tell: payroll is the largest cost, revenue grows.
    let (from, to) = window();
    let f = company::finance_summary(&db, from, to).await.unwrap();
    assert_adds_up(&f);
    assert_eq!(f.by_month.len(), 18);
    assert_eq!(f.expenses_by_category[0].key, "payroll");
    assert_eq!(f.expenses_by_category.len(), 8);
    assert_eq!(f.revenue_by_product.len(), 8);
    let first = &f.by_month[0];
    let last_full = &f.by_month[16];
    assert!(last_full.revenue_cents > first.revenue_cents * 11 / 10, "{first:?} vs {last_full:?}");
    assert!(last_full.revenue_cents < first.revenue_cents * 3, "modest growth: {first:?} vs {last_full:?}");
    for m in &f.by_month {
        eprintln!(
            "{} revenue {:>10.2} refunds {:>8.2} expenses {:>10.2} net {:>10.2} orders {}",
            m.month,
            m.revenue_cents as f64 / 100.0,
            m.refunds_cents as f64 / 100.0,
            m.expenses_cents as f64 / 100.0,
            m.net_cents as f64 / 100.0,
            m.order_count
        );
    }
    eprintln!("{}", serde_json::to_string(&f.revenue_by_product).unwrap());
    eprintln!("{}", serde_json::to_string(&f.expenses_by_category).unwrap());
    let sample = company::search_customers(&db, &CustomerFilter { limit: 5, ..Default::default() }).await.unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&sample).unwrap());
    let t = company::tickets_summary(&db, day(2026, 10, 1), day(2026, 11, 1)).await.unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&t).unwrap());
    let l = company::search_leads(&db, &LeadFilter { limit: 3, ..Default::default() }).await.unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&l).unwrap());
    eprintln!("{:?}", company::leads_by_status(&db).await.unwrap());
    assert!(ids.len() == 4);
}

#[tokio::test]
async fn finance_summary_adds_up_over_any_period() {
    let (_tdb, db, _) = seeded(3).await;
    let (from, to) = window();
    for (a, b) in [
        (from, to),
        (day(2025, 7, 15), day(2026, 2, 10)),
        (day(2026, 3, 1), day(2026, 4, 1)),
        (day(2026, 3, 31), day(2026, 4, 2)),
        (day(2024, 1, 1), day(2025, 1, 1)),
        (day(2026, 5, 10), day(2026, 5, 10)),
    ] {
        let s = company::finance_summary(&db, a, b).await.unwrap();
        assert_adds_up(&s);
        // Against the tables directly.
        let ts = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let revenue = scalar_i64(
            &db,
            &format!(
                "SELECT COALESCE(sum(amount_cents), 0)::bigint AS n FROM orders WHERE status = 'completed' \
                 AND ordered_at >= '{} 00:00+00' AND ordered_at < '{} 00:00+00'",
                ts(a),
                ts(b)
            ),
        )
        .await;
        let refunds = scalar_i64(
            &db,
            &format!(
                "SELECT COALESCE(sum(amount_cents), 0)::bigint AS n FROM orders WHERE status = 'refunded' \
                 AND ordered_at >= '{} 00:00+00' AND ordered_at < '{} 00:00+00'",
                ts(a),
                ts(b)
            ),
        )
        .await;
        let expenses = scalar_i64(
            &db,
            &format!(
                "SELECT COALESCE(sum(amount_cents), 0)::bigint AS n FROM expenses \
                 WHERE incurred_on >= '{}' AND incurred_on < '{}'",
                ts(a),
                ts(b)
            ),
        )
        .await;
        assert_eq!((s.revenue_cents, s.refunds_cents, s.expenses_cents), (revenue, refunds, expenses), "{a}..{b}");
        assert_eq!(s.currency, "SGD");
        assert_eq!(s.other_currency_rows, 0);
    }
    // Adjacent periods add up to the whole.
    let whole = company::finance_summary(&db, from, to).await.unwrap();
    let left = company::finance_summary(&db, from, day(2026, 1, 17)).await.unwrap();
    let right = company::finance_summary(&db, day(2026, 1, 17), to).await.unwrap();
    assert_eq!(left.revenue_cents + right.revenue_cents, whole.revenue_cents);
    assert_eq!(left.expenses_cents + right.expenses_cents, whole.expenses_cents);
    assert_eq!(left.net_income_cents + right.net_income_cents, whole.net_income_cents);

    // Before the data: a year of zero months.
    let empty = company::finance_summary(&db, day(2024, 1, 1), day(2025, 1, 1)).await.unwrap();
    assert_eq!(empty.by_month.len(), 12);
    assert_eq!(empty.revenue_cents, 0);

    // Orders in another currency are left out, and counted.
    let c = company::search_customers(
        &db,
        &CustomerFilter { status: Some("active".into()), limit: 1, ..Default::default() },
    )
    .await
    .unwrap()
    .remove(0);
    company::record_order(
        &db,
        NewOrder {
            order_no: "MYR-1".into(),
            customer_id: c.id,
            product_id: "loyalty".into(),
            quantity: 1,
            amount_cents: 150_000,
            currency: Some("myr".into()),
            status: "completed".into(),
            ordered_at: DateTime::parse_from_rfc3339("2026-03-05T03:00:00Z").unwrap().to_utc(),
        },
    )
    .await
    .unwrap();
    let march = company::finance_summary(&db, day(2026, 3, 1), day(2026, 4, 1)).await.unwrap();
    assert_eq!(march.other_currency_rows, 1);
    assert_adds_up(&march);
}

#[tokio::test]
async fn kpis_match_direct_counts() {
    let (_tdb, db, _) = seeded(5).await;
    let (from, to) = (day(2026, 8, 1), day(2026, 11, 1));
    let k = company::kpis(&db, from, to).await.unwrap();
    let p = "'2026-08-01 00:00+00'";
    let q = "'2026-11-01 00:00+00'";
    let n = |sql: String| {
        let db = &db;
        async move { scalar_i64(db, &sql).await }
    };
    assert_eq!(
        k.revenue_cents,
        n(format!(
            "SELECT COALESCE(sum(amount_cents),0)::bigint AS n FROM orders WHERE status='completed' \
             AND ordered_at >= {p} AND ordered_at < {q}"
        ))
        .await
    );
    assert_eq!(
        k.order_count,
        n(format!(
            "SELECT count(*) AS n FROM orders WHERE status='completed' AND ordered_at >= {p} AND ordered_at < {q}"
        ))
        .await
    );
    assert!(k.order_count > 0);
    assert_eq!(k.avg_order_cents, (k.revenue_cents as f64 / k.order_count as f64).round() as i64);
    assert_eq!(
        k.new_customers,
        n(format!("SELECT count(*) AS n FROM customers WHERE signed_up_at >= {p} AND signed_up_at < {q}")).await
    );
    assert_eq!(
        k.churned_customers,
        n(format!("SELECT count(*) AS n FROM customers WHERE churned_at >= {p} AND churned_at < {q}")).await
    );
    assert_eq!(
        k.active_customers_at_end,
        n(format!(
            "SELECT count(*) AS n FROM customers WHERE status <> 'trial' AND signed_up_at < {q} \
             AND (churned_at IS NULL OR churned_at >= {q})"
        ))
        .await
    );
    // Paying customers at the end: those billed in the last month of the period.
    let billed = n("SELECT count(DISTINCT customer_id) AS n FROM orders WHERE status IN ('completed','pending') \
         AND ordered_at >= '2026-10-01 00:00+00' AND ordered_at < '2026-11-01 00:00+00'"
        .into())
    .await;
    assert!((k.active_customers_at_end - billed).abs() <= k.active_customers_at_end / 10, "{k:?} vs {billed}");
    assert_eq!(
        k.tickets_opened,
        n(format!("SELECT count(*) AS n FROM support_tickets WHERE created_at >= {p} AND created_at < {q}")).await
    );
    assert_eq!(
        k.tickets_resolved,
        n(format!("SELECT count(*) AS n FROM support_tickets WHERE resolved_at >= {p} AND resolved_at < {q}")).await
    );
    assert!(k.avg_resolution_hours.unwrap() > 0.0);
    assert_eq!(
        k.leads_created,
        n(format!("SELECT count(*) AS n FROM sales_leads WHERE created_at >= {p} AND created_at < {q}")).await
    );
    let won = n(format!(
        "SELECT count(*) AS n FROM sales_leads WHERE status='closed_won' AND updated_at >= {p} AND updated_at < {q}"
    ))
    .await;
    let lost = n(format!(
        "SELECT count(*) AS n FROM sales_leads WHERE status='closed_lost' AND updated_at >= {p} AND updated_at < {q}"
    ))
    .await;
    assert_eq!((k.leads_won, k.leads_lost), (won, lost));
    match k.win_rate {
        Some(r) => assert!((r - won as f64 / (won + lost) as f64).abs() < 1e-9),
        None => assert_eq!(won + lost, 0),
    }
    let f = company::finance_summary(&db, from, to).await.unwrap();
    assert_eq!((f.revenue_cents, f.refunds_cents, f.order_count), (k.revenue_cents, k.refunds_cents, k.order_count));

    let top = company::top_customers(&db, from, to, 10).await.unwrap();
    assert_eq!(top.len(), 10);
    assert!(top.windows(2).all(|w| w[0].revenue_cents >= w[1].revenue_cents));
    let all = company::top_customers(&db, from, to, 200).await.unwrap();
    assert!(all.len() <= 200);

    // An empty period.
    let none = company::kpis(&db, day(2020, 1, 1), day(2020, 1, 1)).await.unwrap();
    assert_eq!((none.revenue_cents, none.order_count, none.avg_order_cents), (0, 0, 0));
    assert_eq!(none.win_rate, None);
    assert_eq!(none.avg_resolution_hours, None);
}

async fn insert_customer(db: &DatabaseConnection, name: &str, contact: &str, status: &str, country: &str) -> Uuid {
    let id = Uuid::new_v4();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO customers (id, name, industry, country, contact_name, contact_email, status, signed_up_at, \
         external_ref) VALUES ($1, $2, 'F&B', $3, $4, 'ops@example.com', $5, now(), $6)",
        [id.into(), name.into(), country.into(), contact.into(), status.into(), format!("EXT-{id}").into()],
    ))
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn search_customers_escapes_wildcards_and_filters() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    company::upsert_catalog(&db).await.unwrap();
    let pct = insert_customer(&db, "50% Off Deals", "Ann Tan", "active", "SG").await;
    let under = insert_customer(&db, "Under_Score Cafe", "Bob Lim", "trial", "MY").await;
    let plain = insert_customer(&db, "Plain CAFE Pte Ltd", "Cara_Ng", "churned", "HK").await;
    let back = insert_customer(&db, "Back\\slash Bakery", "Dan Ong", "active", "SG").await;

    let ids = |rows: Vec<company::CustomerRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let search = |q: &str| CustomerFilter { query: Some(q.into()), ..Default::default() };
    assert_eq!(ids(company::search_customers(&db, &search("%")).await.unwrap()), vec![pct]);
    let mut underscore = ids(company::search_customers(&db, &search("_")).await.unwrap());
    underscore.sort();
    let mut expected = vec![under, plain];
    expected.sort();
    assert_eq!(underscore, expected, "the name's and the contact's underscore, nothing else");
    assert_eq!(ids(company::search_customers(&db, &search("\\")).await.unwrap()), vec![back]);
    assert_eq!(ids(company::search_customers(&db, &search("0% o")).await.unwrap()), vec![pct]);
    assert_eq!(company::search_customers(&db, &search("cafe")).await.unwrap().len(), 2);
    assert_eq!(company::search_customers(&db, &search("ann t")).await.unwrap().len(), 1);
    assert_eq!(company::search_customers(&db, &search("   ")).await.unwrap().len(), 4);
    let by = |f: CustomerFilter| {
        let db = &db;
        async move { ids(company::search_customers(db, &f).await.unwrap()) }
    };
    assert_eq!(by(CustomerFilter { status: Some("Trial".into()), ..Default::default() }).await, vec![under]);
    assert_eq!(by(CustomerFilter { country: Some("hong kong".into()), ..Default::default() }).await, vec![plain]);
    assert_eq!(by(CustomerFilter { industry: Some("f&b".into()), limit: 1, ..Default::default() }).await.len(), 1);
    assert!(by(CustomerFilter { industry: Some("Retail".into()), ..Default::default() }).await.is_empty());
    let bad =
        company::search_customers(&db, &CustomerFilter { status: Some("gone".into()), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    let found = company::customer_by_external_ref(&db, &format!("EXT-{pct}")).await.unwrap().unwrap();
    assert_eq!(found.name, "50% Off Deals");
    assert!(company::customer_by_external_ref(&db, "nope").await.unwrap().is_none());
    assert_eq!(company::customer(&db, back).await.unwrap().unwrap().id, back);

    let products = company::products(&db).await.unwrap();
    assert_eq!(products.len(), 8);
    let starter = products.iter().find(|p| p.id == "coupon-starter").unwrap();
    assert_eq!((starter.price_cents, starter.billing.as_str(), starter.currency.as_str()), (29_900, "monthly", "SGD"));
    assert_eq!(products.iter().find(|p| p.id == "onboarding").unwrap().price_cents, 200_000);
}

#[tokio::test]
async fn record_order_is_idempotent_and_validated() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    company::upsert_catalog(&db).await.unwrap();
    let customer = insert_customer(&db, "Kopi Corner", "Ann", "active", "SG").await;
    let at = DateTime::parse_from_rfc3339("2026-11-02T04:00:00Z").unwrap().to_utc();
    let order = |no: &str| NewOrder {
        order_no: no.into(),
        customer_id: customer,
        product_id: "coupon-business".into(),
        quantity: 1,
        amount_cents: 89_900,
        currency: None,
        status: "completed".into(),
        ordered_at: at,
    };
    let (first, created) = company::record_order(&db, order("WEB-1001")).await.unwrap();
    assert!(created);
    assert_eq!(first.customer_name, "Kopi Corner");
    assert_eq!(first.product_name, "Mezzofy Coupon – Business");
    assert_eq!(first.currency, "SGD");
    let (again, created) = company::record_order(&db, NewOrder { amount_cents: 1, ..order("WEB-1001") }).await.unwrap();
    assert!(!created);
    assert_eq!(again, first, "the existing order, unchanged");
    assert_eq!(scalar_i64(&db, "SELECT count(*) AS n FROM orders").await, 1);

    // Concurrent deliveries of the same order record it once.
    let results = futures_like_join(&db, order("WEB-1002")).await;
    assert_eq!(results.iter().filter(|(_, c)| *c).count(), 1);
    assert_eq!(results[0].0.id, results[1].0.id);

    let found =
        company::search_orders(&db, &OrderFilter { customer_id: Some(customer), ..Default::default() }).await.unwrap();
    assert_eq!(found.len(), 2);
    let in_nov = OrderFilter { from: Some(day(2026, 11, 1)), to: Some(day(2026, 11, 3)), ..Default::default() };
    assert_eq!(company::search_orders(&db, &in_nov).await.unwrap().len(), 2);
    let after = OrderFilter { from: Some(day(2026, 11, 3)), ..Default::default() };
    assert!(company::search_orders(&db, &after).await.unwrap().is_empty());
    let refunded = OrderFilter { status: Some("refunded".into()), ..Default::default() };
    assert!(company::search_orders(&db, &refunded).await.unwrap().is_empty());

    let k = company::kpis(&db, day(2026, 11, 1), day(2026, 12, 1)).await.unwrap();
    assert_eq!((k.revenue_cents, k.order_count, k.avg_order_cents), (179_800, 2, 89_900));

    for (what, bad) in [
        ("quantity 0", NewOrder { quantity: 0, ..order("X-1") }),
        ("negative amount", NewOrder { amount_cents: -5, ..order("X-2") }),
        ("bad status", NewOrder { status: "shipped".into(), ..order("X-3") }),
        ("bad currency", NewOrder { currency: Some("dollars".into()), ..order("X-4") }),
        ("empty order_no", order("  ")),
        ("unknown product", NewOrder { product_id: "nope".into(), ..order("X-5") }),
        ("unknown customer", NewOrder { customer_id: Uuid::new_v4(), ..order("X-6") }),
        ("year 1", NewOrder { ordered_at: DateTime::<Utc>::MIN_UTC, ..order("X-7") }),
    ] {
        let r = company::record_order(&db, bad).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{what}: {r:?}");
    }
    assert_eq!(scalar_i64(&db, "SELECT count(*) AS n FROM orders").await, 2);
}

async fn futures_like_join(db: &DatabaseConnection, o: NewOrder) -> Vec<(company::OrderRow, bool)> {
    let (a, b) = tokio::join!(company::record_order(db, o.clone()), company::record_order(db, o));
    vec![a.unwrap(), b.unwrap()]
}

#[tokio::test]
async fn leads_append_notes_and_filter() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    let soon = Utc::now() + TimeDelta::days(3);
    let lead = company::create_lead(
        &db,
        NewLead {
            company_name: "  Harbour Bistro  ".into(),
            contact_name: Some("Mei Tan".into()),
            contact_email: Some("mei@harbour.sg".into()),
            industry: Some("F&B".into()),
            location: Some("Kuala Lumpur, Malaysia".into()),
            source: Some("LinkedIn".into()),
            notes: Some("first contact".into()),
            follow_up_date: Some(soon),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(lead.company_name, "Harbour Bistro");
    assert_eq!(lead.status, "new");
    assert_eq!(lead.source.as_deref(), Some("linkedin"));
    assert!(lead.notes.as_deref().unwrap().ends_with("UTC] first contact"));

    let contacted = Utc::now();
    let updated = company::update_lead(
        &db,
        lead.id,
        LeadUpdate {
            status: Some("Qualified".into()),
            notes: Some("budget confirmed".into()),
            last_contacted: Some(contacted),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .unwrap();
    let notes = updated.notes.clone().unwrap();
    let lines: Vec<&str> = notes.lines().collect();
    assert_eq!(lines.len(), 2, "{notes}");
    assert!(lines[0].ends_with("first contact") && lines[0].starts_with('['));
    assert!(lines[1].ends_with("UTC] budget confirmed") && lines[1].starts_with('['));
    assert_eq!(updated.status, "qualified");
    assert_eq!(updated.follow_up_date, lead.follow_up_date, "untouched fields stay");
    assert!(updated.last_contacted.is_some());
    assert!(updated.updated_at >= lead.updated_at);

    // Nothing to change but a status: notes stay.
    let same = company::update_lead(&db, lead.id, LeadUpdate { status: Some("proposal".into()), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same.notes, updated.notes);

    assert!(company::update_lead(&db, Uuid::new_v4(), LeadUpdate::default()).await.unwrap().is_none());
    let bad = company::update_lead(&db, lead.id, LeadUpdate { status: Some("won".into()), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    let bad =
        company::update_lead(&db, lead.id, LeadUpdate { assigned_to: Some(Uuid::new_v4()), ..Default::default() })
            .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    let bad = company::create_lead(&db, NewLead { company_name: " ".into(), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    company::create_lead(&db, NewLead { company_name: "100%_Fitness".into(), ..Default::default() }).await.unwrap();
    let search = |f: LeadFilter| {
        let db = &db;
        async move { company::search_leads(db, &f).await.unwrap() }
    };
    assert_eq!(search(LeadFilter { query: Some("%_".into()), ..Default::default() }).await.len(), 1);
    assert_eq!(search(LeadFilter { query: Some("harbour".into()), ..Default::default() }).await.len(), 1);
    assert_eq!(search(LeadFilter { location: Some("malaysia".into()), ..Default::default() }).await.len(), 1);
    assert_eq!(search(LeadFilter { status: Some("proposal".into()), ..Default::default() }).await.len(), 1);
    let due = LeadFilter { follow_up_before: Some(Utc::now() + TimeDelta::days(7)), ..Default::default() };
    assert_eq!(search(due).await.len(), 1);
    let due = LeadFilter { follow_up_before: Some(Utc::now()), ..Default::default() };
    assert!(search(due).await.is_empty());

    let by_status = company::leads_by_status(&db).await.unwrap();
    assert_eq!(by_status.len(), 6);
    assert_eq!(by_status[0].status, "new");
    assert_eq!(by_status.iter().find(|s| s.status == "new").unwrap().count, 1);
    assert_eq!(by_status.iter().find(|s| s.status == "proposal").unwrap().count, 1);
    assert_eq!(by_status.iter().map(|s| s.count).sum::<i64>(), 2);
}

#[tokio::test]
async fn tickets_are_numbered_summarised_and_validated() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    company::upsert_catalog(&db).await.unwrap();
    let customer = insert_customer(&db, "Glow Beauty Lab", "Ann", "active", "SG").await;
    let new = |subject: &str| NewTicket {
        customer_id: Some(customer),
        subject: subject.into(),
        description: "details".into(),
        category: "technical".into(),
        ..Default::default()
    };
    let a = company::create_ticket(&db, new("QR scan fails")).await.unwrap();
    let b =
        company::create_ticket(&db, NewTicket { priority: Some("urgent".into()), ..new("Portal down") }).await.unwrap();
    assert_eq!(a.ticket_no, "TCK-000001");
    assert_eq!(b.ticket_no, "TCK-000002");
    assert_eq!((a.status.as_str(), a.priority.as_str()), ("open", "normal"));
    assert_eq!(a.customer_name.as_deref(), Some("Glow Beauty Lab"));
    // A caller's number that the sequence will reach later is skipped over.
    company::create_ticket(&db, NewTicket { ticket_no: Some("TCK-000003".into()), ..new("Mail import") })
        .await
        .unwrap();
    let d = company::create_ticket(&db, new("Next")).await.unwrap();
    assert_eq!(d.ticket_no, "TCK-000004");
    // A given number is idempotent.
    let e1 = company::create_ticket(&db, NewTicket { ticket_no: Some("ZD-77".into()), ..new("From Zendesk") })
        .await
        .unwrap();
    let e2 = company::create_ticket(&db, NewTicket { ticket_no: Some("ZD-77".into()), ..new("Other subject") })
        .await
        .unwrap();
    assert_eq!(e1, e2);

    for (what, bad) in [
        ("category", NewTicket { category: "hardware".into(), ..new("x") }),
        ("priority", NewTicket { priority: Some("asap".into()), ..new("x") }),
        ("subject", new("  ")),
        ("customer", NewTicket { customer_id: Some(Uuid::new_v4()), ..new("x") }),
    ] {
        let r = company::create_ticket(&db, bad).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{what}: {r:?}");
    }

    let resolved = company::update_ticket(
        &db,
        b.id,
        TicketUpdate { status: Some("resolved".into()), resolution: Some("restarted".into()), ..Default::default() },
    )
    .await
    .unwrap()
    .unwrap();
    assert!(resolved.resolved_at.is_some());
    assert_eq!(resolved.resolution.as_deref(), Some("restarted"));
    let bad =
        company::update_ticket(&db, b.id, TicketUpdate { status: Some("done".into()), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));

    let today = Utc::now().date_naive();
    let s = company::tickets_summary(&db, today.pred_opt().unwrap(), today + TimeDelta::days(2)).await.unwrap();
    assert_eq!((s.opened, s.resolved, s.open_now), (5, 1, 4));
    assert_eq!(s.by_priority[0], ("urgent".to_string(), 1));
    assert_eq!(s.by_priority.iter().map(|p| p.1).sum::<i64>(), 5);
    assert_eq!(s.by_category[0], ("technical".to_string(), 5));
    assert_eq!(s.by_category.len(), 5);
    assert_eq!(s.oldest_open.len(), 4);
    assert_eq!(s.oldest_open[0].ticket_no, "TCK-000001");
    assert!(s.avg_resolution_hours.unwrap() >= 0.0);

    let search = |f: TicketFilter| {
        let db = &db;
        async move { company::search_tickets(db, &f).await.unwrap() }
    };
    assert_eq!(search(TicketFilter { status: Some("open".into()), ..Default::default() }).await.len(), 4);
    assert_eq!(search(TicketFilter { query: Some("zendesk".into()), ..Default::default() }).await.len(), 1);
    assert_eq!(search(TicketFilter { query: Some("glow".into()), ..Default::default() }).await.len(), 5);
    assert!(search(TicketFilter { query: Some("%".into()), ..Default::default() }).await.is_empty());
    let bad = company::search_tickets(&db, &TicketFilter { priority: Some("p1".into()), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));
}

#[tokio::test]
async fn demo_tickets_continue_the_sequence() {
    let (_tdb, db, _) = seeded(11).await;
    let max = scalar_text(&db, "SELECT max(ticket_no) AS t FROM support_tickets").await;
    assert_eq!(max, "TCK-000400");
    let t = company::create_ticket(
        &db,
        NewTicket {
            subject: "After seed".into(),
            description: "d".into(),
            category: "billing".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(t.ticket_no, "TCK-000401");
}

#[tokio::test]
async fn llm_usage_records_and_summarises() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    let call = |provider: &str, model: &str, outcome: &str, cost: Option<f64>| NewUsage {
        provider: provider.into(),
        model: model.into(),
        purpose: Some("chat".into()),
        department: Some("finance".into()),
        user_id: None,
        session_id: Some(Uuid::new_v4()),
        input_tokens: 1_000,
        output_tokens: 200,
        latency_ms: 850,
        outcome: outcome.into(),
        cost_usd: cost,
    };
    llm_usage::record(&db, call("anthropic", "claude-sonnet", "ok", Some(0.0123456))).await.unwrap();
    llm_usage::record(&db, call("anthropic", "claude-sonnet", "timeout", None)).await.unwrap();
    llm_usage::record(&db, call("Anthropic", "claude-sonnet", "ok", Some(0.5))).await.unwrap();
    llm_usage::record(&db, call("openai", "gpt-x", "failed_over", Some(0.1))).await.unwrap();

    let now = Utc::now();
    let rows = llm_usage::summary(&db, now - TimeDelta::hours(1), now + TimeDelta::hours(1)).await.unwrap();
    assert_eq!(rows.len(), 2);
    let a = &rows[0];
    assert_eq!((a.provider.as_str(), a.model.as_str(), a.calls, a.failed_calls), ("anthropic", "claude-sonnet", 3, 1));
    assert_eq!((a.input_tokens, a.output_tokens), (3_000, 600));
    assert!((a.cost_usd - 0.512346).abs() < 1e-9, "{}", a.cost_usd);
    assert_eq!(a.avg_latency_ms, Some(850.0));
    assert!(llm_usage::summary(&db, now - TimeDelta::days(2), now - TimeDelta::days(1)).await.unwrap().is_empty());

    for (what, bad) in [
        ("outcome", call("x", "m", "exploded", None)),
        ("tokens", NewUsage { input_tokens: -1, ..call("x", "m", "ok", None) }),
        ("latency", NewUsage { latency_ms: -1, ..call("x", "m", "ok", None) }),
        ("nan cost", call("x", "m", "ok", Some(f64::NAN))),
        ("negative cost", call("x", "m", "ok", Some(-0.01))),
        ("model", call("x", " ", "ok", None)),
        ("unknown user", NewUsage { user_id: Some(Uuid::new_v4()), ..call("x", "m", "ok", None) }),
    ] {
        let r = llm_usage::record(&db, bad).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{what}: {r:?}");
    }
    assert!(matches!(llm_usage::summary(&db, now, now - TimeDelta::hours(1)).await, Err(StoreError::Invalid(_))));
}

#[tokio::test]
async fn invalid_periods_are_errors() {
    let tdb = TestDb::new().await;
    let db = tdb.connect().await;
    let (a, b) = (day(2026, 2, 1), day(2026, 1, 1));
    assert!(matches!(company::finance_summary(&db, a, b).await, Err(StoreError::Invalid(_))));
    assert!(matches!(company::kpis(&db, a, b).await, Err(StoreError::Invalid(_))));
    assert!(matches!(company::tickets_summary(&db, a, b).await, Err(StoreError::Invalid(_))));
    assert!(matches!(company::top_customers(&db, a, b, 5).await, Err(StoreError::Invalid(_))));
    let ancient = NaiveDate::MIN;
    assert!(matches!(company::finance_summary(&db, ancient, b).await, Err(StoreError::Invalid(_))));
    assert!(matches!(company::finance_summary(&db, b, NaiveDate::MAX).await, Err(StoreError::Invalid(_))));
    assert!(matches!(
        company::search_orders(&db, &OrderFilter { from: Some(NaiveDate::MIN), ..Default::default() }).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        company::search_orders(&db, &OrderFilter { status: Some("lost".into()), ..Default::default() }).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(seed_company_demo(&db, NaiveDate::MAX, 1).await, Err(StoreError::Invalid(_))));
    // Nothing was written by the refused seed.
    assert_eq!(scalar_i64(&db, "SELECT count(*) AS n FROM products").await, 0);
}
