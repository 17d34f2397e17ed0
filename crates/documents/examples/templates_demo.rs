//! Renders every template in knowledge/templates/pdf with sample data to the directory given.
use documents::templates::load_dir;
use documents::{Brand, Fonts, Logo, Report, render_pdf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: templates_demo OUT_DIR")?);
    let k = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge");
    let templates = load_dir(&k.join("templates/pdf"))?;
    let brand = Brand::from_palette_file(&k.join("brand/color_palette.yaml"))?;
    let logo = Logo::from_svg_file(&k.join("brand/logos/mezzofy-logo.svg"))?;
    let samples: Vec<(&str, serde_json::Value)> = vec![
        (
            "kpi_dashboard",
            serde_json::json!({"period_label": "February 2026", "revenue": "SGD 98,765.40",
            "refunds": "SGD 432.10", "order_count": 1520, "avg_order": "SGD 64.98", "new_customers": 37,
            "churned_customers": 4, "active_customers": 412, "tickets_opened": 88, "tickets_resolved": 81,
            "avg_resolution_hours": 6.4, "leads_created": 25, "leads_won": 7, "leads_lost": 3, "win_rate": "70.0%"}),
        ),
        ("playbook", serde_json::json!({"content": std::fs::read_to_string(k.join("playbooks/sales_playbook.md"))?})),
        (
            "financial_statement",
            serde_json::json!({"period_label": "March 2026", "currency": "SGD",
            "revenue": "SGD 128,450.00", "refunds": "SGD 1,250.50", "expenses": "SGD 84,120.25",
            "net_income": "SGD 43,079.25", "order_count": 1843,
            "revenue_by_product": [{"name": "Mezzofy Coupon – Business", "amount": "SGD 96,000.00"},
                                   {"name": "Mezzofy e-Gift Cards", "amount": "SGD 32,450.00"}],
            "expenses_by_category": [{"name": "payroll", "amount": "SGD 60,000.00"}],
            "by_month": [{"month": "2026-03", "revenue": "SGD 128,450.00", "expenses": "SGD 84,120.25", "net": "SGD 44,329.75"}]}),
        ),
    ];
    for (name, data) in samples {
        let report = Report { logo: Some(logo.clone()), ..templates.render(name, &data, None)? };
        std::fs::write(out.join(format!("{name}.pdf")), render_pdf(&report, &brand, &Fonts::debian_default())?)?;
    }
    Ok(())
}
