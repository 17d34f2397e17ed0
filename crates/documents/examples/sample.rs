//! Writes a sample Chinese/English statement to the path given as argument.
use documents::{Brand, Fonts, financial_statement, render_pdf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = serde_json::json!({"period_label": "2026年10月", "revenue": 1234567.89, "expenses": 100.0,
        "refunds": 5.0, "net_income": 1234462.89, "order_count": 42,
        "revenue_by_product": [{"name": "会员积分", "amount": 1000.0}, {"name": "Coupon Pro", "amount": 234.5}],
        "expenses_by_category": [], "by_month": [{"month": "2026-10", "revenue": 1.0, "expenses": 2.0, "net": -1.0}]});
    let pdf =
        render_pdf(&financial_statement(&data, "财务报表 2026年10月"), &Brand::mezzofy(), &Fonts::debian_default())?;
    let out = std::env::args().nth(1).ok_or("usage: sample OUT.pdf")?;
    std::fs::write(out, pdf)?;
    Ok(())
}
