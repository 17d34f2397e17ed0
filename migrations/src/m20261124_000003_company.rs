//! The company's own business data the department agents report on: the product catalog,
//! customers (merchants), orders, expenses and support tickets; plus the columns the LLM
//! gateway records per call on `llm_usage`. Money is BIGINT cents with a currency code.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE llm_usage
    ADD COLUMN provider   TEXT NOT NULL DEFAULT '',
    ADD COLUMN purpose    TEXT,
    ADD COLUMN session_id UUID,
    ADD COLUMN latency_ms INTEGER CHECK (latency_ms >= 0),
    ADD COLUMN outcome    TEXT NOT NULL DEFAULT 'ok'
               CHECK (outcome IN ('ok','error','timeout','rate_limited','overloaded','failed_over')),
    ADD COLUMN cost_usd   NUMERIC(12,6) CHECK (cost_usd >= 0);
CREATE INDEX idx_llm_usage_user ON llm_usage(user_id, created_at DESC);

CREATE TABLE products (
    id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]*$'),
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    billing     TEXT NOT NULL CHECK (billing IN ('monthly','one_time')),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    currency    TEXT NOT NULL DEFAULT 'SGD' CHECK (currency ~ '^[A-Z]{3}$'),
    description TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE customers (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    industry        TEXT NOT NULL,
    country         TEXT NOT NULL,
    city            TEXT,
    contact_name    TEXT,
    contact_email   TEXT,
    status          TEXT NOT NULL CHECK (status IN ('trial','active','churned')),
    plan_product_id TEXT REFERENCES products(id),
    account_manager UUID REFERENCES users(id),
    -- The platform's own customer id (webhooks refer to customers by it).
    external_ref    TEXT UNIQUE,
    signed_up_at    TIMESTAMPTZ NOT NULL,
    churned_at      TIMESTAMPTZ,
    churn_reason    TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_customers_status ON customers(status);
CREATE INDEX idx_customers_industry ON customers(industry);
CREATE INDEX idx_customers_name ON customers(lower(name));

-- A refund is its own row (status 'refunded', the amount given back); the order it refunds
-- stays 'completed'. Revenue counts 'completed' rows, refunds 'refunded' rows.
CREATE TABLE orders (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_no     TEXT NOT NULL UNIQUE CHECK (length(order_no) BETWEEN 1 AND 100),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    product_id   TEXT NOT NULL REFERENCES products(id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    currency     TEXT NOT NULL DEFAULT 'SGD' CHECK (currency ~ '^[A-Z]{3}$'),
    status       TEXT NOT NULL CHECK (status IN ('completed','refunded','pending')),
    ordered_at   TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_orders_ordered ON orders(ordered_at);
CREATE INDEX idx_orders_customer ON orders(customer_id, ordered_at);

CREATE TABLE expenses (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    category     TEXT NOT NULL CHECK (category IN ('payroll','cloud_hosting','marketing','office_rent',
                                                   'software','travel','professional_fees','other')),
    vendor       TEXT,
    description  TEXT NOT NULL,
    department   TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    currency     TEXT NOT NULL DEFAULT 'SGD' CHECK (currency ~ '^[A-Z]{3}$'),
    incurred_on  DATE NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_expenses_incurred ON expenses(incurred_on);

CREATE SEQUENCE support_ticket_no_seq;
CREATE TABLE support_tickets (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    ticket_no   TEXT NOT NULL UNIQUE CHECK (length(ticket_no) BETWEEN 1 AND 100),
    customer_id UUID REFERENCES customers(id),
    subject     TEXT NOT NULL,
    description TEXT NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('billing','technical','integration','account','feature_request')),
    priority    TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','pending','resolved','closed')),
    assigned_to UUID REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    resolution  TEXT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_tickets_status ON support_tickets(status, priority);
CREATE INDEX idx_tickets_created ON support_tickets(created_at);
"#;

const DOWN: &str = r#"
DROP TABLE IF EXISTS support_tickets;
DROP SEQUENCE IF EXISTS support_ticket_no_seq;
DROP TABLE IF EXISTS expenses;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS customers;
DROP TABLE IF EXISTS products;
DROP INDEX IF EXISTS idx_llm_usage_user;
ALTER TABLE llm_usage
    DROP COLUMN IF EXISTS cost_usd,
    DROP COLUMN IF EXISTS outcome,
    DROP COLUMN IF EXISTS latency_ms,
    DROP COLUMN IF EXISTS session_id,
    DROP COLUMN IF EXISTS purpose,
    DROP COLUMN IF EXISTS provider;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await.map(|_| ())
    }
}
