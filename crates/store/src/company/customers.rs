//! The product catalog, customers (merchants) and their orders.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde::Serialize;
use uuid::Uuid;

use super::{
    CUSTOMER_STATUSES, ORDER_STATUSES, REPORT_CURRENCY, check_date, check_instant, contains_pattern, currency, limit,
    one_of, opt_one_of, period, required, start_of, stmt,
};
use crate::StoreError;

/// One product of Mezzofy's price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogProduct {
    pub id: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    /// `monthly` or `one_time`.
    pub billing: &'static str,
    /// In SGD cents.
    pub price_cents: i64,
    pub description: &'static str,
}

/// The price list (SGD). `knowledge/product_data/products.json` carries the same catalog.
pub const CATALOG: &[CatalogProduct] = &[
    CatalogProduct {
        id: "coupon-starter",
        name: "Mezzofy Coupon – Starter",
        category: "coupons",
        billing: "monthly",
        price_cents: 29_900,
        description: "Digital coupon campaigns for a single outlet, with QR redemption and basic reporting.",
    },
    CatalogProduct {
        id: "coupon-business",
        name: "Mezzofy Coupon – Business",
        category: "coupons",
        billing: "monthly",
        price_cents: 89_900,
        description: "Multi-outlet coupon and e-voucher campaigns with targeting, scheduling and staff redemption apps.",
    },
    CatalogProduct {
        id: "coupon-enterprise",
        name: "Mezzofy Coupon – Enterprise",
        category: "coupons",
        billing: "monthly",
        price_cents: 249_900,
        description: "Unlimited campaigns and outlets with API access, single sign-on, custom branding and a dedicated account manager.",
    },
    CatalogProduct {
        id: "loyalty",
        name: "Mezzofy Loyalty & Membership",
        category: "loyalty",
        billing: "monthly",
        price_cents: 49_900,
        description: "Points, stamps, membership tiers and member-only rewards that bring customers back.",
    },
    CatalogProduct {
        id: "egift",
        name: "Mezzofy e-Gift Cards",
        category: "gifting",
        billing: "monthly",
        price_cents: 39_900,
        description: "Branded digital gift cards sold online and redeemed in store, with balance tracking.",
    },
    CatalogProduct {
        id: "analytics",
        name: "Campaign Analytics add-on",
        category: "add-on",
        billing: "monthly",
        price_cents: 19_900,
        description: "Dashboards on issuance, redemption, ROI and customer cohorts for every campaign.",
    },
    CatalogProduct {
        id: "pos-integration",
        name: "POS Integration",
        category: "services",
        billing: "one_time",
        price_cents: 150_000,
        description: "One-time integration of Mezzofy redemption with the merchant's point-of-sale system.",
    },
    CatalogProduct {
        id: "onboarding",
        name: "Onboarding & Training",
        category: "services",
        billing: "one_time",
        price_cents: 200_000,
        description: "Account setup, first campaign design and staff training delivered by our customer success team.",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub billing: String,
    pub price_cents: i64,
    pub currency: String,
    pub description: String,
    pub active: bool,
}

/// Writes [`CATALOG`] into `products` (inserting or updating each row); returns the rows
/// written. Products not in the catalog are left alone.
pub async fn upsert_catalog(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    let mut sql = String::from(
        "INSERT INTO products (id, name, category, billing, price_cents, currency, description, active) VALUES ",
    );
    let mut values: Vec<Value> = Vec::with_capacity(CATALOG.len() * 6);
    for (i, p) in CATALOG.iter().enumerate() {
        let b = i * 6;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, 'SGD', ${}, true)", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
        values.extend([
            p.id.into(),
            p.name.into(),
            p.category.into(),
            p.billing.into(),
            p.price_cents.into(),
            p.description.into(),
        ]);
    }
    sql.push_str(
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, \
         billing = EXCLUDED.billing, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency, \
         description = EXCLUDED.description, active = EXCLUDED.active",
    );
    Ok(db.execute_raw(stmt(db, &sql, values)).await?.rows_affected())
}

/// Every product, monthly subscriptions first, then by price.
pub async fn products(db: &impl ConnectionTrait) -> Result<Vec<ProductRow>, StoreError> {
    Ok(ProductRow::find_by_statement(stmt(
        db,
        "SELECT id, name, category, billing, price_cents, currency, description, active FROM products \
         ORDER BY billing <> 'monthly', price_cents, id",
        vec![],
    ))
    .all(db)
    .await?)
}

/// A customer with its plan's and account manager's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct CustomerRow {
    pub id: Uuid,
    pub name: String,
    pub industry: String,
    pub country: String,
    pub city: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub status: String,
    pub plan_product_id: Option<String>,
    pub plan_name: Option<String>,
    pub account_manager: Option<Uuid>,
    pub account_manager_name: Option<String>,
    pub external_ref: Option<String>,
    pub signed_up_at: DateTime<Utc>,
    pub churned_at: Option<DateTime<Utc>>,
    pub churn_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CUSTOMER_SELECT: &str = "SELECT c.id, c.name, c.industry, c.country, c.city, c.contact_name, c.contact_email, \
    c.status, c.plan_product_id, p.name AS plan_name, c.account_manager, u.name AS account_manager_name, \
    c.external_ref, c.signed_up_at, c.churned_at, c.churn_reason, c.created_at, c.updated_at \
    FROM customers c LEFT JOIN products p ON p.id = c.plan_product_id LEFT JOIN users u ON u.id = c.account_manager";

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of the name, contact name or contact e-mail (taken
    /// literally: `%` and `_` are not wildcards).
    pub query: Option<String>,
    /// trial | active | churned.
    pub status: Option<String>,
    /// Case-insensitive, exact (e.g. "F&B", "retail").
    pub industry: Option<String>,
    /// SG | MY | HK, or the country's name.
    pub country: Option<String>,
    /// 0 → 50; at most 200.
    pub limit: u64,
}

/// `Singapore` → `SG` and so on; other values upper-cased.
fn country_code(c: &str) -> String {
    match c.trim().to_lowercase().as_str() {
        "singapore" => "SG".into(),
        "malaysia" => "MY".into(),
        "hong kong" | "hongkong" => "HK".into(),
        other => other.to_uppercase(),
    }
}

/// Customers matching every given criterion, by name.
pub async fn search_customers(db: &impl ConnectionTrait, f: &CustomerFilter) -> Result<Vec<CustomerRow>, StoreError> {
    let status = opt_one_of("status", &f.status, CUSTOMER_STATUSES)?;
    let industry = f.industry.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let country = f.country.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(country_code);
    Ok(CustomerRow::find_by_statement(stmt(
        db,
        &format!(
            "{CUSTOMER_SELECT} WHERE ($1::text IS NULL OR c.name ILIKE $1 ESCAPE '\\' \
               OR c.contact_name ILIKE $1 ESCAPE '\\' OR c.contact_email ILIKE $1 ESCAPE '\\') \
             AND ($2::text IS NULL OR c.status = $2) AND ($3::text IS NULL OR lower(c.industry) = lower($3)) \
             AND ($4::text IS NULL OR upper(c.country) = $4) \
             ORDER BY lower(c.name), c.id LIMIT $5"
        ),
        vec![contains_pattern(&f.query).into(), status.into(), industry.into(), country.into(), limit(f.limit).into()],
    ))
    .all(db)
    .await?)
}

pub async fn customer(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<CustomerRow>, StoreError> {
    Ok(CustomerRow::find_by_statement(stmt(db, &format!("{CUSTOMER_SELECT} WHERE c.id = $1"), vec![id.into()]))
        .one(db)
        .await?)
}

/// The customer the platform knows by `external_ref` (webhooks name customers this way).
pub async fn customer_by_external_ref(
    db: &impl ConnectionTrait,
    external_ref: &str,
) -> Result<Option<CustomerRow>, StoreError> {
    Ok(CustomerRow::find_by_statement(stmt(
        db,
        &format!("{CUSTOMER_SELECT} WHERE c.external_ref = $1"),
        vec![external_ref.trim().into()],
    ))
    .one(db)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct CustomerRevenue {
    pub customer_id: Uuid,
    pub name: String,
    pub industry: String,
    pub country: String,
    pub status: String,
    /// Completed orders of the period, in [`REPORT_CURRENCY`].
    pub revenue_cents: i64,
    /// Completed orders of the period.
    pub orders: i64,
}

/// The customers with the most completed-order revenue in `[from, to)`.
pub async fn top_customers(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    n: u64,
) -> Result<Vec<CustomerRevenue>, StoreError> {
    let (t_from, t_to) = period(from, to)?;
    Ok(CustomerRevenue::find_by_statement(stmt(
        db,
        "SELECT c.id AS customer_id, c.name, c.industry, c.country, c.status, \
                sum(o.amount_cents)::bigint AS revenue_cents, count(*) AS orders \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.ordered_at >= $1 AND o.ordered_at < $2 AND o.status = 'completed' AND o.currency = $3 \
         GROUP BY c.id ORDER BY revenue_cents DESC, c.name, c.id LIMIT $4",
        vec![t_from.into(), t_to.into(), REPORT_CURRENCY.into(), limit(n).into()],
    ))
    .all(db)
    .await?)
}

/// An order with its customer's and product's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct OrderRow {
    pub id: Uuid,
    pub order_no: String,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub product_id: String,
    pub product_name: String,
    pub quantity: i32,
    pub amount_cents: i64,
    pub currency: String,
    /// completed | refunded (a refund row) | pending.
    pub status: String,
    pub ordered_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const ORDER_COLUMNS: &str = "o.id, o.order_no, o.customer_id, c.name AS customer_name, o.product_id, \
    p.name AS product_name, o.quantity, o.amount_cents, o.currency, o.status, o.ordered_at, o.created_at";

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Ordered on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Ordered before this day (UTC).
    pub to: Option<NaiveDate>,
    pub customer_id: Option<Uuid>,
    pub product_id: Option<String>,
    /// completed | refunded | pending.
    pub status: Option<String>,
    /// 0 → 50; at most 200.
    pub limit: u64,
}

/// Orders matching every given criterion, newest first.
pub async fn search_orders(db: &impl ConnectionTrait, f: &OrderFilter) -> Result<Vec<OrderRow>, StoreError> {
    if let Some(d) = f.from {
        check_date("from", d)?;
    }
    if let Some(d) = f.to {
        check_date("to", d)?;
    }
    let status = opt_one_of("status", &f.status, ORDER_STATUSES)?;
    let product = f.product_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    Ok(OrderRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id \
             JOIN products p ON p.id = o.product_id \
             WHERE ($1::timestamptz IS NULL OR o.ordered_at >= $1) AND ($2::timestamptz IS NULL OR o.ordered_at < $2) \
             AND ($3::uuid IS NULL OR o.customer_id = $3) AND ($4::text IS NULL OR o.product_id = $4) \
             AND ($5::text IS NULL OR o.status = $5) \
             ORDER BY o.ordered_at DESC, o.order_no DESC LIMIT $6"
        ),
        vec![
            f.from.map(start_of).into(),
            f.to.map(start_of).into(),
            f.customer_id.into(),
            product.into(),
            status.into(),
            limit(f.limit).into(),
        ],
    ))
    .all(db)
    .await?)
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The caller's order number; recording it again returns the existing order.
    pub order_no: String,
    pub customer_id: Uuid,
    pub product_id: String,
    /// At least 1.
    pub quantity: i32,
    /// Not negative.
    pub amount_cents: i64,
    /// `None` → SGD.
    pub currency: Option<String>,
    /// completed | refunded (a refund row) | pending.
    pub status: String,
    pub ordered_at: DateTime<Utc>,
}

/// Records an order, or returns the one already recorded with this `order_no`
/// (`created == false`; its fields are not compared with `new`'s).
pub async fn record_order(db: &impl ConnectionTrait, new: NewOrder) -> Result<(OrderRow, bool), StoreError> {
    let order_no = required("order_no", &new.order_no, 100)?;
    let product_id = required("product_id", &new.product_id, 100)?;
    let status = one_of("status", &new.status, ORDER_STATUSES)?;
    if new.quantity < 1 {
        return Err(StoreError::invalid(format!("quantity must be at least 1, not {}", new.quantity)));
    }
    if new.amount_cents < 0 {
        return Err(StoreError::invalid(format!("amount_cents must not be negative, not {}", new.amount_cents)));
    }
    let currency = currency(new.currency.as_deref())?;
    check_instant("ordered_at", &Some(new.ordered_at))?;
    let inserted = OrderRow::find_by_statement(stmt(
        db,
        &format!(
            "WITH o AS (INSERT INTO orders (id, order_no, customer_id, product_id, quantity, amount_cents, currency, \
                 status, ordered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (order_no) DO NOTHING RETURNING *) \
             SELECT {ORDER_COLUMNS} FROM o JOIN customers c ON c.id = o.customer_id \
             JOIN products p ON p.id = o.product_id"
        ),
        vec![
            Uuid::now_v7().into(),
            order_no.clone().into(),
            new.customer_id.into(),
            product_id.into(),
            new.quantity.into(),
            new.amount_cents.into(),
            currency.into(),
            status.into(),
            new.ordered_at.into(),
        ],
    ))
    .one(db)
    .await
    .map_err(|e| StoreError::refused(e, "order (unknown customer or product)"))?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = OrderRow::find_by_statement(stmt(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN customers c ON c.id = o.customer_id \
             JOIN products p ON p.id = o.product_id WHERE o.order_no = $1"
        ),
        vec![order_no.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("order_no conflict without a row".into())))?;
    Ok((existing, false))
}
