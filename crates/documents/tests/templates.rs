//! Template-driven reports, the brand palette and the logo, read back with
//! `pdftotext` and `pdftoppm` (poppler-utils).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use documents::templates::{TemplateError, Templates, load_dir};
use documents::{Brand, Fonts, Logo, Report, render_pdf};
use serde_json::{Value, json};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn knowledge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge")
}

fn templates() -> Templates {
    load_dir(&knowledge().join("templates/pdf")).unwrap()
}

fn logo() -> Logo {
    Logo::from_svg_file(&knowledge().join("brand/logos/mezzofy-logo.svg")).unwrap()
}

fn temp_path(ext: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("documents-tpl-{}-{n}.{ext}", std::process::id()))
}

fn temp_dir() -> PathBuf {
    let dir = temp_path("d");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn render(report: &Report) -> Vec<u8> {
    render_pdf(report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap()
}

fn pdftotext(bytes: &[u8]) -> String {
    let path = temp_path("pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Each of `wanted` occurs in `text`, in this order.
#[track_caller]
fn assert_in_order(text: &str, wanted: &[&str]) {
    let mut at = 0;
    for w in wanted {
        match text.get(at..).and_then(|rest| rest.find(w)) {
            Some(i) => at += i + w.len(),
            None => panic!("{w:?} missing (or out of order) after byte {at} in:\n{text}"),
        }
    }
}

fn finance_data() -> Value {
    // The shape of the finance_summary tool's output.
    json!({
        "period_label": "March 2026", "from": "2026-03-01", "to_exclusive": "2026-04-01", "currency": "SGD",
        "revenue": "SGD 128,450.00", "revenue_cents": 12_845_000,
        "refunds": "SGD 1,250.50", "refunds_cents": 125_050,
        "expenses": "SGD 84,120.25", "expenses_cents": 8_412_025,
        "net_income": "SGD 43,079.25", "net_income_cents": 4_307_925,
        "order_count": 1843,
        "revenue_by_product": [
            {"name": "Mezzofy Coupon – Business", "amount": "SGD 96,000.00", "cents": 9_600_000, "count": 120},
            {"name": "Mezzofy e-Gift Cards", "amount": "SGD 32,450.00", "cents": 3_245_000, "count": 41}
        ],
        "expenses_by_category": [
            {"name": "payroll", "amount": "SGD 60,000.00", "cents": 6_000_000, "count": 12},
            {"name": "cloud_hosting", "amount": "SGD 24,120.25", "cents": 2_412_025, "count": 3}
        ],
        "by_month": [{"month": "2026-03", "revenue": "SGD 128,450.00", "expenses": "SGD 84,120.25",
                      "net": "SGD 44,329.75", "revenue_cents": 12_845_000, "expenses_cents": 8_412_025,
                      "net_cents": 4_432_975}]
    })
}

#[test]
fn the_knowledge_templates_load() {
    let t = templates();
    assert_eq!(
        t.names().collect::<Vec<_>>(),
        ["financial_statement", "kpi_dashboard", "playbook", "report", "sales_report"]
    );
}

#[test]
fn financial_statement_template_shows_figures_in_order() {
    let report = templates()
        .render_with("financial_statement", &finance_data(), None, &[("generated_at", "1 April 2026")])
        .unwrap();
    assert_eq!(report.title, "Financial statement March 2026");
    assert_eq!(report.subtitle.as_deref(), Some("March 2026 \u{00B7} Amounts in SGD"));
    let text = pdftotext(&render(&Report { logo: Some(logo()), ..report }));
    assert_in_order(
        &text,
        &[
            "Financial statement March 2026",
            "Amounts in SGD",
            "Summary",
            "Revenue",
            "SGD 128,450.00",
            "Refunds",
            "SGD 1,250.50",
            "Expenses",
            "SGD 84,120.25",
            "Net income",
            "SGD 43,079.25",
            "Orders",
            "1,843",
            "Revenue by product",
            "Mezzofy Coupon – Business",
            "SGD 96,000.00",
            "74.7%",
            "Mezzofy e-Gift Cards",
            "25.3%",
            "Total",
            "SGD 128,450.00",
            "100.0%",
            "Expenses by category",
            "Payroll",
            "Cloud hosting",
            "Total",
            "SGD 84,120.25",
            "Monthly breakdown",
            "2026-03",
            "SGD 44,329.75",
            "Confidential – internal use",
            "Generated 1 April 2026",
            "Page 1 of 1",
        ],
    );
}

#[test]
fn financial_statement_builder_and_template_agree_on_numbers() {
    // The numeric shape used by the builder's own tests renders the same figures.
    let data = json!({"period_label": "Q1 2026", "revenue": 1_234_567.89, "net_income": -12.5, "order_count": 48213,
                      "revenue_by_product": [{"name": "A", "amount": 30.0}, {"name": "B", "amount": 10.0}]});
    let text = pdftotext(&render(&templates().render("financial_statement", &data, Some("Statement")).unwrap()));
    assert_in_order(&text, &["Statement", "Q1 2026", "1,234,567.89", "-12.50", "48,213", "A", "30.00", "75.0%", "B"]);
    assert_in_order(&text, &["Total", "40.00", "100.0%"]);
    // No currency key: that subtitle part is left out.
    assert!(!text.contains("Amounts in"), "{text}");
}

fn pipeline_data(leads: usize) -> Value {
    // The shape of the sales_pipeline tool's output.
    let statuses = ["new", "contacted", "qualified", "proposal", "closed_won", "closed_lost"];
    let rows: Vec<Value> = (0..leads)
        .map(|i| {
            json!({"id": format!("00000000-0000-0000-0000-{i:012}"), "company_name": format!("Kopi Corner {i:03}"),
                   "contact_name": if i % 5 == 0 { Value::Null } else { json!(format!("Contact {i}")) },
                   "contact_email": format!("owner{i}@kopi.example"), "industry": "F&B", "location": "Singapore",
                   "source": "referral", "status": statuses[i % statuses.len()], "assigned_to": "Mei Tan",
                   "last_contacted": null, "follow_up_date": "2026-03-05", "notes": null})
        })
        .collect();
    json!({
        "count": rows.len(),
        "emails": rows.iter().map(|r| r["contact_email"].clone()).collect::<Vec<_>>(),
        "companies": rows.iter().map(|r| r["company_name"].clone()).collect::<Vec<_>>(),
        "leads": rows,
        "by_status": [{"status": "new", "count": 12}, {"status": "contacted", "count": 9},
                      {"status": "qualified", "count": 6}, {"status": "proposal", "count": 4},
                      {"status": "closed_won", "count": 5}, {"status": "closed_lost", "count": 4}],
        "total_leads": 40
    })
}

#[test]
fn sales_report_template_shows_pipeline_and_leads_across_pages() {
    let report = templates().render("sales_report", &pipeline_data(70), None).unwrap();
    assert_eq!(report.title, "Sales report");
    let text = pdftotext(&render(&Report { logo: Some(logo()), ..report }));
    assert_in_order(
        &text,
        &[
            "Sales report",
            "40 leads in the pipeline",
            // The tiles: values side by side, then their labels.
            "40",
            "70",
            "Leads in the pipeline",
            "Leads in this report",
            "Pipeline by status",
            "New",
            "12",
            "30.0%",
            "Closed won",
            "5",
            "12.5%",
            "Closed lost",
            "Total",
            "40",
            "100.0%",
            "Leads",
            "Company",
            "Follow-up",
            "Kopi Corner 000",
            "–",
            "5 March 2026",
            "Kopi Corner 001",
            "Contact 1",
            "Kopi Corner 069",
        ],
    );
    // The leads table breaks across pages and repeats its header there.
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() >= 2, "{text}");
    for p in &pages[1..] {
        assert_in_order(p, &["Company", "Contact", "Industry", "Kopi Corner"]);
    }
    assert!(text.contains(&format!("Page {n} of {n}", n = pages.len())), "{text}");
}

#[test]
fn kpi_dashboard_template_shows_tiles_and_sections() {
    // The shape of the kpi_dashboard tool's output.
    let data = json!({
        "period_label": "February 2026", "revenue": "SGD 98,765.40", "revenue_cents": 9_876_540,
        "refunds": "SGD 432.10", "order_count": 1520, "avg_order": "SGD 64.98", "new_customers": 37,
        "churned_customers": 4, "active_customers": 412, "tickets_opened": 88, "tickets_resolved": 81,
        "avg_resolution_hours": 6.4, "leads_created": 25, "leads_won": 7, "leads_lost": 3, "win_rate": "70.0%"
    });
    let report = templates().render("kpi_dashboard", &data, None).unwrap();
    assert_eq!(report.title, "KPI dashboard February 2026");
    assert!(matches!(&report.blocks[0], documents::Block::Metrics(m) if m.len() == 6));
    let text = pdftotext(&render(&report));
    assert_in_order(
        &text,
        &[
            "KPI dashboard February 2026",
            "SGD 98,765.40",
            "1,520",
            "SGD 64.98",
            "Revenue",
            "Orders",
            "Average order",
            "37",
            "4",
            "70.0%",
            "Revenue and orders",
            "Refunds",
            "SGD 432.10",
            "Customers",
            "Active customers at period end",
            "412",
            "Support",
            "Tickets opened",
            "88",
            "Tickets resolved",
            "81",
            "Average resolution time",
            "6.4 h",
            "Sales pipeline",
            "Leads won",
            "7",
            "Win rate",
            "70.0%",
        ],
    );
    // No resolution time yet: a dash, not "null h".
    let mut data = data;
    data["avg_resolution_hours"] = Value::Null;
    let text = pdftotext(&render(&templates().render("kpi_dashboard", &data, None).unwrap()));
    assert!(!text.contains("null") && !text.contains("– h"), "{text}");
}

#[test]
fn playbook_template_lays_out_markdown_like_text() {
    let content = "# Onboarding playbook\n\nWelcome new merchants within **one** working day.\n\n\
        ## First week\n- Send the welcome e-mail\n- Book the training call\n\n### Checklist\n\
        1. Portal access\n2. First campaign\n\n## Escalation\nCall the account manager.";
    let report = templates()
        .render("playbook", &json!({"content": content, "subtitle": "Customer success"}), Some("Onboarding playbook"))
        .unwrap();
    // The leading "# " heading repeats the title and is dropped.
    assert!(!matches!(report.blocks.first(), Some(documents::Block::Heading(_))), "{:?}", report.blocks);
    let text = pdftotext(&render(&Report { logo: Some(logo()), ..report }));
    assert_eq!(text.matches("Onboarding playbook").count(), 1, "{text}");
    assert_in_order(
        &text,
        &[
            "Onboarding playbook",
            "Customer success",
            "Welcome new merchants within one working day.",
            "First week",
            "\u{2022}",
            "Send the welcome e-mail",
            "Book the training call",
            "Checklist",
            "1.",
            "Portal access",
            "2.",
            "First campaign",
            "Escalation",
            "Call the account manager.",
            "Mezzofy – internal use",
        ],
    );
    let err = templates().render("playbook", &json!({"title": "x"}), None).unwrap_err();
    assert!(matches!(err, TemplateError::MissingData { .. }), "{err:?}");
    assert!(err.to_string().contains("data.content"), "{err}");
}

#[test]
fn chinese_playbook_renders_han_characters() {
    let content = "# 会员积分手册\n\n## 第一步\n- 发送欢迎邮件给新商户\n- 预约培训电话\n\n本月优惠券核销率保持稳定，会员积分兑换量增长明显。";
    let report = templates().render("playbook", &json!({"content": content}), Some("会员积分手册")).unwrap();
    let pdf = render(&Report { logo: Some(logo()), ..report });
    let text = pdftotext(&pdf);
    assert_in_order(
        &text,
        &["会员积分手册", "第一步", "发送欢迎邮件给新商户", "预约培训电话", "会员积分兑换量增长明显"],
    );
}

#[test]
fn generic_report_template_uses_the_auto_layout() {
    let data = json!({"period_label": "Week 12", "store": "Central", "visits": 1200,
                      "top_items": [{"sku": "A-1", "qty": 3}, {"sku": "B-2", "qty": 10}]});
    let report = templates().render("report", &data, Some("Store snapshot")).unwrap();
    assert_eq!(report.subtitle.as_deref(), Some("Week 12"));
    let text = pdftotext(&render(&report));
    assert_in_order(&text, &["Store snapshot", "Week 12", "Store", "Central", "Visits", "1200", "Top items", "B-2"]);
    // period_label is in the subtitle only.
    assert_eq!(text.matches("Week 12").count(), 1, "{text}");
}

#[test]
fn unknown_template_lists_the_available_ones() {
    let err = templates().render("balance_sheet", &json!({}), None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("balance_sheet"), "{msg}");
    for name in ["financial_statement", "sales_report", "kpi_dashboard", "playbook", "report"] {
        assert!(msg.contains(name), "{msg}");
    }
}

fn load_one(file: &str, yaml: &str) -> Result<Templates, TemplateError> {
    let dir = temp_dir();
    std::fs::write(dir.join(file), yaml).unwrap();
    let result = load_dir(&dir);
    std::fs::remove_dir_all(&dir).ok();
    result
}

#[test]
fn invalid_templates_are_errors_naming_file_and_key() {
    let ok = "title: T\nsections:\n  - type: key_values\n    items:\n      - {key: a, label: A}\n";
    assert!(load_one("fine.yaml", ok).is_ok());

    let err = load_one("typo.yaml", "title: T\nsubtitel: x\nsections:\n  - {type: auto}\n").unwrap_err().to_string();
    assert!(err.contains("typo.yaml") && err.contains("subtitel"), "{err}");

    let yaml =
        "title: T\nsections:\n  - type: table\n    key: rows\n    columns:\n      - {key: a, label: A, colour: red}\n";
    let err = load_one("column.yaml", yaml).unwrap_err().to_string();
    assert!(err.contains("column.yaml") && err.contains("colour"), "{err}");

    let err = load_one("chart.yaml", "title: T\nsections:\n  - type: pie_chart\n    key: x\n").unwrap_err().to_string();
    assert!(err.contains("chart.yaml") && err.contains("pie_chart"), "{err}");

    let yaml = "title: T\nsections:\n  - type: key_values\n    items:\n      - {key: a, label: A, format: cash}\n";
    let err = load_one("format.yaml", yaml).unwrap_err().to_string();
    assert!(err.contains("format.yaml") && err.contains("cash"), "{err}");

    let err = load_one("ph.yaml", "title: \"T {{period\"\nsections:\n  - {type: auto}\n").unwrap_err().to_string();
    assert!(err.contains("ph.yaml") && err.contains("title"), "{err}");

    let yaml =
        "title: T\nsections:\n  - type: table\n    key: rows\n    columns:\n      - {key: a, label: A, total: true}\n";
    let err = load_one("total.yaml", yaml).unwrap_err().to_string();
    assert!(err.contains("total.yaml") && err.contains("sections[0]") && err.contains("total"), "{err}");

    let err = load_dir(Path::new("/nonexistent/templates/pdf")).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/templates/pdf"), "{err}");
    let empty = temp_dir();
    let err = load_dir(&empty).unwrap_err();
    std::fs::remove_dir_all(&empty).ok();
    assert!(matches!(err, TemplateError::Empty { .. }), "{err:?}");
}

#[test]
fn palette_file_and_mezzofy_brand_agree() {
    let brand = Brand::from_palette_file(&knowledge().join("brand/color_palette.yaml")).unwrap();
    assert_eq!(brand, Brand::mezzofy());
    assert_eq!(brand.primary, [0xF2, 0x6A, 0x21]);
    assert_eq!(brand.secondary, [0x2E, 0x31, 0x38]);
}

#[test]
fn palette_errors_are_clear() {
    let ok =
        "primary: \"#F26A21\"\nsecondary: \"#2E3138\"\ntext: \"#1F2125\"\nmuted: \"#6E737B\"\nfont_family: Inter\n";
    let b = Brand::from_palette_yaml(ok).unwrap();
    assert_eq!(b.accent, b.primary);
    let err = Brand::from_palette_yaml(&ok.replace("#F26A21", "#F26A2")).unwrap_err().to_string();
    assert!(err.contains("primary") && err.contains("#F26A2"), "{err}");
    let err = Brand::from_palette_yaml(&ok.replace("muted", "grey")).unwrap_err().to_string();
    assert!(err.contains("muted: missing"), "{err}");
    let err = Brand::from_palette_file(Path::new("/nonexistent/palette.yaml")).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/palette.yaml"), "{err}");
}

/// Page `page` rendered at 72 dpi (1 px = 1 pt): (width, height, RGB bytes).
fn rasterize(pdf: &[u8], page: usize) -> (usize, usize, Vec<u8>) {
    let path = temp_path("pdf");
    std::fs::write(&path, pdf).unwrap();
    let prefix = temp_path("img");
    let status = Command::new("pdftoppm")
        .args(["-r", "72", "-f", &page.to_string(), "-l", &page.to_string(), "-singlefile"])
        .arg(&path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let ppm_path = PathBuf::from(format!("{}.ppm", prefix.display()));
    let ppm = std::fs::read(&ppm_path).unwrap();
    std::fs::remove_file(&path).ok();
    std::fs::remove_file(&ppm_path).ok();
    // Binary PPM: "P6", width, height, maxval, one whitespace byte, then RGB.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(ppm[start..i].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P6");
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, ppm[i + 1..].to_vec())
}

fn pixel(img: &(usize, usize, Vec<u8>), x: usize, y: usize) -> [u8; 3] {
    let i = (y * img.0 + x) * 3;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

fn is_orange([r, g, b]: [u8; 3]) -> bool {
    r > 200 && (70..150).contains(&g) && b < 90
}

#[test]
fn logo_is_drawn_in_the_header_band_of_every_page() {
    let mut report = templates().render("sales_report", &pipeline_data(70), None).unwrap();
    report.logo = Some(logo());
    let pdf = render(&report);
    let pages = pdftotext(&pdf).split('\u{c}').filter(|p| !p.trim().is_empty()).count();
    assert!(pages >= 2);
    // One form XObject, painted once per page.
    let raw = String::from_utf8_lossy(&pdf);
    assert_eq!(raw.matches("/Subtype /Form").count(), 1, "one logo XObject");
    assert_eq!(raw.matches("/Logo Do").count(), pages, "logo on every page");

    for page in [1, pages] {
        let img = rasterize(&pdf, page);
        // The band is the top 34 pt; the mark sits at x ≈ 52–71, y ≈ 9–25.
        let band: Vec<(usize, usize)> = (0..34).flat_map(|y| (0..img.0).map(move |x| (x, y))).collect();
        let orange = band.iter().filter(|(x, y)| is_orange(pixel(&img, *x, *y))).count();
        let orange_in_mark =
            band.iter().filter(|(x, y)| (48..76).contains(x) && is_orange(pixel(&img, *x, *y))).count();
        assert!(orange_in_mark > 150, "page {page}: {orange_in_mark} orange pixels in the mark");
        assert_eq!(orange, orange_in_mark, "page {page}: orange outside the mark");
        // The white "M" inside the mark and the white wordmark to its right.
        let white = |xs: std::ops::Range<usize>| {
            band.iter().filter(|(x, y)| xs.contains(x) && pixel(&img, *x, *y).iter().all(|c| *c > 230)).count()
        };
        assert!(white(52..66) > 10, "page {page}: no white M in the mark");
        assert!(white(76..145) > 100, "page {page}: no wordmark");
        // (The last pixel column is only 0.28 pt of page.)
        assert_eq!(white(150..img.0 - 1), 0, "page {page}: band right of the logo must be plain");
        // Behind the logo the band is charcoal, not orange.
        let [r, g, b] = pixel(&img, img.0 - 20, 17);
        assert!(r < 80 && g < 80 && b < 80, "band colour {:?}", [r, g, b]);
    }

    // Without a logo: the orange band with the company name, no XObject.
    report.logo = None;
    let pdf = render(&report);
    assert!(!String::from_utf8_lossy(&pdf).contains("/Logo Do"));
    assert!(pdftotext(&pdf).contains("Mezzofy"));
    let img = rasterize(&pdf, 1);
    assert!(is_orange(pixel(&img, img.0 - 20, 17)));
}

#[test]
fn logo_svg_subset_errors_name_the_file() {
    let dir = temp_dir();
    let path = dir.join("broken-logo.svg");
    std::fs::write(&path, r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><image href="a.png"/></svg>"#)
        .unwrap();
    let err = Logo::from_svg_file(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(err.contains("broken-logo.svg") && err.contains("<image>"), "{err}");
    assert!((logo().aspect_ratio() - 360.0 / 96.0).abs() < 1e-4);
}
