//! Report builders from JSON data.

use serde_json::{Map, Value};

use crate::{Block, DEFAULT_FOOTER, Report};

/// Format a number with thousands separators and two decimals
/// (`1234567.5` → `"1,234,567.50"`).
pub fn format_amount(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    format!("{sign}{grouped}.{frac}")
}

fn amount(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), format_amount),
        Some(Value::String(s)) => s.trim().parse::<f64>().map_or_else(|_| s.clone(), format_amount),
        Some(Value::Null) | None => "\u{2013}".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// The numeric value of a figure: a JSON number, or a string such as
/// `"1234.5"`, `"1,234.50"`, `"SGD 1,234.50"` or `"-SGD 1,000.00"`.
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            let (neg, t) = match t.strip_prefix('-') {
                Some(rest) => (true, rest.trim_start()),
                None => (false, t),
            };
            let t = match currency_code(t) {
                Some(code) => t.get(code.len()..).unwrap_or_default().trim_start(),
                None => t,
            };
            let n: f64 = t.replace(',', "").parse().ok().filter(|n: &f64| n.is_finite())?;
            Some(if neg { -n } else { n })
        }
        _ => None,
    }
}

/// The currency code that starts `s` (`"SGD 12.00"` → `"SGD"`), if any.
pub(crate) fn currency_code(s: &str) -> Option<&str> {
    let s = s.trim_start_matches('-').trim_start();
    let code = s.get(..3)?;
    let rest = s.get(3..)?;
    (code.chars().all(|c| c.is_ascii_uppercase()) && rest.starts_with(' ')).then_some(code)
}

pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "\u{2013}".to_owned(),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), format_amount),
        other => other.to_string(),
    }
}

fn text(v: Option<&Value>) -> String {
    v.map_or_else(String::new, scalar)
}

/// `"net_income"` → `"Net income"`.
pub(crate) fn humanize(key: &str) -> String {
    let s = key.replace(['_', '-'], " ");
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn name_amount_table(items: Option<&Value>, label: &str) -> Option<Block> {
    let items = items?.as_array()?;
    let total: f64 = items.iter().filter_map(|i| i.get("amount").and_then(number)).sum();
    let mut rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let share = match i.get("amount").and_then(number) {
                Some(a) if total.abs() > f64::EPSILON => format!("{:.1}%", a / total * 100.0),
                _ => String::new(),
            };
            vec![text(i.get("name")), amount(i.get("amount")), share]
        })
        .collect();
    if !items.is_empty() {
        rows.push(vec!["Total".to_owned(), format_amount(total), "100.0%".to_owned()]);
    }
    Some(Block::Table {
        columns: vec![label.to_owned(), "Amount".to_owned(), "Share".to_owned()],
        rows,
        align_right: vec![false, true, true],
    })
}

/// The financial statement layout for the JSON returned by the
/// `finance_summary` tool (`period_label`, `revenue`, `expenses`, `refunds`,
/// `net_income`, `order_count`, `revenue_by_product`, `expenses_by_category`,
/// `by_month`). Missing keys are skipped; an optional `currency` key is
/// shown in the subtitle.
pub fn financial_statement(data: &Value, title: &str) -> Report {
    let mut subtitle = data.get("period_label").map(scalar);
    if let Some(cur) = data.get("currency").and_then(Value::as_str) {
        subtitle = Some(match subtitle {
            Some(s) => format!("{s} \u{00B7} amounts in {cur}"),
            None => format!("Amounts in {cur}"),
        });
    }
    let mut blocks = vec![Block::Heading("Summary".to_owned())];
    let mut kv = Vec::new();
    for (key, label) in
        [("revenue", "Revenue"), ("expenses", "Expenses"), ("refunds", "Refunds"), ("net_income", "Net income")]
    {
        if let Some(v) = data.get(key) {
            kv.push((label.to_owned(), amount(Some(v))));
        }
    }
    if let Some(v) = data.get("order_count") {
        kv.push(("Orders".to_owned(), scalar(v)));
    }
    blocks.push(Block::KeyValues(kv));
    if let Some(t) = name_amount_table(data.get("revenue_by_product"), "Product") {
        blocks.push(Block::Heading("Revenue by product".to_owned()));
        blocks.push(t);
    }
    if let Some(t) = name_amount_table(data.get("expenses_by_category"), "Category") {
        blocks.push(Block::Heading("Expenses by category".to_owned()));
        blocks.push(t);
    }
    if let Some(months) = data.get("by_month").and_then(Value::as_array) {
        blocks.push(Block::Heading("Monthly breakdown".to_owned()));
        blocks.push(Block::Table {
            columns: ["Month", "Revenue", "Expenses", "Net"].map(str::to_owned).to_vec(),
            rows: months
                .iter()
                .map(|m| {
                    vec![
                        text(m.get("month")),
                        amount(m.get("revenue")),
                        amount(m.get("expenses")),
                        amount(m.get("net")),
                    ]
                })
                .collect(),
            align_right: vec![false, true, true, true],
        });
    }
    Report { title: title.to_owned(), subtitle, blocks, footer: DEFAULT_FOOTER.to_owned(), logo: None }
}

fn object_blocks(obj: &Map<String, Value>, depth: usize, blocks: &mut Vec<Block>) {
    let kv: Vec<(String, String)> = obj
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Object(_) => None,
            Value::Array(a) if a.iter().any(Value::is_object) => None,
            Value::Array(a) => Some((humanize(k), a.iter().map(scalar).collect::<Vec<_>>().join(", "))),
            other => Some((humanize(k), scalar(other))),
        })
        .collect();
    if !kv.is_empty() {
        blocks.push(Block::KeyValues(kv));
    }
    for (k, v) in obj {
        match v {
            Value::Object(inner) if depth < 4 => {
                blocks.push(Block::Heading(humanize(k)));
                object_blocks(inner, depth + 1, blocks);
            }
            Value::Object(inner) => {
                blocks.push(Block::KeyValues(vec![(humanize(k), Value::Object(inner.clone()).to_string())]));
            }
            Value::Array(a) if a.iter().any(Value::is_object) => {
                blocks.push(Block::Heading(humanize(k)));
                blocks.push(table_from_array(a));
            }
            _ => {}
        }
    }
}

fn table_from_array(items: &[Value]) -> Block {
    let mut keys: Vec<String> = Vec::new();
    for item in items {
        if let Some(o) = item.as_object() {
            for k in o.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    let align_right = keys
        .iter()
        .map(|k| {
            let mut vals = items.iter().filter_map(|i| i.get(k)).filter(|v| !v.is_null());
            let mut any = false;
            let all = vals.all(|v| {
                any = true;
                v.is_number()
            });
            any && all
        })
        .collect();
    let rows = items
        .iter()
        .map(|item| match item.as_object() {
            Some(o) => keys
                .iter()
                .map(|k| match o.get(k) {
                    Some(v @ (Value::Object(_) | Value::Array(_))) => v.to_string(),
                    Some(v) => scalar(v),
                    None => String::new(),
                })
                .collect(),
            None => vec![scalar(item)],
        })
        .collect();
    Block::Table { columns: keys.iter().map(|k| humanize(k)).collect(), rows, align_right }
}

/// The generic layout of `data` (see [`generic_report`]), leaving out the
/// top-level keys in `skip`.
pub(crate) fn auto_blocks(data: &Value, skip: &[String]) -> Vec<Block> {
    let mut blocks = Vec::new();
    match data {
        Value::Object(obj) if !skip.is_empty() => {
            let kept: Map<String, Value> =
                obj.iter().filter(|(k, _)| !skip.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            object_blocks(&kept, 0, &mut blocks);
        }
        Value::Object(obj) => object_blocks(obj, 0, &mut blocks),
        Value::Array(a) if a.iter().any(Value::is_object) => blocks.push(table_from_array(a)),
        Value::Array(a) => blocks.push(Block::Paragraph(a.iter().map(scalar).collect::<Vec<_>>().join(", "))),
        other => blocks.push(Block::Paragraph(scalar(other))),
    }
    blocks
}

/// A generic report from any JSON value: scalars become key/value rows,
/// arrays of objects become tables, nested objects become sections.
pub fn generic_report(data: &Value, title: &str) -> Report {
    let blocks = auto_blocks(data, &[]);
    Report { title: title.to_owned(), subtitle: None, blocks, footer: DEFAULT_FOOTER.to_owned(), logo: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped() {
        assert_eq!(format_amount(1_234_567.5), "1,234,567.50");
        assert_eq!(format_amount(-12.0), "-12.00");
        assert_eq!(format_amount(0.0), "0.00");
        assert_eq!(format_amount(999.999), "1,000.00");
        assert_eq!(humanize("net_income"), "Net income");
        assert_eq!(number(&Value::from("SGD 1,234.50")), Some(1234.5));
        assert_eq!(number(&Value::from("-SGD 1,000.00")), Some(-1000.0));
        assert_eq!(number(&Value::from(" 12 ")), Some(12.0));
        assert_eq!(number(&Value::from("n/a")), None);
        assert_eq!(currency_code("-SGD 5.00"), Some("SGD"));
        assert_eq!(currency_code("Total 5"), None);
    }
}
