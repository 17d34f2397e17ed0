//! End-to-end rendering checks, read back with `pdftotext -layout`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use documents::{Block, Brand, DocumentError, Fonts, Report, financial_statement, generic_report, render_pdf};
use serde_json::json;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_pdf(bytes: &[u8]) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "documents-test-{}-{}-{n}.pdf",
        std::process::id(),
        std::thread::current().name().unwrap_or("t").replace("::", "_")
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Text of `pages` (first, last) or of the whole document.
fn pdftotext(bytes: &[u8], pages: Option<(u32, u32)>) -> String {
    let path = temp_pdf(bytes);
    let mut cmd = Command::new("pdftotext");
    cmd.arg("-layout");
    if let Some((f, l)) = pages {
        cmd.args(["-f", &f.to_string(), "-l", &l.to_string()]);
    }
    let out = cmd.arg(&path).arg("-").output().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn page_count(text: &str) -> usize {
    text.matches('\u{c}').count()
}

const PRODUCTS: [&str; 8] = [
    "Coupon Pro",
    "Loyalty Plus",
    "eVoucher Starter",
    "Gift Card Suite",
    "Merchant Portal",
    "Campaign Studio",
    "Analytics Add-on",
    "API Access",
];

fn finance_json() -> serde_json::Value {
    let products: Vec<_> =
        PRODUCTS.iter().enumerate().map(|(i, n)| json!({"name": n, "amount": 10_000.0 + i as f64 * 1234.5})).collect();
    let categories: Vec<_> =
        ["Salaries", "Rent", "Cloud hosting", "Marketing", "Travel", "Legal", "Software licences", "Payment fees"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"name": n, "amount": 2_000.0 + i as f64 * 321.25}))
            .collect();
    let months: Vec<_> = (0..18)
        .map(|i| {
            let (y, m) = (2025 + (i + 4) / 12, (i + 4) % 12 + 1);
            json!({"month": format!("{y}-{m:02}"), "revenue": 50_000.0 + i as f64 * 100.0,
                   "expenses": 30_000.0, "net": 20_000.0 + i as f64 * 100.0})
        })
        .collect();
    json!({
        "period_label": "May 2025 – October 2026",
        "revenue": 1_234_567.89,
        "expenses": 654_321.0,
        "refunds": 12_345.67,
        "net_income": 567_901.22,
        "order_count": 48213,
        "revenue_by_product": products,
        "expenses_by_category": categories,
        "by_month": months,
    })
}

#[test]
fn financial_statement_renders_with_figures_and_footer() {
    let report = financial_statement(&finance_json(), "Financial Statement FY2026");
    let pdf = render_pdf(&report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdftotext(&pdf, None);
    assert!(text.contains("Financial Statement FY2026"), "{text}");
    assert!(text.contains("1,234,567.89"), "{text}");
    for p in PRODUCTS {
        assert!(text.contains(p), "missing {p}: {text}");
    }
    assert!(text.contains("2026-10"), "{text}");
    assert!(text.contains("Page 1 of"), "{text}");
    assert!(text.contains("Mezzofy"), "{text}");
    assert!(text.contains("Confidential"), "{text}");
    let pages = page_count(&text);
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
}

#[test]
fn long_table_repeats_header_on_next_page() {
    let rows: Vec<Vec<String>> = (1..=120)
        .map(|i| vec![format!("Order {i:04}"), format!("Customer number {i}"), format!("{}.00", i * 7)])
        .collect();
    let report = Report {
        title: "Orders".to_owned(),
        subtitle: Some("All orders".to_owned()),
        blocks: vec![Block::Table {
            columns: vec!["Reference".into(), "Customer".into(), "Amount".into()],
            rows,
            align_right: vec![false, false, true],
        }],
        footer: "Confidential".to_owned(),
        logo: None,
    };
    let pdf = render_pdf(&report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap();
    let all = pdftotext(&pdf, None);
    assert!(page_count(&all) >= 2, "{all}");
    assert!(all.contains("Order 0120"));
    let p2 = pdftotext(&pdf, Some((2, 2)));
    assert!(p2.contains("Reference"), "header not repeated: {p2}");
    assert!(p2.contains("Customer"), "{p2}");
    assert!(p2.contains("Page 2 of"), "{p2}");
    assert!(p2.contains("Mezzofy"), "{p2}");
    // The amount column is right-aligned: its header ends where the values end.
    let header = p2.lines().find(|l| l.contains("Reference")).unwrap();
    let value = p2.lines().find(|l| l.contains("Order 0")).unwrap();
    let (hend, vend) = (header.trim_end().chars().count(), value.trim_end().chars().count());
    assert!(hend.abs_diff(vend) <= 2, "{header:?} vs {value:?}");
}

#[test]
fn chinese_report_shows_han_characters() {
    let report = Report {
        title: "财务报表 2026年10月".to_owned(),
        subtitle: Some("会员与积分概览".to_owned()),
        blocks: vec![
            Block::Paragraph("本月会员积分兑换量增长明显，优惠券核销率保持稳定。".repeat(6)),
            Block::Table {
                columns: vec!["项目".into(), "金额".into()],
                rows: vec![vec!["会员积分".into(), "12,345.00".into()], vec!["优惠券 Coupons".into(), "678.90".into()]],
                align_right: vec![false, true],
            },
        ],
        footer: "机密 – Mezzofy".to_owned(),
        logo: None,
    };
    let pdf = render_pdf(&report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap();
    // Subset: far smaller than the 5 MB WenQuanYi face.
    assert!(pdf.len() < 300_000, "pdf is {} bytes", pdf.len());
    let text = pdftotext(&pdf, None);
    assert!(text.contains("财务报表 2026年10月"), "{text}");
    assert!(text.contains("会员积分"), "{text}");
    assert!(text.contains("优惠券 Coupons"), "{text}");
}

#[test]
fn empty_table_and_odd_text_render() {
    let long_word = "x".repeat(400);
    let odd = r#"Quotes "double" 'single' (parens) \backslash\ ((unbalanced \) tab	end"#;
    let report = Report {
        title: format!("Odd ( \\ ) report {long_word}"),
        subtitle: None,
        blocks: vec![
            Block::Table { columns: vec!["A".into(), "B".into()], rows: vec![], align_right: vec![false, true] },
            Block::Table { columns: vec![], rows: vec![], align_right: vec![] },
            Block::Table {
                columns: vec!["One".into()],
                rows: vec![vec!["a".into(), "extra cell".into(), String::new()], vec![]],
                align_right: vec![true, true, true, true],
            },
            Block::Paragraph(odd.to_owned()),
            Block::Paragraph(long_word.repeat(10)),
            Block::Paragraph(String::new()),
            Block::Heading(String::new()),
            Block::KeyValues(vec![(long_word.clone(), odd.to_owned()), (String::new(), String::new())]),
            Block::Table { columns: vec!["Long".into()], rows: vec![vec![long_word.repeat(40)]], align_right: vec![] },
            Block::Paragraph("emoji 🎉 and \u{0} nul and ∑ math".to_owned()),
        ],
        footer: "f".repeat(500),
        logo: None,
    };
    let pdf = render_pdf(&report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap();
    let text = pdftotext(&pdf, None);
    assert!(text.contains("\"double\""), "{text}");
    assert!(text.contains("(parens)"), "{text}");
    assert!(text.contains("\\backslash\\"), "{text}");
    assert!(text.contains("No data"), "{text}");
}

#[test]
fn missing_font_is_a_clear_error() {
    let fonts = Fonts { cjk: PathBuf::from("/nonexistent/fonts/missing-cjk.ttc"), ..Fonts::debian_default() };
    let report = Report { title: "T".into(), ..Report::default() };
    let err = render_pdf(&report, &Brand::mezzofy(), &fonts).unwrap_err();
    assert!(matches!(err, DocumentError::FontRead { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/fonts/missing-cjk.ttc"), "{err}");

    let not_font = temp_pdf(b"not a font at all");
    let fonts = Fonts { latin: not_font.clone(), ..Fonts::debian_default() };
    let err = render_pdf(&report, &Brand::mezzofy(), &fonts).unwrap_err();
    std::fs::remove_file(&not_font).ok();
    assert!(matches!(err, DocumentError::FontParse { .. }), "{err:?}");
    assert!(err.to_string().contains(&not_font.display().to_string()), "{err}");
}

#[test]
fn generic_report_turns_arrays_into_tables() {
    let data = json!({
        "store": "Central", "active": true, "visits": 1200, "ratio": 0.25,
        "tags": ["a", "b"],
        "top_items": [{"sku": "A-1", "qty": 3, "price": 9.5}, {"sku": "B-2", "qty": 10, "note": "promo"}],
        "nested": {"region": "HK", "staff": [{"name": "Ann", "role": "Lead"}]}
    });
    let report = generic_report(&data, "Store snapshot");
    assert!(report.blocks.iter().any(|b| matches!(b, Block::Table { columns, align_right, .. }
        if columns == &["Price", "Qty", "Sku", "Note"] && align_right == &[true, true, false, false])));
    let pdf = render_pdf(&report, &Brand::mezzofy(), &Fonts::debian_default()).unwrap();
    let text = pdftotext(&pdf, None);
    for s in ["Store snapshot", "Central", "Top items", "B-2", "promo", "Region", "HK", "Ann", "Lead", "a, b"] {
        assert!(text.contains(s), "missing {s}: {text}");
    }
}
